import Foundation
import TwinCore

/// Voltage and bowl (detector-position) corrections of mass-to-charge, as APyT and AP Suite apply them after the
/// flight-length / t0 calibration: the position of one strong reference peak is measured as a function of V_DC and
/// of the hit position, and every ion's m/n is multiplied by the factor that puts that peak back at its known m/n.
///
/// - Voltage: ions within ±`windowFraction` of the reference are sorted by V_DC into up to 16 groups of equal count
///   (at least `minIons` each); in each the peak position is the mode of a 0.02 %-bin histogram refined by the
///   median of the ions within ±0.1 % of it; c(V) = m_ref / m(V) is fitted by a quadratic in V (least squares, each
///   group weighted by its ions).
/// - Bowl: after the voltage factor, the same per-group position on a 5 × 5 grid of detector x/y (groups with fewer
///   than `minIons` skipped); c(x, y) = a + b x + c y + d x² + e x y + f y² fitted by weighted least squares.
///
/// The reference peak must be the same species everywhere (a main isotope, e.g. ⁵⁶Fe²⁺ at 27.967 Da). Factors
/// outside 0.9–1.1 are refused (the spectrum is not calibrated).
public struct SpectrumCorrections: Sendable {
    /// c(V) = v0 + v1 (V − vRef) + v2 (V − vRef)², V in volts.
    public var voltage: [Double]
    public var voltageReferenceV: Double
    /// c(x, y) coefficients a, b, c, d, e, f (x, y in mm); nil when not fitted.
    public var bowl: [Double]?
    /// Ion groups used for each fit.
    public var voltageGroups: Int
    public var bowlGroups: Int
    /// Peak position spread (max − min of the group positions) before and after, as a fraction of m_ref.
    public var spreadBefore: Double
    public var spreadAfter: Double

    /// Correction factor for one ion.
    public func factor(vDCV: Double, xMM: Double, yMM: Double) -> Double {
        let dv = vDCV - voltageReferenceV
        var c = voltage[0] + voltage[1] * dv + voltage[2] * dv * dv
        if let b = bowl { c *= b[0] + b[1] * xMM + b[2] * yMM + b[3] * xMM * xMM + b[4] * xMM * yMM + b[5] * yMM * yMM }
        return c
    }

    /// Correction factor for ion `i` of `acq` (detector position 0 when the acquisition has none).
    func factor(_ acq: Acquisition, _ i: Int) -> Double {
        let hasD = acq.detectorXMM.count == acq.vDCV.count && acq.detectorYMM.count == acq.vDCV.count
        return factor(vDCV: Double(acq.vDCV[i]), xMM: hasD ? Double(acq.detectorXMM[i]) : 0, yMM: hasD ? Double(acq.detectorYMM[i]) : 0)
    }

    /// Applies the corrections to `masses` (m/n in Da) of `acq`.
    public func apply(_ masses: [Float], _ acq: Acquisition) -> [Float] {
        masses.indices.map { i in Float(Double(masses[i]) * factor(acq, i)) }
    }

    /// Fits the corrections on the reference peak at `referenceDa`.
    /// - Throws: `TwinError.invalidInput` without V_DC, with fewer than 3 voltage groups, or factors outside 0.9–1.1.
    public static func fit(masses: [Float], acquisition acq: Acquisition, referenceDa: Double, bowl: Bool = true,
                           windowFraction: Double = 0.01, minIons: Int = 50) throws -> SpectrumCorrections {
        let n = masses.count
        guard acq.vDCV.count == n else { throw TwinError.invalidInput("voltage correction needs V_DC for every ion") }
        let inWin = (0..<n).filter { abs(Double(masses[$0]) - referenceDa) <= windowFraction * referenceDa }
        let groupsV = min(16, inWin.count / minIons)
        guard groupsV >= 3 else {
            throw TwinError.invalidInput(String(format: "voltage correction: %d ions within ±%.1f %% of %.3f Da; need at least %d", inWin.count, 100 * windowFraction, referenceDa, 3 * minIons))
        }
        func position(_ idx: [Int], _ m: (Int) -> Double) -> Double? {
            guard idx.count >= minIons / 2 else { return nil }
            let bin = 0.0002 * referenceDa, lo = referenceDa * (1 - windowFraction)
            let nb = Int(2 * windowFraction * referenceDa / bin) + 1
            var h = [Int](repeating: 0, count: nb)
            for i in idx { let k = Int((m(i) - lo) / bin); if k >= 0 && k < nb { h[k] += 1 } }
            // Mode on counts smoothed over ±2 bins.
            var best = 0, bestV = -1
            for k in 0..<nb { let s = h[max(0, k - 2)...min(nb - 1, k + 2)].reduce(0, +); if s > bestV { bestV = s; best = k } }
            let mode = lo + (Double(best) + 0.5) * bin
            let near = idx.map(m).filter { abs($0 - mode) <= 0.001 * referenceDa }.sorted()
            return near.isEmpty ? nil : near[near.count / 2]
        }
        // Voltage groups.
        let byV = inWin.sorted { acq.vDCV[$0] < acq.vDCV[$1] }
        let voltageGroups = (0..<groupsV).map { g in Array(byV[(g * byV.count / groupsV)..<((g + 1) * byV.count / groupsV)]) }
        var rows: [(x: Double, c: Double, w: Double)] = []
        var posBefore: [Double] = []
        for part in voltageGroups {
            guard let p = position(part, { Double(masses[$0]) }) else { continue }
            let vMean = part.reduce(0.0) { $0 + Double(acq.vDCV[$1]) } / Double(part.count)
            rows.append((vMean, referenceDa / p, Double(part.count))); posBefore.append(p)
        }
        let vRef = rows.reduce(0.0) { $0 + $1.x * $1.w } / rows.reduce(0.0) { $0 + $1.w }
        let vSpan = (rows.map(\.x).max() ?? vRef) - (rows.map(\.x).min() ?? vRef)
        var coef: [Double]
        if vSpan < 1e-3 * vRef || rows.count < 3 {
            coef = [rows.reduce(0.0) { $0 + $1.c * $1.w } / rows.reduce(0.0) { $0 + $1.w }, 0, 0]   // constant voltage: a scale only
        } else {
            coef = try weightedLeastSquares(rows.map { [1, $0.x - vRef, ($0.x - vRef) * ($0.x - vRef)] }, rows.map(\.c), rows.map(\.w))
        }
        var out = SpectrumCorrections(voltage: coef, voltageReferenceV: vRef, bowl: nil, voltageGroups: rows.count, bowlGroups: 0,
                                      spreadBefore: ((posBefore.max() ?? 0) - (posBefore.min() ?? 0)) / referenceDa, spreadAfter: 0)
        let hasD = acq.detectorXMM.count == n && acq.detectorYMM.count == n
        func mv(_ i: Int) -> Double { Double(masses[i]) * out.factor(vDCV: Double(acq.vDCV[i]), xMM: 0, yMM: 0) }
        if bowl && hasD {
            let xs = inWin.map { Double(acq.detectorXMM[$0]) }, ys = inWin.map { Double(acq.detectorYMM[$0]) }
            let x0 = xs.min()!, x1 = xs.max()!, y0 = ys.min()!, y1 = ys.max()!
            var cells: [[Int]] = Array(repeating: [], count: 25)
            for (k, i) in inWin.enumerated() {
                let cx = min(4, Int(5 * (xs[k] - x0) / max(x1 - x0, 1e-9))), cy = min(4, Int(5 * (ys[k] - y0) / max(y1 - y0, 1e-9)))
                cells[cy * 5 + cx].append(i)
            }
            var brows: [(f: [Double], c: Double, w: Double)] = []
            for cell in cells where cell.count >= minIons {
                guard let p = position(cell, mv) else { continue }
                let cx = cell.reduce(0.0) { $0 + Double(acq.detectorXMM[$1]) } / Double(cell.count)
                let cy = cell.reduce(0.0) { $0 + Double(acq.detectorYMM[$1]) } / Double(cell.count)
                brows.append(([1, cx, cy, cx * cx, cx * cy, cy * cy], referenceDa / p, Double(cell.count)))
            }
            if brows.count >= 6 {
                out.bowl = try weightedLeastSquares(brows.map(\.f), brows.map(\.c), brows.map(\.w))
                out.bowlGroups = brows.count
            }
        }
        // Check: factors in range over the data, spread after.
        for i in inWin {
            let f = out.factor(acq, i)
            guard f > 0.9 && f < 1.1 else {
                throw TwinError.invalidInput(String(format: "voltage/bowl correction: factor %.4f at ion %d is outside 0.9–1.1 (is %.3f Da the reference species, and is the spectrum calibrated?)", f, i, referenceDa))
            }
        }
        let posAfter = voltageGroups.compactMap { part in position(part, { i in Double(masses[i]) * out.factor(acq, i) }) }
        out.spreadAfter = ((posAfter.max() ?? 0) - (posAfter.min() ?? 0)) / referenceDa
        return out
    }

    static func weightedLeastSquares(_ f: [[Double]], _ y: [Double], _ w: [Double]) throws -> [Double] {
        let k = f[0].count
        var a = [Double](repeating: 0, count: k * k), b = [Double](repeating: 0, count: k)
        for (r, row) in f.enumerated() {
            for i in 0..<k { b[i] += w[r] * row[i] * y[r]; for j in 0..<k { a[i * k + j] += w[r] * row[i] * row[j] } }
        }
        guard let s = DenseLinearSolve.solve(a, b, n: k) else { throw TwinError.invalidInput("correction fit is singular") }
        return s
    }
}
