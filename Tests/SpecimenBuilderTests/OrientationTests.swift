import XCTest
import TwinCore
@testable import SpecimenBuilder

final class OrientationTests: XCTestCase {
    func assertVec(_ a: SIMD3<Double>, _ b: SIMD3<Double>, accuracy: Double = 1e-12,
                   file: StaticString = #filePath, line: UInt = #line) {
        for k in 0..<3 { XCTAssertEqual(a[k], b[k], accuracy: accuracy, "component \(k) of \(a) vs \(b)", file: file, line: line) }
    }

    func assertRot(_ a: Rotation3, _ rows: [[Double]], accuracy: Double = 1e-12,
                   file: StaticString = #filePath, line: UInt = #line) {
        for i in 0..<3 { for j in 0..<3 {
            XCTAssertEqual(a.rows[i][j], rows[i][j], accuracy: accuracy, "R[\(i)][\(j)] of \(a)", file: file, line: line)
        } }
    }

    func testRodriguesKnownMatrices() {
        assertRot(Rotation3(axis: [0, 0, 1], angleDeg: 90), [[0, -1, 0], [1, 0, 0], [0, 0, 1]])
        assertRot(Rotation3(axis: [1, 0, 0], angleDeg: 180), [[1, 0, 0], [0, -1, 0], [0, 0, -1]])
        assertRot(Rotation3(axis: [0, 2, 0], angleDeg: 90), [[0, 0, 1], [0, 1, 0], [-1, 0, 0]])
        // 120° about [111] cycles x → y → z.
        let r = Rotation3(axis: [1, 1, 1], angleDeg: 120)
        assertRot(r, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
        assertVec(r.apply([1, 0, 0]), [0, 1, 0])
        // Generic: 30° about z.
        let c = cos(Double.pi / 6), s = sin(Double.pi / 6)
        assertRot(Rotation3(axis: [0, 0, 5], angleDeg: 30), [[c, -s, 0], [s, c, 0], [0, 0, 1]])
        XCTAssertEqual(Rotation3(axis: [0, 0, 0], angleDeg: 0), .identity)
    }

    func testAngleAxisRoundTripIncludingNearZeroAnd180() {
        var rng = TwinRNG(seed: 7)
        for angle in [1e-7, 0.01, 5, 35, 62.8, 90, 120, 179.9, 180] {
            for _ in 0..<20 {
                let axis = SIMD3(rng.normal(), rng.normal(), rng.normal())
                let r = Rotation3(axis: axis, angleDeg: angle)
                XCTAssertEqual(r.angleDeg, angle, accuracy: 1e-9)
                let n = axis / (axis * axis).sum().squareRoot()
                if angle < 180 {
                    assertVec(r.axis, n, accuracy: 1e-6)
                } else {
                    XCTAssertEqual(abs((r.axis * n).sum()), 1, accuracy: 1e-9)
                }
                XCTAssertLessThan(r.orthonormalityError, 1e-14)
                // Quaternion round trip.
                let q = r.quaternion
                assertRot(Rotation3(quaternionW: q.w, x: q.x, y: q.y, z: q.z), r.rows, accuracy: 1e-12)
            }
        }
        XCTAssertEqual(Rotation3.identity.angleDeg, 0)
        XCTAssertEqual(Rotation3.identity.axis, [0, 0, 1])
    }

    func testCompositionAndTranspose() {
        let a = Rotation3(axis: [1, 2, 3], angleDeg: 40), b = Rotation3(axis: [-1, 0, 2], angleDeg: 75)
        let v = SIMD3<Double>(0.3, -1.2, 2.5)
        assertVec((a * b).apply(v), a.apply(b.apply(v)))
        assertRot(a * a.transposed, Rotation3.identity.rows)
        assertRot(a.transposed, Rotation3(axis: [1, 2, 3], angleDeg: -40).rows)
        // Same axis: angles add.
        assertRot(Rotation3(axis: [1, 1, 0], angleDeg: 20) * Rotation3(axis: [1, 1, 0], angleDeg: 15),
                  Rotation3(axis: [1, 1, 0], angleDeg: 35).rows)
        XCTAssertEqual(a.angleDeg(to: a * Rotation3(axis: [0, 1, 0], angleDeg: 12)), 12, accuracy: 1e-9)
        // Rows initialiser and orthonormalisation.
        XCTAssertEqual(Rotation3(rows: a.rows), a)
        let noisy = a.rows.map { $0.map { $0 * 1.01 + 0.002 } }
        let fixed = Rotation3.orthonormalised(rows: noisy)!
        XCTAssertLessThan(fixed.orthonormalityError, 1e-13)
        XCTAssertLessThan(fixed.angleDeg(to: a), 0.5)
        XCTAssertNil(Rotation3.orthonormalised(rows: [[1, 0, 0], [0, 1, 0], [0, 0, -1]]))
    }

    func testCrystalDirectionAlongZ() throws {
        for hkl: SIMD3<Double> in [[0, 0, 1], [1, 1, 0], [1, 1, 1], [1, 0, 0], [2, -1, 3], [0, 1, 1]] {
            for turn in [0.0, 33.0] {
                let r = try Rotation3(crystalDirectionAlongSpecimenZ: hkl, rotationAboutZDeg: turn)
                assertVec(r.apply(hkl / (hkl * hkl).sum().squareRoot()), [0, 0, 1])
                XCTAssertLessThan(r.orthonormalityError, 1e-14)
            }
        }
        XCTAssertEqual(try Rotation3(crystalDirectionAlongSpecimenZ: [0, 0, 1]), .identity)
        // [110] ∥ z: specimen x is along [1-10] (projection of [100]).
        let r110 = try Rotation3(crystalDirectionAlongSpecimenZ: [1, 1, 0])
        assertVec(r110.row0, SIMD3(1, -1, 0) / 2.0.squareRoot())
        // The turn is a right-handed rotation of the crystal about specimen z.
        let turned = try Rotation3(crystalDirectionAlongSpecimenZ: [0, 0, 1], rotationAboutZDeg: 90)
        assertVec(turned.apply([1, 0, 0]), [0, 1, 0])
        // [100] ∥ z uses [010] as the in-plane reference.
        let r100 = try Rotation3(crystalDirectionAlongSpecimenZ: [1, 0, 0])
        assertVec(r100.row0, [0, 1, 0])
        XCTAssertThrowsError(try Rotation3(crystalDirectionAlongSpecimenZ: [0, 0, 0])) { e in
            XCTAssertTrue("\(e)".contains("non-zero"), "\(e)")
        }
    }

    func testBungeEulerConvention() {
        let (p1, P, p2) = (30.0, 50.0, 70.0)
        let r = Rotation3(eulerBungeDeg: (phi1: p1, Phi: P, phi2: p2))
        let c1 = cos(p1 * .pi / 180), s1 = sin(p1 * .pi / 180)
        let c = cos(P * .pi / 180), s = sin(P * .pi / 180)
        let c2 = cos(p2 * .pi / 180), s2 = sin(p2 * .pi / 180)
        // Bunge 1982 eq. 2.39: g (specimen → crystal).
        let g = [[c1 * c2 - s1 * s2 * c, s1 * c2 + c1 * s2 * c, s2 * s],
                 [-c1 * s2 - s1 * c2 * c, -s1 * s2 + c1 * c2 * c, c2 * s],
                 [s1 * s, -c1 * s, c]]
        let gT = (0..<3).map { i in (0..<3).map { j in g[j][i] } }
        assertRot(r, gT)
        // Crystal [001] in the specimen frame.
        assertVec(r.apply([0, 0, 1]), [s1 * s, -c1 * s, c])
        // Round trip through the angles, including gimbal lock.
        for angles in [(30.0, 50.0, 70.0), (300.0, 120.0, 10.0), (45.0, 0.0, 0.0), (200.0, 180.0, 0.0)] {
            let rr = Rotation3(eulerBungeDeg: angles)
            let back = rr.eulerBungeDeg
            XCTAssertLessThan(rr.angleDeg(to: Rotation3(eulerBungeDeg: back)), 1e-9)
            if angles.1 > 0 && angles.1 < 180 {
                XCTAssertEqual(back.phi1, angles.0, accuracy: 1e-9)
                XCTAssertEqual(back.Phi, angles.1, accuracy: 1e-9)
                XCTAssertEqual(back.phi2, angles.2, accuracy: 1e-9)
            }
        }
    }

    func testCubicOperationsFormAGroup() {
        let ops = CubicSymmetry.operations
        XCTAssertEqual(ops.count, 24)
        XCTAssertEqual(ops[0], .identity)
        func index(_ r: Rotation3) -> Int? { ops.firstIndex { $0.angleDeg(to: r) < 1e-9 } }
        for (i, a) in ops.enumerated() {
            XCTAssertLessThan(a.orthonormalityError, 1e-15)
            XCTAssertEqual(index(a), i, "operations are distinct")
            XCTAssertNotNil(index(a.transposed), "inverse")
            for b in ops { XCTAssertNotNil(index(a * b), "closure") }
        }
        // Angle census: 1 identity, 9 × 90/180 about <100> (6 + 3), 6 × 180 about <110>, 8 × 120 about <111>.
        let angles = ops.map { Int($0.angleDeg.rounded()) }
        XCTAssertEqual(angles.filter { $0 == 0 }.count, 1)
        XCTAssertEqual(angles.filter { $0 == 90 }.count, 6)
        XCTAssertEqual(angles.filter { $0 == 120 }.count, 8)
        XCTAssertEqual(angles.filter { $0 == 180 }.count, 9)
    }

    func testMisorientationBasics() {
        let m = CubicSymmetry.misorientation(.identity, Rotation3(axis: [1, 1, 1], angleDeg: 60))
        XCTAssertEqual(m.angleDeg, 60, accuracy: 1e-9)
        assertVec(m.axis, SIMD3(1, 1, 1) / 3.0.squareRoot(), accuracy: 1e-9)

        let rs = VoronoiGrains.randomOrientations(count: 50, seed: 3)
        for r in rs {
            XCTAssertEqual(CubicSymmetry.misorientation(r, r).angleDeg, 0, accuracy: 1e-9)
            for s in CubicSymmetry.operations {
                XCTAssertEqual(CubicSymmetry.misorientation(r, r * s).angleDeg, 0, accuracy: 1e-6)
                XCTAssertEqual(CubicSymmetry.misorientationAngleDeg(r * s, r), 0, accuracy: 1e-6)
            }
        }
        // Known low-angle and axis results, with a random frame.
        let g = rs[7]
        let m5 = CubicSymmetry.misorientation(g, g * Rotation3(axis: [0, 0, 1], angleDeg: 5))
        XCTAssertEqual(m5.angleDeg, 5, accuracy: 1e-9)
        assertVec(m5.axis, [1, 0, 0], accuracy: 1e-9)  // [001] reported as its SST form [100]
        let m35 = CubicSymmetry.misorientation(g, g * Rotation3(axis: [1, 1, 0], angleDeg: 35))
        XCTAssertEqual(m35.angleDeg, 35, accuracy: 1e-9)
        assertVec(m35.axis, SIMD3(1, 1, 0) / 2.0.squareRoot(), accuracy: 1e-9)
        // 90° about <100> is a symmetry operation.
        XCTAssertEqual(CubicSymmetry.misorientation(g, g * Rotation3(axis: [0, 1, 0], angleDeg: 90)).angleDeg, 0, accuracy: 1e-9)
        // 50° about [001] ≡ 40° about [001].
        XCTAssertEqual(CubicSymmetry.misorientation(g, g * Rotation3(axis: [0, 0, 1], angleDeg: 50)).angleDeg, 40, accuracy: 1e-9)
        // Symmetric in the two grains.
        let h = rs[11]
        XCTAssertEqual(CubicSymmetry.misorientation(g, h).angleDeg, CubicSymmetry.misorientation(h, g).angleDeg, accuracy: 1e-9)
        XCTAssertEqual(CubicSymmetry.misorientation(g, h).angleDeg, CubicSymmetry.misorientationAngleDeg(g, h), accuracy: 1e-9)
    }

    func testMaximumCubicDisorientation() {
        let rs = VoronoiGrains.randomOrientations(count: 4001, seed: 11)
        var maxAngle = 0.0
        for i in 0..<4000 {
            let m = CubicSymmetry.misorientation(rs[i], rs[i + 1])
            maxAngle = max(maxAngle, m.angleDeg)
            XCTAssertLessThanOrEqual(m.angleDeg, 62.8 + 1e-6)
            // Axis in the standard triangle.
            if m.angleDeg > 1e-6 {
                XCTAssertGreaterThanOrEqual(m.axis.x, m.axis.y - 1e-9)
                XCTAssertGreaterThanOrEqual(m.axis.y, m.axis.z - 1e-9)
                XCTAssertGreaterThanOrEqual(m.axis.z, -1e-9)
            }
        }
        XCTAssertGreaterThan(maxAngle, 55)
        // The extreme itself: 62.80° about [1, 1, √2 − 1] (Mackenzie 1958).
        let extreme = Rotation3(axis: [1, 1, 2.0.squareRoot() - 1], angleDeg: 62.7994)
        XCTAssertEqual(CubicSymmetry.misorientation(.identity, extreme).angleDeg, 62.7994, accuracy: 1e-3)
    }

    func testSigma3RecoveredFromDifferentConstructions() throws {
        let base = Rotation3(eulerBungeDeg: (phi1: 17, Phi: 41, phi2: 73))
        let expected = SIMD3<Double>(1, 1, 1) / 3.0.squareRoot()
        // Σ3 written as 60°@[111], 180°@[111], 70.53°@[110], 180°@[211], 60°@[-1 1 1] (a variant).
        let forms: [(SIMD3<Double>, Double)] = [
            ([1, 1, 1], 60), ([1, 1, 1], 180), ([1, 1, 0], acos(1.0 / 3) * 180 / .pi), ([2, 1, 1], 180), ([-1, 1, 1], 60),
        ]
        for (axis, angle) in forms {
            let m = CubicSymmetry.misorientation(base, base * Rotation3(axis: axis, angleDeg: angle))
            XCTAssertEqual(m.angleDeg, 60, accuracy: 1e-6, "\(axis) \(angle)")
            assertVec(m.axis, expected, accuracy: 1e-6)
        }
        // Two grains built differently: one from its needle-axis direction, the other by turning it 180° about its
        // (111) normal in the specimen frame (rotation applied on the left, not in the crystal frame).
        let a = try Rotation3(crystalDirectionAlongSpecimenZ: [1, 1, 2], rotationAboutZDeg: 10)
        let nSpec = a.apply(SIMD3(1, 1, 1) / 3.0.squareRoot())
        let b = Rotation3(axis: nSpec, angleDeg: 180) * a  // rotated in the specimen frame
        let m = CubicSymmetry.misorientation(a, b)
        XCTAssertEqual(m.angleDeg, 60, accuracy: 1e-9)
        assertVec(m.axis, expected, accuracy: 1e-9)
    }
}
