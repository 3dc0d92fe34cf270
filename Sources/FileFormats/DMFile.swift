import Foundation
import TwinCore

/// Gatan DigitalMicrograph `.dm3` / `.dm4` images (read only), for `tem measure`.
///
/// Layout (the published description of the tag format, as implemented by ncempy's `dm.py`, HyperSpy/RosettaSciIO's
/// `digitalmicrograph` reader and the `dm4` package; read for the layout only):
///
/// - Header, big-endian: version u32 (3 or 4), root length (u32 in v3, u64 in v4), byte order of the data u32
///   (1 = little-endian, 0 = big-endian). The tag structure itself is always big-endian; only the values follow the
///   byte-order flag.
/// - Tag group: sorted u8, open u8, tag count (u32 / u64), then the tags.
/// - Tag: kind u8 (20 group, 21 data, 0 end), label length u16, label; v4 then has a u64 byte size of the tag.
///   A data tag has `%%%%`, an info count (u32 / u64) and that many info words (u32 / u64): `[type]` for a simple
///   value (2 i16, 3 i32, 4 u16, 5 u32, 6 f32, 7 f64, 8 bool, 9 i8, 10 u8, 11 i64, 12 u64), `[18, length]` for a
///   UTF-16 string, `[15, nameLength, fields, (nameLength, type) × fields]` for a struct, `[20, type, length]` or
///   `[20, 15, nameLength, fields, (nameLength, type) × fields, length]` for an array; then the values.
/// - The image is `ImageList/<k>/ImageData`: `Data` (an array), `Dimensions` (unnamed integers, x first),
///   `Calibrations/Dimension/<0>/Scale` and `Units`. The first image of a file is usually the thumbnail: the image
///   with the most pixels among the greyscale ones is read
///   (complex and RGB images, DataType 3, 13, 23, 27, are skipped).
///
/// Bounds: every count and size is checked against the bytes left before anything is allocated, group nesting is
/// limited to 64 levels, info lists to 4096 words and a file to 10⁶ tags; errors are `TwinError.invalidInput`
/// naming the file and byte offset. A 3-D image (stack) gives its first plane, with a note.
public enum DMFile {
    static let maxDepth = 64, maxInfo = 4096, maxTags = 1_000_000

    /// One data tag: its path (`ImageList/1/ImageData/Data`, unnamed tags numbered from 0 within their group).
    struct Tag {
        var path: String
        var value: Value
    }

    enum Value {
        case number(Double)
        case string(String)
        /// `count` elements of simple `type` at byte `offset`.
        case array(type: Int, offset: Int, count: Int)
        case other
    }

    /// Reads the largest image of a DM3/DM4 file.
    public static func read(_ url: URL) throws -> MicrographImage {
        try decode(try readWholeFile(url), name: displayName(url))
    }

    /// Decodes DM3/DM4 bytes held in memory; `name` is used in messages.
    public static func decode(_ data: Data, name: String) throws -> MicrographImage {
        try data.withUnsafeBytes { raw in
            let (tags, little) = try parse(raw, name: name)
            return try image(from: tags, raw: raw, little: little, name: name)
        }
    }

    /// Every data tag of the file, and whether the values are little-endian.
    static func parse(_ raw: UnsafeRawBufferPointer, name: String) throws -> (tags: [Tag], little: Bool) {
        var c = ByteCursor(raw, name: name)
        let version = try c.u32be("the DM version")
        guard version == 3 || version == 4 else {
            throw TwinError.invalidInput("\(name): not a DigitalMicrograph file: version \(version) at byte offset 0 (expected 3 or 4)")
        }
        let v4 = version == 4
        if v4 { _ = try c.u64be("the root length") } else { _ = try c.u32be("the root length") }
        let order = try c.u32be("the byte-order flag")
        guard order <= 1 else {
            throw TwinError.invalidInput("\(name): DM\(version) byte-order flag \(order) at byte offset \(c.pos - 4) (expected 0 or 1)")
        }
        var p = Parser(c: c, v4: v4, little: order == 1, name: name)
        try p.group(path: "", depth: 0)
        return (p.tags, order == 1)
    }

    struct Parser {
        var c: ByteCursor
        let v4: Bool
        let little: Bool
        let name: String
        var tags: [Tag] = []
        var seen = 0

        mutating func word(_ what: String) throws -> Int {
            let at = c.pos
            let w: UInt64
            if v4 { w = try c.u64be(what) } else { w = UInt64(try c.u32be(what)) }
            guard w <= UInt64(Int32.max) else { throw TwinError.invalidInput("\(name): \(what) \(w) at byte offset \(at) is too large") }
            return Int(w)
        }

        mutating func group(path: String, depth: Int) throws {
            guard depth <= DMFile.maxDepth else {
                throw TwinError.invalidInput("\(name): tag groups nested deeper than \(DMFile.maxDepth) levels at byte offset \(c.pos)")
            }
            _ = try c.u8("a tag group's sorted flag"); _ = try c.u8("a tag group's open flag")
            let at = c.pos
            let n = try word("tag count")
            let minTag = v4 ? 11 : 3
            guard n <= c.remaining / minTag else {
                throw TwinError.invalidInput("\(name): tag count \(n) at byte offset \(at) exceeds what the remaining \(c.remaining) bytes can hold")
            }
            for i in 0..<n {
                let tagAt = c.pos
                let kind = try c.u8("a tag kind")
                if kind == 0 { return }  // end marker
                let len = Int(try c.u16be("a tag label length"))
                try c.need(len, "a tag label")
                let labelBytes = UnsafeRawBufferPointer(start: c.base + c.pos, count: len)
                let label = String(decoding: labelBytes, as: UTF8.self)
                c.pos += len
                if v4 { _ = try c.u64be("a tag size") }
                seen += 1
                guard seen <= DMFile.maxTags else { throw TwinError.invalidInput("\(name): more than \(DMFile.maxTags) tags (byte offset \(tagAt))") }
                let p = (path.isEmpty ? "" : path + "/") + (label.isEmpty ? String(i) : label)
                switch kind {
                case 20: try group(path: p, depth: depth + 1)
                case 21: tags.append(Tag(path: p, value: try data()))
                default:
                    throw TwinError.invalidInput("\(name): unknown tag kind \(kind) at byte offset \(tagAt) (expected 20 group or 21 data)")
                }
            }
        }

        static func size(_ t: Int) -> Int? {
            switch t {
            case 2, 4: return 2
            case 3, 5, 6: return 4
            case 7, 11, 12: return 8
            case 8, 9, 10: return 1
            default: return nil
            }
        }

        mutating func data() throws -> Value {
            let at = c.pos
            try c.need(4, "a data tag's %%%% mark")
            guard c.base.loadUnaligned(fromByteOffset: c.pos, as: UInt32.self) == UInt32(bigEndian: 0x2525_2525) else {
                throw TwinError.invalidInput("\(name): data tag without its %%%% mark at byte offset \(at)")
            }
            c.pos += 4
            let infoAt = c.pos
            let n = try word("info count")
            guard n >= 1, n <= DMFile.maxInfo else {
                throw TwinError.invalidInput("\(name): info count \(n) at byte offset \(infoAt) (expected 1…\(DMFile.maxInfo))")
            }
            var info = [Int]()
            info.reserveCapacity(min(n, c.remaining / (v4 ? 8 : 4) + 1))
            for _ in 0..<n { info.append(try word("an info word")) }
            let fileName = name
            func bad(_ what: String) -> TwinError { TwinError.invalidInput("\(fileName): \(what) in the data tag at byte offset \(at)") }
            switch info[0] {
            case 18:
                guard n == 2 else { throw bad("string info of \(n) words") }
                let len = info[1]
                guard len <= c.remaining / 2 else { throw bad("string of \(len) characters beyond the end of the file") }
                let s = stringUTF16(at: c.pos, count: len)
                c.pos += 2 * len
                return .string(s)
            case 15:
                guard n >= 3, n == 3 + 2 * info[2] else { throw bad("struct info of \(n) words for \(info.count > 2 ? info[2] : 0) fields") }
                var total = 0
                for f in 0..<info[2] {
                    guard let s = Self.size(info[4 + 2 * f]) else { throw bad("struct field of unknown type \(info[4 + 2 * f])") }
                    total += s
                }
                try c.skip(total, "struct values")
                return .other
            case 20:
                guard n >= 3 else { throw bad("array info of \(n) words") }
                let elem = info[1]
                var elemSize: Int
                if elem == 15 {
                    guard n >= 5, n == 5 + 2 * info[3] else { throw bad("array-of-struct info of \(n) words") }
                    elemSize = 0
                    for f in 0..<info[3] {
                        guard let s = Self.size(info[5 + 2 * f]) else { throw bad("struct field of unknown type \(info[5 + 2 * f])") }
                        elemSize += s
                    }
                } else {
                    guard n == 3, let s = Self.size(elem) else { throw bad("array of unsupported element type \(elem)") }
                    elemSize = s
                }
                let count = info[n - 1]
                guard elemSize == 0 || count <= c.remaining / elemSize else {
                    throw bad("array of \(count) × \(elemSize) bytes beyond the end of the file (\(c.remaining) bytes left at byte offset \(c.pos))")
                }
                let offset = c.pos
                c.pos += count * elemSize
                return elem == 15 ? .other : .array(type: elem, offset: offset, count: count)
            default:
                guard n == 1, let s = Self.size(info[0]) else { throw bad("unknown value type \(info[0]) (info of \(n) words)") }
                try c.need(s, "a tag value")
                let v = decodeScalars(c.base + c.pos, count: 1, kind: Self.kind(info[0]), little: little)[0]
                // Keep doubles and 32-bit integers exact.
                let d: Double
                switch info[0] {
                case 7:
                    let u = c.base.loadUnaligned(fromByteOffset: c.pos, as: UInt64.self)
                    d = Double(bitPattern: little ? UInt64(littleEndian: u) : UInt64(bigEndian: u))
                case 3:
                    let u = c.base.loadUnaligned(fromByteOffset: c.pos, as: Int32.self)
                    d = Double(little ? Int32(littleEndian: u) : Int32(bigEndian: u))
                case 5:
                    let u = c.base.loadUnaligned(fromByteOffset: c.pos, as: UInt32.self)
                    d = Double(little ? UInt32(littleEndian: u) : UInt32(bigEndian: u))
                case 11:
                    let u = c.base.loadUnaligned(fromByteOffset: c.pos, as: Int64.self)
                    d = Double(little ? Int64(littleEndian: u) : Int64(bigEndian: u))
                case 12:
                    let u = c.base.loadUnaligned(fromByteOffset: c.pos, as: UInt64.self)
                    d = Double(little ? UInt64(littleEndian: u) : UInt64(bigEndian: u))
                default: d = Double(v)
                }
                c.pos += s
                return .number(d)
            }
        }

        func stringUTF16(at offset: Int, count: Int) -> String {
            var units = [UInt16]()
            units.reserveCapacity(count)
            for i in 0..<count {
                let u = c.base.loadUnaligned(fromByteOffset: offset + 2 * i, as: UInt16.self)
                units.append(little ? UInt16(littleEndian: u) : UInt16(bigEndian: u))
            }
            return String(decoding: units, as: UTF16.self)
        }

        static func kind(_ t: Int) -> String {
            switch t {
            case 2: return "i16"
            case 3: return "i32"
            case 4: return "u16"
            case 5: return "u32"
            case 6: return "f32"
            case 7: return "f64"
            case 8: return "bool"
            case 9: return "i8"
            case 10: return "u8"
            case 11: return "i64"
            default: return "u64"
            }
        }
    }

    /// Product of image dimensions, nil on overflow.
    static func product(_ dims: [Int]) -> Int? {
        var p = 1
        for d in dims {
            let (r, o) = p.multipliedReportingOverflow(by: d)
            if o { return nil }
            p = r
        }
        return p
    }

    /// ImageData/DataType codes of complex (3, 13) and RGB (23, 27) images, which are skipped.
    static let unsupportedDataTypes: Set<Int> = [3, 13, 23, 27]

    static func image(from tags: [Tag], raw: UnsafeRawBufferPointer, little: Bool, name: String) throws -> MicrographImage {
        var byPath: [String: Value] = [:]
        for t in tags { byPath[t.path] = t.value }
        // Candidate images: ImageList/<k>/ImageData/Data arrays.
        var best: (k: String, dims: [Int], type: Int, offset: Int, count: Int)?
        var candidates = 0
        var skipped: [String] = []
        for t in tags where t.path.hasPrefix("ImageList/") && t.path.hasSuffix("/ImageData/Data") {
            guard case .array(let type, let offset, let count) = t.value else { continue }
            let k = String(t.path.dropFirst("ImageList/".count).dropLast("/ImageData/Data".count))
            var dims: [Int] = []
            var d = 0
            while case .number(let v)? = byPath["ImageList/\(k)/ImageData/Dimensions/\(d)"] {
                guard v >= 1, v <= 1e9 else { throw TwinError.invalidInput("\(name): image \(k) dimension \(d) is \(v) (must be 1…10⁹)") }
                dims.append(Int(v)); d += 1
                if d > 8 { break }
            }
            if case .number(let dt)? = byPath["ImageList/\(k)/ImageData/DataType"], dt.isFinite, abs(dt) < 1e6,
               unsupportedDataTypes.contains(Int(dt)) {
                skipped.append("ImageList/\(k) (DataType \(Int(dt)))"); continue
            }
            guard let pixels = product(dims), pixels == count || dims.count < 2 else {
                throw TwinError.invalidInput("\(name): image \(k) Data holds \(count) values at byte offset \(offset), its Dimensions \(dims) need \(product(dims).map(String.init) ?? "more than 2⁶³")")
            }
            candidates += 1
            if best == nil || pixels > product(best!.dims)! { best = (k, dims, type, offset, count) }
        }
        guard let img = best else {
            if !skipped.isEmpty {
                throw TwinError.invalidInput("\(name): only complex or RGB images (\(skipped.joined(separator: ", "))); greyscale images only")
            }
            throw TwinError.invalidInput("\(name): no ImageList/…/ImageData/Data array: not an image file")
        }
        var notes: [String] = []
        if candidates > 1 { notes.append("\(name): \(candidates) greyscale images in the file; read ImageList/\(img.k), the largest") }
        if !skipped.isEmpty { notes.append("\(name): skipped \(skipped.joined(separator: ", ")): complex or RGB (the thumbnail is RGB)") }
        guard img.dims.count >= 2 else {
            throw TwinError.invalidInput("\(name): image \(img.k) has \(img.dims.count) dimension(s) (\(img.dims)); a 2-D image is needed")
        }
        let w = img.dims[0], h = img.dims[1]
        guard w > 0, h > 0 else { throw TwinError.invalidInput("\(name): image \(img.k) is \(w) × \(h) pixels") }
        let planes = img.count / (w * h)   // the dimensions' product equals the value count (checked above)
        if planes > 1 { notes.append("\(name): \(img.dims) stack; read the first plane") }
        let pixels = decodeScalars(raw.baseAddress! + img.offset, count: w * h, kind: Parser.kind(img.type), little: little)
        var pixelNM: Double?
        let cal = "ImageList/\(img.k)/ImageData/Calibrations/Dimension"
        if case .number(let scale)? = byPath["\(cal)/0/Scale"] {
            let unit = unitString(byPath["\(cal)/0/Units"], raw: raw, little: little)
            if let f = nanometresPerUnit(unit), scale.isFinite, scale > 0 {
                pixelNM = scale * f
                if case .number(let sy)? = byPath["\(cal)/1/Scale"], unitString(byPath["\(cal)/1/Units"], raw: raw, little: little) == unit,
                   abs(sy - scale) > 1e-6 * abs(scale) {
                    notes.append("\(name): x and y scales differ (\(scale), \(sy) \(unit)); using x")
                }
            } else {
                notes.append("\(name): calibration \(scale) '\(unit)' is not a positive length; no pixel size")
            }
        } else {
            notes.append("\(name): no spatial calibration")
        }
        return MicrographImage(width: w, height: h, pixels: pixels, pixelSizeNM: pixelNM, notes: notes)
    }

    /// A `Units` tag: a UTF-16 string, or an array of u16 (as DigitalMicrograph stores them).
    static func unitString(_ v: Value?, raw: UnsafeRawBufferPointer, little: Bool) -> String {
        switch v {
        case .string(let s)?: return s
        case .array(let type, let offset, let count)? where type == 4 && count <= 64:
            var units: [UInt16] = []
            for i in 0..<count {
                let u = raw.baseAddress!.loadUnaligned(fromByteOffset: offset + 2 * i, as: UInt16.self)
                units.append(little ? UInt16(littleEndian: u) : UInt16(bigEndian: u))
            }
            return String(decoding: units, as: UTF16.self)
        default: return ""
        }
    }
}
