import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Removes half-written outputs when the process is interrupted (SIGINT, SIGTERM, SIGHUP).
///
/// Writers that build an output under a temporary name (`<dir>.partial-<pid>`, `.<file>.tmp-…`) register it while
/// they write and unregister it once it was renamed into place. On the first such signal the registered paths are
/// removed (recursively) and the process exits with status 128 + the signal number, as a shell reports a process
/// killed by that signal. Signals the parent process set to be ignored stay ignored. The handlers run on a dispatch queue of their own (not in an async-signal context), so
/// removing directories is safe; they are installed on the first ``register(_:)``.
public enum InterruptCleanup {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var paths: [Int: String] = [:]
    nonisolated(unsafe) private static var nextToken = 0
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []
    nonisolated(unsafe) private static var installed = false
    nonisolated(unsafe) private static var handling = false
    private static let queue = DispatchQueue(label: "aptwin.interrupt-cleanup")

    /// Registers `path` for removal on interruption; returns the token for ``unregister(_:)``.
    public static func register(_ path: String) -> Int {
        lock.lock(); defer { lock.unlock() }
        if !installed { install(); installed = true }
        nextToken += 1
        paths[nextToken] = path
        return nextToken
    }

    /// Stops watching a path (it was renamed into place or removed by its writer).
    public static func unregister(_ token: Int) {
        lock.lock(); defer { lock.unlock() }
        paths[token] = nil
    }

    /// Must be called with `lock` held.
    private static func install() {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            // Delivered to the dispatch source instead of killing the process; a signal the parent set to be ignored
            // (nohup, background jobs of a non-interactive shell) stays ignored.
            let previous = signal(sig, SIG_IGN)
            if let previous, unsafeBitCast(previous, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) { continue }
            let s = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            s.setEventHandler { cleanUpAndExit(sig) }
            s.resume()
            sources.append(s)
        }
    }

    /// If an interruption is being handled, waits for the handler to end the process (it exits with 128 + the
    /// signal); returns at once otherwise. Error paths call it first, so that an error caused by the cleanup (a
    /// removed directory) does not exit with status 1 ahead of the signal's status.
    public static func waitIfInterrupted() {
        lock.lock()
        let h = handling
        lock.unlock()
        if h { while true { sleep(1) } }
    }

    private static func cleanUpAndExit(_ sig: Int32) {
        lock.lock()
        handling = true
        let victims = paths.keys.sorted().compactMap { paths[$0] }
        lock.unlock()
        // Other threads may still be writing into a victim (and `createDirectory(withIntermediateDirectories:)`
        // would recreate it): move each out of the way first (atomic), remove it there, then remove whatever was
        // recreated meanwhile, and exit at once.
        let fm = FileManager.default
        var moved: [String] = []
        for p in victims {
            let trash = p + ".removing-\(getpid())"
            if (try? fm.moveItem(atPath: p, toPath: trash)) != nil { moved.append(trash) }
        }
        for p in moved { try? fm.removeItem(atPath: p) }
        for p in victims { try? fm.removeItem(atPath: p) }
        if !victims.isEmpty {
            let msg = "aptwin: interrupted (signal \(sig)); removed \(victims.count) unfinished output\(victims.count == 1 ? "" : "s")\n"
            FileHandle.standardError.write(Data(msg.utf8))
        }
        exit(128 + sig)
    }
}
