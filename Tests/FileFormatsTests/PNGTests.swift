import FileFormats
import Foundation
import TwinCore
import XCTest

final class PNGTests: XCTestCase {
    func testGray8RoundTrip() throws {
        let dir = try makeTemporaryDirectory(self)
        let img = GrayImage8(width: 37, height: 11, pixels: (0..<(37 * 11)).map { UInt8(truncatingIfNeeded: $0 * 7) })
        let url = dir.appendingPathComponent("g8.png")
        try PNGFile.write(img, to: url)
        let data = try Data(contentsOf: url)
        XCTAssertEqual(Array(data.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(try PNGFile.read(GrayImage8.self, from: url), img)
        // Read at 16 bit: linear rescale v × 257, no gamma conversion.
        let wide = try PNGFile.read(GrayImage16.self, from: url)
        XCTAssertEqual(wide.pixels, img.pixels.map { UInt16($0) * 257 })
        let rgb = try PNGFile.read(RGBImage8.self, from: url)
        XCTAssertEqual(rgb.pixels.count, 3 * 37 * 11)
        XCTAssertEqual(Array(rgb.pixels[30..<33]), [img.pixels[10], img.pixels[10], img.pixels[10]])
    }

    func testGray16RoundTripIsExact() throws {
        let dir = try makeTemporaryDirectory(self)
        var rng = TestRNG(21)
        var px = (0..<(64 * 48)).map { _ in UInt16(truncatingIfNeeded: rng.next()) }
        px[0] = 0; px[1] = 1; px[2] = 65535; px[3] = 32768; px[4] = 255; px[5] = 256
        let img = GrayImage16(width: 64, height: 48, pixels: px)
        let url = dir.appendingPathComponent("g16.png")
        try PNGFile.write(img, to: url)
        let back = try PNGFile.read(GrayImage16.self, from: url)
        XCTAssertEqual(back.width, 64); XCTAssertEqual(back.height, 48)
        XCTAssertEqual(back.pixels, px, "16-bit grey did not round-trip exactly")
        let narrow = try PNGFile.read(GrayImage8.self, from: url)
        XCTAssertEqual(narrow.pixels, px.map { UInt8((UInt32($0) + 128) / 257) })
        // The file is a 16-bit greyscale PNG: IHDR bit depth 16, colour type 0.
        let d = try Data(contentsOf: url)
        XCTAssertEqual(d[24], 16); XCTAssertEqual(d[25], 0)
    }

    func testRGB8RoundTrip() throws {
        let dir = try makeTemporaryDirectory(self)
        var rng = TestRNG(4)
        let img = RGBImage8(width: 20, height: 9, pixels: (0..<(3 * 20 * 9)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        let url = dir.appendingPathComponent("rgb.png")
        try PNGFile.write(img, to: url)
        XCTAssertEqual(try PNGFile.read(RGBImage8.self, from: url), img)
        let grey = try PNGFile.read(GrayImage8.self, from: url)
        XCTAssertEqual(grey.pixels.count, 20 * 9)
        // In-memory variants agree with the files.
        XCTAssertEqual(try PNGFile.encode(img), try Data(contentsOf: url))
        XCTAssertEqual(try PNGFile.decode(RGBImage8.self, from: PNGFile.encode(img), name: "m.png"), img)
    }

    func testLargeIncompressibleImage() throws {
        var rng = TestRNG(8)
        let img = GrayImage16(width: 700, height: 500, pixels: (0..<(700 * 500)).map { _ in UInt16(truncatingIfNeeded: rng.next()) })
        let data = try PNGFile.encode(img)
        XCTAssertGreaterThan(data.count, 700 * 500 * 2)
        XCTAssertEqual(try PNGFile.decode(GrayImage16.self, from: data, name: "big.png"), img)
    }

    func testErrorsCarryNameAndLibpngMessage() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("fake.png")
        try Data("definitely not a png".utf8).write(to: url)
        let msg = assertThrowsMessage(["fake.png: not a readable PNG:"]) { try PNGFile.read(GrayImage8.self, from: url) }
        XCTAssertGreaterThan(msg?.count ?? 0, "fake.png: not a readable PNG: ".count, "libpng message missing")
        assertThrowsMessage(["e.png", "empty"]) { try PNGFile.decode(GrayImage8.self, from: Data(), name: "e.png") }
        // A truncated PNG: header fine, data cut.
        var rng = TestRNG(2)
        let good = try PNGFile.encode(GrayImage8(width: 50, height: 50, pixels: (0..<2500).map { _ in UInt8(truncatingIfNeeded: rng.next()) }))
        assertThrowsMessage(["cut.png"]) { try PNGFile.decode(GrayImage8.self, from: good.prefix(good.count / 2), name: "cut.png") }
        assertThrowsMessage(["samples given"]) { try PNGFile.encode(GrayImage8(width: 3, height: 3, pixels: [1, 2])) }
        assertThrowsMessage(["invalid"]) { try PNGFile.encode(GrayImage8(width: 0, height: 3, pixels: [])) }
    }
}
