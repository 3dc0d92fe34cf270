import FileFormats
import Foundation
import TestDatasets
import TwinCore
import XCTest

/// Cameca APT6: AP Suite's section names and types, every section of a read file carried through a round trip,
/// and the files opened by APAV (PyPI `apav`) with the same xyz, mass and multiplicity.
final class APTTests: XCTestCase {
    /// An acquisition with every column the twin writes; gaps above Int16.max when `longGaps`.
    func fullAcquisition(_ n: Int, longGaps: Bool = false) -> Acquisition {
        var a = Acquisition()
        var rng = TestRNG(11)
        func col(_ scale: Float) -> [Float] { (0..<n).map { _ in Float(rng.next() % 100_000) / 100_000 * scale } }
        a.xNM = col(40); a.yNM = col(40); a.zNM = col(-80); a.massToChargeDa = col(120); a.tofNS = col(900)
        a.vDCV = col(8000); a.vPulseV = col(1600); a.detectorXMM = col(42); a.detectorYMM = col(42)
        a.multiplicity = (0..<n).map { UInt32($0 % 3) }
        a.pulsesSincePrevious = (0..<n).map { longGaps && $0 == 1 ? 40_000 : UInt32($0 % 7) }
        return a
    }

    func sectionNames(_ url: URL) throws -> [String: APTFile.Section] {
        Dictionary(try APTFile.layout(url).sections.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    func testSectionsAsAPSuiteWritesThem() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("a.apt")
        try APTFile.write(fullAcquisition(50), to: url)
        let s = try sectionNames(url)
        // name: (data type, bits, record size, unit), from Si.apt and the NOMAD APT6 section table.
        let expected: [String: (UInt32, Int, Int, String)] = [
            "tof": (3, 32, 4, "ns"), "Mass": (3, 32, 4, "Da"), "XDet_mm": (3, 32, 4, "mm"), "YDet_mm": (3, 32, 4, "mm"),
            "Multiplicity": (1, 32, 4, ""), "pulseDelta": (1, 16, 2, ""), "Voltage": (3, 32, 4, ""),
            "Pulse Voltage": (3, 32, 4, "V"), "Position": (3, 32, 12, "nm"),
        ]
        XCTAssertEqual(Set(s.keys), Set(expected.keys))
        for (name, (dt, bits, size, unit)) in expected {
            let sec = try XCTUnwrap(s[name])
            XCTAssertEqual(sec.dataTypeCode, dt, name); XCTAssertEqual(sec.elementBits, bits, name)
            XCTAssertEqual(sec.recordSize, size, name); XCTAssertEqual(sec.unit, unit, name)
            XCTAssertEqual(sec.headerSize, name == "Position" ? 172 : 148, name)
        }
        XCTAssertEqual(try APTFile.layout(url).sections.last?.name, "Position")
    }

    func testRoundTripOfEveryColumn() throws {
        let dir = try makeTemporaryDirectory(self)
        for longGaps in [false, true] {
            let a = fullAcquisition(200, longGaps: longGaps)
            let url = dir.appendingPathComponent("a\(longGaps).apt")
            try APTFile.write(a, to: url)
            XCTAssertEqual(try sectionNames(url)["pulseDelta"]?.elementBits, longGaps ? 32 : 16)
            let b = try APTFile.read(url)
            XCTAssertEqual(b.xNM, a.xNM); XCTAssertEqual(b.yNM, a.yNM); XCTAssertEqual(b.zNM, a.zNM)
            XCTAssertEqual(b.massToChargeDa, a.massToChargeDa); XCTAssertEqual(b.tofNS, a.tofNS)
            XCTAssertEqual(b.vDCV, a.vDCV); XCTAssertEqual(b.vPulseV, a.vPulseV)
            XCTAssertEqual(b.detectorXMM, a.detectorXMM); XCTAssertEqual(b.detectorYMM, a.detectorYMM)
            XCTAssertEqual(b.multiplicity, a.multiplicity); XCTAssertEqual(b.pulsesSincePrevious, a.pulsesSincePrevious)
            XCTAssertTrue(b.extraColumns.isEmpty)
            // Written again: the same bytes.
            let url2 = dir.appendingPathComponent("b\(longGaps).apt")
            try APTFile.write(b, to: url2)
            XCTAssertEqual(try Data(contentsOf: url2), try Data(contentsOf: url))
        }
    }

    /// Sections the twin does not interpret (one per ion, and one of another relationship) come back unchanged and
    /// in place; per-ion ones are dropped, with a note, once the ions were filtered.
    func testUninterpretedSectionsCarriedThrough() throws {
        let dir = try makeTemporaryDirectory(self)
        let n = 5
        let freq = APTFile.RawSection(name: "freq", unit: "Hz", floats: [[2e5, 2e5, 2e5, 2e5, 2e5]])
        var perPulse = APTFile.RawSection(name: "Vendor", unit: "", uints: [1, 2, 3])
        perPulse.relationship = 2
        let mass = APTFile.RawSection(name: "Mass", unit: "Da", floats: [[1, 2, 3, 4, 5]])
        let tofc = APTFile.RawSection(name: "tofc", unit: "ns", floats: [[10, 20, 30, 40, 50]])
        let src = APTFile.encode(sections: [tofc, freq, perPulse, mass], ionCount: n, fileName: "C:\\data\\run.apt",
                                 creationFILETIME: 132_610_050_860_580_000)
        let url = dir.appendingPathComponent("src.apt")
        try src.write(to: url)
        let a = try APTFile.read(url)
        XCTAssertTrue(a.tofIsCorrected)
        XCTAssertEqual(a.tofNS, [10, 20, 30, 40, 50])
        XCTAssertEqual(a.extraColumns.map(\.name), ["freq", "Vendor"])
        XCTAssertEqual(a.sourceColumnOrder, ["tofc", "freq", "Vendor", "Mass"])
        XCTAssertTrue(a.notes.contains { $0.contains("'Vendor'") && $0.contains("not one fixed-size record per ion") }, "\(a.notes)")
        let out = dir.appendingPathComponent("out.apt")
        XCTAssertEqual(try APTFile.write(a, to: out), [])
        XCTAssertEqual(try Data(contentsOf: out), src, "round trip must be byte-identical")

        // Filtered to 3 ions: the per-ion 'freq' cannot be kept; the per-pulse section is.
        var f = Acquisition()
        f.massToChargeDa = Array(a.massToChargeDa.prefix(3)); f.tofNS = Array(a.tofNS.prefix(3))
        f.tofIsCorrected = true; f.extraColumns = a.extraColumns; f.sourceColumnOrder = a.sourceColumnOrder
        let notes = try APTFile.write(f, to: out)
        XCTAssertEqual(notes.count, 1); XCTAssertTrue(notes[0].contains("'freq'") && notes[0].contains("5 records"), "\(notes)")
        XCTAssertEqual(try APTFile.layout(out).sections.map(\.name), ["tofc", "Vendor", "Mass"])
    }

    func testMappedSectionOfWrongShapeIsAnError() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("bad.apt")
        // A 'Position' of two elements per record must not become zeros.
        try APTFile.encode(sections: [APTFile.RawSection(name: "Position", unit: "nm", floats: [[1, 2], [3, 4]]),
                                      APTFile.RawSection(name: "Mass", unit: "Da", floats: [[1, 2]])], ionCount: 2).write(to: url)
        assertThrowsMessage(["bad.apt", "'Position'", "byte offset 540", "expected 3 elements"]) { try APTFile.read(url) }
        // Record counts and byte counts beyond the file size are refused before any allocation.
        var d = APTFile.encode(sections: [APTFile.RawSection(name: "Mass", unit: "Da", floats: [[1, 2]])], ionCount: 2)
        d.replaceSubrange((540 + 132)..<(540 + 140), with: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
        try d.write(to: url)
        assertThrowsMessage(["bad.apt", "'Mass'", "record count"]) { try APTFile.layout(url) }
        d = APTFile.encode(sections: [APTFile.RawSection(name: "Mass", unit: "Da", floats: [[1, 2]])], ionCount: 2)
        d.replaceSubrange(532..<540, with: [0, 0, 0, 0, 0, 0, 0, 0x40])
        try d.write(to: url)
        assertThrowsMessage(["bad.apt", "ion count", "byte offset 532"]) { try APTFile.layout(url) }
    }

    func testNonFiniteValuesAreCounted() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("nan.apt")
        try APTFile.encode(sections: [APTFile.RawSection(name: "Mass", unit: "Da", floats: [[1, .nan, .infinity, 4]])], ionCount: 4).write(to: url)
        let a = try APTFile.read(url)
        XCTAssertTrue(a.notes.contains { $0.contains("'Mass' holds 2 non-finite values") }, "\(a.notes)")
    }

    /// The real AP Suite export: read and written back byte for byte (all seven sections, names, header).
    func testSiAPTRoundTripIsByteIdentical() throws {
        let src = try SiDataset.url("Si.apt")
        let a = try APTFile.read(src)
        XCTAssertEqual(a.sourceColumnOrder, ["tofc", "Mass", "XDet_mm", "YDet_mm", "Multiplicity", "Detector Coordinates", "Position"])
        XCTAssertEqual(a.extraColumns.map(\.name), ["Detector Coordinates"])
        XCTAssertTrue(a.tofIsCorrected)
        let dir = try makeTemporaryDirectory(self)
        let out = dir.appendingPathComponent("Si-copy.apt")
        XCTAssertEqual(try APTFile.write(a, to: out), [])
        XCTAssertTrue(FileManager.default.contentsEqual(atPath: src.path, andPath: out.path), "Si.apt → .apt is not byte-identical")
    }

    /// APAV 1.2.2 (PyPI) opens the .apt files we write, from EPOS (every column) and from Si.apt, with xyz, mass
    /// and multiplicity identical to the source it reads itself.
    func testAPAVOpensOurAPTFiles() throws {
        let epos = try SiDataset.url("Si.epos"), siAPT = try SiDataset.url("Si.apt")
        let py = try PythonVenv.python(name: "apav", packages: ["apav==1.2.2"])
        let dir = try makeTemporaryDirectory(self)
        let fromEPOS = dir.appendingPathComponent("from-epos.apt"), fromAPT = dir.appendingPathComponent("from-apt.apt")
        try APTFile.write(try EPOSFile.read(epos), to: fromEPOS)
        try APTFile.write(try APTFile.read(siAPT), to: fromAPT)
        let script = """
        import sys, warnings
        warnings.simplefilter("ignore")
        import numpy as n, apav
        src = apav.Roi.from_epos(sys.argv[1])
        for f in sys.argv[2:]:
            r = apav.Roi.from_apt(f)
            print(f.split('/')[-1], r.counts, bool((r.xyz == src.xyz).all()), bool((r.mass == src.mass).all()),
                  bool((r.misc['ipp'] == src.misc['ipp']).all()), ','.join(sorted(r.misc.keys())))
        """
        let r = try PythonVenv.run(py, script: script, [epos.path, fromEPOS.path, fromAPT.path])
        XCTAssertEqual(r.status, 0, r.output)
        let lines = r.output.split(separator: "\n").map(String.init).filter { $0.hasPrefix("from-") }
        XCTAssertEqual(lines.count, 2, r.output)
        XCTAssertTrue(lines.contains { $0.hasPrefix("from-epos.apt 945211 True True True") && $0.contains("dc_voltage")
                                       && $0.contains("pulse_voltage") && $0.contains("pulseDelta") }, r.output)
        XCTAssertTrue(lines.contains { $0.hasPrefix("from-apt.apt 945211 True True True") && $0.contains("tofc") }, r.output)
    }
}
