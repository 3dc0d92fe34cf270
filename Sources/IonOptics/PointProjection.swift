import Foundation
import MaterialsData
import TwinCore

/// The detector and flight geometry.
public struct DetectorParameters: Sendable {
    public var flightPathMM: Double = 470
    public var diameterMM: Double = 42
    public var efficiency: Double = 0.5
    /// Gaussian sigma of the registered position, mm.
    public var positionResolutionMM: Double = 0.1
    /// Gaussian sigma of the registered time of flight, ns.
    public var timingResolutionNS: Double = 0.1
    /// Image compression factor ξ: θ_crystal = ξ · θ_detector.
    public var imageCompression: Double = 1.6
    public init() {}
}

/// What happened to each evaporated ion.
public enum IonFate: UInt8, Sendable {
    /// Registered by the detector.
    case detected = 1
    /// Reached the active area but was not registered (detection efficiency).
    case notRegistered = 0
    /// Missed the active area of the detector.
    case outsideDetector = 2
    /// Reached the active area but was lost in (or merged into) the multi-hit dead zone of an earlier hit.
    case lostInDeadZone = 3
}

/// Result of the flight-and-detection stage.
public struct DetectionResult: Sendable {
    public var hits: DetectorHits
    /// Fate of every event, in event order.
    public var fate: [IonFate]
    public init(hits: DetectorHits, fate: [IonFate]) { self.hits = hits; self.fate = fate }
}

/// **Baseline** ion optics: point projection with an image compression factor, ideal time of flight.
///
/// An ion leaves along its launch site's outward surface normal at polar angle θ from the needle axis; the
/// electrostatic lens of the tip compresses that angle to θ_D = θ/ξ (the image compression factor, Bas et al.,
/// Appl. Surf. Sci. 87/88 (1995) 298), and the ion then flies straight to a flat detector at distance L:
/// X = L tan θ_D cos φ, Y = L tan θ_D sin φ. The time of flight is that of an ion accelerated through the full
/// voltage V_DC + V_pulse at the tip and drifting over the straight path L_eff = √(L² + X² + Y²):
/// t = L_eff √(m / (2 n e V)). Hits outside the active diameter are lost; the others are registered with the
/// detection efficiency, then blurred by Gaussian position and timing resolution. No magnetic lens field.
/// Random numbers come from one stream per event, so results do not depend on the thread count.
public struct PointProjectionOptics: Sendable {
    public var detector: DetectorParameters
    public init(detector: DetectorParameters) { self.detector = detector }

    public func fly(events: EvaporationEvents, atoms: TruthAtoms, seed: UInt64, threads: Int) -> DetectionResult {
        let n = events.count
        let d = detector
        let rMax2 = pow(d.diameterMM / 2, 2)
        // Isotope masses by (Z, A).
        var massOf: [Int: Double] = [:]
        for i in 0..<atoms.count {
            let key = Int(atoms.elementZ[i]) << 16 | Int(atoms.massNumber[i])
            if massOf[key] == nil {
                massOf[key] = PeriodicTable.element(z: Int(atoms.elementZ[i]))?.isotope(Int(atoms.massNumber[i]))?.massDa ?? Double(atoms.massNumber[i])
            }
        }
        let massTable = massOf
        struct Row: Sendable { var fate: IonFate; var x: Float; var y: Float; var t: Float }
        let rows = ParallelChunks.map(count: n, chunkSize: 16384, threads: threads) { _, range -> [Row] in
            var out: [Row] = []
            out.reserveCapacity(range.count)
            for e in range {
                var rng = TwinRNG(seed: seed, stream: 0x0F7_0000_0000 | UInt64(e))
                let nz = Double(events.normalZ[e]), nx = Double(events.normalX[e]), ny = Double(events.normalY[e])
                let theta = acos(max(-1, min(1, nz)))
                let phi = atan2(ny, nx)
                let thetaD = theta / d.imageCompression
                guard thetaD < .pi / 2 * 0.999 else { out.append(Row(fate: .outsideDetector, x: 0, y: 0, t: 0)); continue }
                let rD = d.flightPathMM * tan(thetaD)
                let x = rD * cos(phi), y = rD * sin(phi)
                if x * x + y * y > rMax2 { out.append(Row(fate: .outsideDetector, x: Float(x), y: Float(y), t: 0)); continue }
                if rng.uniform() >= d.efficiency { out.append(Row(fate: .notRegistered, x: Float(x), y: Float(y), t: 0)); continue }
                let atom = Int(events.atomID[e])
                let key = Int(atoms.elementZ[atom]) << 16 | Int(atoms.massNumber[atom])
                let massKG = massTable[key]! * PhysicalConstants.daltonKG
                let q = Double(events.chargeState[e]) * PhysicalConstants.elementaryChargeC
                let v = Double(events.vDCV[e]) + Double(events.vPulseV[e])
                let lEffM = (d.flightPathMM * d.flightPathMM + x * x + y * y).squareRoot() * 1e-3
                let tNS = lEffM * (massKG / (2 * q * v)).squareRoot() * 1e9
                let xr = x + d.positionResolutionMM * rng.normal()
                let yr = y + d.positionResolutionMM * rng.normal()
                let tr = tNS + d.timingResolutionNS * rng.normal()
                out.append(Row(fate: .detected, x: Float(xr), y: Float(yr), t: Float(tr)))
            }
            return out
        }
        var hits = DetectorHits()
        var fate: [IonFate] = []
        fate.reserveCapacity(n)
        var lastPulse: Int64 = 0
        var e = 0
        for chunk in rows {
            for r in chunk {
                fate.append(r.fate)
                if r.fate == .detected {
                    let pulse = events.pulseIndex[e]
                    hits.eventIndex.append(Int32(e)); hits.xMM.append(r.x); hits.yMM.append(r.y); hits.tofNS.append(r.t)
                    // Baseline: one event per pulse, so every registered hit is a single hit.
                    hits.multiplicity.append(1)
                    hits.pulsesSinceLastHit.append(UInt32(clamping: pulse - lastPulse))
                    hits.pulseIndex.append(pulse)
                    lastPulse = pulse
                }
                e += 1
            }
        }
        return DetectionResult(hits: hits, fate: fate)
    }
}
