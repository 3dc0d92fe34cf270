import Foundation
import FileFormats
import MassSpectrum
import IonOptics
import MaterialsData
import ScenarioConfig
import Analysis
import Reconstruction
import Reporting
import TwinCore

/// Options of one `aptwin run`.
public struct RunOptions: Sendable {
    /// Run directory to create; nil: `Output/<scenario-name>/<run-id>/` under the current directory.
    public var outputDirectory: URL?
    public var threads: Int
    public var progress: ProgressReporter
    public init(outputDirectory: URL? = nil, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                progress: ProgressReporter = ProgressReporter()) {
        self.outputDirectory = outputDirectory; self.threads = max(1, threads); self.progress = progress
    }
}

/// Summary of a finished run.
public struct RunSummary: Sendable {
    public var directory: URL
    public var result: SimulationResult
    public var files: [String]
}

/// Runs a scenario end to end and writes its run directory.
///
/// Everything is written into `<dir>.partial-<pid>` first and renamed to `<dir>` only when complete (the
/// manifest last), so an interrupted run never leaves a directory that looks finished.
public enum ScenarioRunner {
    public static let packageVersion = "0.1.0"

    public static func run(_ scenario: ResolvedScenario, options: RunOptions) throws -> RunSummary {
        let config = try PipelineConfig(scenario)
        let fm = FileManager.default
        let finalDir: URL
        if let d = options.outputDirectory {
            finalDir = d
        } else {
            let base = URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent("Output")
                .appendingPathComponent(safeName(config.name))
            let stamp = ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(identifier: "UTC")!,
                                                    formatOptions: [.withYear, .withMonth, .withDay, .withTime])
            var candidate = base.appendingPathComponent("\(stamp)-seed\(config.seed)")
            var k = 2
            while fm.fileExists(atPath: candidate.path) {
                candidate = base.appendingPathComponent("\(stamp)-seed\(config.seed)-\(k)"); k += 1
            }
            finalDir = candidate
        }
        if fm.fileExists(atPath: finalDir.path) {
            throw TwinError.io("\(finalDir.path) already exists; choose another --output directory")
        }
        let result = try TwinSimulation.run(config, threads: options.threads, progress: options.progress)
        return try PartialDirectory.build(finalDir) { partial in
            let (files, writeTiming) = try measure("write_outputs") {
                try writeOutputs(result, into: partial, threads: options.threads) + [writeNeXus(result, scenario: scenario, into: partial)]
            }
            let (report, reportTiming) = try measure("report") {
                try writeReport(result, scenario: scenario, into: partial, threads: options.threads, progress: options.progress)
            }
            try writeManifest(result, scenario: scenario, files: files + report.files, extraTimings: [writeTiming, reportTiming],
                              report: report.json, threads: options.threads, into: partial)
            return RunSummary(directory: finalDir, result: result, files: files + report.files + ["manifest.json"])
        }
    }

    static func safeName(_ s: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        let t = String(s.map { allowed.contains($0) ? $0 : "_" })
        return t.isEmpty || t.hasPrefix(".") ? "run" : t
    }

    /// Writes every data file; returns their paths relative to `dir`, in a fixed order.
    static func writeOutputs(_ r: SimulationResult, into dir: URL, threads: Int) throws -> [String] {
        var files: [String] = []
        let fm = FileManager.default
        func url(_ rel: String) throws -> URL {
            let u = dir.appendingPathComponent(rel)
            try fm.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
            files.append(rel)
            return u
        }
        let acq = r.acquisition
        let c = r.config
        // Acquisition (what the instrument records) and derived columns.
        if c.writeEPOS {
            try EPOSFile.write(acq, to: url("acquisition/acquisition.epos"), voltageUnit: c.eposVoltageUnitKV ? .kilovolts : .volts)
        }
        try NPYFile.write(acq.detectorXMM, to: url("acquisition/detector_x_mm.npy"))
        try NPYFile.write(acq.detectorYMM, to: url("acquisition/detector_y_mm.npy"))
        try NPYFile.write(acq.tofNS, to: url("acquisition/tof_ns.npy"))
        try NPYFile.write(acq.vDCV, to: url("acquisition/v_dc_v.npy"))
        try NPYFile.write(acq.vPulseV, to: url("acquisition/v_pulse_v.npy"))
        try NPYFile.write(acq.pulsesSincePrevious, to: url("acquisition/pulses_since_previous.npy"))
        try NPYFile.write(acq.multiplicity, to: url("acquisition/multiplicity.npy"))
        try NPYFile.write(acq.massToChargeDa, to: url("acquisition/mass_to_charge_da.npy"))
        try NPYFile.write(r.hitEventIndex, to: url("acquisition/event_index.npy"))
        // Ground truth: atoms and events.
        if c.writeTruth { files += try SpecimenOutput.writeTruth(r.atoms, into: dir) }
        let e = r.evaporation.events
        try NPYFile.write(e.atomID, to: url("events/atom_id.npy"))
        try NPYFile.write(e.pulseIndex, to: url("events/pulse_index.npy"))
        try NPYFile.write(e.timeInPulseNS, to: url("events/time_in_pulse_ns.npy"))
        try NPYFile.write(e.vDCV, to: url("events/v_dc_v.npy"))
        try NPYFile.write(e.vPulseV, to: url("events/v_pulse_v.npy"))
        try NPYFile.write(e.fieldVPerNM, to: url("events/field_v_per_nm.npy"))
        try NPYFile.write(e.chargeState, to: url("events/charge_state.npy"))
        try NPYFile.write(e.launchXNM, to: url("events/launch_x_nm.npy"))
        try NPYFile.write(e.launchYNM, to: url("events/launch_y_nm.npy"))
        try NPYFile.write(e.launchZNM, to: url("events/launch_z_nm.npy"))
        try NPYFile.write(r.evaporation.apexRadiusNM, to: url("events/apex_radius_nm.npy"))
        try NPYFile.write(r.evaporation.fieldFactorKf, to: url("events/field_factor_kf.npy"))
        try AtomicFile.write(Data(EvaporationReport.timeSeriesCSV(r.evaporation).utf8), to: url("evaporation/time_series.csv"))
        for snap in r.evaporation.snapshots {
            let base = String(format: "evaporation/surface_%09d_", snap.eventIndex)
            try NPYFile.write(snap.atomID, to: url(base + "atom_id.npy"))
            try NPYFile.write(snap.xNM, to: url(base + "x_nm.npy")); try NPYFile.write(snap.yNM, to: url(base + "y_nm.npy"))
            try NPYFile.write(snap.zNM, to: url(base + "z_nm.npy"))
            try NPYFile.write(snap.fieldVPerNM, to: url(base + "field_v_per_nm.npy"))
        }
        try NPYFile.write(r.detection.fate.map(\.rawValue), to: url("events/fate.npy"))
        // Spectrum, ranges, reconstruction.
        try RRNGFile.write(r.ranging.table, to: url("spectrum/ranges.rrng"))
        let h = r.histogram
        var csv = "mass_to_charge_da,counts\n"
        for i in 0..<h.counts.count where h.counts[i] > 0 { csv += String(format: "%.4f,%u\n", h.centreDa(i), h.counts[i]) }
        try AtomicFile.write(Data(csv.utf8), to: url("spectrum/spectrum.csv"))
        let plotPeaks = SpectrumAnalysis.spectrumPeaks(ranging: r.ranging, histogram: h, backgroundPerBin: FlatTOFBackground.estimate(h).perBin(h))
        let plotTitle = "\(c.name): mass spectrum (\(acq.count) ions)"
        let svg = SpectrumPlot.svg(h, ranges: SpectrumPlotRange.ranges(from: plotPeaks), title: plotTitle)
        try SpectrumPlot.writePNG(h, ranges: SpectrumPlotRange.ranges(from: plotPeaks), title: plotTitle, to: url("spectrum/spectrum.png"))
        try AtomicFile.write(Data(svg.utf8), to: url("spectrum/spectrum.svg"))
        try POSFile.write(acq, to: url("reconstruction/reconstruction.pos"))
        let hm = DetectorHitMap.render(xMM: acq.detectorXMM, yMM: acq.detectorYMM, diameterMM: c.detector.diameterMM, pixels: c.hitMapPixels)
        try PNGFile.write(GrayImage8(width: hm.width, height: hm.height, pixels: hm.pixels), to: url("images/detector_hit_map.png"))
        // Composition profile along the reconstructed axis.
        let profile = CompositionProfile.alongZ(zNM: acq.zNM, massToChargeDa: acq.massToChargeDa, ranges: r.ranging.table,
                                                binNM: c.profileBinNM)
        try AtomicFile.write(Data(CompositionProfile.csv(profile, ions: r.ranging.table.ions).utf8),
                             to: url("analysis/composition_profile_z.csv"))
        // Bright-field frames of the needle before and after the acquisition, and their tip-shape measurement.
        if c.temFrames {
            var alive = [Bool](repeating: true, count: r.atoms.count)
            for id in r.evaporation.events.atomID { alive[Int(id)] = false }
            let v0 = Double(r.evaporation.events.vDCV.first ?? 0), v1 = Double(r.evaporation.events.vDCV.last ?? 0)
            for (k, (name, mask, v)) in ([("tem_bf_start", nil, v0), ("tem_bf_end", alive, v1)] as [(String, [Bool]?, Double)]).enumerated() {
                let f = try NeedleFrames.render(atoms: r.atoms, alive: mask, atomicVolumeNM3: c.lattice.atomicVolumeNM3, voltageV: v,
                                                settings: c.tem, frameIndex: k, seed: c.seed, threads: threads, shank: c.geometry)
                try PNGFile.write(GrayImage16(width: f.frame.width, height: f.frame.height, pixels: f.frame.counts),
                                  to: url("images/\(name).png"))
            }
        }
        return files
    }

    /// Scores every applicable reconstruction protocol against the truth and writes `report.md` (and, when the
    /// scenario renders TEM frames, `reconstruction/frames.csv`: the frames the tem protocols use, rendered at the
    /// scenario's sequence points and measured). Returns the files written and the scores for the manifest.
    static func writeReport(_ r: SimulationResult, scenario: ResolvedScenario, into dir: URL, threads: Int,
                            progress: ProgressReporter) throws -> (files: [String], json: [String: Any]) {
        let c = r.config
        let run = RunDirectory(url: dir, scenario: scenario, config: c, atoms: r.atoms, eventAtomIDs: r.evaporation.events.atomID,
                               eventVDCV: r.evaporation.events.vDCV, eventKf: r.evaporation.fieldFactorKf,
                               eventApexRadiusNM: r.evaporation.apexRadiusNM, runFieldFactorKf: c.reconstruction.fieldFactorKf, runImageCompression: c.reconstruction.imageCompression)
        var files: [String] = []
        var records: [SequenceFrameRecord] = []
        var framesDir: URL? = nil
        var noFrames: String? = nil
        if !c.temFrames {
            noFrames = "imaging.tem_frames is false: no frames rendered (run `aptwin tem sequence RUN_DIR`, then `aptwin score RUN_DIR --frames RUN_DIR/tem_sequence`)"
        } else if r.evaporation.events.count == 0 {
            noFrames = "the run has no evaporation events"
        } else {
            // Frames the scenario cannot give (e.g. imaging stops beyond the events of a run that stopped early) make
            // the tem protocols not applicable; they do not fail the run.
            do {
                let settings = TEMSettings(scenario, composition: c.composition, layerComposition: c.specimen.spec.surfaceLayerComposition)
                let events = try TEMSequence.chooseFrames(run: run, settings: settings, every: nil, count: nil, atVoltagesV: [])
                records = try TEMSequence.renderAndMeasure(run: run, settings: settings, events: events, threads: threads, progress: progress)
                let d = dir.appendingPathComponent("reconstruction")
                try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
                try AtomicFile.write(Data(TEMSequence.framesCSV(records).utf8), to: d.appendingPathComponent("frames.csv"))
                try AtomicFile.write(Data(TEMSequence.apexProfileCSV(records).utf8), to: d.appendingPathComponent("apex_profile.csv"))
                files.append("reconstruction/frames.csv"); files.append("reconstruction/apex_profile.csv")
                framesDir = d
            } catch {
                records = []
                noFrames = "no TEM frames for the report: \(error)"
            }
        }
        var scores: [ReconstructionScore] = [], notScored: [NotScored] = [], notes: [String] = []
        do {
            let ri = try RunReconstructionInput(run: run, acquisition: r.acquisition, eventIndex: r.hitEventIndex,
                                                eventApexRadiusNM: r.evaporation.apexRadiusNM)
            let plan = RunScoring.entries(ri, framesDirectory: framesDir, framesUnavailableReason: noFrames)
            let res = try RunScoring.score(ri, parameters: ri.parameters, entries: plan.entries, threads: threads, keepGoing: true)
            scores = res.scores; notScored = plan.notScored + res.failed; notes = plan.notes
        } catch {
            notScored.append(NotScored(name: "all protocols", reason: "\(error)"))
        }
        let md = RunReport.markdown(result: r, frames: records, scores: scores, notScored: notScored, notes: notes)
        try AtomicFile.write(Data(md.utf8), to: dir.appendingPathComponent("report.md"))
        files.append("report.md")
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        let scoreObjs = try JSONSerialization.jsonObject(with: enc.encode(scores))
        return (files, ["path": "report.md", "scores": scoreObjs,
                        "not_scored": notScored.map { ["protocol": $0.name, "reason": $0.reason] }])
    }

    static func writeManifest(_ r: SimulationResult, scenario: ResolvedScenario, files: [String], extraTimings: [StageTiming],
                              report: [String: Any] = [:], threads: Int, into dir: URL) throws {
        let fileEntries = try manifestEntries(files, in: dir)
        var counts: [String: Int] = ["atoms": r.atoms.count, "events": r.evaporation.events.count, "detected": 0,
                                     "not_registered": 0, "outside_detector": 0]
        for f in r.detection.fate {
            switch f {
            case .detected: counts["detected", default: 0] += 1
            case .notRegistered: counts["not_registered", default: 0] += 1
            case .outsideDetector: counts["outside_detector", default: 0] += 1
            case .lostInDeadZone: counts["lost_in_dead_zone", default: 0] += 1
            }
        }
        var truthComp: [String: Double] = [:]
        var evapComp: [Int: Int] = [:]
        for id in r.evaporation.events.atomID { evapComp[Int(r.atoms.elementZ[Int(id)]), default: 0] += 1 }
        let nEv = Double(max(1, r.evaporation.events.count))
        for (z, n) in evapComp { truthComp[PeriodicTable.symbol(z: z)] = Double(n) / nEv }
        var ranged: [String: Any] = [:]
        for c in r.ranging.composition { ranged[PeriodicTable.symbol(z: c.z)] = ["fraction": c.fraction, "sigma": c.sigma, "ci95": [c.lower95, c.upper95]] }
        let ev = r.evaporation
        let manifest: [String: Any] = [
            "aptwin_version": packageVersion,
            "git_commit": gitCommit(),
            "scenario": scenario.jsonObject(),
            "seed": Int(r.config.seed),
            "threads": threads,
            "created_utc": ISO8601DateFormatter().string(from: Date()),
            "models": ["specimen": "lattice needle with the scenario's microstructure",
                       "evaporation": "Robin-Rolland surface charges matched to an axisymmetric charge-simulation model of the needle in its environment; \(r.config.evaporation.mode.rawValue) selection",
                       "optics": r.config.tracedOptics ? "traced flight (continuum needle field, pulse voltage, lens field) into a delay-line detector" : "baseline point projection",
                       "spectrum": r.config.tracedOptics ? "TOF with t0 and flight length fitted to the main element, species-aware automatic ranging (isotope-pattern fit)" : "ideal TOF conversion, species-aware automatic ranging (isotope-pattern fit)",
                       "reconstruction": "Bas et al. 1995", "tem": "projected thickness, exit wave with amplitude, inner-potential and bias phases, CTF with envelopes, MTF, Poisson and read noise"],
            "stages": (r.timings + extraTimings).map { ["stage": $0.stage, "wall_s": $0.wallS, "cpu_s": $0.cpuS] },
            "counts": counts,
            "evaporation": EvaporationReport.summary(ev).merging(["stop_reason": ev.stopReason.rawValue,
                            "v_dc_first_v": Double(ev.events.vDCV.first ?? 0), "v_dc_last_v": Double(ev.events.vDCV.last ?? 0)]) { _, b in b },
            "composition": ["evaporated_truth": truthComp, "ranged": ranged,
                            // What spectrum/ranges.rrng gives with exact counts (as APAV/IVAS compute it from that file).
                            "range_file": Dictionary(uniqueKeysWithValues: r.ranging.ranged.elements.map { ($0.symbol, ["fraction": $0.fraction, "sigma": $0.sigma] as [String: Any]) }),
                            "ranged_ions": r.ranging.ranged.rangedIons, "unassigned_peak_ions": r.ranging.unassigned.reduce(0) { $0 + $1.counts }],
            "calibration": ["t0_ns": r.calibration.t0NS, "flight_path_mm": r.calibration.flightPathMM,
                            "alpha": r.calibration.alpha, "beta": r.calibration.beta],
            "reconstruction": ["protocol": "bas", "kf": r.config.reconstruction.fieldFactorKf,
                               "icf": r.config.reconstruction.imageCompression,
                               "evaporation_field_v_per_nm": r.config.reconstruction.evaporationFieldVPerNM,
                               "atomic_volume_nm3": r.config.reconstruction.atomicVolumeNM3,
                               "efficiency": r.config.reconstruction.detectionEfficiency],
            "files": fileEntries,
            "report": report,
        ]
        let data = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(data, to: dir.appendingPathComponent("manifest.json"))
    }

    /// Manifest rows for written files: relative path, size in bytes and SHA-256.
    static func manifestEntries(_ files: [String], in dir: URL) throws -> [[String: Any]] {
        try files.map { f in
            let u = dir.appendingPathComponent(f)
            let size = (try FileManager.default.attributesOfItem(atPath: u.path)[.size] as? NSNumber)?.intValue ?? 0
            return ["path": f, "bytes": size, "sha256": try SHA256.hex(fileAt: u)]
        }
    }

    /// The git commit of the working directory's checkout, or "unknown".
    static func gitCommit() -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "rev-parse", "HEAD"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return "unknown" }
        p.waitUntilExit()
        let s = String(data: pipe.fileHandleForReading.readDataToEndOfFile(), encoding: .utf8)?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return p.terminationStatus == 0 && !s.isEmpty ? s : "unknown"
    }
}
