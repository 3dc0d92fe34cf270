import Foundation
import MaterialsData
import TwinCore

/// Result of fitting t0 and the flight length to known isotope peaks.
public struct CalibrationFit: Sendable {
    /// The fitted calibration (α, β as given).
    public var calibration: TOFCalibration
    /// Peaks used: label, known m/n, mean fitted m/n of the ions within ±0.08 % of the known value, ions near the peak.
    public var peaks: [(label: String, knownDa: Double, fittedDa: Double, ions: Int)]
    /// RMS of (fitted − known), Da.
    public var rmsResidualDa: Double
}

extension TOFCalibration {
    /// Fits t0 and the flight length L to the isotope peaks of one element (`--calibrate ELEMENT`).
    ///
    /// Model (instrument-and-physics §3): √(m/n) = √(2e V_eff) (t − t0)/L_eff, L_eff = √(L² + x_D² + y_D²),
    /// V_eff = α(V_DC + β V_p). For ion i write g_i = √(2e V_eff,i)·L/L_eff,i; then a peak k of known m_k
    /// satisfies √m_k = (⟨g t⟩_k − t0 ⟨g⟩_k)/L, which is linear in (1/L, t0/L): least squares over the peaks on
    /// √(m/n) versus t, each peak weighted by its ion count (a minor isotope's noisy mode must not tilt the line). The L inside L/L_eff and the peak membership are refreshed and the fit repeated
    /// (5 rounds).
    ///
    /// Peaks: the element's isotopes at charge 1…`maxCharge`, those whose provisional position holds at least
    /// `minIons` ions within ±0.4 % of m/n; each peak is represented by the ions within ±0.08 % of its mode (so a
    /// high-mass tail does not bias it). The provisional spectrum is first aligned by a single scale factor:
    /// among the five highest maxima within ±15 % of the most abundant isotope (any charge state), the one whose
    /// neighbours best match the natural isotope pattern is taken as that isotope, so the starting calibration
    /// need only be roughly right (and ⁵²Cr²⁺ is not mistaken for ⁵⁶Fe²⁺).
    /// - Throws: `TwinError.invalidInput` if the acquisition lacks TOF or voltages, or fewer than two peaks are
    ///   found (one peak cannot separate t0 from L).
    public func fitted(to acq: Acquisition, elementZ: Int, maxCharge: Int = 3, minIons: Int = 20) throws -> CalibrationFit {
        try fitted(to: acq, elements: [elementZ], maxCharge: maxCharge, minIons: minIons)
    }

    /// Fits t0 and L to the isotope peaks of several elements at once (a simulated run knows its elements).
    ///
    /// As ``fitted(to:elementZ:maxCharge:minIons:)``, with every element's lines in the least squares except those
    /// within 0.3 % of another element's line (⁵⁴Fe/⁵⁴Cr), and the provisional alignment scored on every element's
    /// isotope pattern at once: with one element only, a tall line of a neighbour (⁵⁶Fe²⁺ beside ⁵²Cr²⁺ in an
    /// equiatomic Fe-Cr) can pass for the main isotope when the peaks are broad.
    public func fitted(to acq: Acquisition, elements: [Int], maxCharge: Int = 3, minIons: Int = 20) throws -> CalibrationFit {
        let n = acq.count
        guard acq.tofNS.count == n, acq.vDCV.count == n, n > 0 else {
            throw TwinError.invalidInput("calibration needs tof_ns and v_dc_v for every ion")
        }
        let hasP = acq.vPulseV.count == n, hasD = acq.detectorXMM.count == n && acq.detectorYMM.count == n
        var els: [Element] = []
        for z in elements {
            guard let el = PeriodicTable.element(z: z) else { throw TwinError.invalidInput("unknown element Z = \(z)") }
            if !els.contains(where: { $0.z == z }) { els.append(el) }
        }
        guard let el = els.first else { throw TwinError.invalidInput("calibration needs at least one element") }
        let names = els.map(\.symbol).joined(separator: ",")
        let allLines = AutoRanging.expectedPeaks(elements: els.map(\.z), maxCharge: maxCharge)
        let lines = allLines.filter { l in !allLines.contains { $0.z != l.z && abs($0.mnDa - l.mnDa) <= 0.003 * l.mnDa } }
        let e = PhysicalConstants.elementaryChargeC, da = PhysicalConstants.daltonKG
        var cal = self
        // Provisional alignment: one scale factor on the strongest line.
        var masses = (0..<n).map { i in massDa(cal, acq, i, hasP, hasD) }
        // Provisional alignment: candidate positions of the most abundant isotope are the five highest local
        // maxima within ±15 % of it (each charge state); each candidate is scored by how well the element's other
        // isotopes then match their natural abundances (symmetric χ²), and the best one sets a scale factor.
        if let main = el.isotopes.max(by: { $0.abundance < $1.abundance }) {
            var best: (score: Double, found: Double, target: Double)? = nil
            func ions(near m: Double) -> Double { Double(masses.reduce(0) { $0 + (abs($1 - m) <= 0.001 * m ? 1 : 0) }) }
            for q in 1...maxCharge {
                let target = main.massDa / Double(q), bin = 0.0005 * target
                let nb = Int(0.3 * target / bin)
                var counts = [Int](repeating: 0, count: nb)
                for m in masses { let k = Int(((m - target * 0.85) / bin).rounded(.down)); if k >= 0 && k < nb { counts[k] += 1 } }
                let maxima = (1..<max(1, nb - 1)).filter { counts[$0] > 0 && counts[$0] >= counts[$0 - 1] && counts[$0] > counts[$0 + 1] }
                    .sorted { counts[$0] > counts[$1] }.prefix(5)
                for k in maxima {
                    let found = target * 0.85 + (Double(k) + 0.5) * bin, scale = found / target
                    guard ions(near: found) >= Double(minIons) else { continue }
                    // Each element's pattern relative to its own main isotope, at this charge and scale.
                    var score = 0.0, total = 0.0
                    for e in els {
                        guard let m0 = e.isotopes.max(by: { $0.abundance < $1.abundance }) else { continue }
                        let o0 = ions(near: m0.massDa / Double(q) * scale)
                        total += o0
                        for iso in e.isotopes where iso.massNumber != m0.massNumber && iso.abundance > 0.005 {
                            let o = ions(near: iso.massDa / Double(q) * scale), x = o0 * iso.abundance / m0.abundance
                            score += (o - x) * (o - x) / (o + x + 1)
                        }
                    }
                    score /= max(total, 1)   // compare candidates of different heights on the same footing
                    if best == nil || score < best!.score { best = (score, found, target) }
                }
            }
            if let best {
                cal.flightPathMM *= (best.found / best.target).squareRoot()    // m ∝ 1/L²
                masses = (0..<n).map { i in massDa(cal, acq, i, hasP, hasD) }
            }
        }
        var used: [(String, Double, Double, Int)] = []
        for _ in 0..<5 {
            let L = cal.flightPathMM * 1e-3
            var rows: [(x1: Double, x2: Double, y: Double, label: String, known: Double, ions: Int, w: Double)] = []
            for line in lines {
                // Ions near the peak's mode (±0.08 % of m/n around the fullest 0.02 %-bin within ±0.4 %): the
                // mode, not the mean, so that a high-mass tail does not pull the calibration.
                let wide = 0.004 * line.mnDa, fine = 0.0002 * line.mnDa
                var hist = [Int](repeating: 0, count: 41), inWide = 0
                for m in masses where abs(m - line.mnDa) <= wide {
                    inWide += 1
                    hist[min(40, max(0, Int(((m - line.mnDa + wide) / fine).rounded(.down))))] += 1
                }
                guard inWide >= minIons else { continue }
                let kMax = hist.indices.max { hist[$0] < hist[$1] }!
                let mode = line.mnDa - wide + (Double(kMax) + 0.5) * fine
                let w = 0.0008 * line.mnDa
                var sg = 0.0, sgt = 0.0, k = 0
                for i in 0..<n where abs(masses[i] - mode) <= w {
                    let x = hasD ? Double(acq.detectorXMM[i]) * 1e-3 : 0, y = hasD ? Double(acq.detectorYMM[i]) * 1e-3 : 0
                    let v = cal.alpha * (Double(acq.vDCV[i]) + cal.beta * (hasP ? Double(acq.vPulseV[i]) : 0))
                    let g = (2 * e * max(v, 0)).squareRoot() * L / (L * L + x * x + y * y).squareRoot()
                    sg += g; sgt += g * Double(acq.tofNS[i]) * 1e-9; k += 1
                }
                if k > 0 {
                    rows.append((sgt / Double(k), -sg / Double(k), (line.mnDa * da).squareRoot(),
                                 "\(line.massNumber)\(PeriodicTable.element(z: line.z)?.symbol ?? "?")\(line.charge)+", line.mnDa, inWide, Double(k)))
                }
            }
            guard rows.count >= 2 else {
                throw TwinError.invalidInput("--calibrate \(names): found \(rows.count) \(names) peak(s) with ≥ \(minIons) ions near the expected m/n; need at least 2 (check the element, the flight path and the voltages)")
            }
            // y = s x1 + p x2 with s = 1/L, p = t0/L (and y = √(m/n in kg)).
            var a11 = 0.0, a12 = 0.0, a22 = 0.0, b1 = 0.0, b2 = 0.0
            for r in rows { a11 += r.w * r.x1 * r.x1; a12 += r.w * r.x1 * r.x2; a22 += r.w * r.x2 * r.x2; b1 += r.w * r.x1 * r.y; b2 += r.w * r.x2 * r.y }
            let det = a11 * a22 - a12 * a12
            guard det != 0, det.isFinite else { throw TwinError.invalidInput("--calibrate \(names): degenerate fit (all peaks at one time?)") }
            let s = (b1 * a22 - b2 * a12) / det, p = (a11 * b2 - a12 * b1) / det
            guard s > 0 else { throw TwinError.invalidInput("--calibrate \(names): fit gave a negative flight length") }
            cal.flightPathMM = 1e3 / s
            cal.t0NS = p / s * 1e9
            masses = (0..<n).map { i in massDa(cal, acq, i, hasP, hasD) }
            used = rows.map { r in
                var sum = 0.0, k = 0
                for m in masses where abs(m - r.known) <= 0.0008 * r.known { sum += m; k += 1 }
                return (r.label, r.known, k > 0 ? sum / Double(k) : .nan, r.ions)
            }
        }
        let rms = (used.reduce(0) { $0 + ($1.2 - $1.1) * ($1.2 - $1.1) } / Double(max(1, used.count))).squareRoot()
        return CalibrationFit(calibration: cal, peaks: used.map { (label: $0.0, knownDa: $0.1, fittedDa: $0.2, ions: $0.3) }, rmsResidualDa: rms)
    }
}

@inline(__always)
private func massDa(_ c: TOFCalibration, _ a: Acquisition, _ i: Int, _ hasP: Bool, _ hasD: Bool) -> Double {
    c.massToChargeDa(tofNS: Double(a.tofNS[i]), vDCV: Double(a.vDCV[i]), vPulseV: hasP ? Double(a.vPulseV[i]) : 0,
                     detectorXMM: hasD ? Double(a.detectorXMM[i]) : 0, detectorYMM: hasD ? Double(a.detectorYMM[i]) : 0)
}
