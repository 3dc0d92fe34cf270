import Foundation
import TwinCore

/// MRC / MRC2014 images and stacks (read only), for `tem measure`.
///
/// Layout (MRC2014, Cheng et al., J. Struct. Biol. 192 (2015) 146; as read by the `mrcfile` package): a 1024-byte
/// header of 4-byte words — nx, ny, nz (words 0–2), mode (3), mx, my, mz (7–9), cell lengths in Å (10–12, float32),
/// nsymbt = extended-header bytes (23), `MAP ` at byte 208, the machine stamp at bytes 212–215 — then the extended
/// header, then the data, x fastest, the first row first (MRC's origin is the lower left; the rows are returned in
/// file order, as `mrcfile` returns them).
///
/// - Modes: 0 int8 (signed, MRC2014), 1 int16, 2 float32, 6 uint16, 12 float16. Complex modes (3, 4) and 4-bit
///   data (101) are rejected.
/// - Byte order: machine stamp 0x44 0x44 / 0x44 0x41 → little-endian, 0x11 0x11 → big-endian; any other stamp (old
///   files write zeros): the order in which nx, ny, nz and mode are plausible and fit the file, little-endian first.
/// - Pixel size: cell length x / mx (Å → nm), when both are positive; otherwise none.
/// - Bounds: nx, ny ≤ 65,536, nz ≤ 10⁶, 0 ≤ nsymbt ≤ size − 1024, and nx × ny × bytes per pixel must fit after the
///   extended header; a stack (nz > 1) gives its first section, with a note. Errors name the file and byte offset.
public enum MRCFile {
    /// Reads the first section of an MRC file.
    public static func read(_ url: URL) throws -> MicrographImage {
        try decode(try readWholeFile(url), name: displayName(url))
    }

    /// Decodes MRC bytes held in memory; `name` is used in messages.
    public static func decode(_ data: Data, name: String) throws -> MicrographImage {
        try data.withUnsafeBytes { raw in try decode(raw, name: name) }
    }

    static func bytesPerPixel(_ mode: Int32) -> Int? {
        switch mode {
        case 0: return 1
        case 1, 6, 12: return 2
        case 2: return 4
        default: return nil
        }
    }

    static func decode(_ raw: UnsafeRawBufferPointer, name: String) throws -> MicrographImage {
        let size = raw.count
        guard size >= 1024 else {
            throw TwinError.invalidInput("\(name): file ended at byte offset \(size) inside the 1024-byte MRC header")
        }
        let p = raw.baseAddress!
        func word(_ i: Int, _ little: Bool) -> Int32 {
            let u = p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)
            return little ? Int32(littleEndian: u) : Int32(bigEndian: u)
        }
        func plausible(_ little: Bool) -> Bool {
            let nx = word(0, little), ny = word(1, little), nz = word(2, little), mode = word(3, little)
            guard nx > 0, ny > 0, nz > 0, nx <= 65_536, ny <= 65_536, let b = bytesPerPixel(mode) else { return false }
            return Int(nx) * Int(ny) * b <= size - 1024
        }
        let stamp = (p.load(fromByteOffset: 212, as: UInt8.self), p.load(fromByteOffset: 213, as: UInt8.self))
        var notes: [String] = []
        let little: Bool
        if stamp.0 == 0x44 && (stamp.1 == 0x44 || stamp.1 == 0x41) { little = true }
        else if stamp.0 == 0x11 && stamp.1 == 0x11 { little = false }
        else {
            little = plausible(true) || !plausible(false)
            notes.append("\(name): machine stamp \(String(format: "%02X %02X", stamp.0, stamp.1)) at byte offset 212 is not MRC2014's; \(little ? "little" : "big")-endian chosen from the header values")
        }
        let nx = Int(word(0, little)), ny = Int(word(1, little)), nz = Int(word(2, little)), mode = word(3, little)
        guard nx > 0, ny > 0, nx <= 65_536, ny <= 65_536 else {
            throw TwinError.invalidInput("\(name): MRC image size \(nx) × \(ny) at byte offset 0 (each must be 1…65536)")
        }
        guard nz >= 1, nz <= 1_000_000 else {
            throw TwinError.invalidInput("\(name): MRC section count nz = \(nz) at byte offset 8 (must be 1…1000000)")
        }
        guard let bpp = bytesPerPixel(mode) else {
            throw TwinError.invalidInput("\(name): MRC mode \(mode) at byte offset 12 is not supported (0 int8, 1 int16, 2 float32, 6 uint16, 12 float16)")
        }
        let nsymbt = Int(word(23, little))
        guard nsymbt >= 0, nsymbt <= size - 1024 else {
            throw TwinError.invalidInput("\(name): MRC extended-header size nsymbt = \(nsymbt) at byte offset 92 does not fit the \(size)-byte file")
        }
        let start = 1024 + nsymbt
        let section = nx * ny * bpp
        guard section <= size - start else {
            throw TwinError.invalidInput("\(name): MRC data of \(nx) × \(ny) × \(bpp) bytes from byte offset \(start) run past the end of the file (\(size) bytes)")
        }
        if nz > 1 {
            let have = (size - start) / section
            notes.append("\(name): \(nz) sections\(have < nz ? " (only \(have) in the file)" : ""); read the first")
        }
        let kind: String
        switch mode { case 0: kind = "i8"; case 1: kind = "i16"; case 2: kind = "f32"; case 6: kind = "u16"; default: kind = "f16" }
        let pixels = decodeScalars(p + start, count: nx * ny, kind: kind, little: little)
        let mx = Int(word(7, little))
        let cellX = Float(bitPattern: UInt32(bitPattern: word(10, little)))
        var pixelNM: Double?
        if mx > 0, cellX.isFinite, cellX > 0 {
            pixelNM = Double(cellX) / Double(mx) / 10
        } else {
            notes.append("\(name): no pixel size (cell x \(cellX) Å, mx \(mx))")
        }
        return MicrographImage(width: nx, height: ny, pixels: pixels, pixelSizeNM: pixelNM, notes: notes)
    }
}
