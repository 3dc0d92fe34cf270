@testable import FileFormats
import Foundation
import TwinCore
import XCTest

/// A minimal TIFF writer for hand-built test files: one IFD at offset 8, out-of-line values after it, then the
/// image blocks. Offsets of the blocks are filled in automatically (tags 273/324 get `.blockOffsets`).
private struct TIFFBuilder {
    enum Value { case shorts([Int]), longs([Int]), blockOffsets(type: Int), raw(type: Int, count: Int, bytes: [UInt8]) }
    var big: Bool
    var entries: [(tag: Int, value: Value)] = []
    var blocks: [[UInt8]] = []

    func bytes16(_ v: Int) -> [UInt8] {
        let a = UInt8(truncatingIfNeeded: v >> 8), b = UInt8(truncatingIfNeeded: v)
        return big ? [a, b] : [b, a]
    }
    func bytes32(_ v: Int) -> [UInt8] {
        let p = [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) }
        return big ? p : p.reversed()
    }

    func build() -> [UInt8] {
        let sorted = entries.sorted { $0.tag < $1.tag }
        let ifdSize = 2 + 12 * sorted.count + 4
        var extra: [UInt8] = []
        let extraStart = 8 + ifdSize
        // Block data start after the out-of-line values; compute those first with placeholder offsets.
        func payload(_ v: Value, blockStart: Int) -> (type: Int, count: Int, bytes: [UInt8]) {
            switch v {
            case .shorts(let s): return (3, s.count, s.flatMap(bytes16))
            case .longs(let l): return (4, l.count, l.flatMap(bytes32))
            case .blockOffsets(let t):
                var o = blockStart, offs: [Int] = []
                for b in blocks { offs.append(o); o += b.count }
                return t == 3 ? (3, offs.count, offs.flatMap(bytes16)) : (4, offs.count, offs.flatMap(bytes32))
            case .raw(let t, let c, let b): return (t, c, b)
            }
        }
        var extraSize = 0
        for e in sorted { let p = payload(e.value, blockStart: 0); if p.bytes.count > 4 { extraSize += p.bytes.count } }
        let blockStart = extraStart + extraSize
        var out: [UInt8] = big ? [0x4D, 0x4D] : [0x49, 0x49]
        out += bytes16(42) + bytes32(8) + bytes16(sorted.count)
        for e in sorted {
            let p = payload(e.value, blockStart: blockStart)
            out += bytes16(e.tag) + bytes16(p.type) + bytes32(p.count)
            if p.bytes.count <= 4 {
                out += p.bytes + [UInt8](repeating: 0, count: 4 - p.bytes.count)
            } else {
                out += bytes32(extraStart + extra.count)
                extra += p.bytes
            }
        }
        out += bytes32(0)
        out += extra
        precondition(out.count == blockStart)
        for b in blocks { out += b }
        return out
    }
}

final class TIFFTests: XCTestCase {
    func testRoundTrip16Bit() throws {
        let dir = try makeTemporaryDirectory(self)
        var rng = TestRNG(7)
        for (w, h) in [(1, 1), (5, 3), (300, 257), (2048, 40)] {
            let px = (0..<(w * h)).map { _ in UInt16(truncatingIfNeeded: rng.next()) }
            let url = dir.appendingPathComponent("img_\(w)x\(h).tif")
            try TIFFFile.write16(px, width: w, height: h, to: url)
            let r = try TIFFFile.read(url)
            XCTAssertEqual(r.width, w)
            XCTAssertEqual(r.height, h)
            XCTAssertEqual(r.bitsPerSample, 16)
            XCTAssertEqual(r.pixels, px.map(Float.init))
        }
        // The multi-strip layout really is used for the larger image.
        let data = try TIFFFile.encode16([UInt16](repeating: 1, count: 300 * 257), width: 300, height: 257)
        XCTAssertGreaterThan(data.count, 300 * 257 * 2)
        XCTAssertThrowsError(try TIFFFile.encode16([1, 2, 3], width: 2, height: 2))
        XCTAssertThrowsError(try TIFFFile.encode16([], width: 0, height: 0))
    }

    /// A hand-built big-endian ("MM") 8-bit file in two strips, RowsPerStrip = 2, last strip short.
    func testHandBuiltBigEndian8Bit() throws {
        var b = TIFFBuilder(big: true)
        let w = 3, h = 3
        let values: [UInt8] = [0, 1, 2, 100, 200, 255, 7, 8, 9]
        b.blocks = [Array(values[0..<6]), Array(values[6..<9])]
        b.entries = [(256, .shorts([w])), (257, .longs([h])), (258, .shorts([8])), (259, .shorts([1])), (262, .shorts([1])),
                     (273, .blockOffsets(type: 4)), (277, .shorts([1])), (278, .shorts([2])), (279, .longs([6, 3]))]
        let r = try TIFFFile.decode(Data(b.build()), name: "mm8.tif")
        XCTAssertEqual(r.width, 3)
        XCTAssertEqual(r.height, 3)
        XCTAssertEqual(r.bitsPerSample, 8)
        XCTAssertEqual(r.pixels, values.map(Float.init))

        // Same file as WhiteIsZero: values are inverted to BlackIsZero.
        b.entries[4] = (262, .shorts([0]))
        let inv = try TIFFFile.decode(Data(b.build()), name: "mm8w.tif")
        XCTAssertEqual(inv.pixels, values.map { Float(255 - Int($0)) })
    }

    /// Big-endian 16-bit and little-endian 32-bit float in tiles of 4 × 2 (padding beyond the image edge).
    func testBigEndian16AndTiledFloat() throws {
        var b = TIFFBuilder(big: true)
        b.blocks = [[0x12, 0x34, 0xFF, 0xFE]]
        b.entries = [(256, .shorts([2])), (257, .shorts([1])), (258, .shorts([16])), (273, .blockOffsets(type: 3)),
                     (279, .shorts([4]))]
        let r16 = try TIFFFile.decode(Data(b.build()), name: "mm16.tif")
        XCTAssertEqual(r16.pixels, [Float(0x1234), Float(0xFFFE)])

        // 5 × 3 float image, tiles 4 × 2 → 2 × 2 tiles; value = 10 y + x.
        let w = 5, h = 3, tw = 4, th = 2
        var t = TIFFBuilder(big: false)
        for ty in 0..<2 {
            for tx in 0..<2 {
                var tile: [UInt8] = []
                for y in 0..<th {
                    for x in 0..<tw {
                        let gx = tx * tw + x, gy = ty * th + y
                        let v: Float = (gx < w && gy < h) ? Float(10 * gy + gx) : -1
                        tile += t.bytes32(Int(v.bitPattern))
                    }
                }
                t.blocks.append(tile)
            }
        }
        t.entries = [(256, .shorts([w])), (257, .shorts([h])), (258, .shorts([32])), (259, .shorts([1])),
                     (322, .shorts([tw])), (323, .shorts([th])), (324, .blockOffsets(type: 4)),
                     (325, .longs([32, 32, 32, 32])), (339, .shorts([3]))]
        let rf = try TIFFFile.decode(Data(t.build()), name: "tiled.tif")
        XCTAssertEqual(rf.bitsPerSample, 32)
        XCTAssertEqual(rf.pixels, (0..<(w * h)).map { Float(10 * ($0 / w) + $0 % w) })
    }

    func testTruncatedAndMalformedFilesGiveClearErrors() throws {
        let full = try TIFFFile.encode16((0..<(64 * 64)).map { UInt16($0) }, width: 64, height: 64)
        // Image data cut short.
        assertThrowsMessage(["cut.tif", "byte offset"]) { try TIFFFile.decode(full.prefix(full.count - 10), name: "cut.tif") }
        // Directory cut short.
        assertThrowsMessage(["cut2.tif", "truncated", "byte offset 8"]) { try TIFFFile.decode(full.prefix(40), name: "cut2.tif") }
        assertThrowsMessage(["tiny.tif", "too short", "byte offset 0"]) { try TIFFFile.decode(full.prefix(5), name: "tiny.tif") }
        var bad = full
        bad[0] = 0x50
        assertThrowsMessage(["bad.tif", "byte-order", "byte offset 0"]) { try TIFFFile.decode(bad, name: "bad.tif") }
        bad = full
        bad[2] = 43
        assertThrowsMessage(["big.tif", "BigTIFF", "byte offset 2"]) { try TIFFFile.decode(bad, name: "big.tif") }
        bad = full
        bad[2] = 41
        assertThrowsMessage(["m.tif", "magic", "byte offset 2"]) { try TIFFFile.decode(bad, name: "m.tif") }
        // Strip offset pointing beyond the end of the file.
        var b = TIFFBuilder(big: false)
        b.entries = [(256, .shorts([4])), (257, .shorts([1])), (258, .shorts([8])), (273, .longs([5000])), (279, .longs([4]))]
        b.blocks = [[1, 2, 3, 4]]
        assertThrowsMessage(["s.tif", "truncated", "byte offset 5000"]) { try TIFFFile.decode(Data(b.build()), name: "s.tif") }
        // Missing file.
        let dir = try makeTemporaryDirectory(self)
        assertThrowsMessage(["nope.tif"]) { try TIFFFile.read(dir.appendingPathComponent("nope.tif")) }
    }

    func testCompressedAndUnsupportedLayoutsAreRejected() throws {
        var b = TIFFBuilder(big: false)
        b.blocks = [[1, 2, 3, 4]]
        b.entries = [(256, .shorts([2])), (257, .shorts([2])), (258, .shorts([8])), (259, .shorts([5])),
                     (273, .blockOffsets(type: 4)), (279, .longs([4]))]
        // The Compression entry is the 4th directory entry: offset 8 + 2 + 3 × 12 = 46.
        assertThrowsMessage(["lzw.tif", "Compression = 5", "LZW", "byte offset 46", "uncompressed"]) {
            try TIFFFile.decode(Data(b.build()), name: "lzw.tif")
        }
        b.entries[3] = (259, .shorts([8]))
        assertThrowsMessage(["z.tif", "Compression = 8", "Deflate"]) { try TIFFFile.decode(Data(b.build()), name: "z.tif") }
        b.entries[3] = (259, .shorts([1]))
        b.entries.append((277, .shorts([3])))
        assertThrowsMessage(["rgb.tif", "3 samples per pixel"]) { try TIFFFile.decode(Data(b.build()), name: "rgb.tif") }
        b.entries.removeLast()
        b.entries[2] = (258, .shorts([12]))
        assertThrowsMessage(["b12.tif", "12-bit"]) { try TIFFFile.decode(Data(b.build()), name: "b12.tif") }
        b.entries[2] = (258, .shorts([8]))
        b.entries.append((262, .shorts([3])))
        assertThrowsMessage(["pal.tif", "palette"]) { try TIFFFile.decode(Data(b.build()), name: "pal.tif") }
    }

    /// Random corruption of a valid file never crashes the decoder: it either decodes or throws a TwinError.
    func testCorruptedFilesNeverCrash() throws {
        var b = TIFFBuilder(big: true)
        b.blocks = [[UInt8](repeating: 9, count: 24), [UInt8](repeating: 3, count: 24)]
        b.entries = [(256, .shorts([6])), (257, .shorts([4])), (258, .shorts([16])), (259, .shorts([1])),
                     (273, .blockOffsets(type: 4)), (278, .shorts([2])), (279, .longs([24, 24]))]
        let good = b.build()
        XCTAssertNoThrow(try TIFFFile.decode(Data(good), name: "g.tif"))
        var rng = TestRNG(11)
        for _ in 0..<3000 {
            var m = good
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                m[Int(rng.next() % UInt64(m.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            if rng.next() % 5 == 0 { m = Array(m.prefix(Int(rng.next() % UInt64(m.count)))) }
            do { _ = try TIFFFile.decode(Data(m), name: "f.tif") } catch is TwinError {} catch { XCTFail("\(error)") }
        }
    }
}
