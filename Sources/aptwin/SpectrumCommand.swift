import ArgumentParser
import FileFormats
import Foundation
import MassSpectrum
import MaterialsData
import Reporting
import TwinCore
import TwinPipeline

struct Spectrum: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mass spectrum of an ion file (POS, EPOS, APT, APyT raw, .npy columns): calibration, peaks, widths, M/ΔM, ranging, composition, plot.",
        discussion: """
        m/n = 2e·V_eff·(t − t0)²/L_eff², V_eff = α(V_DC + β·V_p), L_eff = √(L² + x_D² + y_D²). Files with TOF and \
        voltages are converted with these constants (--calibrate ELEMENT fits t0 and L to that element's isotopes); \
        files that also store m/n (EPOS) keep it unless a calibration option is given; POS and EPOS with zero TOF use \
        their stored m/n. JSON keys: file, format, ions, mass_source, \
        calibration {t0_ns, flight_path_mm, alpha, beta, fitted, fit_peaks, rms_residual_da}, background, bin_da, \
        peaks [{mn_da, ion, candidates, overlap, counts, low_da, high_da, fwhm_da, fw10_da, fw1_da, mrp50, mrp10, mrp1}], \
        composition, notes.
        """)
    @Argument(help: "Input file (.pos, .epos, .apt, .raw, or a directory of .npy columns).") var file: String
    @Option(help: "Force the input format (pos, epos, apt, raw, npy).") var format: String?
    @Option(help: "Range file (RRNG, RNG or ENV): one peak per range; composition from exact counts.") var ranges: String?
    @Option(help: "Background under the ranges for the main composition: none (raw counts, as APAV and IVAS) or local (flat-TOF background fitted before each peak). Both are always in the JSON.") var background: String = "none"
    @Flag(help: "Automatic ranging without molecular ions (atoms only).") var noMolecules = false
    @Flag(help: "Report success even when most ions fall outside identified peaks or the pattern fit is poor.") var allowPoor = false
    @Option(help: "Elements present (e.g. Fe,Cr): automatic ranging and identification restricted to them.") var elements: String?
    @Option(help: "Fit t0 and the flight length to these elements' isotope peaks, comma-separated, main element first (e.g. Fe or Fe,Cr: several elements give the fit a longer lever arm and rule out mistaking one element's line for another's).") var calibrate: String?
    @Option(help: "Flight length L, mm (default 470; starting value for --calibrate).") var flightPathMm: Double?
    @Option(help: "After the TOF conversion, correct m/n for V_DC (voltage) and detector position (bowl) on a reference peak: voltage or voltage,bowl.") var correct: String?
    @Option(help: "Reference peak for --correct, Da (default: the tallest peak, snapped to the nearest line of --calibrate or --elements).") var referenceDa: Double?
    @Option(help: "TOF offset t0, ns (default 0).") var t0Ns: Double?
    @Option(help: "α of V_eff = α(V_DC + β V_p) (default 1).") var alpha: Double?
    @Option(help: "β of V_eff = α(V_DC + β V_p) (default 1).") var beta: Double?
    @Option(help: "Histogram bin, Da.") var binDa: Double = 0.01
    @Option(help: "Histogram upper limit, Da (default: 1.05 × the largest m/n, ≤ 400).") var maxDa: Double?
    @Option(help: "Highest charge state considered in identification.") var maxCharge: Int = 3
    @Option(help: "Write the automatic ranges (needs --elements) as RRNG, RNG or ENV (by extension).") var writeRanges: String?
    @Option(help: "Write the spectrum plot: SVG at this path and a PNG beside it (same name, .png); log count axis, ranges shaded and labelled.") var plot: String?
    @Option(help: "Voltage unit assumed for EPOS files: v or kv.") var eposVoltageUnit: String = "v"
    @Flag(help: "Print JSON.") var json = false

    /// Elements of a comma-separated list of symbols (e.g. "Fe, Cr"); an unknown symbol is an error naming `option`.
    func elementList(_ text: String, option: String) throws -> [Element] {
        try text.split(separator: ",").map { t in
            let sym = t.trimmingCharacters(in: .whitespaces)
            guard let e = PeriodicTable.element(symbol: sym) else { throw CLIError("\(option): unknown element '\(sym)'") }
            return e
        }
    }

    func run() throws {
        try reportingErrors {
            if let flightPathMm { try checkOption("flight-path-mm", flightPathMm, 1...10_000) }
            if let t0Ns { try checkOption("t0-ns", t0Ns, -1e6...1e6) }
            if let alpha { try checkOption("alpha", alpha, 1e-3...1e3) }
            if let beta { try checkOption("beta", beta, 0...10) }
            let calibrationGiven = calibrate != nil || flightPathMm != nil || t0Ns != nil || alpha != nil || beta != nil
            try checkOption("bin-da", binDa, 1e-4...10)
            if let maxDa { try checkOption("max-da", maxDa, 1...10_000) }
            guard (1...10).contains(maxCharge) else { throw CLIError("--max-charge \(maxCharge): must be 1…10") }
            let unit = try parseUnit(eposVoltageUnit)
            let (fmt, acq) = try readAcquisition(file, voltageUnit: unit, format: format, quiet: true)   // notes go to the report
            guard acq.count > 0 else { throw CLIError("\(file): no ions") }
            var notes = acq.notes
            var zs: [Int]? = nil
            if let elements { zs = try elementList(elements, option: "--elements").map(\.z) }
            guard let bgMode = BackgroundCorrection(rawValue: background) else { throw CLIError("--background \(background): must be none or local") }
            let rangeTable = try ranges.map { try readRangeTable($0) }
            if let w = rangeTable?.warnings { notes += w }
            if writeRanges != nil && zs == nil { throw CLIError("--write-ranges needs --elements (automatic ranging)") }

            // Mass source: TOF conversion when TOF and voltages are present and not all zero, unless the file also
            // stores m/n and no calibration option was given (an instrument's own calibration is then kept).
            let hasStored = acq.massToChargeDa.count == acq.count && acq.massToChargeDa.contains { $0 != 0 }
            let hasTOF = acq.tofNS.count == acq.count && acq.vDCV.count == acq.count
                && acq.tofNS.contains { $0 != 0 } && acq.vDCV.contains { $0 != 0 } && (calibrationGiven || !hasStored)
            var cal = TOFCalibration(flightPathMM: flightPathMm ?? 470, t0NS: t0Ns ?? 0, alpha: alpha ?? 1, beta: beta ?? 1)
            var fitInfo: [String: Any] = ["fitted": false]
            var masses: [Float]
            let source: String
            if hasTOF {
                if let calibrate {
                    let els = try elementList(calibrate, option: "--calibrate")
                    guard !els.isEmpty else { throw CLIError("--calibrate: no element given") }
                    let fit = try cal.fitted(to: acq, elements: els.map(\.z), maxCharge: maxCharge)
                    cal = fit.calibration
                    fitInfo = ["fitted": true, "element": els.map(\.symbol).joined(separator: ","), "rms_residual_da": fit.rmsResidualDa,
                               "fit_peaks": fit.peaks.map { ["ion": $0.label, "known_da": $0.knownDa, "fitted_da": $0.fittedDa.isFinite ? $0.fittedDa : NSNull(), "ions": $0.ions] as [String: Any] }]
                }
                masses = try cal.convert(acq)
                source = "tof_converted"
                if let correct {
                    let parts = Set(correct.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
                    guard parts.isSubset(of: ["voltage", "bowl"]), parts.contains("voltage") else {
                        throw CLIError("--correct \(correct): give voltage or voltage,bowl")
                    }
                    let refEls = try calibrate.map { try elementList($0, option: "--calibrate") } ?? (zs ?? []).compactMap { PeriodicTable.element(z: $0) }
                    let ref = try referenceDa ?? referencePeak(masses, refEls.map(\.z))
                    let c = try SpectrumCorrections.fit(masses: masses, acquisition: acq, referenceDa: ref, bowl: parts.contains("bowl"))
                    masses = c.apply(masses, acq)
                    fitInfo["corrections"] = ["reference_da": ref, "voltage_coefficients": c.voltage, "voltage_reference_v": c.voltageReferenceV,
                                              "voltage_groups": c.voltageGroups, "bowl_coefficients": c.bowl ?? [], "bowl_groups": c.bowlGroups,
                                              "peak_spread_before": c.spreadBefore, "peak_spread_after": c.spreadAfter] as [String: Any]
                }
            } else {
                guard hasStored else { throw CLIError("\(file): neither TOF with voltages nor stored m/n values") }
                if calibrationGiven { throw CLIError("calibration options need TOF and voltages; \(file) has none (only stored m/n)") }
                masses = acq.massToChargeDa
                source = "stored_mn"
                notes.append("\(file): stored m/n used (give --calibrate or --flight-path-mm/--t0-ns/--alpha/--beta to convert the TOF instead)")
            }
            let finite = masses.reduce(0) { $0 + ($1.isFinite && $1 > 0 ? 1 : 0) }
            guard finite > 0 else {
                throw CLIError("\(file): none of the \(masses.count) ions has a finite, positive m/n (\(source)); nothing to analyse")
            }
            if finite < masses.count {
                notes.append("\(file): \(masses.count - finite) of \(masses.count) ions have no finite, positive m/n and are left out of the spectrum")
            }
            let report = SpectrumAnalysis.analyze(massesDa: masses, binDa: binDa, maxDa: maxDa, elements: zs,
                                                  ranges: rangeTable?.table, maxCharge: maxCharge, molecules: !noMolecules)
            if let writeRanges, let r = report.ranging {
                for w in try RangeFile.write(r.table, to: URL(fileURLWithPath: writeRanges)) { notes.append("\(writeRanges): \(w)") }
            }
            if let plot {
                let bands = rangeTable.map { SpectrumPlotRange.ranges(from: $0.table) } ?? SpectrumPlotRange.ranges(from: report.peaks)
                // Axis: up to a little beyond the last range (real files have background ions far above the last
                // peak), unless --max-da sets it.
                var h = report.histogram
                if maxDa == nil, let last = bands.map(\.highDa).max(), last * 1.15 + 2 < h.maxDa {
                    h = MassHistogram(masses: masses, binDa: binDa, maxDa: last * 1.15 + 2)
                }
                let title = "\(URL(fileURLWithPath: file).lastPathComponent): \(masses.count) ions"
                let plotURL = URL(fileURLWithPath: plot)
                // SVG, and a PNG beside it (same name, .png) for viewers that do not show SVG; a .png path gets the PNG only.
                let pngOnly = plotURL.pathExtension.lowercased() == "png"
                if !pngOnly { try AtomicFile.write(Data(SpectrumPlot.svg(h, ranges: bands, title: title).utf8), to: plotURL) }
                try SpectrumPlot.writePNG(h, ranges: bands, title: title, to: pngOnly ? plotURL : plotURL.deletingPathExtension().appendingPathExtension("png"))
            }
            func num(_ v: Double?) -> Any { v.map { $0.isFinite ? $0 as Any : NSNull() } ?? NSNull() }
            let peaks: [[String: Any]] = report.peaks.map { p in
                ["mn_da": p.mnDa, "ion": p.ion, "candidates": p.candidates, "overlap": p.overlap, "counts": p.counts,
                 "low_da": p.lowDa, "high_da": p.highDa, "fwhm_da": num(p.metrics?.fwhmDa), "fw10_da": num(p.metrics?.fw10Da),
                 "fw1_da": num(p.metrics?.fw1Da), "mrp50": num(p.metrics?.mrp50), "mrp10": num(p.metrics?.mrp10), "mrp1": num(p.metrics?.mrp1)]
            }
            var calJSON: [String: Any] = ["t0_ns": cal.t0NS, "flight_path_mm": cal.flightPathMM, "alpha": cal.alpha, "beta": cal.beta,
                                          "applied": source == "tof_converted"]
            for (k, v) in fitInfo { calJSON[k] = v }
            var out: [String: Any] = ["file": file, "format": fmt, "ions": masses.count, "mass_source": source, "calibration": calJSON,
                                      "bin_da": binDa, "peaks": peaks, "notes": notes,
                                      "background": ["model": "flat_tof", "counts_per_bin_times_sqrt_da": report.background.amplitude]]
            func compositionJSON(_ q: RangeQuantification) -> [String: Any] {
                var d: [String: Any] = [:]
                for e in q.elements { d[e.symbol] = ["fraction": e.fraction, "sigma": e.sigma, "atoms": e.atoms] as [String: Any] }
                return d
            }
            if let q = bgMode == .local ? report.quantificationLocalBackground : report.quantification {
                out["composition"] = compositionJSON(q)
                out["composition_method"] = (ranges != nil ? "the given range file" : "the automatic range table")
                    + ", exact counts [low, high), molecular ions decomposed into atoms, background \(bgMode.rawValue)"
                out["ranged_ions"] = q.rangedIons
                out["ranged_fraction"] = Double(q.rangedIons) / Double(max(1, q.totalIons))
                out["ranges"] = q.ranges.map { r in
                    ["ion": r.ion, "low_da": r.lowDa, "high_da": r.highDa, "ions": r.counts, "background": r.background,
                     "net": r.net, "sigma": r.sigma] as [String: Any]
                }
                out["ion_counts"] = Dictionary(q.ionCounts.map { ($0.name, $0.ions) }, uniquingKeysWith: +)
                notes += q.notes
            }
            if let q = report.quantification { out["composition_no_background"] = compositionJSON(q) }
            if let q = report.quantificationLocalBackground {
                out["composition_local_background"] = compositionJSON(q)
                out["local_background_ranges"] = q.ranges.map { ["ion": $0.ion, "low_da": $0.lowDa, "background": $0.background, "window": $0.backgroundWindow] as [String: Any] }
            }
            var verdict: [String] = []
            if let r = report.ranging {
                var d: [String: Any] = [:]
                for c in r.composition { d[PeriodicTable.symbol(z: c.z)] = ["fraction": c.fraction, "sigma": c.sigma, "ci95": [c.lower95, c.upper95]] as [String: Any] }
                out["composition_decomposed"] = d
                out["species"] = r.species.map { ["ion": $0.species.label, "ions": $0.ions, "sigma": $0.sigma, "coverage": $0.coverage] as [String: Any] }
                out["unassigned_peaks"] = r.unassigned.map { ["mn_da": $0.apexDa, "low_da": $0.lowDa, "high_da": $0.highDa, "counts": $0.counts,
                                                              "net": $0.net, "reason": $0.unassignedReason ?? ""] as [String: Any] }
                out["assigned_fraction"] = r.assignedFraction
                out["unassigned_fraction"] = r.unassignedFraction
                out["fit_residual"] = r.fitResidual
                if r.unassignedFraction > r.assignedFraction {
                    verdict.append(String(format: "%.1f %% of the ions fall in %d peaks that no ion of --elements explains, against %.1f %% in identified peaks (the elements, the calibration or the charge states are wrong; see unassigned_peaks)",
                                          100 * r.unassignedFraction, r.unassigned.count, 100 * r.assignedFraction))
                }
                if r.peaks.isEmpty { verdict.append("no peak could be identified with --elements \(elements ?? "")") }
            }
            if let q = report.quantification, ranges != nil, Double(q.rangedIons) < 0.5 * Double(max(1, q.totalIons)) {
                verdict.append(String(format: "only %.1f %% of the ions fall in the ranges of %@ (a range file for other data, or an uncalibrated spectrum?)",
                                      100 * Double(q.rangedIons) / Double(max(1, q.totalIons)), ranges!))
            }
            // A calibration whose fitted lines miss their known m/n by more than 0.1 % (rms) has not found the right
            // peaks (a well-calibrated spectrum is within 0.01–0.02 %).
            if let rms = fitInfo["rms_residual_da"] as? Double, let lines = fitInfo["fit_peaks"] as? [[String: Any]], !lines.isEmpty {
                let meanKnown = lines.compactMap { $0["known_da"] as? Double }.reduce(0, +) / Double(lines.count)
                if !(rms <= 0.001 * meanKnown) {
                    verdict.append(String(format: "the calibration's rms residual %.4f Da is %.2f %% of the lines' m/n (> 0.1 %%): the fitted peaks are probably not the given elements' isotopes", rms, 100 * rms / meanKnown))
                }
            }
            out["quality"] = ["ok": verdict.isEmpty, "problems": verdict] as [String: Any]
            out["notes"] = notes
            if json {
                let data = try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                try verdictCheck(verdict)
                return
            }
            for n in notes { FileHandle.standardError.write(Data("aptwin: note: \(n)\n".utf8)) }
            print(String(format: "%@: %d ions (%@); t0 %.3f ns, L %.3f mm, α %.4f, β %.4f%@", file, masses.count, source,
                         cal.t0NS, cal.flightPathMM, cal.alpha, cal.beta, (fitInfo["fitted"] as? Bool) == true ? " (fitted)" : ""))
            print("  m/n (Da)  ion          counts   FWHM (Da)  FW10% (Da)  M/ΔM50  M/ΔM10")
            for p in report.peaks {
                let m = p.metrics
                print(String(format: "  %8.3f  %-11@ %7d   %@   %@   %@  %@", p.mnDa, (p.ion + (p.overlap ? "*" : "")) as NSString, p.counts,
                             fmtOpt(m?.fwhmDa, "%9.4f"), fmtOpt(m?.fw10Da, "%9.4f"), fmtOpt(m?.mrp50, "%6.0f"), fmtOpt(m?.mrp10, "%6.0f")))
            }
            if report.peaks.contains(where: \.overlap) { print("  * overlapping candidates (see --json 'candidates')") }
            if let c = out["composition"] as? [String: [String: Any]] {
                print("  composition (at %, ±1σ): " + c.sorted { ($0.value["fraction"] as! Double) > ($1.value["fraction"] as! Double) }
                    .map { String(format: "%@ %.2f ± %.2f", $0.key, 100 * ($0.value["fraction"] as! Double), 100 * ($0.value["sigma"] as! Double)) }
                    .joined(separator: ", "))
            }
            try verdictCheck(verdict)
        }
    }

    /// The tallest peak's position snapped to the nearest isotope line (charge 1…max) of `elements` within 1 %.
    func referencePeak(_ masses: [Float], _ elements: [Int]) throws -> Double {
        guard !elements.isEmpty else { throw CLIError("--correct needs --reference-da, --calibrate or --elements") }
        let h = MassHistogram(masses: masses, binDa: 0.01, maxDa: min(400, Double(masses.filter(\.isFinite).max() ?? 100) + 1))
        guard let k = h.counts.indices.max(by: { h.counts[$0] < h.counts[$1] }) else { throw CLIError("--correct: empty spectrum") }
        let apex = h.centreDa(k)
        let lines = AutoRanging.expectedPeaks(elements: elements, maxCharge: maxCharge).filter { abs($0.mnDa - apex) <= 0.01 * apex }
        guard let best = lines.max(by: { $0.abundance < $1.abundance }) else {
            throw CLIError(String(format: "--correct: no line of the given elements within 1 %% of the tallest peak at %.3f Da; give --reference-da", apex))
        }
        return best.mnDa
    }

    /// The quality verdict: problems make the command fail (exit 1) unless --allow-poor.
    func verdictCheck(_ problems: [String]) throws {
        guard !problems.isEmpty else { return }
        if allowPoor {
            for p in problems { FileHandle.standardError.write(Data("aptwin: warning: \(file): \(p)\n".utf8)) }
            return
        }
        throw CLIError("\(file): \(problems.joined(separator: "; ")) (--allow-poor reports the result anyway)")
    }

    func fmtOpt(_ v: Double?, _ f: String) -> String { v.map { String(format: f, $0) } ?? String(repeating: " ", count: 6) + "n/a" }
}

/// Reads a range file by extension (IVAS `.rrng`, Oak Ridge `.rng`, GPM `.env`) through ``RangeFile``.
func readRangeTable(_ path: String) throws -> (table: RangeTable, warnings: [String]) {
    let r = try RangeFile.read(URL(fileURLWithPath: path))
    return (r.table, r.warnings)
}
