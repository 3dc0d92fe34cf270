import Foundation
import TwinCore

/// A scalar type that can be stored in a NumPy `.npy` file.
///
/// Conformances: `Float` (`<f4`), `Double` (`<f8`), `Int32` (`<i4`), `Int64` (`<i8`), `UInt8` (`|u1`),
/// `UInt16` (`<u2`), `UInt32` (`<u4`). Conformances outside this module are not supported.
public protocol NPYScalar: BitwiseCopyable {
    /// The NumPy dtype string this module writes, little-endian (e.g. `<f4`).
    static var npyDescr: String { get }
}

extension Float: NPYScalar {
    /// `<f4`.
    public static var npyDescr: String { "<f4" }
}
extension Double: NPYScalar {
    /// `<f8`.
    public static var npyDescr: String { "<f8" }
}
extension Int32: NPYScalar {
    /// `<i4`.
    public static var npyDescr: String { "<i4" }
}
extension Int64: NPYScalar {
    /// `<i8`.
    public static var npyDescr: String { "<i8" }
}
extension UInt8: NPYScalar {
    /// `|u1`.
    public static var npyDescr: String { "|u1" }
}
extension UInt16: NPYScalar {
    /// `<u2`.
    public static var npyDescr: String { "<u2" }
}
extension UInt32: NPYScalar {
    /// `<u4`.
    public static var npyDescr: String { "<u4" }
}

/// NumPy `.npy` files (format versions 1.0 to 3.0 read, 1.0 written; 2.0 only if the header would exceed 64 KiB).
///
/// The written header is byte for byte what NumPy 2.x's `numpy.save` writes: the dict
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (N,), }`, the 21-digit growth padding NumPy adds, spaces and
/// a final `\n` so that magic + length + header is a multiple of 64 bytes. Reading accepts either byte order
/// (`<`, `>`, `|`, `=`; big-endian data are swapped), C-order arrays of any rank (returned flattened, row-major),
/// and Fortran-order arrays of rank ≤ 1.
public enum NPYFile {
    /// Writes a C-order array atomically. `shape` defaults to `[values.count]` (a 1-D array); its product must
    /// equal `values.count`.
    public static func write<T: NPYScalar>(_ values: [T], shape: [Int]? = nil, to url: URL) throws {
        let header = try makeHeader(T.self, count: values.count, shape: shape, name: displayName(url))
        try AtomicFile.write(to: url) { out in
            try out.write(header)
            try writeLittleEndian(values, to: out)
        }
    }

    /// Encodes a C-order array as `.npy` bytes in memory (see ``write(_:shape:to:)``).
    public static func encode<T: NPYScalar>(_ values: [T], shape: [Int]? = nil) throws -> Data {
        var data = try makeHeader(T.self, count: values.count, shape: shape, name: "NPY output")
        values.withUnsafeBytes { data.append(contentsOf: $0) }
        if !hostIsLittleEndian { swapBytes(&data, from: data.count - values.count * MemoryLayout<T>.size, size: MemoryLayout<T>.size) }
        return data
    }

    /// Reads an array of element type `T`, flattened in row-major order.
    ///
    /// - Throws: `TwinError.invalidInput` naming the file and what is wrong: bad magic, unsupported version, a
    ///   malformed header, a dtype other than `T`'s, Fortran order with rank > 1, or data truncated or followed by
    ///   extra bytes (with byte offsets); `TwinError.io` if the file cannot be read.
    public static func read<T: NPYScalar>(_ type: T.Type, from url: URL) throws -> [T] {
        try readShaped(type, from: url).values
    }

    /// Reads an array of element type `T` with its shape (`[]` for a 0-d scalar).
    public static func readShaped<T: NPYScalar>(_ type: T.Type, from url: URL) throws -> (values: [T], shape: [Int]) {
        let file = try InputFile(url)
        let (headerBytes, headerStart) = try readHeaderBytes(file)
        let h = try parseHeader(headerBytes, as: T.self, name: file.name, offset: headerStart)
        let dataStart = headerStart + headerBytes.count
        try checkDataSize(fileSize: file.size, dataStart: dataStart, byteCount: h.byteCount, name: file.name)
        let values = try [T](unsafeUninitializedCapacity: h.count) { buf, initialized in
            try file.readExactly(into: UnsafeMutableRawBufferPointer(buf), at: dataStart)
            if h.swap { swapBytes(UnsafeMutableRawBufferPointer(buf), size: MemoryLayout<T>.size) }
            initialized = h.count
        }
        return (values, h.shape)
    }

    /// Decodes `.npy` bytes held in memory; `name` is used in error messages.
    public static func decode<T: NPYScalar>(_ type: T.Type, from data: Data, name: String) throws -> (values: [T], shape: [Int]) {
        let bytes = [UInt8](data)
        let (hlenSize, hlen) = try parsePrefix(Array(bytes.prefix(12)), fileSize: bytes.count, name: name)
        let headerStart = 8 + hlenSize
        guard headerStart + hlen <= bytes.count else {
            throw TwinError.invalidInput("\(name): header of \(hlen) bytes at byte offset \(headerStart) runs past the "
                                         + "end of the data (\(bytes.count) bytes)")
        }
        let h = try parseHeader(Array(bytes[headerStart..<(headerStart + hlen)]), as: T.self, name: name, offset: headerStart)
        let dataStart = headerStart + hlen
        try checkDataSize(fileSize: bytes.count, dataStart: dataStart, byteCount: h.byteCount, name: name)
        let values = [T](unsafeUninitializedCapacity: h.count) { buf, initialized in
            let raw = UnsafeMutableRawBufferPointer(buf)
            bytes.withUnsafeBytes { src in
                if h.byteCount > 0 { raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[dataStart..<(dataStart + h.byteCount)])) }
            }
            if h.swap { swapBytes(raw, size: MemoryLayout<T>.size) }
            initialized = h.count
        }
        return (values, h.shape)
    }

    // MARK: header writing

    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    private static var hostIsLittleEndian: Bool { 1.littleEndian == 1 }

    private static func makeHeader<T: NPYScalar>(_: T.Type, count: Int, shape: [Int]?, name: String) throws -> Data {
        let shape = shape ?? [count]
        var product = 1
        for d in shape {
            guard d >= 0 else { throw TwinError.invalidInput("\(name): negative dimension in shape \(shape)") }
            let (p, o) = product.multipliedReportingOverflow(by: d)
            guard !o else { throw TwinError.invalidInput("\(name): shape \(shape) overflows") }
            product = p
        }
        guard product == count else {
            throw TwinError.invalidInput("\(name): shape \(shape) holds \(product) values but the array has \(count)")
        }
        let shapeRepr: String
        switch shape.count {
        case 0: shapeRepr = "()"
        case 1: shapeRepr = "(\(shape[0]),)"
        default: shapeRepr = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var dict = "{'descr': '\(T.npyDescr)', 'fortran_order': False, 'shape': \(shapeRepr), }"
        if let first = shape.first {
            // NumPy ≥ 1.24 leaves room to grow the first axis in place (GROWTH_AXIS_MAX_DIGITS = 21).
            dict += String(repeating: " ", count: max(0, 21 - String(first).count))
        }
        let hlen = dict.utf8.count + 1  // + "\n"
        for (version, lenSize) in [(UInt8(1), 2), (UInt8(2), 4)] {
            let pad = 64 - ((magic.count + 2 + lenSize + hlen) % 64)
            let total = hlen + pad
            if lenSize == 2 && total > Int(UInt16.max) { continue }
            var d = Data(magic)
            d.append(contentsOf: [version, 0])
            if lenSize == 2 {
                d.append(contentsOf: [UInt8(total & 0xFF), UInt8(total >> 8)])
            } else {
                d.append(contentsOf: (0..<4).map { UInt8((total >> (8 * $0)) & 0xFF) })
            }
            d.append(contentsOf: Array(dict.utf8))
            d.append(contentsOf: [UInt8](repeating: 0x20, count: pad))
            d.append(0x0A)
            return d
        }
        throw TwinError.invalidInput("\(name): NPY header too large")
    }

    private static func writeLittleEndian<T: NPYScalar>(_ values: [T], to out: AtomicFileWriter) throws {
        if hostIsLittleEndian {
            try values.withUnsafeBytes { try out.write($0) }
            return
        }
        let size = MemoryLayout<T>.size
        let per = max(1, (1 << 20) / size)
        var i = 0
        while i < values.count {
            let n = min(per, values.count - i)
            var chunk = Data(count: n * size)
            chunk.withUnsafeMutableBytes { dst in
                values.withUnsafeBytes { dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[(i * size)..<((i + n) * size)])) }
                swapBytes(dst, size: size)
            }
            try out.write(chunk)
            i += n
        }
    }

    /// The dtype string and shape of a `.npy` file, read from its header only (for `aptwin info`).
    public static func describe(_ url: URL) throws -> (descr: String, shape: [Int], fortranOrder: Bool) {
        let file = try InputFile(url)
        let (headerBytes, headerStart) = try readHeaderBytes(file)
        guard let text = String(validating: headerBytes, as: UTF8.self) else {
            throw TwinError.invalidInput("\(file.name): header at byte offset \(headerStart) is not text")
        }
        var lexer = PyLiteralLexer(text: text, name: file.name, offset: headerStart)
        let dict = try lexer.parseDict()
        guard case .string(let descr)? = dict["descr"], case .bool(let fortran)? = dict["fortran_order"],
              case .tuple(let shape)? = dict["shape"] else {
            throw TwinError.invalidInput("\(file.name): header at byte offset \(headerStart) lacks descr, fortran_order or shape")
        }
        // What the header claims must be what the file holds: a fixed-size numeric dtype, and exactly
        // prod(shape) × itemsize data bytes after the header.
        let b = Array(descr.utf8)
        let kinds: Set<UInt8> = Set("fiub?".utf8)
        guard !b.isEmpty else { throw TwinError.invalidInput("\(file.name): empty dtype in the header at byte offset \(headerStart)") }
        let body = "<>|=".utf8.contains(b[0]) ? Array(b.dropFirst()) : b
        let itemSize: Int? = body == Array("?".utf8) ? 1
            : (body.count == 2 && kinds.contains(body[0]) && "1248".utf8.contains(body[1])) ? Int(body[1] - 48) : nil
        guard let itemSize, !(body.first == UInt8(ascii: "f") && itemSize < 2) else {
            throw TwinError.invalidInput("\(file.name): dtype '\(clipForMessage(descr))' in the header at byte offset \(headerStart) is not a fixed-size numeric type (object, string and structured arrays are not read)")
        }
        var count = 1
        for d in shape {
            let (p, o) = count.multipliedReportingOverflow(by: max(d, 0))
            guard d >= 0, !o else {
                throw TwinError.invalidInput("\(file.name): shape \(shape) in the header at byte offset \(headerStart) is negative or overflows")
            }
            count = p
        }
        let dataStart = headerStart + headerBytes.count
        let (need, o) = count.multipliedReportingOverflow(by: itemSize)
        guard !o, need == file.size - dataStart else {
            throw TwinError.invalidInput("\(file.name): header (byte offset \(headerStart)) claims shape \(shape) of \(descr), \(o ? "more than any file holds" : "\(need) data bytes"), but the file has \(file.size - dataStart) bytes after the header at byte offset \(dataStart)\(o || need > file.size - dataStart ? " (truncated?)" : "")")
        }
        return (descr, shape, fortran)
    }

    // MARK: header reading

    /// Validates the magic and version and reads the header dictionary's bytes; returns them with their offset.
    private static func readHeaderBytes(_ file: borrowing InputFile) throws -> (bytes: [UInt8], offset: Int) {
        var prefix = [UInt8](repeating: 0, count: min(file.size, 12))
        _ = try prefix.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
        let (hlenSize, hlen) = try parsePrefix(prefix, fileSize: file.size, name: file.name)
        var headerBytes = [UInt8](repeating: 0, count: hlen)
        try headerBytes.withUnsafeMutableBytes { try file.readExactly(into: $0, at: 8 + hlenSize) }
        return (headerBytes, 8 + hlenSize)
    }

    private struct Header { var count: Int; var shape: [Int]; var byteCount: Int; var swap: Bool }

    /// Validates magic and version; returns (size of the length field, header length).
    private static func parsePrefix(_ p: [UInt8], fileSize: Int, name: String) throws -> (Int, Int) {
        guard p.count >= 8 else {
            throw TwinError.invalidInput("\(name): \(fileSize) bytes is too short for a NumPy .npy file (needs the "
                                         + "\\x93NUMPY magic, version and header length)")
        }
        guard Array(p[0..<6]) == magic else {
            let got = p[0..<6].map { String(format: "%02X", $0) }.joined(separator: " ")
            throw TwinError.invalidInput("\(name): bad magic at byte offset 0 (\(got)); not a NumPy .npy file "
                                         + "(expected 93 4E 55 4D 50 59 = \\x93NUMPY)")
        }
        let major = p[6], minor = p[7]
        let lenSize: Int
        switch major {
        case 1: lenSize = 2
        case 2, 3: lenSize = 4
        default:
            throw TwinError.invalidInput("\(name): unsupported .npy format version \(major).\(minor) at byte offset 6")
        }
        guard p.count >= 8 + lenSize else {
            throw TwinError.invalidInput("\(name): file ends at byte offset \(p.count) inside the header length field")
        }
        var hlen = 0
        for i in 0..<lenSize { hlen |= Int(p[8 + i]) << (8 * i) }
        guard 8 + lenSize + hlen <= fileSize else {
            throw TwinError.invalidInput("\(name): header length \(hlen) (at byte offset 8) runs past the end of the "
                                         + "file (\(fileSize) bytes)")
        }
        return (lenSize, hlen)
    }

    private static func parseHeader<T: NPYScalar>(_ bytes: [UInt8], as: T.Type, name: String, offset: Int) throws -> Header {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw TwinError.invalidInput("\(name): header at byte offset \(offset) is not text")
        }
        var lexer = PyLiteralLexer(text: text, name: name, offset: offset)
        let dict = try lexer.parseDict()
        let expected: Set<String> = ["descr", "fortran_order", "shape"]
        guard Set(dict.keys) == expected else {
            throw TwinError.invalidInput("\(name): header keys \(dict.keys.sorted()) at byte offset \(offset); "
                                         + "expected descr, fortran_order, shape")
        }
        guard case .string(let descr)? = dict["descr"] else {
            throw TwinError.invalidInput("\(name): 'descr' is not a simple dtype string (structured arrays are not supported)")
        }
        guard case .bool(let fortran)? = dict["fortran_order"] else {
            throw TwinError.invalidInput("\(name): 'fortran_order' is not True or False")
        }
        guard case .tuple(let shape)? = dict["shape"] else {
            throw TwinError.invalidInput("\(name): 'shape' is not a tuple of integers")
        }
        // dtype
        let want = T.npyDescr
        let size = MemoryLayout<T>.size
        guard let order = descr.first, "<>|=".contains(order), descr.dropFirst() == want.dropFirst() else {
            throw TwinError.invalidInput("\(name): dtype '\(descr)' does not match the requested \(T.self) ('\(want)')")
        }
        let fileLittle = order == "<" || order == "|" || (order == "=" && hostIsLittleEndian)
        let swap = size > 1 && fileLittle != hostIsLittleEndian
        if fortran && shape.count > 1 {
            throw TwinError.invalidInput("\(name): Fortran-order (column-major) array of shape \(shape) is not "
                                         + "supported; save it with numpy.ascontiguousarray first")
        }
        var count = 1
        for d in shape {
            guard d >= 0 else { throw TwinError.invalidInput("\(name): negative dimension in shape \(shape)") }
            let (p, o) = count.multipliedReportingOverflow(by: d)
            guard !o else { throw TwinError.invalidInput("\(name): shape \(shape) overflows") }
            count = p
        }
        let (bytesNeeded, o) = count.multipliedReportingOverflow(by: size)
        guard !o else { throw TwinError.invalidInput("\(name): shape \(shape) overflows") }
        return Header(count: count, shape: shape, byteCount: bytesNeeded, swap: swap)
    }

    private static func checkDataSize(fileSize: Int, dataStart: Int, byteCount: Int, name: String) throws {
        let available = fileSize - dataStart
        if available < byteCount {
            throw TwinError.invalidInput("\(name): truncated: the data need \(byteCount) bytes from byte offset "
                                         + "\(dataStart) but the file ends at byte offset \(fileSize)")
        }
        if available > byteCount {
            throw TwinError.invalidInput("\(name): \(available - byteCount) unexpected trailing bytes after the "
                                         + "data, at byte offset \(dataStart + byteCount)")
        }
    }
}

/// Reverses the bytes of every `size`-byte element in place.
private func swapBytes(_ buf: UnsafeMutableRawBufferPointer, size: Int) {
    guard size > 1, let base = buf.baseAddress else { return }
    let p = base.assumingMemoryBound(to: UInt8.self)
    var i = 0
    while i + size <= buf.count {
        var a = i, b = i + size - 1
        while a < b { let t = p[a]; p[a] = p[b]; p[b] = t; a += 1; b -= 1 }
        i += size
    }
}

private func swapBytes(_ data: inout Data, from start: Int, size: Int) {
    data.withUnsafeMutableBytes { swapBytes(UnsafeMutableRawBufferPointer(rebasing: $0[start...]), size: size) }
}

/// The subset of Python literal syntax found in `.npy` headers: a dict of string keys to strings, booleans and
/// tuples of integers.
private struct PyLiteralLexer {
    enum Value { case string(String), bool(Bool), tuple([Int]), other }
    let s: [UInt8]
    let name: String
    let offset: Int
    var i = 0

    init(text: String, name: String, offset: Int) { s = Array(text.utf8); self.name = name; self.offset = offset }

    private func fail(_ what: String) -> TwinError {
        TwinError.invalidInput("\(name): malformed header at byte offset \(offset + i): \(what)")
    }

    private mutating func skipSpace() { while i < s.count, s[i] == 0x20 || s[i] == 0x0A || s[i] == 0x09 || s[i] == 0x0D { i += 1 } }

    private mutating func expect(_ c: UInt8) throws {
        skipSpace()
        guard i < s.count, s[i] == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))'") }
        i += 1
    }

    mutating func parseDict() throws -> [String: Value] {
        try expect(UInt8(ascii: "{"))
        var d: [String: Value] = [:]
        while true {
            skipSpace()
            guard i < s.count else { throw fail("unterminated dict") }
            if s[i] == UInt8(ascii: "}") { i += 1; break }
            let key = try parseString()
            try expect(UInt8(ascii: ":"))
            d[key] = try parseValue()
            skipSpace()
            if i < s.count, s[i] == UInt8(ascii: ",") { i += 1 }
        }
        return d
    }

    private mutating func parseString() throws -> String {
        skipSpace()
        guard i < s.count, s[i] == 0x27 || s[i] == 0x22 else { throw fail("expected a quoted string") }
        let q = s[i]
        i += 1
        let start = i
        while i < s.count, s[i] != q { i += 1 }
        guard i < s.count else { throw fail("unterminated string") }
        let str = String(decoding: s[start..<i], as: UTF8.self)
        i += 1
        return str
    }

    private mutating func parseValue() throws -> Value {
        skipSpace()
        guard i < s.count else { throw fail("missing value") }
        switch s[i] {
        case 0x27, 0x22: return .string(try parseString())
        case UInt8(ascii: "("):
            i += 1
            var items: [Int] = []
            while true {
                skipSpace()
                guard i < s.count else { throw fail("unterminated tuple") }
                if s[i] == UInt8(ascii: ")") { i += 1; break }
                let start = i
                while i < s.count, (48...57).contains(s[i]) { i += 1 }
                guard i > start, let v = Int(String(decoding: s[start..<i], as: UTF8.self)) else {
                    throw fail("expected a non-negative integer in the shape tuple")
                }
                if i < s.count, s[i] == UInt8(ascii: "L") { i += 1 }  // Python 2 long literal
                items.append(v)
                skipSpace()
                if i < s.count, s[i] == UInt8(ascii: ",") { i += 1 }
            }
            return .tuple(items)
        default:
            if s[i...].starts(with: Array("True".utf8)) { i += 4; return .bool(true) }
            if s[i...].starts(with: Array("False".utf8)) { i += 5; return .bool(false) }
            // Skip an unsupported value (e.g. a structured dtype list) up to the next top-level comma.
            var depth = 0
            while i < s.count {
                let c = s[i]
                if c == UInt8(ascii: "[") || c == UInt8(ascii: "(") { depth += 1 }
                if c == UInt8(ascii: "]") || c == UInt8(ascii: ")") { depth -= 1 }
                if depth <= 0 && (c == UInt8(ascii: ",") || c == UInt8(ascii: "}")) { break }
                i += 1
            }
            return .other
        }
    }
}
