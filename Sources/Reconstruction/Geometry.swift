import Foundation
import TwinCore

/// How a detector hit at radius r_D (mm) from the detector centre maps back to the polar angle θ of the launch site
/// on the specimen cap. Each case fixes its own image-compression (ξ) convention; see the DocC article
/// "Protocols" for the table.
public enum ProjectionModel: String, Sendable, CaseIterable, Codable {
    /// **Bas et al. (1995) linear projection**: magnification M = L/(ξR), so the lateral position on the specimen is
    /// ρ = r_D ξ R / L, and the cap height follows from ρ on a sphere (sin θ = ρ/R). ξ convention: M = L/(ξR),
    /// i.e. ξ = θ/θ_D in the small-angle limit. Exact for a point projection of the cap's *lateral* coordinates.
    case linear
    /// **Geiser et al. (2009) / Gault et al. wide-angle point projection**: the ion is projected from a point on
    /// the axis (ξ − 1)R behind the centre of the apex sphere: θ_P = atan(r_D/L), θ = θ_P + asin((ξ − 1) sin θ_P).
    /// ξ convention: the projection-point factor (m + 1 in Geiser's notation); θ ≈ ξ θ_P at small angles.
    case pointProjection
    /// **Angle compression** θ = ξ · atan(r_D/L): the inverse of the twin's baseline ion optics
    /// (`PointProjectionOptics`, θ_D = θ/ξ, X = L tan θ_D). ξ convention: θ_crystal = ξ θ_detector exactly.
    case angular

    /// Polar launch angle θ (rad) for a hit at `rDetMM` from the detector centre.
    @inlinable
    public func theta(rDetMM: Double, flightPathMM l: Double, xi: Double) -> Double {
        switch self {
        case .linear: return asin(min(1, rDetMM * xi / l))
        case .pointProjection:
            let tp = atan(rDetMM / l)
            return tp + asin(max(-1, min(1, (xi - 1) * sin(tp))))
        case .angular: return xi * atan(rDetMM / l)
        }
    }
}

/// A measured axisymmetric apex shape, normalised by its apex radius: sag h(ρ) below the apex as a function of
/// the lateral distance ρ from the axis, both divided by the apex radius R (so the same shape describes a tip that
/// blunts self-similarly). A hemisphere is h/R = 1 − √(1 − (ρ/R)²).
///
/// Ions leave along the outward surface normal, whose polar angle θ satisfies tan θ = dh/dρ. The reconstruction
/// needs the inverse, θ ↦ (ρ, h): ``init(rhoOverR:sagOverR:)`` tabulates it on the profile's knots, which must have
/// increasing ρ and increasing slope (a convex cap). Angles beyond the last knot's normal map to the last knot (the
/// measured profile must extend as far as the detector sees).
public struct ApexShape: Sendable, Equatable {
    /// Knots: lateral distance / R (increasing from 0) and sag / R (h(0) = 0).
    public let rhoOverR: [Double]
    public let sagOverR: [Double]
    /// Polar normal angle (rad) at each knot (θ(0) = 0), increasing.
    public let thetaRad: [Double]

    /// A hemispherical cap sampled on 512 knots up to ρ/R = 0.999.
    public static let hemisphere: ApexShape = {
        let k = 512
        let rho = (0..<k).map { 0.999 * Double($0) / Double(k - 1) }
        return try! ApexShape(rhoOverR: rho, sagOverR: rho.map { 1 - (1 - $0 * $0).squareRoot() })
    }()

    /// Builds a shape from normalised knots.
    /// - Throws: `TwinError.invalidInput` if the knots are fewer than 3, not finite, ρ does not increase from 0,
    ///   or the slope does not increase (the table θ ↦ ρ would not be single-valued).
    public init(rhoOverR: [Double], sagOverR: [Double]) throws {
        guard rhoOverR.count == sagOverR.count, rhoOverR.count >= 3 else {
            throw TwinError.invalidInput("apex shape: need at least 3 (rho, sag) knots of equal count, got \(rhoOverR.count) and \(sagOverR.count)")
        }
        guard rhoOverR.allSatisfy(\.isFinite), sagOverR.allSatisfy(\.isFinite), rhoOverR[0] == 0 else {
            throw TwinError.invalidInput("apex shape: knots must be finite and start at rho = 0")
        }
        let n = rhoOverR.count
        var theta = [Double](repeating: 0, count: n)
        // Slope at knot i from the centred difference (one-sided at the end); θ(0) = 0 by symmetry.
        for i in 1..<n {
            guard rhoOverR[i] > rhoOverR[i - 1] else {
                throw TwinError.invalidInput("apex shape: rho must increase (knot \(i): \(rhoOverR[i]) after \(rhoOverR[i - 1]))")
            }
            let j0 = i - 1, j1 = min(n - 1, i + 1)
            let slope = (sagOverR[j1] - sagOverR[j0]) / (rhoOverR[j1] - rhoOverR[j0])
            theta[i] = atan(slope)
            guard theta[i] > theta[i - 1] else {
                throw TwinError.invalidInput("apex shape: the surface slope must increase with rho (not convex at knot \(i), rho/R = \(rhoOverR[i]))")
            }
        }
        self.rhoOverR = rhoOverR; self.sagOverR = sagOverR; self.thetaRad = theta
    }

    /// Builds a shape from a measured profile in nm (sag `sagNM` below the apex at lateral distance `rhoNM`),
    /// normalised by `apexRadiusNM`.
    public init(rhoNM: [Double], sagNM: [Double], apexRadiusNM: Double) throws {
        guard apexRadiusNM.isFinite, apexRadiusNM > 0 else {
            throw TwinError.invalidInput("apex shape: apex radius must be positive, got \(apexRadiusNM)")
        }
        try self.init(rhoOverR: rhoNM.map { $0 / apexRadiusNM }, sagOverR: sagNM.map { $0 / apexRadiusNM })
    }

    /// (ρ/R, h/R) of the launch site whose normal has polar angle θ, by linear interpolation in θ.
    public func site(thetaRad t: Double) -> (rho: Double, sag: Double) {
        let n = thetaRad.count
        if t <= 0 { return (0, 0) }
        if t >= thetaRad[n - 1] { return (rhoOverR[n - 1], sagOverR[n - 1]) }
        var lo = 0, hi = n - 1
        while hi - lo > 1 { let m = (lo + hi) / 2; if thetaRad[m] <= t { lo = m } else { hi = m } }
        let w = (t - thetaRad[lo]) / (thetaRad[hi] - thetaRad[lo])
        return (rhoOverR[lo] + w * (rhoOverR[hi] - rhoOverR[lo]), sagOverR[lo] + w * (sagOverR[hi] - sagOverR[lo]))
    }

    /// Largest polar angle covered by the measured profile, rad.
    public var maxThetaRad: Double { thetaRad[thetaRad.count - 1] }
}

/// The apex geometry as a function of acquisition progress: the input of the TEM-profile and oracle protocols.
///
/// Knots are placed at **detected-ion indices** (0-based position in the acquisition; the evaporated volume is
/// proportional to it at constant Ω/η). Between knots the apex radius is interpolated linearly in ion index; before
/// the first and after the last knot it is held constant. When shapes are given (one per knot), the normalised cap
/// shapes of the two bracketing knots are blended with the same weight; otherwise the cap is a hemisphere.
///
/// A TEM sequence gives one knot per frame (frames taken between acquisition segments t0…tn); the oracle gives one
/// radius and one apex height per detected ion, fitted to the ground truth (``OracleGeometry``).
public struct GeometryTimeline: Sendable, Equatable {
    /// Detected-ion index of each knot, non-decreasing.
    public var ionIndex: [Double]
    /// Apex radius at each knot, nm.
    public var apexRadiusNM: [Double]
    /// Optional normalised apex shape per knot (same count as the knots), or nil for hemispherical caps.
    public var shapes: [ApexShape]?
    /// Alternative dense form: the radius of every detected ion (knots ignored when set). 4 B per ion.
    public var perIonRadiusNM: [Float]?
    /// With ``perIonRadiusNM`` only: the height z of the apex when each ion left, nm (the twin's frame). When set,
    /// ion i is placed at z = apex_z_i − h_i instead of at the depth counted from the detected volume: the oracle
    /// knows where the apex is.
    public var perIonApexZNM: [Float]?

    public init(ionIndex: [Double], apexRadiusNM: [Double], shapes: [ApexShape]? = nil) throws {
        guard !ionIndex.isEmpty, ionIndex.count == apexRadiusNM.count else {
            throw TwinError.invalidInput("geometry timeline: need at least one knot and equal counts (ion_index \(ionIndex.count), apex_radius_nm \(apexRadiusNM.count))")
        }
        if let s = shapes, s.count != ionIndex.count {
            throw TwinError.invalidInput("geometry timeline: \(s.count) apex shapes for \(ionIndex.count) knots")
        }
        for i in ionIndex.indices {
            guard ionIndex[i].isFinite, apexRadiusNM[i].isFinite, apexRadiusNM[i] > 0 else {
                throw TwinError.invalidInput("geometry timeline: knot \(i) has ion index \(ionIndex[i]) and apex radius \(apexRadiusNM[i]) nm (must be finite, radius > 0)")
            }
            if i > 0 && ionIndex[i] < ionIndex[i - 1] {
                throw TwinError.invalidInput("geometry timeline: ion indices must not decrease (knot \(i): \(ionIndex[i]) after \(ionIndex[i - 1]))")
            }
        }
        self.ionIndex = ionIndex; self.apexRadiusNM = apexRadiusNM; self.shapes = shapes
    }

    /// One knot per ion: ion i has radius `perIonRadiusNM[i]` (the oracle from the engine's per-event apex radius).
    /// - Throws: `TwinError.invalidInput` naming the first ion whose radius is not finite and positive.
    /// With `apexZNM` (same count), ions are placed below the given apex heights instead of at the counted depth.
    /// - Throws: `TwinError.invalidInput` naming the first ion whose radius is not finite and positive (or whose apex
    ///   height is not finite).
    public init(perIonRadiusNM: [Float], apexZNM: [Float]? = nil, shape: ApexShape? = nil) throws {
        guard !perIonRadiusNM.isEmpty else { throw TwinError.invalidInput("geometry timeline: no per-ion radii") }
        if let bad = perIonRadiusNM.firstIndex(where: { !($0.isFinite && $0 > 0) }) {
            throw TwinError.invalidInput("geometry timeline: ion \(bad) has apex radius \(perIonRadiusNM[bad]) nm (must be finite and > 0)")
        }
        if let z = apexZNM {
            guard z.count == perIonRadiusNM.count else {
                throw TwinError.invalidInput("geometry timeline: \(z.count) apex heights for \(perIonRadiusNM.count) per-ion radii")
            }
            if let bad = z.firstIndex(where: { !$0.isFinite }) {
                throw TwinError.invalidInput("geometry timeline: ion \(bad) has apex height \(z[bad]) nm (must be finite)")
            }
        }
        perIonApexZNM = apexZNM
        ionIndex = [0]; apexRadiusNM = [Double(perIonRadiusNM[0])]
        shapes = shape.map { [$0] }
        self.perIonRadiusNM = perIonRadiusNM
    }
}
