import Foundation

/// The electrostatic field of the needle, per volt on the needle.
///
/// Electrostatics is linear, so the instantaneous field is `V(t) · fieldPerVolt(atM: p)` with
/// V(t) = V_DC + V_pulse · shape(t) (see ``NeedleVoltage``). Coordinates are SI metres in the specimen frame:
/// z is the needle axis pointing towards the detector and the apex is at (or very near) the origin.
///
/// Conformances must be pure functions of the position (thread-safe, no hidden state), because every worker
/// thread traces ions through the same value.
public protocol ElectrostaticFieldModel: Sendable {
    /// Electric field per volt on the needle, (V/m)/V = 1/m, at `p` (metres, specimen frame).
    func fieldPerVolt(atM p: SIMD3<Double>) -> SIMD3<Double>
    /// Distance from the apex (metres) beyond which the tracer may leave the adaptive Runge–Kutta integrator for
    /// the far-field phases (Boris push with E and B, then a straight line). The field must still be defined
    /// beyond it (it is still used, with coarser fixed-fraction Boris steps), and smooth there: put any jump of the
    /// field (an electrode edge) inside this distance.
    var farFieldStartM: Double { get }
}

/// A charged sphere of radius R: E = V R / r² radially (per volt: R / r²), potential V R / r.
///
/// The sphere's centre is at (0, 0, −R), so that its top — the "apex" — is at the origin as the protocol asks.
/// Analytic test case; the field at the apex is V/R (field factor k_f = 1), far stronger than a real needle's
/// V/(k_f R) with k_f ≈ 4–6.5.
public struct SphereField: ElectrostaticFieldModel {
    /// Sphere radius R, metres.
    public let radiusM: Double
    public let farFieldStartM: Double

    /// - Parameters:
    ///   - radiusM: sphere radius R (metres).
    ///   - farFieldStartM: switch distance for the tracer; default 1000 R (the potential left beyond it is 0.1 %
    ///     of V, still integrated by the Boris phase).
    public init(radiusM: Double, farFieldStartM: Double? = nil) {
        precondition(radiusM > 0)
        self.radiusM = radiusM
        self.farFieldStartM = farFieldStartM ?? 1000 * radiusM
    }

    /// Centre of the sphere, metres.
    public var centreM: SIMD3<Double> { SIMD3(0, 0, -radiusM) }

    @inlinable
    public func fieldPerVolt(atM p: SIMD3<Double>) -> SIMD3<Double> {
        let d = p - SIMD3(0, 0, -radiusM)
        let r2 = (d * d).sum()
        let r = r2.squareRoot()
        return d * (radiusM / (r2 * r))
    }

    /// Potential per volt, φ/V = R / |p − c| (1 on the sphere, 0 at infinity).
    public func potentialPerVolt(atM p: SIMD3<Double>) -> Double {
        let d = p - centreM
        return radiusM / (d * d).sum().squareRoot()
    }
}

/// Exact field of a hyperboloidal needle of apex radius R whose apex is at distance d from a grounded plane
/// (prolate spheroidal coordinates; Eyring, Mackeown & Millikan, Phys. Rev. 31 (1928) 900; the standard
/// model behind k_f = ½ ln(4d/R)).
///
/// With foci at Z = ±c (Z measured from the plane), η = (r₋ − r₊)/(2c) ∈ [−1, 1] where r± are the distances to the
/// foci. Surfaces η = const are hyperboloids; η = 0 is the plane. The needle is the sheet η = η₀ < 0 with
/// η₀² = d/(d + R), c = √(d(d + R)) (apex radius of curvature c(1 − η₀²)/|η₀| = R, apex at Z = c η₀ = −d).
/// The potential φ = V artanh(η)/artanh(η₀) solves Laplace's equation, so
/// E = −∇φ = −V ∇η / ((1 − η²) artanh η₀), ∇η = (û₋ − û₊)/(2c).
/// Apex field: F = V / (R |η₀| artanh|η₀|) → V / (R · ½ ln(4d/R)) for d ≫ R.
///
/// Specimen frame: apex at the origin, plane at z = d, so Z = z − d. Beyond the plane (z > d) the field is taken
/// as zero (the counter-electrode is treated as an ideal, transparent grounded grid). Points inside the needle
/// (η < η₀, e.g. a launch point rounded just below the surface) get the field of the surface point η = η₀.
public struct HyperboloidPlaneField: ElectrostaticFieldModel {
    /// Apex radius of curvature R, metres.
    public let apexRadiusM: Double
    /// Apex-to-plane distance d, metres.
    public let planeDistanceM: Double
    public let farFieldStartM: Double
    @usableFromInline let c: Double
    @usableFromInline let eta0: Double
    @usableFromInline let scale: Double   // 1 / (2c · artanh η₀), negative

    /// - Parameters:
    ///   - apexRadiusM: R (metres).
    ///   - planeDistanceM: d (metres), default 1 mm.
    ///   - farFieldStartM: switch distance for the tracer; default 1.01 d: the field ends abruptly at the plane, and
    ///     the adaptive integrator (which rejects steps across the jump) must cover it — a fixed Boris step
    ///     straddling the plane would mis-count the energy by ~|E| Δs.
    public init(apexRadiusM: Double, planeDistanceM: Double = 1e-3, farFieldStartM: Double? = nil) {
        precondition(apexRadiusM > 0 && planeDistanceM > 0)
        self.apexRadiusM = apexRadiusM
        self.planeDistanceM = planeDistanceM
        let d = planeDistanceM
        c = (d * (d + apexRadiusM)).squareRoot()
        eta0 = -(d / (d + apexRadiusM)).squareRoot()
        scale = 1 / (2 * c * atanh(eta0))
        self.farFieldStartM = farFieldStartM ?? 1.01 * d
    }

    /// Field factor k_f = F_apex R / V = |η₀| artanh|η₀| (compare ½ ln(4d/R)).
    public var fieldFactor: Double { abs(eta0) * atanh(abs(eta0)) }

    @inlinable
    public func fieldPerVolt(atM p: SIMD3<Double>) -> SIMD3<Double> {
        let zc = p.z - planeDistanceM
        if zc > 0 { return .zero }
        let up = SIMD3(p.x, p.y, zc - c), dn = SIMD3(p.x, p.y, zc + c)
        let rp = (up * up).sum().squareRoot(), rm = (dn * dn).sum().squareRoot()
        let etaRaw = (rm - rp) / (2 * c)
        let eta = max(etaRaw, eta0)   // on (or, by rounding, just inside) the surface: the surface field
        let grad = dn / rm - up / rp            // 2c ∇η
        return grad * (-scale / (1 - eta * eta))
    }

    /// Potential per volt, artanh(η)/artanh(η₀) (1 on the needle, 0 on the plane and beyond).
    public func potentialPerVolt(atM p: SIMD3<Double>) -> Double {
        let zc = p.z - planeDistanceM
        if zc > 0 { return 0 }
        let up = SIMD3(p.x, p.y, zc - c), dn = SIMD3(p.x, p.y, zc + c)
        let eta = ((dn * dn).sum().squareRoot() - (up * up).sum().squareRoot()) / (2 * c)
        if eta <= eta0 { return 1 }
        return atanh(eta) / atanh(eta0)
    }

    /// The point of the needle surface (sheet η = η₀) at cylindrical radius `rhoM` from the axis and azimuth
    /// `phiRad`, metres, specimen frame. Used to launch ions from the surface.
    public func surfacePoint(rhoM: Double, phiRad: Double) -> SIMD3<Double> {
        // Hyperboloid η = η₀: Z²/(c²η₀²) − ρ²/(c²(1 − η₀²)) = 1, sheet Z < 0.
        let a2 = c * c * eta0 * eta0, b2 = c * c * (1 - eta0 * eta0)
        let zc = -(a2 * (1 + rhoM * rhoM / b2)).squareRoot()
        return SIMD3(rhoM * cos(phiRad), rhoM * sin(phiRad), zc + planeDistanceM)
    }
}

/// Time dependence of the pulse: V(t) = V_DC + V_pulse · shape(t), t in nanoseconds from the start of the pulse
/// period (the same origin as ``TwinCore/EvaporationEvents/timeInPulseNS``).
public enum PulseShape: Sendable, Equatable {
    /// No pulse (shape ≡ 0: only V_DC acts).
    case none
    /// Constant shape ≡ 1: the full V_DC + V_pulse during the whole flight (the "ideal voltage" case).
    case flat
    /// Gaussian exp(−4 ln2 (t − t_peak)²/FWHM²), peak value 1 at `peakNS`.
    case gaussian(fwhmNS: Double, peakNS: Double)
    /// Measured table: linear interpolation of `values` at increasing `timesNS`, 0 outside the table.
    case table(timesNS: [Double], values: [Double])

    /// The shape at time `tNS` (dimensionless, peak normally 1).
    @inlinable
    public func value(atNS tNS: Double) -> Double {
        switch self {
        case .none: return 0
        case .flat: return 1
        case .gaussian(let w, let p):
            let u = (tNS - p) / w
            return exp(-2.772588722239781 * u * u)
        case .table(let ts, let vs):
            guard let f = ts.first, let l = ts.last, tNS >= f, tNS <= l, ts.count == vs.count else { return 0 }
            var lo = 0, hi = ts.count - 1
            while hi - lo > 1 { let m = (lo + hi) / 2; if ts[m] <= tNS { lo = m } else { hi = m } }
            let span = ts[hi] - ts[lo]
            return span > 0 ? vs[lo] + (vs[hi] - vs[lo]) * (tNS - ts[lo]) / span : vs[lo]
        }
    }
}

/// The needle voltage during one pulse period: V(t) = V_DC + V_pulse · shape(t).
public struct NeedleVoltage: Sendable, Equatable {
    public var dcV: Double
    /// Pulse amplitude (peak), volts.
    public var pulseV: Double
    public var shape: PulseShape
    public init(dcV: Double, pulseV: Double = 0, shape: PulseShape = .none) {
        self.dcV = dcV; self.pulseV = pulseV; self.shape = shape
    }
    /// Voltage at `tNS` after the start of the pulse period, volts.
    @inlinable
    public func volts(atNS tNS: Double) -> Double { dcV + pulseV * shape.value(atNS: tNS) }
}
