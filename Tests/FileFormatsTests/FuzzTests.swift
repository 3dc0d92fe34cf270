import FileFormats
import Foundation
import TwinCore
import XCTest

/// Damaged inputs must produce errors, never crashes.
final class FuzzTests: XCTestCase {
    func mutations(of data: Data, count: Int, seed: UInt64, _ body: (Data) -> Void) {
        var rng = TestRNG(seed)
        for _ in 0..<count {
            var b = [UInt8](data)
            let edits = 1 + Int(rng.next() % 4)
            for _ in 0..<edits where !b.isEmpty {
                let i = Int(rng.next() % UInt64(b.count))
                switch rng.next() % 4 {
                case 0: b[i] = UInt8(truncatingIfNeeded: rng.next())
                case 1: b.remove(at: i)
                case 2: b.insert(UInt8(32 + rng.next() % 95), at: i)   // printable ASCII
                default: b.removeSubrange(i...)                         // truncate
                }
            }
            body(Data(b))
        }
    }

    func testRRNGMutationsNeverCrash() throws {
        let table = RangeTable(ions: [RangedIon(name: "Fe", composition: [ElementCount("Fe", 1)]),
                                      RangedIon(name: "CrO", composition: [ElementCount("Cr", 1), ElementCount("O", 1)])],
                               ranges: [MassRange(lowDa: 27.85, highDa: 28.15, ionIndex: 0, volumeNM3: 0.01178),
                                        MassRange(lowDa: 33.9, highDa: 34.8, ionIndex: 1, volumeNM3: 0.04)])
        let good = try RRNGFile.encode(table)
        var ok = 0, failed = 0
        mutations(of: good, count: 3000, seed: 1) { d in
            do {
                let r = try RRNGFile.decode(d, name: "fuzz.rrng")
                for range in r.table.ranges { XCTAssertTrue(r.table.ions.indices.contains(range.ionIndex)) }
                _ = try? RRNGFile.encode(r.table)
                ok += 1
            } catch let e as TwinError {
                XCTAssertTrue(e.description.hasPrefix("fuzz.rrng"), e.description)
                failed += 1
            } catch { XCTFail("unexpected error type \(error)") }
        }
        XCTAssertGreaterThan(ok, 0); XCTAssertGreaterThan(failed, 0)
    }

    /// A table with an element, a molecule (so RNG writes a polyatomic extension) and a custom ion.
    let rangeTable = RangeTable(
        ions: [RangedIon(name: "Fe", composition: [ElementCount("Fe", 1)]),
               RangedIon(name: "CrO", composition: [ElementCount("Cr", 1), ElementCount("O", 1)]),
               RangedIon(name: "Hyd", composition: [])],
        ranges: [MassRange(lowDa: 27.85, highDa: 28.15, ionIndex: 0, volumeNM3: 0.01178, colorHex: "FF0000"),
                 MassRange(lowDa: 33.9, highDa: 34.8, ionIndex: 1, volumeNM3: 0.04, colorHex: "00FF00"),
                 MassRange(lowDa: 0.9, highDa: 3.2, ionIndex: 2, colorHex: "808080")])

    /// Decodes mutations of `good`; every outcome is a consistent table or a `TwinError` naming the file, and a
    /// table that can be written writes → reads → writes byte-identically.
    func checkRangeMutations(_ good: Data, name: String, seed: UInt64,
                             decode: (Data) throws -> RangeTable, encode: (RangeTable) throws -> Data) {
        var ok = 0, failed = 0
        mutations(of: good, count: 3000, seed: seed) { d in
            do {
                let t = try decode(d)
                for r in t.ranges {
                    XCTAssertTrue(t.ions.indices.contains(r.ionIndex))
                    XCTAssertTrue(r.lowDa >= 0 && r.lowDa <= r.highDa && r.highDa.isFinite, "\(r)")
                }
                for ion in t.ions { for e in ion.composition { XCTAssertGreaterThan(e.count, 0) } }
                if let once = try? encode(t) {
                    XCTAssertEqual(try encode(decode(once)), once, String(decoding: d, as: UTF8.self))
                }
                ok += 1
            } catch let e as TwinError {
                XCTAssertTrue(e.description.hasPrefix(name), e.description)
                failed += 1
            } catch { XCTFail("unexpected error type \(error)") }
        }
        XCTAssertGreaterThan(ok, 0); XCTAssertGreaterThan(failed, 0)
    }

    func testRNGMutationsNeverCrash() throws {
        let good = try RNGFile.encode(rangeTable).data
        checkRangeMutations(good, name: "fuzz.rng", seed: 5, decode: { try RNGFile.decode($0, name: "fuzz.rng").table },
                            encode: { try RNGFile.encode($0).data })
    }

    func testENVMutationsNeverCrash() throws {
        let good = try ENVFile.encode(rangeTable, parameters: ENVFile.Parameters(flightLengthM: 0.1, detectionEfficiency: 0.5)).data
        checkRangeMutations(good, name: "fuzz.env", seed: 6, decode: { try ENVFile.decode($0, name: "fuzz.env").table },
                            encode: { try ENVFile.encode($0).data })
    }

    func testNPYMutationsNeverCrash() throws {
        let good = try NPYFile.encode((0..<40).map { Float($0) })
        mutations(of: good, count: 3000, seed: 2) { d in
            do { _ = try NPYFile.decode(Float.self, from: d, name: "fuzz.npy") } catch let e as TwinError {
                XCTAssertTrue(e.description.hasPrefix("fuzz.npy"), e.description)
            } catch { XCTFail("unexpected error type \(error)") }
        }
    }

    func testPNGMutationsNeverCrash() throws {
        var rng = TestRNG(9)
        let good16 = try PNGFile.encode(GrayImage16(width: 16, height: 16, pixels: (0..<256).map { _ in UInt16(truncatingIfNeeded: rng.next()) }))
        let goodRGB = try PNGFile.encode(RGBImage8(width: 8, height: 8, pixels: (0..<192).map { _ in UInt8(truncatingIfNeeded: rng.next()) }))
        for good in [good16, goodRGB] {
            mutations(of: good, count: 1000, seed: 3) { d in
                do {
                    let g = try PNGFile.decode(GrayImage16.self, from: d, name: "fuzz.png")
                    XCTAssertEqual(g.pixels.count, g.width * g.height)
                    _ = try PNGFile.decode(RGBImage8.self, from: d, name: "fuzz.png")
                } catch let e as TwinError {
                    XCTAssertTrue(e.description.hasPrefix("fuzz.png"), e.description)
                } catch { XCTFail("unexpected error type \(error)") }
            }
        }
    }

    func testRecordFormatsAcceptOrRejectAnySize() {
        var rng = TestRNG(4)
        for n in 0..<200 {
            let d = Data((0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            XCTAssertEqual((try? POSFile.decode(d, name: "f.pos"))?.count, n > 0 && n % 16 == 0 ? n / 16 : nil)
            XCTAssertEqual((try? EPOSFile.decode(d, name: "f.epos", voltageUnit: .kilovolts))?.count, n > 0 && n % 44 == 0 ? n / 44 : nil)
        }
    }
}
