import FileFormats
import Foundation
import TwinCore
import XCTest

final class POSEPOSTests: XCTestCase {
    /// A full acquisition with awkward values (NaN, ±0, ±inf, subnormals) in every float column.
    func sampleAcquisition(_ n: Int, seed: UInt64 = 1) -> Acquisition {
        var rng = TestRNG(seed)
        var a = Acquisition()
        let specials: [Float] = [.nan, -0.0, 0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        func col(_ lo: Float, _ hi: Float) -> [Float] {
            (0..<n).map { i in i < specials.count ? specials[(i + Int(lo.magnitude)) % specials.count] : rng.float(lo, hi) }
        }
        a.xNM = col(-30, 30); a.yNM = col(-30, 30); a.zNM = col(-200, 0); a.massToChargeDa = col(0, 120)
        a.tofNS = col(100, 2000); a.vDCV = col(2000, 15000); a.vPulseV = col(0, 3000)
        a.detectorXMM = col(-40, 40); a.detectorYMM = col(-40, 40)
        a.pulsesSincePrevious = (0..<n).map { _ in UInt32(truncatingIfNeeded: rng.next() % 5000) }
        a.multiplicity = (0..<n).map { i in i == 3 ? UInt32.max : UInt32(rng.next() % 3) }  // −1 as Int32 too
        return a
    }

    func bits(_ a: [Float]) -> [UInt32] { a.map(\.bitPattern) }

    func testPOSRoundTripIsBitExact() throws {
        let a = sampleAcquisition(5000)
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("sample.pos")
        try POSFile.write(a, to: url)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int, 5000 * 16)
        let b = try POSFile.read(url)
        XCTAssertEqual(b.count, 5000)
        XCTAssertEqual(bits(b.xNM), bits(a.xNM)); XCTAssertEqual(bits(b.yNM), bits(a.yNM))
        XCTAssertEqual(bits(b.zNM), bits(a.zNM)); XCTAssertEqual(bits(b.massToChargeDa), bits(a.massToChargeDa))
        XCTAssertTrue(b.tofNS.isEmpty && b.detectorXMM.isEmpty && b.multiplicity.isEmpty)
        XCTAssertEqual(try POSFile.encode(b), try Data(contentsOf: url))
        // Layout: big-endian float32, x y z m.
        let d = try POSFile.encode(a)
        let x1 = UInt32(d[16]) << 24 | UInt32(d[17]) << 16 | UInt32(d[18]) << 8 | UInt32(d[19])
        XCTAssertEqual(x1, a.xNM[1].bitPattern)
        let m2 = UInt32(d[44]) << 24 | UInt32(d[45]) << 16 | UInt32(d[46]) << 8 | UInt32(d[47])
        XCTAssertEqual(m2, a.massToChargeDa[2].bitPattern)
    }

    func testPOSToEPOSToPOSIsByteIdentical() throws {
        let pos = try POSFile.encode(sampleAcquisition(3000, seed: 7))
        let a = try POSFile.decode(pos, name: "in.pos")
        let dir = try makeTemporaryDirectory(self)
        let eposURL = dir.appendingPathComponent("conv.epos")
        try EPOSFile.write(a, to: eposURL, fillMissingWithZeros: true)
        let e = try EPOSFile.read(eposURL)
        XCTAssertEqual(e.count, 3000)
        XCTAssertTrue(e.tofNS.allSatisfy { $0.bitPattern == 0 } && e.multiplicity.allSatisfy { $0 == 0 })
        let posURL = dir.appendingPathComponent("back.pos")
        try POSFile.write(e, to: posURL)
        XCTAssertEqual(try Data(contentsOf: posURL), pos)
    }

    func testEPOSWriteReadWriteIsByteIdenticalInBothUnits() throws {
        let a = sampleAcquisition(4000, seed: 3)
        let dir = try makeTemporaryDirectory(self)
        for unit in EPOSVoltageUnit.allCases {
            let url = dir.appendingPathComponent("a-\(unit).epos")
            try EPOSFile.write(a, to: url, voltageUnit: unit)
            let first = try Data(contentsOf: url)
            XCTAssertEqual(first.count, 4000 * 44)
            let b = try EPOSFile.read(url, voltageUnit: unit)
            let second = try EPOSFile.encode(b, voltageUnit: unit)
            XCTAssertEqual(first, second, "write→read→write differs for \(unit)")
            XCTAssertEqual(bits(b.xNM), bits(a.xNM)); XCTAssertEqual(bits(b.tofNS), bits(a.tofNS))
            XCTAssertEqual(bits(b.detectorYMM), bits(a.detectorYMM))
            XCTAssertEqual(b.pulsesSincePrevious, a.pulsesSincePrevious); XCTAssertEqual(b.multiplicity, a.multiplicity)
            // The stored V_DC of record 10 (offset 10·44 + 20) is in the requested unit.
            let o = 10 * 44 + 20
            let raw = Float(bitPattern: UInt32(first[o]) << 24 | UInt32(first[o + 1]) << 16
                            | UInt32(first[o + 2]) << 8 | UInt32(first[o + 3]))
            let expected = unit == .volts ? a.vDCV[10] : Float(Double(a.vDCV[10]) / 1000)
            XCTAssertEqual(raw, expected)
            // Volts always in memory: a kV read is within a Float rounding of the original volts.
            XCTAssertEqual(b.vDCV[10], a.vDCV[10], accuracy: a.vDCV[10].ulp * 2)
        }
    }

    func testEPOSReadWriteOfArbitraryBytesIsIdentity() throws {
        var rng = TestRNG(99)
        var bytes = [UInt8](repeating: 0, count: 44 * 777)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
        let data = Data(bytes)
        let a = try EPOSFile.decode(data, name: "random.epos")
        XCTAssertEqual(try EPOSFile.encode(a), data)
    }

    func testEPOSAndPOSWriteRefuseMissingColumns() throws {
        let pos = try POSFile.decode(POSFile.encode(sampleAcquisition(10)), name: "x.pos")
        assertThrowsMessage(["cannot write EPOS", "tof_ns", "detector_x_mm", "fillMissingWithZeros"]) {
            try EPOSFile.encode(pos)
        }
        var onlyTOF = Acquisition()
        onlyTOF.tofNS = [1, 2, 3]
        assertThrowsMessage(["cannot write POS", "x_nm", "mass_to_charge_da"]) { try POSFile.encode(onlyTOF) }
        assertThrowsMessage(["no ions"]) { try POSFile.encode(Acquisition()) }
        var ragged = sampleAcquisition(10)
        ragged.yNM.removeLast()
        XCTAssertThrowsError(try POSFile.encode(ragged))
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("never.pos")
        XCTAssertThrowsError(try POSFile.write(onlyTOF, to: url))
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "temporary file left behind")
    }

    func testTruncatedPOSReportsNameAndOffset() throws {
        let data = Data(count: 1000)
        assertThrowsMessage(["Si.pos: size 1000 is not a multiple of 16 bytes (16 B per ion); trailing 8 bytes at byte offset 992"]) {
            try POSFile.decode(data, name: "Si.pos")
        }
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("cut.pos")
        try Data(count: 16 * 100 + 5).write(to: url)
        assertThrowsMessage(["cut.pos", "1605", "trailing 5 bytes at byte offset 1600"]) { try POSFile.read(url) }
    }

    func testOddSizedEPOSReportsNameAndOffset() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("odd.epos")
        try Data(count: 44 * 3 + 7).write(to: url)
        assertThrowsMessage(["odd.epos", "not a multiple of 44 bytes", "trailing 7 bytes at byte offset 132"]) {
            try EPOSFile.read(url)
        }
        // A POS file given as EPOS is usually caught the same way.
        assertThrowsMessage(["run.epos", "44"]) { try EPOSFile.decode(Data(count: 16 * 10), name: "run.epos") }
    }

    func testEmptyAndMissingFiles() throws {
        let dir = try makeTemporaryDirectory(self)
        let empty = dir.appendingPathComponent("empty.pos")
        try Data().write(to: empty)
        assertThrowsMessage(["empty.pos", "empty file (0 bytes)"]) { try POSFile.read(empty) }
        assertThrowsMessage(["e.epos", "empty file"]) { try EPOSFile.decode(Data(), name: "e.epos") }
        assertThrowsMessage(["nothere.pos", "cannot open"]) { try POSFile.read(dir.appendingPathComponent("nothere.pos")) }
        assertThrowsMessage(["is a directory"]) { try EPOSFile.read(dir) }
    }
}
