import FileFormats
import Foundation
import TwinCore
import XCTest

final class MiscFormatTests: XCTestCase {
    func testAtomicWriteReplacesAndCleansUp() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("out.bin")
        try AtomicFile.write(Data("old".utf8), to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "old")
        // A failing streamed write leaves the old file and no temporary file.
        struct Boom: Error {}
        XCTAssertThrowsError(try AtomicFile.write(to: url) { out in
            try out.write("partial")
            throw Boom()
        })
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "old")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.bin"])
        // Streaming many chunks, some larger than the buffer.
        var expected = Data()
        let written = try AtomicFile.write(to: url) { out -> Int in
            for i in 0..<40 {
                let chunk = Data(repeating: UInt8(i), count: i % 7 == 0 ? 3 << 20 : 1000 + i)
                expected += chunk
                try out.write(chunk)
            }
            return out.bytesWritten
        }
        XCTAssertEqual(written, expected.count)
        XCTAssertEqual(try Data(contentsOf: url), expected)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.bin"])
        assertThrowsMessage(["x.bin", "cannot create"]) {
            try AtomicFile.write(Data(), to: dir.appendingPathComponent("no/such/dir/x.bin"))
        }
    }

    func testCSV() throws {
        let cols = [CSVColumn("x_nm", [Float](arrayLiteral: 1, 0.1, -2.5e-7)), CSVColumn("ion", [Int32](arrayLiteral: 3, -1, 0)),
                    CSVColumn("label, quoted", ["a", "b\"c", "d,e"]), CSVColumn("m", [Double](arrayLiteral: 0.1, .nan, 1e300))]
        let text = try CSVFile.encode(cols)
        XCTAssertEqual(text, "x_nm,ion,\"label, quoted\",m\n1.0,3,a,0.1\n0.1,-1,\"b\"\"c\",nan\n-2.5e-07,0,\"d,e\",1e+300\n")
        XCTAssertEqual(Float("-2.5e-07"), -2.5e-7)
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("t.csv")
        try CSVFile.write(cols, to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), text)
        assertThrowsMessage(["t.csv", "'b' has 1 rows, expected 2"]) {
            try CSVFile.write([CSVColumn("a", [Float](arrayLiteral: 1, 2)), CSVColumn("b", [Float](arrayLiteral: 1))], to: url)
        }
        // Large streamed table.
        let n = 300_000
        try CSVFile.write([CSVColumn("i", Array(0..<n)), CSVColumn("f", (0..<n).map { Float($0) / 3 })], to: url)
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, n + 1)
        XCTAssertEqual(lines[n], "\(n - 1),\(Float(n - 1) / 3)")
    }

    func testFormatFromPath() {
        XCTAssertEqual(APTFormat.fromPath("/data/Si.pos"), .pos)
        XCTAssertEqual(APTFormat.fromPath("run.EPOS"), .epos)
        XCTAssertEqual(APTFormat.fromPath("Si.RRNG"), .rrng)
        XCTAssertEqual(APTFormat.fromPath("a.b/c.npy"), .npy)
        XCTAssertEqual(APTFormat.fromPath("x.apt"), .apt)
        XCTAssertEqual(APTFormat.fromPath("t.csv"), .csv)
        XCTAssertEqual(APTFormat.fromPath("i.PNG"), .png)
        XCTAssertNil(APTFormat.fromPath("Si.RNG"))
        XCTAssertNil(APTFormat.fromPath("README"))
        XCTAssertNil(APTFormat.fromPath(".pos/file"))
    }
}
