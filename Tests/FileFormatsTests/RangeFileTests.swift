import FileFormats
import Foundation
import TwinCore
import XCTest

final class RangeFileTests: XCTestCase {
    let table = RangeTable(
        ions: [RangedIon(name: "Fe", composition: [ElementCount("Fe", 1)]),
               RangedIon(name: "CrO", composition: [ElementCount("Cr", 1), ElementCount("O", 1)])],
        ranges: [MassRange(lowDa: 27.85, highDa: 28.15, ionIndex: 0, volumeNM3: 0.01178, colorHex: "FF0000"),
                 MassRange(lowDa: 33.898, highDa: 34.802, ionIndex: 1, volumeNM3: 0.04083, colorHex: "00FF00")])

    /// The ranges as bounds and composition, the part every format keeps.
    func essence(_ t: RangeTable) -> [String] {
        t.ranges.map { "\($0.lowDa) \($0.highDa) \(t.ions[$0.ionIndex].composition) \($0.colorHex)" }
    }

    func testDispatchesByExtensionCaseInsensitively() throws {
        let dir = try makeTemporaryDirectory(self)
        for (file, format, lost) in [("a.rrng", "rrng", 0), ("b.RRNG", "rrng", 0), ("c.rng", "rng", 1),
                                     ("d.RnG", "rng", 1), ("e.env", "env", 0), ("f.ENV", "env", 0)] {
            let url = dir.appendingPathComponent(file)
            XCTAssertEqual(try RangeFile.write(table, to: url).count, lost, file)
            let r = try RangeFile.read(url)
            XCTAssertEqual(r.format, format, file)
            XCTAssertEqual(essence(r.table), essence(table), file)
            XCTAssertEqual(r.table.ions.map(\.name).filter { $0 != "O" && $0 != "Cr" }, ["Fe", "CrO"], file)
        }
        // What each writer produced is what that format's reader reads.
        XCTAssertNoThrow(try RRNGFile.read(dir.appendingPathComponent("a.rrng")))
        XCTAssertNoThrow(try RNGFile.read(dir.appendingPathComponent("c.rng")))
        XCTAssertNoThrow(try ENVFile.read(dir.appendingPathComponent("e.env")))
    }

    func testExplicitFormatWins() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("ranges.txt")
        for f in ["RNG", ".env", " rrng "] {
            try RangeFile.write(table, to: url, format: f)
            let r = try RangeFile.read(url, format: f)
            XCTAssertEqual(r.format, f.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: ".", with: ""))
            XCTAssertEqual(essence(r.table), essence(table))
        }
        // An RRNG file named .rng is read as RNG, as asked, and fails clearly.
        let wrong = dir.appendingPathComponent("really-rrng.rng")
        try RangeFile.write(table, to: wrong, format: "rrng")
        assertThrowsMessage(["really-rrng.rng: line 1", "not an RNG range file"]) { try RangeFile.read(wrong) }
        XCTAssertEqual(try RangeFile.read(wrong, format: "rrng").format, "rrng")
    }

    func testUnknownFormatsListTheSupportedOnes() throws {
        let dir = try makeTemporaryDirectory(self)
        assertThrowsMessage(["run.pos: has the extension .pos, not a range-file format", "supported: .rrng, .rng, .env"]) {
            try RangeFile.read(dir.appendingPathComponent("run.pos"))
        }
        assertThrowsMessage(["ranges: has no extension", ".rrng, .rng, .env"]) {
            try RangeFile.read(dir.appendingPathComponent("ranges"))
        }
        assertThrowsMessage(["unknown range-file format 'ini'", "supported: .rrng, .rng, .env"]) {
            try RangeFile.read(dir.appendingPathComponent("a.rrng"), format: "ini")
        }
        assertThrowsMessage(["x.csv: has the extension .csv", "supported"]) {
            try RangeFile.write(table, to: dir.appendingPathComponent("x.csv"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.csv").path))
        XCTAssertEqual(RangeFile.supportedFormats, ["rrng", "rng", "env"])
    }
}
