import Foundation
import TwinCore

/// A greyscale micrograph read from a microscope file (``DMFile``, ``MRCFile``): pixels as Float in the order stored
/// (row-major, x fastest, the file's first row first), and the pixel size at the specimen when the file carries one.
public struct MicrographImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// `width × height` values, row-major.
    public var pixels: [Float]
    /// Pixel size along x, nm, from the file's calibration; nil when the file has none or it is not a length.
    public var pixelSizeNM: Double?
    /// What the reader chose or assumed (image picked, unit converted, planes skipped), for reports.
    public var notes: [String]

    public init(width: Int, height: Int, pixels: [Float], pixelSizeNM: Double?, notes: [String] = []) {
        self.width = width; self.height = height; self.pixels = pixels; self.pixelSizeNM = pixelSizeNM; self.notes = notes
    }
}

/// Length-unit names used by microscope software, as nanometres per unit (nil: not a length).
func nanometresPerUnit(_ unit: String) -> Double? {
    switch unit.trimmingCharacters(in: .whitespaces) {
    case "nm", "NM", "nanometer", "nanometre", "nanometers", "nanometres": return 1
    case "µm", "μm", "um", "micron", "microns", "micrometer", "micrometre": return 1000
    case "Å", "\u{212B}", "A", "angstrom", "Angstrom", "angstroms": return 0.1
    case "pm": return 0.001
    case "mm": return 1e6
    case "m": return 1e9
    default: return nil
    }
}

/// A bounds-checked little reader over bytes in memory: every read names the file and byte offset when the data end.
struct ByteCursor {
    let base: UnsafeRawPointer
    let count: Int
    let name: String
    var pos: Int

    init(_ raw: UnsafeRawBufferPointer, name: String, at pos: Int = 0) {
        base = raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        count = raw.count; self.name = name; self.pos = pos
    }

    var remaining: Int { count - pos }

    func need(_ n: Int, _ what: String) throws {
        if n < 0 || n > count - pos {
            throw TwinError.invalidInput("\(name): file ended at byte offset \(count) while reading \(what) (\(n) bytes) at byte offset \(pos)")
        }
    }

    mutating func u8(_ what: String) throws -> UInt8 {
        try need(1, what); defer { pos += 1 }
        return base.load(fromByteOffset: pos, as: UInt8.self)
    }
    mutating func u16be(_ what: String) throws -> UInt16 {
        try need(2, what); defer { pos += 2 }
        return UInt16(bigEndian: base.loadUnaligned(fromByteOffset: pos, as: UInt16.self))
    }
    mutating func u32be(_ what: String) throws -> UInt32 {
        try need(4, what); defer { pos += 4 }
        return UInt32(bigEndian: base.loadUnaligned(fromByteOffset: pos, as: UInt32.self))
    }
    mutating func u64be(_ what: String) throws -> UInt64 {
        try need(8, what); defer { pos += 8 }
        return UInt64(bigEndian: base.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
    }
    mutating func skip(_ n: Int, _ what: String) throws { try need(n, what); pos += n }
}

/// Decodes `count` numbers of a fixed-width scalar type at `p` into Float.
/// `kind`: "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f16", "f32", "f64", "bool".
func decodeScalars(_ p: UnsafeRawPointer, count n: Int, kind: String, little: Bool) -> [Float] {
    [Float](unsafeUninitializedCapacity: n) { b, k in
        switch kind {
        case "i8": for i in 0..<n { b[i] = Float(p.load(fromByteOffset: i, as: Int8.self)) }
        case "u8", "bool": for i in 0..<n { b[i] = Float(p.load(fromByteOffset: i, as: UInt8.self)) }
        case "i16":
            for i in 0..<n { let v = p.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self); b[i] = Float(little ? Int16(littleEndian: v) : Int16(bigEndian: v)) }
        case "u16":
            for i in 0..<n { let v = p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self); b[i] = Float(little ? UInt16(littleEndian: v) : UInt16(bigEndian: v)) }
        case "f16":
            for i in 0..<n { let v = p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self); b[i] = halfToFloat(little ? UInt16(littleEndian: v) : UInt16(bigEndian: v)) }
        case "i32":
            for i in 0..<n { let v = p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self); b[i] = Float(little ? Int32(littleEndian: v) : Int32(bigEndian: v)) }
        case "u32":
            for i in 0..<n { let v = p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self); b[i] = Float(little ? UInt32(littleEndian: v) : UInt32(bigEndian: v)) }
        case "f32":
            for i in 0..<n { let v = p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self); b[i] = Float(bitPattern: little ? UInt32(littleEndian: v) : UInt32(bigEndian: v)) }
        case "i64":
            for i in 0..<n { let v = p.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self); b[i] = Float(little ? Int64(littleEndian: v) : Int64(bigEndian: v)) }
        case "u64":
            for i in 0..<n { let v = p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self); b[i] = Float(little ? UInt64(littleEndian: v) : UInt64(bigEndian: v)) }
        default: // f64
            for i in 0..<n { let v = p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self); b[i] = Float(Double(bitPattern: little ? UInt64(littleEndian: v) : UInt64(bigEndian: v))) }
        }
        k = n
    }
}

/// IEEE 754 binary16 → Float (written out because `Float16` is unavailable on Intel macOS).
@inline(__always)
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exp = Int((h >> 10) & 0x1F), frac = UInt32(h & 0x3FF)
    if exp == 0 {
        let v = Float(frac) * 0x1p-24   // zero or subnormal
        return sign != 0 ? -v : v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (frac << 13)) }  // inf / NaN
    return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (frac << 13))
}
