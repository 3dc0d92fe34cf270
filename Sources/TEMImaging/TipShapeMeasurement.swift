import Foundation
import TwinCore

/// The shape of the needle apex measured on one bright-field TEM frame.
///
/// Coordinates are **image coordinates in nm**: x to the right, y down, origin at the top-left *corner* of the
/// top-left pixel (so the centre of pixel (i, j) is at ((i + ½)·pixel, (j + ½)·pixel)). Angles are in degrees,
/// measured from +x towards +y (clockwise on screen).
public struct TipShape: Sendable, Codable, Equatable {
    /// The apex radius of the needle itself, nm: the edge-model radius (``edgeApexRadiusNM``), or the cross-section
    /// radius (``sectionFit``) when ``TipShapeOptions/radiusSource`` asks for it and that fit succeeded; ``radiusSource``
    /// says which.
    public var apexRadiusNM: Double
    /// Which method gave ``apexRadiusNM``.
    public var radiusSource: TipRadiusSource = .edge
    /// Apex radius from the edge contour after the edge-bias correction, nm.
    public var edgeApexRadiusNM: Double
    /// The apex radius from the needle's cross-sectional areas (``SectionRadiusFit``); nil without a contrast
    /// thickness, or if the fit failed.
    public var sectionFit: SectionRadiusFit? = nil
    /// x of the apex point (the tip of the spherical cap on the needle axis), nm.
    public var apexXNM: Double
    /// y of the apex point, nm.
    public var apexYNM: Double
    /// Shank half-angle: half the angle between straight-line fits to the two side edges beyond
    /// ``TipShapeOptions/shankStartRadii`` apex radii from the apex, degrees (edge-bias corrected like the radius).
    /// `nil` when fewer than ``TipShapeOptions/minimumShankPoints`` edge points per side lie in the frame there.
    public var shankHalfAngleDeg: Double?
    /// Direction in which the needle points (from its shank towards its apex), degrees in [0, 360) from +x towards +y.
    public var axisAngleDeg: Double
    /// Number of sub-pixel edge points used in the final apex circle fit.
    public var edgePointCount: Int
    /// Root-mean-square geometric residual of the apex circle fit, nm.
    public var fitRMSNM: Double
    /// Radius of the circle fitted to the iso-intensity contour, before the edge-bias correction, nm.
    public var rawApexRadiusNM: Double
    /// `edgeApexRadiusNM − rawApexRadiusNM`: how far inside the true edge the contour sits at the apex, nm
    /// (0 when no correction was applied; negative if the contour lies outside, as with some defocus settings).
    public var edgeBiasNM: Double
    /// The intensity of the contour, relative to the vacuum level (I_L = 1 − edgeLevel·(1 − needleLevel)).
    public var edgeIntensity: Double
    /// The needle level used to place the contour, relative to the vacuum level.
    public var needleLevel: Double
    /// The vacuum level in the units of the input pixels (including any dark level).
    public var vacuumLevel: Double
    /// Number of edge points in the two shank line fits together (0 if the shank was not measured).
    public var shankEdgePointCount: Int
    /// The cap's meridian profile from the same edge points, with a conic fitted (nil if the fit failed).
    public var capProfile: CapProfile? = nil

    /// Memberwise initialiser.
    public init(apexRadiusNM: Double, apexXNM: Double, apexYNM: Double, shankHalfAngleDeg: Double?, axisAngleDeg: Double,
                edgePointCount: Int, fitRMSNM: Double, rawApexRadiusNM: Double, edgeBiasNM: Double, edgeIntensity: Double,
                needleLevel: Double, vacuumLevel: Double, shankEdgePointCount: Int) {
        self.apexRadiusNM = apexRadiusNM; self.edgeApexRadiusNM = apexRadiusNM; self.apexXNM = apexXNM; self.apexYNM = apexYNM
        self.shankHalfAngleDeg = shankHalfAngleDeg; self.axisAngleDeg = axisAngleDeg; self.edgePointCount = edgePointCount
        self.fitRMSNM = fitRMSNM; self.rawApexRadiusNM = rawApexRadiusNM; self.edgeBiasNM = edgeBiasNM
        self.edgeIntensity = edgeIntensity; self.needleLevel = needleLevel; self.vacuumLevel = vacuumLevel
        self.shankEdgePointCount = shankEdgePointCount
    }
}

/// The method that gives the apex radius of a ``TipShape``.
public enum TipRadiusSource: String, Sendable, Codable, Equatable, CaseIterable {
    /// The circle fitted to the iso-intensity contour, corrected by the edge model (``EdgeCalibration``).
    case edge
    /// The circle fitted to the area-equivalent profile of the cap (``SectionRadiusFit``); needs the contrast thickness.
    case crossSections = "cross-sections"
}

/// Settings of ``TipShapeMeasurement/measure(pixels:width:height:pixelNM:options:)``.
public struct TipShapeOptions: Sendable, Codable, Equatable {
    /// The method for ``TipShape/apexRadiusNM`` (default `.edge`). With `.crossSections` the edge-model radius is
    /// reported if the cross-section fit fails. The cross-section fit is made whenever a contrast thickness is known
    /// (``contrastThicknessNM`` or the calibration's), whichever method is chosen.
    public var radiusSource: TipRadiusSource = .edge
    /// Depth of the cap fitted by the cross-section method, in apex radii below its apex (default 0.3, a 46° cap: the
    /// evaporation engine's apex fit; 0.1…1).
    public var sectionCapDepthRadii: Double = 0.3
    /// Where the edge contour is drawn, as a fraction of the way from the vacuum level (0) to the needle level (1).
    /// Default 0.5. Must lie in (0, 1).
    public var edgeLevel: Double = 0.5
    /// The needle level relative to the vacuum level (0 = opaque). `nil` (default): measured on the frame at the
    /// centre of the apex sphere (where the chord is 2R; the darkest 0.2 % of 4 × 4-pixel bins if the apex cannot be
    /// found that way), so that thin, weakly absorbing apexes (R = 5 nm of Fe transmits ~80 % at its centre) get a
    /// contour on the cap whatever the rest of the frame holds. Set it (e.g. to 0) to draw the contour at a fixed
    /// absolute intensity.
    public var needleLevel: Double? = nil
    /// Empirical edge calibration (``EdgeCalibration/build(radiiNM:simulate:level:options:contrastThicknessNM:)``) or
    /// an analytic one (``EdgeCalibration/analytic(contrastThicknessNM:)``). Takes precedence over
    /// ``contrastThicknessNM``.
    public var calibration: EdgeCalibration? = nil
    /// Contrast thickness x_k of the needle material, nm, for the analytic in-focus edge-bias correction used when
    /// ``calibration`` is `nil` (default 45 nm, Fe behind a 10 mrad aperture; W ≈ 13 nm; instrument-and-physics §2).
    /// `nil` together with `calibration == nil`: no correction (the raw contour radius is reported). It is also the
    /// x_k of the cross-section radius (``SectionRadiusFit``) unless the calibration carries one.
    public var contrastThicknessNM: Double? = 45
    /// Edge points within this angle of the needle axis, seen from the centre of the fitted circle, enter the apex
    /// circle fit, degrees (default 60; 10…85).
    public var capFitHalfAngleDeg: Double = 60
    /// Shank edges are fitted beyond this many apex radii from the apex (default 1.5).
    public var shankStartRadii: Double = 1.5
    /// Standard deviation of the Gaussian smoothing applied before segmentation and edge location, pixels
    /// (default 1; 0 disables it; at most 10).
    public var smoothingSigmaPx: Double = 1
    /// Edge points closer than this to the image border are ignored (the frame border is not a needle edge), pixels.
    public var borderMarginPx: Int = 3
    /// The smallest accepted needle contrast 1 − needleLevel (default 0.03): frames with less are reported as
    /// containing no needle. The contrast must also exceed 10 × the noise of 4 × 4-pixel bins.
    public var minimumContrast: Double = 0.03
    /// Minimum number of edge points on each side of the shank for the half-angle (and the axis refinement).
    public var minimumShankPoints: Int = 10
    /// Detector dark level (offset) in the units of the input pixels, subtracted before the intensities are divided
    /// by the vacuum level (default 0: dark-corrected frames). Set it to the camera offset (e.g.
    /// `CameraParameters.offsetADU`) for raw counts: the contour itself does not move, but the contour intensity
    /// I_L used by the edge-bias correction does (an uncorrected 100 ADU offset at 1150 e⁻/px biases R by ≈ −0.5 nm).
    public var darkLevel: Double = 0
    /// Default settings.
    public init() {}
}

/// Measurement of the apex radius, apex position, axis direction and shank half-angle of a needle on a
/// bright-field TEM frame, with the needle pointing in any direction and entering the frame from its border.
///
/// **Method.**
/// 1. *Noise and vacuum.* The pixel noise σ is estimated from the median absolute difference of horizontally
///    adjacent pixels (σ = 1.4826·MAD/√2; Rousseeuw & Croux, JASA 88 (1993) 1273). The image is smoothed with a
///    Gaussian of ``TipShapeOptions/smoothingSigmaPx`` (edges clamped). The vacuum level is the mode of the smoothed
///    values in a band along the image border, found by a median-shift iteration (window ±3σ) started from their
///    90th percentile (the needle covers part of the border, the vacuum peak is the brightest mode; cf. mean shift,
///    Comaniciu & Meer, IEEE PAMI 24 (2002) 603). The image minus ``TipShapeOptions/darkLevel`` is divided by the
///    vacuum level minus the dark level.
/// 2. *Levels.* Frames whose darkest 0.2 % of 4 × 4-pixel bin means lie less than ``TipShapeOptions/minimumContrast``
///    or 10 × the bin noise below the vacuum are rejected as holding no needle. The contour is drawn at
///    I_L = 1 − edgeLevel·(1 − needleLevel) with the needle level referred to the apex itself: a first fit (steps
///    3–6) with a shallow contour, 6 σ of the smoothed image below the vacuum (at least 5 %, at most half of the
///    darkest bins' contrast), finds the apex circle; the needle level is the mean intensity within a quarter of its
///    radius of its centre — the centre of the apex sphere, where the chord is 2R, since the contour of a body of
///    revolution is concentric with its cap (``EdgeCalibration``) — and steps 3–8 are repeated at that level until
///    it settles (≤ 4 times). In the amplitude model the contour then sits at a chord a ≈ R for thin apexes
///    (R ≪ x_k) and a = x_k ln 2 for thick ones, always on the cap: a level taken from the darkest part of the
///    frame would depend on how much shank the field of view holds, and for an apex thinner than that level's
///    chord (2R < x_k ln(1/I_L): R = 5 nm of Fe under a thick shank) the contour leaves the cap altogether and the
///    apex cannot be measured. If that fit fails, or the user sets ``TipShapeOptions/needleLevel``, the needle level
///    is the darkest bins' (or the user's) and steps 3–8 run once.
/// 3. *Segmentation.* Pixels below I_L form 4-connected components; the needle is the largest one that touches the
///    image border (a needle enters the frame from a border); its holes are filled.
/// 4. *Axis.* First estimate: the principal axis of the mask's second moments (PCA) if the mask is elongated
///    (eigenvalue ratio > 2), otherwise the line from the centroid of its border pixels to its centroid; oriented
///    away from the border it enters from. The apex is first taken as the furthest edge point along it.
/// 5. *Sub-pixel edge.* For every boundary pixel of the mask (away from the image border), the smoothed image is
///    sampled bilinearly along the local gradient (3 × 3 Sobel) every ¼ pixel, and the I_L crossing nearest to the
///    pixel is interpolated linearly.
/// 6. *Apex circle.* Edge points within ``TipShapeOptions/capFitHalfAngleDeg`` of the axis, seen from the current
///    circle centre (and within 0.5–1.5 R of it), are fitted with the algebraic circle fit of Kåsa (IEEE Trans.
///    Instrum. Meas. IM-25 (1976) 8), refined by the geometric (orthogonal-distance) fit with Gauss–Newton /
///    Levenberg–Marquardt steps (Chernov & Lesort, J. Math. Imaging Vis. 23 (2005) 239; Chernov, *Circular and
///    Linear Regression*, CRC 2010); points are reselected and refitted until the selection no longer changes. The
///    starting circle is a Kåsa fit to points within a growing distance of the first apex estimate, grown until the
///    distance spans half the radius and the radius has settled.
/// 7. *Edge-bias correction.* The contour radius R_c is converted into the needle radius R by the calibration
///    (``EdgeCalibration``): analytically R = √(R_c² + a²/4) with a = x_k ln(1/I_L) for in-focus amplitude contrast,
///    or by an empirical table. The same offset maps the shank contour: a contour point at distance v from the axis
///    lies on the silhouette at √(v² + R² − R_c²) (exact for a body of revolution in the amplitude model).
/// 8. *Shank and axis.* Edge points further than ``TipShapeOptions/shankStartRadii``·R from the apex are split into
///    the two sides of the axis and fitted with straight lines (orthogonal regression, 4σ outlier rejection). The
///    half-angle is half the angle between them; the axis is turned onto their bisector and steps 6–8 are repeated
///    until the axis moves by less than 10⁻⁴ rad. The apex is the point R beyond the circle centre along the axis
///    (the contour circle and the needle's cap share their centre).
/// 9. *Cross-section radius.* If a contrast thickness is known, the projected thickness x_k ln(1/I) is integrated
///    across the needle slice by slice and a circle is fitted to the area-equivalent profile of the cap
///    (``SectionRadiusFit``); ``TipShapeOptions/radiusSource`` chooses which radius is reported.
///
/// The frame must be bright field (needle darker than vacuum) with a roughly uniform vacuum level; every error is a
/// `TwinError.invalidInput` with a message naming the problem. Arbitrary input (noise, blanks, NaN) is rejected with
/// an error, never a crash.
public enum TipShapeMeasurement {
    /// Measures the needle on a frame.
    ///
    /// - Parameters:
    ///   - pixels: intensities, row-major from the top-left pixel, `width * height` values, any linear scale
    ///     (counts, 8/16-bit grey levels, or I/I₀); the needle must be darker than the vacuum.
    ///   - pixelNM: pixel size at the specimen, nm (0.24 nm in the source paper).
    ///   - options: see ``TipShapeOptions``.
    /// - Returns: the shape; see ``TipShape`` for coordinates and units.
    /// - Throws: `TwinError.invalidInput` for invalid arguments, frames without a needle, a needle touching no border,
    ///   an apex outside the frame, or too few edge points.
    public static func measure(pixels: [Float], width: Int, height: Int, pixelNM: Double,
                               options: TipShapeOptions = .init()) throws -> TipShape {
        let w = width, h = height
        try validate(pixels: pixels, width: w, height: h, pixelNM: pixelNM, options: options)

        // 1. Noise, smoothing, vacuum level, normalisation.
        let sigmaRaw = rawNoise(pixels, w, h)
        let sg = options.smoothingSigmaPx
        let smoothFactor = sg >= 0.3 ? 1 / (2 * Double.pi.squareRoot() * sg) : 1
        var img = sg >= 0.3 ? gaussianSmooth(pixels, w, h, sigma: sg) : pixels
        let vacuumRaw = vacuumLevel(img, w, h, noise: sigmaRaw * smoothFactor)
        let vacuum = vacuumRaw - options.darkLevel
        guard vacuum.isFinite, vacuum > 0 else {
            throw TwinError.invalidInput("tip shape: the vacuum level (mode of the image border) is \(vacuumRaw)"
                                         + (options.darkLevel != 0 ? " with dark level \(options.darkLevel)" : "")
                                         + ", not above the dark level: blank frame or not a bright-field image")
        }
        let inv = Float(1 / vacuum), dark = Float(options.darkLevel)
        for i in img.indices { img[i] = (img[i] - dark) * inv }

        // 2. Needle level and contour level.
        let bin = max(1, min(4, min(w, h) / 16))
        let darkest = darkBinLevel(img, w, h, bin: bin)
        let binNoise = sigmaRaw / vacuum / Double(bin)
        let required = max(options.minimumContrast, 10 * binNoise)
        if 1 - darkest < required {
            throw TwinError.invalidInput(String(format: "tip shape: no needle in the frame: its darkest region is only %.1f %% "
                + "below the vacuum level (need ≥ %.1f %%; noise %.2f %% per 4×4 bin); a bright-field frame of a needle is expected",
                100 * (1 - darkest), 100 * required, 100 * binNoise))
        }
        // The needle level: the user's, else the intensity at the centre of the apex sphere (see step 2 of the method),
        // else the darkest bins.
        let fit: LevelFit
        if let user = options.needleLevel {
            fit = try fitAtLevel(img, w, h, needleLevel: user, vacuumRaw: vacuumRaw, pixelNM: pixelNM, options: options)
        } else if let referenced = try? apexReferencedFit(img, w, h, darkest: darkest, smoothNoise: sigmaRaw * smoothFactor / vacuum,
                                                          vacuumRaw: vacuumRaw, pixelNM: pixelNM, options: options) {
            fit = referenced
        } else {
            // The contour relative to the darkest bins (reports that method's errors).
            fit = try fitAtLevel(img, w, h, needleLevel: darkest, vacuumRaw: vacuumRaw, pixelNM: pixelNM, options: options)
        }
        var shape = fit.withCapProfile()
        // 9. Cross-section radius (SectionRadiusFit).
        if let xk = options.calibration?.contrastThicknessNM ?? options.contrastThicknessNM {
            let a = shape.axisAngleDeg * .pi / 180
            shape.sectionFit = SectionRadius.fit(img: img, width: w, height: h, pixelNM: pixelNM,
                                                 apexPx: (shape.apexXNM / pixelNM, shape.apexYNM / pixelNM), axis: (cos(a), sin(a)),
                                                 edgeRadiusNM: shape.edgeApexRadiusNM, contrastThicknessNM: xk,
                                                 capDepthRadii: options.sectionCapDepthRadii, borderMarginPx: options.borderMarginPx)
        }
        if options.radiusSource == .crossSections, let s = shape.sectionFit {
            shape.apexRadiusNM = s.radiusNM
            shape.radiusSource = .crossSections
        }
        return shape
    }

    /// The apex-referenced contour level (method, step 2): a first fit with a shallow contour just above the noise finds
    /// the apex circle; the needle level is then the mean intensity within a quarter of its radius of its centre, which
    /// is concentric with the needle's apex sphere and lies behind the chord 2R; the fit is repeated at
    /// I_L = 1 − edgeLevel·(1 − needleLevel) until the level settles.
    private static func apexReferencedFit(_ img: [Float], _ w: Int, _ h: Int, darkest: Double, smoothNoise: Double, vacuumRaw: Double,
                                          pixelNM: Double, options: TipShapeOptions) throws -> LevelFit {
        let contrast = 1 - darkest
        // Pass 1: a contour 6 σ (of the smoothed image) below the vacuum, at least 5 % and at most half of the contrast.
        let depth = min(0.5 * contrast, max(6 * smoothNoise, 0.05 * contrast))
        var first = options
        first.edgeLevel = depth / contrast
        var fit = try fitAtLevel(img, w, h, needleLevel: darkest, vacuumRaw: vacuumRaw, pixelNM: pixelNM, options: first)
        var previousLevel = Double.nan
        for _ in 0..<4 {
            guard let centre = discMean(img, w, h, x: fit.centerPx.x, y: fit.centerPx.y, radius: max(1, 0.25 * fit.rawRadiusPx)) else {
                throw TwinError.invalidInput("tip shape: the apex centre lies outside the frame")
            }
            let needleLevel = max(darkest, centre)
            let level = 1 - options.edgeLevel * (1 - needleLevel)
            // The contour must stand above the noise: at least 3 σ of the smoothed image below the vacuum.
            guard options.edgeLevel * (1 - needleLevel) >= 3 * smoothNoise else {
                throw TwinError.invalidInput("tip shape: the apex is too thin to stand above the noise")
            }
            if abs(level - previousLevel) < 2e-3 { break }
            previousLevel = level
            fit = try fitAtLevel(img, w, h, needleLevel: needleLevel, vacuumRaw: vacuumRaw, pixelNM: pixelNM, options: options)
        }
        return fit
    }

    /// Mean of the pixels whose centres lie within `radius` px of (x, y) (pixel coordinates, corner origin); nil if the
    /// disc is not wholly inside the frame.
    private static func discMean(_ img: [Float], _ w: Int, _ h: Int, x: Double, y: Double, radius: Double) -> Double? {
        guard x.isFinite, y.isFinite, radius.isFinite, x - radius >= 0, y - radius >= 0,
              x + radius <= Double(w), y + radius <= Double(h) else { return nil }
        var s = 0.0, n = 0
        for j in max(0, Int(y - radius))...min(h - 1, Int(y + radius)) {
            for i in max(0, Int(x - radius))...min(w - 1, Int(x + radius)) {
                let dx = Double(i) + 0.5 - x, dy = Double(j) + 0.5 - y
                if dx * dx + dy * dy <= radius * radius { s += Double(img[j * w + i]); n += 1 }
            }
        }
        return n > 0 ? s / Double(n) : Double(img[min(h - 1, Int(y)) * w + min(w - 1, Int(x))])
    }

    /// One pass of steps 3–8 at one contour level: the shape, the contour circle, and the cap's edge points in axis
    /// coordinates (distance behind the apex, signed distance from the axis, nm) for the cap profile, which is
    /// fitted once, on the pass that is kept (``withCapProfile()``).
    private struct LevelFit {
        var shape: TipShape
        var centerPx: (x: Double, y: Double)
        var rawRadiusPx: Double
        var capUNM: [Double]
        var capVNM: [Double]
        /// R² − R_c² of the edge-bias correction, nm².
        var edgeOffsetSquaredNM2: Double

        func withCapProfile() -> TipShape {
            var s = shape
            s.capProfile = CapProfile.fit(uNM: capUNM, vNM: capVNM, edgeOffsetSquaredNM2: edgeOffsetSquaredNM2,
                                          startRadiusNM: shape.apexRadiusNM)
            return s
        }
    }

    /// Steps 3–8 on the normalised, smoothed image with the contour at I_L = 1 − edgeLevel·(1 − needleLevel).
    private static func fitAtLevel(_ img: [Float], _ w: Int, _ h: Int, needleLevel: Double, vacuumRaw: Double, pixelNM: Double,
                                   options: TipShapeOptions) throws -> LevelFit {
        let level = 1 - options.edgeLevel * (1 - needleLevel)
        guard level > 0, level < 1 else {
            throw TwinError.invalidInput(String(format: "tip shape: the contour level %.3g of the vacuum level (needle level %.3g, "
                + "edgeLevel %.3g) is not between 0 and 1: pixels far below the dark level? Set darkLevel or needleLevel",
                level, needleLevel, options.edgeLevel))
        }
        let lf = Float(level)

        // 3. Segmentation.
        let needle = try segment(img, w, h, level: lf)

        // 4. Initial axis.
        var d = try initialAxis(needle.mask, w, h)

        // 5. Sub-pixel edge points.
        let pts = edgePoints(img, needle.mask, w, h, level: lf, margin: max(1, options.borderMarginPx))
        guard pts.count >= 12 else {
            throw TwinError.invalidInput("tip shape: only \(pts.count) edge points found on the needle contour (need ≥ 12); "
                                         + "the needle is too small or lies along the image border")
        }

        // 6–8. Apex circle, edge-bias correction, shank, axis; iterate.
        let capCos = cos(options.capFitHalfAngleDeg * .pi / 180)
        var circle = try initialCircle(pts, axis: d, w: w, h: h)
        var sel: [Int] = []
        var rawPx = circle.r, truePx = circle.r, kPx2 = 0.0
        var shank: (halfAngle: Double, tilt: Double, count: Int)? = nil
        for _ in 0..<8 {
            (circle, sel) = try fitCap(pts, axis: d, start: circle, cosLimit: capCos)
            rawPx = circle.r
            let rawNM = rawPx * pixelNM
            let corrNM = correctedRadiusNM(rawNM: rawNM, level: level, options: options)
            truePx = corrNM / pixelNM
            kPx2 = truePx * truePx - rawPx * rawPx
            shank = fitShank(pts, center: circle.c, axis: d, rawPx: rawPx, truePx: truePx, k: kPx2, options: options)
            guard let s = shank else { break }
            d = rotate(d, by: s.tilt)
            if abs(s.tilt) < 1e-4 { break }
        }
        if shank != nil {  // final cap fit about the converged axis
            (circle, sel) = try fitCap(pts, axis: d, start: circle, cosLimit: capCos)
            rawPx = circle.r
            truePx = correctedRadiusNM(rawNM: rawPx * pixelNM, level: level, options: options) / pixelNM
            kPx2 = truePx * truePx - rawPx * rawPx
            shank = fitShank(pts, center: circle.c, axis: d, rawPx: rawPx, truePx: truePx, k: kPx2, options: options)
        }

        // Checks on the result.
        try checkCapCoverage(pts, sel, center: circle.c, axis: d, capLimitDeg: options.capFitHalfAngleDeg)
        let apex = (x: circle.c.x + truePx * d.x, y: circle.c.y + truePx * d.y)
        let diag = Double(w + h)
        guard truePx.isFinite, truePx > 0, truePx < 2 * diag, apex.x.isFinite, apex.y.isFinite,
              apex.x > -0.5 * Double(w), apex.x < 1.5 * Double(w), apex.y > -0.5 * Double(h), apex.y < 1.5 * Double(h) else {
            throw TwinError.invalidInput("tip shape: the apex fit failed (radius \(truePx) px, apex at (\(apex.x), \(apex.y)) px)")
        }
        var ss = 0.0
        for i in sel {
            let dx = pts[i].x - circle.c.x, dy = pts[i].y - circle.c.y
            let r = (dx * dx + dy * dy).squareRoot() - rawPx
            ss += r * r
        }
        // The cap's edge points in axis coordinates, for the profile of the final fit (CapProfile).
        var uNM: [Double] = [], vNM: [Double] = []
        for i in sel {
            let px = pts[i].x - circle.c.x, py = pts[i].y - circle.c.y
            vNM.append((py * d.x - px * d.y) * pixelNM)
            uNM.append(((apex.x - pts[i].x) * d.x + (apex.y - pts[i].y) * d.y) * pixelNM)
        }
        var angle = atan2(d.y, d.x) * 180 / .pi
        if angle < 0 { angle += 360 }
        if angle >= 360 { angle -= 360 }
        let shape = TipShape(apexRadiusNM: truePx * pixelNM, apexXNM: apex.x * pixelNM, apexYNM: apex.y * pixelNM,
                             shankHalfAngleDeg: shank.map { $0.halfAngle * 180 / .pi }, axisAngleDeg: angle,
                             edgePointCount: sel.count, fitRMSNM: (ss / Double(max(1, sel.count))).squareRoot() * pixelNM,
                             rawApexRadiusNM: rawPx * pixelNM, edgeBiasNM: (truePx - rawPx) * pixelNM, edgeIntensity: level,
                             needleLevel: needleLevel, vacuumLevel: vacuumRaw, shankEdgePointCount: shank?.count ?? 0)
        return LevelFit(shape: shape, centerPx: circle.c, rawRadiusPx: rawPx, capUNM: uNM, capVNM: vNM,
                        edgeOffsetSquaredNM2: kPx2 * pixelNM * pixelNM)
    }

    // MARK: - Validation

    private static func validate(pixels: [Float], width w: Int, height h: Int, pixelNM: Double, options o: TipShapeOptions) throws {
        guard w >= 16, h >= 16, w <= 1 << 16, h <= 1 << 16 else {
            throw TwinError.invalidInput("tip shape: frame size \(w) × \(h) px is not supported (each side 16…65536 px)")
        }
        guard w * h <= 1 << 28 else {
            throw TwinError.invalidInput("tip shape: frame of \(w) × \(h) px is too large (at most 2²⁸ pixels)")
        }
        guard pixels.count == w * h else {
            throw TwinError.invalidInput("tip shape: \(pixels.count) pixels given for a \(w) × \(h) frame")
        }
        guard pixelNM.isFinite, pixelNM > 0 else { throw TwinError.invalidInput("tip shape: pixel size \(pixelNM) nm must be positive") }
        guard o.edgeLevel > 0, o.edgeLevel < 1 else {
            throw TwinError.invalidInput("tip shape: edgeLevel \(o.edgeLevel) must lie strictly between 0 (vacuum) and 1 (needle)")
        }
        if let n = o.needleLevel, !(n.isFinite && n < 1 && n > -1) {
            throw TwinError.invalidInput("tip shape: needleLevel \(n) must lie in (−1, 1) (relative to the vacuum level)")
        }
        guard o.capFitHalfAngleDeg >= 10, o.capFitHalfAngleDeg <= 85 else {
            throw TwinError.invalidInput("tip shape: capFitHalfAngleDeg \(o.capFitHalfAngleDeg) must lie in 10…85°")
        }
        guard o.shankStartRadii.isFinite, o.shankStartRadii >= 0.5 else {
            throw TwinError.invalidInput("tip shape: shankStartRadii \(o.shankStartRadii) must be ≥ 0.5")
        }
        guard o.smoothingSigmaPx >= 0, o.smoothingSigmaPx <= 10 else {
            throw TwinError.invalidInput("tip shape: smoothingSigmaPx \(o.smoothingSigmaPx) must lie in 0…10 px")
        }
        guard o.borderMarginPx >= 0, o.borderMarginPx < min(w, h) / 4 else {
            throw TwinError.invalidInput("tip shape: borderMarginPx \(o.borderMarginPx) must lie in 0…\(min(w, h) / 4 - 1)")
        }
        guard o.minimumContrast.isFinite, o.minimumContrast >= 0, o.minimumContrast < 1 else {
            throw TwinError.invalidInput("tip shape: minimumContrast \(o.minimumContrast) must lie in [0, 1)")
        }
        guard o.darkLevel.isFinite else { throw TwinError.invalidInput("tip shape: darkLevel \(o.darkLevel) must be finite") }
        guard o.minimumShankPoints >= 3 else { throw TwinError.invalidInput("tip shape: minimumShankPoints must be ≥ 3") }
        guard o.sectionCapDepthRadii >= 0.1, o.sectionCapDepthRadii <= 1 else {
            throw TwinError.invalidInput("tip shape: sectionCapDepthRadii \(o.sectionCapDepthRadii) must lie in 0.1…1")
        }
        if let x = o.contrastThicknessNM, !(x.isFinite && x > 0) {
            throw TwinError.invalidInput("tip shape: contrastThicknessNM \(x) must be positive")
        }
        for (i, v) in pixels.enumerated() where !v.isFinite {
            throw TwinError.invalidInput("tip shape: pixel (\(i % w), \(i / w)) is \(v); pixels must be finite")
        }
    }

    // MARK: - Image statistics

    /// σ of the pixel noise: 1.4826 · median|I(x+1,y) − I(x,y)| / √2 over (a sample of) all horizontal pairs.
    private static func rawNoise(_ p: [Float], _ w: Int, _ h: Int) -> Double {
        let total = (w - 1) * h
        let stride = max(1, total / 200_000)
        var diffs = [Float]()
        diffs.reserveCapacity(total / stride + 1)
        var i = 0
        while i < total {
            let y = i / (w - 1), x = i % (w - 1)
            diffs.append(abs(p[y * w + x + 1] - p[y * w + x]))
            i += stride
        }
        return 1.4826 * Double(quantile(&diffs, 0.5)) / 2.0.squareRoot()
    }

    /// Quantile of the values (sorts them in place); `q` in [0, 1].
    private static func quantile(_ v: inout [Float], _ q: Double) -> Float {
        guard !v.isEmpty else { return 0 }
        v.sort()
        let k = min(v.count - 1, max(0, Int((q * Double(v.count - 1)).rounded())))
        return v[k]
    }

    /// Vacuum level: mode of the border band by a median-shift iteration started at its 90th percentile.
    private static func vacuumLevel(_ img: [Float], _ w: Int, _ h: Int, noise: Double) -> Double {
        let b = max(1, min(4, min(w, h) / 8))
        var v = [Float]()
        v.reserveCapacity(2 * b * (w + h))
        for y in 0..<h {
            if y < b || y >= h - b {
                for x in 0..<w { v.append(img[y * w + x]) }
            } else {
                for x in 0..<b { v.append(img[y * w + x]); v.append(img[y * w + w - 1 - x]) }
            }
        }
        v.sort()
        var m = Double(v[min(v.count - 1, Int(0.9 * Double(v.count - 1)))])
        let spread = Double(v[v.count - 1] - v[0])
        let half = max(3 * noise, 0.002 * abs(m), 1e-6 * spread, Double.leastNormalMagnitude)
        for _ in 0..<200 {
            let lo = lowerBound(v, Float(m - half)), hi = upperBound(v, Float(m + half))
            guard hi > lo else { break }
            let m2 = Double(v[(lo + hi - 1) / 2])
            if m2 == m { break }
            m = m2
        }
        return m
    }

    private static func lowerBound(_ v: [Float], _ x: Float) -> Int {
        var lo = 0, hi = v.count
        while lo < hi { let mid = (lo + hi) / 2; if v[mid] < x { lo = mid + 1 } else { hi = mid } }
        return lo
    }

    private static func upperBound(_ v: [Float], _ x: Float) -> Int {
        var lo = 0, hi = v.count
        while lo < hi { let mid = (lo + hi) / 2; if v[mid] <= x { lo = mid + 1 } else { hi = mid } }
        return lo
    }

    /// The 0.2 % quantile of `bin` × `bin` block means (the needle's dark level).
    private static func darkBinLevel(_ img: [Float], _ w: Int, _ h: Int, bin: Int) -> Double {
        let bw = w / bin, bh = h / bin
        var means = [Float](repeating: 0, count: bw * bh)
        let norm = 1 / Float(bin * bin)
        for by in 0..<bh {
            for bx in 0..<bw {
                var s: Float = 0
                for y in (by * bin)..<(by * bin + bin) { for x in (bx * bin)..<(bx * bin + bin) { s += img[y * w + x] } }
                means[by * bw + bx] = s * norm
            }
        }
        return Double(quantile(&means, 0.002))
    }

    /// Separable Gaussian smoothing, kernel truncated at 3.5σ, image edges clamped (replicated).
    static func gaussianSmooth(_ src: [Float], _ w: Int, _ h: Int, sigma: Double) -> [Float] {
        let r = max(1, Int((3.5 * sigma).rounded(.up)))
        var k = (-r...r).map { Float(exp(-0.5 * Double($0 * $0) / (sigma * sigma))) }
        let s = k.reduce(0, +)
        k = k.map { $0 / s }
        var tmp = [Float](repeating: 0, count: w * h)
        var out = [Float](repeating: 0, count: w * h)
        src.withUnsafeBufferPointer { sp in
            tmp.withUnsafeMutableBufferPointer { tp in
                k.withUnsafeBufferPointer { kp in
                    for y in 0..<h {
                        let row = y * w
                        for x in 0..<w {
                            var a: Float = 0
                            if x >= r && x < w - r {
                                let base = row + x - r
                                for j in 0...(2 * r) { a += kp[j] * sp[base + j] }
                            } else {
                                for j in 0...(2 * r) { a += kp[j] * sp[row + min(max(x + j - r, 0), w - 1)] }
                            }
                            tp[row + x] = a
                        }
                    }
                }
            }
        }
        tmp.withUnsafeBufferPointer { tp in
            out.withUnsafeMutableBufferPointer { op in
                for y in 0..<h {
                    let row = y * w
                    for j in 0...(2 * r) {
                        let yy = min(max(y + j - r, 0), h - 1) * w
                        let kj = k[j]
                        for x in 0..<w { op[row + x] += kj * tp[yy + x] }
                    }
                }
            }
        }
        return out
    }

    // MARK: - Segmentation

    private struct NeedleMask {
        /// 1 inside the needle (holes filled), 0 outside.
        var mask: [UInt8]
        var pixelCount: Int
    }

    /// Largest 4-connected component below `level` that touches the image border, holes filled.
    private static func segment(_ img: [Float], _ w: Int, _ h: Int, level: Float) throws -> NeedleMask {
        let n = w * h
        var label = [Int32](repeating: 0, count: n)  // 0 = not dark, −1 = dark unlabelled, > 0 component
        var darkCount = 0
        for i in 0..<n where img[i] < level { label[i] = -1; darkCount += 1 }
        guard darkCount > 0 else {
            throw TwinError.invalidInput("tip shape: no pixel is darker than the edge level \(level) (relative to vacuum): no needle")
        }
        var stack = [Int32]()
        var sizes: [Int] = [0], touches: [Bool] = [false]
        var next: Int32 = 1
        for start in 0..<n where label[start] == -1 {
            var size = 0, touch = false
            label[start] = next
            stack.append(Int32(start))
            while let p32 = stack.popLast() {
                let p = Int(p32), x = p % w, y = p / w
                size += 1
                if x == 0 || y == 0 || x == w - 1 || y == h - 1 { touch = true }
                if x > 0, label[p - 1] == -1 { label[p - 1] = next; stack.append(Int32(p - 1)) }
                if x < w - 1, label[p + 1] == -1 { label[p + 1] = next; stack.append(Int32(p + 1)) }
                if y > 0, label[p - w] == -1 { label[p - w] = next; stack.append(Int32(p - w)) }
                if y < h - 1, label[p + w] == -1 { label[p + w] = next; stack.append(Int32(p + w)) }
            }
            sizes.append(size); touches.append(touch)
            next += 1
        }
        var best = 0, bestAny = 0
        for l in 1..<sizes.count {
            if sizes[l] > sizes[bestAny] || bestAny == 0 { bestAny = l }
            if touches[l], best == 0 || sizes[l] > sizes[best] { best = l }
        }
        let minimum = max(30, n / 20000)
        if best == 0 || sizes[best] < minimum {
            if bestAny != 0, sizes[bestAny] >= minimum {
                throw TwinError.invalidInput("tip shape: the dark object (\(sizes[bestAny]) px) touches no image border; "
                                             + "a needle must enter the frame from one border")
            }
            throw TwinError.invalidInput("tip shape: no needle: the largest dark region touching the border has "
                                         + "\(best == 0 ? 0 : sizes[best]) px (need ≥ \(minimum))")
        }
        if sizes[best] == n {
            throw TwinError.invalidInput("tip shape: the whole frame is darker than the edge level: no vacuum around the needle")
        }
        // Mask of the needle; background = everything else reachable from the border; the rest are holes.
        var mask = [UInt8](repeating: 0, count: n)
        let b = Int32(best)
        for i in 0..<n where label[i] == b { mask[i] = 1 }
        var reach = [UInt8](repeating: 0, count: n)
        stack.removeAll(keepingCapacity: true)
        func seed(_ p: Int) { if mask[p] == 0 && reach[p] == 0 { reach[p] = 1; stack.append(Int32(p)) } }
        for x in 0..<w { seed(x); seed((h - 1) * w + x) }
        for y in 0..<h { seed(y * w); seed(y * w + w - 1) }
        while let p32 = stack.popLast() {
            let p = Int(p32), x = p % w, y = p / w
            if x > 0 { seed(p - 1) }
            if x < w - 1 { seed(p + 1) }
            if y > 0 { seed(p - w) }
            if y < h - 1 { seed(p + w) }
        }
        var count = 0
        for i in 0..<n {
            if mask[i] == 0 && reach[i] == 0 { mask[i] = 1 }
            count += Int(mask[i])
        }
        return NeedleMask(mask: mask, pixelCount: count)
    }

    /// First axis estimate (unit vector, pixel coordinates), pointing away from the border the needle enters from.
    private static func initialAxis(_ mask: [UInt8], _ w: Int, _ h: Int) throws -> (x: Double, y: Double) {
        var n = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0
        var nb = 0.0, bx = 0.0, by = 0.0
        for y in 0..<h {
            for x in 0..<w where mask[y * w + x] != 0 {
                let fx = Double(x) + 0.5, fy = Double(y) + 0.5
                n += 1; sx += fx; sy += fy; sxx += fx * fx; syy += fy * fy; sxy += fx * fy
                if x == 0 || y == 0 || x == w - 1 || y == h - 1 { nb += 1; bx += fx; by += fy }
            }
        }
        guard n > 0, nb > 0 else { throw TwinError.invalidInput("tip shape: the needle touches no image border") }
        let mx = sx / n, my = sy / n
        let cxx = sxx / n - mx * mx, cyy = syy / n - my * my, cxy = sxy / n - mx * my
        var vx = mx - bx / nb, vy = my - by / nb
        let vl = (vx * vx + vy * vy).squareRoot()
        guard vl > 0.5 else {
            throw TwinError.invalidInput("tip shape: cannot tell which way the needle points (its centroid lies on the border it enters from)")
        }
        vx /= vl; vy /= vl
        // Eigen-decomposition of the 2 × 2 covariance.
        let tr = cxx + cyy, det = cxx * cyy - cxy * cxy
        let disc = max(0, tr * tr / 4 - det).squareRoot()
        let l1 = tr / 2 + disc, l2 = tr / 2 - disc
        if l2 > 0, l1 / l2 > 2 {
            var ex = cxy, ey = l1 - cxx
            if abs(ex) + abs(ey) < 1e-12 * (abs(l1) + 1e-300) { ex = l1 - cyy; ey = cxy }
            let el = (ex * ex + ey * ey).squareRoot()
            if el > 0 {
                ex /= el; ey /= el
                if ex * vx + ey * vy < 0 { ex = -ex; ey = -ey }
                return (ex, ey)
            }
        }
        return (vx, vy)
    }

    // MARK: - Edge points

    private struct EdgePoint { var x: Double; var y: Double }

    /// Sub-pixel points of the I_L contour around the mask (pixel coordinates, corner origin).
    private static func edgePoints(_ img: [Float], _ mask: [UInt8], _ w: Int, _ h: Int, level: Float, margin: Int) -> [EdgePoint] {
        var out = [EdgePoint]()
        let step = 0.25, reach = 2.5
        let nSteps = Int(2 * reach / step)
        @inline(__always) func at(_ x: Int, _ y: Int) -> Double { Double(img[y * w + x]) }
        @inline(__always) func bilinear(_ u: Double, _ v: Double) -> Double? { bilinearSample(img, w, h, u: u, v: v) }
        let m = max(margin, 1)
        guard w > 2 * m + 2, h > 2 * m + 2 else { return out }
        let lv = Double(level)
        var prof = [Double](repeating: 0, count: nSteps + 1)
        for y in m..<(h - m) {
            for x in m..<(w - m) {
                let i = y * w + x
                guard mask[i] != 0, mask[i - 1] == 0 || mask[i + 1] == 0 || mask[i - w] == 0 || mask[i + w] == 0 else { continue }
                // Sobel gradient (points from the dark needle towards the bright vacuum).
                let gx = (at(x + 1, y - 1) + 2 * at(x + 1, y) + at(x + 1, y + 1)) - (at(x - 1, y - 1) + 2 * at(x - 1, y) + at(x - 1, y + 1))
                let gy = (at(x - 1, y + 1) + 2 * at(x, y + 1) + at(x + 1, y + 1)) - (at(x - 1, y - 1) + 2 * at(x, y - 1) + at(x + 1, y - 1))
                let gl = (gx * gx + gy * gy).squareRoot()
                guard gl > 0, gl.isFinite else { continue }
                let nx = gx / gl, ny = gy / gl
                var ok = true
                for s in 0...nSteps {
                    let t = -reach + Double(s) * step
                    guard let f = bilinear(Double(x) + t * nx, Double(y) + t * ny) else { ok = false; break }
                    prof[s] = f
                }
                guard ok else { continue }
                var bestT = Double.infinity
                for s in 0..<nSteps where prof[s] < lv && prof[s + 1] >= lv {
                    let t = -reach + (Double(s) + (lv - prof[s]) / (prof[s + 1] - prof[s])) * step
                    if abs(t) < abs(bestT) { bestT = t }
                }
                guard bestT.isFinite else { continue }
                out.append(EdgePoint(x: Double(x) + 0.5 + bestT * nx, y: Double(y) + 0.5 + bestT * ny))
            }
        }
        return out
    }

    // MARK: - Circle fits

    private struct Circle { var c: (x: Double, y: Double); var r: Double }

    /// Kåsa (1976) algebraic fit: minimises Σ(x² + y² + Bx + Cy + D)² (coordinates centred for conditioning).
    private static func kasa(_ pts: [EdgePoint], _ idx: [Int]) -> Circle? {
        guard idx.count >= 3 else { return nil }
        var mx = 0.0, my = 0.0
        for i in idx { mx += pts[i].x; my += pts[i].y }
        mx /= Double(idx.count); my /= Double(idx.count)
        var a = [[Double]](repeating: [0, 0, 0], count: 3), b = [0.0, 0.0, 0.0]
        for i in idx {
            let x = pts[i].x - mx, y = pts[i].y - my, z = x * x + y * y
            let row = [x, y, 1.0]
            for p in 0..<3 {
                for q in 0..<3 { a[p][q] += row[p] * row[q] }
                b[p] -= row[p] * z
            }
        }
        guard let s = solve3(a, b) else { return nil }
        let cx = -s[0] / 2, cy = -s[1] / 2
        let r2 = cx * cx + cy * cy - s[2]
        guard r2 > 0, r2.isFinite else { return nil }
        return Circle(c: (cx + mx, cy + my), r: r2.squareRoot())
    }

    /// Geometric circle fit (Levenberg–Marquardt on the orthogonal distances), started from `start`.
    private static func geometric(_ pts: [EdgePoint], _ idx: [Int], start: Circle) -> Circle {
        var cx = start.c.x, cy = start.c.y, r = start.r
        func cost(_ cx: Double, _ cy: Double, _ r: Double) -> Double {
            var s = 0.0
            for i in idx { let dx = pts[i].x - cx, dy = pts[i].y - cy; let e = (dx * dx + dy * dy).squareRoot() - r; s += e * e }
            return s
        }
        var f = cost(cx, cy, r)
        var lambda = 1e-3
        for _ in 0..<100 {
            var jtj = [[Double]](repeating: [0, 0, 0], count: 3), jtr = [0.0, 0.0, 0.0]
            for i in idx {
                let dx = pts[i].x - cx, dy = pts[i].y - cy
                let d = max((dx * dx + dy * dy).squareRoot(), 1e-12)
                let e = d - r
                let j = [-dx / d, -dy / d, -1.0]
                for p in 0..<3 {
                    for q in 0..<3 { jtj[p][q] += j[p] * j[q] }
                    jtr[p] += j[p] * e
                }
            }
            var improved = false
            for _ in 0..<20 {
                var a = jtj
                for p in 0..<3 { a[p][p] *= 1 + lambda }
                guard let s = solve3(a, jtr.map { -$0 }) else { lambda *= 10; continue }
                let nf = cost(cx + s[0], cy + s[1], r + s[2])
                if nf.isFinite, nf <= f {
                    cx += s[0]; cy += s[1]; r += s[2]
                    let small = abs(s[0]) + abs(s[1]) + abs(s[2]) < 1e-9 * max(1, abs(r))
                    f = nf; lambda = max(lambda / 10, 1e-12); improved = !small
                    break
                }
                lambda *= 10
            }
            if !improved { break }
        }
        guard r > 0, r.isFinite, cx.isFinite, cy.isFinite else { return start }
        return Circle(c: (cx, cy), r: r)
    }

    /// 3 × 3 linear solve (``DenseLinearSolve``) with a pivot tolerance relative to the largest entry; nil if
    /// (nearly) singular or not finite.
    private static func solve3(_ m: [[Double]], _ v: [Double]) -> [Double]? {
        let flat = m.flatMap { $0 }
        let scale = max(1e-300, flat.map(abs).max() ?? 0)
        guard let x = DenseLinearSolve.solve(flat, v, n: 3, tolerance: 1e-13 * scale) else { return nil }
        return x.allSatisfy(\.isFinite) ? x : nil
    }

    /// Starting circle: Kåsa fits to the edge points within a growing axial distance U of the foremost point,
    /// until U reaches about half the fitted radius (the extent of a ±60° cap) and the radius has settled (within
    /// 10 % of the previous window's). Without the second condition, a few edge points ahead of or on a flattened
    /// pole (an evaporated cap's pole facet) can fit a circle of a few nm in the first window, which already spans
    /// "half its radius": the cap fit then starts from it and finds too few points (seen on a frame of the ramp
    /// validation, R = 26 nm: "only 6 edge points on the apex cap").
    private static func initialCircle(_ pts: [EdgePoint], axis d: (x: Double, y: Double), w: Int, h: Int) throws -> Circle {
        var front = -Double.infinity
        for p in pts { front = max(front, p.x * d.x + p.y * d.y) }
        var u = 4.0
        var result: Circle? = nil
        let limit = Double(2 * (w + h))
        for _ in 0..<40 {
            let idx = pts.indices.filter { front - (pts[$0].x * d.x + pts[$0].y * d.y) <= u }
            if idx.count >= 6, let c = kasa(pts, idx) {
                let previous = result
                result = c
                if u > limit { break }
                if u >= 0.45 * c.r, let p = previous, abs(c.r - p.r) <= 0.1 * c.r { break }
                u = min(max(1.3 * u, min(2 * u, 0.5 * c.r)), limit + 1)
            } else {
                u *= 1.5
                if u > limit { break }
            }
        }
        guard let r = result else {
            throw TwinError.invalidInput("tip shape: too few edge points near the apex to fit a circle")
        }
        return r
    }

    /// Cap fit: select the points within the cap cone around the axis, fit (Kåsa, then geometric), reselect until stable.
    private static func fitCap(_ pts: [EdgePoint], axis d: (x: Double, y: Double), start: Circle,
                               cosLimit: Double) throws -> (Circle, [Int]) {
        var circle = start
        var prev: [Int] = []
        for _ in 0..<40 {
            var idx: [Int] = []
            for i in pts.indices {
                let dx = pts[i].x - circle.c.x, dy = pts[i].y - circle.c.y
                let dist = (dx * dx + dy * dy).squareRoot()
                guard dist > 0.5 * circle.r, dist < 1.5 * circle.r else { continue }
                if (dx * d.x + dy * d.y) >= cosLimit * dist { idx.append(i) }
            }
            guard idx.count >= 8 else {
                throw TwinError.invalidInput("tip shape: only \(idx.count) edge points on the apex cap (need ≥ 8); "
                                             + "the apex is too small, blurred or outside the frame")
            }
            if idx == prev { break }
            let k = kasa(pts, idx) ?? circle
            circle = geometric(pts, idx, start: k)
            prev = idx
        }
        return (circle, prev)
    }

    /// The cap points must cover both sides of the axis (otherwise the apex is cut by the frame border).
    private static func checkCapCoverage(_ pts: [EdgePoint], _ sel: [Int], center c: (x: Double, y: Double),
                                         axis d: (x: Double, y: Double), capLimitDeg: Double) throws {
        var lo = 0.0, hi = 0.0
        for i in sel {
            let dx = pts[i].x - c.x, dy = pts[i].y - c.y
            let a = atan2(dx * -d.y + dy * d.x, dx * d.x + dy * d.y) * 180 / .pi
            lo = min(lo, a); hi = max(hi, a)
        }
        if hi < 0.5 * capLimitDeg || lo > -0.5 * capLimitDeg {
            throw TwinError.invalidInput(String(format: "tip shape: the apex cap is not fully inside the frame: edge points cover "
                + "only %.0f°…%.0f° about the axis (need ±%.0f°)", lo, hi, 0.5 * capLimitDeg))
        }
    }

    // MARK: - Shank

    /// Straight-line fits to the two side edges beyond `shankStartRadii`·R from the apex, after mapping each contour
    /// point to the silhouette (v → √(v² + k)); returns the half-angle and the axis tilt (radians, towards +normal).
    private static func fitShank(_ pts: [EdgePoint], center c: (x: Double, y: Double), axis d: (x: Double, y: Double),
                                 rawPx: Double, truePx: Double, k: Double,
                                 options: TipShapeOptions) -> (halfAngle: Double, tilt: Double, count: Int)? {
        let n = (x: -d.y, y: d.x)
        let start = options.shankStartRadii * truePx
        var left: [(s: Double, v: Double)] = [], right: [(s: Double, v: Double)] = []
        for p in pts {
            let dx = p.x - c.x, dy = p.y - c.y
            let s = dx * d.x + dy * d.y, v = dx * n.x + dy * n.y
            guard rawPx - s > start else { continue }
            let vc = (max(0, v * v + k)).squareRoot()
            if v > 0 { left.append((s, vc)) } else if v < 0 { right.append((s, -vc)) }
        }
        guard let l = fitLine(left, minCount: options.minimumShankPoints),
              let r = fitLine(right, minCount: options.minimumShankPoints) else { return nil }
        // Directions oriented towards the apex (+s): angle φ = atan2(dv, ds).
        let phiL = atan2(l.dv, l.ds), phiR = atan2(r.dv, r.ds)
        let half = (phiR - phiL) / 2, tilt = (phiL + phiR) / 2
        guard half.isFinite, tilt.isFinite, abs(tilt) < 0.5 else { return nil }
        return (half, tilt, l.count + r.count)
    }

    /// Orthogonal-regression line through (s, v) points with 4σ (MAD) outlier rejection; direction has ds > 0.
    private static func fitLine(_ p: [(s: Double, v: Double)], minCount: Int) -> (ds: Double, dv: Double, count: Int)? {
        var use = Array(p.indices)
        var dir = (ds: 1.0, dv: 0.0)
        for iter in 0..<3 {
            guard use.count >= minCount else { return nil }
            var ms = 0.0, mv = 0.0
            for i in use { ms += p[i].s; mv += p[i].v }
            ms /= Double(use.count); mv /= Double(use.count)
            var css = 0.0, cvv = 0.0, csv = 0.0
            for i in use { let a = p[i].s - ms, b = p[i].v - mv; css += a * a; cvv += b * b; csv += a * b }
            let theta = 0.5 * atan2(2 * csv, css - cvv)
            dir = (cos(theta), sin(theta))
            if dir.ds < 0 { dir = (-dir.ds, -dir.dv) }
            // Extent along the line must be meaningful.
            var lo = Double.infinity, hi = -Double.infinity
            for i in use { let t = (p[i].s - ms) * dir.ds + (p[i].v - mv) * dir.dv; lo = min(lo, t); hi = max(hi, t) }
            guard hi - lo >= 8 else { return nil }
            if iter == 2 { break }
            var res = use.map { abs(-(p[$0].s - ms) * dir.dv + (p[$0].v - mv) * dir.ds) }
            let resCopy = res
            let mad = Double(quantileD(&res, 0.5)) * 1.4826
            let cut = max(4 * mad, 1e-6)
            let kept = zip(use, resCopy).filter { $0.1 <= cut }.map(\.0)
            if kept.count == use.count { break }
            use = kept
        }
        return (dir.ds, dir.dv, use.count)
    }

    private static func quantileD(_ v: inout [Double], _ q: Double) -> Double {
        guard !v.isEmpty else { return 0 }
        v.sort()
        return v[min(v.count - 1, max(0, Int((q * Double(v.count - 1)).rounded())))]
    }

    private static func rotate(_ d: (x: Double, y: Double), by a: Double) -> (x: Double, y: Double) {
        let c = cos(a), s = sin(a)
        let x = c * d.x - s * d.y, y = s * d.x + c * d.y
        let l = (x * x + y * y).squareRoot()
        return (x / l, y / l)
    }

    // MARK: - Correction

    /// The needle radius for a contour radius, by the calibration table, the analytic model, or unchanged.
    private static func correctedRadiusNM(rawNM: Double, level: Double, options: TipShapeOptions) -> Double {
        if let cal = options.calibration {
            return cal.correctedRadius(raw: rawNM, edgeIntensity: level)
        }
        if let xk = options.contrastThicknessNM {
            return EdgeCalibration.trueRadiusNM(measuredRadiusNM: rawNM, contrastThicknessNM: xk, edgeIntensity: level)
        }
        return rawNM
    }
}

/// Bilinear value of a row-major `w` × `h` image at a point in pixel-centre coordinates (u, v) = (x − ½, y − ½) of
/// the corner-origin coordinates (x, y); nil outside [0, w − 1] × [0, h − 1]. Shared by the edge location, the
/// cross-section integrals and the continuation cone's join.
@inline(__always)
func bilinearSample(_ img: [Float], _ w: Int, _ h: Int, u: Double, v: Double) -> Double? {
    guard u >= 0, v >= 0, u <= Double(w - 1), v <= Double(h - 1) else { return nil }
    let x0 = min(Int(u), w - 2), y0 = min(Int(v), h - 2)
    let fx = u - Double(x0), fy = v - Double(y0)
    let a = Double(img[y0 * w + x0]), b = Double(img[y0 * w + x0 + 1])
    let c = Double(img[(y0 + 1) * w + x0]), d = Double(img[(y0 + 1) * w + x0 + 1])
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy
}
