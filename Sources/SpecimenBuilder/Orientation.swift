import Foundation

// Orientation math for cubic crystals.
//
// Convention used throughout the twin: an orientation is the rotation that maps crystal-frame vectors to
// specimen-frame vectors, `v_specimen = R · v_crystal`. The columns of R are the crystal axes [100], [010], [001]
// written in the specimen frame; the rows of R are the specimen axes x, y, z written in the crystal frame.
// This is the transpose of the "passive" orientation matrix g of texture analysis (Bunge 1982), which maps
// specimen coordinates to crystal coordinates: R = gᵀ.
//
// The specimen frame is the needle frame of `NeedleGeometry`: z is the needle axis, pointing towards the detector.

/// A proper rotation of 3-D space (orthonormal 3×3 matrix with determinant +1), stored as three rows.
///
/// As an orientation it maps crystal-frame vectors to specimen-frame vectors: `apply(v_crystal) = v_specimen`
/// (see the file header for the convention). Composition `a * b` is the matrix product: `(a * b).apply(v)` equals
/// `a.apply(b.apply(v))`, so `orientation * m` applies `m` first, in the crystal frame.
public struct Rotation3: Sendable, Equatable, CustomStringConvertible {
    /// First row of the matrix (for an orientation: specimen x written in the crystal frame).
    public let row0: SIMD3<Double>
    /// Second row of the matrix (for an orientation: specimen y written in the crystal frame).
    public let row1: SIMD3<Double>
    /// Third row of the matrix (for an orientation: specimen z written in the crystal frame).
    public let row2: SIMD3<Double>

    /// Unchecked memberwise initialiser (the caller guarantees a proper rotation).
    @usableFromInline
    init(uncheckedRow0 r0: SIMD3<Double>, _ r1: SIMD3<Double>, _ r2: SIMD3<Double>) {
        row0 = r0; row1 = r1; row2 = r2
    }

    /// A rotation from its three rows.
    ///
    /// - Precondition: the rows form an orthonormal matrix with determinant +1 to within 1e-5 (the matrix is not
    ///   re-orthonormalised; use ``orthonormalised(rows:)`` for approximate input).
    public init(row0: SIMD3<Double>, row1: SIMD3<Double>, row2: SIMD3<Double>) {
        precondition(Rotation3.isProperRotation(row0, row1, row2, tolerance: 1e-5),
                     "Rotation3: rows \(row0), \(row1), \(row2) are not a proper rotation")
        self.init(uncheckedRow0: row0, row1, row2)
    }

    /// A rotation from a row-major 3×3 array `rows[i][j] = R_ij` (the layout of `CubicCrystal.rotation` and of
    /// `LatticeOrientation.estimateCubic`).
    ///
    /// - Precondition: `rows` is 3×3, orthonormal with determinant +1 to within 1e-5.
    public init(rows: [[Double]]) {
        precondition(rows.count == 3 && rows.allSatisfy { $0.count == 3 }, "Rotation3(rows:) needs a 3×3 array")
        self.init(row0: SIMD3(rows[0][0], rows[0][1], rows[0][2]),
                  row1: SIMD3(rows[1][0], rows[1][1], rows[1][2]),
                  row2: SIMD3(rows[2][0], rows[2][1], rows[2][2]))
    }

    /// The nearest proper rotation to an approximately orthonormal matrix (polar decomposition by the Newton
    /// iteration X ← (X + X⁻ᵀ)/2, Higham, SIAM J. Sci. Stat. Comput. 7 (1986) 1160). Returns nil for a singular
    /// or improper (determinant ≤ 0) matrix.
    public static func orthonormalised(rows: [[Double]]) -> Rotation3? {
        guard rows.count == 3, rows.allSatisfy({ $0.count == 3 }) else { return nil }
        var m = OrientationMatrix3(SIMD3(rows[0][0], rows[0][1], rows[0][2]), SIMD3(rows[1][0], rows[1][1], rows[1][2]),
                     SIMD3(rows[2][0], rows[2][1], rows[2][2]))
        guard m.determinant > 1e-12 else { return nil }
        for _ in 0..<60 {
            guard let inv = m.inverseTransposeRows else { return nil }
            let next = OrientationMatrix3((m.r0 + inv.c0) * 0.5, (m.r1 + inv.c1) * 0.5, (m.r2 + inv.c2) * 0.5)
            let change = max(orientationAbs(next.r0 - m.r0).max(), orientationAbs(next.r1 - m.r1).max(),
                             orientationAbs(next.r2 - m.r2).max())
            m = next
            if change < 1e-15 { break }
        }
        return Rotation3(uncheckedRow0: m.r0, m.r1, m.r2)
    }

    /// The matrix as a row-major array, `rows[i][j] = R_ij`.
    public var rows: [[Double]] {
        [[row0.x, row0.y, row0.z], [row1.x, row1.y, row1.z], [row2.x, row2.y, row2.z]]
    }

    /// First column (for an orientation: crystal [100] in the specimen frame).
    public var column0: SIMD3<Double> { SIMD3(row0.x, row1.x, row2.x) }
    /// Second column (for an orientation: crystal [010] in the specimen frame).
    public var column1: SIMD3<Double> { SIMD3(row0.y, row1.y, row2.y) }
    /// Third column (for an orientation: crystal [001] in the specimen frame).
    public var column2: SIMD3<Double> { SIMD3(row0.z, row1.z, row2.z) }

    /// The identity rotation (crystal axes along the specimen axes).
    public static let identity = Rotation3(uncheckedRow0: SIMD3(1, 0, 0), SIMD3(0, 1, 0), SIMD3(0, 0, 1))

    /// Right-handed rotation by `angleDeg` about `axis` (any length; normalised here), by Rodrigues' formula
    /// R = cos θ · I + sin θ · [n]ₓ + (1 − cos θ) · n nᵀ (O. Rodrigues, J. Math. Pures Appl. 5 (1840) 380;
    /// e.g. Goldstein, Classical Mechanics, 3rd ed., eq. 4.62).
    ///
    /// As an active rotation: `Rotation3(axis: [0, 0, 1], angleDeg: 90).apply([1, 0, 0]) == [0, 1, 0]`.
    /// - Precondition: `axis` is finite and non-zero unless `angleDeg` is 0 (zero angle gives the identity).
    public init(axis: SIMD3<Double>, angleDeg: Double) {
        if angleDeg == 0 { self = .identity; return }
        let len = (axis * axis).sum().squareRoot()
        precondition(len > 0 && len.isFinite, "Rotation3(axis:angleDeg:): the axis must be a finite non-zero vector")
        precondition(angleDeg.isFinite, "Rotation3(axis:angleDeg:): the angle must be finite")
        let n = axis / len
        let t = angleDeg * .pi / 180
        let c = cos(t), s = sin(t), k = 1 - c
        self.init(uncheckedRow0:
            SIMD3(c + k * n.x * n.x, k * n.x * n.y - s * n.z, k * n.x * n.z + s * n.y),
            SIMD3(k * n.y * n.x + s * n.z, c + k * n.y * n.y, k * n.y * n.z - s * n.x),
            SIMD3(k * n.z * n.x - s * n.y, k * n.z * n.y + s * n.x, c + k * n.z * n.z))
    }

    /// The orientation that puts the crystal direction `hkl` along the specimen (needle) axis z, then turns the
    /// crystal by `rotationAboutZDeg` (right-handed) about z.
    ///
    /// In-plane reference (deterministic; identical to the historical `CubicCrystal.rotationTakingToZ`): for a
    /// zero turn, specimen x is the projection of crystal [100] onto the plane perpendicular to [hkl], or of
    /// crystal [010] when |ĥ·[100]| > 0.9 (ĥ = [hkl]/|[hkl]|); specimen y = z × x. So for [001] ∥ z the crystal
    /// axes coincide with the specimen axes, and for [110] ∥ z specimen x is along [1-10].
    /// Result: `R = Rz(rotationAboutZDeg) · R0` with R0 having rows (x, y, ĥ) in crystal coordinates.
    /// - Throws: ``SpecimenError/invalid(_:)`` if `hkl` is zero or not finite.
    public init(crystalDirectionAlongSpecimenZ hkl: SIMD3<Double>, rotationAboutZDeg: Double = 0) throws {
        let len = (hkl * hkl).sum().squareRoot()
        guard len > 0, len.isFinite else {
            throw SpecimenError.invalid("crystal direction along the needle axis must be a finite non-zero [hkl], got \(hkl)")
        }
        guard rotationAboutZDeg.isFinite else {
            throw SpecimenError.invalid("rotation about the needle axis must be finite, got \(rotationAboutZDeg)")
        }
        let z = hkl / len
        let ref: SIMD3<Double> = abs(z.x) > 0.9 ? SIMD3(0, 1, 0) : SIMD3(1, 0, 0)
        var x = ref - (ref * z).sum() * z
        x /= (x * x).sum().squareRoot()
        let y = orientationCross(z, x)
        let r0 = Rotation3(uncheckedRow0: x, y, z)
        self = Rotation3(axis: SIMD3(0, 0, 1), angleDeg: rotationAboutZDeg) * r0
    }

    /// The orientation with Bunge Euler angles (φ1, Φ, φ2) in degrees (ZXZ convention, H.-J. Bunge, Texture
    /// Analysis in Materials Science, Butterworths 1982, eq. 2.39).
    ///
    /// Bunge's matrix g = Z(φ2) · X(Φ) · Z(φ1) (passive rotations) maps specimen coordinates to crystal coordinates;
    /// this initialiser returns its transpose R = gᵀ = Rz(φ1) · Rx(Φ) · Rz(φ2) (active rotations), which maps
    /// crystal → specimen like every ``Rotation3`` orientation. Thus R's third row is
    /// (sin φ2 sin Φ, cos φ2 sin Φ, cos Φ): the specimen z axis in crystal coordinates, and crystal [001] in the
    /// specimen frame is (sin φ1 sin Φ, −cos φ1 sin Φ, cos Φ).
    public init(eulerBungeDeg angles: (phi1: Double, Phi: Double, phi2: Double)) {
        let z = SIMD3<Double>(0, 0, 1), x = SIMD3<Double>(1, 0, 0)
        self = Rotation3(axis: z, angleDeg: angles.phi1) * Rotation3(axis: x, angleDeg: angles.Phi)
            * Rotation3(axis: z, angleDeg: angles.phi2)
    }

    /// Bunge Euler angles (φ1, Φ, φ2) in degrees of this orientation, φ1, φ2 ∈ [0, 360), Φ ∈ [0, 180]; inverse of
    /// ``init(eulerBungeDeg:)``. At Φ = 0 or 180 (gimbal lock) φ2 is set to 0.
    public var eulerBungeDeg: (phi1: Double, Phi: Double, phi2: Double) {
        // g = Rᵀ: g_ij = R_ji.
        let g33 = max(-1, min(1, row2.z))
        let Phi = acos(g33)
        var p1: Double, p2: Double
        if sin(Phi) > 1e-9 {
            p1 = atan2(row0.z /* g31 */, -row1.z /* −g32 */)
            p2 = atan2(row2.x /* g13 */, row2.y /* g23 */)
        } else {
            p1 = atan2(row1.x /* g12 */, row0.x /* g11 */)
            p2 = 0
        }
        func wrap(_ r: Double) -> Double { let d = r * 180 / .pi; return d < 0 ? d + 360 : (d >= 360 ? d - 360 : d) }
        return (wrap(p1), Phi * 180 / .pi, wrap(p2))
    }

    /// The rotation of the unit quaternion (w, x, y, z) (normalised here; q and −q give the same rotation):
    /// angle 2·atan2(|(x, y, z)|, w) about (x, y, z). Hamilton convention, active rotation.
    /// - Precondition: the quaternion is finite and non-zero.
    public init(quaternionW w: Double, x: Double, y: Double, z: Double) {
        let n = (w * w + x * x + y * y + z * z).squareRoot()
        precondition(n > 0 && n.isFinite, "Rotation3(quaternion…): the quaternion must be finite and non-zero")
        let (w, x, y, z) = (w / n, x / n, y / n, z / n)
        self.init(uncheckedRow0:
            SIMD3(1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)),
            SIMD3(2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)),
            SIMD3(2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)))
    }

    /// The unit quaternion (w, x, y, z) of this rotation with w ≥ 0 (Shepperd's method, J. Guidance Control 1
    /// (1978) 223, which is stable for every angle).
    public var quaternion: (w: Double, x: Double, y: Double, z: Double) {
        let q = OrientationQuaternion(matrix: self)
        return (q.w, q.v.x, q.v.y, q.v.z)
    }

    /// Applies the rotation to a vector (for an orientation: crystal frame → specimen frame).
    @inlinable
    public func apply(_ v: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3((row0 * v).sum(), (row1 * v).sum(), (row2 * v).sum())
    }

    /// The inverse rotation (for an orientation: specimen frame → crystal frame).
    public var transposed: Rotation3 { Rotation3(uncheckedRow0: column0, column1, column2) }

    /// Composition (matrix product): `(a * b).apply(v) == a.apply(b.apply(v))`.
    public static func * (a: Rotation3, b: Rotation3) -> Rotation3 {
        let c0 = b.column0, c1 = b.column1, c2 = b.column2
        func row(_ r: SIMD3<Double>) -> SIMD3<Double> { SIMD3((r * c0).sum(), (r * c1).sum(), (r * c2).sum()) }
        return Rotation3(uncheckedRow0: row(a.row0), row(a.row1), row(a.row2))
    }

    /// Rotation angle in degrees, in [0, 180] (computed from the quaternion, accurate also near 0 and 180).
    public var angleDeg: Double {
        let q = OrientationQuaternion(matrix: self)
        return 2 * atan2(q.vectorLength, abs(q.w)) * 180 / .pi
    }

    /// Unit rotation axis, oriented so that the rotation is right-handed by ``angleDeg`` about it. For the identity
    /// (angle below 1e-12 rad) the axis is undefined and [0, 0, 1] is returned.
    public var axis: SIMD3<Double> {
        let q = OrientationQuaternion(matrix: self)
        let l = q.vectorLength
        guard l > 1e-12 else { return SIMD3(0, 0, 1) }
        return q.v / l * (q.w < 0 ? -1 : 1)
    }

    /// Angle in degrees of the rotation taking `self` to `other` (`selfᵀ · other`), without crystal symmetry.
    public func angleDeg(to other: Rotation3) -> Double { (transposed * other).angleDeg }

    /// Largest deviation of RᵀR from the identity and of det R from 1, for checks on externally supplied matrices.
    public var orthonormalityError: Double {
        let t = transposed * self
        let e = max(orientationAbs(t.row0 - SIMD3(1, 0, 0)).max(), orientationAbs(t.row1 - SIMD3(0, 1, 0)).max(),
                    orientationAbs(t.row2 - SIMD3(0, 0, 1)).max())
        return max(e, abs(OrientationMatrix3(row0, row1, row2).determinant - 1))
    }

    /// Rows printed with 6 decimals.
    public var description: String {
        func f(_ v: SIMD3<Double>) -> String { String(format: "[%.6f, %.6f, %.6f]", v.x, v.y, v.z) }
        return "Rotation3(\(f(row0)), \(f(row1)), \(f(row2)))"
    }

    static func isProperRotation(_ r0: SIMD3<Double>, _ r1: SIMD3<Double>, _ r2: SIMD3<Double>,
                                 tolerance: Double) -> Bool {
        guard [r0, r1, r2].allSatisfy({ $0.x.isFinite && $0.y.isFinite && $0.z.isFinite }) else { return false }
        return Rotation3(uncheckedRow0: r0, r1, r2).orthonormalityError <= tolerance
    }
}

/// The cubic point group m-3m and misorientations between cubic orientations.
public enum CubicSymmetry {
    /// The 24 proper rotations of m-3m (point group 432): the signed permutation matrices with determinant +1.
    /// The identity is first. As symmetry operators of a crystal they act in the crystal frame:
    /// the orientations `R` and `R * operations[k]` are physically identical.
    public static let operations: [Rotation3] = {
        var ops: [Rotation3] = []
        let perms = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
        for p in perms {
            for signs in 0..<8 {
                var rows: [SIMD3<Double>] = []
                for i in 0..<3 {
                    var r = SIMD3<Double>(0, 0, 0)
                    r[p[i]] = (signs >> i) & 1 == 0 ? 1 : -1
                    rows.append(r)
                }
                let m = OrientationMatrix3(rows[0], rows[1], rows[2])
                if m.determinant > 0 { ops.append(Rotation3(uncheckedRow0: rows[0], rows[1], rows[2])) }
            }
        }
        return ops
    }()

    static let quaternions: [OrientationQuaternion] = operations.map { OrientationQuaternion(matrix: $0) }

    /// Disorientation between two cubic orientations (crystal → specimen rotations `a` and `b`): the misorientation
    /// Δ = aᵀ·b (so that `b = a * Δ`) with the smallest rotation angle among all its symmetry-equivalent forms
    /// S_iᵀ·Δ·S_j and their inverses (grain exchange), 2 × 24 × 24 = 1152 candidates (Grimmer, Scripta Metall. 8
    /// (1974) 1221; Morawiec, Orientations and Rotations, Springer 2004, ch. 6).
    ///
    /// Returns the angle in degrees, in [0, 62.80] for cubic crystals, and the unit axis in the crystal frame of
    /// `a` (its components are the same in the crystal frame of `b`, since Δ fixes its own axis). Among the
    /// equivalent minimal-angle forms the one whose axis lies in the standard stereographic triangle
    /// u ≥ v ≥ w ≥ 0 is returned, e.g. a Σ3 twin gives (60, [1, 1, 1]/√3). For a zero angle the axis is [0, 0, 1].
    public static func misorientation(_ a: Rotation3, _ b: Rotation3) -> (angleDeg: Double, axis: SIMD3<Double>) {
        let qd = OrientationQuaternion(matrix: a).conjugate * OrientationQuaternion(matrix: b)
        let syms = quaternions
        var bestW = -1.0
        var candidates: [OrientationQuaternion] = []
        candidates.reserveCapacity(1152)
        for si in syms {
            let left = si.conjugate * qd
            for sj in syms {
                var c = left * sj
                if c.w < 0 { c = c.negated }
                candidates.append(c)
                bestW = max(bestW, c.w)
            }
        }
        // Grain-exchange forms are the conjugates (same |w|, axis negated).
        var chosen: OrientationQuaternion? = nil
        var fallback: OrientationQuaternion? = nil
        for c in candidates where c.w >= bestW - 1e-12 {
            if fallback == nil { fallback = c }
            for v in [c.v, -c.v] where v.x >= v.y - 1e-12 && v.y >= v.z - 1e-12 && v.z >= -1e-12 {
                chosen = OrientationQuaternion(w: c.w, v: v); break
            }
            if chosen != nil { break }
        }
        let q = chosen ?? fallback!
        let l = q.vectorLength
        let angle = 2 * atan2(l, abs(q.w)) * 180 / .pi
        return (angle, l > 1e-12 ? q.v / l : SIMD3(0, 0, 1))
    }

    /// Disorientation angle only, degrees (cheaper than ``misorientation(_:_:)``: 24 candidates suffice for the
    /// angle because the trace is invariant under conjugation).
    public static func misorientationAngleDeg(_ a: Rotation3, _ b: Rotation3) -> Double {
        let qd = OrientationQuaternion(matrix: a).conjugate * OrientationQuaternion(matrix: b)
        var best = OrientationQuaternion(w: 0, v: SIMD3(1, 0, 0))
        for s in quaternions {
            let c = qd * s
            if abs(c.w) > abs(best.w) { best = c }
        }
        return 2 * atan2(best.vectorLength, abs(best.w)) * 180 / .pi
    }

    /// The symmetry-equivalent form `r * operations[k]` of an orientation that is closest to the identity
    /// (largest trace; ties go to the lowest k). Useful to report orientations in a canonical way.
    public static func canonical(_ r: Rotation3) -> Rotation3 {
        var best = r, bestTrace = -Double.infinity
        for s in operations {
            let c = r * s
            let t = c.row0.x + c.row1.y + c.row2.z
            if t > bestTrace + 1e-12 { best = c; bestTrace = t }
        }
        return best
    }
}

// MARK: - Internal helpers

/// Component-wise absolute value.
func orientationAbs(_ v: SIMD3<Double>) -> SIMD3<Double> { SIMD3(abs(v.x), abs(v.y), abs(v.z)) }

/// Cross product.
func orientationCross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
    SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}

/// A unit quaternion (Hamilton convention) used internally for misorientation searches.
struct OrientationQuaternion: Sendable {
    var w: Double
    var v: SIMD3<Double>

    init(w: Double, v: SIMD3<Double>) { self.w = w; self.v = v }

    /// Shepperd (1978): pick the largest of 4w², 4x², 4y², 4z² as the pivot. Result has w ≥ 0.
    init(matrix r: Rotation3) {
        let m00 = r.row0.x, m01 = r.row0.y, m02 = r.row0.z
        let m10 = r.row1.x, m11 = r.row1.y, m12 = r.row1.z
        let m20 = r.row2.x, m21 = r.row2.y, m22 = r.row2.z
        let tr = m00 + m11 + m22
        var q: (Double, Double, Double, Double)
        if tr >= m00 && tr >= m11 && tr >= m22 {
            let s = (1 + tr).squareRoot() * 2
            q = (s / 4, (m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s)
        } else if m00 >= m11 && m00 >= m22 {
            let s = (1 + m00 - m11 - m22).squareRoot() * 2
            q = ((m21 - m12) / s, s / 4, (m01 + m10) / s, (m02 + m20) / s)
        } else if m11 >= m22 {
            let s = (1 + m11 - m00 - m22).squareRoot() * 2
            q = ((m02 - m20) / s, (m01 + m10) / s, s / 4, (m12 + m21) / s)
        } else {
            let s = (1 + m22 - m00 - m11).squareRoot() * 2
            q = ((m10 - m01) / s, (m02 + m20) / s, (m12 + m21) / s, s / 4)
        }
        let n = (q.0 * q.0 + q.1 * q.1 + q.2 * q.2 + q.3 * q.3).squareRoot()
        let sign: Double = q.0 < 0 ? -1 : 1
        w = sign * q.0 / n
        v = SIMD3(q.1, q.2, q.3) * (sign / n)
    }

    var conjugate: OrientationQuaternion { OrientationQuaternion(w: w, v: -v) }
    var negated: OrientationQuaternion { OrientationQuaternion(w: -w, v: -v) }
    var vectorLength: Double { (v * v).sum().squareRoot() }

    /// Hamilton product: the rotation of `a * b` applies b first.
    static func * (a: OrientationQuaternion, b: OrientationQuaternion) -> OrientationQuaternion {
        OrientationQuaternion(w: a.w * b.w - (a.v * b.v).sum(), v: a.w * b.v + b.w * a.v + orientationCross(a.v, b.v))
    }
}

/// Plain 3×3 matrix (rows) for determinant and inverse.
struct OrientationMatrix3 {
    var r0, r1, r2: SIMD3<Double>
    init(_ r0: SIMD3<Double>, _ r1: SIMD3<Double>, _ r2: SIMD3<Double>) { self.r0 = r0; self.r1 = r1; self.r2 = r2 }
    var determinant: Double { (r0 * orientationCross(r1, r2)).sum() }
    /// Rows of the inverse-transpose M⁻ᵀ: row i = (r_{i+1} × r_{i+2}) / det (the columns of M⁻¹).
    var inverseTransposeRows: (c0: SIMD3<Double>, c1: SIMD3<Double>, c2: SIMD3<Double>)? {
        let d = determinant
        guard abs(d) > 1e-300, d.isFinite else { return nil }
        return (orientationCross(r1, r2) / d, orientationCross(r2, r0) / d, orientationCross(r0, r1) / d)
    }
}
