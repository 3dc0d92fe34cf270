import Foundation
@testable import Reconstruction
import TwinCore
import XCTest

final class ScoringTests: XCTestCase {
    /// A small two-grain, two-element specimen with planes of spacing 0.2 nm along z and one precipitate.
    func truth(_ n: Int = 60_000) -> MatchedTruth {
        var x: [Float] = [], y: [Float] = [], z: [Float] = [], el: [UInt8] = [], gr: [Int32] = [], ph: [UInt8] = []
        var s: UInt64 = 11
        func u() -> Double { s = s &* 6364136223846793005 &+ 1442695040888963407; return Double(s >> 11) / Double(1 << 53) }
        for _ in 0..<n {
            let px = u() * 16 - 8, py = u() * 16 - 8, pz = -(Double(Int(u() * 150)) * 0.2)
            x.append(Float(px)); y.append(Float(py)); z.append(Float(pz))
            el.append(pz > -15 ? (u() < 0.8 ? 26 : 24) : (u() < 0.3 ? 26 : 24))
            gr.append(px + 0.3 * pz > 0 ? 1 : 2)
            let dc = (px - 2) * (px - 2) + (py + 1) * (py + 1) + (pz + 20) * (pz + 20)
            ph.append(dc < 9 ? PhaseLabel.precipitate.rawValue : 0)
        }
        return MatchedTruth(xNM: x, yNM: y, zNM: z, elementZ: el, grain: gr, phase: ph)
    }

    func testPerfectReconstructionScoresZero() throws {
        let t = truth()
        let s = try Scoring.score(protocolName: "perfect", xNM: t.xNM, yNM: t.yNM, zNM: t.zNM, truth: t)
        XCTAssertEqual(s.lateralErrorP95NM, 0, accuracy: 1e-5)
        XCTAssertEqual(s.axialErrorP95NM, 0, accuracy: 1e-5)
        XCTAssertEqual(try XCTUnwrap(s.spacingRelativeError), 0, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(s.spacingTruthNM), 0.2, accuracy: 1e-3)
        XCTAssertEqual(try XCTUnwrap(s.compositionProfileRMS), 0, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(s.grainBoundaryTiltDeg), 0, accuracy: 1e-3)
        XCTAssertEqual(try XCTUnwrap(s.grainBoundaryOffsetNM), 0, accuracy: 1e-4)
        XCTAssertEqual(try XCTUnwrap(s.grainBoundaryProfileRMS), 0, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(s.precipitateProfileRMS), 0, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(s.precipitates), 1)
        XCTAssertEqual(try XCTUnwrap(s.precipitateRgRelativeErrorMedian), 0, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(s.densityCV), try XCTUnwrap(s.densityCVTruth), accuracy: 1e-12)
        XCTAssertTrue(Scoring.markdownTable([s]).contains("| perfect |"))
    }

    func testRigidMotionIsRemovedByAlignment() throws {
        let t = truth()
        let a = 0.3, c = cos(a), sn = sin(a)
        var x: [Float] = [], y: [Float] = [], z: [Float] = []
        for i in 0..<t.count {  // rotate about z by 0.3 rad about z, about x by 0.1 rad is skipped; shift by (5, −3, 40)
            let px = Double(t.xNM[i]), py = Double(t.yNM[i]), pz = Double(t.zNM[i])
            x.append(Float(c * px - sn * py + 5)); y.append(Float(sn * px + c * py - 3)); z.append(Float(pz + 40))
        }
        let s = try Scoring.score(protocolName: "moved", xNM: x, yNM: y, zNM: z, truth: t)
        XCTAssertEqual(s.alignmentRotationDeg, 0.3 * 180 / .pi, accuracy: 1e-3)
        XCTAssertLessThan(s.lateralErrorP95NM, 1e-4)
        XCTAssertLessThan(s.axialErrorP95NM, 1e-4)
        XCTAssertEqual(try XCTUnwrap(s.grainBoundaryTiltDeg), 0, accuracy: 1e-2)
        // The composition step at z = −15 nm crosses the tilted boundary plane: a rigid motion leaves the profile across it.
        XCTAssertLessThan(try XCTUnwrap(s.grainBoundaryProfileRMS), 1e-3)
    }

    func testRadialScalingShowsAsExpectedLateralError() throws {
        let t = truth()
        let k = 1.1
        let x = t.xNM.map { Float(Double($0) * k) }, y = t.yNM.map { Float(Double($0) * k) }
        let s = try Scoring.score(protocolName: "scaled", xNM: x, yNM: y, zNM: t.zNM, truth: t)
        // Lateral error = (k − 1)·ρ: its median is (k − 1) × the median distance from the axis.
        let rho = (0..<t.count).map { (t.xNM[$0] * t.xNM[$0] + t.yNM[$0] * t.yNM[$0]).squareRoot() }
        XCTAssertEqual(s.lateralErrorMedianNM, (k - 1) * Scoring.percentile(rho, 0.5), accuracy: 2e-3)
        // The asymmetric cloud (precipitate, composition layers) lets the rigid fit tilt very slightly.
        XCTAssertLessThan(s.axialErrorP95NM, 5e-3)
        XCTAssertLessThan(s.alignmentRotationDeg, 0.05)
        // The precipitate grows by the same factor laterally: its Rg error is between 0 and k − 1.
        let rg = try XCTUnwrap(s.precipitateRgRelativeErrorMedian)
        XCTAssertGreaterThan(rg, 0.02); XCTAssertLessThan(rg, k - 1 + 1e-6)
    }
}
