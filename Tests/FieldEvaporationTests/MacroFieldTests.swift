import XCTest
@testable import FieldEvaporation
import MaterialsData

final class MacroFieldTests: XCTestCase {
    func testEllipticIntegralsMatchTables() {
        // Abramowitz & Stegun table 17.1 / 17.5: K(0.5) = 1.854074677301372, E(0.5) = 1.350643881047675.
        let ke = completeEllipticKE(0.5)
        XCTAssertEqual(ke.k, 1.854074677301372, accuracy: 1e-13)
        XCTAssertEqual(ke.e, 1.350643881047675, accuracy: 1e-13)
        let z = completeEllipticKE(0)
        XCTAssertEqual(z.k, .pi / 2, accuracy: 1e-15); XCTAssertEqual(z.e, .pi / 2, accuracy: 1e-15)
    }

    func testRingFieldIsMinusGradientOfPotential() {
        let a = 3.0, z0 = -1.0
        for (r, z) in [(0.5, 2.0), (4.0, -0.5), (2.9, -1.3), (10.0, 7.0)] {
            let h = 1e-5
            let dr = (AxisymmetricFieldModel.ringPotential(rho: r + h, z: z, ringRho: a, ringZ: z0)
                      - AxisymmetricFieldModel.ringPotential(rho: r - h, z: z, ringRho: a, ringZ: z0)) / (2 * h)
            let dz = (AxisymmetricFieldModel.ringPotential(rho: r, z: z + h, ringRho: a, ringZ: z0)
                      - AxisymmetricFieldModel.ringPotential(rho: r, z: z - h, ringRho: a, ringZ: z0)) / (2 * h)
            let e = AxisymmetricFieldModel.ringField(rho: r, z: z, ringRho: a, ringZ: z0)
            XCTAssertEqual(e.0, -dr, accuracy: 1e-7 * max(1, abs(dr)))
            XCTAssertEqual(e.1, -dz, accuracy: 1e-7 * max(1, abs(dz)))
        }
    }

    func testIsolatedSphereFieldIsVOverR() throws {
        let r = 20.0
        let m = try AxisymmetricFieldModel(profile: .sphere(radiusNM: r), environment: .isolated, apexSpacingNM: 0.08 * r)
        XCTAssertLessThan(m.maxCollocationError, 1e-3)
        XCTAssertEqual(m.apexFieldPerVolt * r, 1, accuracy: 0.005)
        XCTAssertEqual(m.capMeanFieldPerVolt(polarAngleDeg: 60) * r, 1, accuracy: 0.005)
        let theta = try XCTUnwrap(m.detectorAngle(launchPolarAngleRad: 0.3))
        XCTAssertEqual(0.3 / theta, 1, accuracy: 0.01, "radial flight from an isolated sphere: ξ = 1")
    }

    func testHyperboloidFacingPlaneMatchesAnalyticFieldFactor() throws {
        for (r, dMM) in [(10.0, 0.002), (20.0, 0.01)] {
            var env = NeedleEnvironment.isolated
            env.counterElectrodeDistanceMM = dMM
            let d = dMM * 1e6
            let prof = MeridianProfile.hyperboloid(radiusNM: r, distanceNM: d, lengthNM: 10 * d)
            let m = try AxisymmetricFieldModel(profile: prof, environment: env, apexSpacingNM: 0.08 * r)
            let kf = 1 / (m.apexFieldPerVolt * r)
            let exact = HyperboloidSolution.fieldFactor(radiusNM: r, distanceNM: d)
            print("hyperboloid R=\(r) d=\(dMM) mm: kf \(kf) exact \(exact) colloc err \(m.maxCollocationError) rings \(m.ringCount)")
            XCTAssertEqual(kf / exact, 1, accuracy: 0.05)
        }
    }

    func testF200EnvironmentFieldFactorAndCompression() throws {
        for r in [10.0, 50.0] {
            let prof = MeridianProfile.sphereOnCone(radiusNM: r, shankHalfAngleDeg: 10, postRadiusNM: 50_000, totalLengthNM: 3e6)
            let m = try AxisymmetricFieldModel(profile: prof, environment: NeedleEnvironment(), apexSpacingNM: 0.08 * r)
            let kf = 1 / (m.apexFieldPerVolt * r)
            let th = try XCTUnwrap(m.detectorAngle(launchPolarAngleRad: 4 * .pi / 180))
            print("F200 R=\(r): kf \(kf) cap-kf \(1 / (m.capMeanFieldPerVolt(polarAngleDeg: 20) * r)) xi \(4 * .pi / 180 / th) err \(m.maxCollocationError) at z \(m.worstCheckZNM) rings \(m.ringCount)")
            XCTAssertGreaterThan(kf, 3); XCTAssertLessThan(kf, 8)
        }
    }
}

final class PostIonisationTests: XCTestCase {
    func testUsualChargeStatesDominateAtEvaporationFields() {
        let zs = [13, 24, 26, 47]
        let m = PostIonisationModel(elements: zs, apexRadiusNM: 20)
        for z in zs {
            let ev = PeriodicTable.evaporation(z: z)!
            let fr = m.chargeStateFractions(z: z, fieldVPerNM: ev.evaporationFieldVPerNM)
            XCTAssertEqual(fr.reduce(0, +), 1, accuracy: 1e-12)
            XCTAssertEqual(fr.indices.max { fr[$0] < fr[$1] }! + 1, ev.usualChargeState, "Z=\(z): \(fr)")
            // Post-ionisation grows with the field.
            var last = -1.0
            for f in stride(from: 10.0, through: 60.0, by: 5.0) {
                let p = m.probability(z: z, charge: 1, fieldVPerNM: f)
                XCTAssertGreaterThanOrEqual(p, last); last = p
            }
        }
    }
}

final class FieldCheckTests: XCTestCase {
    func testAtomisticSphereFieldIsUniformAndVOverR() throws {
        let r = try FieldCheck.run(.sphere, radiusNM: 10, voltageV: 300, threads: 2)
        print("sphere: \(r)")
        XCTAssertEqual(r.meanFieldVPerNM / (300.0 / 10), 1, accuracy: 0.01)
        XCTAssertLessThan(r.bandRelDeviation, 0.01)
        XCTAssertEqual(r.kf, 1, accuracy: 0.005)
    }

    func testAtomisticHyperboloidApexFieldFactor() throws {
        let r = try FieldCheck.run(.hyperboloid, radiusNM: 5, voltageV: 1000, distanceMM: 0.01, threads: 2)
        print("hyperboloid: \(r)")
        XCTAssertEqual(r.kf / r.kfAnalytic, 1, accuracy: 0.05)
        XCTAssertEqual(r.apexFieldVPerNM / r.analyticApexFieldVPerNM, 1, accuracy: 0.05)
        // The atomistic cap carries the continuum field on average; its pole is a flat facet, so a little lower.
        XCTAssertLessThan(r.atomisticApexFieldVPerNM, r.apexFieldVPerNM)
        XCTAssertGreaterThan(r.atomisticApexFieldVPerNM, 0.7 * r.apexFieldVPerNM)
    }
}
