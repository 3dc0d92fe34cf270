import Foundation

/// The apex radius measured from the needle's **cross-sectional areas** on a bright-field frame, instead of from
/// where its edge contour lies.
///
/// **Why.** The edge model (``EdgeCalibration``) converts the contour into the outline assuming that every slice across
/// the needle is a disc: the chord at depth δ inside the edge is 2√(2Rδ). An evaporated crystalline cap is faceted:
/// flat sides parallel to the beam build the chord up faster than a disc, ridges slower, so the corrected radius
/// depends on the contour level and on the azimuth of the view by several per cent (`Validation/tem_ramp`). The area
/// of a slice does not depend on its shape.
///
/// **Method.** In the amplitude model of the frame (``EdgeCalibration``), I = exp(−t/x_k), so the projected
/// thickness is t = x_k ln(I₀/I). Integrated across the needle at a distance s behind the apex, it is the area of the
/// needle's cross-section there, A(s) = ∫ t dv, for any shape of the section and any direction of the beam
/// perpendicular to the axis; blurring by the CTF envelopes and the detector MTF moves intensity along v but does not
/// change the integral to first order (their transfer at zero frequency is 1, and in focus the phase contrast of the
/// inner potential has no zero-frequency part: sin χ(0) = 0; Reimer & Kohl, *Transmission Electron Microscopy*, 5th ed.,
/// Springer 2008, §3.3 and §6.1). The area-equivalent radius r(s) = √(A/π) is the meridian profile of the body of
/// revolution with the needle's volume per slice. For a spherical cap of radius R with its apex at s_a,
/// A/π = 2R(s − s_a) − (s − s_a)², so q = A/π + s² is a straight line in s whose slope and intercept give R and s_a;
/// it is fitted by least squares to the slices from 4 pixels below the apex (the blur spreads the area ahead of the
/// apex) down to ``TipShapeOptions/sectionCapDepthRadii`` × R, reselected about the new apex until the selection
/// settles. With the default depth 0.3 R (a 46° cap) this is the sphere of the cap as the evaporation engine fits it
/// to the cap's surface atoms for k_f.
///
/// **Limits.** The radius scales with the contrast thickness x_k (a 5 % error in x_k is ≈ 5 % in R), which must be
/// known for the material and objective aperture (the twin's material table; in the laboratory, a thickness series);
/// the edge model needs x_k only for its correction, a fraction of R. Diffraction contrast, a surface layer of
/// another material, strong defocus and a non-uniform vacuum violate the amplitude model. The baseline is taken per
/// slice from vacuum bands beside the needle, which removes a uniform offset of the vacuum level.
public struct SectionRadiusFit: Sendable, Codable, Equatable {
    /// Radius of the circle fitted to the area-equivalent profile of the cap, nm.
    public var radiusNM: Double
    /// Position of the fitted circle's apex along the axis relative to the edge-contour apex (positive: further out
    /// towards the tip's direction), nm.
    public var apexShiftNM: Double
    /// Depth of the cap fitted, nm.
    public var capDepthNM: Double
    /// Number of slices in the fit (spaced by half a pixel).
    public var sliceCount: Int
    /// Root-mean-square distance of the slices' area-equivalent radii from the fitted circle, nm.
    public var rmsNM: Double
    /// Contrast thickness x_k used to convert intensity into thickness, nm.
    public var contrastThicknessNM: Double
}

/// Fits ``SectionRadiusFit`` (see there for the method).
enum SectionRadius {
    /// The fewest slices (half a pixel apart) the fitted cap must hold, i.e. 10 px below the blurred first 4 px: at
    /// 0.24 nm/px the fit is made for R ≳ 11 nm. With 6, the 7–11 nm atomistic caps of
    /// `Validation/reconstruction_claims` scattered by ±5–19 % around their radius.
    static let minimumSlices = 20

    /// - Parameters:
    ///   - img: the frame divided by its vacuum level (dark level removed) and smoothed, row-major.
    ///   - apexPx: the edge-contour apex, pixel coordinates with the origin at the top-left pixel's corner.
    ///   - axis: unit vector from the shank towards the apex, pixel coordinates.
    ///   - edgeRadiusNM: the edge-model apex radius (start value and window size), nm.
    /// - Returns: nil if the window leaves the frame, fewer than ``minimumSlices`` slices lie on the fitted cap, or the
    ///   fit does not converge.
    static func fit(img: [Float], width w: Int, height h: Int, pixelNM: Double, apexPx: (x: Double, y: Double),
                    axis d: (x: Double, y: Double), edgeRadiusNM: Double, contrastThicknessNM xk: Double,
                    capDepthRadii: Double, borderMarginPx: Int) -> SectionRadiusFit? {
        guard edgeRadiusNM.isFinite, edgeRadiusNM > 0, xk.isFinite, xk > 0, pixelNM > 0 else { return nil }
        let step = 0.5                                   // px, along and across the axis
        let rPx = edgeRadiusNM / pixelNM
        let sEndPx = 1.8 * capDepthRadii * rPx + 4       // deepest slice, px behind the contour apex
        let sStartPx = -max(4, 0.15 * rPx)               // first slice ahead of it
        let marginPx = max(12, 3 / pixelNM)              // vacuum kept between the needle and the baseline bands
        let halfPx = (2 * rPx * sEndPx + sEndPx * sEndPx).squareRoot() + marginPx
        let bandPx = max(8, 2 / pixelNM)
        let nV = Int(((halfPx + bandPx) / step).rounded(.up))
        let nIn = Int((halfPx / step).rounded(.up))
        let nx = -d.y, ny = d.x                          // across the axis
        let lo = Double(max(1, borderMarginPx))
        // Bilinear sample of the image at (x, y) in corner-origin pixel coordinates; nil outside the usable frame.
        func sample(_ x: Double, _ y: Double) -> Double? {
            guard x >= lo, y >= lo, x <= Double(w) - lo, y <= Double(h) - lo else { return nil }
            return bilinearSample(img, w, h, u: x - 0.5, v: y - 0.5)
        }
        func thickness(_ i: Double) -> Double { xk * log(1 / max(i, 1e-4)) }
        var sNM: [Double] = [], rNM: [Double] = []
        var sPx = sStartPx
        while sPx <= sEndPx {
            let cx = apexPx.x - sPx * d.x, cy = apexPx.y - sPx * d.y
            var inside = 0.0, band = 0.0, nBand = 0, ok = true
            for k in -nV...nV {
                let v = Double(k) * step
                guard let i = sample(cx + v * nx, cy + v * ny) else { ok = false; break }
                let t = thickness(i)
                if abs(k) <= nIn { inside += t } else { band += t; nBand += 1 }
            }
            if ok, nBand > 0 {
                let baseline = band / Double(nBand)
                let areaNM2 = (inside - baseline * Double(2 * nIn + 1)) * step * pixelNM
                sNM.append(sPx * pixelNM)
                rNM.append((max(0, areaNM2) / .pi).squareRoot())
            }
            sPx += step
        }
        guard sNM.count >= minimumSlices else { return nil }

        // Sphere profile A/π = 2R(s − s_a) − (s − s_a)²: q = A/π + s² = αs + β is a straight line with α = 2(R + s_a),
        // β = −s_a(2R + s_a), fitted by least squares to the slices from δ below the apex s_a to capDepthRadii·R below
        // it; the slices are reselected about the new apex until the selection settles. δ = 4 px leaves out the first
        // slices, where the blur spreads the area ahead of the apex (and a flat top facet makes the apex ill-defined).
        let deltaNM = 4 * pixelNM
        var radius = edgeRadiusNM, apex = 0.0
        var selected: [Int] = []
        var alpha = 0.0, beta = 0.0
        for _ in 0..<50 {
            let top = apex + deltaNM, bottom = apex + capDepthRadii * radius
            let sel = sNM.indices.filter { sNM[$0] >= top && sNM[$0] <= bottom }
            guard sel.count >= minimumSlices else { return nil }
            if sel == selected { break }
            selected = sel
            var ms = 0.0, mq = 0.0
            for i in sel { ms += sNM[i]; mq += rNM[i] * rNM[i] + sNM[i] * sNM[i] }
            ms /= Double(sel.count); mq /= Double(sel.count)
            var sxx = 0.0, sxq = 0.0
            for i in sel { let dx = sNM[i] - ms; sxx += dx * dx; sxq += dx * (rNM[i] * rNM[i] + sNM[i] * sNM[i] - mq) }
            guard sxx > 0 else { return nil }
            alpha = sxq / sxx; beta = mq - alpha * ms
            let disc = alpha * alpha + 4 * beta
            guard disc >= 0 else { return nil }
            apex = (alpha - disc.squareRoot()) / 2
            radius = alpha / 2 - apex
            guard radius.isFinite, radius > 0.2 * edgeRadiusNM, radius < 5 * edgeRadiusNM, abs(apex) < radius else { return nil }
        }
        var ss = 0.0
        for i in selected {
            let ds = sNM[i] - (apex + radius)
            let e = (rNM[i] * rNM[i] + ds * ds).squareRoot() - radius
            ss += e * e
        }
        return SectionRadiusFit(radiusNM: radius, apexShiftNM: -apex, capDepthNM: capDepthRadii * radius,
                                sliceCount: selected.count, rmsNM: (ss / Double(selected.count)).squareRoot(),
                                contrastThicknessNM: xk)
    }
}
