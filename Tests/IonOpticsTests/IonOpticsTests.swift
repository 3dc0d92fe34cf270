@testable import IonOptics
import MaterialsData
import TwinCore
import XCTest

final class IonOpticsTests: XCTestCase {
    let e = PhysicalConstants.elementaryChargeC
    let da = PhysicalConstants.daltonKG
    var fe56: Double { PeriodicTable.isotopeMassDa(symbol: "Fe", massNumber: 56)! }

    /// Uniform B alone: Boris gives the cyclotron radius and period to 1e-6 and conserves |v| to 1e-9.
    func testBorisCyclotronRadiusPeriodAndEnergy() {
        let q = 2 * e, m = fe56 * da, bT = 2.0, volts = 5000.0
        let v0 = (2 * q * volts / m).squareRoot()
        let omega = q * bT / m
        let rc = v0 / omega, period = 2 * Double.pi / omega
        let n = 4000
        let dt = period / Double(n)
        var p = SIMD3<Double>(0, 0, 0), v = SIMD3<Double>(0, 0, v0)
        let b = SIMD3<Double>(0, bT, 0)
        let centre = SIMD3<Double>(-rc, 0, 0)   // force q v × B = −q v B x̂ for v ∥ +z, B ∥ +y
        var rMin = Double.infinity, rMax = 0.0
        for _ in 0..<n {
            let xh = p + v * (0.5 * dt)
            v = IonTracer.borisKick(v: v, qOverM: q / m, eVPerM: .zero, bT: b, dt: dt)
            p = xh + v * (0.5 * dt)
            let d = ((p - centre) * (p - centre)).sum().squareRoot()
            rMin = min(rMin, d); rMax = max(rMax, d)
        }
        XCTAssertEqual(rMin / rc, 1, accuracy: 1e-6, "cyclotron radius (min)")
        XCTAssertEqual(rMax / rc, 1, accuracy: 1e-6, "cyclotron radius (max)")
        // After exactly one period the ion is back where it started, moving the same way.
        XCTAssertLessThan((p * p).sum().squareRoot() / rc, 1e-6, "period")
        XCTAssertLessThan(abs(atan2(v.x, v.z)), 1e-6, "phase after one period")
        // Energy over many periods, with a coarse step.
        for _ in 0..<100_000 {
            let xh = p + v * (0.5 * dt * 37)
            v = IonTracer.borisKick(v: v, qOverM: q / m, eVPerM: .zero, bT: b, dt: dt * 37)
            p = xh + v * (0.5 * dt * 37)
        }
        XCTAssertEqual((v * v).sum().squareRoot() / v0, 1, accuracy: 1e-9, "energy in pure B")
        // The test can fail: a plain Euler push gains energy.
        var ve = SIMD3<Double>(0, 0, v0)
        for _ in 0..<n { ve += cross(ve, b) * (q / m * dt) }
        XCTAssertGreaterThan(abs((ve * ve).sum().squareRoot() / v0 - 1), 1e-3)
    }

    /// Pure electrostatic flight in the sphere field: kinetic energy = q ΔV to 1e-6.
    func testSphereFieldEnergyGain() {
        let r = 10e-9, volts = 5000.0
        let field = SphereField(radiusM: r)
        var setup = FlightSetup(field: field, detectorDistanceM: 0.47)
        setup.relativeTolerance = 1e-10
        let tracer = IonTracer(setup: setup)
        for (theta, charge) in [(0.0, 2), (0.4, 2), (0.2, 1)] {
            let p = SIMD3(0, 0, -r) + SIMD3(sin(theta), 0, cos(theta)) * r
            let t = tracer.trace(IonLaunch(massDa: fe56, charge: charge, positionM: p, vDCV: volts))
            XCTAssertTrue(t.reachedDetectorPlane)
            let dV = volts * (field.potentialPerVolt(atM: p) - field.potentialPerVolt(atM: t.straightLineStartM))
            XCTAssertEqual(t.kineticEnergyEV / (Double(charge) * dV), 1, accuracy: 1e-6, "θ = \(theta)")
            XCTAssertGreaterThan(t.rkSteps, 20)
            // Radial launch from a sphere: straight radial flight.
            XCTAssertEqual(atan2(t.hitXMM, 470), atan2(sin(theta), cos(theta)), accuracy: 1e-3)
        }
    }

    /// The hyperboloid field is −∇φ of its potential, zero beyond the plane, and has k_f ≈ ½ ln(4d/R).
    func testHyperboloidFieldIsGradientOfPotential() {
        let f = HyperboloidPlaneField(apexRadiusM: 20e-9, planeDistanceM: 1e-3)
        XCTAssertEqual(f.potentialPerVolt(atM: .zero), 1, accuracy: 1e-9)
        XCTAssertEqual(f.fieldFactor, 0.5 * log(4 * 1e-3 / 20e-9), accuracy: 0.01 * f.fieldFactor)
        let apexField = f.fieldPerVolt(atM: SIMD3(0, 0, 1e-15)).z
        XCTAssertEqual(apexField * 20e-9 * f.fieldFactor, 1, accuracy: 1e-3)
        for p in [SIMD3<Double>(3e-9, -2e-9, 5e-9), SIMD3(1e-6, 2e-7, 3e-6), SIMD3(2e-5, 0, 4e-4)] {
            let g = f.fieldPerVolt(atM: p)
            for k in 0..<3 {
                var d = SIMD3<Double>.zero; d[k] = 1e-6 * max(1e-9, (p * p).sum().squareRoot())
                let num = -(f.potentialPerVolt(atM: p + d) - f.potentialPerVolt(atM: p - d)) / (2 * d[k])
                XCTAssertEqual(g[k], num, accuracy: 1e-5 * (g * g).sum().squareRoot() + 1e-9)
            }
        }
        XCTAssertEqual(f.fieldPerVolt(atM: SIMD3(0, 0, 2e-3)), .zero)
        // Ion from the apex: full q V beyond the plane.
        var s = FlightSetup(field: f); s.relativeTolerance = 1e-10
        let t = IonTracer(setup: s).trace(IonLaunch(massDa: fe56, charge: 2, positionM: .zero, vDCV: 5000))
        XCTAssertEqual(t.kineticEnergyEV / 10000, 1, accuracy: 1e-6)
    }

    /// ⁵⁶Fe²⁺ at 5 kV through a uniform 2 T over 3 mm: ≈ 6.4°, ≈ 53 mm at 470 mm; √(q/m) scaling; B = 0 straight.
    func testLensDeflectionFe56() throws {
        let field = SphereField(radiusM: 10e-9)
        let lens = ObjectiveLensField(peakFieldT: 2, profile: .uniform(lengthM: 3e-3))
        let setup = FlightSetup(field: field, lens: lens, detectorDistanceM: 0.47)
        let tracer = IonTracer(setup: setup)
        let t = tracer.trace(IonLaunch(massDa: fe56, charge: 2, positionM: .zero, vDCV: 5000))
        // Analytic hard-edge sector: r_c = m v/(qB), θ = asin(L/r_c), x = r_c(1 − cos θ) + (D − L) tan θ.
        let m = fe56 * da, q = 2 * e
        let rc = m * (2 * q * 5000 / m).squareRoot() / (q * 2)
        let th = asin(3e-3 / rc)
        let xAnalyticMM = (rc * (1 - cos(th)) + (0.47 - 3e-3) * tan(th)) * 1e3
        XCTAssertEqual(t.deflectionDeg, th * 180 / .pi, accuracy: 0.02 * th * 180 / .pi)
        XCTAssertEqual(abs(t.hitXMM), xAnalyticMM, accuracy: 0.02 * xAnalyticMM)
        XCTAssertEqual(t.deflectionDeg, 6.4, accuracy: 0.02 * 6.4)
        XCTAssertEqual(abs(t.hitXMM), 53, accuracy: 0.02 * 53)
        XCTAssertLessThan(t.hitXMM, 0, "v × B with v ∥ +z, B ∥ +y points along −x")
        print("Fe56 2+ 5 kV, 2 T × 3 mm: deflection \(t.deflectionDeg)°, hit x \(t.hitXMM) mm (analytic \(th * 180 / .pi)°, \(xAnalyticMM) mm)")
        // √(q/m) scaling across species.
        let rows = try LensReport.species([("Fe", 56, 2), ("Cr", 52, 2), ("Fe", 56, 1), ("Al", 27, 1), ("W", 184, 3)], setup: setup, voltageV: 5000)
        let ref = sin(rows[0].deflectionDeg * .pi / 180) / (1 / rows[0].mnDa).squareRoot()
        for r in rows {
            XCTAssertEqual(sin(r.deflectionDeg * .pi / 180) / (1 / r.mnDa).squareRoot() / ref, 1, accuracy: 0.01, r.label)
            XCTAssertFalse(r.hitsDetector, "\(r.label) at \(r.hitXMM) mm should miss the 42 mm detector")
        }
        // B = 0: straight flight.
        let straight = IonTracer(setup: FlightSetup(field: field, detectorDistanceM: 0.47))
            .trace(IonLaunch(massDa: fe56, charge: 2, positionM: .zero, vDCV: 5000))
        XCTAssertLessThan(abs(straight.hitXMM) + abs(straight.hitYMM), 1e-9)
        XCTAssertLessThan(straight.deflectionDeg, 1e-9)
        XCTAssertEqual(straight.pathLengthM, 0.47, accuracy: 1e-9)
        // Weak lens: every species still lands; the displacement map is finite.
        let weak = FlightSetup(field: field, lens: ObjectiveLensField(peakFieldT: 0.1, profile: .tanhPlateau(lengthM: 2e-3, edgeWidthM: 0.5e-3)))
        let map = LensReport.displacementMap(massDa: fe56, charge: 2, voltageV: 5000, setup: weak, emitterRadiusM: 10e-9,
                                             maxPolarAngleRad: 0.02, n: 3)
        XCTAssertEqual(map.count, 5)   // 3 × 3 grid clipped to the disc
        for s in map { XCTAssertTrue(s.hitsDetector); XCTAssertLessThan(s.xMM - s.x0MM, -0.5) }
    }

    /// The first Runge–Kutta steps near a 10 nm apex are femtoseconds: check the TOF of a lens-free flight
    /// against the analytic drift time and the step count stays moderate.
    func testTimeOfFlightMatchesDrift() {
        let setup = FlightSetup(field: SphereField(radiusM: 10e-9), detectorDistanceM: 0.47)
        let t = IonTracer(setup: setup).trace(IonLaunch(massDa: fe56, charge: 2, positionM: .zero, vDCV: 5000))
        let v = (2 * 2 * e * 5000 / (fe56 * da)).squareRoot()
        XCTAssertEqual(t.tofNS, 0.47 / v * 1e9, accuracy: 0.5)   // the acceleration region adds < 0.5 ns
        XCTAssertEqual(t.tofNS, 2530, accuracy: 10)
        XCTAssertLessThan(t.rkSteps + t.rkRejected, 5000)
    }

    /// Multi-hits: dead-zone losses are counted, no ion is counted twice, EPOS multiplicity convention.
    func testDetectorDeadZoneAndMultiplicity() {
        var det = DelayLineDetector()
        det.efficiency = 1; det.positionSigmaMM = 0; det.timingSigmaNS = 0
        det.deadTimeNS = 10; det.deadRadiusMM = 5
        var arr: [IonArrival] = []
        // Pulse 1: three ions; the second is within 10 ns and 5 mm of the first (lost); the third is far in space.
        arr.append(IonArrival(eventIndex: 0, pulseIndex: 1, reachedPlane: true, xMM: 0, yMM: 0, tofNS: 1000))
        arr.append(IonArrival(eventIndex: 1, pulseIndex: 1, reachedPlane: true, xMM: 1, yMM: 1, tofNS: 1005))
        arr.append(IonArrival(eventIndex: 2, pulseIndex: 1, reachedPlane: true, xMM: 15, yMM: 0, tofNS: 1003))
        // Pulse 4: close in space but 50 ns apart (both kept); pulse 5: outside the active area; never reached.
        arr.append(IonArrival(eventIndex: 3, pulseIndex: 4, reachedPlane: true, xMM: 2, yMM: 2, tofNS: 2000))
        arr.append(IonArrival(eventIndex: 4, pulseIndex: 4, reachedPlane: true, xMM: 2, yMM: 2, tofNS: 2050))
        arr.append(IonArrival(eventIndex: 5, pulseIndex: 5, reachedPlane: true, xMM: 30, yMM: 0, tofNS: 1000))
        arr.append(IonArrival(eventIndex: 6, pulseIndex: 6, reachedPlane: false, xMM: 0, yMM: 0, tofNS: 0))
        let out = det.detect(arr, seed: 1)
        XCTAssertEqual(out.fate, [.detected, .deadZoneLost, .detected, .detected, .detected, .outsideDetector, .neverReached])
        XCTAssertEqual(out.hits.eventIndex, [0, 2, 1 + 2, 4])
        XCTAssertEqual(out.hits.multiplicity, [2, 0, 2, 0])
        XCTAssertEqual(out.hits.pulsesSinceLastHit, [1, 0, 3, 0])
        det.multiHitPolicy = .merge
        let merged = det.detect(arr, seed: 1)
        XCTAssertEqual(merged.count(.merged), 1)
        XCTAssertEqual(merged.hits.xMM[0], 0.5, accuracy: 1e-6)

        // Many random ions with background: every event at most once, losses reported, background rows −1.
        var rng = TwinRNG(seed: 3)
        var many: [IonArrival] = []
        for i in 0..<20000 {
            let pulse = Int64(i / 3)   // three ions per pulse: plenty of close pairs
            many.append(IonArrival(eventIndex: Int32(i), pulseIndex: pulse, reachedPlane: true,
                                   xMM: 6 * rng.normal(), yMM: 6 * rng.normal(), tofNS: 2500 + 8 * rng.normal()))
        }
        var d2 = DelayLineDetector(); d2.backgroundPerNSPerMM2 = 1e-6
        let o = d2.detect(many, seed: 9)
        let ions = o.hits.eventIndex.filter { $0 >= 0 }
        XCTAssertEqual(Set(ions).count, ions.count, "an ion counted twice")
        XCTAssertEqual(ions.count, o.count(.detected))
        XCTAssertGreaterThan(o.count(.deadZoneLost), 100)
        XCTAssertGreaterThan(o.backgroundDrawn, 0)
        XCTAssertEqual(o.hits.eventIndex.filter { $0 < 0 }.count, o.backgroundDrawn - o.backgroundLost)
        let lost = o.count(.deadZoneLost), det1 = o.count(.detected)
        print("dead zone: \(lost) of \(det1 + lost) registered ions lost (\(Double(lost) / Double(det1 + lost) * 100) %), background \(o.backgroundDrawn)")
        // Multiplicities sum to the number of hits.
        XCTAssertEqual(o.hits.multiplicity.reduce(0) { $0 + Int($1) }, o.hits.count)
        // Same seed, same result.
        XCTAssertEqual(d2.detect(many, seed: 9).hits, o.hits)
    }

    /// Traced optics + detector: same hits for 1 and 2 threads; lateral launch energy broadens the image.
    func testTracedOpticsDeterministicAcrossThreads() {
        let (ev, atoms) = SyntheticEvents.sphereCap(composition: [(26, 0.5, 2), (24, 0.5, 2)], count: 300, sphereRadiusM: 10e-9,
                                                    maxPolarAngleRad: 0.05, vDCV: 5000, vPulseV: 1000,
                                                    departureMeanNS: 1, departureSigmaNS: 0.2, seed: 4)
        var setup = FlightSetup(field: SphereField(radiusM: 10e-9), lens: ObjectiveLensField(peakFieldT: 0.05, profile: .glaser(halfWidthM: 1e-3)))
        setup.pulseShape = .gaussian(fwhmNS: 1, peakNS: 1)
        let optics = TracedOptics(setup: setup, lateralEnergy: .thermal(meanEV: 0.05))
        let a = optics.fly(events: ev, atoms: atoms, seed: 7, threads: 1)
        let b = optics.fly(events: ev, atoms: atoms, seed: 7, threads: 2)
        XCTAssertEqual(a.detection.hits, b.detection.hits)
        XCTAssertEqual(a.arrivals, b.arrivals)
        XCTAssertGreaterThan(a.detection.hits.count, 100)
        let acq = a.detection.acquisition(events: ev)
        XCTAssertNoThrow(try acq.validateColumns())
        XCTAssertEqual(acq.count, a.detection.hits.count)
    }
}
