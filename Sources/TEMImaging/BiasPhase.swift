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

    /// Phase map (radians) over a frame: the needle radius at each height comes from `radiusAtZ` (e.g. measured on
    /// the projected thickness), σ from the accelerating voltage.
    public static func phaseMap(geometry g: FrameGeometry, radiusAtZ: (Double) -> Double, voltageV: Double,
                                environmentRadiusNM: Double, interactionConstantRadPerVNM sigma: Double) -> [Float] {
        var out = [Float](repeating: 0, count: g.width * g.height)
        guard voltageV != 0 else { return out }
        for v in 0..<g.height {
            for u in 0..<g.width {
                let p = g.specimen(u: Double(u) + 0.5, v: Double(v) + 0.5)
                let r = radiusAtZ(p.zNM)
                out[v * g.width + u] = Float(sigma * projectedPotentialVNM(xNM: p.xNM, needleRadiusNM: r, voltageV: voltageV,
                                                                          environmentRadiusNM: environmentRadiusNM))
            }
        }
        return out
    }

    /// Needle radius at each specimen z read off a projected-thickness map: half the width of the region where
    /// t > `thresholdNM` across the axis at that height (0 where the needle is absent).
    public static func radiusProfile(thicknessNM t: [Float], geometry g: FrameGeometry, thresholdNM: Float = 0.5) -> (Double) -> Double {
        // Sample along the axis every pixel; for each, walk outwards along ±x until t drops below the threshold.
        let span = Double(max(g.width, g.height)) * g.pixelNM
        let step = g.pixelNM
        let n = Int(2 * span / step) + 1
        var radii = [Double](repeating: 0, count: n)
        let z0 = g.apexZNM - span
        for k in 0..<n {
            let z = z0 + Double(k) * step
            var best = 0.0
            for sign in [-1.0, 1.0] {
                var x = 0.0
                while true {
                    let p = g.pixel(xNM: sign * x, zNM: z)
                    let u = Int(p.u), v = Int(p.v)
                    guard u >= 0, v >= 0, u < g.width, v < g.height, t[v * g.width + u] > thresholdNM else { break }
                    x += step
                }
                best = max(best, x)
            }
            radii[k] = best
        }
        return { z in
            let k = Int(((z - z0) / step).rounded())
            return k >= 0 && k < n ? radii[k] : 0
        }
    }
}
