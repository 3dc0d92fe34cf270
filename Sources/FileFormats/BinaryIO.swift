import Foundation
import TwinCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Internal file-reading helpers shared by the readers: POSIX descriptors, sizes checked up front, short reads and
// EINTR handled, every failure turned into a `TwinError` naming the file.

/// The text of the current `errno`.
func errnoText(_ code: Int32 = errno) -> String {
    guard let s = strerror(code) else { return "error \(code)" }
    return String(cString: s)
}

/// `write(2)`, module-qualified so it does not collide with methods named `write`.
@inline(__always)
func sysWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #elseif canImport(Musl)
    return Musl.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}

/// The name used in error messages: the last path component (e.g. `Si.pos`).
func displayName(_ url: URL) -> String {
    let n = url.lastPathComponent
    return n.isEmpty ? url.path : n
}

/// An open, read-only regular file with exactly one owner.
struct InputFile: ~Copyable {
    let fd: Int32
    let name: String
    /// File size in bytes at open time.
    let size: Int

    init(_ url: URL) throws {
        name = displayName(url)
        let fd = url.path.withCString { open($0, O_RDONLY | O_CLOEXEC) }
        if fd < 0 { throw TwinError.io("\(name): cannot open \(url.path): \(errnoText())") }
        var st = stat()
        if fstat(fd, &st) != 0 {
            let e = errnoText()
            close(fd)
            throw TwinError.io("\(name): cannot stat \(url.path): \(e)")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw TwinError.io("\(name): \(url.path) is a directory, not a file")
        }
        self.fd = fd
        self.size = Int(st.st_size)
    }

    deinit { close(fd) }

    /// Reads up to `buffer.count` bytes at `offset`; returns fewer only at end of file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var done = 0
        while done < buffer.count {
            let r = pread(fd, base + done, buffer.count - done, off_t(offset + done))
            if r < 0 {
                if errno == EINTR { continue }
                throw TwinError.io("\(name): read error at byte offset \(offset + done): \(errnoText())")
            }
            if r == 0 { break }
            done += r
        }
        return done
    }

    /// Reads exactly `buffer.count` bytes at `offset` or throws, naming the offset where the data ended.
    func readExactly(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        let got = try read(into: buffer, at: offset)
        if got != buffer.count {
            throw TwinError.invalidInput(
                "\(name): file ended at byte offset \(offset + got) while reading \(buffer.count) bytes at byte "
                + "offset \(offset) (the file changed size while it was read?)")
        }
    }

    /// Reads the whole file.
    func readAll() throws -> Data {
        var data = Data(count: size)
        let got = try data.withUnsafeMutableBytes { try read(into: $0, at: 0) }
        if got < size { data.removeSubrange(got...) }
        return data
    }
}

/// Reads a whole file into memory (for small or header-first formats).
func readWholeFile(_ url: URL) throws -> Data {
    let f = try InputFile(url)
    return try f.readAll()
}

// MARK: - Big-endian column kernels

/// Decodes one big-endian 32-bit float field of fixed-size records into `dst`.
///
/// - Complexity: O(count), one pass; no allocation.
@inline(__always)
func decodeBEFloatField(_ src: UnsafeRawPointer, recordSize: Int, fieldOffset: Int, count: Int,
                        into dst: UnsafeMutablePointer<Float>) {
    var p = src + fieldOffset
    for i in 0..<count {
        dst[i] = Float(bitPattern: UInt32(bigEndian: p.loadUnaligned(as: UInt32.self)))
        p += recordSize
    }
}

/// As ``decodeBEFloatField`` but multiplies by `scale` in double precision before rounding to Float.
@inline(__always)
func decodeBEFloatFieldScaled(_ src: UnsafeRawPointer, recordSize: Int, fieldOffset: Int, count: Int,
                              scale: Double, into dst: UnsafeMutablePointer<Float>) {
    var p = src + fieldOffset
    for i in 0..<count {
        let v = Float(bitPattern: UInt32(bigEndian: p.loadUnaligned(as: UInt32.self)))
        dst[i] = Float(Double(v) * scale)
        p += recordSize
    }
}

/// Decodes one big-endian 32-bit integer field of fixed-size records into `dst` (bit pattern kept).
@inline(__always)
func decodeBEUInt32Field(_ src: UnsafeRawPointer, recordSize: Int, fieldOffset: Int, count: Int,
                         into dst: UnsafeMutablePointer<UInt32>) {
    var p = src + fieldOffset
    for i in 0..<count {
        dst[i] = UInt32(bigEndian: p.loadUnaligned(as: UInt32.self))
        p += recordSize
    }
}

/// Encodes `count` floats as big-endian 32-bit fields of fixed-size records (nil source writes zeros).
@inline(__always)
func encodeBEFloatField(_ src: UnsafePointer<Float>?, count: Int, into dst: UnsafeMutableRawPointer,
                        recordSize: Int, fieldOffset: Int) {
    var p = dst + fieldOffset
    if let src {
        for i in 0..<count {
            p.storeBytes(of: src[i].bitPattern.bigEndian, as: UInt32.self)
            p += recordSize
        }
    } else {
        for _ in 0..<count {
            p.storeBytes(of: 0, as: UInt32.self)
            p += recordSize
        }
    }
}

/// As ``encodeBEFloatField`` but divides by `divisor` in double precision before rounding to Float.
@inline(__always)
func encodeBEFloatFieldScaled(_ src: UnsafePointer<Float>, count: Int, divisor: Double,
                              into dst: UnsafeMutableRawPointer, recordSize: Int, fieldOffset: Int) {
    var p = dst + fieldOffset
    for i in 0..<count {
        let v = Float(Double(src[i]) / divisor)
        p.storeBytes(of: v.bitPattern.bigEndian, as: UInt32.self)
        p += recordSize
    }
}

/// Encodes `count` 32-bit integers as big-endian fields of fixed-size records (nil source writes zeros).
@inline(__always)
func encodeBEUInt32Field(_ src: UnsafePointer<UInt32>?, count: Int, into dst: UnsafeMutableRawPointer,
                         recordSize: Int, fieldOffset: Int) {
    var p = dst + fieldOffset
    if let src {
        for i in 0..<count {
            p.storeBytes(of: src[i].bigEndian, as: UInt32.self)
            p += recordSize
        }
    } else {
        for _ in 0..<count {
            p.storeBytes(of: 0, as: UInt32.self)
            p += recordSize
        }
    }
}

/// Appends to `acq.notes` one note counting the non-finite values (NaN, ±inf) of each float column, if any: readers
/// keep such values (they are the file's content) but never silently.
func noteNonFinite(_ acq: inout Acquisition, name: String) {
    let cols: [(String, [Float])] = [("x_nm", acq.xNM), ("y_nm", acq.yNM), ("z_nm", acq.zNM),
                                     ("mass_to_charge_da", acq.massToChargeDa), ("tof_ns", acq.tofNS),
                                     ("v_dc_v", acq.vDCV), ("v_pulse_v", acq.vPulseV),
                                     ("detector_x_mm", acq.detectorXMM), ("detector_y_mm", acq.detectorYMM)]
    var parts: [String] = []
    for (col, v) in cols where !v.isEmpty {
        let bad = v.withUnsafeBufferPointer { b in b.reduce(0) { $0 + ($1.isFinite ? 0 : 1) } }
        if bad > 0 { parts.append("\(col) \(bad) of \(v.count)") }
    }
    if !parts.isEmpty { acq.notes.append("\(name): non-finite values (NaN or ±inf): \(parts.joined(separator: ", "))") }
}
