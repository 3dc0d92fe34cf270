import Foundation
import TwinCore

/// Everything about the flight that does not change from ion to ion.
public struct FlightSetup: Sendable {
    /// Electrostatic field of the needle (per volt).
    public var field: any ElectrostaticFieldModel
    /// Objective-lens field (``ObjectiveLensField/off`` for none).
    public var lens: ObjectiveLensField
    /// Detector plane z = L, metres from the apex along the needle axis (F200 atom probe: 0.470 m).
    public var detectorDistanceM: Double
    /// Pulse shape shared by all pulses; each ion brings its own V_DC, V_pulse and departure time.
    public var pulseShape: PulseShape
    /// Relative tolerance of the embedded Runge–Kutta error control.
    public var relativeTolerance: Double = 1e-9
    /// ε of the additional step limit h ≤ ε √(r/|a|) near the apex (r: distance travelled + ``nearFieldLengthM``).
    public var stepSafety: Double = 0.05
    /// Length added to the travelled distance in the near-apex step limit, metres (a fraction of an atom).
    public var nearFieldLengthM: Double = 5e-11
    /// Boris step as a fraction of the distance from the apex.
    public var borisStepFraction: Double = 0.01
    /// Largest gyration angle per Boris step inside the lens, radians.
    public var maxGyrationAnglePerStep: Double = 2e-3
    /// The straight-line phase starts once B = 0 along the rest of the path and |E/V|·r ≤ this, i.e. the
    /// potential still to be gained is at most this fraction of V (exact for the hyperboloid beyond its plane).
    public var residualPotentialFraction: Double = 1e-7
    /// Flights longer than this are abandoned (ion trapped or turned back by the lens), nanoseconds.
    public var maxFlightTimeNS: Double = 1e5

    public init(field: any ElectrostaticFieldModel, lens: ObjectiveLensField = .off, detectorDistanceM: Double = 0.470,
                pulseShape: PulseShape = .none) {
        self.field = field; self.lens = lens; self.detectorDistanceM = detectorDistanceM; self.pulseShape = pulseShape
    }
}

/// The initial state of one ion.
public struct IonLaunch: Sendable {
    /// Ion mass, daltons (isotope mass; the missing electrons are neglected).
    public var massDa: Double
    /// Charge state n (charge n·e).
    public var charge: Int
    /// Launch point, metres (specimen frame), on or just above the needle surface.
    public var positionM: SIMD3<Double>
    /// Initial velocity, m/s (0 for an ion at rest; a transverse part models the lateral launch energy).
    public var velocityMPerS: SIMD3<Double>
    /// Departure time after the start of the pulse period, ns.
    public var timeInPulseNS: Double
    /// Standing voltage and pulse amplitude at departure, volts.
    public var vDCV: Double
    public var vPulseV: Double
    public init(massDa: Double, charge: Int, positionM: SIMD3<Double>, velocityMPerS: SIMD3<Double> = .zero,
                timeInPulseNS: Double = 0, vDCV: Double, vPulseV: Double = 0) {
        self.massDa = massDa; self.charge = charge; self.positionM = positionM; self.velocityMPerS = velocityMPerS
        self.timeInPulseNS = timeInPulseNS; self.vDCV = vDCV; self.vPulseV = vPulseV
    }
}

/// The outcome of one traced flight.
public struct Trajectory: Sendable {
    /// True if the ion crossed the detector plane (whether or not inside the active area).
    public var reachedDetectorPlane: Bool
    /// Crossing point on the detector plane, millimetres (x, y); meaningless if the plane was not reached.
    public var hitXMM: Double
    public var hitYMM: Double
    /// Time of flight from departure to the plane, nanoseconds.
    public var tofNS: Double
    /// Length of the path flown, metres.
    public var pathLengthM: Double
    /// Velocity at the end, m/s.
    public var finalVelocityMPerS: SIMD3<Double>
    /// Kinetic energy at the end, electronvolts.
    public var kineticEnergyEV: Double
    /// Where the straight-line phase started (or the ion's last position), metres.
    public var straightLineStartM: SIMD3<Double>
    /// Accepted and rejected Runge–Kutta steps, Boris steps.
    public var rkSteps: Int
    public var rkRejected: Int
    public var borisSteps: Int
    /// Angle between the final velocity and the +z axis, degrees (for an ion launched on the axis: the lens
    /// deflection).
    public var deflectionDeg: Double {
        let v = finalVelocityMPerS
        return atan2((v.x * v.x + v.y * v.y).squareRoot(), v.z) * 180 / .pi
    }
}

/// Traces ions from the needle to the detector plane by solving m dv/dt = q(E + v × B).
///
/// Three phases:
/// 1. **Near field** (|p| < ``ElectrostaticFieldModel/farFieldStartM``): adaptive Dormand–Prince 5(4)
///    (J. R. Dormand & P. J. Prince, J. Comput. Appl. Math. 6 (1980) 19; FSAL, local extrapolation, step factor
///    0.9·err^(−1/5) clamped to [0.2, 5]) on (p, v) with E(t) = V(t)·E/V(p) and the lens B. The step is also
///    limited to ε √(r/|a|) (r: distance from the launch point + a sub-atomic length): near the apex
///    |E| ~ 1e10–1e11 V/m and the first steps are 1e-15–1e-14 s; a step scaling only with r/|v| would blow up
///    from rest.
/// 2. **Lens / far field**: Boris push (J. P. Boris, Proc. 4th Conf. Num. Sim. Plasmas (1970) 3) in
///    drift–kick–drift form, with the rotation angle corrected to tan(ωΔt/2) so that gyration in a uniform B has
///    the exact phase; energy is conserved exactly in pure B. E still acts through the two half kicks. Steps are
///    a fraction of the distance to the apex, and at most ``FlightSetup/maxGyrationAnglePerStep`` of gyration and
///    1/50 of the lens's variation length (1/2000 of a hard-edged uniform lens).
/// 3. **Straight line** to the plane z = L once B = 0 for the rest of the way and the remaining potential is
///    negligible.
public struct IonTracer: Sendable {
    public let setup: FlightSetup
    public init(setup: FlightSetup) { self.setup = setup }

    /// Traces one ion.
    public func trace(_ ion: IonLaunch) -> Trajectory {
        let s = setup
        let qm = Double(ion.charge) * PhysicalConstants.elementaryChargeC / (ion.massDa * PhysicalConstants.daltonKG)
        let field = s.field, lens = s.lens, shape = s.pulseShape
        let vdc = ion.vDCV, vp = ion.vPulseV, t0NS = ion.timeInPulseNS
        @inline(__always) func volts(_ t: Double) -> Double { vdc + vp * shape.value(atNS: t0NS + t * 1e9) }
        @inline(__always) func accel(_ t: Double, _ p: SIMD3<Double>, _ v: SIMD3<Double>) -> SIMD3<Double> {
            let e = field.fieldPerVolt(atM: p) * volts(t)
            if lens.peakFieldT == 0 { return e * qm }
            let b = lens.fieldT(atM: p)
            return (e + cross(v, b)) * qm
        }
        var p = ion.positionM, v = ion.velocityMPerS, t = 0.0, path = 0.0
        let p0 = p
        let vScale = (2 * qm * abs(vdc + vp)).squareRoot() + (v * v).sum().squareRoot()
        let rtol = s.relativeTolerance
        let maxT = s.maxFlightTimeNS * 1e-9
        var rkSteps = 0, rkRejected = 0, borisSteps = 0

        // Phase 1: Dormand–Prince 5(4).
        var k1v = accel(t, p, v)
        var h = 1e-14
        do {
            let a = (k1v * k1v).sum().squareRoot()
            if a > 0 { h = min(h, s.stepSafety * (s.nearFieldLengthM / a).squareRoot()) }
        }
        let far = field.farFieldStartM
        while (p * p).sum() < far * far && t < maxT && rkSteps + rkRejected < 2_000_000 {
            let a = (k1v * k1v).sum().squareRoot()
            let dist = ((p - p0) * (p - p0)).sum().squareRoot()
            if a > 0 { h = min(h, s.stepSafety * ((dist + s.nearFieldLengthM) / a).squareRoot()) }
            // Stages (kp = velocity, kv = acceleration).
            typealias C = DormandPrince
            let k1p = v
            var sp: SIMD3<Double> = k1p * C.a21, sv: SIMD3<Double> = k1v * C.a21
            let p2 = p + sp * h, v2 = v + sv * h
            let k2p = v2, k2v = accel(t + C.c2 * h, p2, v2)
            sp = k1p * C.a31; sp += k2p * C.a32
            sv = k1v * C.a31; sv += k2v * C.a32
            let p3 = p + sp * h, v3 = v + sv * h
            let k3p = v3, k3v = accel(t + C.c3 * h, p3, v3)
            sp = k1p * C.a41; sp += k2p * C.a42; sp += k3p * C.a43
            sv = k1v * C.a41; sv += k2v * C.a42; sv += k3v * C.a43
            let p4 = p + sp * h, v4 = v + sv * h
            let k4p = v4, k4v = accel(t + C.c4 * h, p4, v4)
            sp = k1p * C.a51; sp += k2p * C.a52; sp += k3p * C.a53; sp += k4p * C.a54
            sv = k1v * C.a51; sv += k2v * C.a52; sv += k3v * C.a53; sv += k4v * C.a54
            let p5 = p + sp * h, v5 = v + sv * h
            let k5p = v5, k5v = accel(t + C.c5 * h, p5, v5)
            sp = k1p * C.a61; sp += k2p * C.a62; sp += k3p * C.a63; sp += k4p * C.a64; sp += k5p * C.a65
            sv = k1v * C.a61; sv += k2v * C.a62; sv += k3v * C.a63; sv += k4v * C.a64; sv += k5v * C.a65
            let p6 = p + sp * h, v6 = v + sv * h
            let k6p = v6, k6v = accel(t + h, p6, v6)
            sp = k1p * C.b1; sp += k3p * C.b3; sp += k4p * C.b4; sp += k5p * C.b5; sp += k6p * C.b6
            sv = k1v * C.b1; sv += k3v * C.b3; sv += k4v * C.b4; sv += k5v * C.b5; sv += k6v * C.b6
            let pn = p + sp * h, vn = v + sv * h
            let k7p = vn, k7v = accel(t + h, pn, vn)
            // Error estimate: difference between the 5th- and 4th-order solutions.
            var ep: SIMD3<Double> = k1p * C.e1; ep += k3p * C.e3; ep += k4p * C.e4; ep += k5p * C.e5; ep += k6p * C.e6; ep += k7p * C.e7
            var ev: SIMD3<Double> = k1v * C.e1; ev += k3v * C.e3; ev += k4v * C.e4; ev += k5v * C.e5; ev += k6v * C.e6; ev += k7v * C.e7
            ep *= h; ev *= h
            let dpn: SIMD3<Double> = pn - p0
            let scaleP: Double = rtol * ((dpn * dpn).sum().squareRoot() + s.nearFieldLengthM)
            let scaleV: Double = rtol * max((vn * vn).sum().squareRoot(), 1e-3 * vScale)
            let err: Double = max((ep * ep).sum().squareRoot() / scaleP, (ev * ev).sum().squareRoot() / scaleV)
            if err <= 1 {
                path += ((pn - p) * (pn - p)).sum().squareRoot()
                p = pn; v = vn; t += h; k1v = k7v
                rkSteps += 1
                let f = err > 0 ? 0.9 * pow(err, -0.2) : 5
                h *= min(5, max(0.2, f))
            } else {
                rkRejected += 1
                h *= err.isFinite ? max(0.2, 0.9 * pow(err, -0.25)) : 0.1
            }
        }

        // Phase 2: Boris push with E and B.
        let L = s.detectorDistanceM
        let extent = lens.extentM
        var reached = false
        while t < maxT && borisSteps < 5_000_000 {
            let r = (p * p).sum().squareRoot()
            let rho = (p.x * p.x + p.z * p.z).squareRoot()
            let speed = (v * v).sum().squareRoot()
            if rho > extent || lens.peakFieldT == 0 {
                // Straight line once the remaining potential is negligible (and B = 0 from here on).
                let fpv = field.fieldPerVolt(atM: p)
                if (fpv * fpv).sum().squareRoot() * r <= s.residualPotentialFraction { break }
            }
            var ds = s.borisStepFraction * max(r, 1e-9)
            if rho <= extent * 1.0000001 {
                ds = min(ds, lens.stepLimitM(rhoM: rho))
                let omega = qm * max(abs(lens.fieldT(rhoM: rho)), abs(lens.fieldT(rhoM: rho + ds)))
                if omega > 0 { ds = min(ds, s.maxGyrationAnglePerStep * speed / omega) }
            }
            var dt = ds / max(speed, 1)
            var last = false
            if v.z > 0, p.z + v.z * dt >= L { dt = (L - p.z) / v.z; last = true }
            let xh = p + v * (0.5 * dt)
            let e = field.fieldPerVolt(atM: xh) * volts(t + 0.5 * dt)
            let b = lens.peakFieldT == 0 ? SIMD3<Double>.zero : lens.fieldT(atM: xh)
            let vNew = IonTracer.borisKick(v: v, qOverM: qm, eVPerM: e, bT: b, dt: dt)
            let pn = xh + vNew * (0.5 * dt)
            path += ((xh - p) * (xh - p)).sum().squareRoot() + ((pn - xh) * (pn - xh)).sum().squareRoot()
            p = pn; v = vNew; t += dt
            borisSteps += 1
            if last {
                // Close the small gap left by the velocity change within the last step.
                if v.z > 0 { let d = (L - p.z) / v.z; path += abs(d) * (v * v).sum().squareRoot(); p += v * d; t += d }
                reached = true
                break
            }
            if (rho > extent && v.z <= 0) || p.z < -s.detectorDistanceM { break }   // turned back: never reaches the detector
        }
        let straightStart = p
        // Phase 3: straight line.
        if !reached && v.z > 0 && t < maxT && p.z < L {
            let d = (L - p.z) / v.z
            path += d * (v * v).sum().squareRoot()
            p += v * d; t += d
            reached = true
        } else if !reached && p.z >= L { reached = true }
        let m = ion.massDa * PhysicalConstants.daltonKG
        let ke = 0.5 * m * (v * v).sum() / PhysicalConstants.elementaryChargeC
        return Trajectory(reachedDetectorPlane: reached && t <= maxT, hitXMM: p.x * 1e3, hitYMM: p.y * 1e3, tofNS: t * 1e9,
                          pathLengthM: path, finalVelocityMPerS: v, kineticEnergyEV: ke, straightLineStartM: straightStart,
                          rkSteps: rkSteps, rkRejected: rkRejected, borisSteps: borisSteps)
    }

    /// One Boris velocity update: half kick by E, rotation about B, half kick by E.
    ///
    /// The rotation uses t = b̂ tan(ωΔt/2) (ω = (q/m)|B|) instead of Boris's (q/m)B Δt/2, which makes the gyration
    /// phase exact in a uniform field; |v| is unchanged by the rotation for any Δt.
    @inlinable
    static func borisKick(v: SIMD3<Double>, qOverM: Double, eVPerM: SIMD3<Double>, bT: SIMD3<Double>, dt: Double) -> SIMD3<Double> {
        let vMinus = v + eVPerM * (qOverM * 0.5 * dt)
        let bn = (bT * bT).sum().squareRoot()
        var vPlus = vMinus
        if bn > 0 {
            let half = 0.5 * qOverM * bn * dt
            let tv = bT * (tan(half) / bn)
            let sv = tv * (2 / (1 + (tv * tv).sum()))
            let vPrime = vMinus + cross(vMinus, tv)
            vPlus = vMinus + cross(vPrime, sv)
        }
        return vPlus + eVPerM * (qOverM * 0.5 * dt)
    }
}

/// Dormand–Prince 5(4) coefficients (Dormand & Prince 1980, Table 2; Hairer, Nørsett & Wanner, *Solving ODEs I*,
/// Table 5.2): c, a, the 5th-order weights b (= last row, FSAL) and e = b − b̂ for the error estimate.
enum DormandPrince {
    static let c2 = 0.2, c3 = 0.3, c4 = 0.8, c5 = 8.0 / 9.0
    static let a21 = 0.2
    static let a31 = 3.0 / 40.0, a32 = 9.0 / 40.0
    static let a41 = 44.0 / 45.0, a42 = -56.0 / 15.0, a43 = 32.0 / 9.0
    static let a51 = 19372.0 / 6561.0, a52 = -25360.0 / 2187.0, a53 = 64448.0 / 6561.0, a54 = -212.0 / 729.0
    static let a61 = 9017.0 / 3168.0, a62 = -355.0 / 33.0, a63 = 46732.0 / 5247.0, a64 = 49.0 / 176.0
    static let a65 = -5103.0 / 18656.0
    static let b1 = 35.0 / 384.0, b3 = 500.0 / 1113.0, b4 = 125.0 / 192.0, b5 = -2187.0 / 6784.0, b6 = 11.0 / 84.0
    static let e1 = 71.0 / 57600.0, e3 = -71.0 / 16695.0, e4 = 71.0 / 1920.0, e5 = -17253.0 / 339200.0
    static let e6 = 22.0 / 525.0, e7 = -1.0 / 40.0
}

@inlinable
func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
    SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}
