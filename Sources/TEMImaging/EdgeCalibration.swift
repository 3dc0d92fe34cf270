import Foundation
import TwinCore

/// The edge model of a bright-field needle image: where the iso-intensity contour sits relative to the true edge, and
/// how a contour radius converts into the needle's radius.
///
/// **Analytic in-focus model (amplitude contrast only).** The exit intensity is I = exp(−t/x_k) with t the projected
/// thickness and x_k the contrast thickness (scattering outside the objective aperture; Fe ≈ 45 nm, W ≈ 13 nm; Reimer
/// & Kohl, *Transmission Electron Microscopy*, 5th ed., Springer 2008, §6.1). The contour at intensity I_L (relative
/// to vacuum) is where the chord through the specimen equals a = x_k ln(1/I_L).
///
/// * *Edge bias, first order.* At depth s inside the edge of a body of local radius R the chord is
///   t(s) = 2√(R² − (R − s)²) ≈ 2√(2Rs), so the level is reached at δ = a²/(8R) = (x_k ln(1/I_L))²/(8R); at I_L = ½,
///   δ = (x_k ln 2)²/(8R) ≈ 2.4 nm for Fe at R = 50 nm (instrument-and-physics §3). To the same order the contour
///   of a sphere of radius R is a circle of radius R_c = R − δ(R), so the true radius solves R² − R_c R − a²/8 = 0:
///   **R = (R_c + √(R_c² + a²/2))/2** (``trueRadiusFirstOrderNM(measuredRadiusNM:contrastThicknessNM:edgeIntensity:)``).
/// * *Exact for a sphere and a body of revolution.* With the needle axis perpendicular to the beam, the chord at
///   distance v from the axis, at axial position z, is 2√(r(z)² − v²) for the radius profile r(z). The contour is
///   therefore v_c(z) = √(r(z)² − a²/4) everywhere; on the spherical cap it is a circle concentric with the sphere of
///   radius R_c = √(R² − a²/4), hence **R = √(R_c² + a²/4)** (``trueRadiusNM(measuredRadiusNM:contrastThicknessNM:edgeIntensity:)``,
///   used by default). The two agree to O(a⁴/R³); the contour disappears from the cap when a/2 ≥ R (a thin needle of a
///   weakly scattering material at a low edge level), which is why ``TipShapeOptions/needleLevel`` defaults to a level
///   measured on the frame.
///
/// **Empirical table.** Defocus, the bias-field phase (which shifts the edge only out of focus), the CTF and the
/// detector MTF move the contour in ways the formula above ignores. ``build(radiiNM:simulate:level:options:contrastThicknessNM:)``
/// measures the contour radius on frames simulated for known radii and stores the pairs; ``correctedRadius(raw:edgeIntensity:)``
/// interpolates them with the monotone piecewise-cubic Hermite scheme of Fritsch & Carlson (SIAM J. Numer. Anal. 17
/// (1980) 238) and falls back to the analytic model outside the table. The table is valid for frames taken (and
/// simulated) under the same conditions and measured with the same options.
public struct EdgeCalibration: Sendable, Codable, Equatable {
    /// One calibration frame: the radius simulated and the contour radius measured on it.
    public struct Entry: Sendable, Codable, Equatable {
        /// Radius of the simulated needle, nm.
        public var trueRadiusNM: Double
        /// Radius of the circle fitted to the contour on its frame (``TipShape/rawApexRadiusNM``), nm.
        public var rawRadiusNM: Double
        /// Contour intensity relative to vacuum on that frame (``TipShape/edgeIntensity``).
        public var edgeIntensity: Double
        /// Memberwise initialiser.
        public init(trueRadiusNM: Double, rawRadiusNM: Double, edgeIntensity: Double) {
            self.trueRadiusNM = trueRadiusNM; self.rawRadiusNM = rawRadiusNM; self.edgeIntensity = edgeIntensity
        }
    }

    /// Calibration pairs sorted by increasing raw (and true) radius; empty for a purely analytic calibration.
    public var entries: [Entry]
    /// Contrast thickness x_k for the analytic model, nm; `nil` if unknown (beyond the table the offset R² − R_c² of
    /// the nearest entry is then kept, i.e. the analytic form with an effective x_k fitted to that entry).
    public var contrastThicknessNM: Double?

    /// A calibration from pairs (sorted here by raw radius) and an optional contrast thickness, nm.
    public init(entries: [Entry], contrastThicknessNM: Double? = nil) {
        self.entries = entries.sorted { $0.rawRadiusNM < $1.rawRadiusNM }
        self.contrastThicknessNM = contrastThicknessNM
    }

    /// The analytic in-focus model only, for a material of contrast thickness x_k, nm.
    public static func analytic(contrastThicknessNM: Double) -> EdgeCalibration {
        EdgeCalibration(entries: [], contrastThicknessNM: contrastThicknessNM)
    }

    /// Builds an empirical calibration: for each radius, `simulate` renders a frame of a needle of that apex radius
    /// (any direction and position, any imaging model), which is measured with `options` and `edgeLevel = level`
    /// without correction; the (true, raw) pairs form the table.
    ///
    /// - Parameters:
    ///   - radiiNM: at least two distinct positive radii, nm.
    ///   - simulate: frame simulator; returns the pixels (row-major), size and pixel size in nm.
    ///   - level: ``TipShapeOptions/edgeLevel`` to use (use the same one when measuring).
    ///   - options: other measurement options (their calibration/contrast thickness are ignored).
    ///   - contrastThicknessNM: x_k for the analytic fallback outside the table, if known.
    /// - Throws: the simulator's errors, measurement errors (naming the radius), or `TwinError.inconsistent` if the
    ///   raw radius does not increase strictly with the true radius (the table could not be inverted).
    public static func build(radiiNM: [Double],
                             simulate: (Double) throws -> (pixels: [Float], width: Int, height: Int, pixelNM: Double),
                             level: Double, options: TipShapeOptions = .init(),
                             contrastThicknessNM: Double? = nil) throws -> EdgeCalibration {
        let radii = Array(Set(radiiNM)).sorted()
        guard radii.count >= 2, radii.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw TwinError.invalidInput("edge calibration: need at least two distinct positive radii, got \(radiiNM)")
        }
        var o = options
        o.edgeLevel = level
        o.calibration = nil
        o.contrastThicknessNM = nil
        var entries: [Entry] = []
        for r in radii {
            let f = try simulate(r)
            let m: TipShape
            do {
                m = try TipShapeMeasurement.measure(pixels: f.pixels, width: f.width, height: f.height, pixelNM: f.pixelNM, options: o)
            } catch let e as TwinError {
                throw TwinError.invalidInput("edge calibration: frame for R = \(r) nm: \(e.description)")
            }
            entries.append(Entry(trueRadiusNM: r, rawRadiusNM: m.rawApexRadiusNM, edgeIntensity: m.edgeIntensity))
        }
        for i in 1..<entries.count where entries[i].rawRadiusNM <= entries[i - 1].rawRadiusNM {
            throw TwinError.inconsistent(String(format: "edge calibration is not monotone: raw radius %.3f nm at R = %g nm ≤ %.3f nm at R = %g nm",
                                                entries[i].rawRadiusNM, entries[i].trueRadiusNM,
                                                entries[i - 1].rawRadiusNM, entries[i - 1].trueRadiusNM))
        }
        return EdgeCalibration(entries: entries, contrastThicknessNM: contrastThicknessNM)
    }

    /// The needle radius for a contour radius `raw` (nm) measured at contour intensity `edgeIntensity`.
    ///
    /// Inside the table: monotone cubic interpolation of the (raw, true) pairs; if `edgeIntensity` differs from the
    /// table's, the squared-radius offset R² − R_c² is rescaled by (ln(1/I_L)/ln(1/I_table))² as in the analytic
    /// model. Outside the table (or without one): the analytic model with ``contrastThicknessNM`` if known, otherwise
    /// the nearest entry's offset. `edgeIntensity == nil` means the table's own level (0.5 for the analytic model).
    /// With neither a table nor x_k, `raw` is returned unchanged.
    public func correctedRadius(raw: Double, edgeIntensity: Double? = nil) -> Double {
        guard raw.isFinite, raw > 0 else { return raw }
        let e = entries.filter { $0.rawRadiusNM.isFinite && $0.trueRadiusNM.isFinite }
        func lnInv(_ i: Double) -> Double { -log(min(max(i, 1e-12), 1 - 1e-12)) }
        func scaled(_ k: Double, tableLevel: Double) -> Double {
            guard let lv = edgeIntensity else { return k }
            let s = lnInv(lv) / lnInv(tableLevel)
            return k * s * s
        }
        if let first = e.first, let last = e.last, e.count >= 2, raw >= first.rawRadiusNM, raw <= last.rawRadiusNM {
            let rTab = Self.pchip(x: e.map(\.rawRadiusNM), y: e.map(\.trueRadiusNM), at: raw)
            guard let j = e.firstIndex(where: { $0.rawRadiusNM >= raw }) else { return rTab }
            let lvTab: Double
            if j == 0 { lvTab = e[0].edgeIntensity } else {
                let t = (raw - e[j - 1].rawRadiusNM) / (e[j].rawRadiusNM - e[j - 1].rawRadiusNM)
                lvTab = e[j - 1].edgeIntensity + t * (e[j].edgeIntensity - e[j - 1].edgeIntensity)
            }
            let k = scaled(rTab * rTab - raw * raw, tableLevel: lvTab)
            return (max(0, raw * raw + k)).squareRoot()
        }
        if let xk = contrastThicknessNM {
            return Self.trueRadiusNM(measuredRadiusNM: raw, contrastThicknessNM: xk, edgeIntensity: edgeIntensity ?? e.first?.edgeIntensity ?? 0.5)
        }
        guard let first = e.first, let last = e.last else { return raw }
        let end = raw < first.rawRadiusNM ? first : last
        let k = scaled(end.trueRadiusNM * end.trueRadiusNM - end.rawRadiusNM * end.rawRadiusNM, tableLevel: end.edgeIntensity)
        return (max(0, raw * raw + k)).squareRoot()
    }

    // MARK: - Analytic model

    /// The chord thickness a = x_k ln(1/I_L) at which the transmitted intensity falls to `edgeIntensity`, nm.
    public static func contourChordNM(contrastThicknessNM xk: Double, edgeIntensity: Double) -> Double {
        xk * log(1 / edgeIntensity)
    }

    /// First-order edge bias δ = (x_k ln(1/I_L))²/(8R): how far inside the true edge of a body of local radius R the
    /// contour at `edgeIntensity` sits, nm (≈ 2.4 nm for Fe, x_k = 45 nm, R = 50 nm, I_L = ½).
    public static func firstOrderEdgeBiasNM(radiusNM: Double, contrastThicknessNM: Double, edgeIntensity: Double = 0.5) -> Double {
        let a = contourChordNM(contrastThicknessNM: contrastThicknessNM, edgeIntensity: edgeIntensity)
        return a * a / (8 * radiusNM)
    }

    /// Exact contour radius of a sphere of radius R in the in-focus amplitude model, √(R² − a²/4), nm; `nil` if the
    /// sphere never gets as dark as `edgeIntensity` (a/2 ≥ R).
    public static func contourRadiusNM(trueRadiusNM r: Double, contrastThicknessNM: Double, edgeIntensity: Double = 0.5) -> Double? {
        let a = contourChordNM(contrastThicknessNM: contrastThicknessNM, edgeIntensity: edgeIntensity)
        let r2 = r * r - a * a / 4
        return r2 > 0 ? r2.squareRoot() : nil
    }

    /// True radius from a contour radius, first-order model: the positive root of R² − R_c R − a²/8 = 0,
    /// R = (R_c + √(R_c² + a²/2))/2, nm.
    public static func trueRadiusFirstOrderNM(measuredRadiusNM rc: Double, contrastThicknessNM: Double, edgeIntensity: Double = 0.5) -> Double {
        let a = contourChordNM(contrastThicknessNM: contrastThicknessNM, edgeIntensity: edgeIntensity)
        return (rc + (rc * rc + a * a / 2).squareRoot()) / 2
    }

    /// True radius from a contour radius, exact for a sphere in the in-focus amplitude model: R = √(R_c² + a²/4), nm.
    public static func trueRadiusNM(measuredRadiusNM rc: Double, contrastThicknessNM: Double, edgeIntensity: Double = 0.5) -> Double {
        let a = contourChordNM(contrastThicknessNM: contrastThicknessNM, edgeIntensity: edgeIntensity)
        return (rc * rc + a * a / 4).squareRoot()
    }

    // MARK: - Interpolation

    /// Monotone piecewise-cubic Hermite interpolation (Fritsch & Carlson 1980; interior slopes by the weighted
    /// harmonic mean of Fritsch & Butland 1984), `x` strictly increasing.
    static func pchip(x: [Double], y: [Double], at t: Double) -> Double {
        let n = x.count
        guard n >= 2 else { return y.first ?? t }
        var h = [Double](repeating: 0, count: n - 1), dl = h
        for i in 0..<(n - 1) { h[i] = x[i + 1] - x[i]; dl[i] = h[i] > 0 ? (y[i + 1] - y[i]) / h[i] : 0 }
        var m = [Double](repeating: 0, count: n)
        if n == 2 { m = [dl[0], dl[0]] } else {
            for i in 1..<(n - 1) {
                if dl[i - 1] * dl[i] <= 0 { m[i] = 0 } else {
                    let w1 = 2 * h[i] + h[i - 1], w2 = h[i] + 2 * h[i - 1]
                    m[i] = (w1 + w2) / (w1 / dl[i - 1] + w2 / dl[i])
                }
            }
            func endSlope(_ h0: Double, _ h1: Double, _ d0: Double, _ d1: Double) -> Double {
                var s = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
                if s * d0 <= 0 { s = 0 } else if d0 * d1 <= 0, abs(s) > abs(3 * d0) { s = 3 * d0 }
                return s
            }
            m[0] = endSlope(h[0], h[1], dl[0], dl[1])
            m[n - 1] = endSlope(h[n - 2], h[n - 3 < 0 ? 0 : n - 3], dl[n - 2], dl[max(0, n - 3)])
        }
        var i = 0
        while i < n - 2 && t > x[i + 1] { i += 1 }
        let hh = h[i]
        guard hh > 0 else { return y[i] }
        let s = (t - x[i]) / hh
        let h00 = (1 + 2 * s) * (1 - s) * (1 - s), h10 = s * (1 - s) * (1 - s)
        let h01 = s * s * (3 - 2 * s), h11 = s * s * (s - 1)
        return h00 * y[i] + h10 * hh * m[i] + h01 * y[i + 1] + h11 * hh * m[i + 1]
    }
}
