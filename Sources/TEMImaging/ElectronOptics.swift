import Foundation

// MARK: - Microscope parameters

/// Objective-lens and illumination parameters of the TEM, with JEOL F200 defaults (instrument-and-physics §1–2).
///
/// **Defocus convention: positive `defocusNM` = underfocus** (weakened lens), as in Kirkland, *Advanced Computing
/// in Electron Microscopy*, 2nd ed. (Springer 2010), ch. 3 (aberration function): χ(k) = πλk²(½Csλ²k² − Δf).
/// With this sign the Scherzer defocus is Δf = +√(1.5 Cs λ) (= 61.3 nm for Cs = 1 mm at 200 kV). The formula
/// χ = πλΔf k² + ½πCsλ³k⁴ quoted in instrument-and-physics §3 uses the opposite (overfocus-positive) sign.
public struct MicroscopeParameters: Sendable, Codable, Equatable {
    /// Accelerating voltage, kV (F200: 200 kV).
    public var acceleratingVoltageKV: Double
    /// Spherical-aberration coefficient Cs, mm. 1.0 mm is derived from the F200's 0.23 nm point resolution
    /// (instrument-and-physics §2; uncertain).
    public var csMM: Double
    /// Chromatic-aberration coefficient Cc, mm (1.1–1.4 mm for this class of pole piece; uncertain).
    public var ccMM: Double
    /// Defocus Δf, nm; **positive = underfocus** (Kirkland's convention, see the type's documentation).
    public var defocusNM: Double
    /// Objective-aperture semi-angle, mrad; 0 = no aperture. 10 mrad is the aperture for which the contrast
    /// thicknesses x_k of `MaterialOptics` are quoted. Note that at 0.24 nm pixels the sampled spatial frequencies end
    /// at √2/(2·0.24 nm) = 2.95 nm⁻¹ (7.4 mrad at 200 kV), inside a 10 mrad aperture: scattering outside the aperture
    /// is then carried by x_k, not by the grid, and the aperture only acts on an oversampled wave (strong deflections
    /// by an extra phase; see `FrameFormation`).
    public var objectiveApertureSemiAngleMrad: Double
    /// Energy spread of the source, eV, full width at half maximum (Schottky FEG ≈ 0.8 eV).
    public var energySpreadEV: Double
    /// Illumination convergence semi-angle α, mrad (parallel TEM illumination ≈ 0.05 mrad); the 1/e half-width of a
    /// Gaussian source in the spatial envelope.
    public var convergenceSemiAngleMrad: Double
    /// Pixel size at the specimen, nm (0.24 nm in the source paper).
    public var pixelNM: Double

    /// F200 defaults: 200 kV, Cs 1.0 mm, Cc 1.2 mm, Δf 0, 10 mrad aperture, ΔE 0.8 eV FWHM, α 0.05 mrad, 0.24 nm/px.
    public init(acceleratingVoltageKV: Double = 200, csMM: Double = 1.0, ccMM: Double = 1.2, defocusNM: Double = 0,
                objectiveApertureSemiAngleMrad: Double = 10, energySpreadEV: Double = 0.8,
                convergenceSemiAngleMrad: Double = 0.05, pixelNM: Double = 0.24) {
        self.acceleratingVoltageKV = acceleratingVoltageKV
        self.csMM = csMM
        self.ccMM = ccMM
        self.defocusNM = defocusNM
        self.objectiveApertureSemiAngleMrad = objectiveApertureSemiAngleMrad
        self.energySpreadEV = energySpreadEV
        self.convergenceSemiAngleMrad = convergenceSemiAngleMrad
        self.pixelNM = pixelNM
    }

    /// The JEOL F200 defaults (same as `init()`).
    public static let jeolF200 = MicroscopeParameters()
}

// MARK: - Electron optics

/// Wave-optical transfer of the objective lens (Kirkland, *Advanced Computing in Electron Microscopy*, 2nd ed.,
/// ch. 2–3; Reimer & Kohl, *Transmission Electron Microscopy*, 5th ed., ch. 2–3, 6).
///
/// Spatial frequencies `kPerNM` are in cycles per nm (k = θ/λ), not angular wavenumbers.
///
/// **Conventions** (all consistent with each other):
/// - aberration phase χ(k) = πλk²(½Csλ²k² − Δf), positive Δf = underfocus;
/// - the lens multiplies the exit-wave spectrum by H(k) = A(k)·E_t(k)·E_s(k)·exp(−iχ(k));
/// - hence for a weak phase object ψ = 1 + iφ the image is I ≈ 1 + 2 F⁻¹[Φ(k)·sin χ(k)]: the phase-contrast
///   transfer function is **CTF = sin χ** (negative across the Scherzer passband: positive phase, i.e. atoms or
///   thicker material, images dark);
/// - temporal envelope E_t = exp(−½(πλΔ)²k⁴), Δ the rms focal spread;
/// - spatial envelope E_s = exp(−(πα/λ)²(Csλ³k³ − Δfλk)²) = exp(−(α/2λ)²(dχ/dk)²),
///   since dχ/dk = 2π(Csλ³k³ − Δfλk).
public enum ElectronOptics {
    // CODATA 2018 exact / recommended constants.
    /// Planck constant, J·s.
    static let planckJS = 6.626_070_15e-34
    /// Elementary charge, C.
    static let elementaryChargeC = 1.602_176_634e-19
    /// Electron rest mass, kg.
    static let electronMassKG = 9.109_383_7015e-31
    /// Speed of light, m/s.
    static let speedOfLightMPS = 299_792_458.0
    /// Electron rest energy m₀c², eV (510 998.95 eV).
    public static let electronRestEnergyEV = electronMassKG * speedOfLightMPS * speedOfLightMPS / elementaryChargeC

    /// Relativistic electron wavelength, nm: λ = h / √(2m₀eV(1 + eV/2m₀c²))
    /// (Kirkland 2010, ch. 2; Reimer & Kohl, *Transmission Electron Microscopy*, ch. 2). 200 kV → 2.5079 pm = 2.5079e-3 nm.
    public static func wavelengthNM(kv: Double) -> Double {
        let v = kv * 1e3
        let p2 = 2 * electronMassKG * elementaryChargeC * v * (1 + v / (2 * electronRestEnergyEV))
        return planckJS / p2.squareRoot() * 1e9
    }

    /// Interaction constant σ, rad/(V·nm): σ = 2πmeλ/h² with the relativistic mass m = γm₀, equivalently
    /// σ = (2π/λV)·(m₀c² + eV)/(2m₀c² + eV) (Kirkland 2010, ch. 5, the interaction parameter). 200 kV → 7.29e-3 rad/(V·nm).
    /// The phase of a slab of thickness t and mean inner potential V₀ is σV₀t.
    public static func interactionConstantRadPerVNM(kv: Double) -> Double {
        let v = kv * 1e3, e0 = electronRestEnergyEV
        return 2 * Double.pi / (wavelengthNM(kv: kv) * v) * (e0 + v) / (2 * e0 + v)
    }

    /// Aberration phase χ(k), rad: χ = πλk²(½Csλ²k² − Δf) = ½πCsλ³k⁴ − πλΔf k², Δf positive for underfocus
    /// (Kirkland 2010, ch. 3; third-order spherical aberration and defocus only; no astigmatism).
    ///
    /// - Parameters:
    ///   - kPerNM: spatial frequency |k|, cycles/nm.
    ///   - p: microscope parameters (uses voltage, Cs, Δf).
    @inlinable
    public static func chiRad(kPerNM k: Double, _ p: MicroscopeParameters) -> Double {
        let lam = wavelengthNM(kv: p.acceleratingVoltageKV)
        let cs = p.csMM * 1e6
        let k2 = k * k
        return Double.pi * lam * k2 * (0.5 * cs * lam * lam * k2 - p.defocusNM)
    }

    /// Scherzer defocus, nm: Δf = +√(1.5 Cs λ) (underfocus; Scherzer, J. Appl. Phys. 20 (1949) 20; Kirkland 2010,
    /// ch. 3). Cs = 1 mm at 200 kV → 61.3 nm. Returns 0 when Cs ≤ 0.
    public static func scherzerDefocusNM(_ p: MicroscopeParameters) -> Double {
        let cs = p.csMM * 1e6
        guard cs > 0 else { return 0 }
        return (1.5 * cs * wavelengthNM(kv: p.acceleratingVoltageKV)).squareRoot()
    }

    /// Point resolution, nm: 1/k₀ where k₀ is the first zero (k > 0) of sin χ at Scherzer defocus (the end of the
    /// first, uninterrupted passband), whatever `p.defocusNM` says.
    ///
    /// At Δf = √(1.5Csλ) the minimum of χ is −¾π, so sin χ first vanishes where χ returns to 0:
    /// ½Csλ²k₀² = Δf, i.e. k₀⁴ = 6/(Csλ³) and d = (Csλ³/6)^¼ = 0.639·Cs^¼λ^¾ (exact for this Δf). Textbooks often
    /// quote the rounded d ≈ 0.66·Cs^¼λ^¾ (Kirkland 2010, ch. 3; Williams & Carter, *Transmission Electron
    /// Microscopy*), which is 3 % larger. Cs = 1 mm at 200 kV: 0.2264 nm (0.66 form: 0.234 nm), consistent with the
    /// F200's quoted 0.23 nm. Returns 0 when Cs ≤ 0.
    public static func pointResolutionNM(_ p: MicroscopeParameters) -> Double {
        let cs = p.csMM * 1e6
        guard cs > 0 else { return 0 }
        let lam = wavelengthNM(kv: p.acceleratingVoltageKV)
        return pow(cs * lam * lam * lam / 6, 0.25)
    }

    /// Root-mean-square focal spread Δ, nm, from the source's energy spread alone:
    /// Δ = Cc · (ΔE_rms / E) · (1 + E/E₀)/(1 + E/2E₀), with E = eV the beam energy, E₀ = m₀c², and
    /// ΔE_rms = ΔE_FWHM / (2√(2 ln 2)) for a Gaussian energy distribution (Reimer & Kohl, *Transmission Electron
    /// Microscopy*, 5th ed., ch. 2 and 6, for the relativistic factor; Kirkland 2010, ch. 3, without the
    /// lens-current and high-voltage instability terms, which add in quadrature and can be folded into
    /// `energySpreadEV`). F200 defaults (Cc 1.2 mm, 0.8 eV, 200 kV): Δ = 2.37 nm.
    public static func focalSpreadNM(_ p: MicroscopeParameters) -> Double {
        let e = p.acceleratingVoltageKV * 1e3, e0 = electronRestEnergyEV
        guard e > 0 else { return 0 }
        let rms = p.energySpreadEV / (2 * (2 * log(2.0)).squareRoot())
        return p.ccMM * 1e6 * rms / e * (1 + e / e0) / (1 + e / (2 * e0))
    }

    /// Temporal-coherence (focal-spread) envelope E_t(k) = exp(−½(πλΔ)²k⁴), Δ = `focalSpreadNM(p)`
    /// (Kirkland 2010, ch. 3; the average of exp(−iπλδk²) over a Gaussian defocus distribution of rms Δ).
    @inlinable
    public static func temporalEnvelope(kPerNM k: Double, _ p: MicroscopeParameters) -> Double {
        let a = Double.pi * wavelengthNM(kv: p.acceleratingVoltageKV) * focalSpreadNM(p)
        let k2 = k * k
        return exp(-0.5 * a * a * k2 * k2)
    }

    /// Spatial-coherence envelope E_s(k) = exp(−(πα/λ)²(Csλ³k³ − Δfλk)²), α = convergence semi-angle (rad) of a
    /// Gaussian source (Kirkland 2010, ch. 3, with the sign of `chiRad`: Csλ³k³ − Δfλk = (1/2π)·dχ/dk, so
    /// E_s = exp(−(α/2λ)²(dχ/dk)²): strongest damping where χ is steep, none where χ is stationary).
    @inlinable
    public static func spatialEnvelope(kPerNM k: Double, _ p: MicroscopeParameters) -> Double {
        let lam = wavelengthNM(kv: p.acceleratingVoltageKV)
        let alpha = p.convergenceSemiAngleMrad * 1e-3
        let cs = p.csMM * 1e6
        let g = cs * lam * lam * lam * k * k * k - p.defocusNM * lam * k
        let a = Double.pi * alpha / lam
        return exp(-a * a * g * g)
    }

    /// Objective-aperture function: 1 for k ≤ α_obj/λ, 0 beyond (hard edge); always 1 when the aperture semi-angle
    /// is 0 (no aperture). 10 mrad at 200 kV → cutoff 3.99 nm⁻¹.
    @inlinable
    public static func aperture(kPerNM k: Double, _ p: MicroscopeParameters) -> Double {
        guard p.objectiveApertureSemiAngleMrad > 0 else { return 1 }
        let kc = p.objectiveApertureSemiAngleMrad * 1e-3 / wavelengthNM(kv: p.acceleratingVoltageKV)
        return k <= kc ? 1 : 0
    }

    /// Wave transfer function H(k) = A(k)·E_t(k)·E_s(k)·exp(−iχ(k)) as (re, im) = A·E·(cos χ, −sin χ)
    /// (Kirkland 2010, ch. 3; the envelopes as quasi-coherent damping of the wave).
    ///
    /// - Parameter withEnvelopes: include A·E_t·E_s (default); `false` gives the pure aberration phase factor.
    @inlinable
    public static func transferFunction(kPerNM k: Double, _ p: MicroscopeParameters,
                                        withEnvelopes: Bool = true) -> (re: Double, im: Double) {
        let chi = chiRad(kPerNM: k, p)
        let damp = withEnvelopes ? aperture(kPerNM: k, p) * temporalEnvelope(kPerNM: k, p) * spatialEnvelope(kPerNM: k, p) : 1
        return (damp * cos(chi), -damp * sin(chi))
    }

    /// Phase-contrast transfer function sin χ(k) (Kirkland 2010, ch. 3, for H = exp(−iχ)), optionally times the
    /// aperture and both envelopes. Negative across the Scherzer passband (see the type's conventions).
    ///
    /// - Parameter withEnvelopes: multiply by A·E_t·E_s (default `false`: the bare sin χ).
    @inlinable
    public static func ctf(kPerNM k: Double, _ p: MicroscopeParameters, withEnvelopes: Bool = false) -> Double {
        let s = sin(chiRad(kPerNM: k, p))
        guard withEnvelopes else { return s }
        return s * aperture(kPerNM: k, p) * temporalEnvelope(kPerNM: k, p) * spatialEnvelope(kPerNM: k, p)
    }

    /// Table of χ and the CTF for `aptwin tem ctf --csv` (columns `k_per_nm,chi_rad,ctf`).
    ///
    /// - Parameters:
    ///   - maxKPerNM: last spatial frequency, cycles/nm.
    ///   - steps: number of intervals; the table has `steps + 1` rows at k = maxK·i/steps, i = 0 … steps.
    ///   - withEnvelopes: passed to `ctf` (default `false`).
    /// - Returns: rows `(kPerNM, chiRad, ctf)` with `chiRad == chiRad(kPerNM:_:)` and `ctf == ctf(kPerNM:_:withEnvelopes:)`.
    public static func ctfTable(maxKPerNM: Double, steps: Int, _ p: MicroscopeParameters,
                                withEnvelopes: Bool = false) -> [(kPerNM: Double, chiRad: Double, ctf: Double)] {
        let n = max(1, steps)
        return (0...n).map { i in
            let k = maxKPerNM * Double(i) / Double(n)
            return (k, chiRad(kPerNM: k, p), ctf(kPerNM: k, p, withEnvelopes: withEnvelopes))
        }
    }

    /// Delocalisation radius R, nm: the largest lateral image shift of a spatial frequency, R = max |∇χ|/(2π)
    /// = max_k |Csλ³k³ − Δfλk| over 0 ≤ k ≤ `maxKPerNM` (and inside the aperture), skipping frequencies whose
    /// envelope E_t·E_s has fallen below 10⁻³ (Lichte, Ultramicroscopy 38 (1991) 13). Used to size the padding of
    /// the frame so that wrap-around artefacts of the periodic FFT stay outside the frame.
    public static func delocalisationNM(maxKPerNM: Double, _ p: MicroscopeParameters) -> Double {
        let lam = wavelengthNM(kv: p.acceleratingVoltageKV)
        let cs = p.csMM * 1e6
        var r = 0.0
        let n = 2000
        for i in 0...n {
            let k = maxKPerNM * Double(i) / Double(n)
            if aperture(kPerNM: k, p) == 0 { break }
            if temporalEnvelope(kPerNM: k, p) * spatialEnvelope(kPerNM: k, p) < 1e-3 { break }
            r = max(r, abs(cs * lam * lam * lam * k * k * k - p.defocusNM * lam * k))
        }
        return r
    }
}
