import FileFormats
import Foundation
import TwinCore
import XCTest

final class NPYTests: XCTestCase {
    func roundTrip<T: NPYScalar & Equatable>(_ values: [T], in dir: URL, file: StaticString = #filePath,
                                              line: UInt = #line) throws {
        let url = dir.appendingPathComponent("\(T.self).npy")
        try NPYFile.write(values, to: url)
        let data = try Data(contentsOf: url)
        XCTAssertEqual(data.count % 64, (values.count * MemoryLayout<T>.size) % 64, "header not 64-aligned", file: file, line: line)
        XCTAssertEqual(try NPYFile.read(T.self, from: url), values, file: file, line: line)
        XCTAssertEqual(try NPYFile.encode(values), data, file: file, line: line)
        XCTAssertEqual(try NPYFile.decode(T.self, from: data, name: "mem.npy").values, values, file: file, line: line)
    }

    func testRoundTripEveryDtype() throws {
        let dir = try makeTemporaryDirectory(self)
        try roundTrip([Float](arrayLiteral: 0, -1.5, .greatestFiniteMagnitude, .leastNonzeroMagnitude, .infinity), in: dir)
        try roundTrip([Double](arrayLiteral: 0, -1.5, .pi, .greatestFiniteMagnitude, -.infinity), in: dir)
        try roundTrip([Int32](arrayLiteral: 0, -1, .min, .max, 42), in: dir)
        try roundTrip([Int64](arrayLiteral: 0, -1, .min, .max, 42), in: dir)
        try roundTrip([UInt8](arrayLiteral: 0, 1, 127, 128, 255), in: dir)
        try roundTrip([UInt16](arrayLiteral: 0, 1, 256, 65535), in: dir)
        try roundTrip([UInt32](arrayLiteral: 0, 1, 65536, .max), in: dir)
        try roundTrip([Float](), in: dir)
        try roundTrip((0..<100_000).map { Float($0) * 0.5 }, in: dir)
        // NaN keeps its bits.
        let url = dir.appendingPathComponent("nan.npy")
        try NPYFile.write([Float.nan, Float(bitPattern: 0x7FC0_1234)], to: url)
        XCTAssertEqual(try NPYFile.read(Float.self, from: url).map(\.bitPattern), [Float.nan.bitPattern, 0x7FC0_1234])
    }

    func testHeaderIsExactlyWhatNumPyWrites() throws {
        let d = try NPYFile.encode([Float](arrayLiteral: 0, 1, 2))
        var expected = Data([0x93] + Array("NUMPY".utf8) + [1, 0, 0x76, 0])
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"
        expected += Data((dict + String(repeating: " ", count: 128 - 10 - dict.utf8.count - 1) + "\n").utf8)
        XCTAssertEqual(d.prefix(128), expected)
        XCTAssertEqual(d.count, 128 + 12)
        let shaped = try NPYFile.encode([Int32](repeating: 7, count: 6), shape: [2, 3])
        XCTAssertTrue(String(decoding: shaped.prefix(128), as: UTF8.self).contains("'shape': (2, 3), }"))
        assertThrowsMessage(["shape [4]", "holds 4 values", "has 6"]) { try NPYFile.encode([Int32](repeating: 7, count: 6), shape: [4]) }
    }

    /// Byte-for-byte comparison with numpy.save, and numpy.load of our files (needs python3 with numpy).
    func testAgainstNumPy() throws {
        guard let probe = try runPython("import numpy; print(numpy.__version__)"), probe.status == 0 else {
            throw XCTSkip("python3 with numpy not available")
        }
        let dir = try makeTemporaryDirectory(self)
        let cases: [(String, String, (URL) throws -> Void)] = [
            ("<f4", "[0.5, -1.0, 3.25]", { try NPYFile.write([Float](arrayLiteral: 0.5, -1, 3.25), to: $0) }),
            ("<f8", "[0.1, -2.0, 1e300]", { try NPYFile.write([Double](arrayLiteral: 0.1, -2, 1e300), to: $0) }),
            ("<i4", "[-2147483648, 0, 2147483647]", { try NPYFile.write([Int32](arrayLiteral: .min, 0, .max), to: $0) }),
            ("<i8", "[-9223372036854775808, 5, 9223372036854775807]", { try NPYFile.write([Int64](arrayLiteral: .min, 5, .max), to: $0) }),
            ("|u1", "[0, 17, 255]", { try NPYFile.write([UInt8](arrayLiteral: 0, 17, 255), to: $0) }),
            ("<u2", "[0, 1000, 65535]", { try NPYFile.write([UInt16](arrayLiteral: 0, 1000, 65535), to: $0) }),
            ("<u4", "[0, 70000, 4294967295]", { try NPYFile.write([UInt32](arrayLiteral: 0, 70000, .max), to: $0) }),
            ("<f4", "[]", { try NPYFile.write([Float](), to: $0) }),
            ("<f4", "list(range(1234567))", { try NPYFile.write((0..<1_234_567).map { Float($0) }, to: $0) }),
        ]
        var args: [String] = []
        for (i, c) in cases.enumerated() {
            let ours = dir.appendingPathComponent("ours\(i).npy")
            try c.2(ours)
            args += [ours.path, dir.appendingPathComponent("numpy\(i).npy").path, c.0, c.1]
        }
        let script = """
        import sys, numpy as np
        a = sys.argv[1:]
        for i in range(0, len(a), 4):
            ours, theirs, dt, values = a[i], a[i+1], a[i+2], eval(a[i+3])
            x = np.load(ours)
            ref = np.array(values, dtype=dt)
            assert x.dtype == ref.dtype, (ours, x.dtype, ref.dtype)
            assert x.shape == ref.shape and np.array_equal(x, ref), (ours, x[:5], ref[:5])
            np.save(theirs, ref)
        np.save(a[0] + '.2d.npy', np.arange(6, dtype='<i4').reshape(2, 3))
        np.save(a[0] + '.be.npy', np.array([1.5, -2.0], dtype='>f8'))
        np.save(a[0] + '.f.npy', np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)))
        np.save(a[0] + '.scalar.npy', np.float32(2.5))
        print('ok')
        """
        guard let r = try runPython(script, args) else { throw XCTSkip("python3 not available") }
        XCTAssertEqual(r.status, 0, r.output)
        for i in cases.indices {
            let ours = try Data(contentsOf: dir.appendingPathComponent("ours\(i).npy"))
            let theirs = try Data(contentsOf: dir.appendingPathComponent("numpy\(i).npy"))
            XCTAssertEqual(ours, theirs, "case \(i) (\(cases[i].0)) differs from numpy.save")
        }
        let base = dir.appendingPathComponent("ours0.npy").path
        let twoD = try NPYFile.readShaped(Int32.self, from: URL(fileURLWithPath: base + ".2d.npy"))
        XCTAssertEqual(twoD.shape, [2, 3]); XCTAssertEqual(twoD.values, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(try NPYFile.read(Double.self, from: URL(fileURLWithPath: base + ".be.npy")), [1.5, -2.0])
        assertThrowsMessage(["ours0.npy.f.npy", "Fortran-order", "[2, 3]"]) {
            try NPYFile.read(Float.self, from: URL(fileURLWithPath: base + ".f.npy"))
        }
        let scalar = try NPYFile.readShaped(Float.self, from: URL(fileURLWithPath: base + ".scalar.npy"))
        XCTAssertEqual(scalar.shape, []); XCTAssertEqual(scalar.values, [2.5])
    }

    func testErrorsAreClear() throws {
        let good = try NPYFile.encode([Float](arrayLiteral: 1, 2, 3, 4))  // 128 + 16 bytes
        assertThrowsMessage(["t.npy: truncated", "16 bytes from byte offset 128", "ends at byte offset 140"]) {
            try NPYFile.decode(Float.self, from: good.prefix(140), name: "t.npy")
        }
        assertThrowsMessage(["t.npy", "trailing", "byte offset 144"]) {
            try NPYFile.decode(Float.self, from: good + Data([0, 0]), name: "t.npy")
        }
        assertThrowsMessage(["t.npy", "dtype '<f4'", "Double", "'<f8'"]) {
            try NPYFile.decode(Double.self, from: good, name: "t.npy")
        }
        var bad = good
        bad[1] = UInt8(ascii: "X")
        assertThrowsMessage(["t.npy: bad magic at byte offset 0"]) { try NPYFile.decode(Float.self, from: bad, name: "t.npy") }
        bad = good; bad[6] = 9
        assertThrowsMessage(["version 9.0"]) { try NPYFile.decode(Float.self, from: bad, name: "t.npy") }
        bad = good; bad[8] = 0xFF; bad[9] = 0xFF
        assertThrowsMessage(["header length 65535", "runs past the end"]) { try NPYFile.decode(Float.self, from: bad, name: "t.npy") }
        bad = good; bad.replaceSubrange(10..<11, with: Data("[".utf8))
        assertThrowsMessage(["t.npy: malformed header at byte offset 10"]) { try NPYFile.decode(Float.self, from: bad, name: "t.npy") }
        assertThrowsMessage(["e.npy", "too short"]) { try NPYFile.decode(Float.self, from: Data(), name: "e.npy") }
        // A file on disk, truncated.
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("cut.npy")
        try good.prefix(131).write(to: url)
        assertThrowsMessage(["cut.npy: truncated", "byte offset 128"]) { try NPYFile.read(Float.self, from: url) }
        // Random bytes never crash.
        var rng = TestRNG(11)
        for n in [0, 5, 10, 64, 200] {
            var bytes = Array(good.prefix(min(n, good.count)))
            bytes += (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            XCTAssertThrowsError(try NPYFile.decode(UInt8.self, from: Data(bytes), name: "r.npy"))
        }
    }

    func testVersion2HeaderIsAccepted() throws {
        // Build a v2.0 file by hand: u32 header length, 64-byte alignment.
        let dict = "{'descr': '<u2', 'fortran_order': False, 'shape': (3,), }"
        let hlen = 64 * 2 - 12
        var d = Data([0x93] + Array("NUMPY".utf8) + [2, 0])
        d += Data([UInt8(hlen & 0xFF), UInt8(hlen >> 8), 0, 0])
        d += Data((dict + String(repeating: " ", count: hlen - dict.utf8.count - 1) + "\n").utf8)
        d += Data([1, 0, 2, 0, 0xFF, 0xFF])
        XCTAssertEqual(try NPYFile.decode(UInt16.self, from: d, name: "v2.npy").values, [1, 2, 65535])
    }
}
