import Foundation
import MaterialsData
import TwinCore

/// Width and resolving power of one peak of a histogram.
public struct PeakMetrics: Sendable, Equatable {
    /// Apex m/n: vertex of the parabola through the maximum bin and its two neighbours, Da.
    public var apexDa: Double
    /// Net (background-subtracted) height of the maximum bin, counts.
    public var netHeight: Double
    /// Background under the apex, counts per bin.
    public var backgroundPerBin: Double
    /// Full widths at 50 %, 10 % and 1 % of the net height, Da (nil where the level is not crossed within the
    /// search limit, e.g. a 1 % level lost in a neighbour peak or in the noise).
    public var fwhmDa: Double?
    public var fw10Da: Double?
    public var fw1Da: Double?
    /// Mass resolving power M/ΔM at 50 %, 10 % and 1 %.
    public var mrp50: Double? { fwhmDa.map { apexDa / $0 } }
    public var mrp10: Double? { fw10Da.map { apexDa / $0 } }
    public var mrp1: Double? { fw1Da.map { apexDa / $0 } }
}

/// Peak-shape measurements.
public enum PeakShape {
    /// Measures the peak whose maximum lies within `searchDa` of `nearDa`.
    ///
    /// Levels: the net profile n(i) = c(i) − b(i) (b: `backgroundPerBin`, 0 if nil) is walked outwards from the
    /// maximum bin until it first drops to f·n_max (f = 0.5, 0.1, 0.01); the crossing is linearly interpolated
    /// between the centres of the last bin above and the first bin at or below the level. Walks stop after
    /// `maxHalfWidthDa` (that width is then nil). For a Gaussian of σ sampled in bins ≪ σ this gives
    /// FWHM = 2√(2 ln 2) σ = 2.3548 σ, FW10% = 2√(2 ln 10) σ = 4.2919 σ, FW1% = 6.0697 σ.
    /// - Returns: nil if the window is outside the histogram or holds no net counts.
    public static func measure(_ h: MassHistogram, nearDa: Double, searchDa: Double = 0.1, backgroundPerBin: [Double]? = nil,
                               maxHalfWidthDa: Double = 1.0) -> PeakMetrics? {
        let c = h.counts
        let lo = max(0, Int(((nearDa - searchDa) / h.binDa).rounded(.down)))
        let hi = min(c.count - 1, Int(((nearDa + searchDa) / h.binDa).rounded(.down)))
        guard lo <= hi else { return nil }
        @inline(__always) func net(_ i: Int) -> Double { Double(c[i]) - (backgroundPerBin?[i] ?? 0) }
        var best = lo
        for i in lo...hi where net(i) > net(best) { best = i }
        let top = net(best)
        guard top > 0 else { return nil }
        let maxSteps = max(1, Int(maxHalfWidthDa / h.binDa))
        func width(_ f: Double) -> Double? {
            let level = f * top
            var l = best
            while l > 0 && best - l < maxSteps && net(l - 1) > level { l -= 1 }
            var r = best
            while r < c.count - 1 && r - best < maxSteps && net(r + 1) > level { r += 1 }
            guard l > 0, r < c.count - 1, best - l < maxSteps, r - best < maxSteps else { return nil }
            // Crossing between l−1 (≤ level) and l (> level); same on the right.
            let nl0 = net(l - 1), nl1 = net(l)
            let xl = h.centreDa(l - 1) + (level - nl0) / (nl1 - nl0) * h.binDa
            let nr0 = net(r), nr1 = net(r + 1)
            let xr = h.centreDa(r) + (nr0 - level) / (nr0 - nr1) * h.binDa
            return xr - xl
        }
        // Apex: vertex of the parabola through the maximum bin and its neighbours.
        var apex = h.centreDa(best)
        if best > 0 && best < c.count - 1 {
            let a = net(best - 1), b = top, d = net(best + 1)
            let den = a - 2 * b + d
            if den < 0 { apex += 0.5 * (a - d) / den * h.binDa }
        }
        return PeakMetrics(apexDa: apex, netHeight: top, backgroundPerBin: backgroundPerBin?[best] ?? 0,
                           fwhmDa: width(0.5), fw10Da: width(0.1), fw1Da: width(0.01))
    }
}

/// Flat time-of-flight background: uncorrelated counts are uniform in time, so in mass space, with
/// m ∝ t² ⇒ dt/dm ∝ 1/√m, the background per Da falls as A/√m.
public struct FlatTOFBackground: Sendable, Equatable {
    /// A in counts per bin × √Da: background per bin b(m) = A/√m.
    public var amplitude: Double

    /// Robust estimate from the histogram between `fromDa` and `toDa` (default: the m/n below which 99.5 % of the
    /// binned ions lie): the bins are summed into windows of `windowDa` (0.1 Da, so that a sparse spectrum's
    /// Poisson zeros do not pull the level down), and A is the median over windows of (mean counts per bin)·√m.
    /// Peaks occupy a small fraction of the windows, so the median ignores them; a spectrum with no background
    /// gives 0. On the real Si dataset of the `apav` wheel, c·√m measured by hand in peak-free stretches from 1 to
    /// 160 Da is 11–15 counts per 0.01 Da bin × √Da: the flat-TOF model holds over the whole spectrum.
    public static func estimate(_ h: MassHistogram, fromDa: Double = 1, toDa: Double? = nil, windowDa: Double = 0.1) -> FlatTOFBackground {
        let total = h.counts.reduce(0) { $0 + Int($1) }
        var top = h.counts.count
        if toDa == nil, total > 0 {
            var acc = 0
            for (i, c) in h.counts.enumerated() { acc += Int(c); if Double(acc) >= 0.995 * Double(total) { top = i + 1; break } }
        }
        let a = max(0, Int(fromDa / h.binDa)), b = min(h.counts.count, toDa.map { Int($0 / h.binDa) } ?? top)
        guard a < b else { return FlatTOFBackground(amplitude: 0) }
        let per = max(1, Int((windowDa / h.binDa).rounded()))
        var v: [Double] = []
        var i = a
        while i + per <= b {
            var s = 0.0
            for j in i..<(i + per) { s += Double(h.counts[j]) }
            v.append(s / Double(per) * h.centreDa(i + per / 2).squareRoot())
            i += per
        }
        if v.isEmpty { v = (a..<b).map { Double(h.counts[$0]) * h.centreDa($0).squareRoot() } }
        v.sort()
        return FlatTOFBackground(amplitude: v[v.count / 2])
    }

    /// Background per bin at m (Da).
    public func perBin(atDa m: Double) -> Double { m > 0 ? amplitude / m.squareRoot() : 0 }
    /// Background per bin for every bin of `h`.
    public func perBin(_ h: MassHistogram) -> [Double] { (0..<h.counts.count).map { perBin(atDa: h.centreDa($0)) } }
    /// Equivalent constant rate in TOF, counts per ns (over the whole acquisition), for a calibration
    /// m = k t², i.e. k = 2 e V_eff / L_eff² in Da/ns²: dN/dt = b(m)/Δm · dm/dt = A/(√m Δm) · 2√(k m) = 2A√k/Δm.
    public func countsPerNS(binDa: Double, daPerNS2 k: Double) -> Double { 2 * amplitude * k.squareRoot() / binDa }
}

/// A peak candidate label: isotope and charge, e.g. `56Fe2+`.
public extension IsotopePeak {
    var label: String { "\(massNumber)\(PeriodicTable.symbol(z: z))\(charge)+" }
}

/// Peak finding and identification against the natural isotopes.
public enum PeakIdentification {
    /// Every natural isotope (of `elements`, or of all elements if nil) at charge 1…`maxCharge` within
    /// `toleranceDa` of `mnDa`, most abundant first.
    public static func candidates(mnDa: Double, toleranceDa: Double, elements: [Int]? = nil, maxCharge: Int = 3) -> [IsotopePeak] {
        let zs = elements ?? PeriodicTable.elements.map(\.z)
        return AutoRanging.expectedPeaks(elements: zs, maxCharge: maxCharge)
            .filter { abs($0.mnDa - mnDa) <= toleranceDa }
            .sorted { ($0.abundance, -abs($0.mnDa - mnDa)) > ($1.abundance, -abs($1.mnDa - mnDa)) }
    }

    /// Local maxima of the net histogram (bin is the maximum within ±`separationDa`) with net counts at least
    /// `minNetCounts` and at least 5 √background above the background. Bin indices, ascending.
    public static func findPeaks(_ h: MassHistogram, backgroundPerBin: [Double], separationDa: Double = 0.15,
                                 minNetCounts: Double = 10) -> [Int] {
        let c = h.counts, w = max(1, Int(separationDa / h.binDa))
        var out: [Int] = []
        var i = 0
        while i < c.count {
            let n = Double(c[i]) - backgroundPerBin[i]
            if n >= minNetCounts && n >= 5 * max(1, backgroundPerBin[i]).squareRoot() {
                var isMax = true
                for j in max(0, i - w)...min(c.count - 1, i + w) where j != i {
                    if c[j] > c[i] || (c[j] == c[i] && j < i) { isMax = false; break }
                }
                if isMax { out.append(i); i += w; continue }
            }
            i += 1
        }
        return out
    }
}
