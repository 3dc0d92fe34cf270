import Foundation
import TwinCore

/// Recovers the orientation of a cubic lattice from atom positions, and compares cubic orientations.
///
/// Orientation convention (the same as `SpecimenBuilder.Rotation3`, duplicated here because Analysis depends only on
/// TwinCore): an orientation R maps crystal-frame vectors to specimen-frame vectors, `v_specimen = R · v_crystal`,
/// and is returned as a row-major 3×3 array `rows[i][j] = R_ij`. Column j of R is the crystal axis e_j
/// ([100], [010], [001]) written in the specimen frame; row i is the specimen axis i written in the crystal frame.
/// `Rotation3(rows:)` accepts the result directly.
public enum LatticeOrientation {
    /// Result of ``estimateCubicDetailed(xNM:yNM:zNM:indices:latticeConstantNM:)``.
    public struct CubicEstimate: Sendable {
        /// Crystal → specimen rotation, row-major (see ``LatticeOrientation``). Of the 24 cubic-equivalent forms, the
        /// one closest to the identity (largest trace) is returned.
        public var rows: [[Double]]
        /// Neighbour vectors with length within ±8 % of a that were examined.
        public var pairVectors: Int
        /// Fraction of those within 8° of one of the fitted ⟨100⟩ axes.
        public var assignedFraction: Double
        /// Root-mean-square angle between the assigned vectors and their axis, degrees (a measure of positional
        /// noise; ≈ 0 for a perfect lattice).
        public var rmsSpreadDeg: Double
    }

    /// Lattice orientation of one cubic grain from its atom positions (nm): the crystal → specimen rotation as a
    /// row-major 3×3 array (see ``LatticeOrientation`` for the convention), defined up to cubic symmetry; the form
    /// closest to the identity is returned.
    ///
    /// Method: the neighbour vectors of length ≈ a (0.92 a … 1.08 a: the cube edges ±a·e_i, which are the second
    /// shell of both bcc and fcc) are found with a cell list; their directions cluster around the three ⟨100⟩
    /// axes. The densest direction gives the first axis, the densest direction perpendicular to it the second,
    /// their cross product the third; then every vector within 12° and later 8° of an axis is sign-aligned and
    /// averaged onto that axis, and the three mean axes are orthonormalised symmetrically (the orthogonal polar
    /// factor, Löwdin orthogonalisation, computed by the Newton iteration X ← (X + X⁻ᵀ)/2 of Higham, SIAM J. Sci.
    /// Stat. Comput. 7 (1986) 1160). Independent of how the atoms were generated; tolerant of random displacements
    /// up to ≈ 5 % of a per coordinate (error < 0.2° for a few thousand atoms) and of a minority of atoms from
    /// another grain. The fit is rejected when fewer than 40 % of the neighbour vectors lie within 8° of the fitted
    /// axes (the sign of a wrong lattice constant, a mixture of grains, or too much noise).
    ///
    /// `indices` selects the atoms of one grain (preferably its interior); at most 40000 of them (an evenly strided
    /// subset) are used as centres, all of them as neighbours.
    /// - Throws: ``TwinError/invalidInput(_:)`` for inconsistent input, too few neighbour pairs at ≈ a, no clear
    ///   ⟨100⟩ clusters, or a poor fit (see above).
    public static func estimateCubic(xNM: [Float], yNM: [Float], zNM: [Float], indices: [Int],
                                     latticeConstantNM: Double) throws -> [[Double]] {
        try estimateCubicDetailed(xNM: xNM, yNM: yNM, zNM: zNM, indices: indices,
                                  latticeConstantNM: latticeConstantNM).rows
    }

    /// ``estimateCubic(xNM:yNM:zNM:indices:latticeConstantNM:)`` with fit diagnostics.
    public static func estimateCubicDetailed(xNM: [Float], yNM: [Float], zNM: [Float], indices: [Int],
                                             latticeConstantNM a: Double) throws -> CubicEstimate {
        guard a > 0, a.isFinite else {
            throw TwinError.invalidInput("lattice constant must be positive, got \(a) nm")
        }
        guard xNM.count == yNM.count, xNM.count == zNM.count else {
            throw TwinError.invalidInput("position columns differ in length: x \(xNM.count), y \(yNM.count), z \(zNM.count)")
        }
        for i in indices where i < 0 || i >= xNM.count {
            throw TwinError.invalidInput("atom index \(i) is outside 0 ..< \(xNM.count)")
        }
        let pts = indices.map { SIMD3<Double>(Double(xNM[$0]), Double(yNM[$0]), Double(zNM[$0])) }
        let vectors = neighbourDirections(pts, a: a)
        guard vectors.count >= 24 else {
            throw TwinError.invalidInput("only \(vectors.count) neighbour pairs at distance ≈ a = \(a) nm among \(pts.count) atoms; "
                + "is the lattice constant right and are these atoms from one cubic crystal?")
        }
        var axes = try seedAxes(vectors)
        var spread = 0.0, assigned = 0
        for coneDeg in [12.0, 12.0, 8.0, 8.0, 8.0] {
            let cosCone = cos(coneDeg * .pi / 180)
            var sums = [SIMD3<Double>](repeating: .zero, count: 3)
            var counts = [0, 0, 0]
            var sq = 0.0
            for u in vectors {
                let w = SIMD3((u * axes[0]).sum(), (u * axes[1]).sum(), (u * axes[2]).sum())
                var k = 0
                if abs(w[1]) > abs(w[k]) { k = 1 }
                if abs(w[2]) > abs(w[k]) { k = 2 }
                guard abs(w[k]) >= cosCone else { continue }
                sums[k] += w[k] < 0 ? -u : u
                counts[k] += 1
                sq += pow(acos(min(1, abs(w[k]))), 2)
            }
            guard counts.allSatisfy({ $0 >= 3 }) else {
                throw TwinError.invalidInput("neighbour vectors do not form three ⟨100⟩ clusters (counts \(counts)); "
                    + "the atoms may not be one cubic crystal with a = \(a) nm")
            }
            var cols = sums.map { $0 / ($0 * $0).sum().squareRoot() }
            if (cols[0] * cross3(cols[1], cols[2])).sum() < 0 { cols[2] = -cols[2] }
            // Matrix with columns = axes; its rows:
            let m = [SIMD3(cols[0].x, cols[1].x, cols[2].x), SIMD3(cols[0].y, cols[1].y, cols[2].y),
                     SIMD3(cols[0].z, cols[1].z, cols[2].z)]
            guard let r = polarRotation(m) else {
                throw TwinError.invalidInput("fitted ⟨100⟩ axes are degenerate")
            }
            axes = [SIMD3(r[0].x, r[1].x, r[2].x), SIMD3(r[0].y, r[1].y, r[2].y), SIMD3(r[0].z, r[1].z, r[2].z)]
            assigned = counts.reduce(0, +)
            spread = (sq / Double(assigned)).squareRoot() * 180 / .pi
        }
        // Perfect lattices give 1; random displacements of 2, 3, 5 % of a about 0.96, 0.86, 0.6 (bcc). Wrong lattice
        // constants that pick up another shell (e.g. ⟨111⟩ or ⟨311⟩ vectors) leave at most ~0.3 near the fitted axes.
        let fraction = Double(assigned) / Double(vectors.count)
        guard fraction >= 0.4 else {
            throw TwinError.invalidInput(String(format: "only %.0f %% of the %d neighbour vectors at ≈ a = %.5f nm lie within 8° of the fitted ⟨100⟩ axes (40 %% needed): wrong lattice constant, more than one crystal, or positional noise above ≈ 5 %% of a",
                                                fraction * 100, vectors.count, a))
        }
        // Rows of R (columns are the axes), then the canonical symmetric form.
        var rows = [SIMD3(axes[0].x, axes[1].x, axes[2].x), SIMD3(axes[0].y, axes[1].y, axes[2].y),
                    SIMD3(axes[0].z, axes[1].z, axes[2].z)]
        rows = canonical(rows)
        return CubicEstimate(rows: rows.map { [$0.x, $0.y, $0.z] }, pairVectors: vectors.count,
                             assignedFraction: fraction, rmsSpreadDeg: spread)
    }

    /// Cubic disorientation angle between two orientations (row-major crystal → specimen rotations), degrees in
    /// [0, 62.8]: the smallest rotation angle of aᵀ·b·S over the 24 proper rotations S of m-3m (Grimmer, Scripta
    /// Metall. 8 (1974) 1221; Morawiec, Orientations and Rotations, Springer 2004). The inputs are
    /// re-orthonormalised first, so slightly non-orthogonal matrices are accepted.
    /// - Precondition: both inputs are 3×3 with positive determinant.
    public static func misorientationDeg(_ a: [[Double]], _ b: [[Double]]) -> Double {
        precondition(a.count == 3 && b.count == 3 && (a + b).allSatisfy { $0.count == 3 },
                     "misorientationDeg needs two 3×3 arrays")
        let ra = polarRotation(a.map { SIMD3($0[0], $0[1], $0[2]) })
        let rb = polarRotation(b.map { SIMD3($0[0], $0[1], $0[2]) })
        precondition(ra != nil && rb != nil, "misorientationDeg needs matrices with positive determinant")
        let qa = quaternion(ra!), qb = quaternion(rb!)
        // Δ = aᵀ b ⇒ q_Δ = conj(q_a) ⊗ q_b.
        let qd = qmul((qa.w, -qa.v), qb)
        var best = (w: 0.0, v: SIMD3<Double>(1, 0, 0))
        for s in cubicQuaternions {
            let c = qmul(qd, s)
            if abs(c.w) > abs(best.w) { best = c }
        }
        return 2 * atan2((best.v * best.v).sum().squareRoot(), abs(best.w)) * 180 / .pi
    }

    // MARK: - Internals

    /// Unit directions of all neighbour vectors with length in [0.92 a, 1.08 a].
    static func neighbourDirections(_ pts: [SIMD3<Double>], a: Double) -> [SIMD3<Double>] {
        guard pts.count >= 2 else { return [] }
        let rLo = 0.92 * a, rHi = 1.08 * a
        let rLo2 = rLo * rLo, rHi2 = rHi * rHi
        var lo = pts[0], hi = pts[0]
        for p in pts { lo = pointwiseMin(lo, p); hi = pointwiseMax(hi, p) }
        let cell = rHi
        let nx = Int((hi.x - lo.x) / cell) + 1, ny = Int((hi.y - lo.y) / cell) + 1
        func cellOf(_ p: SIMD3<Double>) -> (Int, Int, Int) {
            (Int((p.x - lo.x) / cell), Int((p.y - lo.y) / cell), Int((p.z - lo.z) / cell))
        }
        func key(_ c: (Int, Int, Int)) -> Int { (c.2 * ny + c.1) * nx + c.0 }
        let keys = pts.map { key(cellOf($0)) }
        let order = keys.indices.sorted { keys[$0] < keys[$1] }
        var ranges: [Int: Range<Int>] = [:]
        var s = 0
        while s < order.count {
            var e = s + 1
            while e < order.count && keys[order[e]] == keys[order[s]] { e += 1 }
            ranges[keys[order[s]]] = s..<e
            s = e
        }
        let stride = max(1, (pts.count + 39_999) / 40_000)
        var out: [SIMD3<Double>] = []
        out.reserveCapacity(pts.count / stride * 8)
        var i = 0
        while i < pts.count {
            let p = pts[i]
            let c = cellOf(p)
            for dz in -1...1 { for dy in -1...1 { for dx in -1...1 {
                let cx = c.0 + dx, cy = c.1 + dy, cz = c.2 + dz
                guard cx >= 0, cy >= 0, cz >= 0, cx < nx, cy < ny, let r = ranges[key((cx, cy, cz))] else { continue }
                for o in r {
                    let j = order[o]
                    guard j != i else { continue }
                    let d = pts[j] - p
                    let d2 = (d * d).sum()
                    if d2 >= rLo2 && d2 <= rHi2 { out.append(d / d2.squareRoot()) }
                }
            } } }
            i += stride
        }
        return out
    }

    /// Initial ⟨100⟩ axes: the densest direction, the densest direction perpendicular to it, and their cross product.
    static func seedAxes(_ vectors: [SIMD3<Double>]) throws -> [SIMD3<Double>] {
        let sampleStride = max(1, vectors.count / 3000)
        let sample = Swift.stride(from: 0, to: vectors.count, by: sampleStride).map { vectors[$0] }
        let candStride = max(1, sample.count / 300)
        let cands = Swift.stride(from: 0, to: sample.count, by: candStride).map { sample[$0] }
        let cosCone = cos(12 * Double.pi / 180)
        let sinPerp = sin(15 * Double.pi / 180)

        func densest(_ cs: [SIMD3<Double>], among: [SIMD3<Double>]) -> SIMD3<Double>? {
            var best: SIMD3<Double>? = nil, bestCount = 0
            for c in cs {
                var n = 0
                for u in among where abs((u * c).sum()) >= cosCone { n += 1 }
                if n > bestCount { bestCount = n; best = c }
            }
            return best
        }
        func refine(_ c0: SIMD3<Double>, among: [SIMD3<Double>]) -> SIMD3<Double> {
            var c = c0
            for _ in 0..<4 {
                var s = SIMD3<Double>.zero
                for u in among {
                    let d = (u * c).sum()
                    if abs(d) >= cosCone { s += d < 0 ? -u : u }
                }
                let l = (s * s).sum().squareRoot()
                if l > 0 { c = s / l }
            }
            return c
        }
        guard let first = densest(cands, among: sample) else {
            throw TwinError.invalidInput("no cluster of neighbour directions found")
        }
        let a1 = refine(first, among: sample)
        let perpSample = sample.filter { abs(($0 * a1).sum()) < sinPerp }
        let perpCands = cands.filter { abs(($0 * a1).sum()) < sinPerp }
        guard let second = densest(perpCands, among: perpSample) else {
            throw TwinError.invalidInput("no second ⟨100⟩ cluster perpendicular to the first; the atoms may not be a cubic crystal")
        }
        var a2 = refine(second, among: perpSample)
        a2 -= (a2 * a1).sum() * a1
        a2 /= (a2 * a2).sum().squareRoot()
        return [a1, a2, cross3(a1, a2)]
    }

    /// Orthogonal polar factor of a matrix given by rows (nil if singular or improper).
    static func polarRotation(_ m0: [SIMD3<Double>]) -> [SIMD3<Double>]? {
        var m = m0
        guard det3(m) > 1e-12 else { return nil }
        for _ in 0..<60 {
            let d = det3(m)
            guard abs(d) > 1e-300 else { return nil }
            // Rows of M⁻ᵀ.
            let it = [cross3(m[1], m[2]) / d, cross3(m[2], m[0]) / d, cross3(m[0], m[1]) / d]
            let next = (0..<3).map { (m[$0] + it[$0]) * 0.5 }
            var change = 0.0
            for k in 0..<3 { let e = next[k] - m[k]; change = max(change, abs(e.x), abs(e.y), abs(e.z)) }
            m = next
            if change < 1e-15 { break }
        }
        return m
    }

    static func det3(_ m: [SIMD3<Double>]) -> Double { (m[0] * cross3(m[1], m[2])).sum() }

    static func cross3(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
    }

    /// The 24 proper rotations of m-3m as rows (signed permutation matrices with determinant +1).
    static let cubicOperations: [[SIMD3<Double>]] = {
        var ops: [[SIMD3<Double>]] = []
        for p in [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]] {
            for signs in 0..<8 {
                var rows: [SIMD3<Double>] = []
                for i in 0..<3 {
                    var r = SIMD3<Double>.zero
                    r[p[i]] = (signs >> i) & 1 == 0 ? 1 : -1
                    rows.append(r)
                }
                if det3(rows) > 0 { ops.append(rows) }
            }
        }
        return ops
    }()

    static let cubicQuaternions: [(w: Double, v: SIMD3<Double>)] = cubicOperations.map(quaternion)

    /// R·S (rows) with the largest trace over the 24 symmetry operations S.
    static func canonical(_ r: [SIMD3<Double>]) -> [SIMD3<Double>] {
        var best = r, bestTrace = -Double.infinity
        for s in cubicOperations {
            let cols = [SIMD3(s[0].x, s[1].x, s[2].x), SIMD3(s[0].y, s[1].y, s[2].y), SIMD3(s[0].z, s[1].z, s[2].z)]
            let prod = r.map { row in SIMD3((row * cols[0]).sum(), (row * cols[1]).sum(), (row * cols[2]).sum()) }
            let t = prod[0].x + prod[1].y + prod[2].z
            if t > bestTrace + 1e-12 { best = prod; bestTrace = t }
        }
        return best
    }

    /// Unit quaternion (w ≥ 0) of a rotation given by rows (Shepperd, J. Guidance Control 1 (1978) 223).
    static func quaternion(_ r: [SIMD3<Double>]) -> (w: Double, v: SIMD3<Double>) {
        let m00 = r[0].x, m01 = r[0].y, m02 = r[0].z
        let m10 = r[1].x, m11 = r[1].y, m12 = r[1].z
        let m20 = r[2].x, m21 = r[2].y, m22 = r[2].z
        let tr = m00 + m11 + m22
        var w: Double, v: SIMD3<Double>
        if tr >= m00 && tr >= m11 && tr >= m22 {
            let s = (1 + tr).squareRoot() * 2
            w = s / 4; v = SIMD3((m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s)
        } else if m00 >= m11 && m00 >= m22 {
            let s = (1 + m00 - m11 - m22).squareRoot() * 2
            w = (m21 - m12) / s; v = SIMD3(s / 4, (m01 + m10) / s, (m02 + m20) / s)
        } else if m11 >= m22 {
            let s = (1 + m11 - m00 - m22).squareRoot() * 2
            w = (m02 - m20) / s; v = SIMD3((m01 + m10) / s, s / 4, (m12 + m21) / s)
        } else {
            let s = (1 + m22 - m00 - m11).squareRoot() * 2
            w = (m10 - m01) / s; v = SIMD3((m02 + m20) / s, (m12 + m21) / s, s / 4)
        }
        let n = (w * w + (v * v).sum()).squareRoot()
        let sign: Double = w < 0 ? -1 : 1
        return (sign * w / n, v * (sign / n))
    }

    static func qmul(_ a: (w: Double, v: SIMD3<Double>), _ b: (w: Double, v: SIMD3<Double>)) -> (w: Double, v: SIMD3<Double>) {
        (a.w * b.w - (a.v * b.v).sum(), a.w * b.v + b.w * a.v + cross3(a.v, b.v))
    }
}
