import Foundation
import ScenarioConfig
import SpecimenBuilder
import TwinCore
import TwinPipeline
import XCTest

/// Specimen parameters as users write them: scenario keys, their errors, and the shipped paper scenarios.
final class SpecimenScenarioTests: XCTestCase {
    func request(_ yaml: String) throws -> SpecimenRequest {
        try SpecimenRequest(try ResolvedScenario.parse(yaml: yaml, file: "s.yaml"))
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    func testBadSpecimenParametersNameTheKey() {
        XCTAssertTrue(message { _ = try request("specimen:\n  apex_radius_nm: -3\n") }
            .contains("s.yaml:2: specimen.apex_radius_nm: value -3 is out of range"))
        XCTAssertTrue(message { _ = try request("specimen:\n  composition_at_frac: {Fe: 0.5, Cr: 0.4}\n") }
            .contains("sum to 0.9"))
        XCTAssertTrue(message { _ = try request("specimen:\n  composition_at_frac: {Xe: 1.0}\n") }
            .contains("no lattice data for Xe"))
        let missesNeedle = """
        specimen:
          grains:
            mode: planes
            boundaries:
              - {point_nm: [0, 0, -400], normal: [0, 0, 1], misorientation_axis_hkl: [0, 0, 1], misorientation_deg: 10}
        """
        XCTAssertTrue(message { _ = try request(missesNeedle) }.contains("does not cross the needle"), message { _ = try request(missesNeedle) })
        let missingKey = """
        specimen:
          grains:
            mode: planes
            boundaries:
              - {point_nm: [0, 0, -10], normal: [0, 0, 1], misorientation_deg: 10}
        """
        XCTAssertTrue(message { _ = try request(missingKey) }.contains("specimen.grains.boundaries[0].misorientation_axis_hkl: missing required key"),
                      message { _ = try request(missingKey) })
        XCTAssertTrue(message { _ = try request("specimen:\n  precipitates:\n    number_density_per_nm3: 0.001\n") }
            .contains("precipitates.composition_at_frac is required"))
        XCTAssertTrue(message { _ = try request("specimen:\n  microstructure: spinodal\n  spinodal:\n    solute: Ni\n") }
            .contains("specimen.spinodal.solute 'Ni'"))
        XCTAssertTrue(message { _ = try request("specimen:\n  spinodal:\n    wavelenght_nm: 5\n") }
            .contains("specimen.spinodal.wavelenght_nm: unknown key (did you mean 'wavelength_nm'?)"))
    }

    func testPaperScenariosBuildWhatTheyDescribe() throws {
        let dir = packageRoot.appendingPathComponent("Scenarios")
        // Grain boundaries: three grains, a Cr-rich band along GB1, the twist boundary GB2 without one.
        let gb = try SpecimenRequest(try ResolvedScenario.load(path: dir.appendingPathComponent("fecr_grain_boundaries.yaml").path))
        XCTAssertEqual(gb.spec.grains.map.grainCount, 3)
        XCTAssertEqual(gb.spec.grains.bands.map(\.boundary), [0])
        let planar = try XCTUnwrap(gb.spec.grains.map as? PlanarGrains)
        let o1 = gb.spec.grains.orientations[1]
        let gb2 = try GrainBoundarySpec(plane: planar.boundaries[1], misorientationAxis: o1.transposed.apply(SIMD3(0, 0, 1)), angleDeg: 5)
        XCTAssertTrue(gb2.isTwist(orientationBelow: o1))
        XCTAssertEqual((o1.transposed * gb.spec.grains.orientations[2]).angleDeg, 5, accuracy: 1e-9)
        XCTAssertEqual(CubicSymmetry.misorientation(gb.spec.grains.orientations[0], gb.spec.grains.orientations[1]).angleDeg, 40, accuracy: 1e-6)
        XCTAssertEqual(CubicSymmetry.misorientation(gb.spec.grains.orientations[1], gb.spec.grains.orientations[2]).angleDeg, 5, accuracy: 1e-6)
        // W with a contamination layer; Al-Ag with precipitates; Fe-Cr spinodal.
        let w = try SpecimenRequest(try ResolvedScenario.load(path: dir.appendingPathComponent("w_contamination.yaml").path))
        XCTAssertEqual(w.spec.surfaceLayerThicknessNM, 1)
        XCTAssertEqual(w.spec.lattice.kind, .bcc)
        let alag = try SpecimenRequest(try ResolvedScenario.load(path: dir.appendingPathComponent("alag_precipitates.yaml").path))
        XCTAssertEqual(alag.spec.lattice.kind, .fcc)
        XCTAssertEqual(alag.spec.precipitates?.numberDensityPerNM3, 0.0014)
        let sp = try SpecimenRequest(try ResolvedScenario.load(path: dir.appendingPathComponent("fecr_spinodal.yaml").path))
        XCTAssertEqual(sp.spinodal?.soluteZ, 24)
    }

    func testSpecimenCommandWritesTruthAndQuickLooks() throws {
        let yaml = """
        name: small
        seed: 4
        specimen:
          microstructure: spinodal
          apex_radius_nm: 5
          length_nm: 12
          spinodal: {wavelength_nm: 3, amplitude_at_frac: 0.3}
        """
        let s = try ResolvedScenario.parse(yaml: yaml, file: "small.yaml")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aptwin-specimen-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (built, _) = try SpecimenOutput.buildAndWrite(s, to: dir, threads: 2)
        for f in ["truth/x_nm.npy", "truth/element_z.npy", "truth/grain.npy", "truth/phase.npy", "images/composition_slice.png",
                  "images/grain_map.png", "specimen.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path), f)
        }
        let j = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("specimen.json"))) as! [String: Any]
        XCTAssertEqual(j["atoms"] as? Int, built.atoms.count)
        XCTAssertThrowsError(try SpecimenOutput.buildAndWrite(s, to: dir, threads: 2), "an existing directory is never overwritten")
    }
}
