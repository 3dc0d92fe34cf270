import CHDF5
import FileFormats
import Foundation
import NeXus
import TestDatasets
import TwinCore
import XCTest

/// The shared seeded generator (SplitMix64), so the synthetic data and the fuzz cases are the same on every run.
typealias SeededRNG = SplitMix64

func temporaryDirectory(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aptwin-nexus-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

/// An acquisition with every column, the full instrument, a range table with a molecule, an ion whose name is
/// not in hash order and a custom ion, and the simulation group.
func sampleDocument(ions n: Int = 1000, seed: UInt64 = 7) -> NXapmDocument {
    var rng = SeededRNG(seed)
    var a = Acquisition()
    for _ in 0..<n {
        a.xNM.append(rng.float(-20, 20)); a.yNM.append(rng.float(-20, 20)); a.zNM.append(rng.float(-60, 0))
        a.massToChargeDa.append(rng.float(0.5, 120)); a.tofNS.append(rng.float(100, 2000))
        a.vDCV.append(rng.float(3000, 6000)); a.vPulseV.append(rng.float(600, 1200))
        a.detectorXMM.append(rng.float(-21, 21)); a.detectorYMM.append(rng.float(-21, 21))
        a.pulsesSincePrevious.append(UInt32(rng.next() % 5000)); a.multiplicity.append(UInt32(rng.next() % 3))
    }
    a.instrument = InstrumentParameters(flightPathMM: 470, detectorDiameterMM: 42, detectionEfficiency: 0.5,
                                        pulseFraction: 0.2, pulseFrequencyHz: 20_000, temperatureK: 78)
    let table = RangeTable(
        ions: [RangedIon(name: "Fe", composition: [ElementCount("Fe", 1)]),
               RangedIon(name: "Cr2O", composition: [ElementCount("Cr", 2), ElementCount("O", 1)]),
               RangedIon(name: "CO", composition: [ElementCount("C", 1), ElementCount("O", 1)]),
               RangedIon(name: "Unknown1", composition: [])],
        ranges: [MassRange(lowDa: 27.85, highDa: 28.15, ionIndex: 0, volumeNM3: 0.01178),
                 MassRange(lowDa: 55.8, highDa: 56.2, ionIndex: 0, volumeNM3: 0.01178),
                 MassRange(lowDa: 119.9, highDa: 120.1, ionIndex: 1),
                 MassRange(lowDa: 27.98, highDa: 27.99, ionIndex: 2),
                 MassRange(lowDa: 13.97, highDa: 14.01, ionIndex: 2),
                 MassRange(lowDa: 99, highDa: 99.5, ionIndex: 3)])
    return NXapmDocument(acquisition: a, ranges: table,
                         simulation: NXapmSimulation(scenarioText: "{\"specimen\": {\"apex_radius_nm\": 10}}\nµ ✓", seed: 42, programVersion: "0.1.0"),
                         startTime: "2026-11-26T10:00:00+00:00", endTime: "2026-11-26T10:05:00+00:00",
                         description: "unit test", atomTypes: ["Fe", "Cr", "O", "C"])
}

/// The range table as the reader returns it: ranges grouped by ion (stable), colours at the default.
func normalised(_ t: RangeTable) -> RangeTable {
    var out = t
    out.ranges = t.ranges.enumerated().sorted { ($0.element.ionIndex, $0.offset) < ($1.element.ionIndex, $1.offset) }
        .map { MassRange(lowDa: $0.element.lowDa, highDa: $0.element.highDa, ionIndex: $0.element.ionIndex, volumeNM3: $0.element.volumeNM3) }
    return out
}

final class NXapmRoundTripTests: XCTestCase {
    func testDocumentRoundTripsExactly() throws {
        let dir = try temporaryDirectory(self)
        let doc = sampleDocument()
        let url = dir.appendingPathComponent("sample.nxs")
        try NXapmFile.write(doc, to: url, version: "0.1.0")
        var back = try NXapmFile.read(url)
        XCTAssertEqual(back.acquisition.notes, [])
        back.acquisition.notes = []
        XCTAssertEqual(back.acquisition, doc.acquisition)
        XCTAssertEqual(back.ranges, normalised(doc.ranges!))
        XCTAssertEqual(back.simulation, doc.simulation)
        XCTAssertEqual(back.startTime, doc.startTime)
        XCTAssertEqual(back.endTime, doc.endTime)
        XCTAssertEqual(back.description, doc.description)
        XCTAssertEqual(back.atomTypes, doc.atomTypes)
        // No temporary file is left beside the output.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["sample.nxs"])
    }

    func testPartialAcquisitionKeepsUnknownsUnknown() throws {
        var a = Acquisition()
        a.massToChargeDa = [1, 2, 28]
        a.vDCV = [5000, 5001, 5002]
        a.instrument.flightPathMM = 100
        let url = try temporaryDirectory(self).appendingPathComponent("partial.nxs")
        try NXapmFile.write(NXapmDocument(acquisition: a), to: url, version: "0.1.0")
        var back = try NXapmFile.read(url)
        back.acquisition.notes = []
        XCTAssertEqual(back.acquisition, a)   // NaN placeholders (pulse frequency, temperature) read back as nil
        XCTAssertNil(back.ranges)
        XCTAssertNil(back.simulation)
        XCTAssertEqual(back.startTime, NXapmFile.unknownTime)
    }

    func testSameDocumentGivesByteIdenticalFiles() throws {
        let dir = try temporaryDirectory(self)
        let doc = sampleDocument()
        let u1 = dir.appendingPathComponent("a.nxs"), u2 = dir.appendingPathComponent("b.nxs")
        try NXapmFile.write(doc, to: u1, version: "0.1.0")
        Thread.sleep(forTimeInterval: 1.1)   // object time stamps, if any were stored, would now differ
        try NXapmFile.write(doc, to: u2, version: "0.1.0")
        XCTAssertEqual(try Data(contentsOf: u1), try Data(contentsOf: u2))
        XCTAssertEqual(try NXapmFile.encode(doc, version: "0.1.0"), try Data(contentsOf: u1))
    }

    func testExtremeValuesWrite() throws {
        var a = Acquisition()
        a.massToChargeDa = [1e30, -5, .nan, 28]
        a.xNM = [1e30, -1e30, .nan, 0]; a.yNM = [0, 0, 0, 0]; a.zNM = [0, -3e20, 1, .infinity]
        a.detectorXMM = [1, 2, 3, 4]   // no y: hit positions are not written
        let url = try temporaryDirectory(self).appendingPathComponent("extreme.nxs")
        try NXapmFile.write(NXapmDocument(acquisition: a), to: url, version: "0.1.0")
        let b = try NXapmFile.read(url).acquisition
        XCTAssertTrue(b.massToChargeDa.elementsEqual(a.massToChargeDa) { $0.bitPattern == $1.bitPattern })
        XCTAssertTrue(b.zNM.elementsEqual(a.zNM) { $0.bitPattern == $1.bitPattern })
        XCTAssertEqual(b.detectorXMM, [])
    }

    func testMismatchedColumnsAreRefusedOnWrite() throws {
        var a = Acquisition()
        a.massToChargeDa = [1, 2, 3]
        a.tofNS = [1, 2]
        XCTAssertThrowsError(try NXapmFile.encode(NXapmDocument(acquisition: a), version: "0", name: "bad.nxs")) { e in
            guard case TwinError.invalidInput(let m) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(m.hasPrefix("bad.nxs:"), m)
        }
    }
}

final class NXapmSiDatasetTests: XCTestCase {
    func testSiEPOSConvertsToNXapmAndBack() throws {
        let epos: Acquisition
        let table: RangeTable
        do {
            epos = try EPOSFile.read(SiDataset.url("Si.epos"))
            table = try RangeFile.read(SiDataset.url("Si.RRNG")).table
        } catch let e as XCTSkip { throw e }
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("Si.nxs")
        var doc = NXapmDocument(acquisition: epos, ranges: table, description: "converted by aptwin from Si.epos")
        doc.acquisition.notes = []
        try NXapmFile.write(doc, to: url, version: "0.1.0")
        let back = try NXapmFile.read(url)
        let b = back.acquisition
        XCTAssertEqual(b.count, SiDataset.ionCount)
        for (x, y, name) in [(b.xNM, epos.xNM, "x"), (b.yNM, epos.yNM, "y"), (b.zNM, epos.zNM, "z"),
                             (b.massToChargeDa, epos.massToChargeDa, "m/n"), (b.tofNS, epos.tofNS, "tof"),
                             (b.detectorXMM, epos.detectorXMM, "det x"), (b.detectorYMM, epos.detectorYMM, "det y"),
                             (b.vDCV, epos.vDCV, "V_DC"), (b.vPulseV, epos.vPulseV, "V_p")] {
            XCTAssertTrue(x.elementsEqual(y) { $0.bitPattern == $1.bitPattern }, "\(name) differs after the NXapm round trip")
        }
        XCTAssertEqual(b.multiplicity, epos.multiplicity)
        XCTAssertEqual(b.pulsesSincePrevious, epos.pulsesSincePrevious)
        XCTAssertEqual(back.ranges, normalised(table))
        XCTAssertEqual(back.ranges?.ions.map(\.name), ["Si", "Cr", "Cu", "C", "O", "CrO", "CrO2", "Cr2O"])
        // Back to EPOS: byte-identical to the original file.
        let again = dir.appendingPathComponent("Si-again.epos")
        try EPOSFile.write(b, to: again)
        XCTAssertEqual(try SHA256.hex(fileAt: again), SiDataset.sha256["Si.epos"])
    }
}

/// Writes HDF5 files by hand (the C API), to make valid HDF5 that is not valid NXapm.
enum HandMadeHDF5 {
    static func withFile(_ url: URL, _ body: (hid_t) -> Void) {
        aptwin_h5_silence_errors()
        let f = H5Fcreate(url.path, aptwin_h5f_acc_trunc(), aptwin_h5p_default(), aptwin_h5p_default())
        precondition(f >= 0)
        body(f)
        H5Fclose(f)
    }

    static func group(_ f: hid_t, _ path: String, _ nxClass: String) {
        let g = H5Gcreate2(f, path, aptwin_h5p_default(), aptwin_h5p_default(), aptwin_h5p_default())
        H5Gclose(g)
        stringAttribute(f, path, "NX_class", nxClass)
    }

    static func stringAttribute(_ f: hid_t, _ path: String, _ name: String, _ value: String) {
        let t = H5Tcopy(aptwin_h5t_c_s1()); H5Tset_size(t, value.utf8.count)
        let s = H5Screate(H5S_SCALAR)
        let a = H5Acreate_by_name(f, path, name, t, s, aptwin_h5p_default(), aptwin_h5p_default(), aptwin_h5p_default())
        _ = value.withCString { H5Awrite(a, t, $0) }
        H5Aclose(a); H5Sclose(s); H5Tclose(t)
    }

    /// A fixed-length string dataset (h5py's `np.bytes_`), to check that the reader takes both string kinds.
    static func string(_ f: hid_t, _ path: String, _ value: String) {
        let t = H5Tcopy(aptwin_h5t_c_s1()); H5Tset_size(t, value.utf8.count)
        let s = H5Screate(H5S_SCALAR)
        let d = H5Dcreate2(f, path, t, s, aptwin_h5p_default(), aptwin_h5p_default(), aptwin_h5p_default())
        _ = value.withCString { H5Dwrite(d, t, aptwin_h5s_all(), aptwin_h5s_all(), aptwin_h5p_default(), $0) }
        H5Dclose(d); H5Sclose(s); H5Tclose(t)
    }

    static func floats(_ f: hid_t, _ path: String, _ v: [Float], shape: [Int], type: hid_t = aptwin_h5t_ieee_f32le(), memType: hid_t = aptwin_h5t_native_float(), units: String) {
        var dims = shape.map { hsize_t($0) }
        let s = H5Screate_simple(Int32(dims.count), &dims, nil)
        let d = H5Dcreate2(f, path, type, s, aptwin_h5p_default(), aptwin_h5p_default(), aptwin_h5p_default())
        _ = v.withUnsafeBytes { H5Dwrite(d, aptwin_h5t_native_float(), aptwin_h5s_all(), aptwin_h5s_all(), aptwin_h5p_default(), $0.baseAddress) }
        H5Dclose(d); H5Sclose(s)
        stringAttribute(f, path, "units", units)
    }

    /// A minimal NXapm entry whose datasets the caller chooses.
    static func entry(_ url: URL, definition: String = "NXapm", _ body: (hid_t) -> Void) {
        withFile(url) { f in
            group(f, "/entry1", "NXentry")
            string(f, "/entry1/definition", definition)
            group(f, "/entry1/atom_probe", "NXroi_process")
            group(f, "/entry1/atom_probe/mass_to_charge_conversion", "NXprocess")
            group(f, "/entry1/atom_probe/reconstruction", "NXapm_reconstruction")
            body(f)
        }
    }
}

final class NXapmBadInputTests: XCTestCase {
    func assertInvalid(_ url: URL, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try NXapmFile.read(url), file: file, line: line) { e in
            guard case TwinError.invalidInput(let m) = e else { return XCTFail("not invalidInput: \(e)", file: file, line: line) }
            XCTAssertTrue(m.hasPrefix(url.path + ":"), m, file: file, line: line)
            for f in fragments { XCTAssertTrue(m.contains(f), "'\(m)' lacks '\(f)'", file: file, line: line) }
        }
    }

    func testRandomBytesAndTruncationAreNotHDF5() throws {
        let dir = try temporaryDirectory(self)
        var rng = SeededRNG(3)
        let junk = dir.appendingPathComponent("junk.nxs")
        try Data((0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }).write(to: junk)
        assertInvalid(junk, ["not an HDF5 file"])
        let empty = dir.appendingPathComponent("empty.nxs")
        try Data().write(to: empty)
        assertInvalid(empty, [])
        let good = try NXapmFile.encode(sampleDocument(), version: "0.1.0")
        for cut in [8, 512, good.count / 2, good.count - 1] {
            let t = dir.appendingPathComponent("truncated-\(cut).nxs")
            try good.prefix(cut).write(to: t)
            assertInvalid(t, [])
        }
        XCTAssertThrowsError(try NXapmFile.read(dir.appendingPathComponent("missing.nxs")))
    }

    func testHDF5WithoutNXapmIsRefused() throws {
        let dir = try temporaryDirectory(self)
        let plain = dir.appendingPathComponent("plain.nxs")
        HandMadeHDF5.withFile(plain) { f in HandMadeHDF5.group(f, "/data", "NXcollection") }
        assertInvalid(plain, ["no NXentry"])
        let other = dir.appendingPathComponent("other.nxs")
        HandMadeHDF5.entry(other, definition: "NXem") { _ in }
        assertInvalid(other, ["/entry1/definition", "'NXem'", "expected 'NXapm'"])
        let nodef = dir.appendingPathComponent("nodef.nxs")
        HandMadeHDF5.withFile(nodef) { f in HandMadeHDF5.group(f, "/entry", "NXentry") }
        assertInvalid(nodef, ["/entry/definition", "missing"])
        let empty = dir.appendingPathComponent("noions.nxs")
        HandMadeHDF5.entry(empty) { _ in }
        assertInvalid(empty, ["/entry1/atom_probe", "no per-ion data"])
    }

    func testShapesTypesAndUnitsAreChecked() throws {
        let dir = try temporaryDirectory(self)
        let mc = "/entry1/atom_probe/mass_to_charge_conversion/mass_to_charge"
        let rp = "/entry1/atom_probe/reconstruction/reconstructed_positions"
        // Fixed-length definition string, float32 masses in Da and positions in Å: accepted and converted.
        let ok = dir.appendingPathComponent("ok.nxs")
        HandMadeHDF5.entry(ok) { f in
            HandMadeHDF5.floats(f, mc, [1, 2], shape: [2], units: "Da")
            HandMadeHDF5.floats(f, rp, [10, 20, 30, 40, 50, 60], shape: [2, 3], units: "angstrom")
        }
        let a = try NXapmFile.read(ok).acquisition
        XCTAssertEqual(a.massToChargeDa, [1, 2])
        XCTAssertEqual(a.xNM, [1, 4]); XCTAssertEqual(a.zNM, [3, 6])

        let rows = dir.appendingPathComponent("rows.nxs")
        HandMadeHDF5.entry(rows) { f in
            HandMadeHDF5.floats(f, mc, [1, 2, 3], shape: [3], units: "Da")
            HandMadeHDF5.floats(f, rp, [1, 2, 3, 4, 5, 6], shape: [2, 3], units: "nm")
        }
        assertInvalid(rows, [mc, "has 3 rows", "has 2"])

        let shape = dir.appendingPathComponent("shape.nxs")
        HandMadeHDF5.entry(shape) { f in HandMadeHDF5.floats(f, rp, [1, 2, 3, 4, 5, 6], shape: [3, 2], units: "nm") }
        assertInvalid(shape, [rp, "shape [3, 2]", "expected [n, 3]"])

        let dtype = dir.appendingPathComponent("dtype.nxs")
        HandMadeHDF5.entry(dtype) { f in
            HandMadeHDF5.floats(f, mc, [1, 2], shape: [2], type: aptwin_h5t_std_i32le(), units: "Da")
        }
        assertInvalid(dtype, [mc, "wrong data type", "integer"])

        let text = dir.appendingPathComponent("text.nxs")
        HandMadeHDF5.entry(text) { f in HandMadeHDF5.string(f, mc, "28.0") }
        assertInvalid(text, [mc, "wrong data type", "string"])

        let unit = dir.appendingPathComponent("unit.nxs")
        HandMadeHDF5.entry(unit) { f in HandMadeHDF5.floats(f, mc, [1, 2], shape: [2], units: "furlong") }
        assertInvalid(unit, [mc, "'furlong'"])
    }
}

final class NXapmFuzzTests: XCTestCase {
    /// Truncations, bit flips and overwritten blocks of a small valid file: every case reads or fails with
    /// `TwinError.invalidInput` naming the file, never crashes. `APTWIN_FUZZ_CASES` / `APTWIN_FUZZ_SEED` run a
    /// longer campaign (default 300 cases, seed 2026).
    func testMutationsNeverCrash() throws {
        let dir = try temporaryDirectory(self)
        let good = try NXapmFile.encode(sampleDocument(ions: 40, seed: 11), version: "0.1.0")
        let env = ProcessInfo.processInfo.environment
        let cases = Int(env["APTWIN_FUZZ_CASES"] ?? "") ?? 300
        var rng = SeededRNG(UInt64(env["APTWIN_FUZZ_SEED"] ?? "") ?? 2026)
        var read = 0, refused = 0
        let url = dir.appendingPathComponent("fuzz.nxs")
        let keep = env["APTWIN_FUZZ_KEEP"]   // a directory: every case is also written there (to replay one)
        for k in 0..<cases {
            var b = [UInt8](good)
            switch rng.next() % 3 {
            case 0:
                b.removeSubrange(Int(rng.next() % UInt64(b.count))...)
            case 1:
                for _ in 0..<(1 + Int(rng.next() % 8)) {
                    let i = Int(rng.next() % UInt64(b.count))
                    b[i] ^= UInt8(1) << UInt8(rng.next() % 8)
                }
            default:
                let i = Int(rng.next() % UInt64(b.count)), len = min(b.count - i, 1 + Int(rng.next() % 64))
                for k in i..<(i + len) { b[k] = UInt8(truncatingIfNeeded: rng.next()) }
            }
            try Data(b).write(to: url)
            if let keep { try Data(b).write(to: URL(fileURLWithPath: keep).appendingPathComponent("case-\(k).nxs")) }
            do {
                let d = try NXapmFile.read(url)
                try d.acquisition.validateColumns()
                read += 1
            } catch let e as TwinError {
                guard case .invalidInput(let m) = e else { return XCTFail("not invalidInput: \(e)") }
                XCTAssertTrue(m.hasPrefix(url.path), m)
                refused += 1
            }
        }
        XCTAssertEqual(read + refused, cases)
        XCTAssertGreaterThan(refused, 0)
        print("NXapm fuzz: \(read) read, \(refused) refused")
    }
}
