import Foundation
import TwinCore

/// Parameters of a bright-field frame of the needle.
public struct BrightFieldParameters: Sendable {
    /// Pixel size at the specimen, nm (JEOL F200 setting of the source paper: 0.24 nm).
    public var pixelNM: Double = 0.24
    /// Contrast thickness x_k: the thickness over which scattering outside the objective aperture attenuates the
    /// beam by 1/e (Fe ≈ 45 nm, W ≈ 13 nm for a 10 mrad aperture; instrument-and-physics §2).
    public var contrastThicknessNM: Double = 45
    /// Margin of vacuum around the needle, nm.
    public var marginNM: Double = 5
    public init() {}
}

/// A frame: intensity relative to the incident beam, row-major, rows along the needle axis (apex at the top).
public struct BrightFieldFrame: Sendable {
    public var width: Int
    public var height: Int
    public var pixelNM: Double
    /// Intensity I/I₀ in [0, 1].
    public var intensity: [Float]
    /// Projected thickness t, nm.
    public var thicknessNM: [Float]
    /// Specimen-frame coordinates of the top-left pixel corner (x, z), nm.
    public var originXNM: Double
    public var originZNM: Double
}

/// **Baseline** bright-field TEM frame: amplitude contrast of the projected thickness only,
/// I = exp(−t/x_k) (the exp(−t/2x_k) amplitude of the exit wave squared; instrument-and-physics §3), with the beam
/// along y, perpendicular to the needle axis as in the side-entry holder. The projected thickness of each pixel is
/// the number of atoms whose (x, z) falls in it times the atomic volume, divided by the pixel area. No phase, CTF,
/// MTF or noise yet: the TEM-imaging work replaces this with the full frame model.
public enum BrightFieldBaseline {
    public static func frame(atoms: TruthAtoms, alive: [Bool]? = nil, atomicVolumeNM3: Double,
                             parameters p: BrightFieldParameters) -> BrightFieldFrame {
        var xmin = Double.infinity, xmax = -Double.infinity, zmin = Double.infinity, zmax = -Double.infinity
        for i in 0..<atoms.count where alive?[i] ?? true {
            let x = Double(atoms.xNM[i]), z = Double(atoms.zNM[i])
            xmin = min(xmin, x); xmax = max(xmax, x); zmin = min(zmin, z); zmax = max(zmax, z)
        }
        if xmin > xmax { xmin = 0; xmax = 0; zmin = 0; zmax = 0 }
        let x0 = xmin - p.marginNM, z1 = zmax + p.marginNM
        let w = max(1, Int(((xmax + p.marginNM - x0) / p.pixelNM).rounded(.up)))
        let h = max(1, Int(((z1 - (zmin - p.marginNM)) / p.pixelNM).rounded(.up)))
        var count = [UInt32](repeating: 0, count: w * h)
        for i in 0..<atoms.count where alive?[i] ?? true {
            let col = Int((Double(atoms.xNM[i]) - x0) / p.pixelNM)
            let row = Int((z1 - Double(atoms.zNM[i])) / p.pixelNM)
            if col >= 0, col < w, row >= 0, row < h { count[row * w + col] += 1 }
        }
        // Atomic columns are not resolved at this sampling (instrument-and-physics §3: lattice fringes of 0.2 nm lie
        // beyond the camera's 0.48 nm Nyquist period, and the CTF envelopes and detector MTF damp them): smooth the
        // atom counts into a continuous density with a Gaussian of σ = Ω^(1/3) (≈ 0.23 nm for Fe, the instrument's
        // point resolution) before converting to thickness. The full frame model of the TEM work replaces this.
        let sigmaPx = pow(atomicVolumeNM3, 1.0 / 3.0) / p.pixelNM
        let density = gaussianBlur(count.map(Double.init), width: w, height: h, sigmaPx: sigmaPx)
        let perAtom = atomicVolumeNM3 / (p.pixelNM * p.pixelNM)
        var t = [Float](repeating: 0, count: w * h), inten = t
        for k in 0..<(w * h) {
            let th = density[k] * perAtom
            t[k] = Float(th)
            inten[k] = Float(exp(-th / p.contrastThicknessNM))
        }
        return BrightFieldFrame(width: w, height: h, pixelNM: p.pixelNM, intensity: inten, thicknessNM: t,
                                originXNM: x0, originZNM: z1)
    }
}

/// Separable Gaussian blur with a kernel truncated at 4σ; edges are treated as vacuum (zero).
func gaussianBlur(_ img: [Double], width w: Int, height h: Int, sigmaPx: Double) -> [Double] {
    guard sigmaPx > 0.05 else { return img }
    let r = Int((4 * sigmaPx).rounded(.up))
    var kernel = (-r...r).map { exp(-0.5 * Double($0 * $0) / (sigmaPx * sigmaPx)) }
    let sum = kernel.reduce(0, +)
    kernel = kernel.map { $0 / sum }
    var tmp = [Double](repeating: 0, count: w * h), out = tmp
    for y in 0..<h {
        for x in 0..<w {
            var a = 0.0
            for k in -r...r where x + k >= 0 && x + k < w { a += kernel[k + r] * img[y * w + x + k] }
            tmp[y * w + x] = a
        }
    }
    for y in 0..<h {
        for x in 0..<w {
            var a = 0.0
            for k in -r...r where y + k >= 0 && y + k < h { a += kernel[k + r] * tmp[(y + k) * w + x] }
            out[y * w + x] = a
        }
    }
    return out
}
