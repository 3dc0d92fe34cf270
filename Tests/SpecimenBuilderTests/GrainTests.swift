import XCTest
import Foundation
import TwinCore
import Analysis
@testable import SpecimenBuilder

/// Lattice sites of a cube of half side `halfSideNM` centred at `centreNM` (specimen frame), filled with a cubic lattice
/// of orientation `orientation` (crystal → specimen), with optional Gaussian displacement noise of `noiseFraction`·a
/// per coordinate. Built here with plain loops so the tests do not depend on the specimen builder.
private func latticeBlock(fcc: Bool, aNM: Double, orientation: Rotation3, halfSideNM: Double,
                          centreNM: SIMD3<Double> = .zero, noiseFraction: Double = 0, seed: UInt64 = 1) -> [SIMD3<Double>] {
    let basis: [SIMD3<Double>] = fcc ? [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]] : [[0, 0, 0], [0.5, 0.5, 0.5]]
    let n = Int((halfSideNM * 3.0.squareRoot() / aNM).rounded(.up)) + 1
    var rng = TwinRNG(seed: seed, stream: 9)
    var out: [SIMD3<Double>] = []
    for i in -n...n { for j in -n...n { for k in -n...n { for b in basis {
        let c = (SIMD3(Double(i), Double(j), Double(k)) + b) * aNM
        let p = orientation.apply(c)
        guard abs(p.x) <= halfSideNM, abs(p.y) <= halfSideNM, abs(p.z) <= halfSideNM else { continue }
        var q = p + centreNM
        if noiseFraction > 0 {
            q += SIMD3(rng.normal(), rng.normal(), rng.normal()) * (noiseFraction * aNM)
        }
        out.append(q)
    } } } }
    return out
}

private func columns(_ pts: [SIMD3<Double>]) -> (x: [Float], y: [Float], z: [Float]) {
    (pts.map { Float($0.x) }, pts.map { Float($0.y) }, pts.map { Float($0.z) })
}

private func estimate(_ pts: [SIMD3<Double>], aNM: Double) throws -> [[Double]] {
    let c = columns(pts)
    return try LatticeOrientation.estimateCubic(xNM: c.x, yNM: c.y, zNM: c.z, indices: Array(pts.indices),
                                                latticeConstantNM: aNM)
}

final class GrainTests: XCTestCase {
    let aFe = 0.28665
    let aNi = 0.35240

    // MARK: Lattice orientation from atom positions

    func testRecoversBccBlockOrientationsAndMisorientations() throws {
        let g0 = Rotation3(eulerBungeDeg: (phi1: 23, Phi: 37, phi2: 61))
        for (axis, angle) in [(SIMD3<Double>(1, 1, 0), 35.0), (SIMD3<Double>(0, 0, 1), 5.0)] {
            let g1 = g0 * Rotation3(axis: axis, angleDeg: angle)
            XCTAssertEqual(CubicSymmetry.misorientation(g0, g1).angleDeg, angle, accuracy: 1e-9)
            for noise in [0.0, 0.02] {
                let a = latticeBlock(fcc: false, aNM: aFe, orientation: g0, halfSideNM: 2, noiseFraction: noise, seed: 1)
                let b = latticeBlock(fcc: false, aNM: aFe, orientation: g1, halfSideNM: 2, noiseFraction: noise, seed: 2)
                let ea = try estimate(a, aNM: aFe), eb = try estimate(b, aNM: aFe)
                let errA = LatticeOrientation.misorientationDeg(ea, g0.rows)
                let errB = LatticeOrientation.misorientationDeg(eb, g1.rows)
                let mis = LatticeOrientation.misorientationDeg(ea, eb)
                print("bcc \(axis) \(angle)° noise \(noise * 100)%: \(a.count) + \(b.count) atoms, "
                      + String(format: "orientation errors %.4f° %.4f°, misorientation %.4f°", errA, errB, mis))
                XCTAssertLessThan(errA, 0.5)
                XCTAssertLessThan(errB, 0.5)
                XCTAssertEqual(mis, angle, accuracy: 0.5)
                // The estimate is a proper rotation usable by Rotation3, and agrees with the full disorientation.
                let ra = Rotation3(rows: ea), rb = Rotation3(rows: eb)
                XCTAssertLessThan(ra.orthonormalityError, 1e-12)
                let full = CubicSymmetry.misorientation(ra, rb)
                XCTAssertEqual(full.angleDeg, mis, accuracy: 1e-6)
                let expectedAxis = axis / (axis * axis).sum().squareRoot()
                let sst = SIMD3(expectedAxis.max(), expectedAxis.x + expectedAxis.y + expectedAxis.z - expectedAxis.max() - expectedAxis.min(), expectedAxis.min())
                XCTAssertGreaterThan((full.axis * sst).sum(), cos(5 * Double.pi / 180), "axis \(full.axis) vs \(sst)")
            }
        }
    }

    func testRecoversFccOrientationsWithNoise() throws {
        let g0 = try Rotation3(crystalDirectionAlongSpecimenZ: [1, 2, 3], rotationAboutZDeg: 14)
        for (axis, angle) in [(SIMD3<Double>(1, 1, 0), 35.0), (SIMD3<Double>(0, 0, 1), 5.0)] {
            let g1 = g0 * Rotation3(axis: axis, angleDeg: angle)
            for noise in [0.0, 0.02] {
                let a = latticeBlock(fcc: true, aNM: aNi, orientation: g0, halfSideNM: 2, noiseFraction: noise, seed: 3)
                let b = latticeBlock(fcc: true, aNM: aNi, orientation: g1, halfSideNM: 2, noiseFraction: noise, seed: 4)
                let ea = try estimate(a, aNM: aNi), eb = try estimate(b, aNM: aNi)
                XCTAssertLessThan(LatticeOrientation.misorientationDeg(ea, g0.rows), 0.5)
                XCTAssertLessThan(LatticeOrientation.misorientationDeg(eb, g1.rows), 0.5)
                XCTAssertEqual(LatticeOrientation.misorientationDeg(ea, eb), angle, accuracy: 0.5)
            }
        }
    }

    func testEstimateIsCanonicalAndDiagnosticsReflectNoise() throws {
        // Identity lattice: the canonical form is the identity itself.
        let block = latticeBlock(fcc: false, aNM: aFe, orientation: .identity, halfSideNM: 1.5)
        let e = try estimate(block, aNM: aFe)
        for i in 0..<3 { for j in 0..<3 { XCTAssertEqual(e[i][j], i == j ? 1 : 0, accuracy: 1e-6) } }
        let c = columns(block)
        let clean = try LatticeOrientation.estimateCubicDetailed(xNM: c.x, yNM: c.y, zNM: c.z, indices: Array(block.indices),
                                                                  latticeConstantNM: aFe)
        let noisyBlock = latticeBlock(fcc: false, aNM: aFe, orientation: .identity, halfSideNM: 1.5, noiseFraction: 0.03)
        let cn = columns(noisyBlock)
        let noisy = try LatticeOrientation.estimateCubicDetailed(xNM: cn.x, yNM: cn.y, zNM: cn.z,
                                                                  indices: Array(noisyBlock.indices), latticeConstantNM: aFe)
        XCTAssertLessThan(clean.rmsSpreadDeg, 0.01)
        XCTAssertGreaterThan(noisy.rmsSpreadDeg, 1)
        XCTAssertGreaterThan(clean.assignedFraction, 0.99)
        XCTAssertLessThan(LatticeOrientation.misorientationDeg(noisy.rows, Rotation3.identity.rows), 0.5)
    }

    /// A bicrystal in one set of positions, split by a tilted plane: each grain's orientation is recovered from its
    /// interior atoms only, and the boundary's misorientation from those estimates.
    func testBicrystalMisorientationFromAtomPositions() throws {
        let plane = try BoundaryPlane(crossingAxisAtZNM: 0, tiltDeg: 20, azimuthDeg: 30)
        let g0 = Rotation3(eulerBungeDeg: (phi1: 100, Phi: 20, phi2: 5))
        let spec = try GrainBoundarySpec(plane: plane, misorientationAxis: [1, 1, 0], angleDeg: 35)
        let orientations = GrainBoundarySpec.grainOrientations(base: g0, boundaries: [spec])
        let grains = PlanarGrains(specs: [spec])
        var pts: [SIMD3<Double>] = []
        var label: [Int32] = []
        for (g, r) in orientations.enumerated() {
            for p in latticeBlock(fcc: false, aNM: aFe, orientation: r, halfSideNM: 3, noiseFraction: 0.02, seed: UInt64(g + 10))
            where grains.grain(xNM: p.x, yNM: p.y, zNM: p.z) == Int32(g) {
                pts.append(p); label.append(Int32(g))
            }
        }
        let c = columns(pts)
        var estimates: [[[Double]]] = []
        for g in 0..<2 {
            let interior = pts.indices.filter {
                label[$0] == Int32(g) && grains.distanceToNearestBoundaryNM(xNM: pts[$0].x, yNM: pts[$0].y, zNM: pts[$0].z).distance > 0.6
            }
            XCTAssertGreaterThan(interior.count, 1000)
            let e = try LatticeOrientation.estimateCubic(xNM: c.x, yNM: c.y, zNM: c.z, indices: interior, latticeConstantNM: aFe)
            XCTAssertLessThan(LatticeOrientation.misorientationDeg(e, orientations[g].rows), 0.5)
            estimates.append(e)
        }
        XCTAssertEqual(LatticeOrientation.misorientationDeg(estimates[0], estimates[1]), 35, accuracy: 0.5)
    }

    func testLatticeOrientationErrors() throws {
        let block = latticeBlock(fcc: false, aNM: aFe, orientation: .identity, halfSideNM: 1)
        let c = columns(block)
        // Wrong lattice constants: no pairs at all, or pairs along other directions (⟨111⟩ at √3·a, ⟨110⟩ at √2·a).
        XCTAssertThrowsError(try LatticeOrientation.estimateCubic(xNM: c.x, yNM: c.y, zNM: c.z, indices: Array(block.indices),
                                                                  latticeConstantNM: 0.8 * aFe)) { e in
            XCTAssertTrue("\(e)".contains("neighbour pairs"), "\(e)")
        }
        for wrong in [0.5, aFe * 3.0.squareRoot(), aFe * 2.0.squareRoot(), aFe * 1.6] {
            XCTAssertThrowsError(try LatticeOrientation.estimateCubic(xNM: c.x, yNM: c.y, zNM: c.z, indices: Array(block.indices),
                                                                      latticeConstantNM: wrong), "a = \(wrong)") { e in
                print("a = \(wrong) nm for bcc Fe: \(e)")
            }
        }
        // A noisier lattice (5 % of a) is still recovered.
        let g = Rotation3(eulerBungeDeg: (phi1: 3, Phi: 77, phi2: 140))
        let noisy = latticeBlock(fcc: false, aNM: aFe, orientation: g, halfSideNM: 2, noiseFraction: 0.05)
        XCTAssertLessThan(LatticeOrientation.misorientationDeg(try estimate(noisy, aNM: aFe), g.rows), 0.5)
        XCTAssertThrowsError(try LatticeOrientation.estimateCubic(xNM: c.x, yNM: Array(c.y.dropLast()), zNM: c.z, indices: [0],
                                                                  latticeConstantNM: aFe))
        XCTAssertThrowsError(try LatticeOrientation.estimateCubic(xNM: c.x, yNM: c.y, zNM: c.z, indices: [c.x.count],
                                                                  latticeConstantNM: aFe))
        XCTAssertThrowsError(try LatticeOrientation.estimateCubic(xNM: c.x, yNM: c.y, zNM: c.z, indices: [0, 1],
                                                                  latticeConstantNM: aFe))
        XCTAssertThrowsError(try LatticeOrientation.estimateCubic(xNM: c.x, yNM: c.y, zNM: c.z, indices: [0],
                                                                  latticeConstantNM: -1))
    }

    // MARK: Voronoi grains

    private func bruteForce(_ seeds: [SIMD3<Double>], _ p: SIMD3<Double>) -> Int32 {
        var best = 0, bestD = Double.infinity
        for (k, s) in seeds.enumerated() {
            let d = ((p - s) * (p - s)).sum()
            if d < bestD { bestD = d; best = k }
        }
        return Int32(best)
    }

    func testVoronoiQueriesReturnTheNearestSeed() throws {
        let lo = SIMD3<Double>(-30, -30, -200), hi = SIMD3<Double>(30, 30, 0)
        for size in [25.0, 6.0, 500.0] {
            let v = try VoronoiGrains(boxMinNM: lo, boxMaxNM: hi, meanGrainSizeNM: size, seed: 42)
            XCTAssertEqual(v.grainCount, max(1, Int((60.0 * 60 * 200 / pow(size, 3)).rounded())))
            XCTAssertEqual(v.seedsNM.count, v.grainCount)
            for s in v.seedsNM { XCTAssertTrue((0..<3).allSatisfy { s[$0] >= lo[$0] && s[$0] <= hi[$0] }) }
            var rng = TwinRNG(seed: 5)
            var mismatches = 0
            for i in 0..<10_000 {
                // 90 % inside the box, 10 % in a 20 % larger box (the grid margin and the fallback beyond it).
                let grow = i % 10 == 0 ? 1.2 : 1.0
                let centre = (lo + hi) / 2, half = (hi - lo) / 2 * grow
                let p = centre + half * SIMD3(2 * rng.uniform() - 1, 2 * rng.uniform() - 1, 2 * rng.uniform() - 1)
                if v.grain(xNM: p.x, yNM: p.y, zNM: p.z) != bruteForce(v.seedsNM, p) { mismatches += 1 }
            }
            XCTAssertEqual(mismatches, 0, "grain size \(size)")
            // Seeds own themselves; box corners and faces work.
            for (k, s) in v.seedsNM.enumerated().prefix(200) { XCTAssertEqual(v.grain(xNM: s.x, yNM: s.y, zNM: s.z), Int32(k)) }
            // Box corners, and points far outside the padded lookup grid (linear-scan fallback).
            for p in [lo, hi, SIMD3(lo.x, hi.y, lo.z), SIMD3(hi.x, lo.y, hi.z), SIMD3(1000, 0, 0), SIMD3(-500, 300, -900)] {
                XCTAssertEqual(v.grain(xNM: p.x, yNM: p.y, zNM: p.z), bruteForce(v.seedsNM, p))
            }
            let stats = v.lookupGridStatistics
            print("Voronoi d = \(size) nm: \(v.grainCount) grains, grid \(stats.cells), mean candidates per cell \(String(format: "%.2f", stats.meanCandidatesPerCell))")
        }
    }

    func testVoronoiIsDeterministicAndSeedDependent() throws {
        let lo = SIMD3<Double>(0, 0, 0), hi = SIMD3<Double>(50, 50, 50)
        let a = try VoronoiGrains(boxMinNM: lo, boxMaxNM: hi, meanGrainSizeNM: 10, seed: 1)
        let b = try VoronoiGrains(boxMinNM: lo, boxMaxNM: hi, meanGrainSizeNM: 10, seed: 1)
        let c = try VoronoiGrains(boxMinNM: lo, boxMaxNM: hi, meanGrainSizeNM: 10, seed: 2)
        XCTAssertEqual(a.seedsNM, b.seedsNM)
        XCTAssertNotEqual(a.seedsNM, c.seedsNM)
        XCTAssertEqual(a.grainCount, 125)
    }

    func testVoronoiTiesGoToTheLowestIndex() throws {
        let lo = SIMD3<Double>(-2, -2, -2), hi = SIMD3<Double>(2, 2, 2)
        let v = try VoronoiGrains(boxMinNM: lo, boxMaxNM: hi, seedsNM: [[-1, 0, 0], [1, 0, 0], [0, 1.5, 0]])
        XCTAssertEqual(v.grain(xNM: 0, yNM: 0.3, zNM: 0.2), 0)
        let w = try VoronoiGrains(boxMinNM: lo, boxMaxNM: hi, seedsNM: [[1, 0, 0], [-1, 0, 0], [0, 1.5, 0]])
        XCTAssertEqual(w.grain(xNM: 0, yNM: 0.3, zNM: 0.2), 0)
        XCTAssertEqual(w.grain(xNM: 0, yNM: 0.3, zNM: 5), 0)  // outside the box (fallback)
        // Equidistant from seeds 1 and 2 only.
        let u = try VoronoiGrains(boxMinNM: lo, boxMaxNM: hi, seedsNM: [[-1.9, -1.9, -1.9], [0, 0, 1], [0, 0, -1]])
        XCTAssertEqual(u.grain(xNM: 0.5, yNM: 0.5, zNM: 0), 1)
    }

    func testVoronoiGrainSizeStatisticsArePlausible() throws {
        let lo = SIMD3<Double>(0, 0, 0), hi = SIMD3<Double>(100, 100, 100)
        let d = 12.5
        let v = try VoronoiGrains(boxMinNM: lo, boxMaxNM: hi, meanGrainSizeNM: d, seed: 9)
        XCTAssertEqual(v.grainCount, 512)
        XCTAssertEqual(v.meanGrainSizeNM, d, accuracy: 1e-9)
        // Volume of each grain by counting a 100³ grid of points.
        let n = 100
        var counts = [Int](repeating: 0, count: v.grainCount)
        for i in 0..<n { for j in 0..<n { for k in 0..<n {
            let p = (SIMD3(Double(i), Double(j), Double(k)) + 0.5) * (100.0 / Double(n))
            counts[Int(v.grain(xNM: p.x, yNM: p.y, zNM: p.z))] += 1
        } } }
        let vols = counts.map { Double($0) * pow(100.0 / Double(n), 3) }
        let mean = vols.reduce(0, +) / Double(vols.count)
        let sd = (vols.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(vols.count - 1)).squareRoot()
        let cv = sd / mean
        let empty = counts.filter { $0 == 0 }.count
        // Mean nearest-neighbour seed distance: 0.554 λ^(−1/3) = 0.554 d for a Poisson process (edge effects raise it).
        var nn = 0.0
        for (k, s) in v.seedsNM.enumerated() {
            var best = Double.infinity
            for (m, t) in v.seedsNM.enumerated() where m != k { best = min(best, ((s - t) * (s - t)).sum()) }
            nn += best.squareRoot()
        }
        nn /= Double(v.grainCount)
        print(String(format: "Voronoi statistics: mean volume %.1f nm³ (d³ = %.1f), CV %.3f (Poisson–Voronoi ≈ 0.42), empty %d, mean NN seed distance %.2f nm (0.554 d = %.2f)",
                     mean, d * d * d, cv, empty, nn, 0.554 * d))
        XCTAssertEqual(mean, d * d * d, accuracy: 1e-6 * d * d * d)
        XCTAssertGreaterThan(cv, 0.3)
        XCTAssertLessThan(cv, 0.6)
        XCTAssertLessThanOrEqual(empty, 2)
        XCTAssertGreaterThan(nn, 0.5 * d)
        XCTAssertLessThan(nn, 0.7 * d)
    }

    func testVoronoiTiming() throws {
        var rng = TwinRNG(seed: 8)
        let n = 1_000_000
        let pts = (0..<n).map { _ in SIMD3(rng.uniform() * 80 - 40, rng.uniform() * 80 - 40, -rng.uniform() * 300) }
        for size in [20.0, 4.0] {
            let tb = Date()
            let v = try VoronoiGrains(boxMinNM: [-40, -40, -300], boxMaxNM: [40, 40, 0], meanGrainSizeNM: size, seed: 3)
            let build = Date().timeIntervalSince(tb)
            let t0 = Date()
            var acc: Int64 = 0
            for p in pts { acc &+= Int64(v.grain(xNM: p.x, yNM: p.y, zNM: p.z)) }
            let dt = Date().timeIntervalSince(t0)
            print("Voronoi d = \(size) nm, \(v.grainCount) grains: set-up " + String(format: "%.3f s; ", build)
                  + String(format: "10^6 queries in %.3f s = %.1f M queries/s (checksum \(acc))", dt, Double(n) / dt / 1e6))
        }
    }

    func testRandomOrientationsAreUniform() {
        let rs = VoronoiGrains.randomOrientations(count: 20_000, seed: 4)
        XCTAssertEqual(rs.count, 20_000)
        XCTAssertEqual(VoronoiGrains.randomOrientations(count: 5, seed: 4), Array(rs.prefix(5)))
        // Haar measure: angle density (1 − cos θ)/π, mean θ = π/2 + 2/π = 126.48°; E[R] = 0.
        let meanAngle = rs.map(\.angleDeg).reduce(0, +) / Double(rs.count)
        XCTAssertEqual(meanAngle, (Double.pi / 2 + 2 / Double.pi) * 180 / .pi, accuracy: 1.0)
        var sum = [[Double]](repeating: [0, 0, 0], count: 3)
        for r in rs { let m = r.rows; for i in 0..<3 { for j in 0..<3 { sum[i][j] += m[i][j] } } }
        for i in 0..<3 { for j in 0..<3 { XCTAssertEqual(sum[i][j] / Double(rs.count), 0, accuracy: 0.02) } }
        for r in rs.prefix(100) { XCTAssertLessThan(r.orthonormalityError, 1e-13) }
    }

    func testVoronoiErrors() {
        XCTAssertThrowsError(try VoronoiGrains(boxMinNM: [0, 0, 0], boxMaxNM: [1, 1, 1], meanGrainSizeNM: 0, seed: 1)) { e in
            XCTAssertTrue("\(e)".contains("mean_grain_size_nm"), "\(e)")
        }
        XCTAssertThrowsError(try VoronoiGrains(boxMinNM: [0, 0, 0], boxMaxNM: [1, -1, 1], meanGrainSizeNM: 1, seed: 1))
        XCTAssertThrowsError(try VoronoiGrains(boxMinNM: [0, 0, 0], boxMaxNM: [1, 1, 1], seedsNM: []))
        XCTAssertThrowsError(try VoronoiGrains(boxMinNM: [0, 0, 0], boxMaxNM: [1000, 1000, 1000], meanGrainSizeNM: 0.1, seed: 1))
        // A box smaller than one grain still has one grain.
        XCTAssertEqual(try VoronoiGrains(boxMinNM: [0, 0, 0], boxMaxNM: [1, 1, 1], meanGrainSizeNM: 50, seed: 1).grainCount, 1)
    }

    // MARK: Planar grains

    func testPlanarGrainsAssignmentAndDistances() throws {
        // GB1 at z = −40 tilted 25° towards +x; GB2 at z = −80 perpendicular to the needle.
        let gb2 = try BoundaryPlane(crossingAxisAtZNM: -80, tiltDeg: 0)
        let gb1 = try BoundaryPlane(crossingAxisAtZNM: -40, tiltDeg: 25)
        let grains = PlanarGrains(boundaries: [gb2, gb1])
        XCTAssertEqual(grains.grainCount, 3)
        XCTAssertNoThrow(try grains.validate(zMinNM: -150, zMaxNM: 0, radiusNM: 20))
        XCTAssertEqual(grains.grain(xNM: 0, yNM: 0, zNM: -100), 0)
        XCTAssertEqual(grains.grain(xNM: 0, yNM: 0, zNM: -60), 1)
        XCTAssertEqual(grains.grain(xNM: 0, yNM: 0, zNM: -10), 2)
        XCTAssertEqual(grains.grain(xNM: 0, yNM: 0, zNM: -80), 0, "on the plane: lower grain")
        // Tilted plane: at x = 10 it sits at z = −40 − 10·tan 25°.
        let zb = -40 - 10 * tan(25 * Double.pi / 180)
        XCTAssertEqual(grains.grain(xNM: 10, yNM: 5, zNM: zb + 0.01), 2)
        XCTAssertEqual(grains.grain(xNM: 10, yNM: 5, zNM: zb - 0.01), 1)
        XCTAssertEqual(gb1.tiltFromNeedleAxisDeg, 25, accuracy: 1e-12)
        XCTAssertEqual(gb1.axisCrossingZNM!, -40, accuracy: 1e-12)
        // Distances.
        let d = grains.distanceToNearestBoundaryNM(xNM: 0, yNM: 0, zNM: -45)
        XCTAssertEqual(d.boundary, 1)
        XCTAssertEqual(d.distance, 5 * cos(25 * Double.pi / 180), accuracy: 1e-12)
        let d2 = grains.distanceToNearestBoundaryNM(xNM: 3, yNM: 0, zNM: -77)
        XCTAssertEqual(d2.boundary, 0)
        XCTAssertEqual(d2.distance, 3, accuracy: 1e-12)
        XCTAssertEqual(grains.signedDistanceNM(toBoundary: 0, xNM: 3, yNM: 0, zNM: -83), -3, accuracy: 1e-12)
        XCTAssertEqual(PlanarGrains(boundaries: []).distanceToNearestBoundaryNM(xNM: 0, yNM: 0, zNM: 0).boundary, -1)
        XCTAssertEqual(PlanarGrains(boundaries: []).grain(xNM: 1, yNM: 2, zNM: 3), 0)
        // Sample-point validation agrees.
        let pts: [SIMD3<Double>] = (0..<2000).map { (i: Int) -> SIMD3<Double> in
            let x = Double(i % 40) - 20, y = Double(i / 40 % 40) - 20
            return SIMD3<Double>(x, y, -Double(i) * 0.075)
        }
        XCTAssertNoThrow(try grains.validate(samplePointsNM: pts))
        XCTAssertThrowsError(try PlanarGrains(boundaries: [gb1, gb2]).validate(samplePointsNM: pts))
    }

    func testPlanarGrainsValidationErrors() throws {
        let flat = try BoundaryPlane(crossingAxisAtZNM: -50, tiltDeg: 0)
        // Out of order.
        let low = try BoundaryPlane(crossingAxisAtZNM: -90, tiltDeg: 0)
        XCTAssertThrowsError(try PlanarGrains(boundaries: [flat, low]).validate(zMinNM: -150, zMaxNM: 0, radiusNM: 20)) { e in
            XCTAssertTrue("\(e)".contains("out of order"), "\(e)")
        }
        // Intersecting inside the needle: a steep plane crossing the flat one within r = 20.
        let steep = try BoundaryPlane(crossingAxisAtZNM: -45, tiltDeg: 70)
        XCTAssertThrowsError(try PlanarGrains(boundaries: [flat, steep]).validate(zMinNM: -150, zMaxNM: 0, radiusNM: 20)) { e in
            XCTAssertTrue("\(e)".contains("intersect"), "\(e)")
        }
        // The same planes are fine in a thinner needle where they do not meet (steep plane stays above z = −50 for
        // |x| < 5/tan 70° ≈ 1.8 nm).
        XCTAssertNoThrow(try PlanarGrains(boundaries: [flat, steep]).validate(zMinNM: -150, zMaxNM: 0, radiusNM: 1.5))
        // A plane that misses the needle.
        let miss = try BoundaryPlane(crossingAxisAtZNM: -400, tiltDeg: 10)
        XCTAssertThrowsError(try PlanarGrains(boundaries: [low, flat, miss]).validate(zMinNM: -150, zMaxNM: 0, radiusNM: 20)) { e in
            let s = "\(e)"
            XCTAssertTrue(s.contains("boundary 2 (point (0.000, 0.000, -400.000) nm, normal"), s)
            XCTAssertTrue(s.contains("does not cross the needle between z = -150.000 and 0.000 nm"), s)
        }
        // A plane parallel to the axis outside the needle radius misses it; inside it crosses.
        let side = try BoundaryPlane(pointNM: [25, 0, 0], normal: [1, 0, 0])
        XCTAssertThrowsError(try PlanarGrains(boundaries: [side]).validate(zMinNM: -150, zMaxNM: 0, radiusNM: 20))
        XCTAssertNoThrow(try PlanarGrains(boundaries: [side]).validate(zMinNM: -150, zMaxNM: 0, radiusNM: 30))
        // Radius profile: a cone of half-angle 10° from r = 5 at the apex; the side plane at x = 25 crosses only low down.
        let cone: (Double) -> Double = { z in 5 + (-z) * tan(10 * Double.pi / 180) }
        XCTAssertNoThrow(try PlanarGrains(boundaries: [side]).validate(zMinNM: -150, zMaxNM: 0, radiusAtZNM: cone))
        XCTAssertThrowsError(try PlanarGrains(boundaries: [side]).validate(zMinNM: -100, zMaxNM: 0, radiusAtZNM: cone))
        // Bad planes and ranges.
        XCTAssertThrowsError(try BoundaryPlane(pointNM: [0, 0, 0], normal: [0, 0, 0])) { e in
            XCTAssertTrue("\(e)".contains("non-zero"), "\(e)")
        }
        XCTAssertThrowsError(try BoundaryPlane(crossingAxisAtZNM: 0, tiltDeg: 90))
        XCTAssertThrowsError(try PlanarGrains(boundaries: [flat]).validate(zMinNM: 0, zMaxNM: -10, radiusNM: 5))
        XCTAssertThrowsError(try PlanarGrains(boundaries: [flat]).validate(zMinNM: -100, zMaxNM: 0, radiusNM: 0))
    }

    // MARK: Boundary specs

    func testBoundarySpecsOrientationsAndCharacter() throws {
        let base = try Rotation3(crystalDirectionAlongSpecimenZ: [0, 0, 1], rotationAboutZDeg: 12)
        let gb2Plane = try BoundaryPlane(crossingAxisAtZNM: -80, tiltDeg: 5)
        let gb1Plane = try BoundaryPlane(crossingAxisAtZNM: -40, tiltDeg: 25, azimuthDeg: 90)
        // GB2: low-angle (4°) twist about its normal.
        let gb2 = try GrainBoundarySpec.twist(plane: gb2Plane, orientationBelow: base, angleDeg: 4)
        XCTAssertTrue(gb2.isTwist(orientationBelow: base))
        XCTAssertFalse(gb2.isTilt(orientationBelow: base))
        XCTAssertEqual(gb2.tiltTwistCharacter(orientationBelow: base).twistFraction, 1, accuracy: 1e-12)
        let mid = base * gb2.misorientation
        // GB1: high-angle (40°) boundary about [111] of the grain below.
        let gb1 = try GrainBoundarySpec(plane: gb1Plane, misorientationAxis: [1, 1, 1], angleDeg: 40)
        let o = GrainBoundarySpec.grainOrientations(base: base, boundaries: [gb2, gb1])
        XCTAssertEqual(o.count, 3)
        XCTAssertEqual(o[0], base)
        XCTAssertLessThan(o[1].angleDeg(to: mid), 1e-12)
        XCTAssertEqual(CubicSymmetry.misorientation(o[0], o[1]).angleDeg, 4, accuracy: 1e-9)
        XCTAssertEqual(CubicSymmetry.misorientation(o[1], o[2]).angleDeg, 40, accuracy: 1e-9)
        // The axis has the same specimen direction seen from either grain; the twist axis is the plane normal.
        let axisSpec = o[0].apply(gb2.misorientationAxis)
        XCTAssertEqual((axisSpec - o[1].apply(gb2.misorientationAxis)).max(), 0, accuracy: 1e-12)
        XCTAssertEqual((axisSpec * gb2Plane.normal).sum(), 1, accuracy: 1e-12)
        // A tilt boundary.
        let tilt = try GrainBoundarySpec.tilt(plane: gb1Plane, orientationBelow: o[1], tiltAxisSpecimen: [1, 0, 0.3], angleDeg: 20)
        XCTAssertTrue(tilt.isTilt(orientationBelow: o[1]))
        XCTAssertEqual(tilt.tiltTwistCharacter(orientationBelow: o[1]).twistFraction, 0, accuracy: 1e-12)
        let mixed = gb1.tiltTwistCharacter(orientationBelow: o[1])
        XCTAssertGreaterThan(mixed.twistFraction, 0)
        XCTAssertLessThan(mixed.twistFraction, 1)
        // PlanarGrains from specs.
        let grains = PlanarGrains(specs: [gb2, gb1])
        XCTAssertEqual(grains.boundaries, [gb2Plane, gb1Plane])
        XCTAssertNoThrow(try grains.validate(zMinNM: -150, zMaxNM: 0, radiusNM: 15))
        // Errors.
        XCTAssertThrowsError(try GrainBoundarySpec(plane: gb1Plane, misorientationAxis: [0, 0, 0], angleDeg: 10)) { e in
            XCTAssertTrue("\(e)".contains("axis"), "\(e)")
        }
        XCTAssertThrowsError(try GrainBoundarySpec(plane: gb1Plane, misorientationAxis: [0, 0, 1], angleDeg: 190)) { e in
            XCTAssertTrue("\(e)".contains("0 … 180"), "\(e)")
        }
        XCTAssertThrowsError(try GrainBoundarySpec(plane: gb1Plane, misorientationAxis: [0, 0, 1], angleDeg: -1))
        XCTAssertThrowsError(try GrainBoundarySpec.tilt(plane: gb1Plane, orientationBelow: base, tiltAxisSpecimen: gb1Plane.normal, angleDeg: 5))
    }
}
