import Foundation
import TwinCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Atomic file output: data go to a temporary file in the destination's directory, which is renamed over the
/// destination only after everything was written and closed without error.
///
/// Readers of the destination therefore see either the old file or the complete new one, never a partial file; on
/// any error (including one thrown by the caller's closure) the temporary file is removed and the destination is
/// left untouched; an interrupted process (SIGINT, SIGTERM, SIGHUP) removes it too (``InterruptCleanup``). The new
/// file gets mode 0666 minus the process umask. The data are not `fsync`ed (the rename is
/// atomic for concurrent readers, not durable across a power loss).
public enum AtomicFile {
    /// Writes `data` to `url` atomically.
    ///
    /// - Throws: `TwinError.io` naming the file and the system error (missing directory, no space, …).
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { out in try out.write(data) }
    }

    /// Streams a file to `url` atomically: `body` writes it in chunks through the given writer (so files larger
    /// than memory can be produced), and the file appears at `url` only when `body` returns normally.
    ///
    /// The writer buffers small writes (1 MiB) and must not be used after `body` returns.
    /// - Returns: whatever `body` returns.
    /// - Throws: errors of `body` (the destination is then left untouched) or `TwinError.io`.
    @discardableResult
    public static func write<R>(to url: URL, _ body: (AtomicFileWriter) throws -> R) throws -> R {
        let dir = url.deletingLastPathComponent()
        let name = displayName(url)
        let stem = String(name.prefix(200))  // keep the temporary name within NAME_MAX
        let tmpURL = dir.appendingPathComponent(".\(stem).tmp-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))")
        let token = InterruptCleanup.register(tmpURL.path)   // removed if the process is interrupted meanwhile
        defer { InterruptCleanup.unregister(token) }
        let fd = tmpURL.path.withCString { open($0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666) }
        if fd < 0 {
            throw TwinError.io("\(name): cannot create temporary file in \(dir.path): \(errnoText())")
        }
        let writer = AtomicFileWriter(fd: fd, name: name)
        do {
            let r = try body(writer)
            try writer.finish()
            let rc = tmpURL.path.withCString { t in url.path.withCString { d in rename(t, d) } }
            if rc != 0 { throw TwinError.io("\(name): cannot rename temporary file to \(url.path): \(errnoText())") }
            return r
        } catch {
            writer.abandon()
            _ = tmpURL.path.withCString { unlink($0) }
            throw error
        }
    }
}

/// The sink handed to ``AtomicFile/write(to:_:)``: buffered writes to the temporary file.
public final class AtomicFileWriter {
    private var fd: Int32
    private let name: String
    private let capacity = 1 << 20
    private let buffer: UnsafeMutableRawPointer
    private var used = 0
    /// Bytes accepted so far (buffered or written).
    public private(set) var bytesWritten = 0

    init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
        self.buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
    }

    deinit {
        if fd >= 0 { close(fd) }
        buffer.deallocate()
    }

    /// Appends raw bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else { throw TwinError.io("\(name): write after the atomic write finished") }
        guard let src = bytes.baseAddress, bytes.count > 0 else { return }
        bytesWritten += bytes.count
        if used + bytes.count <= capacity {
            (buffer + used).copyMemory(from: src, byteCount: bytes.count)
            used += bytes.count
            return
        }
        try flush()
        if bytes.count >= capacity {
            try writeAll(src, bytes.count)
        } else {
            buffer.copyMemory(from: src, byteCount: bytes.count)
            used = bytes.count
        }
    }

    /// Appends the bytes of `data`.
    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    /// Appends `string` encoded as UTF-8.
    public func write(_ string: String) throws {
        var s = string
        try s.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    private func flush() throws {
        if used > 0 { try writeAll(buffer, used) }
        used = 0
    }

    private func writeAll(_ p: UnsafeRawPointer, _ n: Int) throws {
        var done = 0
        while done < n {
            let r = sysWrite(fd, p + done, n - done)
            if r < 0 {
                if errno == EINTR { continue }
                throw TwinError.io("\(name): write failed: \(errnoText())")
            }
            done += r
        }
    }

    func finish() throws {
        try flush()
        let rc = close(fd)
        fd = -1
        if rc != 0 { throw TwinError.io("\(name): close failed: \(errnoText())") }
    }

    func abandon() {
        if fd >= 0 { close(fd) }
        fd = -1
    }
}

/// Where the binary writers (APT, point clouds) send bytes: the atomic file writer, or memory for `encode` functions.
protocol ByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

extension ByteSink {
    /// Appends `string` encoded as UTF-8.
    func write(_ string: String) throws {
        var s = string
        try s.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }
}

extension AtomicFileWriter: ByteSink {}

/// An in-memory ``ByteSink``.
final class MemorySink: ByteSink {
    var data: Data
    init(capacity: Int = 0) { data = Data(capacity: capacity) }
    func write(_ bytes: UnsafeRawBufferPointer) throws { data.append(contentsOf: bytes) }
}
