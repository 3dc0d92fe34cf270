import Foundation
import GSLKit
import MaterialsData
import TwinCore

/// An expected peak: one isotope of one element at one charge state.
public struct IsotopePeak: Sendable, Equatable {
    public var z: Int
    public var massNumber: Int
    public var charge: Int
    public var mnDa: Double
    /// Natural abundance of the isotope within its element.
    public var abundance: Double
}

/// A peak found in a spectrum and what it was identified as.
public struct IdentifiedPeak: Sendable {
    public var mnDa: Double
    public var lowDa: Double
    public var highDa: Double
    public var counts: Int
    /// All candidate isotopes within the identification tolerance (more than one: an overlap, e.g. ⁵⁴Fe²⁺/⁵⁴Cr²⁺).
    public var candidates: [IsotopePeak]
    /// Index of the element the range is assigned to in the range file (the candidate element with the largest
    /// expected share).
    public var assignedZ: Int
    public init(mnDa: Double, lowDa: Double, highDa: Double, counts: Int, candidates: [IsotopePeak], assignedZ: Int) {
        self.mnDa = mnDa; self.lowDa = lowDa; self.highDa = highDa; self.counts = counts
        self.candidates = candidates; self.assignedZ = assignedZ
    }
}

/// An element's atom fraction with its counting uncertainty.
public struct ElementFraction: Sendable {
    public var z: Int
    public var fraction: Double
    /// Binomial standard error √(f(1−f)/N).
    public var sigma: Double
    /// 95 % Clopper–Pearson interval.
    public var lower95: Double
    public var upper95: Double
}

/// Result of automatic ranging.
public struct RangingResult: Sendable {
    public var table: RangeTable
    public var peaks: [IdentifiedPeak]
    /// Atom fractions by Z from an abundance-weighted decomposition of all ranged counts (overlaps shared out
    /// by natural isotope abundance), with the 1σ binomial counting error and the 95 % Clopper–Pearson interval.
    public var composition: [ElementFraction]
    /// Decomposed atom counts by Z.
    public var elementCounts: [(z: Int, count: Double)]
}

/// **Baseline** automatic ranging for spectra whose elements are known.
///
/// 1. Expected lines: every natural isotope of the given elements at charge states 1…`maxCharge`.
/// 2. Peaks: local maxima of the histogram above `minCounts` that lie within `toleranceDa` of an expected line.
/// 3. Range of a peak: grown from the maximum while the counts (smoothed over ±3 bins) keep falling and stay above
///    the background (the median bin count) and 1 % of the peak, never past half-way to a neighbouring expected line.
/// 4. Composition: counts of each range are shared out between its candidate isotopes in proportion to
///    fraction × abundance, solved by least squares for the element totals (the usual isotope-ratio
///    decomposition of overlapping peaks, e.g. ⁵⁴Fe²⁺/⁵⁴Cr²⁺ at 27 Da).
public enum AutoRanging {
    public static func expectedPeaks(elements: [Int], maxCharge: Int) -> [IsotopePeak] {
        var out: [IsotopePeak] = []
        for z in elements {
            guard let e = PeriodicTable.element(z: z) else { continue }
            for iso in e.isotopes where iso.abundance > 0 {
                for q in 1...maxCharge {
                    out.append(IsotopePeak(z: z, massNumber: iso.massNumber, charge: q,
                                           mnDa: iso.massDa / Double(q), abundance: iso.abundance))
                }
            }
        }
        return out.sorted { ($0.mnDa, $0.z, $0.charge) < ($1.mnDa, $1.z, $1.charge) }
    }

    /// - Parameter backgroundPerBin: background counts per bin (e.g. ``FlatTOFBackground/perBin(_:)``); a range
    ///   stops where the counts reach it. Default: the median bin count of the whole spectrum, for every bin.
    public static func range(histogram h: MassHistogram, elements: [Int], maxCharge: Int = 3,
                             toleranceDa: Double = 0.1, minCounts: Int = 5, backgroundPerBin: [Double]? = nil) -> RangingResult {
        let lines = expectedPeaks(elements: elements, maxCharge: maxCharge)
        let c = h.counts
        // Background level: given per bin, or the median bin count of the whole spectrum (0 for a clean simulated
        // spectrum).
        let sortedCounts = backgroundPerBin == nil ? c.sorted() : []
        let median = sortedCounts.isEmpty ? 0 : Double(sortedCounts[sortedCounts.count / 2])
        let bg = backgroundPerBin?.count == c.count ? backgroundPerBin! : [Double](repeating: median, count: c.count)
        var peaks: [IdentifiedPeak] = []
        var usedLines = Set<Int>()
        for (li, line) in lines.enumerated() where !usedLines.contains(li) {
            let centreBin = Int(line.mnDa / h.binDa)
            let w = max(1, Int(toleranceDa / h.binDa))
            guard centreBin - w >= 0, centreBin + w < c.count else { continue }
            var best = centreBin
            for b in (centreBin - w)...(centreBin + w) where c[b] > c[best] { best = b }
            guard c[best] >= minCounts else { continue }
            // Limits: half-way to the nearest expected lines at a different m/n.
            let others = lines.map(\.mnDa).filter { abs($0 - line.mnDa) > 2 * h.binDa }
            let lowerLimit = (others.filter { $0 < line.mnDa }.max().map { ($0 + line.mnDa) / 2 }) ?? 0
            let upperLimit = (others.filter { $0 > line.mnDa }.min().map { ($0 + line.mnDa) / 2 }) ?? h.maxDa
            // Grow on the counts smoothed over ±3 bins (a sparse spectrum at 0.01 Da is noisy bin to bin) while they
            // keep falling and stay above the background and 1 % of the peak (tails included).
            func smooth(_ b: Int) -> Double {
                let a = max(0, b - 3), e = min(c.count - 1, b + 3)
                return Double(c[a...e].reduce(0) { $0 + Int($1) }) / Double(e - a + 1)
            }
            // The peak's own maximum may lie just outside the tolerance window (a calibration a few 0.1 % off):
            // climb to it on the smoothed counts, within the limits.
            while best > 0, h.centreDa(best - 1) > lowerLimit, smooth(best - 1) > smooth(best) { best -= 1 }
            while best + 1 < c.count, h.centreDa(best + 1) < upperLimit, smooth(best + 1) > smooth(best) { best += 1 }
            let floorCounts = 0.01 * smooth(best), halfMax = 0.5 * smooth(best)
            // Above half maximum the range grows regardless of bin-to-bin noise (a broad, flat-topped peak of a
            // short straight flight has many small local minima on its top); below it, only while the counts fall.
            func grows(_ next: Int, from cur: Int) -> Bool {
                let sn = smooth(next)
                return sn > max(bg[next], floorCounts) && (sn >= halfMax || sn <= smooth(cur) * 1.05)
            }
            var lo = best, hi = best
            while lo > 0, h.centreDa(lo - 1) > lowerLimit, grows(lo - 1, from: lo) { lo -= 1 }
            while hi + 1 < c.count, h.centreDa(hi + 1) < upperLimit, grows(hi + 1, from: hi) { hi += 1 }
            let lowDa = Double(lo) * h.binDa, highDa = Double(hi + 1) * h.binDa
            // Candidates: all lines inside the range (or within tolerance of the maximum).
            var cands: [IsotopePeak] = []
            for (lj, l2) in lines.enumerated() where (l2.mnDa >= lowDa && l2.mnDa <= highDa) || abs(l2.mnDa - h.centreDa(best)) <= toleranceDa {
                cands.append(l2); usedLines.insert(lj)
            }
            let counts = c[lo...hi].reduce(0) { $0 + Int($1) }
            peaks.append(IdentifiedPeak(mnDa: h.centreDa(best), lowDa: lowDa, highDa: highDa, counts: counts,
                                        candidates: cands, assignedZ: cands[0].z))
        }
        peaks.sort { $0.lowDa < $1.lowDa }
        // Drop ranges overlapping an earlier (lower) one: keep the one with more counts.
        var kept: [IdentifiedPeak] = []
        for p in peaks {
            if let last = kept.last, p.lowDa <= last.highDa {
                if p.counts > last.counts { kept[kept.count - 1] = p }
                continue
            }
            kept.append(p)
        }
        let (compo, totals) = decompose(kept, elements: elements)
        // Assign each range to the candidate element with the largest expected share.
        let share = Dictionary(uniqueKeysWithValues: totals.map { ($0.z, $0.count) })
        for k in kept.indices {
            let best = kept[k].candidates.max { (share[$0.z, default: 0] * $0.abundance, -$0.z) < (share[$1.z, default: 0] * $1.abundance, -$1.z) }
            kept[k].assignedZ = best?.z ?? kept[k].candidates[0].z
        }
        // Range table: one ion per element, ranges in m/n order.
        var table = RangeTable()
        let palette = ["FF0000", "0000FF", "00AA00", "FF8800", "AA00AA", "00AAAA", "888800", "444444"]
        var ionIndexByZ: [Int: Int] = [:]
        for z in elements {
            guard let e = PeriodicTable.element(z: z) else { continue }
            ionIndexByZ[z] = table.ions.count
            table.ions.append(RangedIon(name: e.symbol, composition: [ElementCount(e.symbol, 1)]))
        }
        for p in kept {
            let ion = ionIndexByZ[p.assignedZ]!
            let vol = PeriodicTable.lattice(z: p.assignedZ).map { 1 / $0.numberDensityPerNM3 } ?? 0
            table.ranges.append(MassRange(lowDa: (p.lowDa * 1e4).rounded() / 1e4, highDa: (p.highDa * 1e4).rounded() / 1e4,
                                          ionIndex: ion, volumeNM3: vol, colorHex: palette[ion % palette.count]))
        }
        return RangingResult(table: table, peaks: kept, composition: compo, elementCounts: totals)
    }

    /// Least-squares element totals N_e from range counts C_r = Σ_e N_e a_{e,r}, where a_{e,r} is the summed
    /// abundance of e's candidate isotopes in range r divided by the number of charge states it appears in.
    static func decompose(_ peaks: [IdentifiedPeak], elements: [Int]) -> ([ElementFraction], [(z: Int, count: Double)]) {
        let m = elements.count
        guard m > 0, !peaks.isEmpty else { return ([], []) }
        // Design matrix A (ranges × elements): expected fraction of element e's ions in range r, up to a per-element
        // factor for the charge-state split, which cancels within an element only if every charge state has a
        // range. Use per-element, per-charge columns to stay exact.
        var cols: [(z: Int, q: Int)] = []
        for p in peaks { for c in p.candidates where !cols.contains(where: { $0.z == c.z && $0.q == c.charge }) { cols.append((c.z, c.charge)) } }
        cols.sort { ($0.z, $0.q) < ($1.z, $1.q) }
        let k = cols.count
        var ata = [Double](repeating: 0, count: k * k), atb = [Double](repeating: 0, count: k)
        for p in peaks {
            var row = [Double](repeating: 0, count: k)
            for c in p.candidates { if let j = cols.firstIndex(where: { $0.z == c.z && $0.q == c.charge }) { row[j] += c.abundance } }
            for i in 0..<k { atb[i] += row[i] * Double(p.counts); for j in 0..<k { ata[i * k + j] += row[i] * row[j] } }
        }
        let sol = DenseLinearSolve.solve(ata, atb, n: k) ?? [Double](repeating: 0, count: k)
        var totals: [Int: Double] = [:]
        for (j, c) in cols.enumerated() { totals[c.z, default: 0] += max(0, sol[j]) }
        let all = totals.values.reduce(0, +)
        let zs = elements.filter { totals[$0] != nil }
        let n = Int(all.rounded())
        let compo = zs.map { z -> ElementFraction in
            let f = all > 0 ? totals[z]! / all : 0
            let ci = GSL.binomialInterval(successes: min(n, Int(totals[z]!.rounded())), trials: n)
            return ElementFraction(z: z, fraction: f, sigma: all > 0 ? (f * (1 - f) / all).squareRoot() : 0,
                                   lower95: ci.lower, upper95: ci.upper)
        }
        return (compo, zs.map { ($0, totals[$0]!) })
    }
}
