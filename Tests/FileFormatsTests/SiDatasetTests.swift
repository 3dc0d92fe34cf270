import FileFormats
import Foundation
import TwinCore
import XCTest
import TestDatasets

/// Tests on the real Si dataset of apav 1.2.2 (skipped when it cannot be fetched; see ``SiDataset``).
final class SiDatasetTests: XCTestCase {
    func testPOSAndEPOSAgree() throws {
        let pos = try POSFile.read(SiDataset.url("Si.pos"))
        let epos = try EPOSFile.read(SiDataset.url("Si.epos"))
        XCTAssertEqual(pos.count, SiDataset.ionCount)
        XCTAssertEqual(epos.count, SiDataset.ionCount)
        for (p, e, name) in [(pos.xNM, epos.xNM, "x"), (pos.yNM, epos.yNM, "y"), (pos.zNM, epos.zNM, "z"),
                             (pos.massToChargeDa, epos.massToChargeDa, "m/n")] {
            XCTAssertTrue(p.elementsEqual(e) { $0.bitPattern == $1.bitPattern }, "\(name) differs between POS and EPOS")
        }
        // Documented facts about this dataset: z negative into the specimen, TOF and voltages zero in the EPOS.
        XCTAssertLessThan(pos.zNM.min() ?? 0, 0)
        XCTAssertTrue(epos.tofNS.allSatisfy { $0 == 0 } && epos.vDCV.allSatisfy { $0 == 0 })
        let mMax = pos.massToChargeDa.max() ?? 0
        XCTAssertGreaterThan(mMax, 28)
    }

    func testPOSToEPOSToPOSIsByteIdenticalAndEPOSRewritesExactly() throws {
        let posURL = try SiDataset.url("Si.pos")
        let dir = try makeTemporaryDirectory(self)
        let a = try POSFile.read(posURL)
        let eposURL = dir.appendingPathComponent("Si-from-pos.epos")
        try EPOSFile.write(a, to: eposURL, fillMissingWithZeros: true)
        let back = dir.appendingPathComponent("Si-back.pos")
        try POSFile.write(try EPOSFile.read(eposURL), to: back)
        XCTAssertEqual(try Data(contentsOf: back), try Data(contentsOf: posURL))
        XCTAssertEqual(try SHA256.hex(fileAt: back), SiDataset.sha256["Si.pos"])

        let epos = try EPOSFile.read(SiDataset.url("Si.epos"))
        let rewritten = dir.appendingPathComponent("Si-rewritten.epos")
        try EPOSFile.write(epos, to: rewritten)
        XCTAssertEqual(try SHA256.hex(fileAt: rewritten), SiDataset.sha256["Si.epos"])
    }

    func testOurSHA256MatchesTheReferenceHashes() throws {
        for (name, want) in SiDataset.sha256.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(try SHA256.hex(fileAt: SiDataset.url(name)), want, name)
        }
    }

    func testRRNGParses() throws {
        let url = try SiDataset.url("Si.RRNG")
        let (table, warnings) = try RRNGFile.read(url)
        let summary = "Si.RRNG: \(table.ions.count) ions (\(table.ions.map(\.name).joined(separator: ", "))), "
            + "\(table.ranges.count) ranges, \(warnings.count) warnings \(warnings)"
        print(summary)
        XCTAssertFalse(table.ranges.isEmpty, summary)
        XCTAssertEqual(table.ranges.count, 25, summary)
        XCTAssertEqual(table.ions.map(\.name), ["Si", "Cr", "Cu", "C", "O", "CrO", "CrO2", "Cr2O"], summary)
        XCTAssertEqual(table.ions[7].composition, [ElementCount("Cr", 2), ElementCount("O", 1)], summary)
        XCTAssertEqual(table.ranges[0].lowDa, 13.8745); XCTAssertEqual(table.ranges[0].highDa, 14.2410)
        XCTAssertEqual(table.ranges[24].ionIndex, 7)
        XCTAssertEqual(table.ranges[6].colorHex, "FF33CC")
        XCTAssertTrue(warnings.isEmpty, summary)
        let once = try RRNGFile.encode(table)
        XCTAssertEqual(try RRNGFile.encode(RRNGFile.decode(once, name: "again.rrng").table), once)
    }

}
