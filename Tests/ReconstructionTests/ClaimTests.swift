import Foundation
import Reconstruction
import ScenarioConfig
import TwinCore
import TwinPipeline
import XCTest

/// The reconstruction claim on a needle small enough for CI (Validation/reconstruction_claims has the larger cases).
final class ReconstructionClaimTests: XCTestCase {
    /// An Fe-Cr needle with a 15° shank whose apex radius grows by about a third while it is evaporated: the tem
    /// protocol on the radius at the frames beats the voltage protocol calibrated on the same radii, and the
    /// oracle bounds both. Point-projection optics keep the run short.
    func testTEMProfileBeatsVoltageOnABluntingNeedle() throws {
        let yaml = """
        name: claim_ci_blunting
        seed: 41
        specimen:
          composition_at_frac: {Fe: 0.486, Cr: 0.514}
          apex_radius_nm: 4
          shank_half_angle_deg: 15
          length_nm: 12
        instrument:
          flight_path_mm: 100
          detector_diameter_mm: 80
          optics: point_projection
        imaging: {width_px: 256, height_px: 256, sequence_frames: 5}
        acquisition:
          max_events: 20000
          max_depth_nm: 6
        """
        let s = try ResolvedScenario.parse(yaml: yaml, file: "claim_ci_blunting.yaml")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("claim-ci-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try ScenarioRunner.run(s, options: RunOptions(outputDirectory: dir, threads: 2, progress: ProgressReporter(enabled: false)))
        let m = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("manifest.json"))) as! [String: Any]
        let json = try JSONSerialization.data(withJSONObject: (m["report"] as! [String: Any])["scores"]!)
        let scores = try JSONDecoder().decode([ReconstructionScore].self, from: json)
        print(Scoring.markdownTable(scores))
        let by = Dictionary(uniqueKeysWithValues: scores.map { ($0.protocolName, $0) })
        let tem = try XCTUnwrap(by["tem (true R)"]), bas = try XCTUnwrap(by["bas (k_f fitted to frames)"]), oracle = try XCTUnwrap(by["oracle"])
        XCTAssertLessThan(tem.lateralErrorMedianNM, bas.lateralErrorMedianNM)
        XCTAssertLessThan(tem.axialErrorMedianNM, bas.axialErrorMedianNM)
        for other in scores where other.protocolName != "oracle" {
            XCTAssertLessThanOrEqual(oracle.lateralErrorMedianNM, other.lateralErrorMedianNM, other.protocolName)
            XCTAssertLessThanOrEqual(oracle.axialErrorMedianNM, other.axialErrorMedianNM, other.protocolName)
        }
    }
}
