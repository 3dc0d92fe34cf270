import Dispatch
import Foundation
import GSLKit
import TwinCore

// MARK: - Material optics

/// Electron-optical constants of a material for the projected-potential frame model: the exit wave of a projected
/// thickness t is exp(−t/2x_k)·exp(iσV₀t) (instrument-and-physics §3).
///
/// - `contrastThicknessNM` x_k: the thickness over which elastic scattering *outside the objective aperture*
///   (10 mrad at 200 kV) attenuates the transmitted intensity by 1/e, I = exp(−t/x_k) (Reimer & Kohl,
///   *Transmission Electron Microscopy*, 5th ed., ch. 6, scattering contrast).
/// - `meanInnerPotentialV` V₀: the volume average of the crystal potential; a slab of thickness t shifts the phase
///   by σV₀t (σ = `ElectronOptics.interactionConstantRadPerVNM`).
///
/// **Values and their quality.** Fe (x_k 45 nm, V₀ 29 V) and W (13 nm, 38 V) are those of instrument-and-physics §2;
/// both V₀ are free-atom (neutral Dirac–Fock scattering factor) values, which overestimate a crystal's measured V₀
/// by 10–25 %. The other elements are **approximations made here**, scaled from Fe and W with the two-point power
/// laws those two values imply:
/// - x_k ∝ 1/(n·Z^1.47) (n atoms per nm³; the screened-Rutherford cross-section outside a fixed aperture grows
///   ≈ Z^(3/2)): Cr 51, Ni 37, Cu 38, Ag 27, Al 175 nm;
/// - V₀ ∝ n·Z^0.54: Cr 27, Ni 32, Cu 31, Ag 28, Al 14 V (crystal measurements by holography are lower where
///   known, e.g. Al ≈ 13 V and Cu nearer 20–23 V);
/// - amorphous carbon (≈ 2 g/cm³): x_k ≈ 300 nm (the scaling gives 330 nm) and V₀ ≈ 10 V (holography on a-C films
///   gives 9–11 V). Expect ±30 % on all scaled values; override them when measured values exist.
public struct MaterialOptics: Sendable, Codable, Equatable {
    /// Contrast thickness x_k, nm: I = exp(−t/x_k) for scattering outside the objective aperture.
    public var contrastThicknessNM: Double
    /// Mean inner potential V₀, V: phase σV₀t.
    public var meanInnerPotentialV: Double

    public init(contrastThicknessNM: Double, meanInnerPotentialV: Double) {
        self.contrastThicknessNM = contrastThicknessNM
        self.meanInnerPotentialV = meanInnerPotentialV
    }

    /// bcc iron: x_k = 45 nm (10 mrad, 200 kV), V₀ = 29 V (free-atom; instrument-and-physics §2).
    public static let iron = MaterialOptics(contrastThicknessNM: 45, meanInnerPotentialV: 29)
    /// bcc tungsten: x_k = 13 nm (10 mrad, 200 kV), V₀ = 38 V (free-atom; instrument-and-physics §2).
    public static let tungsten = MaterialOptics(contrastThicknessNM: 13, meanInnerPotentialV: 38)
    /// Amorphous carbon (contamination layers), ≈ 2 g/cm³: x_k ≈ 300 nm, V₀ ≈ 10 V (approximate, see the type).
    public static let amorphousCarbon = MaterialOptics(contrastThicknessNM: 300, meanInnerPotentialV: 10)

    /// Optics of a pure element by chemical symbol (case-insensitive): Fe, Cr, W, Al, Ag, Cu, Ni, C (amorphous
    /// carbon); `nil` for anything else. All but Fe and W are approximate (see the type's documentation).
    public static func forElement(_ symbol: String) -> MaterialOptics? {
        switch symbol.trimmingCharacters(in: .whitespaces).lowercased() {
        case "fe": return .iron
        case "w": return .tungsten
        case "cr": return MaterialOptics(contrastThicknessNM: 51, meanInnerPotentialV: 27)
        case "ni": return MaterialOptics(contrastThicknessNM: 37, meanInnerPotentialV: 32)
        case "cu": return MaterialOptics(contrastThicknessNM: 38, meanInnerPotentialV: 31)
        case "ag": return MaterialOptics(contrastThicknessNM: 27, meanInnerPotentialV: 28)
        case "al": return MaterialOptics(contrastThicknessNM: 175, meanInnerPotentialV: 14)
        case "c": return .amorphousCarbon
        default: return nil
        }
    }
}

// MARK: - Camera

/// Detector MTF models, as functions of the spatial frequency in cycles per (camera) pixel, Nyquist = 0.5.
public enum DetectorMTF: Sendable, Codable, Equatable {
    /// Perfect detector: MTF ≡ 1 (the image is the Poisson electron count itself).
    case none
    /// MTF(q) = [(1 − c)/(1 + (q/q₀)²) + c] · sinc(πq_x) · sinc(πq_y), q = |q| in cycles/pixel: a Lorentzian
    /// scintillator light-spread term plus a constant "sharp" fraction c, times the square-pixel aperture. Measured
    /// MTFs of scintillator/fibre-optic CCDs are fitted with sums of such terms (Meyer & Kirkland, Microsc. Res.
    /// Tech. 49 (2000) 269); the one-term form and its parameters here are chosen, not fitted. MTF(0) = 1, so the
    /// mean dose is preserved.
    case parametric(cornerCyclesPerPixel: Double, sharpFraction: Double)

    /// Default for a Gatan US1000-class scintillator CCD at 200 kV: q₀ = 0.35 cycles/px, c = 0.1, giving
    /// MTF(Nyquist along an axis) = 0.25 (MTF ≈ 0.2–0.3 at Nyquist is typical of such cameras at 200 kV; the exact
    /// curve of the paper's camera is not known — uncertain, keep it a parameter).
    public static let us1000 = DetectorMTF.parametric(cornerCyclesPerPixel: 0.35, sharpFraction: 0.1)

    /// MTF at spatial frequency (q_x, q_y), cycles/pixel.
    public func value(qxCyclesPerPixel qx: Double, qyCyclesPerPixel qy: Double) -> Double {
        switch self {
        case .none: return 1
        case let .parametric(q0, c):
            let q2 = qx * qx + qy * qy
            return ((1 - c) / (1 + q2 / (q0 * q0)) + c) * DetectorMTF.sinc(Double.pi * qx) * DetectorMTF.sinc(Double.pi * qy)
        }
    }

    @inline(__always)
    static func sinc(_ x: Double) -> Double { abs(x) < 1e-8 ? 1 : sin(x) / x }
}

/// The CCD camera (Gatan US1000, 2048 × 2048, 16-bit; instrument-and-physics §1). The detector model is: electrons
/// per pixel N ~ Poisson(dose · pixel area · I), then the MTF blurs the electron image, then
/// ADU = gain·N + offset + read noise, rounded and clamped to 0 … 65535.
public struct CameraParameters: Sendable, Codable, Equatable {
    /// Electron dose per frame at the specimen, e⁻/Å². Default 200 e⁻/Å², an assumed ~1 s exposure at a flux of
    /// ~200 e⁻/(Å²·s), usual for bright-field imaging at this magnification (0.24 nm/px): 1152 e⁻ per vacuum pixel
    /// (5.76 Å²), a shot noise of 2.9 % per pixel. Uncertain (exposure and beam current are not given in the paper).
    public var doseElectronsPerA2: Double
    /// Conversion gain, ADU per incident electron. Default 1.0, i.e. counts in units of electrons; a real
    /// scintillator CCD gives of order one to a few tens of ADU per 200 kV electron depending on scintillator and
    /// readout settings (unknown for the paper's camera — a parameter; keep gain·dose·5.76 + offset < 65535).
    public var gainADUPerElectron: Double
    /// Gaussian read noise, ADU rms (default 3 ADU, typical of a cooled slow-scan CCD).
    public var readNoiseADU: Double
    /// Dark offset (bias) added to every pixel, ADU (default 100).
    public var offsetADU: Double
    /// Detector MTF (default `.us1000`).
    public var mtfModel: DetectorMTF

    public init(doseElectronsPerA2: Double = 200, gainADUPerElectron: Double = 1.0, readNoiseADU: Double = 3,
                offsetADU: Double = 100, mtfModel: DetectorMTF = .us1000) {
        self.doseElectronsPerA2 = doseElectronsPerA2
        self.gainADUPerElectron = gainADUPerElectron
        self.readNoiseADU = readNoiseADU
        self.offsetADU = offsetADU
        self.mtfModel = mtfModel
    }
}

// MARK: - Frames

/// A rendered bright-field frame, row-major, `width × height`.
public struct RenderedFrame: Sendable {
    public var width: Int
    public var height: Int
    /// Noiseless image I/I₀ after the objective transfer (aberrations, aperture, envelopes) and before the detector
    /// MTF and noise; 1 in vacuum far from the specimen.
    public var intensity: [Float]
    /// 16-bit CCD output, ADU.
    public var counts: [UInt16]
    /// Expected counts of a vacuum pixel, gain · dose · pixel area (Å²) + offset (the flat-field reference:
    /// I ≈ (counts − offset)/(meanVacuumCounts − offset)).
    public var meanVacuumCounts: Double
    /// Oversampling factor used for the wave (1 unless a steep `extraPhaseRad` required more; see `FrameFormation`).
    public var oversampling: Int
    /// Size of the padded wave grid (fine pixels) on which the FFTs ran.
    public var waveGridWidth: Int
    public var waveGridHeight: Int

    public init(width: Int, height: Int, intensity: [Float], counts: [UInt16], meanVacuumCounts: Double,
                oversampling: Int = 1, waveGridWidth: Int = 0, waveGridHeight: Int = 0) {
        self.width = width
        self.height = height
        self.intensity = intensity
        self.counts = counts
        self.meanVacuumCounts = meanVacuumCounts
        self.oversampling = oversampling
        self.waveGridWidth = waveGridWidth
        self.waveGridHeight = waveGridHeight
    }
}

/// Errors of `FrameFormation`.
public enum FrameFormationError: Error, CustomStringConvertible, Equatable {
    case invalidArgument(String)
    public var description: String {
        switch self { case let .invalidArgument(s): return "FrameFormation: \(s)" }
    }
}

/// Bright-field TEM frame of a needle lying perpendicular to the beam (instrument-and-physics §3, "BF-TEM frame").
///
/// **Model.**
/// 1. Exit wave (projected-potential / phase-grating approximation with an absorptive amplitude):
///    ψ = Π_m exp(−t_m/(2x_k,m)) · exp(iσV₀,m t_m) · exp(iφ_extra), with t_m the projected thickness of material m
///    and φ_extra an optional extra phase (e.g. the needle's bias field). No weak-phase approximation: the phase
///    through a 50 nm Fe needle (~10–20 rad) enters through the full exponential.
/// 2. Objective transfer: I = |F⁻¹{F[ψ] · A(k) · E_t(k) · E_s(k) · exp(−iχ(k))}|² (`ElectronOptics`). Applying the
///    partial-coherence envelopes to the *wave* is the standard quasi-coherent approximation (Frank, Optik 38
///    (1973) 519; Kirkland 2010, ch. 3): exact for the interference of each scattered beam with the strong
///    unscattered wave, it misses the non-linear cross terms between scattered beams (small where the unscattered
///    wave dominates; a thick needle's interior, where it does not, has little detail to damp at this sampling).
/// 3. Camera (`detect`): N ~ Poisson(dose·pixelÅ²·I); detector MTF applied to N in Fourier space; ADU =
///    gain·N + offset + readNoise·𝒩(0,1), rounded and clamped to 0 … 65535.
///
/// **Edges.** The FFT is periodic, so the wave is padded on every side by ⌈R/p⌉ + 16 pixels, R =
/// `ElectronOptics.delocalisationNM` over all frequencies the grid carries (R = max|∇χ|/2π, the farthest any
/// frequency is displaced by the lens; 0.4 nm in focus, 7.4 nm at Δf = 1 µm), then up to the next length with
/// prime factors ≤ 7 (2048 → 2100 in focus). The pad continues the frame: thicknesses are replicated from the
/// nearest edge pixel (a shank leaving the frame keeps going) and the extra phase is extrapolated linearly with
/// its edge gradient (a deflecting field keeps deflecting), so the only discontinuity sits at the wrap-around seam,
/// more than R from the frame.
///
/// **Oversampling.** A deflection θ = (λ/2π)|∇φ_extra| moves the specimen's whole spectrum (up to the camera's
/// Nyquist frequency 1/2p) by θ/λ; whatever then passes the grid's Nyquist frequency aliases to the opposite side,
/// where it is propagated with the wrong aberration phase (ghost fringes displaced by ~2Δf·θ) and may slip inside
/// the objective aperture that should have stopped it. The bias field of a 4–5 kV needle deflects by 5–14 mrad,
/// while λ/(2p) = 5.2 mrad at 0.24 nm. When `oversampling` is `nil` the wave is therefore computed on a grid s times
/// finer, s = the smallest of 1 … 4 with s/(2p) ≥ min(k_max, (k_max + k_c)/2), where k_max = (Δφ/2π + 0.45)/p is
/// the deflection (Δφ: steepest step of the extra phase between neighbouring camera pixels) plus 90 % of the
/// camera band and k_c = α_obj/λ the aperture cutoff: either nothing aliases, or everything that aliases lands
/// outside the aperture, where it was going anyway. Without an aperture s = ⌈Δφ/π + 0.9⌉ (1 up to 0.5 mrad,
/// 2 up to 5.7 mrad, 3 up to 11 mrad, 4 up to 16 mrad at 0.24 nm); with the 10 mrad aperture s = 2 up to 6.2 mrad,
/// 3 up to 16 mrad and 4 up to 27 mrad. The thickness maps and the extra phase are interpolated bilinearly onto the
/// fine grid; the specimen's own phase is not counted (it is band limited by its projection onto the camera grid).
/// The intensity is averaged over the s × s fine pixels of each camera pixel. Cost and memory grow as s²: a
/// 2048² frame takes ≈ 0.8 s at s = 1, ≈ 4 s at s = 2 and holds a 6300² complex wave (0.6 GB) at s = 3. Pass
/// `oversampling: 1` to trade these artefacts for speed (harmless where the extra phase is flat).
///
/// **Determinism.** Noise comes from `TwinRNG` streams fixed per row (stream `row` for the electrons,
/// 2³² + `row` for the read noise); every other step is computed per pixel or per FFT line, so the frame is
/// bit-identical for any `threads`.
public enum FrameFormation {
    /// Renders a frame: `image` then `detect`.
    ///
    /// - Parameters:
    ///   - thicknessNM: one projected-thickness map per material, nm, each row-major `width × height`.
    ///   - materials: the optics of each map's material (same count as `thicknessNM`).
    ///   - extraPhaseRad: optional extra phase, rad, row-major `width × height` (e.g. the bias-field phase).
    ///   - microscope: microscope parameters (`pixelNM` is the camera pixel at the specimen).
    ///   - camera: camera parameters.
    ///   - seed: noise seed (`TwinRNG`).
    ///   - threads: threads for FFTs and pixel loops; results do not depend on it.
    ///   - oversampling: wave oversampling factor ≥ 1, or `nil` to choose it from `extraPhaseRad` (see the type).
    /// - Throws: `FrameFormationError` for inconsistent sizes or parameters, `GSL.Failure` from the FFTs.
    public static func render(thicknessNM: [[Float]], materials: [MaterialOptics], extraPhaseRad: [Float]?,
                              width: Int, height: Int, microscope: MicroscopeParameters, camera: CameraParameters,
                              seed: UInt64, threads: Int, oversampling: Int? = nil) throws -> RenderedFrame {
        var frame = try image(thicknessNM: thicknessNM, materials: materials, extraPhaseRad: extraPhaseRad,
                              width: width, height: height, microscope: microscope, threads: threads,
                              oversampling: oversampling)
        let d = try detect(intensity: frame.intensity, width: width, height: height, pixelNM: microscope.pixelNM,
                           camera: camera, seed: seed, threads: threads)
        frame.counts = d.counts
        frame.meanVacuumCounts = d.meanVacuumCounts
        return frame
    }

    /// The noiseless part of `render`: exit wave, objective transfer, intensity. The returned frame has empty
    /// `counts` and `meanVacuumCounts` = 0.
    public static func image(thicknessNM: [[Float]], materials: [MaterialOptics], extraPhaseRad: [Float]?,
                             width w: Int, height h: Int, microscope p: MicroscopeParameters, threads: Int,
                             oversampling: Int? = nil) throws -> RenderedFrame {
        guard w >= 1, h >= 1 else { throw FrameFormationError.invalidArgument("size \(w)×\(h)") }
        guard thicknessNM.count == materials.count else {
            throw FrameFormationError.invalidArgument("\(thicknessNM.count) thickness maps for \(materials.count) materials")
        }
        for (i, t) in thicknessNM.enumerated() where t.count != w * h {
            throw FrameFormationError.invalidArgument("thickness map \(i) has \(t.count) values, expected \(w * h)")
        }
        if let e = extraPhaseRad, e.count != w * h {
            throw FrameFormationError.invalidArgument("extra phase has \(e.count) values, expected \(w * h)")
        }
        for m in materials where !(m.contrastThicknessNM > 0) {
            throw FrameFormationError.invalidArgument("contrast thickness must be > 0 (got \(m.contrastThicknessNM))")
        }
        guard p.pixelNM > 0, p.acceleratingVoltageKV > 0 else {
            throw FrameFormationError.invalidArgument("pixel size and voltage must be > 0")
        }
        let nThreads = max(1, threads)

        // Coarse (camera-pixel) log-amplitude and total phase.
        let sigma = ElectronOptics.interactionConstantRadPerVNM(kv: p.acceleratingVoltageKV)
        var logAmp = [Float](repeating: 0, count: w * h)
        var phase = extraPhaseRad ?? [Float](repeating: 0, count: w * h)
        for (m, t) in zip(materials, thicknessNM) {
            let a = Float(-0.5 / m.contrastThicknessNM), b = Float(sigma * m.meanInnerPotentialV)
            for i in 0..<(w * h) {
                let ti = max(0, t[i])
                logAmp[i] += a * ti
                phase[i] += b * ti
            }
        }

        // Oversampling from the steepest step of the extra phase.
        var maxStep: Float = 0
        if let e = extraPhaseRad {
            for y in 0..<h {
                for x in 0..<w {
                    let v = e[y * w + x]
                    if x + 1 < w { maxStep = max(maxStep, abs(e[y * w + x + 1] - v)) }
                    if y + 1 < h { maxStep = max(maxStep, abs(e[(y + 1) * w + x] - v)) }
                }
            }
        }
        let os: Int
        if let o = oversampling {
            guard o >= 1, o <= 16 else { throw FrameFormationError.invalidArgument("oversampling \(o) not in 1 ... 16") }
            os = o
        } else {
            // Highest frequency of the wave: deflection plus 90 % of the camera band, cycles/nm. The fine Nyquist
            // frequency s/2p must exceed it, or at least fold everything above it outside the aperture.
            let kMax = (Double(maxStep) / (2 * Double.pi) + 0.45) / p.pixelNM
            let kAperture = p.objectiveApertureSemiAngleMrad > 0
                ? p.objectiveApertureSemiAngleMrad * 1e-3 / ElectronOptics.wavelengthNM(kv: p.acceleratingVoltageKV) : .infinity
            let need = 2 * p.pixelNM * min(kMax, 0.5 * (kMax + kAperture))
            os = min(4, max(1, Int((need - 1e-9).rounded(.up))))
        }

        // Padded fine grid.
        let fw = w * os, fh = h * os, pf = p.pixelNM / Double(os)
        let kCorner = 0.5 * 2.0.squareRoot() / pf
        let rNM = ElectronOptics.delocalisationNM(maxKPerNM: kCorner, p)
        let pad = Int((rNM / pf).rounded(.up)) + 16
        let nx = fastLength(atLeast: fw + 2 * pad), ny = fastLength(atLeast: fh + 2 * pad)
        let padX = (nx - fw) / 2, padY = (ny - fh) / 2

        // Edge gradients of the extra phase for the linear extrapolation into the pad.
        var gLeft = [Float](repeating: 0, count: h), gRight = gLeft
        var gTop = [Float](repeating: 0, count: w), gBottom = gTop
        if let e = extraPhaseRad {
            if w > 1 { for y in 0..<h { gLeft[y] = e[y * w + 1] - e[y * w]; gRight[y] = e[y * w + w - 1] - e[y * w + w - 2] } }
            if h > 1 { for x in 0..<w { gTop[x] = e[w + x] - e[x]; gBottom[x] = e[(h - 1) * w + x] - e[(h - 2) * w + x] } }
        }

        let fft = try FFT3D(nx: 1, ny: ny, nz: nx, threads: nThreads)   // one plane: rows y, columns x fastest
        var waveArray = [Double](repeating: 0, count: 2 * nx * ny)

        // 1. Exit wave on the padded fine grid.
        let source = WaveSource(logAmp: logAmp, phase: phase, gLeft: gLeft, gRight: gRight, gTop: gTop,
                                gBottom: gBottom, w: w, h: h, os: os, padX: padX, padY: padY, nx: nx)
        waveArray.withUnsafeMutableBufferPointer { wb in
            let wp = SendablePointer(wb.baseAddress!)
            parallelRanges(ny, threads: nThreads) { range in
                for y in range { source.fillRow(y, into: wp.p) }
            }
        }

        // 2. Objective transfer (FFT3D's inverse includes the 1/N).
        try fft.forward(&waveArray)
        waveArray.withUnsafeMutableBufferPointer { wb in
            applyTransfer(wb.baseAddress!, nx: nx, ny: ny, pixelNM: pf, p, threads: nThreads)
        }
        try fft.inverse(&waveArray)

        // 3. Intensity, averaged over the os × os fine pixels of each camera pixel.
        var intensity = [Float](repeating: 0, count: w * h)
        waveArray.withUnsafeBufferPointer { wb in
            intensity.withUnsafeMutableBufferPointer { ib in
                let wp = SendableConstPointer(wb.baseAddress!), out = SendablePointer(ib.baseAddress!)
                let inv = 1.0 / Double(os * os)
                parallelRanges(h, threads: nThreads) { range in
                    for y in range {
                        for x in 0..<w {
                            var s = 0.0
                            for b in 0..<os {
                                let row = (padY + y * os + b) * nx + padX + x * os
                                for a in 0..<os {
                                    let q = wp.p + 2 * (row + a)
                                    s += q[0] * q[0] + q[1] * q[1]
                                }
                            }
                            out.p[y * w + x] = Float(s * inv)
                        }
                    }
                }
            }
        }
        return RenderedFrame(width: w, height: h, intensity: intensity, counts: [], meanVacuumCounts: 0,
                             oversampling: os, waveGridWidth: nx, waveGridHeight: ny)
    }

    /// The camera part of `render`: Poisson electrons, detector MTF, gain, offset, read noise, 16-bit clamp.
    ///
    /// - Parameters:
    ///   - intensity: I/I₀ per pixel, row-major `width × height` (negative values count as 0).
    ///   - pixelNM: pixel size at the specimen, nm (pixel area in Å² = (10·pixelNM)²).
    /// - Returns: the counts and the expected vacuum counts gain·dose·area + offset.
    ///
    /// The electron count of a pixel with mean μ is exact Poisson for μ < 1000 (inversion for μ < 10, Hörmann's
    /// PTRS transformed rejection above, W. Hörmann, Insurance Math. Econom. 12 (1993) 39) and the rounded normal
    /// 𝒩(μ, μ) for μ ≥ 1000 (relative error of the Poisson skewness term < 1/(6√1000) ≈ 0.5 %). The MTF acts on
    /// the counts with edge-replicated padding of 16 pixels (its kernel is ~1 px wide).
    public static func detect(intensity: [Float], width w: Int, height h: Int, pixelNM: Double,
                              camera c: CameraParameters, seed: UInt64, threads: Int) throws
        -> (counts: [UInt16], meanVacuumCounts: Double) {
        guard w >= 1, h >= 1, intensity.count == w * h else {
            throw FrameFormationError.invalidArgument("intensity has \(intensity.count) values for \(w)×\(h)")
        }
        guard c.doseElectronsPerA2 >= 0, pixelNM > 0 else {
            throw FrameFormationError.invalidArgument("dose must be ≥ 0 and pixel > 0")
        }
        let nThreads = max(1, threads)
        let electronsPerPixel = c.doseElectronsPerA2 * (10 * pixelNM) * (10 * pixelNM)
        var electrons = [Double](repeating: 0, count: w * h)
        intensity.withUnsafeBufferPointer { ib in
            electrons.withUnsafeMutableBufferPointer { eb in
                let inp = SendableConstPointer(ib.baseAddress!), out = SendablePointer(eb.baseAddress!)
                parallelRanges(h, threads: nThreads) { range in
                    for y in range {
                        var rng = TwinRNG(seed: seed, stream: UInt64(y))
                        for x in 0..<w {
                            let mu = electronsPerPixel * Double(max(0, inp.p[y * w + x]))
                            out.p[y * w + x] = Double(Sampling.poisson(mean: mu, &rng))
                        }
                    }
                }
            }
        }
        if c.mtfModel != .none {
            electrons = try applyMTF(electrons, width: w, height: h, mtf: c.mtfModel, threads: nThreads)
        }
        var counts = [UInt16](repeating: 0, count: w * h)
        electrons.withUnsafeBufferPointer { eb in
            counts.withUnsafeMutableBufferPointer { cb in
                let inp = SendableConstPointer(eb.baseAddress!), out = SendablePointer(cb.baseAddress!)
                let gain = c.gainADUPerElectron, offset = c.offsetADU, rn = c.readNoiseADU
                parallelRanges(h, threads: nThreads) { range in
                    for y in range {
                        var rng = TwinRNG(seed: seed, stream: 0x1_0000_0000 &+ UInt64(y))
                        var x = 0
                        while x < w {
                            var n0 = 0.0, n1 = 0.0
                            if rn > 0 { (n0, n1) = Sampling.normalPair(&rng) }
                            let i = y * w + x
                            out.p[i] = adu(gain * inp.p[i] + offset + rn * n0)
                            if x + 1 < w { out.p[i + 1] = adu(gain * inp.p[i + 1] + offset + rn * n1) }
                            x += 2
                        }
                    }
                }
            }
        }
        return (counts, c.gainADUPerElectron * electronsPerPixel + c.offsetADU)
    }

    // MARK: Implementation

    /// Rounds to the nearest ADU and clamps to the 16-bit range.
    @inline(__always)
    static func adu(_ v: Double) -> UInt16 { UInt16(min(65535, max(0, v.rounded()))) }

    /// Multiplies the spectrum by H(k) = A·E_t·E_s·exp(−iχ) (`ElectronOptics.transferFunction`). H depends on |k|
    /// only, so each row computes it for the non-negative half of its frequencies and uses it for ±k_x.
    static func applyTransfer(_ wave: UnsafeMutablePointer<Double>, nx: Int, ny: Int, pixelNM: Double,
                              _ p: MicroscopeParameters, threads: Int) {
        let lam = ElectronOptics.wavelengthNM(kv: p.acceleratingVoltageKV)
        let cs = p.csMM * 1e6, df = p.defocusNM
        let delta = ElectronOptics.focalSpreadNM(p)
        let alpha = p.convergenceSemiAngleMrad * 1e-3
        let kc2: Double = p.objectiveApertureSemiAngleMrad > 0
            ? pow(p.objectiveApertureSemiAngleMrad * 1e-3 / lam, 2) : .infinity
        let ct = 0.5 * pow(Double.pi * lam * delta, 2)       // E_t = exp(−ct·k⁴)
        let cse = pow(Double.pi * alpha / lam, 2) * lam * lam // E_s = exp(−cse·k²(Csλ²k² − Δf)²)
        let kx2 = (0..<nx).map { m -> Double in let f = Double(m <= nx / 2 ? m : m - nx) / (Double(nx) * pixelNM); return f * f }
        let ky2 = (0..<ny).map { m -> Double in let f = Double(m <= ny / 2 ? m : m - ny) / (Double(ny) * pixelNM); return f * f }
        let wp = SendablePointer(wave)
        kx2.withUnsafeBufferPointer { kxb in
            ky2.withUnsafeBufferPointer { kyb in
                let kxp = SendableConstPointer(kxb.baseAddress!), kyp = SendableConstPointer(kyb.baseAddress!)
                parallelRanges(ny, threads: threads) { range in
                    let half = nx / 2 + 1
                    let hr = UnsafeMutablePointer<Double>.allocate(capacity: half)
                    let hi = UnsafeMutablePointer<Double>.allocate(capacity: half)
                    defer { hr.deallocate(); hi.deallocate() }
                    for y in range {
                        let ky = kyp.p[y]
                        for m in 0..<half {
                            let k2 = kxp.p[m] + ky
                            if k2 > kc2 { hr[m] = 0; hi[m] = 0; continue }
                            let chi = Double.pi * lam * k2 * (0.5 * cs * lam * lam * k2 - df)
                            let g = cs * lam * lam * k2 - df
                            let damp = exp(-ct * k2 * k2 - cse * k2 * g * g)
                            hr[m] = damp * cos(chi); hi[m] = -damp * sin(chi)
                        }
                        let row = wp.p + 2 * y * nx
                        for m in 0..<nx {
                            let j = m < half ? m : nx - m
                            let re = row[2 * m], im = row[2 * m + 1]
                            row[2 * m] = re * hr[j] - im * hi[j]
                            row[2 * m + 1] = re * hi[j] + im * hr[j]
                        }
                    }
                }
            }
        }
    }

    /// Convolves a real image with the detector MTF. The image is cut into a top and a bottom half, each padded by
    /// 16 rows/columns (continuing into the other half, edge-replicated at the image border), and the two halves
    /// are transformed together as the real and imaginary parts of one complex image: the MTF is real and even, so
    /// F⁻¹[M·F[a + ib]] = (M∗a) + i(M∗b) (the two-for-one trick, Numerical Recipes §12.3).
    static func applyMTF(_ img: [Double], width w: Int, height h: Int, mtf: DetectorMTF, threads: Int) throws -> [Double] {
        let pad = 16
        let hA = (h + 1) / 2, hB = h - hA
        let pw = fastLength(atLeast: w + 2 * pad), ph = fastLength(atLeast: hA + 2 * pad)
        let fft = try FFT3D(nx: 1, ny: ph, nz: pw, threads: threads)
        var bufArray = [Double](repeating: 0, count: 2 * pw * ph)
        var out = [Double](repeating: 0, count: w * h)
        img.withUnsafeBufferPointer { ib in bufArray.withUnsafeMutableBufferPointer { bb in
            let src = SendableConstPointer(ib.baseAddress!), bp = SendablePointer(bb.baseAddress!)
            parallelRanges(ph, threads: threads) { range in
                for r in range {
                    let ya = min(h - 1, max(0, r - pad)), yb = min(h - 1, max(0, hA + r - pad))
                    for cidx in 0..<pw {
                        let x = min(w - 1, max(0, cidx - pad))
                        bp.p[2 * (r * pw + cidx)] = src.p[ya * w + x]
                        bp.p[2 * (r * pw + cidx) + 1] = hB > 0 ? src.p[yb * w + x] : 0
                    }
                }
            }
        }}
        try fft.forward(&bufArray)
        bufArray.withUnsafeMutableBufferPointer { bb in
            let bp = SendablePointer(bb.baseAddress!)
            // MTF(q) = radial(|q|)·sinc(πq_x)·sinc(πq_y) (`DetectorMTF.parametric`): tabulate the per-axis factors.
            guard case let .parametric(q0, c) = mtf else { return }
            let qx = (0..<pw).map { Double($0 <= pw / 2 ? $0 : $0 - pw) / Double(pw) }
            let qy = (0..<ph).map { Double($0 <= ph / 2 ? $0 : $0 - ph) / Double(ph) }
            let tables = MTFTables(qx2: qx.map { $0 * $0 }, qy2: qy.map { $0 * $0 },
                                   pixelX: qx.map { DetectorMTF.sinc(Double.pi * $0) },
                                   pixelY: qy.map { DetectorMTF.sinc(Double.pi * $0) }, invQ02: 1 / (q0 * q0), c: c)
            parallelRanges(ph, threads: threads) { range in
                for r in range {
                    let qy2 = tables.qy2[r], py = tables.pixelY[r]
                    for cidx in 0..<pw {
                        let m = ((1 - tables.c) / (1 + (tables.qx2[cidx] + qy2) * tables.invQ02) + tables.c)
                            * tables.pixelX[cidx] * py
                        bp.p[2 * (r * pw + cidx)] *= m
                        bp.p[2 * (r * pw + cidx) + 1] *= m
                    }
                }
            }
        }
        try fft.inverse(&bufArray)
        bufArray.withUnsafeBufferPointer { bb in
            let bp = SendableConstPointer(bb.baseAddress!)
            out.withUnsafeMutableBufferPointer { ob in
                let o = SendablePointer(ob.baseAddress!)
                parallelRanges(h, threads: threads) { range in
                    for y in range {
                        let (r, part) = y < hA ? (y + pad, 0) : (y - hA + pad, 1)
                        for x in 0..<w { o.p[y * w + x] = bp.p[2 * (r * pw + x + pad) + part] }
                    }
                }
            }
        }
        return out
    }

    /// The smallest length ≥ `n` whose prime factors are all 2, 3, 5 or 7 (fast for GSL's mixed-radix FFT).
    static func fastLength(atLeast n: Int) -> Int {
        var m = max(1, n)
        while true {
            var r = m
            for p in [2, 3, 5, 7] { while r % p == 0 { r /= p } }
            if r == 1 { return m }
            m += 1
        }
    }

    /// Runs `body` over `0..<n` split into `threads` fixed contiguous ranges (one call per range).
    static func parallelRanges(_ n: Int, threads: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let t = min(max(1, threads), max(1, n))
        if t == 1 { body(0..<n); return }
        DispatchQueue.concurrentPerform(iterations: t) { i in body((n * i / t)..<(n * (i + 1) / t)) }
    }
}

// MARK: - Helpers

/// Per-axis factors of the parametric MTF (see `FrameFormation.applyMTF`).
struct MTFTables: Sendable {
    let qx2: [Double], qy2: [Double], pixelX: [Double], pixelY: [Double]
    let invQ02: Double, c: Double
}

/// A pointer handed to worker threads that each touch disjoint elements.
struct SendablePointer<T>: @unchecked Sendable {
    let p: UnsafeMutablePointer<T>
    init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}

/// A read-only pointer handed to worker threads.
struct SendableConstPointer<T>: @unchecked Sendable {
    let p: UnsafePointer<T>
    init(_ p: UnsafePointer<T>) { self.p = p }
}

/// Fills rows of the padded exit wave from the coarse (camera-pixel) log-amplitude and phase maps.
struct WaveSource: Sendable {
    let logAmp: [Float], phase: [Float]
    /// x-gradient of the extra phase at the left/right columns (per row), y-gradient at the top/bottom rows
    /// (per column), rad per camera pixel.
    let gLeft: [Float], gRight: [Float], gTop: [Float], gBottom: [Float]
    let w: Int, h: Int, os: Int, padX: Int, padY: Int, nx: Int

    /// Coarse coordinate of fine index j (pixel centres): u = (j + ½)/os − ½.
    @inline(__always)
    func coarse(_ j: Int) -> Double { (Double(j) + 0.5) / Double(os) - 0.5 }

    /// Fills padded row `yPadded` (nx complex values): replicated thickness terms, linearly extrapolated extra phase.
    func fillRow(_ yPadded: Int, into wave: UnsafeMutablePointer<Double>) {
        let row = wave + 2 * yPadded * nx
        let v = coarse(yPadded - padY)
        let vc = min(Double(h - 1), max(0, v))
        let y0 = min(h - 1, Int(vc)), y1 = min(h - 1, y0 + 1), fy = vc - Double(y0)
        let yn = min(h - 1, max(0, Int(v.rounded())))   // nearest row, for edge gradients
        let dyOut = v - vc                              // rows outside the frame, 0 inside
        logAmp.withUnsafeBufferPointer { la in
            phase.withUnsafeBufferPointer { ph in
                for xPadded in 0..<nx {
                    let u = coarse(xPadded - padX)
                    let uc = min(Double(w - 1), max(0, u))
                    let x0 = min(w - 1, Int(uc)), x1 = min(w - 1, x0 + 1), fx = uc - Double(x0)
                    let a: Double, phi0: Double
                    if os == 1 {
                        a = Double(la[y0 * w + x0]); phi0 = Double(ph[y0 * w + x0])
                    } else {
                        a = bilinear(la, x0, x1, y0, y1, fx, fy)
                        phi0 = bilinear(ph, x0, x1, y0, y1, fx, fy)
                    }
                    var extra = 0.0
                    let dxOut = u - uc
                    if dxOut != 0 { extra += dxOut * Double(dxOut < 0 ? gLeft[yn] : gRight[yn]) }
                    if dyOut != 0 {
                        let xn = min(w - 1, max(0, Int(u.rounded())))
                        extra += dyOut * Double(dyOut < 0 ? gTop[xn] : gBottom[xn])
                    }
                    let amp = exp(a), phi = phi0 + extra
                    row[2 * xPadded] = amp * cos(phi)
                    row[2 * xPadded + 1] = amp * sin(phi)
                }
            }
        }
    }

    @inline(__always)
    func bilinear(_ f: UnsafeBufferPointer<Float>, _ x0: Int, _ x1: Int, _ y0: Int, _ y1: Int,
                  _ fx: Double, _ fy: Double) -> Double {
        let a = Double(f[y0 * w + x0]), b = Double(f[y0 * w + x1]), c = Double(f[y1 * w + x0]), d = Double(f[y1 * w + x1])
        return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy
    }
}

/// Random deviates for the camera model, drawn from `TwinRNG`.
enum Sampling {
    /// Poisson deviate with mean `mu`: inversion (μ < 10), PTRS transformed rejection (10 ≤ μ < 1000; Hörmann,
    /// Insurance Math. Econom. 12 (1993) 39, as in NumPy's `random_poisson_ptrs`), rounded normal (μ ≥ 1000).
    @inline(__always)
    static func poisson(mean mu: Double, _ rng: inout TwinRNG) -> Int {
        if !(mu > 0) { return 0 }
        if mu < 10 {
            let u = rng.uniform()
            var p = exp(-mu), f = p, k = 0
            while u > f && k < 200 {
                k += 1
                p *= mu / Double(k)
                f += p
            }
            return k
        }
        if mu >= 1000 {
            let z = normalPair(&rng).0
            return max(0, Int((mu + mu.squareRoot() * z).rounded()))
        }
        let slam = mu.squareRoot(), loglam = log(mu)
        let b = 0.931 + 2.53 * slam
        let a = -0.059 + 0.02483 * b
        let invalpha = 1.1239 + 1.1328 / (b - 3.4)
        let vr = 0.9277 - 3.6224 / (b - 2)
        while true {
            let u = rng.uniform() - 0.5
            let v = rng.uniform()
            let us = 0.5 - abs(u)
            let k = floor((2 * a / us + b) * u + mu + 0.43)
            if us >= 0.07 && v <= vr { return Int(k) }
            if k < 0 || (us < 0.013 && v > us) { continue }
            if log(v) + log(invalpha) - log(a / (us * us) + b) <= -mu + k * loglam - logFactorial(k) {
                return Int(k)
            }
        }
    }

    /// ln k! : exact table below 10, Stirling series (error < 1e-10) above.
    @inline(__always)
    static func logFactorial(_ k: Double) -> Double {
        if k < 10 {
            let t: [Double] = [0, 0, 0.693_147_180_559_945_3, 1.791_759_469_228_055, 3.178_053_830_347_945_6,
                               4.787_491_742_782_046, 6.579_251_212_010_101, 8.525_161_361_065_415,
                               10.604_602_902_745_25, 12.801_827_480_081_469]
            return t[Int(k)]
        }
        let n = k, n2 = n * n
        return n * log(n) - n + 0.5 * log(2 * Double.pi * n) + 1 / (12 * n) - 1 / (360 * n * n2) + 1 / (1260 * n2 * n2 * n)
    }

    /// Two independent standard normal deviates (Box–Muller, both branches).
    @inline(__always)
    static func normalPair(_ rng: inout TwinRNG) -> (Double, Double) {
        let u1 = 1.0 - rng.uniform(), u2 = rng.uniform()
        let r = (-2.0 * log(u1)).squareRoot(), t = 2.0 * Double.pi * u2
        return (r * cos(t), r * sin(t))
    }
}
