import FileFormats
import Foundation
import TwinCore
import XCTest

/// Damaged ATO, DM3/DM4 and MRC inputs: every outcome is a valid result or a `TwinError` naming the file, never a
/// crash or an absurd allocation. Seeded, a few hundred cases per reader.
final class MicroscopeFuzzTests: XCTestCase {
    enum Edit: CaseIterable { case truncate, flipBit, randomByte, sizeField, nanInf, randomRun }

    /// Mutations of `good`: truncation, bit flips, random bytes, a 4/8-byte field overwritten with a huge, zero or
    /// negative size, a NaN/Inf float, a run of random bytes. `sizeOffsets` are positions of known size fields.
    func mutations(of good: Data, count: Int, seed: UInt64, sizeOffsets: [Int], _ body: (Data) -> Void) {
        var rng = TestRNG(seed)
        for _ in 0..<count {
            var b = [UInt8](good)
            for _ in 0..<(1 + Int(rng.next() % 3)) where !b.isEmpty {
                let i = Int(rng.next() % UInt64(b.count))
                switch Edit.allCases[Int(rng.next() % UInt64(Edit.allCases.count))] {
                case .truncate: b.removeSubrange(i...)
                case .flipBit: b[i] ^= UInt8(1 << (rng.next() % 8))
                case .randomByte: b[i] = UInt8(truncatingIfNeeded: rng.next())
                case .sizeField:
                    let at = sizeOffsets.isEmpty || rng.next() % 3 == 0 ? i : sizeOffsets[Int(rng.next() % UInt64(sizeOffsets.count))]
                    let values: [UInt64] = [0, 1, 0xFFFF_FFFF, 0x7FFF_FFFF, 0x8000_0000, UInt64.max, 1 << 40, UInt64(b.count)]
                    let v = values[Int(rng.next() % UInt64(values.count))]
                    let width = rng.next() % 2 == 0 ? 4 : 8
                    for k in 0..<width where at + k < b.count {
                        b[at + k] = UInt8(truncatingIfNeeded: rng.next() % 2 == 0 ? v >> (8 * (width - 1 - k)) : v >> (8 * k))
                    }
                case .nanInf:
                    let f: [UInt32] = [0x7FC0_0000, 0x7F80_0000, 0xFF80_0000, 0x0000_0001]
                    let v = f[Int(rng.next() % 4)]
                    for k in 0..<4 where i + k < b.count { b[i + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) }
                case .randomRun:
                    for k in 0..<Int(1 + rng.next() % 64) where i + k < b.count { b[i + k] = UInt8(truncatingIfNeeded: rng.next()) }
                }
            }
            body(Data(b))
        }
    }

    func run(_ good: Data, name: String, seed: UInt64, count: Int = 400, sizeOffsets: [Int], _ decode: (Data) throws -> Void) {
        var ok = 0, failed = 0
        mutations(of: good, count: count, seed: seed, sizeOffsets: sizeOffsets) { d in
            do { try decode(d); ok += 1 } catch let e as TwinError {
                XCTAssertTrue(e.description.hasPrefix(name), e.description); failed += 1
            } catch { XCTFail("unexpected error type \(error)") }
        }
        XCTAssertGreaterThan(ok, 0, name); XCTAssertGreaterThan(failed, 0, name)
    }

    func testATOMutations() throws {
        let v3 = ATOEncoder.v3((0..<40).map(ATOEncoder.record), little: true)
        run(v3, name: "fuzz.ato", seed: 11, sizeOffsets: [4]) { d in
            let a = try ATOFile.decode(d, name: "fuzz.ato")
            XCTAssertEqual(a.xNM.count, a.massToChargeDa.count)
            XCTAssertFalse(a.notes.isEmpty)
        }
        var recs: [(x: Int16, y: Int16, z: Float, mn: Float)] = []
        for i in 0..<40 { recs.append((Int16(i), Int16(-i), Float(-i), 27.9 + Float(i))) }
        let v5 = ATOEncoder.v5(recs, little: false)
        run(v5, name: "fuzz.ato", seed: 12, sizeOffsets: [4]) { d in _ = try ATOFile.decode(d, name: "fuzz.ato") }
    }

    func testDMMutations() throws {
        for (version, little) in [(3, true), (4, false)] {
            let vals = (0..<64).map { Double($0) }
            let root: [DMTag] = [.group("ImageList", [DMEncoder.image(2, 2, type: 10, values: [1, 2, 3, 4], little: little),
                                                      DMEncoder.image(8, 8, type: 6, values: vals, scale: 0.5, little: little)])]
            let good = DMEncoder.encode(root, version: version, little: little)
            XCTAssertNoThrow(try DMFile.decode(good, name: "fuzz.dm"))
            // Size-like fields: the header and every 4-byte word that holds a small number (counts, info words).
            var sizes = [4, 8]
            good.withUnsafeBytes { raw in
                for o in stride(from: 0, to: raw.count - 4, by: 1) {
                    let w = UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self))
                    if w > 0 && w <= 64 { sizes.append(o) }
                }
            }
            run(good, name: "fuzz.dm", seed: UInt64(20 + version), count: 500, sizeOffsets: sizes) { d in
                let img = try DMFile.decode(d, name: "fuzz.dm")
                XCTAssertEqual(img.pixels.count, img.width * img.height)
                if let p = img.pixelSizeNM { XCTAssertTrue(p > 0 && p.isFinite) }
            }
        }
    }

    func testMRCMutations() throws {
        let good = MRCEncoder.encode(nx: 8, ny: 6, nz: 2, mode: 1, values: (0..<96).map(Double.init), cellXAngstrom: 20, mx: 8, extended: 32)
        run(good, name: "fuzz.mrc", seed: 31, count: 500, sizeOffsets: [0, 4, 8, 12, 28, 40, 92, 212]) { d in
            let img = try MRCFile.decode(d, name: "fuzz.mrc")
            XCTAssertEqual(img.pixels.count, img.width * img.height)
            if let p = img.pixelSizeNM { XCTAssertTrue(p > 0 && p.isFinite) }
        }
    }

    /// Random bytes of random length, and every prefix of a good file.
    func testRandomBytesAndPrefixes() throws {
        var rng = TestRNG(99)
        for _ in 0..<200 {
            let n = Int(rng.next() % 6000)
            let d = Data((0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            for (name, decode) in [("r.ato", { try ATOFile.decode(d, name: "r.ato") as Any }),
                                   ("r.dm3", { try DMFile.decode(d, name: "r.dm3") as Any }),
                                   ("r.mrc", { try MRCFile.decode(d, name: "r.mrc") as Any })] as [(String, () throws -> Any)] {
                do { _ = try decode() } catch let e as TwinError { XCTAssertTrue(e.description.hasPrefix(name), e.description) }
                catch { XCTFail("\(error)") }
            }
        }
        let dm = DMEncoder.encode([.group("ImageList", [DMEncoder.image(3, 3, type: 6, values: (0..<9).map(Double.init), scale: 1, little: true)])],
                                  version: 4, little: true)
        for k in 0..<dm.count {
            do { _ = try DMFile.decode(dm.prefix(k), name: "p.dm4") } catch let e as TwinError {
                XCTAssertTrue(e.description.hasPrefix("p.dm4"), e.description)
            }
        }
    }
}
