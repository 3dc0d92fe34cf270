import Foundation
import TwinCore

/// The macroscopic electrostatic environment of the needle: what a body of revolution "sees" on the scale of
/// micrometres to millimetres. All lengths in the names' units; the needle is at the applied voltage, every
/// electrode listed here is grounded.
///
/// In the JEOL F200 set-up the needle lies in the objective pole-piece gap, its axis perpendicular to the optical
/// axis, pointing at the objective-aperture port where the detector sits. The model is axisymmetric about the
/// needle axis: the pole pieces are a grounded coaxial cylinder of radius `poleGapMM / 2`, the aperture-port face
/// a grounded plane at `counterElectrodeDistanceMM` in front of the apex (its hole, through which the ions pass,
/// is not modelled — its radius is large compared with the region that sets the apex field). The needle is a cap
/// on a cone that widens into a cylindrical post of radius `postRadiusUM` reaching back
/// `postLengthMM` towards the holder. Every default is an estimate for the F200 holder geometry, not a measurement.
public struct NeedleEnvironment: Sendable, Equatable {
    /// Distance from the apex to the grounded counter-electrode plane (aperture port), mm. ≤ 0: no plane.
    public var counterElectrodeDistanceMM: Double = 5.0
    /// Gap between the objective pole pieces, mm (modelled as a coaxial grounded cylinder of radius gap/2). ≤ 0: none.
    public var poleGapMM: Double = 5.0
    /// Radius of the post the needle's cone widens into, µm.
    public var postRadiusUM: Double = 50
    /// How far the post (at the needle's voltage) reaches back, mm.
    public var postLengthMM: Double = 3
    /// Flight path apex → detector, mm (for the image compression factor).
    public var flightPathMM: Double = 470

    public init() {}

    /// An isolated needle: no electrodes around it.
    public static var isolated: NeedleEnvironment {
        var e = NeedleEnvironment(); e.counterElectrodeDistanceMM = 0; e.poleGapMM = 0; return e
    }
}

/// A meridian profile (ρ, z) of a conductor of revolution, in nm, from the apex (on the axis, ρ = 0) downwards.
public struct MeridianProfile: Sendable {
    public var rhoNM: [Double]
    public var zNM: [Double]
    /// Whether the profile returns to the axis (a closed body such as a sphere).
    public var closed: Bool

    public init(rhoNM: [Double], zNM: [Double], closed: Bool) { self.rhoNM = rhoNM; self.zNM = zNM; self.closed = closed }

    /// A spherical cap of radius `radiusNM` (apex at z = 0) tangent to a cone of half-angle `shankHalfAngleDeg`
    /// that widens until it reaches `postRadiusNM`, continued by a cylindrical post of that radius down to
    /// z = −`totalLengthNM` (a FIB-milled needle on its post).
    public static func sphereOnCone(radiusNM r: Double, shankHalfAngleDeg: Double, postRadiusNM: Double,
                                    totalLengthNM: Double) -> MeridianProfile {
        let alpha = shankHalfAngleDeg * .pi / 180
        var rho: [Double] = [], z: [Double] = []
        let psiMax = .pi / 2 - alpha
        let nCap = 400
        for k in 0...nCap {
            let psi = psiMax * Double(k) / Double(nCap)
            rho.append(r * sin(psi)); z.append(-r + r * cos(psi))
        }
        let rho0 = rho.last!, z0 = z.last!
        // Cone: geometric sampling in length (the profile spans nm to mm).
        var t = r * 0.01
        let coneEnd = max(r * 0.02, alpha > 1e-6 ? (postRadiusNM - rho0) / sin(alpha) : postRadiusNM * 10)
        while t < coneEnd {
            rho.append(rho0 + t * sin(alpha)); z.append(z0 - t * cos(alpha)); t *= 1.02
        }
        rho.append(rho0 + coneEnd * sin(alpha)); z.append(z0 - coneEnd * cos(alpha))
        let rPost = rho.last!
        var zz = z.last!
        var step = rPost * 0.05
        while zz - step > -totalLengthNM { zz -= step; rho.append(rPost); z.append(zz); step *= 1.05 }
        rho.append(rPost); z.append(-totalLengthNM)
        return MeridianProfile(rhoNM: rho, zNM: z, closed: false)
    }

    /// A sphere of radius `radiusNM` with its top at z = 0 (closed).
    public static func sphere(radiusNM r: Double) -> MeridianProfile {
        let n = 2000
        var rho: [Double] = [], z: [Double] = []
        for k in 0...n {
            let psi = Double.pi * Double(k) / Double(n)
            rho.append(k == n ? 0 : r * sin(psi)); z.append(-r + r * cos(psi))
        }
        return MeridianProfile(rhoNM: rho, zNM: z, closed: true)
    }

    /// A hyperboloid of revolution with apex radius `radiusNM` whose apex (z = 0) is `distanceNM` from a plane at
    /// z = `distanceNM`: in prolate spheroidal coordinates about foci on the plane's normal, the surface η = η₀ with
    /// a η₀ = d and R = a(1 − η₀²)/η₀ (Eyring, Mackeown & Millikan, Phys. Rev. 31 (1928) 900). Sampled down to
    /// z = −`lengthNM`.
    public static func hyperboloid(radiusNM r: Double, distanceNM d: Double, lengthNM: Double) -> MeridianProfile {
        let eta0 = HyperboloidSolution.eta0(radiusNM: r, distanceNM: d)
        let a = d / eta0
        var rho: [Double] = [0], z: [Double] = [0]
        var p = r * 0.005
        while true {
            let zz = d - a * eta0 * (1 + p * p / (a * a * (1 - eta0 * eta0))).squareRoot()
            rho.append(p); z.append(zz)
            if zz < -lengthNM { break }
            p *= 1.01
        }
        return MeridianProfile(rhoNM: rho, zNM: z, closed: false)
    }
}

/// The exact field of a hyperboloid of revolution facing a grounded plane (Eyring, Mackeown & Millikan 1928):
/// φ = V artanh(η)/artanh(η₀); apex field F = V/(R η₀ artanh η₀), i.e. k_f = η₀ artanh(η₀) → ½ ln(4d/R) for R ≪ d.
public enum HyperboloidSolution {
    /// η₀ from the apex radius R and apex–plane distance d: R/d = (1 − η₀²)/η₀².
    public static func eta0(radiusNM r: Double, distanceNM d: Double) -> Double {
        // (1 − η²)/η² = R/d ⇒ η² = 1/(1 + R/d)
        (1 / (1 + r / d)).squareRoot()
    }
    /// Analytic field factor k_f = V/(F R).
    public static func fieldFactor(radiusNM r: Double, distanceNM d: Double) -> Double {
        let e = eta0(radiusNM: r, distanceNM: d)
        return e * atanh(e)
    }
}

/// Continuum (macroscopic) field of a needle of revolution at unit voltage in its grounded environment, by the
/// charge simulation method: ring charges inside the conductors, their strengths fixed by collocation of the
/// potential on the surfaces (Singer, Steinbigler & Weiss, IEEE Trans. PAS 93 (1974) 1660; ring-charge potential
/// with complete elliptic integrals, Durand, Électrostatique, 1964). A grounded plane is represented exactly by
/// image rings of opposite sign. Collocation points are graded geometrically from the apex, so one solve spans the
/// nanometre apex and the millimetre electrodes.
///
/// Units: lengths nm; the ring "charges" are in V·nm (Gaussian-like units with 1/(4πε₀) = 1), so fields come out in
/// V/nm per volt on the needle.
public struct AxisymmetricFieldModel: Sendable {
    /// Ring radii, axial positions and strengths (V·nm).
    public private(set) var ringRho: [Double] = []
    public private(set) var ringZ: [Double] = []
    public private(set) var ringQ: [Double] = []
    /// Plane position (nm) if a grounded plane is present.
    public let planeZNM: Double?
    /// Largest |φ − φ_target| at the check points between collocation points on the needle (per volt).
    public private(set) var maxCollocationError: Double = 0
    /// Where (z, nm) that largest error occurs.
    public private(set) var worstCheckZNM: Double = 0
    /// Number of ring charges (without images).
    public var ringCount: Int { planeZNM == nil ? ringQ.count : ringQ.count / 2 }
    public let profile: MeridianProfile
    public let environment: NeedleEnvironment

    /// Solves for the needle `profile` (apex at z = 0, at 1 V) in `environment`.
    public init(profile: MeridianProfile, environment: NeedleEnvironment, apexSpacingNM: Double) throws {
        self.profile = profile; self.environment = environment
        let d = environment.counterElectrodeDistanceMM > 0 ? environment.counterElectrodeDistanceMM * 1e6 : nil
        planeZNM = d
        // Arc length along the profile.
        let np = profile.rhoNM.count
        var s = [Double](repeating: 0, count: np)
        for k in 1..<np {
            s[k] = s[k - 1] + hypot(profile.rhoNM[k] - profile.rhoNM[k - 1], profile.zNM[k] - profile.zNM[k - 1])
        }
        let total = s[np - 1]
        func pointAt(_ sv: Double) -> (rho: Double, z: Double, nr: Double, nz: Double) {
            var lo = 0, hi = np - 1
            while hi - lo > 1 { let m = (lo + hi) / 2; if s[m] <= sv { lo = m } else { hi = m } }
            let seg = max(1e-300, s[hi] - s[lo])
            let t = min(1, max(0, (sv - s[lo]) / seg))
            let r = profile.rhoNM[lo] + t * (profile.rhoNM[hi] - profile.rhoNM[lo])
            let z = profile.zNM[lo] + t * (profile.zNM[hi] - profile.zNM[lo])
            // Outward normal: tangent (dρ, dz) rotated so that it points away from the axis/body.
            let tr = (profile.rhoNM[hi] - profile.rhoNM[lo]) / seg, tz = (profile.zNM[hi] - profile.zNM[lo]) / seg
            return (r, z, -tz, tr)
        }
        // Graded collocation: spacing grows 12 % per point, never above 1/4 of the local radius (plus the apex
        // spacing); a closed body keeps the apex spacing all round.
        struct Colloc { var rho, z, nr, nz, h: Double; var target: Double; var s: Double = 0 }
        var col: [Colloc] = []
        var sv = 0.0, h = apexSpacingNM
        while sv < total {
            let p = pointAt(sv)
            col.append(Colloc(rho: sv == 0 ? 0 : p.rho, z: p.z, nr: sv == 0 ? 0 : p.nr, nz: sv == 0 ? 1 : p.nz, h: h, target: 1, s: sv))
            let hMax = profile.closed ? apexSpacingNM : max(apexSpacingNM, 0.35 * p.rho)
            h = min(h * 1.12, hMax)
            if profile.closed && total - sv < 1.5 * h { break }
            sv += h
        }
        if profile.closed {
            col.append(Colloc(rho: 0, z: profile.zNM[np - 1], nr: 0, nz: -1, h: apexSpacingNM, target: 1, s: total))
        }
        let nNeedle = col.count
        // Pole-piece cylinder, from the back of the needle to the plane (or a long way forward).
        if environment.poleGapMM > 0 {
            let rc = environment.poleGapMM * 1e6 / 2
            let zBack = profile.zNM.min()! - rc
            let zFront = d ?? rc * 4
            var zz = 0.0, hh = rc * 0.08
            var pts: [Double] = [0]
            while zz < zFront { zz = min(zFront, zz + hh); pts.append(zz); hh *= 1.15 }
            zz = 0; hh = rc * 0.08
            while zz > zBack { zz = max(zBack, zz - hh); pts.insert(zz, at: 0); hh *= 1.15 }
            for k in 0..<pts.count {
                let hk = k + 1 < pts.count ? pts[k + 1] - pts[k] : pts[k] - pts[k - 1]
                // The last point sits on the plane: move it just in front (the image makes the plane itself 0).
                let zk = d != nil && k == pts.count - 1 ? pts[k] - 0.5 * hk : pts[k]
                col.append(Colloc(rho: rc, z: zk, nr: -1, nz: 0, h: hk, target: 0))
            }
        }
        // Rings: inside each conductor, one assignment factor × spacing behind its collocation point.
        let f = 1.3
        var rr: [Double] = [], rz: [Double] = []
        for c in col {
            rr.append(max(0, c.rho - f * c.h * c.nr))
            rz.append(c.z - f * c.h * c.nz)
        }
        let n = col.count
        var a = [Double](repeating: 0, count: n * n), b = [Double](repeating: 0, count: n)
        for i in 0..<n {
            b[i] = col[i].target
            for j in 0..<n {
                var g = AxisymmetricFieldModel.ringPotential(rho: col[i].rho, z: col[i].z, ringRho: rr[j], ringZ: rz[j])
                if let d { g -= AxisymmetricFieldModel.ringPotential(rho: col[i].rho, z: col[i].z, ringRho: rr[j], ringZ: 2 * d - rz[j]) }
                a[i * n + j] = g
            }
        }
        guard let q = DenseLinearSolve.solve(a, b, n: n, tolerance: 1e-300) else {
            throw TwinError.inconsistent("the charge-simulation system of the needle environment is singular")
        }
        ringRho = rr; ringZ = rz; ringQ = q
        if let d {
            ringRho += rr; ringZ += rz.map { 2 * d - $0 }; ringQ += q.map { -$0 }
        }
        // Check the potential half-way between needle collocation points.
        var err = 0.0
        var k = 0
        while k + 1 < nNeedle {
            let smid = 0.5 * (col[k].s + col[k + 1].s)
            let p = pointAt(smid)
            if abs(p.z) < 0.5 * abs(profile.zNM.last!) {
                let e = abs(potential(rhoNM: p.rho, zNM: p.z) - 1)
                if e > err { err = e; worstCheckZNM = p.z }
            }
            k += 1
        }
        maxCollocationError = err
    }

    /// Potential at (ρ, z) of a unit ring charge of radius a at z₀ (1/(4πε₀) = 1): (2/π) K(m)/√A with
    /// A = (ρ + a)² + (z − z₀)², m = 4aρ/A.
    @inline(__always)
    static func ringPotential(rho: Double, z: Double, ringRho a: Double, ringZ z0: Double) -> Double {
        let dz = z - z0
        let aa = (rho + a) * (rho + a) + dz * dz
        let m = 4 * a * rho / aa
        let ke = completeEllipticKE(min(m, 1 - 1e-15))
        return 2 / Double.pi * ke.k / aa.squareRoot()
    }

    /// Field (E_ρ, E_z) at (ρ, z) of a unit ring charge:
    /// E_z = (2/π) Δz E(m) / (√A B), E_ρ = (1/(πρ√A)) [K(m) + (ρ² − a² − Δz²) E(m)/B], B = (ρ − a)² + Δz².
    @inline(__always)
    static func ringField(rho: Double, z: Double, ringRho a: Double, ringZ z0: Double) -> (Double, Double) {
        let dz = z - z0
        let aa = (rho + a) * (rho + a) + dz * dz
        let bb = (rho - a) * (rho - a) + dz * dz
        let sa = aa.squareRoot()
        if rho < 1e-12 * (sa + 1e-300) || a == 0 {
            // On the axis, or a point charge.
            if a == 0 {
                let r2 = rho * rho + dz * dz
                let r3 = r2 * r2.squareRoot()
                return (rho / r3, dz / r3)
            }
            return (0, dz / (bb * bb.squareRoot()))
        }
        let m = 4 * a * rho / aa
        let ke = completeEllipticKE(min(m, 1 - 1e-15))
        let ez = 2 / Double.pi * dz * ke.e / (sa * bb)
        let er = 1 / (Double.pi * rho * sa) * (ke.k + (rho * rho - a * a - dz * dz) * ke.e / bb)
        return (er, ez)
    }

    /// Potential per volt at (ρ, z), nm.
    public func potential(rhoNM: Double, zNM: Double) -> Double {
        var p = 0.0
        for j in ringQ.indices {
            p += ringQ[j] * AxisymmetricFieldModel.ringPotential(rho: rhoNM, z: zNM, ringRho: ringRho[j], ringZ: ringZ[j])
        }
        return p
    }

    /// Field per volt (E_ρ, E_z) at (ρ, z), V/nm per V.
    public func field(rhoNM: Double, zNM: Double) -> (rho: Double, z: Double) {
        var er = 0.0, ez = 0.0
        for j in ringQ.indices {
            let (a, b) = AxisymmetricFieldModel.ringField(rho: rhoNM, z: zNM, ringRho: ringRho[j], ringZ: ringZ[j])
            er += ringQ[j] * a; ez += ringQ[j] * b
        }
        return (er, ez)
    }

    /// Field per volt at a point of space (x, y, z in nm; z the needle axis).
    public func field(xNM: Double, yNM: Double, zNM: Double) -> SIMD3<Double> {
        let rho = (xNM * xNM + yNM * yNM).squareRoot()
        let e = field(rhoNM: rho, zNM: zNM)
        if rho == 0 { return SIMD3(0, 0, e.z) }
        return SIMD3(e.rho * xNM / rho, e.rho * yNM / rho, e.z)
    }

    /// Apex field per volt (V/nm per V): the normal field at the profile's first point.
    public var apexFieldPerVolt: Double { field(rhoNM: 0, zNM: profile.zNM[0]).z }

    /// Area-weighted mean normal field per volt over the part of the profile whose outward normal lies within
    /// `polarAngleDeg` of the axis (the cap seen by the detector).
    public func capMeanFieldPerVolt(polarAngleDeg: Double) -> Double {
        let cosMax = cos(polarAngleDeg * .pi / 180)
        var sw = 0.0, sf = 0.0
        let p = profile
        for k in 1..<p.rhoNM.count {
            let dr = p.rhoNM[k] - p.rhoNM[k - 1], dz = p.zNM[k] - p.zNM[k - 1]
            let ds = hypot(dr, dz)
            if ds == 0 { continue }
            let nr = -dz / ds, nz = dr / ds
            if nz < cosMax { break }
            let rm = 0.5 * (p.rhoNM[k] + p.rhoNM[k - 1]), zm = 0.5 * (p.zNM[k] + p.zNM[k - 1])
            let e = field(rhoNM: rm, zNM: zm)
            let w = max(rm, 1e-9) * ds
            sw += w; sf += w * (e.rho * nr + e.z * nz)
        }
        return sw > 0 ? sf / sw : apexFieldPerVolt
    }

    /// Polar angle (rad) at which an ion launched at rest from the profile point of outward-normal polar angle
    /// `launchPolarAngleRad` reaches the detector plane at `environment.flightPathMM`, from an adaptive
    /// Runge–Kutta (Dormand–Prince 5(4)) integration of r̈ ∝ E(r) in the meridian plane up to the counter-electrode
    /// plane (or 10⁴ apex radii for an isolated needle) and a straight line beyond. Electrostatic trajectories
    /// do not depend on the ion's mass or charge.
    public func detectorAngle(launchPolarAngleRad psi: Double) -> Double? {
        // Launch point on the profile with that normal.
        let p = profile
        var start: (Double, Double)?
        for k in 1..<p.rhoNM.count {
            let dr = p.rhoNM[k] - p.rhoNM[k - 1], dz = p.zNM[k] - p.zNM[k - 1]
            let ds = hypot(dr, dz)
            if ds == 0 { continue }
            let ang = atan2(-dz, dr)  // normal (−dz, dr)/ds has polar angle atan2(nρ, nz) = atan2(−dz, dr)
            if ang >= psi { start = (p.rhoNM[k - 1], p.zNM[k - 1]); break }
        }
        guard let (r0, z0) = start else { return nil }
        let lDet = environment.flightPathMM * 1e6
        let zStop = planeZNM.map { $0 * 0.999 } ?? min(lDet, 1e4 * max(1, abs(p.zNM.min() ?? 1)))
        var y = [r0, z0, 0.0, 0.0]
        func deriv(_ s: [Double]) -> [Double] {
            let e = field(rhoNM: max(0, s[0]), zNM: s[1])
            return [s[2], s[3], e.rho, e.z]
        }
        // Dormand–Prince coefficients.
        let c: [[Double]] = DormandPrince.a
        let b5 = DormandPrince.b5, b4 = DormandPrince.b4
        let e0 = field(rhoNM: r0, zNM: z0)
        var h = 0.01 / max(1e-12, hypot(e0.rho, e0.z))
        var steps = 0
        while y[1] < zStop && steps < 100_000 {
            var k: [[Double]] = []
            k.append(deriv(y))
            for st in 1..<7 {
                var yt = y
                for i in 0..<4 { var acc = 0.0; for j in 0..<st { acc += c[st][j] * k[j][i] }; yt[i] += h * acc }
                k.append(deriv(yt))
            }
            var y5 = y, errN = 0.0
            for i in 0..<4 {
                var a5 = 0.0, a4 = 0.0
                for j in 0..<7 { a5 += b5[j] * k[j][i]; a4 += b4[j] * k[j][i] }
                y5[i] += h * a5
                let sc = 1e-10 * (abs(y[i]) + abs(y5[i])) + 1e-14
                errN = max(errN, abs(h * (a5 - a4)) / sc)
            }
            if errN <= 1 { y = y5; steps += 1 }
            h *= min(5, max(0.2, 0.9 * pow(max(errN, 1e-10), -0.2)))
        }
        guard y[3] > 0 else { return nil }
        let rhoD = y[0] + (lDet - y[1]) * y[2] / y[3]
        return atan2(rhoD, lDet)
    }
}

/// Dormand–Prince 5(4) Butcher tableau (Dormand & Prince, J. Comput. Appl. Math. 6 (1980) 19).
enum DormandPrince {
    static let a: [[Double]] = [
        [],
        [1.0 / 5],
        [3.0 / 40, 9.0 / 40],
        [44.0 / 45, -56.0 / 15, 32.0 / 9],
        [19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729],
        [9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656],
        [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84],
    ]
    static let b5: [Double] = [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0]
    static let b4: [Double] = [5179.0 / 57600, 0, 7571.0 / 16695, 393.0 / 640, -92097.0 / 339200, 187.0 / 2100, 1.0 / 40]
}

/// The continuum field of an ``AxisymmetricFieldModel`` tabulated for fast trajectory integration: E_ρ and E_z per
/// volt on a polar grid about the apex sphere's centre (0, −R), logarithmic in distance (R … the counter-electrode)
/// and uniform in polar angle; interpolated with Catmull–Rom cubics in ln r (E. Catmull & R. Rom, Computer Aided
/// Geometric Design (1974) 317: C¹ along the flight, whose direction is nearly radial) and linearly in angle. A
/// bilinear table has a kink at every radial cell boundary, and an adaptive Runge–Kutta integrator at 1e-9 rejected
/// more steps at those kinks than it accepted. Inside the conductor the table is not meant to be used.
public struct AxisymmetricFieldTable: Sendable {
    public let apexRadiusNM: Double
    public let maxRadiusNM: Double
    let nr: Int, nt: Int
    let logR0: Double, dLogR: Double, dTheta: Double
    let er: [Float], ez: [Float]

    /// Tabulates `model` (apex radius `apexRadiusNM`, apex at z = 0) out to `maxRadiusNM` from the cap centre.
    public init(model: AxisymmetricFieldModel, apexRadiusNM r: Double, maxRadiusNM: Double, threads: Int,
                radialPoints: Int = 220, angularPoints: Int = 181) {
        apexRadiusNM = r; self.maxRadiusNM = maxRadiusNM
        nr = radialPoints; nt = angularPoints
        logR0 = log(r * 0.98); dLogR = (log(maxRadiusNM) - logR0) / Double(nr - 1)
        dTheta = Double.pi / Double(nt - 1)
        let (lr0, dlr, dth, ntl) = (logR0, dLogR, dTheta, nt)
        let rows = ParallelChunks.map(count: nr, chunkSize: 4, threads: threads) { _, range -> [(Float, Float)] in
            var out: [(Float, Float)] = []
            for i in range {
                let rr = exp(lr0 + Double(i) * dlr)
                for j in 0..<ntl {
                    let th = Double(j) * dth
                    let e = model.field(rhoNM: rr * sin(th), zNM: -r + rr * cos(th))
                    out.append((Float(e.rho), Float(e.z)))
                }
            }
            return out
        }
        let flat = rows.flatMap { $0 }
        er = flat.map(\.0); ez = flat.map(\.1)
    }

    /// Field per volt (V/nm per V) at a point (nm; apex at the origin, axis z). Zero beyond the table.
    @inline(__always)
    public func field(xNM: Double, yNM: Double, zNM: Double) -> SIMD3<Double> {
        let rho = (xNM * xNM + yNM * yNM).squareRoot()
        let dz = zNM + apexRadiusNM
        let rr = (rho * rho + dz * dz).squareRoot()
        if rr >= maxRadiusNM || rr <= 0 { return .zero }
        let u = min(Double(nr - 1) - 1e-9, max(0, (log(rr) - logR0) / dLogR))
        let v = min(Double(nt - 1) - 1e-9, max(0, atan2(rho, dz) / dTheta))
        let i = Int(u), j = Int(v)
        let a = u - Double(i), b = v - Double(j)
        // Catmull–Rom weights in the radial index (rows i−1 … i+2, clamped at the table's ends).
        let a2 = a * a, a3 = a2 * a
        let w0 = 0.5 * (-a3 + 2 * a2 - a), w1 = 0.5 * (3 * a3 - 5 * a2 + 2), w2 = 0.5 * (-3 * a3 + 4 * a2 + a), w3 = 0.5 * (a3 - a2)
        let r0 = max(0, i - 1) * nt + j, r1 = i * nt + j, r2 = min(nr - 1, i + 1) * nt + j, r3 = min(nr - 1, i + 2) * nt + j
        @inline(__always) func radial(_ t: [Float], _ dj: Int) -> Double {
            w0 * Double(t[r0 + dj]) + w1 * Double(t[r1 + dj]) + w2 * Double(t[r2 + dj]) + w3 * Double(t[r3 + dj])
        }
        let wr = (1 - b) * radial(er, 0) + b * radial(er, 1)
        let wz = (1 - b) * radial(ez, 0) + b * radial(ez, 1)
        if rho < 1e-12 { return SIMD3(0, 0, wz) }
        return SIMD3(wr * xNM / rho, wr * yNM / rho, wz)
    }
}
