import FileFormats
import Foundation
import TwinCore
import XCTest

/// The CLI paths of the point-cloud writers, the ATO reader and DM/MRC frames in `tem measure`, run through the
/// built `aptwin` executable.
final class FormatsCLITests: XCTestCase {
    var binary: URL { AptwinProcess.binary }
    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) { try AptwinProcess.run(args) }

    func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("aptwin-fmtcli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: d) }
        return d
    }

    let table = RangeTable(ions: [RangedIon(name: "Fe", composition: [ElementCount("Fe", 1)]),
                                  RangedIon(name: "Cr", composition: [ElementCount("Cr", 1)])],
                           ranges: [MassRange(lowDa: 27.8, highDa: 28.2, ionIndex: 0, colorHex: "FF0000"),
                                    MassRange(lowDa: 25.8, highDa: 26.2, ionIndex: 1, colorHex: "00FF00")])

    func testConvertIonsToPointCloudsWithRanges() throws {
        let dir = try tempDir()
        var acq = Acquisition()
        acq.xNM = [1, 2, 3]; acq.yNM = [4, 5, 6]; acq.zNM = [-1, -2, -3]; acq.massToChargeDa = [28, 26, 40]
        let pos = dir.appendingPathComponent("a.pos"), rrng = dir.appendingPathComponent("r.rrng")
        try POSFile.write(acq, to: pos); try RRNGFile.write(table, to: rrng)
        for ext in ["vtp", "ply", "xyz"] {
            let out = dir.appendingPathComponent("a.\(ext)")
            let r = try run(["convert", pos.path, out.path, "--ranges", rrng.path])
            XCTAssertEqual(r.status, 0, r.err)
            XCTAssertTrue(r.out.contains("3 points (unranged 1, Fe 1, Cr 1)"), r.out)
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.path))
        }
        let xyz = try String(contentsOf: dir.appendingPathComponent("a.xyz"), encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(xyz[2].hasPrefix("Fe 1.0 4.0 -1.0 28.0 1 1 0 0"), String(xyz[2]))
        let bad = try run(["convert", pos.path, dir.appendingPathComponent("b.epos").path, "--ranges", rrng.path])
        XCTAssertNotEqual(bad.status, 0); XCTAssertTrue(bad.err.contains("--ranges"), bad.err)
    }

    /// A hand-made run directory: the truth links go through event_index → events/atom_id → truth/element_z.
    func testConvertRunDirectoryCarriesTruthIDs() throws {
        let run = try tempDir()
        let fm = FileManager.default
        for sub in ["reconstruction", "acquisition", "events", "truth", "spectrum"] {
            try fm.createDirectory(at: run.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        try Data("{}".utf8).write(to: run.appendingPathComponent("manifest.json"))
        var acq = Acquisition()
        acq.xNM = [0, 1, 2, 3]; acq.yNM = [0, 0, 0, 0]; acq.zNM = [0, -1, -2, -3]; acq.massToChargeDa = [28, 26, 28, 50]
        try POSFile.write(acq, to: run.appendingPathComponent("reconstruction/reconstruction.pos"))
        try RRNGFile.write(table, to: run.appendingPathComponent("spectrum/ranges.rrng"))
        try NPYFile.write([Int32(2), 0, -1, 1], to: run.appendingPathComponent("acquisition/event_index.npy"))
        try NPYFile.write([UInt32(5), 3, 1], to: run.appendingPathComponent("events/atom_id.npy"))
        try NPYFile.write((0..<6).map(UInt32.init), to: run.appendingPathComponent("truth/atom_id.npy"))
        try NPYFile.write([UInt8(26), 24, 26, 24, 26, 24], to: run.appendingPathComponent("truth/element_z.npy"))
        let out = run.appendingPathComponent("rec.xyz")
        let r = try self.run(["convert", run.path, out.path])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("columns truth_atom_id, event_index, truth_element_z"), r.out)
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(lines[1].contains(":truth_atom_id:I:1:event_index:I:1:truth_element_z:I:1"), String(lines[1]))
        let cols = lines[2...].map { $0.split(separator: " ").suffix(3).map { Int($0)! } }
        XCTAssertEqual(cols, [[1, 2, 24], [5, 0, 24], [-1, -1, 0], [3, 1, 24]])
        XCTAssertEqual(lines[2...].map { String($0.split(separator: " ")[0]) }, ["Fe", "Cr", "Fe", "unranged"])
    }

    func testInfoAndConvertReadATO() throws {
        let dir = try tempDir()
        var d = Data([0, 0, 0, 0, 3, 0, 0, 0])
        for i in 0..<4 {
            let f = Float(i)
            for v: Float in [10 * f, -5 * f, -100 - f, 27.9 + f, 0, f, 5.5, 600, 1, -1, 1.1, 6.6, 0, 0] {
                withUnsafeBytes(of: v.bitPattern.littleEndian) { d.append(contentsOf: $0) }
            }
        }
        let ato = dir.appendingPathComponent("g.ato")
        try d.write(to: ato)
        let i = try run(["info", ato.path, "--json"])
        XCTAssertEqual(i.status, 0, i.err)
        let j = try JSONSerialization.jsonObject(with: Data(i.out.utf8)) as! [String: Any]
        XCTAssertEqual(j["format"] as? String, "ato"); XCTAssertEqual(j["ions"] as? Int, 4)
        XCTAssertTrue((j["notes"] as? [String] ?? []).contains { $0.contains("little-endian detected") }, "\(j["notes"] ?? "")")
        let pos = dir.appendingPathComponent("g.pos")
        let c = try run(["convert", ato.path, pos.path])
        XCTAssertEqual(c.status, 0, c.err)
        XCTAssertEqual(try POSFile.read(pos).xNM, [0, 1, 2, 3])
        let forced = try run(["info", ato.path, "--json", "--ato-byte-order", "big"])
        XCTAssertTrue(forced.out.contains("big-endian (forced)"), forced.out + forced.err)
        let bad = try run(["info", ato.path, "--ato-byte-order", "middle"])
        XCTAssertNotEqual(bad.status, 0)
    }

    /// A twin frame measured as PNG with --pixel-nm and as MRC with the pixel size from the file: same radius.
    func testTEMMeasureTakesThePixelSizeFromAnMRCFile() throws {
        let dir = try tempDir()
        let scenario = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Scenarios/tiny.yaml")
        let png = dir.appendingPathComponent("f.png")
        let f = try run(["tem", "frame", scenario.path, "--output", png.path])
        XCTAssertEqual(f.status, 0, f.err)
        let img = try PNGFile.read(GrayImage16.self, from: png)
        var mrc = Data()
        func w(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { mrc.append(contentsOf: $0) } }
        w(Int32(img.width)); w(Int32(img.height)); w(1); w(6); w(0); w(0); w(0); w(Int32(img.width)); w(Int32(img.height)); w(1)
        for _ in 0..<3 { withUnsafeBytes(of: Float(2.4 * Double(img.width)).bitPattern.littleEndian) { mrc.append(contentsOf: $0) } }
        while mrc.count < 208 { w(0) }
        mrc.append(contentsOf: Array("MAP ".utf8) + [0x44, 0x44, 0, 0])
        mrc.append(Data(count: 1024 - mrc.count))
        for p in img.pixels { withUnsafeBytes(of: p.littleEndian) { mrc.append(contentsOf: $0) } }
        let mrcURL = dir.appendingPathComponent("f.mrc")
        try mrc.write(to: mrcURL)
        func measure(_ args: [String]) throws -> [String: Any] {
            let r = try run(["tem", "measure"] + args + ["--dark-level", "100", "--json"])
            XCTAssertEqual(r.status, 0, r.err)
            return try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        }
        let a = try measure([png.path, "--pixel-nm", "0.24"]), b = try measure([mrcURL.path])
        XCTAssertEqual(b["pixel_nm_source"] as? String, "file"); XCTAssertEqual(a["pixel_nm_source"] as? String, "option")
        XCTAssertEqual(b["pixel_nm"] as! Double, 0.24, accuracy: 1e-6)
        XCTAssertEqual(b["apex_radius_nm"] as! Double, a["apex_radius_nm"] as! Double, accuracy: 1e-4)
        // The option overrides the file (the edge-bias correction is in nm, so the radius does not simply double).
        let c = try measure([mrcURL.path, "--pixel-nm", "0.48"])
        XCTAssertEqual(c["pixel_nm_source"] as? String, "option"); XCTAssertEqual(c["pixel_nm"] as? Double, 0.48)
        XCTAssertGreaterThan(c["apex_radius_nm"] as! Double, 1.5 * (a["apex_radius_nm"] as! Double))
    }
}
