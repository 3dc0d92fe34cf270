import ArgumentParser
import FileFormats
import Foundation
import MassSpectrum
import MaterialsData
import Reporting
import TwinCore
import TwinPipeline

/// Loads a file of detector events or ions for `spectrum`: the one place new formats plug in (Cameca `.apt` will).
///
/// - `.epos`: ``EPOSFile`` (TOF, voltages, detector coordinates, stored m/n).
/// - `.raw` (or `format == "raw"`): APyT/Stuttgart raw events (``RawEventFile``).
/// - `.pos`: ``POSFile`` (stored m/n only).
func loadIonFile(_ path: String, format: String?, voltageUnit: EPOSVoltageUnit) throws -> (format: String, acquisition: Acquisition) {
    let url = URL(fileURLWithPath: path)
    let fmt = (format ?? url.pathExtension).lowercased()
    switch fmt {
    case "epos": return ("epos", try EPOSFile.read(url, voltageUnit: voltageUnit))
    case "raw": return ("raw", RawEventFile.acquisition(try RawEventFile.read(url), name: url.lastPathComponent))
    case "pos": return ("pos", try POSFile.read(url))
    case "apt": throw CLIError("\(path): Cameca .apt is not readable by this build yet (the APT6 reader is being added); convert to EPOS")
    default: throw CLIError("\(path): unknown ion file type '\(fmt)'; supported: .epos, .raw (APyT raw events, or --format raw), .pos")
    }
}

struct Spectrum: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mass spectrum of an EPOS / APyT raw / POS file: calibration, peaks, widths, M/ΔM, ranges, plot.",
        discussion: """
        m/n = 2e·V_eff·(t − t0)²/L_eff², V_eff = α(V_DC + β·V_p), L_eff = √(L² + x_D² + y_D²). Files with TOF and \
        voltages are converted with these constants (--calibrate ELEMENT fits t0 and L to that element's isotopes); \
        files that also store m/n (EPOS) keep it unless a calibration option is given; POS and EPOS with zero TOF use \
        their stored m/n. JSON keys: file, format, ions, mass_source, \
        calibration {t0_ns, flight_path_mm, alpha, beta, fitted, fit_peaks, rms_residual_da}, background, bin_da, \
        peaks [{mn_da, ion, candidates, overlap, counts, low_da, high_da, fwhm_da, fw10_da, fw1_da, mrp50, mrp10, mrp1}], \
        composition, notes.
        """)
    @Argument(help: "Input file (.epos, .raw, .pos).") var file: String
    @Option(help: "Force the input format (epos, raw, pos).") var format: String?
    @Option(help: "Range file (RRNG): one peak per range.") var ranges: String?
    @Option(help: "Elements present (e.g. Fe,Cr): automatic ranging and identification restricted to them.") var elements: String?
    @Option(help: "Fit t0 and the flight length to these elements' isotope peaks, comma-separated, main element first (e.g. Fe or Fe,Cr: several elements give the fit a longer lever arm and rule out mistaking one element's line for another's).") var calibrate: String?
    @Option(help: "Flight length L, mm (default 470; starting value for --calibrate).") var flightPathMm: Double?
    @Option(help: "TOF offset t0, ns (default 0).") var t0Ns: Double?
    @Option(help: "α of V_eff = α(V_DC + β V_p) (default 1).") var alpha: Double?
    @Option(help: "β of V_eff = α(V_DC + β V_p) (default 1).") var beta: Double?
    @Option(help: "Histogram bin, Da.") var binDa: Double = 0.01
    @Option(help: "Histogram upper limit, Da (default: 1.05 × the largest m/n, ≤ 400).") var maxDa: Double?
    @Option(help: "Highest charge state considered in identification.") var maxCharge: Int = 3
    @Option(help: "Write the automatic ranges (needs --elements) as RRNG.") var writeRanges: String?
    @Option(help: "Write the spectrum plot (SVG, log count axis).") var plot: String?
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
            let (fmt, acq) = try loadIonFile(file, format: format, voltageUnit: unit)
            guard acq.count > 0 else { throw CLIError("\(file): no ions") }
            var notes = acq.notes
            var zs: [Int]? = nil
            if let elements { zs = try elementList(elements, option: "--elements").map(\.z) }
            let rangeTable = try ranges.map { try RRNGFile.read(URL(fileURLWithPath: $0)) }
            if let w = rangeTable?.warnings { notes += w }
            if writeRanges != nil && zs == nil { throw CLIError("--write-ranges needs --elements (automatic ranging)") }

            // Mass source: TOF conversion when TOF and voltages are present and not all zero, unless the file also
            // stores m/n and no calibration option was given (an instrument's own calibration is then kept).
            let hasStored = acq.massToChargeDa.count == acq.count && acq.massToChargeDa.contains { $0 != 0 }
            let hasTOF = acq.tofNS.count == acq.count && acq.vDCV.count == acq.count
                && acq.tofNS.contains { $0 != 0 } && acq.vDCV.contains { $0 != 0 } && (calibrationGiven || !hasStored)
            var cal = TOFCalibration(flightPathMM: flightPathMm ?? 470, t0NS: t0Ns ?? 0, alpha: alpha ?? 1, beta: beta ?? 1)
            var fitInfo: [String: Any] = ["fitted": false]
            let masses: [Float]
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
            } else {
                guard hasStored else { throw CLIError("\(file): neither TOF with voltages nor stored m/n values") }
                if calibrationGiven { throw CLIError("calibration options need TOF and voltages; \(file) has none (only stored m/n)") }
                masses = acq.massToChargeDa
                source = "stored_mn"
                notes.append("\(file): stored m/n used (give --calibrate or --flight-path-mm/--t0-ns/--alpha/--beta to convert the TOF instead)")
            }
            let report = SpectrumAnalysis.analyze(massesDa: masses, binDa: binDa, maxDa: maxDa, elements: zs,
                                                  ranges: rangeTable?.table, maxCharge: maxCharge)
            if let writeRanges, let r = report.ranging { try RRNGFile.write(r.table, to: URL(fileURLWithPath: writeRanges)) }
            if let plot {
                let svg = SpectrumPlot.svg(report.histogram, ranges: spectrumPlotRanges(report.identifiedPeaks),
                                           title: "\(URL(fileURLWithPath: file).lastPathComponent): \(masses.count) ions")
                try AtomicFile.write(Data(svg.utf8), to: URL(fileURLWithPath: plot))
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
            if let r = report.ranging {
                out["composition"] = r.composition.map { ["element": PeriodicTable.symbol(z: $0.z), "fraction": $0.fraction, "sigma": $0.sigma] as [String: Any] }
            }
            if json {
                let data = try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            for n in notes { print("note: \(n)") }
            print(String(format: "%@: %d ions (%@); t0 %.3f ns, L %.3f mm, α %.4f, β %.4f%@", file, masses.count, source,
                         cal.t0NS, cal.flightPathMM, cal.alpha, cal.beta, (fitInfo["fitted"] as? Bool) == true ? " (fitted)" : ""))
            print("  m/n (Da)  ion          counts   FWHM (Da)  FW10% (Da)  M/ΔM50  M/ΔM10")
            for p in report.peaks {
                let m = p.metrics
                print(String(format: "  %8.3f  %-11@ %7d   %@   %@   %@  %@", p.mnDa, (p.ion + (p.overlap ? "*" : "")) as NSString, p.counts,
                             fmtOpt(m?.fwhmDa, "%9.4f"), fmtOpt(m?.fw10Da, "%9.4f"), fmtOpt(m?.mrp50, "%6.0f"), fmtOpt(m?.mrp10, "%6.0f")))
            }
            if report.peaks.contains(where: \.overlap) { print("  * overlapping candidates (see --json 'candidates')") }
        }
    }

    func fmtOpt(_ v: Double?, _ f: String) -> String { v.map { String(format: f, $0) } ?? String(repeating: " ", count: 6) + "n/a" }
}
