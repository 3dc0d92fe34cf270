import Foundation
import XCTest

/// Runs the built `aptwin` executable, as a user would.
final class CLITests: XCTestCase {
    var binary: URL {
        // The test bundle sits next to the products of the same build.
        var dir = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("aptwin")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        for b in Bundle.allBundles {
            let candidate = b.bundleURL.deletingLastPathComponent().appendingPathComponent("aptwin")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return dir.appendingPathComponent("aptwin")
    }

    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else { throw XCTSkip("aptwin binary not found next to the tests") }
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        let o = Pipe(), e = Pipe()
        p.standardOutput = o; p.standardError = e
        try p.run()
        let od = o.fileHandleForReading.readDataToEndOfFile(), ed = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: od, as: UTF8.self), String(decoding: ed, as: UTF8.self))
    }

    func tmp(_ name: String) -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("aptwin-cli-\(getpid())-\(name)") }

    func testScenarioDefaultsAndCheck() throws {
        let d = try run(["scenario", "--defaults"])
        XCTAssertEqual(d.status, 0)
        let f = tmp("defaults.yaml")
        try d.out.write(to: f, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: f) }
        let c = try run(["scenario", "--check", f.path])
        XCTAssertEqual(c.status, 0, c.err)
        XCTAssertTrue(c.out.contains("OK"))
    }

    func testBadScenarioExitsNonZeroNamingKeyAndLine() throws {
        let f = tmp("bad.yaml")
        try "instrument:\n  holder_max_dc_v: 9000\n".write(to: f, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: f) }
        let c = try run(["scenario", "--check", f.path])
        XCTAssertNotEqual(c.status, 0)
        XCTAssertTrue(c.err.contains("\(f.path):2: instrument.holder_max_dc_v: value 9000 is out of range; allowed 100 … 8000"), c.err)
        let r = try run(["run", f.path, "--output", tmp("never").path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp("never").path))
    }

    func testConvertAndInfoOnBadFiles() throws {
        let bad = tmp("odd.pos")
        try Data(repeating: 7, count: 33).write(to: bad)
        defer { try? FileManager.default.removeItem(at: bad) }
        let i = try run(["info", bad.path, "--json"])
        XCTAssertNotEqual(i.status, 0)
        XCTAssertTrue(i.err.contains("odd.pos"), i.err)
        let out = tmp("out.epos")
        let c = try run(["convert", bad.path, out.path])
        XCTAssertNotEqual(c.status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "no half-written output")
    }

    func testInfoAndConvertRoundTrip() throws {
        // A small POS written by hand: two ions.
        var d = Data()
        for v: Float in [1, 2, 3, 27.97, -1, -2, -3, 26] { withUnsafeBytes(of: v.bitPattern.bigEndian) { d.append(contentsOf: $0) } }
        let pos = tmp("two.pos"), epos = tmp("two.epos"), back = tmp("back.pos")
        try d.write(to: pos)
        defer { for u in [pos, epos, back] { try? FileManager.default.removeItem(at: u) } }
        let i = try run(["info", pos.path, "--json"])
        XCTAssertEqual(i.status, 0, i.err)
        let j = try JSONSerialization.jsonObject(with: Data(i.out.utf8)) as! [String: Any]
        XCTAssertEqual(j["format"] as? String, "pos")
        XCTAssertEqual(j["ions"] as? Int, 2)
        XCTAssertEqual((j["mass_range_da"] as? [Double])?.first ?? 0, 26, accuracy: 1e-5)
        XCTAssertEqual((j["bounds_nm"] as? [[Double]])?.count, 3)
        XCTAssertEqual(try run(["convert", pos.path, epos.path]).status, 0)
        XCTAssertEqual(try run(["convert", epos.path, back.path]).status, 0)
        XCTAssertEqual(try Data(contentsOf: back), d)
    }
}
