import Foundation
import XCTest

/// Runs the built `aptwin` executable, as a user would.
final class CLITests: XCTestCase {
    var binary: URL { AptwinProcess.binary }
    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) { try AptwinProcess.run(args) }

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

    /// Garbage the issue found accepted: each is now refused with a message naming the file (and where) and a
    /// non-zero exit, or reported in a note.
    func testGarbageIsRefusedOrReported() throws {
        let dir = tmp("garbage")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func file(_ name: String, _ bytes: [UInt8]) throws -> String {
            let u = dir.appendingPathComponent(name); try Data(bytes).write(to: u); return u.path
        }
        func npy(_ descr: String, _ shape: String, dataBytes: Int) -> [UInt8] {
            var h = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
            h += String(repeating: " ", count: 117 - h.utf8.count) + "\n"
            return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(h.utf8.count), 0] + Array(h.utf8) + [UInt8](repeating: 0, count: dataBytes)
        }
        let truncated = try file("trunc.npy", npy("<f4", "(1000,)", dataBytes: 600))
        let huge = try file("huge.npy", npy("<f4", "(4611686018427387904,)", dataBytes: 16))
        let object = try file("obj.npy", npy("|O", "(2,)", dataBytes: 16))
        for (f, part) in [(truncated, "truncated"), (huge, "more than any file holds"), (object, "not a fixed-size numeric type")] {
            let r = try run(["info", f])
            XCTAssertNotEqual(r.status, 0, f)
            XCTAssertTrue(r.err.contains(URL(fileURLWithPath: f).lastPathComponent) && r.err.contains(part), r.err)
        }
        // Ion names that are not UTF-8.
        let rrng = try file("bad.rrng", Array("[Ions]\nNumber=1\nIon1=".utf8) + [0xff, 0xfe] + Array("Fe\n[Ranges]\nNumber=0\n".utf8))
        let r1 = try run(["info", rrng])
        XCTAssertNotEqual(r1.status, 0); XCTAssertTrue(r1.err.contains("bad.rrng") && r1.err.contains("line 3"), r1.err)
        // All-NaN masses: a spectrum of nothing is an error, and info notes the non-finite values.
        var pos: [UInt8] = []
        for _ in 0..<10 { for v: Float in [1, 1, 1, .nan] { withUnsafeBytes(of: v.bitPattern.bigEndian) { pos += $0 } } }
        let nanPOS = try file("nan.pos", pos)
        let s = try run(["spectrum", nanPOS])
        XCTAssertNotEqual(s.status, 0); XCTAssertTrue(s.err.contains("none of the 10 ions has a finite, positive m/n"), s.err)
        let i = try run(["info", nanPOS])
        XCTAssertTrue(i.err.contains("non-finite values") && i.err.contains("mass_to_charge_da 10 of 10"), i.err)
        // An empty scenario and a name that would leave Output/.
        let empty = try file("empty.yaml", Array("# nothing\n".utf8))
        let e = try run(["scenario", "--check", empty])
        XCTAssertNotEqual(e.status, 0); XCTAssertTrue(e.err.contains("holds no keys"), e.err)
        for name in ["../../esc", "a/b", ".hidden", "-x", ""] {
            let y = try file("name.yaml", Array("name: \"\(name)\"\n".utf8))
            let c = try run(["scenario", "--check", y])
            XCTAssertNotEqual(c.status, 0, name); XCTAssertTrue(c.err.contains("name: ") && c.err.contains("not a safe directory name"), c.err)
        }
    }

    /// SIGTERM while a run writes its directory: exit 143, and neither the run directory nor its partial directory
    /// is left behind.
    func testInterruptedRunLeavesNoPartialDirectory() throws {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else { throw XCTSkip("aptwin binary not found next to the tests") }
        let parent = tmp("interrupt")
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: parent) }
        // A stale partial directory of a process that no longer exists is removed by the next run of that output.
        let stale = parent.appendingPathComponent("run.partial-999999999")
        try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: true)
        let scenario = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Scenarios/tiny.yaml")
        let p = Process()
        p.executableURL = binary
        p.arguments = ["run", scenario.path, "--output", parent.appendingPathComponent("run").path]
        p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait (up to 10 min) for the partial directory of this process, then interrupt it.
        let mine = "run.partial-\(p.processIdentifier)"
        let deadline = Date().addingTimeInterval(600)
        while p.isRunning, Date() < deadline,
              !((try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? []).contains(mine) {
            usleep(2_000)
        }
        guard p.isRunning else { throw XCTSkip("the run finished before its partial directory was seen") }
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 143)
        let left = try FileManager.default.contentsOfDirectory(atPath: parent.path)
        XCTAssertEqual(left, [], "left behind: \(left)")
    }
}
