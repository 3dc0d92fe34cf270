import Foundation

/// A rigid motion p ↦ R p + t (rotation matrix row-major, translation nm).
public struct RigidTransform: Sendable, Equatable, Codable {
    public var rotation: [Double]
    public var translationNM: [Double]
    public static let identity = RigidTransform(rotation: [1, 0, 0, 0, 1, 0, 0, 0, 1], translationNM: [0, 0, 0])

    @inline(__always)
    public func apply(_ x: Double, _ y: Double, _ z: Double) -> (Double, Double, Double) {
        let r = rotation
        return (r[0] * x + r[1] * y + r[2] * z + translationNM[0],
                r[3] * x + r[4] * y + r[5] * z + translationNM[1],
                r[6] * x + r[7] * y + r[8] * z + translationNM[2])
    }

    /// Rotation angle, degrees.
    public var rotationAngleDeg: Double {
        let tr = rotation[0] + rotation[4] + rotation[8]
        return acos(max(-1, min(1, (tr - 1) / 2))) * 180 / .pi
    }
}

/// Best rigid alignment of matched point sets (Horn, J. Opt. Soc. Am. A 4 (1987) 629: closed-form absolute
/// orientation with unit quaternions; equivalent to Kabsch's SVD solution, without its reflection case).
public enum RigidAlignment {
    /// The rigid transform minimising Σ|R p_i + t − q_i|² over the pairs (p_i, q_i), using every `stride`-th pair.
    public static func fit(px: [Float], py: [Float], pz: [Float], qx: [Float], qy: [Float], qz: [Float],
                           stride: Int = 1) -> RigidTransform {
        let n = px.count
        var cp = (0.0, 0.0, 0.0), cq = (0.0, 0.0, 0.0), m = 0.0
        for i in Swift.stride(from: 0, to: n, by: stride) {
            cp.0 += Double(px[i]); cp.1 += Double(py[i]); cp.2 += Double(pz[i])
            cq.0 += Double(qx[i]); cq.1 += Double(qy[i]); cq.2 += Double(qz[i]); m += 1
        }
        guard m > 0 else { return .identity }
        cp = (cp.0 / m, cp.1 / m, cp.2 / m); cq = (cq.0 / m, cq.1 / m, cq.2 / m)
        // Cross-covariance S_ab = Σ p_a q_b (centred).
        var s = [Double](repeating: 0, count: 9)
        for i in Swift.stride(from: 0, to: n, by: stride) {
            let a = [Double(px[i]) - cp.0, Double(py[i]) - cp.1, Double(pz[i]) - cp.2]
            let b = [Double(qx[i]) - cq.0, Double(qy[i]) - cq.1, Double(qz[i]) - cq.2]
            for r in 0..<3 { for c in 0..<3 { s[r * 3 + c] += a[r] * b[c] } }
        }
        let (sxx, sxy, sxz, syx, syy, syz, szx, szy, szz) = (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8])
        let nMat: [Double] = [
            sxx + syy + szz, syz - szy, szx - sxz, sxy - syx,
            syz - szy, sxx - syy - szz, sxy + syx, szx + sxz,
            szx - sxz, sxy + syx, -sxx + syy - szz, syz + szy,
            sxy - syx, szx + sxz, syz + szy, -sxx - syy + szz,
        ]
        let (vals, vecs) = SymmetricEigen.decompose(nMat, n: 4)
        var best = 0
        for k in 1..<4 where vals[k] > vals[best] { best = k }
        let q0 = vecs[0 * 4 + best], q1 = vecs[1 * 4 + best], q2 = vecs[2 * 4 + best], q3 = vecs[3 * 4 + best]
        let r: [Double] = [
            q0 * q0 + q1 * q1 - q2 * q2 - q3 * q3, 2 * (q1 * q2 - q0 * q3), 2 * (q1 * q3 + q0 * q2),
            2 * (q2 * q1 + q0 * q3), q0 * q0 - q1 * q1 + q2 * q2 - q3 * q3, 2 * (q2 * q3 - q0 * q1),
            2 * (q3 * q1 - q0 * q2), 2 * (q3 * q2 + q0 * q1), q0 * q0 - q1 * q1 - q2 * q2 + q3 * q3,
        ]
        let t = [cq.0 - (r[0] * cp.0 + r[1] * cp.1 + r[2] * cp.2),
                 cq.1 - (r[3] * cp.0 + r[4] * cp.1 + r[5] * cp.2),
                 cq.2 - (r[6] * cp.0 + r[7] * cp.1 + r[8] * cp.2)]
        return RigidTransform(rotation: r, translationNM: t)
    }
}

/// Eigen-decomposition of small symmetric matrices by cyclic Jacobi rotations.
public enum SymmetricEigen {
    /// Eigenvalues and eigenvectors (column k of the row-major `vectors` belongs to `values[k]`) of a symmetric
    /// row-major n × n matrix.
    public static func decompose(_ a0: [Double], n: Int) -> (values: [Double], vectors: [Double]) {
        var a = a0
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<n { for q in (p + 1)..<n { off += a[p * n + q] * a[p * n + q] } }
            if off < 1e-30 { break }
            for p in 0..<n {
                for q in (p + 1)..<n {
                    let apq = a[p * n + q]
                    if abs(apq) < 1e-300 { continue }
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq; a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk; a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq; v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<n).map { a[$0 * n + $0] }, v)
    }
}
