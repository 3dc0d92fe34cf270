import Foundation

/// Phase imparted on the electron wave by the electrostatic field of the biased needle (the "biprism" effect).
///
/// Model: at each height z along the axis the needle is a conductor of radius r(z) at potential V inside a
/// grounded coaxial environment of radius D (the pole-piece gap scale), so outside it V(ρ) = V ln(D/ρ)/ln(D/r)
/// and inside the metal V(ρ) = V (the coaxial-cylinder solution, e.g. Jackson, Classical Electrodynamics §1.11,
/// applied slice by slice). The projected potential along the beam (y) at lateral distance x from the axis is
/// Φ(x) = ∫ V(√(x² + y²)) dy over |y| < √(D² − x²), in closed form:
///
/// - x ≥ r: Φ = V/ln(D/r) · I(x), I(x) = 2(Y − x·atan(Y/x)), Y = √(D² − x²);
/// - x < r: Φ = 2cV + V/ln(D/r) · (I(x) − J(x)), c = √(r² − x²), J = 2c ln(D/r) + 2c − 2x·atan(c/x).
///
/// The phase is φ = σΦ (σ: interaction constant); only its gradient matters, so I is evaluated relative to its
/// value on the axis in a form that stays exact in floating point (I − 2D = −2x²/(Y + D) − πx + 2x·atan(x/Y)).
/// Far from the apex the deflection α = (λ/2π)|∂φ/∂x| = λσπV/(2π ln(D/r)) is independent of x on either side —
/// a biprism — e.g. 4 mrad at 4.5 kV, r = 50 nm, D = 1 mm (instrument-and-physics §3 quotes 5–14 mrad). The
/// slice-by-slice model ignores the end effect at the apex (the field there is more radial); documented limit.
public enum BiasPhase {
    /// Projected potential relative to the axis, V·nm, for lateral distance `xNM` from the axis.
    public static func projectedPotentialVNM(xNM: Double, needleRadiusNM r: Double, voltageV: Double, environmentRadiusNM d: Double) -> Double {
        let x = abs(xNM)
        guard voltageV != 0, d > 0 else { return 0 }
        func iRel(_ x: Double) -> Double {          // I(x) − 2D, stable
            if x == 0 { return 0 }
            let y = max(0, d * d - x * x).squareRoot()
            return -2 * x * x / (y + d) - .pi * x + 2 * x * atan2(x, y)
        }
        if r <= 0 {
            // No conductor in this slice: no bias potential (beyond the apex the slice model does not apply).
            return 0
        }
        let logDR = log(d / r)
        if x >= r { return voltageV / logDR * iRel(x) }
        let c = (r * r - x * x).squareRoot()
        let j = 2 * c * logDR + 2 * c - (x == 0 ? 0 : 2 * x * atan2(c, x))
        return 2 * c * voltageV + voltageV / logDR * (iRel(x) - j)
    }

    /// Phase map (radians) over a frame.
    ///
    /// Outside the needle the potential is that of a line charge along the axis with the local density
    /// λ(z′) = 2πε₀V/ln(D/r(z′)) (the coaxial value, so far from the apex the deflection is the slice result above),
    /// ending at the apex, whose projection along the beam is (up to a constant)
    /// Φ(x, z) = −(V/2) ∫ ln(x² + (z − z′)²) / ln(D/r(z′)) dz′; the integral runs over the needle within
    /// `windowNM` below its apex, and the rest of the shank is added in closed form as a uniform semi-infinite line.
    /// This keeps the potential continuous in z, including in front of the apex (the slice model alone is not).
    /// Both use the radius profile smoothed along the axis (``profileSmoothingNM``).
    /// Inside the needle's projection the chord through the conductor (at V) replaces the line-charge value, with the
    /// slice-model difference from the surface value (continuous at the edge). Evaluated on a coarse grid in needle
    /// coordinates (256 × 256 over the frame) and interpolated bilinearly.
    public static func phaseMap(geometry g: FrameGeometry, radiusAtZ: (Double) -> Double, voltageV: Double,
                                environmentRadiusNM: Double, interactionConstantRadPerVNM sigma: Double) -> [Float] {
        var out = [Float](repeating: 0, count: g.width * g.height)
        guard voltageV != 0, environmentRadiusNM > 0 else { return out }
        let d = environmentRadiusNM
        // Extent of the frame in needle coordinates.
        var xMax = 0.0, zMin = Double.infinity, zMax = -Double.infinity
        for (u, v) in [(0.0, 0.0), (Double(g.width), 0.0), (0.0, Double(g.height)), (Double(g.width), Double(g.height))] {
            let p = g.specimen(u: u, v: v)
            xMax = max(xMax, abs(p.xNM)); zMin = min(zMin, p.zNM); zMax = max(zMax, p.zNM)
        }
        // Needle profile on a fine z grid: top (apex) and radius below it.
        let extent = max(xMax, zMax - zMin)
        let window = max(4 * extent, 200)
        let dz = max(0.1, extent / 1000)
        var zTop = -Double.infinity
        var zz = zMax + extent
        while zz > zMin - window { if radiusAtZ(zz) > 0 { zTop = zz; break }; zz -= dz }
        guard zTop.isFinite else { return out }
        let zLo = zTop - window
        let nPrime = Int(((zTop - zLo) / dz).rounded(.up)) + 1
        // The profile the slice model sees, smoothed along the axis (Gaussian, σ = smoothingNM, zero ahead of the apex).
        let radius = smoothedProfile(radiusAtZ: radiusAtZ, zTop: zTop, dz: dz, count: nPrime, sigmaNM: profileSmoothingNM)
        var weight = [Double](repeating: 0, count: nPrime), zPrime = weight
        for k in 0..<nPrime {
            let z = zTop - Double(k) * dz
            zPrime[k] = z
            let r = radius(z)
            weight[k] = r > 0 && r < d ? dz / log(d / r) * (k == 0 || k == nPrime - 1 ? 0.5 : 1) : 0
        }
        let rLo = max(1e-3, radius(zLo)), lLo = log(d / max(rLo, 1e-3))
        func lineField(_ x: Double, _ z: Double) -> Double {
            var acc = 0.0
            let x2 = x * x
            for k in 0..<nPrime where weight[k] != 0 {
                let w = z - zPrime[k]
                acc += weight[k] * log(x2 + w * w + 1e-12)
            }
            // Uniform semi-infinite remainder below zLo: −(V/2L)(π|x| − w ln(x² + w²) + 2w − 2|x| atan(w/|x|)), w = z − zLo.
            let w = z - zLo, ax = abs(x)
            let tail = (Double.pi * ax - w * log(x2 + w * w + 1e-12) + 2 * w - (ax > 0 ? 2 * ax * atan(w / ax) : 0)) / lLo
            return -voltageV / 2 * (acc + tail)
        }
        // Coarse grid over |x| ≤ xMax, zMin ≤ z ≤ zMax.
        let n = 256
        let hx = max(xMax, 1e-3) / Double(n - 1), hz = max(zMax - zMin, 1e-3) / Double(n - 1)
        var grid = [Double](repeating: 0, count: n * n), edge = [Double](repeating: 0, count: n)
        for j in 0..<n {
            let z = zMin + Double(j) * hz
            for i in 0..<n { grid[j * n + i] = lineField(Double(i) * hx, z) }
            let r = radius(z)
            edge[j] = r > 0 ? lineField(r, z) : 0
        }
        for v in 0..<g.height {
            for u in 0..<g.width {
                let p = g.specimen(u: Double(u) + 0.5, v: Double(v) + 0.5)
                let ax = abs(p.xNM)
                let fz = min(Double(n - 1), max(0, (p.zNM - zMin) / hz))
                let j0 = min(n - 2, Int(fz)), tz = fz - Double(j0)
                let r = radius(p.zNM)
                var phi: Double
                if r > 0 && ax < r {
                    let e = edge[j0] * (1 - tz) + edge[j0 + 1] * tz
                    phi = e + projectedPotentialVNM(xNM: ax, needleRadiusNM: r, voltageV: voltageV, environmentRadiusNM: d)
                        - projectedPotentialVNM(xNM: r, needleRadiusNM: r, voltageV: voltageV, environmentRadiusNM: d)
                } else {
                    let fx = min(Double(n - 1), ax / hx)
                    let i0 = min(n - 2, Int(fx)), tx = fx - Double(i0)
                    phi = (grid[j0 * n + i0] * (1 - tx) + grid[j0 * n + i0 + 1] * tx) * (1 - tz)
                        + (grid[(j0 + 1) * n + i0] * (1 - tx) + grid[(j0 + 1) * n + i0 + 1] * tx) * tz
                }
                out[v * g.width + u] = Float(sigma * phi)
            }
        }
        // Remove the mean so the Float phases stay small (only gradients matter).
        let mean = out.reduce(0.0) { $0 + Double($1) } / Double(max(1, out.count))
        for k in 0..<out.count { out[k] -= Float(mean) }
        return out
    }

    /// Standard deviation of the Gaussian that smooths the needle's radius profile along the axis before the slice
    /// model uses it, nm. The chord term of the slice model changes the phase by σ_e·V·Δc/ln(D/r) when the radius
    /// changes by Δc — about 1 rad for one atomic step or one pixel of a profile read off the frame at 4.4 kV — so an
    /// unsmoothed atomistic profile draws a dark line across the needle at every step, and the apex, where dr/dz is
    /// unbounded, a dark spot, in focus. The field of the conductor does not follow such steps (its potential is
    /// smooth over distances of the order of the radius); 1 nm removes the lines and keeps the needle's shape.
    public static let profileSmoothingNM = 1.0

    /// The radius profile sampled every `dz` below `zTop` and smoothed with a Gaussian of `sigmaNM` (taken as zero
    /// ahead of the apex, so that the smoothed nose tapers off over ~2σ instead of ending in a step); the closure
    /// interpolates it linearly and returns 0 outside the sampled range above and the last sample below.
    static func smoothedProfile(radiusAtZ: (Double) -> Double, zTop: Double, dz: Double, count n: Int,
                                sigmaNM: Double) -> (Double) -> Double {
        let lead = sigmaNM > 0 ? Int((4 * sigmaNM / dz).rounded(.up)) : 0
        // Samples k = −lead … n−1 at z = zTop − k·dz; those ahead of the apex are 0.
        var raw = [Double](repeating: 0, count: n + lead)
        for k in 0..<n { raw[k + lead] = max(0, radiusAtZ(zTop - Double(k) * dz)) }
        var out = raw
        if lead > 0 {
            let kernel = (-lead...lead).map { exp(-0.5 * pow(Double($0) * dz / sigmaNM, 2)) }
            let norm = kernel.reduce(0, +)
            for i in 0..<raw.count {
                var acc = 0.0
                for (j, w) in kernel.enumerated() {
                    let m = min(raw.count - 1, max(0, i + j - lead))   // ends: zero ahead (padding), last value below
                    acc += w * (i + j - lead < 0 ? 0 : raw[m])
                }
                out[i] = acc / norm
            }
        }
        let profile = out
        let top = zTop + Double(lead) * dz
        return { z in
            let f = (top - z) / dz
            guard f >= 0 else { return 0 }
            let i = Int(f)
            guard i < profile.count - 1 else { return profile[profile.count - 1] }
            let t = f - Double(i)
            return profile[i] * (1 - t) + profile[i + 1] * t
        }
    }

    /// Needle radius at each specimen z read off a projected-thickness map: half the width of the region where
    /// t > `thresholdNM` across the axis at that height (0 ahead of the apex). Where the needle leaves the frame
    /// (the axis outside it, or the needle wider than the frame), the shank is continued along a straight line fitted
    /// to its last 20 nm in the frame: the needle goes on, and a profile that stopped at the border would end the bias
    /// field's line charge there, as if the shank had a second apex just outside the frame (a dark band along that
    /// border).
    public static func radiusProfile(thicknessNM t: [Float], geometry g: FrameGeometry, thresholdNM: Float = 0.5) -> (Double) -> Double {
        // Sample along the axis every pixel; for each, walk outwards along ±x until t drops below the threshold.
        let span = Double(max(g.width, g.height)) * g.pixelNM
        let step = g.pixelNM
        let n = Int(2 * span / step) + 1
        var radii = [Double](repeating: 0, count: n)
        var seen = [Bool](repeating: false, count: n)   // the whole width of the needle lies in the frame
        let z0 = g.apexZNM - span
        func inFrame(_ x: Double, _ z: Double) -> Int? {
            let p = g.pixel(xNM: x, zNM: z)
            let u = Int(p.u.rounded(.down)), v = Int(p.v.rounded(.down))
            return u >= 0 && v >= 0 && u < g.width && v < g.height ? v * g.width + u : nil
        }
        for k in 0..<n {
            let z = z0 + Double(k) * step
            guard inFrame(0, z) != nil else { continue }
            var best = 0.0, clipped = false
            for sign in [-1.0, 1.0] {
                var x = 0.0
                while true {
                    guard let i = inFrame(sign * x, z) else { clipped = true; break }
                    guard t[i] > thresholdNM else { break }
                    x += step
                }
                best = max(best, x)
            }
            radii[k] = best
            seen[k] = !clipped
        }
        // The needle: from its apex (the highest seen row with a radius) down to the last seen row with one; continued
        // below when the row after that was not seen (the needle leaves the frame) rather than empty (it ends).
        var low = -1, top = -1
        if let kt = (0..<n).last(where: { seen[$0] && radii[$0] > 0 }) {
            top = kt; low = kt
            while low > 0, seen[low - 1], radii[low - 1] > 0 { low -= 1 }
        }
        let continues = low >= 0 && (low == 0 || !seen[low - 1])
        // Straight line fitted (least squares) to the lowest 20 nm seen: the profile is in whole pixels.
        let m = max(1, min(top - low, Int((20 / step).rounded())))
        var slope = 0.0, base = low >= 0 ? radii[low] : 0
        if continues, m >= 2 {
            var sk = 0.0, sr = 0.0, skk = 0.0, skr = 0.0
            for k in low...(low + m) {
                let x = Double(k - low), y = radii[k]
                sk += x; sr += y; skk += x * x; skr += x * y
            }
            let c = Double(m + 1), den = c * skk - sk * sk
            if den > 0 {
                let b = (c * skr - sk * sr) / den
                slope = max(0, -b)
                base = (sr - b * sk) / c
            }
        }
        let profile = radii
        return { z in
            let k = Int(((z - z0) / step).rounded())
            if continues, k < low { return base + Double(low - k) * slope }
            return k >= 0 && k < n ? profile[k] : 0
        }
    }
}
