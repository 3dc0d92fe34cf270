import Foundation
import GSLKit
import MaterialsData
import TwinCore

/// How the background under each range is estimated before quantification.
public enum BackgroundCorrection: String, Sendable, CaseIterable {
    /// Raw counts, as APAV's `RangedMassSpectrum` and IVAS's default ranged composition.
    case none
    /// Local flat-TOF background: b(m) = A/√m per bin fitted on free bins just below each range (the usual
    /// "fit before the peak"), integrated over the range and subtracted.
    case local
}

/// One range of a quantified range table.
public struct QuantifiedRange: Sendable {
    /// Index into the range table's `ranges`.
    public var rangeIndex: Int
    /// The ion's name in the range table (`Si`, `CrO`, a custom label).
    public var ion: String
    public var lowDa: Double
    public var highDa: Double
    /// Ions with lowDa ≤ m/n < highDa, counted from the ion list (never from histogram bins).
    public var counts: Int
    /// Estimated background ions inside the range (0 without background correction).
    public var background: Double
    /// counts − background, ≥ 0.
    public var net: Double
    /// 1σ of `net`: √(counts + var(background)).
    public var sigma: Double
    /// Where the local background was fitted ("below", "above", "global" when no free bins were found nearby).
    public var backgroundWindow: String
}

/// An element's share of the quantified atoms.
public struct ElementShare: Sendable {
    public var z: Int
    public var symbol: String
    /// Atoms of this element: Σ over ranges of (atoms of the element in the range's ion) × net ions.
    public var atoms: Double
    public var fraction: Double
    /// 1σ counting error of the fraction, propagated from the Poisson error of every range (for monatomic ions
    /// only this is the binomial √(f(1 − f)/N)).
    public var sigma: Double
}

/// Composition of a set of ions through a range table.
public struct RangeQuantification: Sendable {
    public var ranges: [QuantifiedRange]
    /// Element fractions in order of decreasing fraction (molecular ions decomposed into their atoms).
    public var elements: [ElementShare]
    /// Net ions per ion species of the table (summed over its ranges), in table order.
    public var ionCounts: [(name: String, ions: Double)]
    /// Ions that fall in at least one range (raw counts), and all ions given.
    public var rangedIons: Int
    public var totalIons: Int
    public var background: BackgroundCorrection
    /// Ranges whose ion has no elemental composition (custom `Name:` ions): counted, not in the element shares.
    public var notes: [String]
}

/// Exact range counting and composition with counting errors (formats.md RRNG semantics; APAV `RangedMassSpectrum`
/// decompose=True when `background` is `.none`).
public enum Quantification {
    /// Counts of `masses` in each half-open interval [low, high), from the sorted ion list: the same convention as
    /// APAV (`mass >= lower & mass < upper`). Non-finite masses are never counted.
    public static func exactCounts(sortedMasses s: [Float], intervals: [(low: Double, high: Double)]) -> [Int] {
        intervals.map { iv in
            guard iv.high > iv.low else { return 0 }
            return lowerBound(s, iv.high) - lowerBound(s, iv.low)
        }
    }

    /// First index whose value is ≥ x (values compared in Double, as APAV compares float32 masses to float64 bounds).
    static func lowerBound(_ s: [Float], _ x: Double) -> Int {
        var lo = 0, hi = s.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if Double(s[mid]) < x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Finite masses, sorted ascending.
    public static func sorted(_ masses: [Float]) -> [Float] { masses.filter { $0.isFinite }.sorted() }

    /// Quantifies `masses` with a range table.
    ///
    /// - Counts: exact, [low, high) per range (``exactCounts(sortedMasses:intervals:)``).
    /// - Background (`.local`): a flat-TOF background b(m) = A/√m per Da (uncorrelated arrivals are uniform in
    ///   time, and dt/dm ∝ 1/√m) is fitted on up to `windowDa` of bins free of any range, starting `gapDa` below
    ///   the range and walking down (at most 5 Da); A = N_w / ∫_w m^{-1/2} dm (Poisson maximum likelihood for one
    ///   scale), background ions in the range B = A·2(√high − √low), var(B) = B²/max(N_w, 1). With no free bins
    ///   below, the window is taken above the range, then the whole spectrum's robust level
    ///   (``FlatTOFBackground``) is used.
    /// - Composition: atoms of element e, N_e = Σ_r s_{e,r} n_r with s_{e,r} the atoms of e in range r's ion and
    ///   n_r the net ions; f_e = N_e/Σ N; var(f_e) = Σ_r var(n_r)(s_{e,r} − f_e S_r)²/(Σ N)², S_r = Σ_e s_{e,r}.
    public static func quantify(masses: [Float], table: RangeTable, background: BackgroundCorrection = .none,
                                windowDa: Double = 1.0, gapDa: Double = 0.05) -> RangeQuantification {
        quantify(sortedMasses: sorted(masses), table: table, background: background, windowDa: windowDa, gapDa: gapDa)
    }

    /// As ``quantify(masses:table:background:windowDa:gapDa:)`` on masses already sorted (``sorted(_:)``).
    public static func quantify(sortedMasses s: [Float], table: RangeTable, background: BackgroundCorrection = .none,
                                windowDa: Double = 1.0, gapDa: Double = 0.05) -> RangeQuantification {
        let rs = table.ranges
        let counts = exactCounts(sortedMasses: s, intervals: rs.map { ($0.lowDa, $0.highDa) })
        // Busy intervals: every range widened by the gap.
        let busy = rs.map { (lo: $0.lowDa - gapDa, hi: $0.highDa + gapDa) }.sorted { $0.lo < $1.lo }
        func freeSegments(from start: Double, downTo limit: Double) -> [(Double, Double)] {
            // Free parts of [limit, start], nearest first (descending).
            var segs: [(Double, Double)] = [], top = start
            for b in busy.reversed() where b.lo < top {
                if b.hi < top { segs.append((max(b.hi, limit), top)) }
                top = min(top, b.lo)
                if top <= limit { break }
            }
            if top > limit { segs.append((limit, top)) }
            return segs.filter { $0.1 > $0.0 }
        }
        func freeSegmentsUp(from start: Double, upTo limit: Double) -> [(Double, Double)] {
            var segs: [(Double, Double)] = [], bottom = start
            for b in busy where b.hi > bottom {
                if b.lo > bottom { segs.append((bottom, min(b.lo, limit))) }
                bottom = max(bottom, b.hi)
                if bottom >= limit { break }
            }
            if bottom < limit { segs.append((bottom, limit)) }
            return segs.filter { $0.1 > $0.0 }
        }
        func take(_ segs: [(Double, Double)], descending: Bool) -> [(Double, Double)] {
            var out: [(Double, Double)] = [], left = windowDa
            for g in segs where left > 0 {
                let w = min(left, g.1 - g.0)
                out.append(descending ? (g.1 - w, g.1) : (g.0, g.0 + w)); left -= w
            }
            return out
        }
        var global: FlatTOFBackground? = nil
        var quantified: [QuantifiedRange] = []
        for (i, r) in rs.enumerated() {
            let ionName = table.ions.indices.contains(r.ionIndex) ? table.ions[r.ionIndex].name : "?"
            var b = 0.0, varB = 0.0, window = "none"
            if background == .local {
                let lowLimit = max(0.5, r.lowDa - 5)
                var w = take(freeSegments(from: r.lowDa - gapDa, downTo: lowLimit), descending: true)
                window = "below"
                if w.reduce(0, { $0 + $1.1 - $1.0 }) < 0.25 * windowDa {
                    w = take(freeSegmentsUp(from: r.highDa + gapDa, upTo: r.highDa + 5), descending: false); window = "above"
                }
                let integral = w.reduce(0.0) { $0 + 2 * ($1.1.squareRoot() - max($1.0, 1e-9).squareRoot()) }
                if integral > 0 && w.reduce(0, { $0 + $1.1 - $1.0 }) >= 0.25 * windowDa {
                    let nw = exactCounts(sortedMasses: s, intervals: w.map { ($0.0, $0.1) }).reduce(0, +)
                    let a = Double(nw) / integral
                    b = a * 2 * (r.highDa.squareRoot() - max(r.lowDa, 0).squareRoot())
                    varB = b * b / Double(max(nw, 1))
                } else {
                    if global == nil {
                        global = FlatTOFBackground.estimate(MassHistogram(masses: s, binDa: 0.01, maxDa: Double(s.last ?? 100) * 1.01 + 1))
                    }
                    let a = global!.amplitude / 0.01            // counts per bin × √Da → per Da × √Da
                    b = a * 2 * (r.highDa.squareRoot() - max(r.lowDa, 0).squareRoot())
                    varB = b                                    // Poisson-like uncertainty of the level
                    window = "global"
                }
                b = min(b, Double(counts[i]))
            }
            let net = max(0, Double(counts[i]) - b)
            quantified.append(QuantifiedRange(rangeIndex: i, ion: ionName, lowDa: r.lowDa, highDa: r.highDa, counts: counts[i],
                                              background: b, net: net, sigma: (Double(counts[i]) + varB).squareRoot(),
                                              backgroundWindow: window))
        }
        // Ranged ions (union of the ranges, so overlapping ranges are not counted twice).
        let merged = mergeIntervals(rs.map { ($0.lowDa, $0.highDa) })
        let ranged = exactCounts(sortedMasses: s, intervals: merged).reduce(0, +)
        let (shares, notes) = composition(of: quantified, table: table)
        var ionTotals: [(String, Double)] = table.ions.map { ($0.name, 0) }
        for q in quantified where table.ions.indices.contains(rs[q.rangeIndex].ionIndex) { ionTotals[rs[q.rangeIndex].ionIndex].1 += q.net }
        return RangeQuantification(ranges: quantified, elements: shares, ionCounts: ionTotals.map { (name: $0.0, ions: $0.1) },
                                   rangedIons: ranged, totalIons: s.count, background: background, notes: notes)
    }

    /// Element shares of quantified ranges (see ``quantify(masses:table:background:windowDa:gapDa:)``).
    static func composition(of q: [QuantifiedRange], table: RangeTable) -> ([ElementShare], [String]) {
        var order: [String] = []
        var stoich: [[String: Int]] = []
        var notes: [String] = []
        for r in q {
            let ionIndex = table.ranges[r.rangeIndex].ionIndex
            var d: [String: Int] = [:]
            if table.ions.indices.contains(ionIndex) {
                for e in table.ions[ionIndex].composition { d[e.symbol, default: 0] += e.count; if !order.contains(e.symbol) { order.append(e.symbol) } }
            }
            if d.isEmpty { notes.append("range \(r.rangeIndex + 1) (\(r.ion), \(r.lowDa)–\(r.highDa) Da) has no elemental composition: counted as an ion, not in the element shares") }
            stoich.append(d)
        }
        var atoms = [String: Double]()
        for (k, r) in q.enumerated() { for (e, c) in stoich[k] { atoms[e, default: 0] += Double(c) * r.net } }
        let total = atoms.values.reduce(0, +)
        var shares: [ElementShare] = []
        for sym in order {
            let n = atoms[sym] ?? 0, f = total > 0 ? n / total : 0
            var v = 0.0
            for (k, r) in q.enumerated() {
                let s = Double(stoich[k][sym] ?? 0), S = Double(stoich[k].values.reduce(0, +))
                let d = s - f * S
                v += r.sigma * r.sigma * d * d
            }
            shares.append(ElementShare(z: PeriodicTable.element(symbol: sym)?.z ?? 0, symbol: sym, atoms: n, fraction: f,
                                       sigma: total > 0 ? v.squareRoot() / total : 0))
        }
        shares.sort { ($0.fraction, $0.symbol) > ($1.fraction, $1.symbol) }
        return (shares, notes)
    }

    /// Union of intervals as disjoint [low, high) pieces.
    static func mergeIntervals(_ iv: [(Double, Double)]) -> [(low: Double, high: Double)] {
        var out: [(low: Double, high: Double)] = []
        for (a, b) in iv.filter({ $0.1 > $0.0 }).sorted(by: { $0.0 < $1.0 }) {
            if let last = out.last, a <= last.high { out[out.count - 1].high = max(last.high, b) } else { out.append((a, b)) }
        }
        return out
    }
}
