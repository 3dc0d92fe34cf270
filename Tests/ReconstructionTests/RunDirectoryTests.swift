import Foundation
import Reconstruction
import ScenarioConfig
import TwinCore
import TwinPipeline
import XCTest

/// A tiny simulated run (Scenarios/tiny.yaml) read back for reconstruction and scoring.
final class RunDirectoryTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testRunDirectoryReconstructsAndScoresEveryProtocol() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recon-run-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        let s = try ResolvedScenario.load(path: Self.packageRoot.appendingPathComponent("Scenarios/tiny.yaml").path)
        _ = try ScenarioRunner.run(s, options: RunOptions(outputDirectory: dir, threads: 2, progress: ProgressReporter(enabled: false)))
        let ri = try RunReconstructionInput(dir)
        let (truth, rows) = ri.matchedTruth()
        XCTAssertGreaterThan(rows.count, 1000)
        XCTAssertEqual(truth.count, rows.count)
        // Matched truth really is the evaporated atom: its true z lies within the evaporated depth.
        XCTAssertLessThan(Double(truth.zNM.max()!) - Double(truth.zNM.min()!), 30)
        // A frames.csv written by hand at three events, with the engine's true radius there.
        let frames = dir.appendingPathComponent("frames")
        try FileManager.default.createDirectory(at: frames, withIntermediateDirectories: true)
        let nEv = ri.eventApexRadiusNM.count
        var csv = "frame,event,measured_apex_radius_nm\n"
        for (k, e) in [0, nEv / 2, nEv - 1].enumerated() { csv += "\(k),\(e),\(ri.eventApexRadiusNM[e])\n" }
        try csv.write(to: frames.appendingPathComponent("frames.csv"), atomically: true, encoding: .utf8)
        let (tl, _) = try TEMFramesTimeline.read(directory: frames, ionIndexAtEvent: { ri.ionIndex(atEvent: $0) })
        XCTAssertEqual(tl.ionIndex.first, 0)
        XCTAssertEqual(tl.ionIndex.last.map { Int($0) }, ri.ionIndex(atEvent: nEv - 1))
        var scores: [ReconstructionScore] = []
        for p in ReconstructionProtocol.allCases where p != .temShape {
            let setup = p == .oracle ? try ri.oracleSetup(ri.parameters)
                : try ri.parameters.setup(for: p, initialRadiusNM: ri.initialRadiusNM, shankHalfAngleDeg: ri.shankHalfAngleDeg, timeline: tl)
            let rec = try Reconstructor.reconstruct(ri.acquisition, setup, threads: 2)
            let sc = try Scoring.score(protocolName: p.rawValue, xNM: rows.map { rec.xNM[$0] }, yNM: rows.map { rec.yNM[$0] },
                                       zNM: rows.map { rec.zNM[$0] }, truth: truth)
            XCTAssertTrue(sc.lateralErrorMedianNM.isFinite && sc.axialErrorP95NM.isFinite, p.rawValue)
            // Plausible: errors are a fraction of the needle, not garbage.
            XCTAssertLessThan(sc.lateralErrorMedianNM, 5, p.rawValue)
            scores.append(sc)
        }
        print(Scoring.markdownTable(scores))
        // The oracle bounds every protocol on every position-error metric (it was beaten by shank while the run's
        // k_f and ξ were ignored and while it used the engine's continuum apex radius).
        let oracle = try XCTUnwrap(scores.last)
        XCTAssertEqual(oracle.protocolName, "oracle")
        for s in scores.dropLast() {
            XCTAssertLessThanOrEqual(oracle.lateralErrorMedianNM, s.lateralErrorMedianNM, s.protocolName)
            XCTAssertLessThanOrEqual(oracle.lateralErrorP95NM, s.lateralErrorP95NM, s.protocolName)
            XCTAssertLessThanOrEqual(oracle.axialErrorMedianNM, s.axialErrorMedianNM, s.protocolName)
            XCTAssertLessThanOrEqual(oracle.axialErrorP95NM, s.axialErrorP95NM, s.protocolName)
        }
        // The run's own report scores the protocols it can and says why it cannot score the others.
        let report = try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8)
        for name in ["| bas |", "| geiser |", "| shank |", "| oracle |"] { XCTAssertTrue(report.contains(name), name) }
        XCTAssertTrue(report.contains("| tem |") || report.contains("- tem: "), "the tem protocol is scored or explained")
        // The frames' measured cap profiles (reconstruction/apex_profile.csv) make tem-shape scoreable.
        XCTAssertTrue(report.contains("| tem-shape |") || report.contains("- tem-shape: "), "tem-shape is scored or explained")
        if report.contains("| tem |") {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("reconstruction/apex_profile.csv").path))
        }
        // Run facts use the k_f and ξ the run used, and the manifest says so.
        let m = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("manifest.json"))) as! [String: Any]
        let rec = m["reconstruction"] as! [String: Any]
        XCTAssertEqual(ri.parameters.fieldFactorKf, rec["kf"] as! Double)
        XCTAssertEqual(ri.parameters.imageCompression, rec["icf"] as! Double)
        XCTAssertNotEqual(ri.parameters.imageCompression, 1.6, "the scenario's placeholder ξ is not used")

        // Measured cap shapes: hemispherical profiles in apex_profile.csv make tem-shape agree with tem.
        var prof = "event,rho_nm,sag_nm\n"
        for e in [0, nEv / 2, nEv - 1] {
            let r = Double(ri.eventApexRadiusNM[e])
            for k in 0..<300 { let rho = 0.95 * r * Double(k) / 299; prof += "\(e),\(rho),\(r - (r * r - rho * rho).squareRoot())\n" }
        }
        try prof.write(to: frames.appendingPathComponent("apex_profile.csv"), atomically: true, encoding: .utf8)
        let (tls, notes) = try TEMFramesTimeline.read(directory: frames, ionIndexAtEvent: { ri.ionIndex(atEvent: $0) })
        XCTAssertEqual(tls.shapes?.count, 3)
        XCTAssertTrue(notes.joined().contains("apex shapes"))
        let a = try Reconstructor.reconstruct(ri.acquisition, try ri.parameters.setup(for: .temShape, timeline: tls), threads: 2)
        let b = try Reconstructor.reconstruct(ri.acquisition, try ri.parameters.setup(for: .tem, timeline: tls), threads: 2)
        var worst: Float = 0
        for i in 0..<a.count { worst = max(worst, abs(a.xNM[i] - b.xNM[i]), abs(a.zNM[i] - b.zNM[i])) }
        XCTAssertLessThan(worst, 0.01, "a hemispherical measured profile reproduces the hemisphere")
        // A malformed profile file is an error naming the file.
        try "event,rho,sag\n0,0,0\n".write(to: frames.appendingPathComponent("apex_profile.csv"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TEMFramesTimeline.read(directory: frames, ionIndexAtEvent: { $0 })) { e in
            XCTAssertTrue("\(e)".contains("apex_profile.csv"), "\(e)")
        }
    }
}
