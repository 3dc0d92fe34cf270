import Foundation
import MaterialsData
import TwinCore

/// One peak of an analysed spectrum.
public struct SpectrumPeak: Sendable {
    /// Apex m/n, Da.
    public var mnDa: Double
    /// Assigned ion (`56Fe2+`, a range-file ion name, or `?` when nothing natural lies within tolerance).
    public var ion: String
    /// Every candidate isotope/charge within tolerance (more than one element: an overlap such as 54Fe2+/54Cr2+).
    public var candidates: [String]
    /// True if candidates of more than one element coincide.
    public var overlap: Bool
    /// Ions inside [lowDa, highDa].
    public var counts: Int
    public var lowDa: Double
    public var highDa: Double
    public var metrics: PeakMetrics?
}

/// Histogram, background, peaks and (optionally) automatic ranges of a list of m/n values.
public struct SpectrumReport: Sendable {
    public var histogram: MassHistogram
    public var background: FlatTOFBackground
    public var peaks: [SpectrumPeak]
    /// Automatic ranging, when the elements were given.
    public var ranging: RangingResult?
    /// The peaks as ``IdentifiedPeak`` (for plotting and range files).
    public var identifiedPeaks: [IdentifiedPeak]
}

/// Spectrum analysis shared by `aptwin spectrum` and the simulation reports.
public enum SpectrumAnalysis {
    /// Analyses `massesDa`.
    ///
    /// - Histogram at `binDa` (0.01 Da) up to `maxDa` (default: 1.05 × the largest m/n, at most 400 Da).
    /// - Background: ``FlatTOFBackground`` (constant counts per ns ⇒ A/√m per bin), subtracted for the metrics.
    /// - Peaks: with `ranges`, one per range; else with `elements`, ``AutoRanging`` on the background-aware
    ///   spectrum (ranges written by the caller as RRNG); else local maxima identified against every natural
    ///   isotope at charge 1…`maxCharge` within `toleranceDa`.
    /// - Metrics: ``PeakShape/measure(_:nearDa:searchDa:backgroundPerBin:maxHalfWidthDa:)`` on every peak.
    public static func analyze(massesDa: [Float], binDa: Double = 0.01, maxDa: Double? = nil, elements: [Int]? = nil,
                               ranges: RangeTable? = nil, maxCharge: Int = 3, toleranceDa: Double = 0.06) -> SpectrumReport {
        let top = Double(massesDa.lazy.filter { $0.isFinite }.max() ?? 100)
        let h = MassHistogram(masses: massesDa, binDa: binDa, maxDa: maxDa ?? min(400, max(10, top * 1.05)))
        let bg = FlatTOFBackground.estimate(h)
        let bgBins = bg.perBin(h)
        var peaks: [SpectrumPeak] = []
        var ranging: RangingResult? = nil
        func countIn(_ lo: Double, _ hi: Double) -> Int {
            let a = max(0, Int((lo / binDa).rounded())), b = min(h.counts.count, Int((hi / binDa).rounded()))
            return a < b ? h.counts[a..<b].reduce(0) { $0 + Int($1) } : 0
        }
        if let ranges {
            for r in ranges.ranges.sorted(by: { $0.lowDa < $1.lowDa }) {
                let ion = ranges.ions.indices.contains(r.ionIndex) ? ranges.ions[r.ionIndex] : RangedIon(name: "?", composition: [])
                let zs = ion.composition.compactMap { PeriodicTable.element(symbol: $0.symbol)?.z }
                let mid = (r.lowDa + r.highDa) / 2
                let m = PeakShape.measure(h, nearDa: mid, searchDa: (r.highDa - r.lowDa) / 2, backgroundPerBin: bgBins)
                let apex = m?.apexDa ?? mid
                let cands = zs.isEmpty ? [] : PeakIdentification.candidates(mnDa: apex, toleranceDa: toleranceDa, elements: zs, maxCharge: maxCharge)
                peaks.append(SpectrumPeak(mnDa: apex, ion: ion.name, candidates: cands.map(\.label),
                                          overlap: Set(cands.map(\.z)).count > 1, counts: countIn(r.lowDa, r.highDa),
                                          lowDa: r.lowDa, highDa: r.highDa, metrics: m))
            }
        } else if let elements {
            let r = AutoRanging.range(histogram: h, elements: elements, maxCharge: maxCharge, backgroundPerBin: bgBins)
            ranging = r
            for p in r.peaks {
                let m = PeakShape.measure(h, nearDa: p.mnDa, searchDa: 2 * binDa, backgroundPerBin: bgBins)
                let assigned = p.candidates.filter { $0.z == p.assignedZ }.max { $0.abundance < $1.abundance } ?? p.candidates[0]
                peaks.append(SpectrumPeak(mnDa: m?.apexDa ?? p.mnDa, ion: assigned.label, candidates: p.candidates.map(\.label),
                                          overlap: Set(p.candidates.map(\.z)).count > 1, counts: p.counts,
                                          lowDa: p.lowDa, highDa: p.highDa, metrics: m))
            }
        } else {
            for b in PeakIdentification.findPeaks(h, backgroundPerBin: bgBins) {
                let m = PeakShape.measure(h, nearDa: h.centreDa(b), searchDa: binDa, backgroundPerBin: bgBins)
                let apex = h.centreDa(b)
                let cands = PeakIdentification.candidates(mnDa: apex, toleranceDa: toleranceDa, maxCharge: maxCharge)
                let half = max(3 * (m?.fwhmDa ?? 0.02), 0.03)
                peaks.append(SpectrumPeak(mnDa: apex, ion: cands.first?.label ?? "?", candidates: cands.prefix(6).map(\.label),
                                          overlap: Set(cands.prefix(6).map(\.z)).count > 1, counts: countIn(apex - half, apex + half),
                                          lowDa: apex - half, highDa: apex + half, metrics: m))
            }
        }
        let identified = peaks.map { p in
            IdentifiedPeak(mnDa: p.mnDa, lowDa: p.lowDa, highDa: p.highDa, counts: p.counts,
                           candidates: PeakIdentification.candidates(mnDa: p.mnDa, toleranceDa: toleranceDa, elements: elements, maxCharge: maxCharge),
                           assignedZ: 0)
        }
        return SpectrumReport(histogram: h, background: bg, peaks: peaks, ranging: ranging, identifiedPeaks: identified)
    }
}
