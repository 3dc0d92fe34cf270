import FileFormats
import Foundation
@testable import Reconstruction
import TwinCore
import XCTest
import TestDatasets

/// The real Si LEAP dataset (`Si.apt` from apav 1.2.2, fetched at test time): the shank protocol on its
/// XDet_mm/YDet_mm sections (the file has no voltages) must give a plausible volume next to the AP Suite
/// reconstruction stored in its Position section.
final class SiDatasetReconstructionTests: XCTestCase {
    struct Box { var lo: [Double]; var hi: [Double] }

    func bounds(_ x: [Float], _ y: [Float], _ z: [Float]) -> Box {
        var lo = [Double](repeating: .infinity, count: 3), hi = [Double](repeating: -.infinity, count: 3)
        for i in x.indices {
            for (k, v) in [x[i], y[i], z[i]].enumerated() { lo[k] = min(lo[k], Double(v)); hi[k] = max(hi[k], Double(v)) }
        }
        return Box(lo: lo, hi: hi)
    }

    /// Ions per nm³ in a 6 × 6 nm column around the axis over the middle half of the depth.
    func coreDensity(_ x: [Float], _ y: [Float], _ z: [Float]) -> Double {
        let b = bounds(x, y, z)
        let cx = (b.lo[0] + b.hi[0]) / 2, cy = (b.lo[1] + b.hi[1]) / 2
        let z0 = b.lo[2] + 0.25 * (b.hi[2] - b.lo[2]), z1 = b.lo[2] + 0.75 * (b.hi[2] - b.lo[2])
        var c = 0
        for i in x.indices where abs(Double(x[i]) - cx) < 3 && abs(Double(y[i]) - cy) < 3 && Double(z[i]) >= z0 && Double(z[i]) < z1 { c += 1 }
        return Double(c) / (36 * (z1 - z0))
    }

    func testShankReconstructionOfSiAPTIsPlausible() throws {
        let url = try SiDataset.url("Si.apt")
        let acq = try APTFile.read(url)
        XCTAssertEqual(acq.count, SiDataset.ionCount)
        XCTAssertTrue(acq.vDCV.isEmpty, "Si.apt has no voltage section")
        // Detector diameter from the data (largest hit radius); the rest are typical straight-flight LEAP values
        // (Si: Ω = a³/8 = 0.02003 nm³), not tuned to this file.
        var rMax: Float = 0
        for i in 0..<acq.count { rMax = max(rMax, (acq.detectorXMM[i] * acq.detectorXMM[i] + acq.detectorYMM[i] * acq.detectorYMM[i]).squareRoot()) }
        let p = ReconstructionParameters(fieldFactorKf: 3.3, imageCompression: 1.65, evaporationFieldVPerNM: 33,
                                         atomicVolumeNM3: pow(0.5431, 3) / 8, detectionEfficiency: 0.57, flightPathMM: 90,
                                         detectorDiameterMM: Double(2 * rMax))
        let setup = try p.setup(for: .shank, projection: .pointProjection, initialRadiusNM: 40, shankHalfAngleDeg: 10)
        let rec = try Reconstructor.reconstruct(acq, setup, threads: 2)
        XCTAssertTrue(rec.xNM.allSatisfy(\.isFinite) && rec.zNM.allSatisfy(\.isFinite))
        let ours = bounds(rec.xNM, rec.yNM, rec.zNM), theirs = bounds(acq.xNM, acq.yNM, acq.zNM)
        let dOurs = coreDensity(rec.xNM, rec.yNM, rec.zNM), dTheirs = coreDensity(acq.xNM, acq.yNM, acq.zNM)
        let report = String(format: """
            Si.apt shank reconstruction (R0 40 nm, α 10°, L 90 mm, ξ 1.65, η 0.57, D %.2f mm): \
            x [%.1f, %.1f] y [%.1f, %.1f] z [%.1f, %.1f] nm, final R %.1f nm, core density %.1f ions/nm³; \
            AP Suite Position: x [%.1f, %.1f] y [%.1f, %.1f] z [%.1f, %.1f] nm, core density %.1f ions/nm³ \
            (η/Ω = %.1f)
            """, 2 * rMax, ours.lo[0], ours.hi[0], ours.lo[1], ours.hi[1], ours.lo[2], ours.hi[2], Double(rec.radiusNM.last!), dOurs,
            theirs.lo[0], theirs.hi[0], theirs.lo[1], theirs.hi[1], theirs.lo[2], theirs.hi[2], dTheirs, 0.57 / p.atomicVolumeNM3)
        print(report)
        let widthRatio = (ours.hi[0] - ours.lo[0]) / (theirs.hi[0] - theirs.lo[0])
        let depthRatio = (ours.hi[2] - ours.lo[2]) / (theirs.hi[2] - theirs.lo[2])
        XCTAssertGreaterThan(widthRatio, 1.0 / 3); XCTAssertLessThan(widthRatio, 3, report)
        XCTAssertGreaterThan(depthRatio, 1.0 / 3); XCTAssertLessThan(depthRatio, 3, report)
        XCTAssertGreaterThan(dOurs / dTheirs, 1.0 / 3); XCTAssertLessThan(dOurs / dTheirs, 3, report)
        XCTAssertGreaterThan(Double(rec.radiusNM.last!), 40, "the radius grows with the shank angle")
    }
}
