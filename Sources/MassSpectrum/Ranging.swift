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

/// A peak of an automatically ranged spectrum.
public struct RangedPeak: Sendable {
    /// Apex m/n of the smoothed spectrum, Da.
    public var apexDa: Double
    /// The range, [lowDa, highDa).
    public var lowDa: Double
    public var highDa: Double
    /// Ions in the range (exact count from the ion list).
    public var counts: Int
    /// Local flat-TOF background ions in the range (see ``Quantification``).
    public var background: Double
    /// The species this range is assigned to (largest fitted contribution), or nil when unassigned.
    public var assigned: IonSpecies?
    /// Fitted ions of each contributing species in this range (label, ions), largest first.
    public var contributions: [(label: String, ions: Double)]
    /// Labels of every candidate species with a line in the range.
    public var candidates: [String]
    /// Why the peak is unassigned (no candidate line, or the candidates explain too little of it).
    public var unassignedReason: String?
    public var net: Double { max(0, Double(counts) - background) }
}

/// A species' fitted amount in the whole spectrum.
public struct FittedSpecies: Sendable {
    public var species: IonSpecies
    /// Ions of the species over all its lines (ranged or not): its share of the assigned peaks' net counts (shared
    /// by the isotope-pattern fit) divided by `coverage`.
    public var ions: Double
    /// 1σ counting error: √(ions / coverage), coverage the summed abundance of its lines that fall in ranges.
    public var sigma: Double
    /// Summed abundance of the species' lines that fall in assigned peaks.
    public var coverage: Double
}

/// Result of automatic ranging.
public struct RangingResult: Sendable {
    /// The range table (one ion per formula; written as RRNG).
    public var table: RangeTable
    /// Assigned peaks, in m/n order (one range each, in `table` order).
    public var peaks: [RangedPeak]
    /// Significant peaks that no candidate explains, with their counts (not in `table`).
    public var unassigned: [RangedPeak]
    /// Species with a non-zero fitted amount, largest first.
    public var species: [FittedSpecies]
    /// Atom fractions from the isotope-pattern decomposition (overlaps such as ⁵⁴Fe²⁺/⁵⁴Cr²⁺ or ²H⁺/H₂⁺ split by
    /// the fitted species, molecular ions broken into atoms), with the 1σ counting error and the 95 %
    /// Clopper–Pearson interval on the decomposed atom count.
    public var composition: [ElementFraction]
    /// Decomposed atom counts by Z.
    public var elementCounts: [(z: Int, count: Double)]
    /// The composition that the written range table gives with exact counts (what APAV or IVAS compute from
    /// `table` without background correction).
    public var ranged: RangeQuantification
    /// Fraction of all ions that fall in assigned ranges, and in unassigned peaks.
    public var assignedFraction: Double
    public var unassignedFraction: Double
    /// Weighted residual of the pattern fit, √(χ²/rows).
    public var fitResidual: Double
}

/// **Automatic ranging that knows APT spectra.**
///
/// 1. Peaks: maxima of the spectrum smoothed over ±2 bins that stand at least 5 √B above the flat-TOF background B
///    (``FlatTOFBackground``) and hold at least `minCounts` net ions, above 0.5 Da.
/// 2. Range of a peak: from the apex outwards while the smoothed counts stay above background + 1 % of the peak's
///    net height, cut at the minimum between neighbouring peaks, at most max(0.15 Da, 1 %) below and
///    max(1 Da, 4 %) above the apex (tails). No range starts below 0.5 Da.
/// 3. Candidates: ``IonSpecies/candidates(elements:maxCharge:molecules:)`` — atoms, hydrogen and the common
///    molecular ions the given elements allow.
/// 4. Fit: exact net counts of every peak (local background subtracted) and of every significant line of a
///    candidate that falls in no peak (observed ≈ 0 there) are modelled as Σ_s N_s a_{s,r}, a the summed abundance
///    of species s's lines in row r; the N_s ≥ 0 minimise the weighted χ² (σ² = C + 1 + (0.05 C)²: counting and
///    a 5 % pattern error: isotope ratios of the largest real peaks are off by several per cent from detector dead time) plus a small relative penalty 0.02 (atoms − 1 + (charge − 1)/2) of each species' weighted signal, so that where the data
///    cannot tell two species apart (¹⁶O⁺ / ¹⁶O₂²⁺) the simpler one is taken (coordinate descent on the
///    convex problem). Isotope patterns tie the peaks of a species together across the whole spectrum: 2 Da is
///    H₂⁺, not ²H⁺, because ²H⁺ would need 8,700 × its counts at 1 Da.
/// 5. Assignment: each range goes to the species with the largest fitted share of it; a peak with no candidate
///    line, or of which the candidates explain < 30 %, is reported as unassigned with its counts.
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

    /// Ranges `masses` (m/n, Da) whose elements are known. `histogram`: the spectrum of the same masses
    /// (0.01 Da bins recommended); `backgroundPerBin`: flat-TOF background per bin (default: estimated).
    public static func range(masses: [Float], histogram h: MassHistogram, elements: [Int], maxCharge: Int = 3,
                             molecules: Bool = true, toleranceDa: Double = 0.06, minCounts: Int = 10,
                             backgroundPerBin: [Double]? = nil) -> RangingResult {
        range(sortedMasses: Quantification.sorted(masses), histogram: h, elements: elements, maxCharge: maxCharge,
              molecules: molecules, toleranceDa: toleranceDa, minCounts: minCounts, backgroundPerBin: backgroundPerBin)
    }

    /// As ``range(masses:histogram:elements:maxCharge:molecules:toleranceDa:minCounts:backgroundPerBin:)`` on masses
    /// already sorted by ``Quantification/sorted(_:)`` (a caller that quantifies too sorts them once).
    public static func range(sortedMasses sorted: [Float], histogram h: MassHistogram, elements: [Int], maxCharge: Int = 3,
                             molecules: Bool = true, toleranceDa: Double = 0.06, minCounts: Int = 10,
                             backgroundPerBin: [Double]? = nil) -> RangingResult {
        let c = h.counts, nb = c.count
        let bg = backgroundPerBin?.count == nb ? backgroundPerBin! : FlatTOFBackground.estimate(h).perBin(h)
        let k = 2
        var prefix = [Double](repeating: 0, count: nb + 1)
        for i in 0..<nb { prefix[i + 1] = prefix[i] + Double(c[i]) }
        func window(_ i: Int) -> (sum: Double, bins: Int) {
            let a = max(0, i - k), b = min(nb - 1, i + k)
            return (prefix[b + 1] - prefix[a], b - a + 1)
        }
        func smooth(_ i: Int) -> Double { let w = window(i); return w.sum / Double(w.bins) }
        // 1. Peaks.
        let sep = max(3, Int((0.08 / h.binDa).rounded()))
        let firstBin = Int((0.5 / h.binDa).rounded(.up))
        var apexes: [Int] = []
        var i = max(firstBin, 1)
        while i < nb - 1 {
            let s = smooth(i)
            let w = window(i), bsum = bg[i] * Double(w.bins)
            let net = w.sum - bsum
            if net >= Double(minCounts) && net >= 5 * (bsum + 1).squareRoot() {
                var isMax = true
                for j in max(0, i - sep)...min(nb - 1, i + sep) where j != i {
                    let sj = smooth(j)
                    if sj > s || (sj == s && j < i) { isMax = false; break }
                }
                if isMax { apexes.append(i); i += sep; continue }
            }
            i += 1
        }
        // Unresolved maxima: two neighbouring maxima whose valley stays above 60 % of the lower one's net height are
        // one peak (a broad, noisy top or a shoulder), kept at the higher maximum.
        var merged = true
        while merged && apexes.count > 1 {
            merged = false
            for n in 0..<(apexes.count - 1) {
                let a = apexes[n], b = apexes[n + 1]
                let v = argMinSmooth(a, b, smooth)
                let lower = min(smooth(a) - bg[a], smooth(b) - bg[b])
                if smooth(v) - bg[v] > 0.6 * lower {
                    apexes.remove(at: smooth(a) >= smooth(b) ? n + 1 : n); merged = true; break
                }
            }
        }
        // 2. Ranges.
        var bounds: [(lo: Int, hi: Int)] = []
        for (n, p) in apexes.enumerated() {
            let height = smooth(p) - bg[p]
            let minLo = n > 0 ? argMinSmooth(apexes[n - 1], p, smooth) + 1 : firstBin
            let maxHi = n + 1 < apexes.count ? argMinSmooth(p, apexes[n + 1], smooth) : nb - 1
            let m = h.centreDa(p)
            let loCap = max(minLo, p - Int((max(0.15, 0.01 * m) / h.binDa).rounded()))
            let hiCap = min(maxHi, p + Int((max(1.0, 0.04 * m) / h.binDa).rounded()))
            func above(_ b: Int) -> Bool { smooth(b) > bg[b] + 0.01 * height }
            var lo = p, hi = p
            while lo - 1 >= loCap && above(lo - 1) { lo -= 1 }
            while hi + 1 <= hiCap && above(hi + 1) { hi += 1 }
            bounds.append((lo, hi))
        }
        var provisional = RangeTable(ions: [RangedIon(name: "peak", composition: [])])
        for b in bounds {
            provisional.ranges.append(MassRange(lowDa: roundDa(Double(b.lo) * h.binDa), highDa: roundDa(Double(b.hi + 1) * h.binDa), ionIndex: 0))
        }
        let q0 = Quantification.quantify(sortedMasses: sorted, table: provisional, background: .local)
        // 3. Candidates and the lines of each that fall in a peak.
        let species = IonSpecies.candidates(elements: elements, maxCharge: maxCharge, molecules: molecules)
        let apexDa = apexes.map { apexRefined($0, h, smooth) }
        // A line belongs to the peak whose apex is nearest within tolerance (a calibration a few 0.01 Da off, or a
        // neighbouring peak's tail range reaching over the line), else to the range that contains it.
        func peakOf(_ mn: Double) -> Int? {
            let tol = max(toleranceDa, 0.001 * mn)
            var best: Int? = nil
            for n in apexDa.indices where abs(mn - apexDa[n]) <= tol {
                if best == nil || abs(mn - apexDa[n]) < abs(mn - apexDa[best!]) { best = n }
            }
            if let best { return best }
            return provisional.ranges.firstIndex { mn >= $0.lowDa && mn < $0.highDa }
        }
        let np = apexes.count
        // Fraction of a peak's ions within ±hw of its apex: the coefficient of a line that shows no peak.
        func halfWidth(_ mn: Double) -> Double { max(0.03, 0.001 * mn) }
        var kappas: [Double] = []
        for n in 0..<np where q0.ranges[n].net > 200 {
            let hw = halfWidth(apexDa[n])
            let inner = Quantification.exactCounts(sortedMasses: sorted, intervals: [(apexDa[n] - hw, apexDa[n] + hw)])[0]
            kappas.append(min(1, Double(inner) / max(1, Double(q0.ranges[n].counts))))
        }
        kappas.sort()
        let kappa = kappas.isEmpty ? 0.7 : kappas[kappas.count / 2]
        var columns: [(s: IonSpecies, rows: [Int: Double], coverage: Double)] = []
        var absentRows: [(mn: Double, obs: Double, raw: Double)] = []
        var absentIndex: [String: Int] = [:]
        for s in species {
            var rows: [Int: Double] = [:], cov = 0.0, matched = false
            var absent: [(Double, Double)] = []
            for l in s.lines {
                if let p = peakOf(l.mnDa) { rows[p, default: 0] += l.abundance; cov += l.abundance; matched = true }
                else if l.abundance >= 0.01 && l.mnDa >= 0.5 { absent.append((l.mnDa, l.abundance)) }
            }
            guard matched else { continue }
            for (mn, a) in absent {
                let key = String(format: "%.3f", mn)
                let r: Int
                if let j = absentIndex[key] { r = j } else {
                    let hw = halfWidth(mn)
                    let raw = Double(Quantification.exactCounts(sortedMasses: sorted, intervals: [(mn - hw, mn + hw)])[0])
                    let b = bgCount(mn - hw, mn + hw, h, bg)
                    absentRows.append((mn, max(0, raw - b), raw)); r = absentRows.count - 1; absentIndex[key] = r
                }
                rows[np + r, default: 0] += a * kappa
            }
            columns.append((s, rows, cov))
        }
        // 4. Fit.
        let nRows = np + absentRows.count
        var obs = [Double](repeating: 0, count: nRows), w = [Double](repeating: 0, count: nRows)
        for n in 0..<np { obs[n] = q0.ranges[n].net; let cn = Double(q0.ranges[n].counts); w[n] = 1 / (cn + 1 + 0.0025 * cn * cn) }
        for (j, a) in absentRows.enumerated() { obs[np + j] = a.obs; w[np + j] = 1 / (a.raw + 1 + 0.0025 * a.raw * a.raw) }
        let penalty = columns.map { 0.02 * (Double($0.s.atomCount - 1) + 0.5 * Double($0.s.charge - 1)) }
        let x = penalisedNNLS(columns: columns.map(\.rows), obs: obs, weights: w, penalty: penalty)
        var chi2 = 0.0
        for r in 0..<nRows {
            var model = 0.0
            for (j, col) in columns.enumerated() { model += (col.rows[r] ?? 0) * x[j] }
            chi2 += w[r] * (model - obs[r]) * (model - obs[r])
        }
        // 5. Assignment.
        var peaks: [RangedPeak] = [], unassigned: [RangedPeak] = []
        var assignedRows: [Int] = []      // fit row (= provisional peak index) of each assigned peak
        for n in 0..<np {
            var contrib: [(label: String, ions: Double, s: IonSpecies)] = []
            var cands: [String] = []
            for (j, col) in columns.enumerated() {
                guard let a = col.rows[n] else { continue }
                cands.append(col.s.label)
                if x[j] * a > 0 { contrib.append((col.s.label, x[j] * a, col.s)) }
            }
            contrib.sort { $0.ions > $1.ions }
            let r = q0.ranges[n]
            var peak = RangedPeak(apexDa: apexDa[n], lowDa: r.lowDa, highDa: r.highDa, counts: r.counts, background: r.background,
                                  assigned: nil, contributions: contrib.map { (label: $0.label, ions: $0.ions) },
                                  candidates: cands, unassignedReason: nil)
            let explained = contrib.reduce(0) { $0 + $1.ions }
            if cands.isEmpty {
                peak.unassignedReason = "no candidate ion of the given elements within tolerance"
                unassigned.append(peak)
            } else if explained < 0.3 * r.net || contrib.isEmpty {
                peak.unassignedReason = String(format: "candidates explain %.0f %% of the net counts", 100 * explained / max(r.net, 1))
                unassigned.append(peak)
            } else {
                peak.assigned = contrib[0].s
                peaks.append(peak); assignedRows.append(n)
            }
        }
        // Range table: one ion per formula, in order of first appearance by m/n.
        var table = RangeTable()
        let palette = ["FF0000", "0000FF", "00AA00", "FF8800", "AA00AA", "00AAAA", "888800", "444444", "CC3366", "3366CC", "66AA33", "996633"]
        var ionIndex: [String: Int] = [:]
        for p in peaks {
            let s = p.assigned!
            let idx: Int
            if let j = ionIndex[s.formula] { idx = j } else {
                idx = table.ions.count; ionIndex[s.formula] = idx
                table.ions.append(RangedIon(name: s.formula, composition: s.atoms.map { ElementCount(PeriodicTable.symbol(z: $0.z), $0.count) }))
            }
            let vol = s.atoms.reduce(0.0) { acc, a in acc + Double(a.count) * (PeriodicTable.lattice(z: a.z).map { 1 / $0.numberDensityPerNM3 } ?? 0) }
            table.ranges.append(MassRange(lowDa: p.lowDa, highDa: p.highDa, ionIndex: idx, volumeNM3: vol, colorHex: palette[idx % palette.count]))
        }
        let ranged = Quantification.quantify(sortedMasses: sorted, table: table, background: .none)
        // Decomposed composition.
        // Amounts from the counts: each assigned peak's net ions are shared among its contributing species in
        // proportion to their fitted contributions, and a species' total is its share of counts over the summed
        // abundance of its lines that fall in assigned peaks. The fit only decides the sharing of overlaps; a species'
        // amount then rests on its largest peaks, not on the ratio of its small ones.
        var counted = [Double](repeating: 0, count: columns.count), covered = [Double](repeating: 0, count: columns.count)
        for n in assignedRows {
            let model = columns.indices.reduce(0.0) { $0 + (columns[$1].rows[n] ?? 0) * x[$1] }
            guard model > 0 else { continue }
            for j in columns.indices where x[j] > 0 {
                guard let a = columns[j].rows[n] else { continue }
                counted[j] += q0.ranges[n].net * a * x[j] / model
                covered[j] += a
            }
        }
        var fitted: [FittedSpecies] = []
        for (j, col) in columns.enumerated() where x[j] > 0 && covered[j] > 0 {
            let ions = counted[j] / covered[j]
            fitted.append(FittedSpecies(species: col.s, ions: ions, sigma: (ions / max(covered[j], 1e-3)).squareRoot(), coverage: covered[j]))
        }
        fitted.sort { $0.ions > $1.ions }
        var atoms: [Int: Double] = [:]
        for f in fitted { for a in f.species.atoms { atoms[a.z, default: 0] += Double(a.count) * f.ions } }
        let total = atoms.values.reduce(0, +)
        let nTot = Int(total.rounded())
        var compo: [ElementFraction] = []
        for z in elements where atoms[z] != nil {
            let f = total > 0 ? atoms[z]! / total : 0
            var v = 0.0
            for s in fitted {
                let ne = Double(s.species.atoms.first { $0.z == z }?.count ?? 0), ns = Double(s.species.atomCount)
                v += s.sigma * s.sigma * (ne - f * ns) * (ne - f * ns)
            }
            let ci = GSL.binomialInterval(successes: min(nTot, Int(atoms[z]!.rounded())), trials: max(nTot, 1))
            compo.append(ElementFraction(z: z, fraction: f, sigma: total > 0 ? v.squareRoot() / total : 0, lower95: ci.lower, upper95: ci.upper))
        }
        let all = Double(max(sorted.count, 1))
        return RangingResult(table: table, peaks: peaks, unassigned: unassigned, species: fitted, composition: compo,
                             elementCounts: compo.map { ($0.z, atoms[$0.z]!) }, ranged: ranged,
                             assignedFraction: Double(ranged.rangedIons) / all,
                             unassignedFraction: Double(unassigned.reduce(0) { $0 + $1.counts }) / all,
                             fitResidual: (chi2 / Double(max(nRows, 1))).squareRoot())
    }

    /// Range bounds are written with 4 decimals (RRNG); rounding here keeps the counted and written ranges equal.
    static func roundDa(_ x: Double) -> Double { (x * 1e4).rounded() / 1e4 }

    static func argMinSmooth(_ a: Int, _ b: Int, _ smooth: (Int) -> Double) -> Int {
        var best = a + 1
        for i in (a + 1)..<b where smooth(i) < smooth(best) { best = i }
        return best
    }

    /// Apex: vertex of the parabola through the smoothed maximum and its neighbours.
    static func apexRefined(_ p: Int, _ h: MassHistogram, _ smooth: (Int) -> Double) -> Double {
        guard p > 0, p + 1 < h.counts.count else { return h.centreDa(p) }
        let a = smooth(p - 1), b = smooth(p), d = smooth(p + 1), den = a - 2 * b + d
        return h.centreDa(p) + (den < 0 ? 0.5 * (a - d) / den * h.binDa : 0)
    }

    /// Background ions expected in [lo, hi) from a per-bin background.
    static func bgCount(_ lo: Double, _ hi: Double, _ h: MassHistogram, _ bg: [Double]) -> Double {
        let a = max(0, Int(lo / h.binDa)), b = min(bg.count - 1, Int(hi / h.binDa))
        guard a <= b else { return 0 }
        return bg[a...b].reduce(0, +) * (hi - lo) / (Double(b - a + 1) * h.binDa)
    }

    /// min Σ_r w_r (Σ_j A_rj x_j − b_r)² + Σ_j λ_j g_j x_j over x ≥ 0 (A sparse by column, g = AᵀWb), by cyclic
    /// coordinate descent on the normal equations. The penalty is relative (λ_j = 0.02 × the species' complexity,
    /// in units of its own weighted signal g_j), so it is the same for a 100-ion and a 10⁶-ion peak; where two
    /// species explain the data equally the simpler one takes it.
    static func penalisedNNLS(columns: [[Int: Double]], obs: [Double], weights: [Double], penalty: [Double]) -> [Double] {
        let m = columns.count
        guard m > 0 else { return [] }
        var hmat = [Double](repeating: 0, count: m * m), g = [Double](repeating: 0, count: m)
        for j in 0..<m {
            for (r, a) in columns[j] { g[j] += weights[r] * a * obs[r] }
            for k in j..<m {
                var s = 0.0
                for (r, a) in columns[j] { if let b = columns[k][r] { s += weights[r] * a * b } }
                hmat[j * m + k] = s; hmat[k * m + j] = s
            }
        }
        var x = [Double](repeating: 0, count: m)
        for _ in 0..<20_000 {
            var change = 0.0, scale = 0.0
            for j in 0..<m where hmat[j * m + j] > 0 {
                var s = g[j] * (1 - 0.5 * penalty[j])
                for k in 0..<m where k != j { s -= hmat[j * m + k] * x[k] }
                let nx = max(0, s / hmat[j * m + j])
                change = max(change, abs(nx - x[j])); scale = max(scale, nx)
                x[j] = nx
            }
            if change <= 1e-9 * max(scale, 1) { break }
        }
        return x
    }
}
