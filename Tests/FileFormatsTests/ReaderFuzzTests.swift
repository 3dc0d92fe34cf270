import FileFormats
import Foundation
import TwinCore
import XCTest

/// One seeded fuzz target per binary reader: structured mutations of a valid file (truncation, bit flips, size and
/// count fields overwritten with extreme values, NaN and ±inf written over float fields, runs of random bytes).
/// Every outcome must be a `TwinError` naming the file or a result that is consistent with itself (column lengths,
/// counts that match the bytes, non-finite values reported), never a crash, a hang or an absurd allocation. A few
/// hundred cases per reader keep each target to about a second.
final class ReaderFuzzTests: XCTestCase {
    enum Mutation: CaseIterable { case truncate, bitFlip, sizeField, nonFinite, randomRun }

    /// `count` mutations of `good`, each applying 1-3 structured edits.
    func structuredMutations(of good: Data, count: Int, seed: UInt64, _ body: (Data, [Mutation]) throws -> Void) rethrows {
        var rng = TestRNG(seed)
        let extremes: [UInt64] = [0, 1, 0x7f, 0xff, 0x7fff, 0xffff, 0x7fff_ffff, 0xffff_ffff, 0x8000_0000,
                                  0x7fff_ffff_ffff_ffff, 0xffff_ffff_ffff_ffff, 1 << 40]
        let nonFinite: [UInt32] = [Float.nan.bitPattern, Float.infinity.bitPattern, (-Float.infinity).bitPattern,
                                   Float.signalingNaN.bitPattern]
        for _ in 0..<count {
            var b = [UInt8](good)
            var applied: [Mutation] = []
            for _ in 0..<(1 + Int(rng.next() % 3)) where !b.isEmpty {
                let m = Mutation.allCases[Int(rng.next() % UInt64(Mutation.allCases.count))]
                applied.append(m)
                let i = Int(rng.next() % UInt64(b.count))
                switch m {
                case .truncate: b.removeSubrange(i...)
                case .bitFlip: b[i] ^= UInt8(1) << UInt8(rng.next() % 8)
                case .sizeField:
                    // An aligned 4- or 8-byte field, as header sizes and counts are.
                    let w = rng.next() % 2 == 0 ? 4 : 8
                    let at = i - i % w
                    let v = extremes[Int(rng.next() % UInt64(extremes.count))]
                    for k in 0..<w where at + k < b.count { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
                case .nonFinite:
                    let at = i - i % 4
                    let v = nonFinite[Int(rng.next() % UInt64(nonFinite.count))]
                    let bigEndian = rng.next() % 2 == 0
                    for k in 0..<4 where at + k < b.count {
                        b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(bigEndian ? 3 - k : k)))
                    }
                case .randomRun:
                    for k in i..<min(b.count, i + 1 + Int(rng.next() % 64)) { b[k] = UInt8(truncatingIfNeeded: rng.next()) }
                }
            }
            try body(Data(b), applied)
        }
    }

    /// Runs `decode`; a `TwinError` must name `name`, any other error fails. Returns the outcomes (ok, failed).
    func expectCleanOutcome<T>(_ name: String, _ decode: () throws -> T, check: (T) -> Void) -> (Int, Int) {
        do { check(try decode()); return (1, 0) } catch let e as TwinError {
            XCTAssertTrue(e.description.contains(name), e.description)
            return (0, 1)
        } catch {
            XCTFail("\(name): unexpected error type \(error)")
            return (0, 1)
        }
    }

    func assertConsistent(_ a: Acquisition, _ what: String) {
        XCTAssertNoThrow(try a.validateColumns(), what)
        let floats = [a.xNM, a.yNM, a.zNM, a.massToChargeDa, a.tofNS, a.vDCV, a.vPulseV, a.detectorXMM, a.detectorYMM]
        if floats.contains(where: { $0.contains { !$0.isFinite } }) {
            XCTAssertTrue(a.notes.contains { $0.contains("non-finite") }, "\(what): non-finite values without a note")
        }
    }

    func sampleAcquisition(_ n: Int) -> Acquisition {
        var a = Acquisition()
        var rng = TestRNG(21)
        func col() -> [Float] { (0..<n).map { _ in Float(rng.next() % 10_000) / 100 } }
        a.xNM = col(); a.yNM = col(); a.zNM = col(); a.massToChargeDa = col(); a.tofNS = col(); a.vDCV = col()
        a.vPulseV = col(); a.detectorXMM = col(); a.detectorYMM = col()
        a.multiplicity = (0..<n).map { UInt32($0 % 2) }; a.pulsesSincePrevious = (0..<n).map { UInt32($0 % 5) }
        return a
    }

    func testAPTMutations() throws {
        let dir = try makeTemporaryDirectory(self)
        let good = APTFile.encode(sections: APTFile.sections(of: sampleAcquisition(6)).sections, ionCount: 6)
        let url = dir.appendingPathComponent("fuzz.apt")
        var ok = 0, failed = 0
        try structuredMutations(of: good, count: 400, seed: 31) { d, m in
            try d.write(to: url)
            let (o, f) = expectCleanOutcome("fuzz.apt", { try APTFile.read(url) }) { a in
                assertConsistent(a, "APT \(m)")
                if let lay = try? APTFile.layout(url) { XCTAssertTrue(a.count == lay.ionCount || a.count == 0, "APT \(m)") }
            }
            ok += o; failed += f
        }
        XCTAssertGreaterThan(ok, 0); XCTAssertGreaterThan(failed, 0)
    }

    func testPOSAndEPOSMutations() throws {
        let a = sampleAcquisition(8)
        var ok = 0, failed = 0
        structuredMutations(of: try POSFile.encode(a), count: 300, seed: 32) { d, m in
            let (o, f) = expectCleanOutcome("fuzz.pos", { try POSFile.decode(d, name: "fuzz.pos") }) { r in
                assertConsistent(r, "POS \(m)"); XCTAssertEqual(r.count * 16, d.count)
            }
            ok += o; failed += f
        }
        structuredMutations(of: try EPOSFile.encode(a), count: 300, seed: 33) { d, m in
            let (o, f) = expectCleanOutcome("fuzz.epos", { try EPOSFile.decode(d, name: "fuzz.epos") }) { r in
                assertConsistent(r, "EPOS \(m)"); XCTAssertEqual(r.count * 44, d.count)
            }
            ok += o; failed += f
        }
        XCTAssertGreaterThan(ok, 0); XCTAssertGreaterThan(failed, 0)
    }

    func testRawEventMutations() throws {
        let events = (0..<6).map { i in RawEvent(baseV: 5000, pulseV: 1000, reflectronV: 0, xMM: Float(i), yMM: -Float(i),
                                                 tofNS: 400 + Float(i), epoch: 1, pulse: UInt32(i)) }
        var ok = 0, failed = 0
        structuredMutations(of: RawEventFile.encode(events), count: 300, seed: 34) { d, _ in
            let (o, f) = expectCleanOutcome("fuzz.raw", { try RawEventFile.decode(d, name: "fuzz.raw") }) { r in
                XCTAssertEqual(r.count * 32, d.count)
                XCTAssertTrue(r.allSatisfy { $0.baseV.isFinite && $0.tofNS.isFinite && $0.xMM.isFinite })
            }
            ok += o; failed += f
        }
        XCTAssertGreaterThan(ok, 0); XCTAssertGreaterThan(failed, 0)
    }

    func testTIFFMutations() throws {
        var rng = TestRNG(35)
        let good = try TIFFFile.encode16((0..<64).map { _ in UInt16(truncatingIfNeeded: rng.next()) }, width: 8, height: 8)
        var ok = 0, failed = 0
        structuredMutations(of: good, count: 400, seed: 36) { d, _ in
            let (o, f) = expectCleanOutcome("fuzz.tif", { try TIFFFile.decode(d, name: "fuzz.tif") }) { r in
                XCTAssertEqual(r.pixels.count, r.width * r.height)
                XCTAssertLessThanOrEqual(r.width * r.height, d.count * 8)   // no pixel data invented beyond the file
            }
            ok += o; failed += f
        }
        XCTAssertGreaterThan(ok, 0); XCTAssertGreaterThan(failed, 0)
    }

    func testNPYHeaderMutations() throws {
        let dir = try makeTemporaryDirectory(self)
        let good = try NPYFile.encode((0..<40).map { Float($0) })
        let url = dir.appendingPathComponent("fuzz.npy")
        var ok = 0, failed = 0
        try structuredMutations(of: good, count: 400, seed: 37) { d, _ in
            try d.write(to: url)
            // describe (what `info` prints) must agree with what decode accepts.
            let described = try? NPYFile.describe(url)
            let (o, f) = expectCleanOutcome("fuzz.npy", { try NPYFile.decode(Float.self, from: d, name: "fuzz.npy") }) { r in
                XCTAssertEqual(r.values.count, r.shape.reduce(1, *))
                XCTAssertNotNil(described, "decode accepted a file describe refuses")
            }
            ok += o; failed += f
            if let described {
                XCTAssertGreaterThanOrEqual(d.count, described.shape.reduce(1) { $0 * $1 }, "describe claims more than the file holds")
            }
        }
        XCTAssertGreaterThan(ok, 0); XCTAssertGreaterThan(failed, 0)
    }
}
