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
    /// Composition through the range table (the user's, or the automatic one), exact counts.
    public var quantification: RangeQuantification?
    /// The same with the local flat-TOF background subtracted under every range.
    public var quantificationLocalBackground: RangeQuantification?
}

/// Spectrum analysis shared by `aptwin spectrum` and the simulation reports.
public enum SpectrumAnalysis {
    /// Analyses `massesDa`.
    ///
    /// - Histogram at `binDa` (0.01 Da) up to `maxDa` (default: 1.05 × the largest m/n, at most 400 Da).
    /// - Background: ``FlatTOFBackground`` (constant counts per ns ⇒ A/√m per bin), subtracted for the metrics.
    /// - Peaks: with `ranges`, one per range, counted exactly from the ion list and quantified
    ///   (``Quantification``, raw and with local background); else with `elements`, ``AutoRanging`` (species-aware
    ///   ranging, then the same quantification of its table); else local maxima identified against every natural
    ///   isotope at charge 1…`maxCharge` within `toleranceDa`.
    /// - Metrics: ``PeakShape/measure(_:nearDa:searchDa:backgroundPerBin:maxHalfWidthDa:)`` on every peak.
    public static func analyze(massesDa: [Float], binDa: Double = 0.01, maxDa: Double? = nil, elements: [Int]? = nil,
                               ranges: RangeTable? = nil, maxCharge: Int = 3, toleranceDa: Double = 0.06,
                               molecules: Bool = true) -> SpectrumReport {
        let top = Double(massesDa.lazy.filter { $0.isFinite }.max() ?? 100)
        let h = MassHistogram(masses: massesDa, binDa: binDa, maxDa: maxDa ?? min(400, max(10, top * 1.05)))
        let bg = FlatTOFBackground.estimate(h)
        let bgBins = bg.perBin(h)
        var peaks: [SpectrumPeak] = []
        var ranging: RangingResult? = nil
        var quant: RangeQuantification? = nil, quantBG: RangeQuantification? = nil
        let sorted = Quantification.sorted(massesDa)
        func countIn(_ lo: Double, _ hi: Double) -> Int {
            Quantification.exactCounts(sortedMasses: sorted, intervals: [(lo, hi)])[0]
        }
        if let ranges {
            let q = Quantification.quantify(sortedMasses: sorted, table: ranges, background: .none)
            quant = q
            quantBG = Quantification.quantify(sortedMasses: sorted, table: ranges, background: .local)
            for r in q.ranges.sorted(by: { $0.lowDa < $1.lowDa }) {
                let ion = ranges.ions.indices.contains(ranges.ranges[r.rangeIndex].ionIndex) ? ranges.ions[ranges.ranges[r.rangeIndex].ionIndex] : RangedIon(name: "?", composition: [])
                let zs = ion.composition.compactMap { PeriodicTable.element(symbol: $0.symbol)?.z }
                let mid = (r.lowDa + r.highDa) / 2
                let m = PeakShape.measure(h, nearDa: mid, searchDa: (r.highDa - r.lowDa) / 2, backgroundPerBin: bgBins)
                let apex = m?.apexDa ?? mid
                // Candidates of the range's ion: its species at every charge with a line inside the range.
                var cands: [String] = []
                if !zs.isEmpty {
                    let atoms = ion.composition.compactMap { e in PeriodicTable.element(symbol: e.symbol).map { (z: $0.z, count: e.count) } }
                    for qc in 1...maxCharge {
                        if let s = IonSpecies(atoms: atoms, charge: qc), s.lines.contains(where: { $0.mnDa >= r.lowDa && $0.mnDa < r.highDa }) { cands.append(s.label) }
                    }
                }
                peaks.append(SpectrumPeak(mnDa: apex, ion: ion.name, candidates: cands, overlap: false, counts: r.counts,
                                          lowDa: r.lowDa, highDa: r.highDa, metrics: m))
            }
        } else if let elements {
            let r = AutoRanging.range(sortedMasses: sorted, histogram: h, elements: elements, maxCharge: maxCharge, molecules: molecules,
                                      toleranceDa: toleranceDa, backgroundPerBin: bgBins)
            ranging = r
            quant = r.ranged
            quantBG = Quantification.quantify(sortedMasses: sorted, table: r.table, background: .local)
            peaks = spectrumPeaks(ranging: r, histogram: h, backgroundPerBin: bgBins, toleranceDa: toleranceDa)
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
            // Peak windows must not overlap: split at the midpoint between neighbours.
            for k in 1..<max(1, peaks.count) where peaks[k].lowDa < peaks[k - 1].highDa {
                let mid = (peaks[k - 1].mnDa + peaks[k].mnDa) / 2
                peaks[k - 1].highDa = mid; peaks[k].lowDa = mid
            }
            for k in peaks.indices { peaks[k].counts = countIn(peaks[k].lowDa, peaks[k].highDa) }
        }
        return SpectrumReport(histogram: h, background: bg, peaks: peaks, ranging: ranging, quantification: quant,
                              quantificationLocalBackground: quantBG)
    }

    /// The peaks of an automatic ranging as ``SpectrumPeak``s, assigned and unassigned in m/n order: labelled by the
    /// isotope line of the dominant species inside the range (`56Fe2+`, `(68CrO)+`; `?` when unassigned), with every
    /// contributing line as a candidate and `overlap` when more than one species holds > 5 % of the net counts.
    public static func spectrumPeaks(ranging r: RangingResult, histogram h: MassHistogram, backgroundPerBin bgBins: [Double],
                                     toleranceDa: Double = 0.06) -> [SpectrumPeak] {
        var peaks: [SpectrumPeak] = []
        for p in (r.peaks + r.unassigned).sorted(by: { $0.lowDa < $1.lowDa }) {
            let m = PeakShape.measure(h, nearDa: p.apexDa, searchDa: 3 * h.binDa, backgroundPerBin: bgBins)
            var lines: [(label: String, ions: Double)] = []
            for c in p.contributions {
                guard let sp = r.species.first(where: { $0.species.label == c.label })?.species else { continue }
                for l in sp.lines where l.mnDa >= p.lowDa && l.mnDa < p.highDa || abs(l.mnDa - p.apexDa) <= toleranceDa {
                    lines.append((sp.isotopeLabel(mnDa: l.mnDa), l.abundance * c.ions))
                }
            }
            lines.sort { $0.ions > $1.ions }
            let ion = lines.first?.label ?? p.assigned?.label ?? "?"
            peaks.append(SpectrumPeak(mnDa: m?.apexDa ?? p.apexDa, ion: p.assigned == nil ? "?" : ion,
                                      candidates: lines.map(\.label).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } },
                                      overlap: p.contributions.filter { $0.ions > 0.05 * p.net }.count > 1, counts: p.counts,
                                      lowDa: p.lowDa, highDa: p.highDa, metrics: m))
        }
        return peaks
    }
}
