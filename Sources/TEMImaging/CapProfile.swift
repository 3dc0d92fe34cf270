import Foundation
import TwinCore

/// The measured meridian profile of a needle's cap: the silhouette's sag below the apex against the distance from the
/// axis, and the conic section fitted to it.
///
/// **Why the silhouette is the profile.** With the beam perpendicular to the axis of a body of revolution, every
/// slice across the axis is a disc of radius ρ(z), so the chord through the needle at lateral offset v from the axis
/// is 2√(ρ(z)² − v²) — exactly, with no small-slope approximation. The amplitude contour t = a therefore lies at
/// v = √(ρ(z)² − a²/4), and the edge-bias correction of ``TipShapeMeasurement`` (ρ = √(v² + R² − R_c²)) maps each
/// contour point back onto the needle's profile. The contour ends where ρ(z) = a/2: closer to the axis than that the
/// profile is not seen, and the conic carries it to the apex.
///
/// **Conic.** ρ² = 2R₀ s − (1 + K) s² with s the sag below the vertex (the conic of optical design, e.g. Malacara,
/// *Optical Shop Testing*, 3rd ed., Wiley 2007): R₀ is the radius of curvature at the vertex, K the conic constant — 0 a
/// sphere, −1 a paraboloid, < −1 a hyperboloid (a sharper end than a sphere of the same R₀ further out), between −1
/// and 0 a prolate and > 0 an oblate ellipsoid (a flattened end, as a low-index facet makes it). In the twin's tiny
/// field of view (θ ≲ 5° on the F200's 42 mm detector at 470 mm) the reconstruction samples only the vertex, so R₀
/// is what a measured shape adds over the circle fit.
///
/// The fit starts algebraically — ρ² = α + β u + γ u² is linear in (α, β, γ) for the edge points' axial distances
/// u behind the circle-fit apex, like Kåsa's circle fit — and is refined by Levenberg–Marquardt on the residuals
/// normal to the profile, with the axis free to shift and tilt.
public struct CapProfile: Sendable, Codable, Equatable {
    /// Radius of curvature at the vertex, nm.
    public var vertexRadiusNM: Double
    /// Conic constant K (0: sphere; > 0: flattened, oblate; < 0: sharper further out).
    public var conicConstant: Double
    /// How far the conic's vertex lies ahead of (positive) or behind (negative) the circle-fit apex, nm.
    public var vertexOffsetNM: Double
    /// Lateral shift of the conic's axis from the circle fit's axis, nm (towards +v).
    public var axisShiftNM: Double
    /// Tilt of the conic's axis from the circle fit's axis, degrees (towards +v).
    public var axisTiltDeg: Double
    /// Largest distance from the axis of the edge points used, nm: the profile is measured up to here.
    public var maxRhoNM: Double
    /// Smallest distance from the axis of the edge points used, nm: closer to the axis the conic is extrapolated.
    public var minRhoNM: Double
    /// Root-mean-square distance of the edge points from the fitted conic, nm.
    public var fitRMSNM: Double
    /// Number of edge points fitted.
    public var pointCount: Int

    /// Sag below the vertex at distance `rhoNM` from the axis, nm (nil beyond an oblate conic's equator).
    public func sagNM(rhoNM r: Double) -> Double? {
        let c = 1 / vertexRadiusNM
        let q = 1 - (1 + conicConstant) * c * c * r * r
        guard q >= 0 else { return nil }
        return c * r * r / (1 + q.squareRoot())
    }

    /// The profile sampled on `count` knots from the axis to ``maxRhoNM`` (sag in nm below the vertex).
    public func sampled(count: Int = 128) -> (rhoNM: [Double], sagNM: [Double]) {
        var rho: [Double] = [], sag: [Double] = []
        let n = max(3, count)
        for i in 0..<n {
            let r = maxRhoNM * Double(i) / Double(n - 1)
            guard let s = sagNM(rhoNM: r) else { break }
            rho.append(r); sag.append(s)
        }
        return (rho, sag)
    }

    /// Fits the conic to the cap's contour points.
    ///
    /// - Parameters:
    ///   - uNM: distance of each contour point behind a reference apex along the estimated axis, nm.
    ///   - vNM: signed distance of each contour point from the estimated axis, nm (the contour, before correction).
    ///   - edgeOffsetSquaredNM2: R² − R_c² of the edge-bias correction: a contour point at distance v from the axis
    ///     lies on the profile at ρ = √(v² + R² − R_c²).
    ///   - startRadiusNM: the circle fit's radius, the starting vertex radius.
    /// The axis is refined with the profile (a lateral shift and a tilt): a curved shank biases the axis that the
    /// shank lines give by a degree or so, which would split the two sides of the profile apart.
    /// - Returns: nil with fewer than 8 points or a fit that does not converge to a convex cap over the points.
    public static func fit(uNM: [Double], vNM: [Double], edgeOffsetSquaredNM2 k: Double, startRadiusNM: Double) -> CapProfile? {
        let n = min(uNM.count, vNM.count)
        guard n >= 8, startRadiusNM.isFinite, startRadiusNM > 0, k.isFinite else { return nil }
        // Algebraic start, ρ² = α + β u + γ u² with ρ² = v² + k, scaled by R to keep the normal equations well
        // conditioned.
        let s = startRadiusNM
        var ata = [Double](repeating: 0, count: 9), atb = [Double](repeating: 0, count: 3)
        for i in 0..<n {
            let u = uNM[i] / s, r2 = (vNM[i] * vNM[i] + k) / (s * s)
            let row = [1, u, u * u]
            for a in 0..<3 { atb[a] += row[a] * r2; for b in 0..<3 { ata[a * 3 + b] += row[a] * row[b] } }
        }
        guard let abc = DenseLinearSolve.solve(ata, atb, n: 3) else { return nil }
        let (alpha, beta, gamma) = (abc[0], abc[1], abc[2])
        // Vertex: the root of α + β u + γ u² nearest the reference apex (u = 0).
        var u0: Double
        if abs(gamma) < 1e-12 { u0 = -alpha / beta } else {
            let disc = beta * beta - 4 * gamma * alpha
            guard disc >= 0 else { return nil }
            let r1 = (-beta + disc.squareRoot()) / (2 * gamma), r2 = (-beta - disc.squareRoot()) / (2 * gamma)
            u0 = abs(r1) < abs(r2) ? r1 : r2
        }
        // Parameters: R₀ (nm), K, vertex u₀ (nm), axis shift v₀ (nm), axis tilt (rad).
        var p = [(beta / 2 + gamma * u0) * s, -gamma - 1, u0 * s, 0, 0]
        guard p[0].isFinite, p[0] > 0, p[1].isFinite, u0.isFinite else { return nil }

        // Levenberg–Marquardt on residuals normal to the profile, e = (u′ − u₀ − sag(ρ′)) / √(1 + sag′(ρ′)²), in
        // axis coordinates turned by the tilt and shifted by v₀.
        func residuals(_ q: [Double]) -> [Double]? {
            let c = 1 / q[0], k1 = 1 + q[1], ct = cos(q[4]), st = sin(q[4])
            var e = [Double](repeating: 0, count: n)
            for i in 0..<n {
                let u = uNM[i] * ct + vNM[i] * st, v = vNM[i] * ct - uNM[i] * st - q[3]
                let r2 = v * v + k
                guard r2 > 0 else { return nil }
                let arg = 1 - k1 * c * c * r2
                guard arg > 1e-9 else { return nil }
                let sq = arg.squareRoot(), r = r2.squareRoot()
                let sag = c * r2 / (1 + sq), slope = c * r / sq
                e[i] = (u - q[2] - sag) / (1 + slope * slope).squareRoot()
            }
            return e
        }
        func ss(_ e: [Double]) -> Double { e.reduce(0) { $0 + $1 * $1 } }
        guard var e = residuals(p) else { return nil }
        let m = p.count
        var lambda = 1e-3, converged = false
        for _ in 0..<60 where !converged {
            let steps = [1e-6 * p[0], 1e-6, 1e-6 * p[0], 1e-6 * p[0], 1e-7]
            var jac = [[Double]](repeating: [], count: m)
            var ok = true
            for a in 0..<m {
                var q = p; q[a] += steps[a]
                guard let eq = residuals(q) else { ok = false; break }
                jac[a] = (0..<n).map { (eq[$0] - e[$0]) / steps[a] }
            }
            guard ok else { break }
            var jtj = [Double](repeating: 0, count: m * m), jte = [Double](repeating: 0, count: m)
            for a in 0..<m {
                for i in 0..<n { jte[a] -= jac[a][i] * e[i] }
                for b in 0..<m { var acc = 0.0; for i in 0..<n { acc += jac[a][i] * jac[b][i] }; jtj[a * m + b] = acc }
            }
            var improved = false
            for _ in 0..<10 {
                var mm = jtj
                for a in 0..<m { mm[a * (m + 1)] *= 1 + lambda }
                guard let dp = DenseLinearSolve.solve(mm, jte, n: m) else { break }
                var q = p
                for a in 0..<m { q[a] += dp[a] }
                if q[0] > 0, let eq = residuals(q), ss(eq) < ss(e) {
                    let rel = abs(dp[0]) / p[0] + abs(dp[1]) + (abs(dp[2]) + abs(dp[3])) / p[0] + abs(dp[4])
                    p = q; e = eq; lambda = max(1e-9, lambda / 3); improved = true
                    converged = rel < 1e-10
                    break
                }
                lambda *= 10
            }
            if !improved { break }
        }
        let ct = cos(p[4]), st = sin(p[4])
        let rho = (0..<n).map { i -> Double in
            let v = vNM[i] * ct - uNM[i] * st - p[3]
            return (v * v + k).squareRoot()
        }
        let rhoMax = rho.max() ?? 0, rhoMin = rho.min() ?? 0
        let profile = CapProfile(vertexRadiusNM: p[0], conicConstant: p[1], vertexOffsetNM: -p[2], axisShiftNM: p[3],
                                 axisTiltDeg: p[4] * 180 / .pi, maxRhoNM: rhoMax, minRhoNM: rhoMin,
                                 fitRMSNM: (ss(e) / Double(n)).squareRoot(), pointCount: n)
        // The whole measured range must lie on the conic's convex branch.
        guard rhoMax > 0, profile.sagNM(rhoNM: rhoMax) != nil, p.allSatisfy(\.isFinite) else { return nil }
        return profile
    }
}
