import Foundation
import MaterialsData
import TwinCore

/// Initial transverse kinetic energy E⊥ of an ion leaving the surface (lateral launch perturbation).
public enum LateralLaunchEnergy: Sendable, Equatable {
    /// No transverse energy (the default).
    case off
    /// E⊥ fixed, electronvolts.
    case fixed(eV: Double)
    /// E⊥ exponentially distributed with the given mean (2-D Maxwell–Boltzmann: mean k_B T), electronvolts.
    case thermal(meanEV: Double)
}

/// Flight and detection of evaporated ions with traced trajectories (replaces ``PointProjectionOptics``).
///
/// For every event: the ion (isotope mass from ``TruthAtoms``, charge, launch point, departure time and voltages
/// from ``EvaporationEvents``) is traced by ``IonTracer``; an optional transverse launch energy is added at right
/// angles to the surface normal in a random azimuth. The arrivals then go through the ``DelayLineDetector``.
/// Each ion uses its own random stream (seed, event index), so results do not depend on the thread count.
public struct TracedOptics: Sendable {
    public var setup: FlightSetup
    public var detector: DelayLineDetector
    public var lateralEnergy: LateralLaunchEnergy
    public init(setup: FlightSetup, detector: DelayLineDetector = DelayLineDetector(), lateralEnergy: LateralLaunchEnergy = .off) {
        self.setup = setup; self.detector = detector; self.lateralEnergy = lateralEnergy
    }

    /// Result of ``fly(events:atoms:seed:threads:)``.
    public struct Result: Sendable {
        /// One arrival per event, in event order.
        public var arrivals: [IonArrival]
        public var detection: DetectionOutcome
    }

    /// Traces and detects all events.
    public func fly(events: EvaporationEvents, atoms: TruthAtoms, seed: UInt64, threads: Int) -> Result {
        let n = events.count
        var massOf: [Int: Double] = [:]
        for e in 0..<n {
            let a = Int(events.atomID[e])
            let key = Int(atoms.elementZ[a]) << 16 | Int(atoms.massNumber[a])
            if massOf[key] == nil {
                massOf[key] = PeriodicTable.isotopeMassDa(z: Int(atoms.elementZ[a]), massNumber: Int(atoms.massNumber[a]))
                    ?? Double(atoms.massNumber[a])
            }
        }
        let masses = massOf
        let tracer = IonTracer(setup: setup)
        let lateral = lateralEnergy
        let chunks = ParallelChunks.map(count: n, chunkSize: 64, threads: threads) { _, range -> [IonArrival] in
            var out: [IonArrival] = []
            out.reserveCapacity(range.count)
            for e in range {
                let a = Int(events.atomID[e])
                let mass = masses[Int(atoms.elementZ[a]) << 16 | Int(atoms.massNumber[a])]!
                let normal = SIMD3(Double(events.normalX[e]), Double(events.normalY[e]), Double(events.normalZ[e]))
                var rng = TwinRNG(seed: seed, stream: 0x1A7E_0000_0000 ^ UInt64(e))
                let v0 = TracedOptics.lateralVelocity(lateral, normal: normal, massDa: mass, rng: &rng)
                let launch = IonLaunch(massDa: mass, charge: Int(events.chargeState[e]),
                                       positionM: SIMD3(Double(events.launchXNM[e]), Double(events.launchYNM[e]), Double(events.launchZNM[e])) * 1e-9,
                                       velocityMPerS: v0, timeInPulseNS: Double(events.timeInPulseNS[e]),
                                       vDCV: Double(events.vDCV[e]), vPulseV: Double(events.vPulseV[e]))
                let tr = tracer.trace(launch)
                out.append(IonArrival(eventIndex: Int32(e), pulseIndex: events.pulseIndex[e], reachedPlane: tr.reachedDetectorPlane,
                                      xMM: tr.hitXMM, yMM: tr.hitYMM, tofNS: tr.tofNS))
            }
            return out
        }
        let arrivals = chunks.flatMap { $0 }
        return Result(arrivals: arrivals, detection: detector.detect(arrivals, seed: seed))
    }

    /// A velocity of kinetic energy E⊥ (drawn from `model`) perpendicular to `normal`, random azimuth, m/s.
    static func lateralVelocity(_ model: LateralLaunchEnergy, normal: SIMD3<Double>, massDa: Double, rng: inout TwinRNG) -> SIMD3<Double> {
        let eV: Double
        switch model {
        case .off: return .zero
        case .fixed(let e): eV = e
        case .thermal(let m): eV = -m * log(1 - rng.uniform())
        }
        let nn = (normal * normal).sum().squareRoot()
        let n = nn > 0 ? normal / nn : SIMD3(0, 0, 1)
        let helper = abs(n.z) < 0.9 ? SIMD3<Double>(0, 0, 1) : SIMD3<Double>(1, 0, 0)
        var u = cross(n, helper); u /= (u * u).sum().squareRoot()
        let w = cross(n, u)
        let phi = 2 * Double.pi * rng.uniform()
        let speed = (2 * eV * PhysicalConstants.elementaryChargeC / (massDa * PhysicalConstants.daltonKG)).squareRoot()
        return (u * cos(phi) + w * sin(phi)) * speed
    }
}

extension DetectionOutcome {
    /// The hits as an ``Acquisition`` (detector x, y, TOF, voltages of the hit's event, multiplicity, pulses since
    /// the previous hit), i.e. what an EPOS file of the run would hold before conversion. Background rows take the
    /// voltages of the nearest earlier event (of the first event if none).
    public func acquisition(events: EvaporationEvents) -> Acquisition {
        var a = Acquisition()
        let n = hits.count
        a.detectorXMM = hits.xMM; a.detectorYMM = hits.yMM; a.tofNS = hits.tofNS
        a.multiplicity = hits.multiplicity; a.pulsesSincePrevious = hits.pulsesSinceLastHit
        a.vDCV.reserveCapacity(n); a.vPulseV.reserveCapacity(n)
        var lastEvent = 0
        for i in 0..<n {
            let e = Int(hits.eventIndex[i])
            if e >= 0 { lastEvent = e }
            a.vDCV.append(events.count > 0 ? events.vDCV[lastEvent] : 0)
            a.vPulseV.append(events.count > 0 ? events.vPulseV[lastEvent] : 0)
        }
        return a
    }
}

/// Synthetic evaporation events for validating the optics and the spectrum without the evaporation engine:
/// ions of a given composition, isotopes drawn from natural abundances, launched at rest from the apex cap of a
/// ``SphereField`` sphere.
public enum SyntheticEvents {
    /// - Parameters:
    ///   - composition: (Z, atom fraction, charge state) per element.
    ///   - count: number of ions.
    ///   - sphereRadiusM: radius of the emitter (must match the ``SphereField`` used to trace).
    ///   - maxPolarAngleRad: launch sites uniform in solid angle on the cap θ ≤ this.
    ///   - vDCV, vPulseV: voltages of every event.
    ///   - departure: mean and σ of the departure time in the pulse period, ns (σ = 0: all at the mean).
    ///   - pulsesPerIon: mean pulses between events (geometric; 1 = every pulse).
    public static func sphereCap(composition: [(z: Int, fraction: Double, charge: Int)], count: Int, sphereRadiusM: Double,
                                 maxPolarAngleRad: Double, vDCV: Double, vPulseV: Double,
                                 departureMeanNS: Double = 0, departureSigmaNS: Double = 0, pulsesPerIon: Double = 1,
                                 seed: UInt64) -> (events: EvaporationEvents, atoms: TruthAtoms) {
        var ev = EvaporationEvents(), atoms = TruthAtoms()
        var rng = TwinRNG(seed: seed, stream: 0x5E7_0000_0000)
        let total = composition.reduce(0) { $0 + $1.fraction }
        var pulse: Int64 = 0
        let cosMax = cos(maxPolarAngleRad)
        for i in 0..<count {
            var u = rng.uniform() * total
            var k = 0
            while k < composition.count - 1 && u >= composition[k].fraction { u -= composition[k].fraction; k += 1 }
            let el = composition[k]
            let isotopes = PeriodicTable.element(z: el.z)?.isotopes.filter { $0.abundance > 0 } ?? []
            var w = rng.uniform()
            var a = isotopes.last?.massNumber ?? 1
            for iso in isotopes { if w < iso.abundance { a = iso.massNumber; break }; w -= iso.abundance }
            let ct = 1 - rng.uniform() * (1 - cosMax), st = (1 - ct * ct).squareRoot(), ph = 2 * Double.pi * rng.uniform()
            let nrm = SIMD3(st * cos(ph), st * sin(ph), ct)
            let pos = SIMD3(0, 0, -sphereRadiusM) + nrm * sphereRadiusM
            pulse += pulsesPerIon <= 1 ? 1 : Int64(1 + (log(1 - rng.uniform()) / log(1 - 1 / pulsesPerIon)).rounded(.down))
            atoms.append(id: UInt32(i), elementZ: UInt8(el.z), massNumber: UInt16(a), xNM: Float(pos.x * 1e9), yNM: Float(pos.y * 1e9), zNM: Float(pos.z * 1e9))
            ev.atomID.append(UInt32(i)); ev.pulseIndex.append(pulse)
            ev.timeInPulseNS.append(Float(departureMeanNS + departureSigmaNS * rng.normal()))
            ev.vDCV.append(Float(vDCV)); ev.vPulseV.append(Float(vPulseV)); ev.fieldVPerNM.append(0)
            ev.chargeState.append(UInt8(el.charge))
            ev.launchXNM.append(Float(pos.x * 1e9)); ev.launchYNM.append(Float(pos.y * 1e9)); ev.launchZNM.append(Float(pos.z * 1e9))
            ev.normalX.append(Float(nrm.x)); ev.normalY.append(Float(nrm.y)); ev.normalZ.append(Float(nrm.z))
        }
        return (ev, atoms)
    }
}
