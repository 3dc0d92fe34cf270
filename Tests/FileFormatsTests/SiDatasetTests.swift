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

    /// Si.RNG and Si.RRNG are the same ranging of one dataset, exported by IVAS in both formats: the RNG must give
    /// the same ranges (bounds, composition, colour, ion name), with the molecules named by its polyatomic extension
    /// and no range duplicated by it.
    func testRNGGivesTheSameRangesAsRRNG() throws {
        let (rng, rngWarnings) = try RNGFile.read(SiDataset.url("Si.RNG"))
        let (rrng, _) = try RRNGFile.read(SiDataset.url("Si.RRNG"))
        XCTAssertEqual(rngWarnings, [])
        XCTAssertEqual(rng.ranges.count, 25)
        XCTAssertEqual(rng.ions.map(\.name), ["Si", "Cr", "O", "Cu", "C", "CrO", "CrO2", "Cr2O"])
        func summary(_ t: RangeTable) -> [String] {
            t.ranges.sorted { $0.lowDa < $1.lowDa }.map { r in
                let ion = t.ions[r.ionIndex]
                let comp = Dictionary(ion.composition.map { ($0.symbol, $0.count) }, uniquingKeysWith: +)
                    .sorted { $0.key < $1.key }.map { "\($0.key)\($0.value)" }.joined()
                return String(format: "%.4f-%.4f ", r.lowDa, r.highDa) + "\(comp) \(ion.name) \(r.colorHex)"
            }
        }
        let a = summary(rng), b = summary(rrng)
        XCTAssertEqual(a, b)
        for (x, y) in zip(a, b) where x != y { print("RNG  \(x)\nRRNG \(y)") }
        // Write → read → write is byte-identical on the real table.
        let once = try RNGFile.encode(rng).data
        XCTAssertEqual(try RNGFile.encode(RNGFile.decode(once, name: "again.rng").table).data, once)
        // RRNG → RNG → RRNG loses only the atomic volumes.
        let viaRNG = try RNGFile.decode(RNGFile.encode(rrng).data, name: "via.rng").table
        XCTAssertEqual(summary(viaRNG), b)
    }

}
