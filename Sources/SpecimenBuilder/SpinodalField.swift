import Foundation
import GSLKit
import TwinCore

/// How the spinodal order-parameter field is made.
public enum SpinodalMethod: String, Sendable, CaseIterable {
    /// Cahn–Hilliard evolution from a noisy quench (Cahn & Hilliard, J. Chem. Phys. 28 (1958) 258; Cahn,
    /// Acta Metall. 9 (1961) 795), integrated spectrally (Chen & Shen, Comput. Phys. Commun. 108 (1998) 147;
    /// Zhu et al., Phys. Rev. E 60 (1999) 3564). Physically grounded: the morphology, interface profile and
    /// amplitude distribution are those of a conserved phase separation.
    case cahnHilliard = "cahn_hilliard"
    /// Gaussian random field with a spectrum concentrated on a shell |k| ≈ 2π/λ, mapped to two phases by a
    /// saturating function (Cahn, J. Chem. Phys. 42 (1965) 93 — a random superposition of waves of one wavelength
    /// is the linear-stage spinodal morphology; Berk, Phys. Rev. A 44 (1991) 5069 — clipped Gaussian fields).
    /// Fast; the phase boundaries are level sets of a smooth random field.
    case gaussianRandomField = "gaussian_random_field"
}

/// Parameters of a spinodal order-parameter field (see `SpinodalField.generate`).
public struct SpinodalParameters: Sendable {
    /// Dominant wavelength of the decomposition, nm: the returned grid's radially averaged structure factor S(k)
    /// peaks at k = 2π/`wavelengthNM`. Typically 2–10 nm for Fe–Cr aged at 475–525 °C. Must be > 0.
    public var wavelengthNM: Double
    /// Cahn–Hilliard evolution or Gaussian random field.
    public var method: SpinodalMethod
    /// Requested extent of the field, nm, per axis (e.g. the needle's bounding box). The grid covers
    /// min(extent, `maxCellsPerAxis` cells) per axis and is periodic, so it tiles space beyond its period.
    public var boxNM: (x: Double, y: Double, z: Double)
    /// Grid resolution, in cells per wavelength (≥ 4). Cahn–Hilliard: cells per *linear-instability* wavelength
    /// λ_m = 2π/k_m (the structure coarsens during the run, so the returned field has about
    /// `SpinodalField.expectedCoarseningFactor` × this many cells per final wavelength). Gaussian random field:
    /// cells per final wavelength.
    public var cellsPerWavelength: Int
    /// Cap on the grid size per axis (the cost of one Cahn–Hilliard step is O(N log N), N = cells). Must be at
    /// least 4·`cellsPerWavelength` and at most 256.
    public var maxCellsPerAxis: Int
    /// Cahn–Hilliard only: amplitude of the quench fluctuation; every cell starts at
    /// `meanOrderParameter` + U(−`quenchNoise`, +`quenchNoise`) (the noise's own mean removed). In (0, 1].
    public var quenchNoise: Double
    /// Cahn–Hilliard only: number of time steps of Δτ = `SpinodalField.timeStepTau` (natural units, see
    /// `SpinodalField`). The default, `SpinodalParameters.defaultSteps` = 160 (τ = 80), ends after the
    /// amplitude has saturated (about 35 % of cells with |φ| > 0.8, a histogram minimum at φ = 0 below 1/3 of the
    /// peaks) and while the peak wavelength is only ≈ 1.4 λ_m, i.e. well developed but early in coarsening
    /// (measured in the Cahn–Hilliard runs of this module's tests; coarsening then continues as L ∝ τ^{1/3},
    /// Huse, Phys. Rev. B 34 (1986) 7845).
    public var steps: Int
    /// Mean of the returned φ. 0 is the symmetric (critical) quench, whose two phases occupy equal volumes.
    /// Cahn–Hilliard requires |m| < 1/√3 (inside the spinodal, where f″(m) = 3m² − 1 < 0); Gaussian random field
    /// requires |m| ≤ 0.9.
    public var meanOrderParameter: Double

    /// The default number of Cahn–Hilliard steps (see `steps`).
    public static let defaultSteps = 160

    public init(wavelengthNM: Double, method: SpinodalMethod = .cahnHilliard,
                boxNM: (x: Double, y: Double, z: Double),
                cellsPerWavelength: Int = 8, maxCellsPerAxis: Int = 96, quenchNoise: Double = 0.05,
                steps: Int = SpinodalParameters.defaultSteps, meanOrderParameter: Double = 0) {
        self.wavelengthNM = wavelengthNM; self.method = method; self.boxNM = boxNM
        self.cellsPerWavelength = cellsPerWavelength; self.maxCellsPerAxis = maxCellsPerAxis
        self.quenchNoise = quenchNoise; self.steps = steps; self.meanOrderParameter = meanOrderParameter
    }

    /// Checks every parameter.
    /// - Throws: `SpecimenError.invalid` with a message naming the offending parameter (snake_case, as in the
    ///   scenario files).
    public func validate() throws {
        guard wavelengthNM > 0, wavelengthNM.isFinite else {
            throw SpecimenError.invalid("wavelength_nm must be positive and finite, got \(wavelengthNM)")
        }
        guard cellsPerWavelength >= 4 else {
            throw SpecimenError.invalid("cells_per_wavelength must be >= 4, got \(cellsPerWavelength)")
        }
        guard maxCellsPerAxis >= 4 * cellsPerWavelength, maxCellsPerAxis <= 256 else {
            throw SpecimenError.invalid(
                "max_cells_per_axis must be in 4·cells_per_wavelength (\(4 * cellsPerWavelength)) ... 256, got \(maxCellsPerAxis)")
        }
        for (name, e) in [("x", boxNM.x), ("y", boxNM.y), ("z", boxNM.z)] {
            guard e > 0, e.isFinite else { throw SpecimenError.invalid("box_nm.\(name) must be positive and finite, got \(e)") }
        }
        guard meanOrderParameter.isFinite else {
            throw SpecimenError.invalid("mean_order_parameter must be finite, got \(meanOrderParameter)")
        }
        switch method {
        case .cahnHilliard:
            guard quenchNoise > 0, quenchNoise <= 1 else {
                throw SpecimenError.invalid("quench_noise must be in (0, 1], got \(quenchNoise)")
            }
            guard steps >= 1, steps <= 100_000 else {
                throw SpecimenError.invalid("steps must be in 1 ... 100000, got \(steps)")
            }
            guard abs(meanOrderParameter) < 1 / 3.0.squareRoot() else {
                throw SpecimenError.invalid(
                    "mean_order_parameter must satisfy |m| < 1/√3 ≈ 0.577 for cahn_hilliard (inside the spinodal), got \(meanOrderParameter)")
            }
        case .gaussianRandomField:
            guard abs(meanOrderParameter) <= 0.9 else {
                throw SpecimenError.invalid(
                    "mean_order_parameter must satisfy |m| <= 0.9 for gaussian_random_field, got \(meanOrderParameter)")
            }
        }
    }

    /// Grid nodes per axis that `SpinodalField.generate` uses: per axis
    /// n = ⌈extent/λ · c⌉ with c = expected cells per final wavelength (`cellsPerWavelength`, × 
    /// `SpinodalField.expectedCoarseningFactor` for Cahn–Hilliard), raised to at least 4 wavelengths (⌈4c⌉), capped
    /// at `maxCellsPerAxis`, then moved to the nearest size whose prime factors are all ≤ 7 (fast FFT): the next one
    /// up if within the cap, else the largest one below it.
    /// - Throws: `SpecimenError.invalid` if the parameters are invalid.
    public func gridDims() throws -> (nx: Int, ny: Int, nz: Int) {
        try validate()
        let c = Double(cellsPerWavelength) * (method == .cahnHilliard ? SpinodalField.expectedCoarseningFactor : 1)
        let minimum = Int((4 * c).rounded(.up))
        func cells(_ extent: Double) -> Int {
            let need = min(Double(maxCellsPerAxis), (extent / wavelengthNM * c).rounded(.up))
            let n = min(maxCellsPerAxis, max(Int(need), minimum))
            var up = n
            while !SpinodalField.isSmooth(up) { up += 1 }
            if up <= maxCellsPerAxis { return up }
            var down = n
            while !SpinodalField.isSmooth(down) { down -= 1 }
            return down
        }
        return (cells(boxNM.x), cells(boxNM.y), cells(boxNM.z))
    }
}

/// Spinodal order-parameter fields φ on a periodic grid, for mapping onto lattice sites.
///
/// **What `generate` returns.** A `PeriodicScalarGrid` of the dimensionless order parameter φ:
/// - its two phases sit near φ = −1 and φ = +1 (Cahn–Hilliard: the equilibrium values of the double well
///   f(φ) = (φ² − 1)²/4; the field overshoots them by at most a few per cent at curved interfaces, so
///   |φ| ≲ 1.05. Gaussian random field: |φ| < 1/tanh β = 1.037, values piling up just below ±1.037);
/// - its mean equals `meanOrderParameter` (to ~10⁻⁷, the Float rounding): Cahn–Hilliard conserves it exactly,
///   and the Gaussian field's threshold is solved for it;
/// - its radially averaged structure factor peaks exactly at k = 2π/`wavelengthNM` (see below).
///
/// **Mapping to composition.** With x̄ the alloy's mean Cr fraction and x_α, x_α′ the compositions of the two
/// phases, a site at r gets P(Cr) = clamp(x̄ + A·(φ(r) − m), 0, 1), A = (x_α′ − x_α)/2, m = `meanOrderParameter`
/// (for m = 0 this is x̄ + A·φ). With x̄ = 0.514 and A = 0.35, φ = ±1 means ≈ 16 and ≈ 86 at% Cr; after the
/// default Cahn–Hilliard steps the histogram maxima sit at φ ≈ ±0.9 (≈ 20 and ≈ 83 at% Cr), and the paper's 28 at%
/// isosurface lies in the interfaces, at φ ≈ −0.67.
///
/// **Wavelength control.** The field is computed on a grid of unit spacing; afterwards the peak of its radially
/// averaged structure factor, λ_cells (in cells; `radialStructureFactor`, Gaussian interpolation of the peak
/// shell), is measured and the grid spacing is set to `wavelengthNM / λ_cells`. The dominant wavelength is then
/// the requested one by construction, whatever coarsening happened (λ_cells ≈ `expectedCoarseningFactor` ×
/// `cellsPerWavelength` for Cahn–Hilliard at the default steps).
///
/// **Cahn–Hilliard in natural units.** With lengths in units of √γ (γ: gradient-energy coefficient in grid units)
/// and time τ = t/γ, ∂φ/∂τ = ∇²(φ³ − φ − ∇²φ) (Cahn & Hilliard 1958, dimensionless form of Zhu et al. 1999).
/// The linear instability grows fastest at k_m = 1/√2 (per √γ), i.e. k_m = 1/√(2γ) per cell; γ is chosen so that
/// 2π/k_m = `cellsPerWavelength` cells. Semi-implicit Fourier-spectral step (Chen & Shen 1998; Zhu et al. 1999)
/// with the linear stabilising term of He, Liu & Tang (Appl. Numer. Math. 57 (2007) 616):
///
///     φ̂(τ+Δτ) = [(1 + Δτ·S·κ²)·φ̂ − Δτ·κ²·FFT(φ³ − φ)] / (1 + Δτ·S·κ² + Δτ·κ⁴),   κ² = γ·|k|²
///
/// with Δτ = `timeStepTau` = 0.5 and S = `stabilisation` = 1 (checked against Δτ = 0.1, S = 0 in a 64³ NumPy
/// prototype: peak wavelength and fraction of cells with |φ| > 0.8 agree within a few per cent from τ = 60 on). The quench noise comes from
/// `TwinRNG(seed:stream:)`, stream `noiseStream`; the field depends on the seed only, never on `threads`.
public enum SpinodalField {
    /// Cahn–Hilliard time step in natural units τ = t/γ.
    public static let timeStepTau = 0.5
    /// Stabilising constant S of the semi-implicit scheme (He, Liu & Tang 2007); S ≥ max f″/2 = 1 on |φ| ≤ 1.
    public static let stabilisation = 1.0
    /// Ratio of the final peak wavelength to the linear-instability wavelength λ_m after the default number of
    /// Cahn–Hilliard steps (measured: 1.35–1.45); used only to size the grid before the run.
    public static let expectedCoarseningFactor = 1.4
    /// Gaussian random field: relative 1σ width of the Gaussian shell filter in |k|, exp(−(|k| − k0)²/(2(w·k0)²)).
    public static let shellRelativeWidth = 0.2
    /// Gaussian random field: saturation β of the bimodal map φ = tanh(β(g − g0))/tanh β of the unit-variance field g.
    /// β = 2 maps g = ±1σ to ±1 and makes the histogram bimodal (density at φ = 0 is ~1/9 of that near ±1).
    public static let bimodalBeta = 2.0
    /// `TwinRNG` stream used for the quench noise / white noise ("SPIN").
    public static let noiseStream: UInt64 = 0x5350_494E

    /// Generates the order-parameter field φ described on the type.
    ///
    /// - Parameters:
    ///   - p: the parameters; validated first.
    ///   - seed: experiment seed; same seed and parameters ⇒ bit-identical grid.
    ///   - threads: threads for the FFT line transforms (results do not depend on it).
    /// - Returns: φ on an `nx × ny × nz` periodic grid (`p.gridDims()`), spacing `wavelengthNM / λ_cells`.
    /// - Throws: `SpecimenError.invalid` for bad parameters; `GSL.Failure` if an FFT fails.
    /// - Complexity: Cahn–Hilliard: `steps` × 2 real FFTs of the grid (96³ × 160 steps: a few seconds);
    ///   Gaussian random field: 3 real FFTs.
    public static func generate(_ p: SpinodalParameters, seed: UInt64, threads: Int = 2) throws -> PeriodicScalarGrid {
        let (nx, ny, nz) = try p.gridDims()
        let fft = try FFT3D(nx: nx, ny: ny, nz: nz, threads: threads)
        let phi: [Double]
        switch p.method {
        case .cahnHilliard: phi = try cahnHilliard(p, fft: fft, seed: seed)
        case .gaussianRandomField: phi = try gaussianRandomField(p, fft: fft, seed: seed)
        }
        var spectrum: [Double] = []
        try fft.forwardReal(phi, into: &spectrum)
        let shells = radialShells(halfSpectrum: spectrum, nx: nx, ny: ny, nz: nz)
        let kPeak = peakK(shells)
        guard kPeak > 0, kPeak.isFinite else {
            throw SpecimenError.invalid("spinodal field has no structure-factor peak (flat field)")
        }
        let lambdaCells = 2 * Double.pi / kPeak
        return try PeriodicScalarGrid(nx: nx, ny: ny, nz: nz, spacingNM: p.wavelengthNM / lambdaCells,
                                      values: phi.map { Float($0) })
    }

    /// Radially averaged structure factor of a grid: S(k) = ⟨|φ̂(k)|²⟩/N over shells of |k|.
    ///
    /// φ̂ is the unnormalised DFT of the node values (`FFT3D.forwardReal`), N the node count, so that
    /// Σ_{k≠0} |φ̂(k)|²/N² is the variance of φ (Parseval). Shells have width Δk = 2π/(max(nx, ny, nz)·spacing),
    /// centred on multiples of Δk; each entry gives the mean |k| of the modes in its shell (angular wavenumber,
    /// rad/nm, λ = 2π/k) and their mean |φ̂|²/N. The k = 0 mode (the mean) and empty shells are left out; entries
    /// are in increasing k up to the largest |k| on the grid.
    /// - Throws: `GSL.Failure` if the FFT fails.
    public static func radialStructureFactor(_ g: PeriodicScalarGrid) throws -> [(kPerNM: Double, s: Double)] {
        let shells = try shells(of: g)
        return zip(shells.k, shells.s).map { (kPerNM: $0 / g.spacingNM, s: $1) }
    }

    /// Dominant wavelength of a grid, nm: 2π/k* with k* the peak of `radialStructureFactor`, refined by fitting
    /// a parabola to ln S through the highest shell and its two neighbours (Gaussian peak interpolation). For a
    /// peak narrower than one shell (a neighbour below 10⁻³ of the peak) k* is the S-weighted mean |k| of the peak
    /// shell. `generate` sets the grid spacing with exactly this estimator.
    /// - Throws: `GSL.Failure` if the FFT fails; `SpecimenError.invalid` for a flat field.
    public static func peakWavelengthNM(_ g: PeriodicScalarGrid) throws -> Double {
        let k = peakK(try shells(of: g))
        guard k > 0, k.isFinite else { throw SpecimenError.invalid("structure factor has no peak (flat field)") }
        return 2 * Double.pi / k * g.spacingNM
    }

    /// Shells of a grid in grid units (k in rad per cell).
    static func shells(of g: PeriodicScalarGrid) throws -> (k: [Double], s: [Double], kWeighted: [Double]) {
        let fft = try FFT3D(nx: g.nx, ny: g.ny, nz: g.nz, threads: 1)
        var spectrum: [Double] = []
        try fft.forwardReal(g.values.map { Double($0) }, into: &spectrum)
        return radialShells(halfSpectrum: spectrum, nx: g.nx, ny: g.ny, nz: g.nz)
    }

    /// Dominant wavelength, nm, of a radially averaged structure factor (as from `radialStructureFactor`), with
    /// the same Gaussian peak interpolation (for a peak narrower than a shell, the shell's mean k is returned, as
    /// the tuple does not carry the S-weighted one).
    /// - Throws: `SpecimenError.invalid` when S has no positive entry.
    public static func peakWavelengthNM(of s: [(kPerNM: Double, s: Double)]) throws -> Double {
        let k = peakK((k: s.map(\.kPerNM), s: s.map(\.s), kWeighted: s.map(\.kPerNM)))
        guard k > 0, k.isFinite else { throw SpecimenError.invalid("structure factor has no peak (flat field)") }
        return 2 * Double.pi / k
    }

    // MARK: Cahn–Hilliard

    static func cahnHilliard(_ p: SpinodalParameters, fft: FFT3D, seed: UInt64) throws -> [Double] {
        let n = fft.count, h = fft.halfSpectrumCount
        // Quench: m + U(−q, q), noise mean removed so that the mean is m to rounding.
        var rng = TwinRNG(seed: seed, stream: noiseStream)
        var c = [Double](repeating: 0, count: n)
        var sum = 0.0
        for i in 0..<n { let u = (2 * rng.uniform() - 1) * p.quenchNoise; c[i] = u; sum += u }
        let shift = p.meanOrderParameter - sum / Double(n)
        for i in 0..<n { c[i] += shift }

        // κ² = γ|k|², γ = 1/(2 k_m²), k_m = 2π/cellsPerWavelength (per cell).
        let km = 2 * Double.pi / Double(p.cellsPerWavelength)
        let gamma = 1 / (2 * km * km)
        let k2 = waveNumberSquared(nx: fft.nx, ny: fft.ny, nz: fft.nz)
        let dt = timeStepTau, s = stabilisation
        var keep = [Double](repeating: 0, count: h), push = [Double](repeating: 0, count: h)
        for j in 0..<h {
            let kk = gamma * k2[j]
            let inv = 1 / (1 + dt * s * kk + dt * kk * kk)
            keep[j] = (1 + dt * s * kk) * inv
            push[j] = dt * kk * inv
        }

        var ch: [Double] = [], nh: [Double] = []
        var nl = [Double](repeating: 0, count: n)
        try fft.forwardReal(c, into: &ch)
        for _ in 0..<p.steps {
            try fft.inverseReal(ch, into: &c)
            c.withUnsafeBufferPointer { cp in
                nl.withUnsafeMutableBufferPointer { np in
                    for i in 0..<n { let v = cp[i]; np[i] = v * v * v - v }
                }
            }
            try fft.forwardReal(nl, into: &nh)
            ch.withUnsafeMutableBufferPointer { cp in
                nh.withUnsafeBufferPointer { np in
                    keep.withUnsafeBufferPointer { kp in
                        push.withUnsafeBufferPointer { pp in
                            for j in 0..<h {
                                cp[2 * j] = kp[j] * cp[2 * j] - pp[j] * np[2 * j]
                                cp[2 * j + 1] = kp[j] * cp[2 * j + 1] - pp[j] * np[2 * j + 1]
                            }
                        }
                    }
                }
            }
        }
        try fft.inverseReal(ch, into: &c)
        return c
    }

    // MARK: Gaussian random field

    static func gaussianRandomField(_ p: SpinodalParameters, fft: FFT3D, seed: UInt64) throws -> [Double] {
        let n = fft.count, h = fft.halfSpectrumCount
        var rng = TwinRNG(seed: seed, stream: noiseStream)
        var g = [Double](repeating: 0, count: n)
        for i in 0..<n { g[i] = rng.normal() }
        var spectrum: [Double] = []
        try fft.forwardReal(g, into: &spectrum)
        let k0 = 2 * Double.pi / Double(p.cellsPerWavelength)
        let w = shellRelativeWidth * k0
        let k2 = waveNumberSquared(nx: fft.nx, ny: fft.ny, nz: fft.nz)
        for j in 0..<h {
            let d = k2[j].squareRoot() - k0
            let f = j == 0 ? 0 : exp(-d * d / (2 * w * w))
            spectrum[2 * j] *= f; spectrum[2 * j + 1] *= f
        }
        try fft.inverseReal(spectrum, into: &g)
        var mean = 0.0
        for v in g { mean += v }
        mean /= Double(n)
        var variance = 0.0
        for v in g { variance += (v - mean) * (v - mean) }
        let scale = 1 / (variance / Double(n)).squareRoot()
        for i in 0..<n { g[i] = (g[i] - mean) * scale }

        // Threshold g0 such that mean(tanh(β(g − g0)))/tanh β = m: Newton on a decreasing function, bracketed.
        let beta = bimodalBeta, norm = 1 / tanh(beta), target = p.meanOrderParameter
        func meanAndSlope(_ g0: Double) -> (Double, Double) {
            var s = 0.0, d = 0.0
            for v in g { let t = tanh(beta * (v - g0)); s += t; d += 1 - t * t }
            return (s * norm / Double(n), -beta * d * norm / Double(n))
        }
        var lo = -10.0, hi = 10.0, g0 = 0.0
        for _ in 0..<60 {
            let (f, df) = meanAndSlope(g0)
            let r = f - target
            if abs(r) < 1e-12 { break }
            if r > 0 { lo = g0 } else { hi = g0 }
            var next = df < 0 ? g0 - r / df : 0.5 * (lo + hi)
            if !(next > lo && next < hi) { next = 0.5 * (lo + hi) }
            g0 = next
        }
        return g.map { tanh(beta * ($0 - g0)) * norm }
    }

    // MARK: Shared spectral helpers

    /// Whether all prime factors of n are ≤ 7 (GSL's fast radices).
    static func isSmooth(_ n: Int) -> Bool {
        guard n >= 1 else { return false }
        var m = n
        for f in [2, 3, 5, 7] { while m % f == 0 { m /= f } }
        return m == 1
    }

    /// |k|² per cell² for every half-spectrum index (layout of `FFT3D.forwardReal`).
    static func waveNumberSquared(nx: Int, ny: Int, nz: Int) -> [Double] {
        let nzh = nz / 2 + 1
        func k(_ i: Int, _ n: Int) -> Double { 2 * Double.pi * Double(i <= n / 2 ? i : i - n) / Double(n) }
        let kx = (0..<nx).map { k($0, nx) }, ky = (0..<ny).map { k($0, ny) }, kz = (0..<nzh).map { k($0, nz) }
        var out = [Double](repeating: 0, count: nx * ny * nzh)
        var j = 0
        for ix in 0..<nx { for iy in 0..<ny {
            let a = kx[ix] * kx[ix] + ky[iy] * ky[iy]
            for iz in 0..<nzh { out[j] = a + kz[iz] * kz[iz]; j += 1 }
        } }
        return out
    }

    /// Shell-averaged |φ̂|²/N from a half spectrum, in grid units (k in rad per cell). Modes with 0 < kz < nz/2
    /// stand for themselves and their mirror −k, so they count twice.
    /// `kWeighted` is the S-weighted mean |k| of each shell (used for peaks narrower than a shell).
    static func radialShells(halfSpectrum x: [Double], nx: Int, ny: Int, nz: Int)
        -> (k: [Double], s: [Double], kWeighted: [Double]) {
        let nzh = nz / 2 + 1, count = Double(nx * ny * nz)
        let dk = 2 * Double.pi / Double(max(nx, ny, nz))
        let k2 = waveNumberSquared(nx: nx, ny: ny, nz: nz)
        let maxK = k2.max()!.squareRoot()
        let bins = Int((maxK / dk).rounded()) + 1
        var w = [Double](repeating: 0, count: bins), sk = w, ss = w, ssk = w
        for j in 1..<k2.count {
            let kz = j % nzh
            let weight: Double = (kz == 0 || (nz % 2 == 0 && kz == nz / 2)) ? 1 : 2
            let k = k2[j].squareRoot()
            let b = Int((k / dk).rounded())
            w[b] += weight; sk[b] += weight * k
            let power = weight * (x[2 * j] * x[2 * j] + x[2 * j + 1] * x[2 * j + 1]) / count
            ss[b] += power; ssk[b] += power * k
        }
        var ks: [Double] = [], s: [Double] = [], kw: [Double] = []
        for b in 1..<bins where w[b] > 0 {
            ks.append(sk[b] / w[b]); s.append(ss[b] / w[b]); kw.append(ss[b] > 0 ? ssk[b] / ss[b] : sk[b] / w[b])
        }
        return (ks, s, kw)
    }

    /// k of the structure-factor peak: the highest shell, refined by the vertex of the parabola through
    /// (k, ln S) of it and its two neighbours (exact for a Gaussian peak). When a neighbour is missing or below
    /// 10⁻³ of the peak, the peak is narrower than a shell and the S-weighted mean |k| of the peak shell is
    /// returned instead (exact for a single plane wave).
    static func peakK(_ shells: (k: [Double], s: [Double], kWeighted: [Double])) -> Double {
        let (k, s, kw) = shells
        guard let i = s.indices.max(by: { s[$0] < s[$1] }), s[i] > 0 else { return 0 }
        guard i > 0, i + 1 < s.count, s[i - 1] > 1e-3 * s[i], s[i + 1] > 1e-3 * s[i] else { return kw[i] }
        let x0 = k[i - 1], x1 = k[i], x2 = k[i + 1]
        let y0 = log(s[i - 1]), y1 = log(s[i]), y2 = log(s[i + 1])
        let num = (x1 - x0) * (x1 - x0) * (y1 - y2) - (x1 - x2) * (x1 - x2) * (y1 - y0)
        let den = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0)
        guard den != 0 else { return x1 }
        return min(max(x1 - 0.5 * num / den, x0), x2)
    }
}
