import Foundation
import TwinCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Output directories that appear complete or not at all.
enum PartialDirectory {
    /// Builds `final` in `<final>.partial-<pid>` through `body` and renames it into place when `body` returns.
    ///
    /// The partial directory is removed when `body` throws and, through ``InterruptCleanup``, when the process is
    /// interrupted (SIGINT, SIGTERM, SIGHUP). Partial directories of the same output left by processes that no longer
    /// exist (killed with SIGKILL, a crash) are removed first.
    static func build<R>(_ final: URL, _ body: (URL) throws -> R) throws -> R {
        let fm = FileManager.default
        let parent = final.deletingLastPathComponent()
        let prefix = final.lastPathComponent + ".partial-"
        for name in (try? fm.contentsOfDirectory(atPath: parent.path)) ?? [] where name.hasPrefix(prefix) {
            if let pid = Int32(name.dropFirst(prefix.count)), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
                try? fm.removeItem(at: parent.appendingPathComponent(name))
            }
        }
        let partial = parent.appendingPathComponent(prefix + "\(getpid())")
        let token = InterruptCleanup.register(partial.path)   // before it exists: no window without cleanup
        defer { InterruptCleanup.unregister(token) }
        try? fm.removeItem(at: partial)
        try fm.createDirectory(at: partial, withIntermediateDirectories: true)
        do {
            let r = try body(partial)
            try fm.moveItem(at: partial, to: final)
            return r
        } catch {
            try? fm.removeItem(at: partial)
            throw error
        }
    }
}
