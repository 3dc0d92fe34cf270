import Foundation
import MaterialsData
import TwinCore

/// How the objective-lens field acts on each species and on the detector image.
public enum LensReport {
    /// One species (isotope and charge state) traced from the apex along the axis.
    public struct SpeciesDeflection: Sendable {
        public var label: String
        public var mnDa: Double
        public var deflectionDeg: Double
        /// Hit on the detector plane with the lens on, mm.
        public var hitXMM: Double
        public var hitYMM: Double
        /// True if the ion lands inside the active area.
        public var hitsDetector: Bool
        public var tofNS: Double
    }

    /// Traces an on-axis ion of every (element symbol, mass number, charge) in `species` with `setup` (its lens
    /// and field) at `voltageV`, and reports deflection and whether it still lands within `detectorDiameterMM`.
    /// Deflection goes as √(q/m)/√V for small angles (magnetic rigidity Bρ = √(2mV/q)).
    public static func species(_ species: [(symbol: String, massNumber: Int, charge: Int)], setup: FlightSetup,
                               voltageV: Double, detectorDiameterMM: Double = 42) throws -> [SpeciesDeflection] {
        let tracer = IonTracer(setup: setup)
        return try species.map { s in
            guard let m = PeriodicTable.isotopeMassDa(symbol: s.symbol, massNumber: s.massNumber) else {
                throw TwinError.invalidInput("no natural isotope \(s.symbol)-\(s.massNumber)")
            }
            let t = tracer.trace(IonLaunch(massDa: m, charge: s.charge, positionM: .zero, vDCV: voltageV))
            let r = (t.hitXMM * t.hitXMM + t.hitYMM * t.hitYMM).squareRoot()
            return SpeciesDeflection(label: "\(s.massNumber)\(s.symbol)\(s.charge)+", mnDa: m / Double(s.charge),
                                     deflectionDeg: t.deflectionDeg, hitXMM: t.hitXMM, hitYMM: t.hitYMM,
                                     hitsDetector: t.reachedDetectorPlane && r <= detectorDiameterMM / 2, tofNS: t.tofNS)
        }
    }

    /// One node of the image-distortion map.
    public struct DisplacementSample: Sendable {
        /// Hit without the lens, mm.
        public var x0MM: Double
        public var y0MM: Double
        /// Hit with the lens, mm.
        public var xMM: Double
        public var yMM: Double
        public var hitsDetector: Bool
    }

    /// Hit displacement field of one species: ions launched at rest from a grid of `n × n` points of the sphere
    /// cap (polar angle ≤ `maxPolarAngleRad`) of a ``SphereField``-like emitter of radius `emitterRadiusM`,
    /// traced with and without the lens. The difference (x − x0, y − y0) is the image distortion; for a uniform
    /// field it is mostly a rigid shift along −x with a small shear (ions crossing the lens at an angle).
    public static func displacementMap(massDa: Double, charge: Int, voltageV: Double, setup: FlightSetup,
                                       emitterRadiusM: Double, maxPolarAngleRad: Double, n: Int,
                                       detectorDiameterMM: Double = 42) -> [DisplacementSample] {
        var off = setup; off.lens = .off
        let on = IonTracer(setup: setup), straight = IonTracer(setup: off)
        var out: [DisplacementSample] = []
        for i in 0..<n {
            for j in 0..<n {
                let u = n == 1 ? 0 : (Double(i) / Double(n - 1) * 2 - 1) * maxPolarAngleRad
                let w = n == 1 ? 0 : (Double(j) / Double(n - 1) * 2 - 1) * maxPolarAngleRad
                let th = (u * u + w * w).squareRoot()
                guard th <= maxPolarAngleRad * 1.000001 else { continue }
                let ph = atan2(w, u)
                let nrm = SIMD3(sin(th) * cos(ph), sin(th) * sin(ph), cos(th))
                let p = SIMD3(0, 0, -emitterRadiusM) + nrm * emitterRadiusM
                let launch = IonLaunch(massDa: massDa, charge: charge, positionM: p, vDCV: voltageV)
                let a = straight.trace(launch), b = on.trace(launch)
                out.append(DisplacementSample(x0MM: a.hitXMM, y0MM: a.hitYMM, xMM: b.hitXMM, yMM: b.hitYMM,
                                              hitsDetector: b.reachedDetectorPlane && b.hitXMM * b.hitXMM + b.hitYMM * b.hitYMM <= detectorDiameterMM * detectorDiameterMM / 4))
            }
        }
        return out
    }
}
