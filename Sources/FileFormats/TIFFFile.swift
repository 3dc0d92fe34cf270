import Foundation
import TwinCore

/// Baseline TIFF images as exported by Gatan DigitalMicrograph and ImageJ: one greyscale image per file.
///
/// **Read**: little-endian (`II`) and big-endian (`MM`) classic TIFF (TIFF 6.0, Adobe 1992), uncompressed
/// (Compression = 1) only, one sample per pixel (`PlanarConfiguration` irrelevant), unsigned integers of 8, 16 or
/// 32 bits (`SampleFormat` 1, the default), signed integers of 8, 16 or 32 bits (`SampleFormat` 2) and IEEE floats of
/// 32 or 64 bits (`SampleFormat` 3), stored in strips or in tiles. `PhotometricInterpretation` 0 (WhiteIsZero) is
/// converted to BlackIsZero for unsigned integers (v → 2^bits − 1 − v). Only the first image (IFD) of a file is read;
/// further IFDs (thumbnails, stacks) are ignored. Values are returned as `Float` without rescaling (16-bit counts stay
/// counts; 32-bit integers above 2²⁴ lose their lowest bits).
///
/// **Not read** (each gives an error naming the file and the byte offset of the offending field): compressed data
/// (LZW, Deflate, PackBits, JPEG, …), BigTIFF, colour/palette images, several samples per pixel, bit depths other than
/// the above, missing or out-of-file strips/tiles.
///
/// **Write**: ``write16(_:width:height:to:)`` writes a little-endian, uncompressed 16-bit greyscale TIFF in strips of
/// about 64 KiB, atomically (``AtomicFile``), readable by ImageJ, DigitalMicrograph, libtiff and tifffile.
public enum TIFFFile {
    /// Reads the first image of a TIFF file.
    ///
    /// - Returns: the size, the pixel values row-major from the top-left corner, and the bits per sample of the file.
    /// - Throws: `TwinError.io` (cannot open/read) or `TwinError.invalidInput` naming the file and byte offset.
    public static func read(_ url: URL) throws -> (width: Int, height: Int, pixels: [Float], bitsPerSample: Int) {
        try decode(readWholeFile(url), name: displayName(url))
    }

    /// Decodes TIFF bytes (see ``TIFFFile`` for the supported subset); `name` is used in error messages.
    ///
    /// - Throws: `TwinError.invalidInput` naming `name` and the byte offset of the problem.
    public static func decode(_ data: Data, name: String) throws -> (width: Int, height: Int, pixels: [Float], bitsPerSample: Int) {
        try data.withUnsafeBytes { raw in
            var d = Decoder(bytes: raw, name: name)
            return try d.decode()
        }
    }

    /// Writes a 16-bit unsigned greyscale image (row-major from the top-left corner) as an uncompressed
    /// little-endian TIFF, atomically.
    ///
    /// - Throws: `TwinError.invalidInput` if `pixels.count != width * height` or the size is not positive;
    ///   `TwinError.io` on file-system errors.
    public static func write16(_ pixels: [UInt16], width: Int, height: Int, to url: URL) throws {
        try AtomicFile.write(encode16(pixels, width: width, height: height, name: displayName(url)), to: url)
    }

    /// Encodes a 16-bit unsigned greyscale image as the bytes of an uncompressed little-endian TIFF
    /// (what ``write16(_:width:height:to:)`` writes).
    public static func encode16(_ pixels: [UInt16], width: Int, height: Int, name: String = "TIFF output") throws -> Data {
        guard width > 0, height > 0, width <= Int(UInt32.max), height <= Int(UInt32.max) else {
            throw TwinError.invalidInput("\(name): TIFF size \(width) × \(height) is invalid (both must be 1…2³²−1)")
        }
        let (n, o) = width.multipliedReportingOverflow(by: height)
        guard !o, n == pixels.count else {
            throw TwinError.invalidInput("\(name): \(pixels.count) pixels given for a \(width) × \(height) image")
        }
        guard n * 2 < Int(UInt32.max) - 1 << 20 else {
            throw TwinError.invalidInput("\(name): \(width) × \(height) 16-bit image exceeds the 4 GiB limit of classic TIFF")
        }
        let rowBytes = width * 2
        let rowsPerStrip = max(1, min(height, 65536 / rowBytes))
        let strips = (height + rowsPerStrip - 1) / rowsPerStrip
        // Layout: header (8) | IFD | strip offsets | strip byte counts | resolution rationals | image data.
        let tagCount = 12
        let ifdOffset = 8
        let ifdSize = 2 + tagCount * 12 + 4
        let offsetsPos = ifdOffset + ifdSize
        let countsPos = offsetsPos + (strips > 1 ? 4 * strips : 0)
        let resPos = countsPos + (strips > 1 ? 4 * strips : 0)
        let dataPos = resPos + 16
        var out = Data(capacity: dataPos + n * 2)
        func u16(_ v: Int) { var x = UInt16(truncatingIfNeeded: v).littleEndian; withUnsafeBytes(of: &x) { out.append(contentsOf: $0) } }
        func u32(_ v: Int) { var x = UInt32(truncatingIfNeeded: v).littleEndian; withUnsafeBytes(of: &x) { out.append(contentsOf: $0) } }
        func tag(_ t: Int, _ type: Int, _ count: Int, _ value: Int) {
            u16(t); u16(type); u32(count)
            if type == 3 && count == 1 { u16(value); u16(0) } else { u32(value) }
        }
        out.append(contentsOf: [0x49, 0x49]); u16(42); u32(ifdOffset)
        u16(tagCount)
        tag(256, 4, 1, width)                                         // ImageWidth
        tag(257, 4, 1, height)                                        // ImageLength
        tag(258, 3, 1, 16)                                            // BitsPerSample
        tag(259, 3, 1, 1)                                             // Compression: none
        tag(262, 3, 1, 1)                                             // PhotometricInterpretation: BlackIsZero
        tag(273, 4, strips, strips > 1 ? offsetsPos : dataPos)        // StripOffsets
        tag(277, 3, 1, 1)                                             // SamplesPerPixel
        tag(278, 4, 1, rowsPerStrip)                                  // RowsPerStrip
        tag(279, 4, strips, strips > 1 ? countsPos : n * 2)           // StripByteCounts
        tag(282, 5, 1, resPos)                                        // XResolution
        tag(283, 5, 1, resPos + 8)                                    // YResolution
        tag(339, 3, 1, 1)                                             // SampleFormat: unsigned
        u32(0)                                                        // no next IFD
        if strips > 1 {
            for s in 0..<strips { u32(dataPos + s * rowsPerStrip * rowBytes) }
            for s in 0..<strips { u32(min(rowsPerStrip, height - s * rowsPerStrip) * rowBytes) }
        }
        u32(1); u32(1); u32(1); u32(1)                                // 1 pixel per (unspecified) unit
        precondition(out.count == dataPos)
        pixels.withUnsafeBufferPointer { p in
            if UInt16(1).littleEndian == 1 {
                out.append(UnsafeBufferPointer(start: UnsafeRawPointer(p.baseAddress!).assumingMemoryBound(to: UInt8.self), count: n * 2))
            } else {
                for v in p { var x = v.littleEndian; withUnsafeBytes(of: &x) { out.append(contentsOf: $0) } }
            }
        }
        return out
    }

    // MARK: decoding

    private struct Entry {
        var tag: Int
        var type: Int
        var count: Int
        /// Byte offset of the value (inline in the entry or elsewhere in the file).
        var valueOffset: Int
        /// Byte offset of the directory entry itself (for error messages).
        var entryOffset: Int
    }

    private struct Decoder {
        let bytes: UnsafeRawBufferPointer
        let name: String
        var big = false

        init(bytes: UnsafeRawBufferPointer, name: String) {
            self.bytes = bytes
            self.name = name
        }

        func fail(_ msg: String, at offset: Int) -> TwinError {
            .invalidInput("\(name): \(msg) at byte offset \(offset)")
        }

        func u8(_ o: Int) -> Int { Int(bytes[o]) }
        func u16(_ o: Int) -> Int {
            let a = Int(bytes[o]), b = Int(bytes[o + 1])
            return big ? a << 8 | b : b << 8 | a
        }
        func u32(_ o: Int) -> Int {
            let a = Int(bytes[o]), b = Int(bytes[o + 1]), c = Int(bytes[o + 2]), d = Int(bytes[o + 3])
            return big ? a << 24 | b << 16 | c << 8 | d : d << 24 | c << 16 | b << 8 | a
        }
        func u64(_ o: Int) -> UInt64 {
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(bytes[o + (big ? 7 - i : i)]) << (8 * UInt64(i)) }
            return v
        }

        static func typeSize(_ t: Int) -> Int? {
            switch t {
            case 1, 2, 6, 7: return 1
            case 3, 8: return 2
            case 4, 9, 11, 13: return 4
            case 5, 10, 12, 16, 17, 18: return 8
            default: return nil
            }
        }

        /// The integer values of an entry (BYTE, SHORT, LONG and their signed forms).
        func integers(_ e: Entry, max limit: Int = 1 << 24) throws -> [Int] {
            guard e.count <= limit else { throw fail("tag \(e.tag) has \(e.count) values (more than \(limit))", at: e.entryOffset) }
            var out = [Int]()
            out.reserveCapacity(e.count)
            for i in 0..<e.count {
                switch e.type {
                case 1, 7: out.append(u8(e.valueOffset + i))
                case 6: out.append(Int(Int8(truncatingIfNeeded: u8(e.valueOffset + i))))
                case 3: out.append(u16(e.valueOffset + 2 * i))
                case 8: out.append(Int(Int16(truncatingIfNeeded: u16(e.valueOffset + 2 * i))))
                case 4, 13: out.append(u32(e.valueOffset + 4 * i))
                case 9: out.append(Int(Int32(truncatingIfNeeded: u32(e.valueOffset + 4 * i))))
                case 16: out.append(Int(truncatingIfNeeded: u64(e.valueOffset + 8 * i)))
                default: throw fail("tag \(e.tag) has field type \(e.type), expected an integer type", at: e.entryOffset)
                }
            }
            return out
        }

        func single(_ e: Entry?, default d: Int) throws -> Int {
            guard let e else { return d }
            guard e.count >= 1 else { throw fail("tag \(e.tag) has no value", at: e.entryOffset) }
            return try integers(Entry(tag: e.tag, type: e.type, count: 1, valueOffset: e.valueOffset, entryOffset: e.entryOffset))[0]
        }

        mutating func decode() throws -> (width: Int, height: Int, pixels: [Float], bitsPerSample: Int) {
            let n = bytes.count
            guard n >= 8 else { throw fail("file too short for a TIFF header (\(n) bytes)", at: 0) }
            switch (bytes[0], bytes[1]) {
            case (0x49, 0x49): big = false
            case (0x4D, 0x4D): big = true
            default:
                throw fail(String(format: "bad TIFF byte-order mark 0x%02X%02X (expected 'II' or 'MM')", bytes[0], bytes[1]), at: 0)
            }
            let magic = u16(2)
            if magic == 43 { throw fail("BigTIFF (magic 43) is not supported; export as classic TIFF", at: 2) }
            guard magic == 42 else { throw fail("bad TIFF magic number \(magic) (expected 42)", at: 2) }
            let ifd = u32(4)
            guard ifd >= 8, ifd + 2 <= n else { throw fail("first image directory offset \(ifd) lies outside the file (\(n) bytes)", at: 4) }
            let count = u16(ifd)
            guard count > 0 else { throw fail("empty image directory", at: ifd) }
            guard ifd + 2 + 12 * count <= n else {
                throw fail("image directory with \(count) entries is truncated (file has \(n) bytes)", at: ifd)
            }
            var tags = [Int: Entry]()
            for i in 0..<count {
                let eo = ifd + 2 + 12 * i
                let tag = u16(eo), type = u16(eo + 2), cnt = u32(eo + 4)
                guard let size = Decoder.typeSize(type) else { continue }  // unknown types are skipped (TIFF 6.0 §2)
                let (total, o) = size.multipliedReportingOverflow(by: cnt)
                var vo = eo + 8
                if o || total > 4 {
                    vo = u32(eo + 8)
                    guard !o, vo <= n, total <= n - vo else {
                        // Only the tags we use must be readable; others (e.g. a broken private tag) are ignored.
                        if [256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 322, 323, 324, 325, 339].contains(tag) {
                            throw fail("values of tag \(tag) (\(cnt) × \(size) bytes at offset \(vo)) lie outside the file (\(n) bytes)", at: eo)
                        }
                        continue
                    }
                }
                if tags[tag] == nil { tags[tag] = Entry(tag: tag, type: type, count: cnt, valueOffset: vo, entryOffset: eo) }
            }
            guard let we = tags[256], let he = tags[257] else {
                throw fail("image directory lacks ImageWidth (256) or ImageLength (257)", at: ifd)
            }
            let width = try single(we, default: 0), height = try single(he, default: 0)
            guard width > 0, height > 0, width <= 1 << 20, height <= 1 << 20 else {
                throw fail("unsupported image size \(width) × \(height)", at: we.entryOffset)
            }
            let compression = try single(tags[259], default: 1)
            if compression != 1 {
                let names = [2: "CCITT RLE", 3: "CCITT Group 3", 4: "CCITT Group 4", 5: "LZW", 6: "old-style JPEG", 7: "JPEG",
                             8: "Deflate", 32946: "Deflate", 32773: "PackBits", 34925: "LZMA", 50000: "Zstandard"]
                throw fail("compressed TIFF (Compression = \(compression)\(names[compression].map { ", " + $0 } ?? "")) is not "
                           + "supported; save uncompressed", at: tags[259]!.entryOffset)
            }
            let spp = try single(tags[277], default: 1)
            guard spp == 1 else {
                throw fail("\(spp) samples per pixel (colour or multi-channel image); only greyscale is supported",
                           at: tags[277]!.entryOffset)
            }
            let bpsEntry = tags[258]
            let bps = try single(bpsEntry, default: 1)
            let format = try single(tags[339], default: 1)
            let photometric = try single(tags[262], default: 1)
            guard photometric == 0 || photometric == 1 else {
                let names = [2: "RGB", 3: "palette", 4: "transparency mask", 5: "CMYK", 6: "YCbCr", 8: "CIELab"]
                throw fail("PhotometricInterpretation \(photometric) (\(names[photometric] ?? "unknown")) is not greyscale",
                           at: tags[262]!.entryOffset)
            }
            switch (format, bps) {
            case (1, 8), (1, 16), (1, 32), (2, 8), (2, 16), (2, 32), (3, 32), (3, 64): break
            default:
                let kind = [1: "unsigned integer", 2: "signed integer", 3: "floating point"][format] ?? "sample format \(format)"
                throw fail("\(bps)-bit \(kind) samples are not supported (8/16/32-bit integers, 32/64-bit floats)",
                           at: (tags[339] ?? bpsEntry)?.entryOffset ?? ifd)
            }
            let bytesPerSample = bps / 8
            // Uncompressed data need at least width × height samples in the file: this also bounds the allocation below.
            guard width * height * bytesPerSample <= n else {
                throw fail("\(width) × \(height) × \(bytesPerSample)-byte image cannot fit in a file of \(n) bytes (truncated file?)",
                           at: we.entryOffset)
            }
            // Blocks: strips (full rows) or tiles.
            let blockW: Int, blockH: Int, offsets: [Int], counts: [Int]?, offsetsEntry: Entry
            if let to = tags[324] {
                guard let twE = tags[322], let thE = tags[323] else {
                    throw fail("tiled image lacks TileWidth (322) or TileLength (323)", at: to.entryOffset)
                }
                blockW = try single(twE, default: 0); blockH = try single(thE, default: 0)
                guard blockW > 0, blockH > 0, blockW <= 1 << 16, blockH <= 1 << 16 else {
                    throw fail("invalid tile size \(blockW) × \(blockH)", at: twE.entryOffset)
                }
                offsets = try integers(to); offsetsEntry = to
                counts = try tags[325].map { try integers($0) }
            } else if let so = tags[273] {
                blockW = width
                let rps = try single(tags[278], default: height)
                blockH = rps <= 0 ? height : min(rps, height)
                offsets = try integers(so); offsetsEntry = so
                counts = try tags[279].map { try integers($0) }
            } else {
                throw fail("image directory has neither StripOffsets (273) nor TileOffsets (324)", at: ifd)
            }
            let across = (width + blockW - 1) / blockW, down = (height + blockH - 1) / blockH
            guard offsets.count >= across * down else {
                throw fail("\(offsets.count) strip/tile offsets for \(across * down) blocks", at: offsetsEntry.entryOffset)
            }
            if let counts, counts.count < across * down {
                throw fail("\(counts.count) strip/tile byte counts for \(across * down) blocks", at: offsetsEntry.entryOffset)
            }
            var pixels = [Float](repeating: 0, count: width * height)
            let invertMax: Float? = (photometric == 0 && format == 1) ? Float(Double(1 << bps) - 1) : nil
            for by in 0..<down {
                for bx in 0..<across {
                    let b = by * across + bx
                    let start = offsets[b]
                    // Rows and columns of this block inside the image; strips hold only the rows that exist, tiles are
                    // always full size (padding beyond the image edge).
                    let rows = tags[324] == nil ? min(blockH, height - by * blockH) : blockH
                    let need = rows * blockW * bytesPerSample
                    if let c = counts?[b], c < need {
                        throw fail("strip/tile \(b) holds \(c) bytes but \(need) are needed", at: start)
                    }
                    guard start >= 0, start <= n, need <= n - start else {
                        throw fail("strip/tile \(b) (\(need) bytes) is truncated: the file ends at byte \(n)", at: start)
                    }
                    let y0 = by * blockH, x0 = bx * blockW
                    let yEnd = min(height, y0 + blockH), xEnd = min(width, x0 + blockW)
                    for y in y0..<yEnd {
                        let rowStart = start + ((y - y0) * blockW) * bytesPerSample
                        var dst = y * width + x0
                        for x in x0..<xEnd {
                            let o = rowStart + (x - x0) * bytesPerSample
                            var v: Float
                            switch (format, bps) {
                            case (1, 8): v = Float(bytes[o])
                            case (1, 16): v = Float(u16(o))
                            case (1, 32): v = Float(u32(o))
                            case (2, 8): v = Float(Int8(bitPattern: bytes[o]))
                            case (2, 16): v = Float(Int16(truncatingIfNeeded: u16(o)))
                            case (2, 32): v = Float(Int32(truncatingIfNeeded: u32(o)))
                            case (3, 32): v = Float(bitPattern: UInt32(u32(o)))
                            default: v = Float(Double(bitPattern: u64(o)))
                            }
                            if let m = invertMax { v = m - v }
                            pixels[dst] = v
                            dst += 1
                        }
                    }
                }
            }
            return (width, height, pixels, bps)
        }
    }
}
