import Foundation

/// The objective-lens magnetic field seen by the ions.
///
/// Geometry (side-entry holder, instrument-and-physics §1): the needle lies in the gap of the objective pole
/// pieces, perpendicular to the optical axis, with its apex on the optical axis. **The optical axis is the
/// specimen-frame y axis**; the ions fly along z, i.e. radially outwards in the mid-plane of the pole-piece gap,
/// through a field that points along y (transverse to the flight). In that mid-plane B = B(ρ) ŷ with
/// ρ = √(x² + z²) the distance from the optical axis; the small off-mid-plane components (ions stay within
/// ~0.1 mm of y = 0 over the first millimetres) are neglected. The Lorentz force q v × B then bends the ions in
/// the x–z plane: the lens acts as a magnetic sector, dispersive in √(q/m).
///
/// Radial profiles (choose one; all have peak value B0 at ρ = 0):
/// - ``Profile/uniform(lengthM:)``: B0 for ρ ≤ L, 0 beyond (the hard-edge model of the validation case).
/// - ``Profile/tanhPlateau(lengthM:edgeWidthM:)``: B0 · ½[1 − tanh((ρ − L)/w)], a plateau out to the pole-piece
///   edge with a fringing falloff of width w (the usual "soft-edge" sector-magnet model; cf. Wollnik,
///   *Optics of Charged Particles*, 1987, §5 on fringing fields).
/// - ``Profile/glaser(halfWidthM:)``: B0 / (1 + (ρ/a)²), Glaser's bell-shaped model (W. Glaser, Z. Phys. 117
///   (1941) 285), the standard analytic objective-lens profile (a ≈ half of √(S² + 0.45 D²) for gap S and bore D
///   is a common rule of thumb, Hawkes & Kasper, *Principles of Electron Optics* vol. 1, ch. 35). Strictly Glaser
///   describes B along the optical axis; it is used here as a smooth long-tailed radial falloff.
public struct ObjectiveLensField: Sendable, Equatable {
    /// Radial profile of the field in the mid-plane.
    public enum Profile: Sendable, Equatable {
        case uniform(lengthM: Double)
        case tanhPlateau(lengthM: Double, edgeWidthM: Double)
        case glaser(halfWidthM: Double)
    }

    /// Peak field B0 along +y, tesla (0 = lens off; the F200 objective reaches about 2 T).
    public var peakFieldT: Double
    public var profile: Profile

    public init(peakFieldT: Double, profile: Profile) {
        self.peakFieldT = peakFieldT; self.profile = profile
    }

    /// No field.
    public static let off = ObjectiveLensField(peakFieldT: 0, profile: .uniform(lengthM: 0))

    /// B_y at distance ρ from the optical axis, tesla.
    @inlinable
    public func fieldT(rhoM rho: Double) -> Double {
        if peakFieldT == 0 { return 0 }
        switch profile {
        case .uniform(let l): return rho <= l ? peakFieldT : 0
        case .tanhPlateau(let l, let w): return peakFieldT * 0.5 * (1 - tanh((rho - l) / w))
        case .glaser(let a): let u = rho / a; return peakFieldT / (1 + u * u)
        }
    }

    /// Field vector at `p` (metres, specimen frame), tesla: (0, B(ρ), 0), ρ = √(x² + z²).
    @inlinable
    public func fieldT(atM p: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3(0, fieldT(rhoM: (p.x * p.x + p.z * p.z).squareRoot()), 0)
    }

    /// Distance from the axis beyond which |B| < 1e-9 B0 (∞ for the Glaser profile's slow 1/ρ² tail is capped at
    /// 10⁴ a, where the remaining ∫B dρ is 6e-5 of the total), metres. Beyond it the tracer flies straight.
    public var extentM: Double {
        if peakFieldT == 0 { return 0 }
        switch profile {
        case .uniform(let l): return l
        case .tanhPlateau(let l, let w): return l + 11 * w
        case .glaser(let a): return 1e4 * a
        }
    }

    /// Largest Boris step at distance ρ from the axis so that the profile is resolved, metres: L/2000 for the
    /// hard-edged uniform field (edge-crossing error ≤ 0.05 % of the field length), w/50 within 6 w of a tanh edge,
    /// max(a, ρ)/50 for the Glaser bell (it varies on the scale max(a, ρ)).
    @inlinable
    public func stepLimitM(rhoM rho: Double) -> Double {
        switch profile {
        case .uniform(let l): return l / 2000
        case .tanhPlateau(let l, let w): return abs(rho - l) < 6 * w ? w / 50 : .infinity
        case .glaser(let a): return max(a, rho) / 50
        }
    }
}
