import ArgumentParser
import FileFormats
import Foundation
import Reconstruction
import ScenarioConfig
import TwinCore
import TwinPipeline

/// Parameter overrides shared by `reconstruct` and `score`.
struct ReconstructionOptions: ParsableArguments {
    @Option(help: "Field factor k_f (R = V/(k_f F)).") var kf: Double?
    @Option(help: "Image compression factor ξ, in the convention of the protocol's projection.") var icf: Double?
    @Option(help: "Detection efficiency η.") var efficiency: Double?
    @Option(name: .customLong("evaporation-field-v-per-nm"), help: "Evaporation field F, V/nm.") var evaporationFieldVPerNM: Double?
    @Option(name: .customLong("flight-path-mm"), help: "Flight path L, mm.") var flightPathMM: Double?
    @Option(name: .customLong("detector-diameter-mm"), help: "Active detector diameter D, mm.") var detectorDiameterMM: Double?
    @Option(name: .customLong("atomic-volume-nm3"), help: "Volume per atom Ω, nm³.") var atomicVolumeNM3: Double?
    @Option(name: .customLong("initial-radius-nm"), help: "Shank protocol: initial apex radius R0, nm.") var initialRadiusNM: Double?
    @Option(name: .customLong("shank-angle-deg"), help: "Shank protocol: shank half-angle α, degrees.") var shankAngleDeg: Double?
    @Option(help: "Projection of shank/tem/oracle: angular (θ = ξ atan(r/L), the twin's optics), point (Geiser), linear (Bas).") var projection: String = "angular"
    @Option(help: "Radius column of frames.csv for the tem protocols (true_apex_radius_nm: a perfect measurement at the frames).") var framesRadiusColumn: String = "measured_apex_radius_nm"
    @Flag(help: "Drop ions with non-finite detector coordinates or non-positive voltages instead of failing.") var dropInvalid = false

    func projectionModel() throws -> ProjectionModel {
        switch projection.lowercased() {
        case "angular": return .angular
        case "point", "geiser", "pointprojection": return .pointProjection
        case "linear", "bas": return .linear
        default: throw CLIError("--projection must be angular, point or linear, got '\(projection)'")
        }
    }

    /// Applies the overrides to `base`, recording where each value came from.
    func apply(to base: ReconstructionParameters, baseSource: String) -> (ReconstructionParameters, [(String, Double, String)]) {
        var p = base
        var used: [(String, Double, String)] = []
        func take(_ name: String, _ v: Double?, _ kp: WritableKeyPath<ReconstructionParameters, Double>) {
            if let v { p[keyPath: kp] = v; used.append((name, v, "command line")) } else { used.append((name, p[keyPath: kp], baseSource)) }
        }
        take("kf", kf, \.fieldFactorKf); take("icf", icf, \.imageCompression)
        take("evaporation_field_v_per_nm", evaporationFieldVPerNM, \.evaporationFieldVPerNM)
        take("atomic_volume_nm3", atomicVolumeNM3, \.atomicVolumeNM3); take("efficiency", efficiency, \.detectionEfficiency)
        take("flight_path_mm", flightPathMM, \.flightPathMM); take("detector_diameter_mm", detectorDiameterMM, \.detectorDiameterMM)
        return (p, used)
    }
}

func parseProtocol(_ s: String) throws -> ReconstructionProtocol {
    guard let p = ReconstructionProtocol(rawValue: s.lowercased()) else {
        throw CLIError("--protocol must be one of \(ReconstructionProtocol.allCases.map(\.rawValue).joined(separator: ", ")), got '\(s)'")
    }
    return p
}

func isDirectory(_ path: String) -> Bool {
    var d: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &d) && d.boolValue
}

struct Reconstruct: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reconstruct an acquisition (EPOS, Cameca .apt, or a run directory) with one protocol and write POS, EPOS, APT or a directory of .npy columns.",
        discussion: """
        Protocols: bas (R = V/(k_f F), linear projection), geiser (wide-angle point projection), shank (R0 + shank \
        angle, no voltages), tem (apex radius from TEM frames, --frames DIR with frames.csv), tem-shape (plus \
        apex_profile.csv), oracle (the engine's true apex radius; run directories only). Values not given come from \
        the run's scenario (run directory) or the default scenario (files); every value used is printed with its \
        source. --stream reconstructs an EPOS/.apt file to POS in chunks with bounded memory (exactly the same \
        positions as in memory).
        """)
    @Argument(help: "EPOS or .apt file, or a run directory.") var acquisition: String
    @Option(help: "bas, geiser, shank, tem, tem-shape or oracle.") var `protocol`: String = "bas"
    @Option(help: "TEM sequence directory (frames.csv, optional apex_profile.csv) for tem/tem-shape.") var frames: String?
    @Option(help: "Output: OUT.pos, OUT.epos, OUT.apt, or a directory (ending in '/') of .npy columns.") var output: String
    @OptionGroup var options: ReconstructionOptions
    @Flag(help: "Stream an EPOS/.apt file to a POS file in chunks (bounded memory).") var stream = false
    @Option(help: "Ions per chunk with --stream.") var chunkIons: Int = 1 << 20
    @Option(help: "Voltage unit assumed for EPOS input: v or kv.") var eposVoltageUnit: String = "v"
    @Option(help: "Worker threads (results do not depend on it).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        try reportingErrors {
            let proto = try parseProtocol(`protocol`)
            let unit = try parseUnit(eposVoltageUnit)
            let isRun = isDirectory(acquisition)
            var acq: Acquisition
            var base: ReconstructionParameters
            var baseSource: String
            var r0: Double, alpha: Double
            var timeline: GeometryTimeline? = nil
            var runInput: RunReconstructionInput? = nil
            if isRun {
                let ri = try RunReconstructionInput(URL(fileURLWithPath: acquisition))
                runInput = ri
                acq = ri.acquisition; base = ri.parameters; baseSource = "run scenario"
                r0 = ri.initialRadiusNM; alpha = ri.shankHalfAngleDeg
            } else {
                let cfg = try PipelineConfig(ResolvedScenario.defaults())
                base = cfg.reconstruction; baseSource = "default scenario"
                r0 = cfg.geometry.apexRadiusNM; alpha = cfg.geometry.shankHalfAngleDeg
                acq = Acquisition()
            }
            let (params, used) = options.apply(to: base, baseSource: baseSource)
            var extra: [(String, Double, String)] = []
            if proto == .shank {
                extra.append(("initial_radius_nm", options.initialRadiusNM ?? r0, options.initialRadiusNM == nil ? baseSource : "command line"))
                extra.append(("shank_angle_deg", options.shankAngleDeg ?? alpha, options.shankAngleDeg == nil ? baseSource : "command line"))
                r0 = options.initialRadiusNM ?? r0; alpha = options.shankAngleDeg ?? alpha
            }
            var notes: [String] = []
            switch proto {
            case .tem, .temShape:
                guard let frames else { throw CLIError("--protocol \(proto.rawValue) needs --frames DIR (a TEM sequence with frames.csv)") }
                let ionAt: (Int) -> Int = runInput.map { ri in { ri.ionIndex(atEvent: $0) } } ?? { $0 }
                if runInput == nil { notes.append("frames.csv events are taken as ion indices (no run directory)") }
                let (tl, n) = try TEMFramesTimeline.read(directory: URL(fileURLWithPath: frames), radiusColumn: options.framesRadiusColumn, ionIndexAtEvent: ionAt)
                timeline = tl; notes += n
            case .oracle:
                guard let ri = runInput else { throw CLIError("--protocol oracle needs a run directory (its ground truth)") }
                let probe = try params.setup(for: .shank, projection: try options.projectionModel(), initialRadiusNM: 1, shankHalfAngleDeg: 0)
                timeline = try ri.oracleTimeline(for: probe)
                notes.append("oracle: apex radius and apex height fitted to the true positions of the detected atoms, \(OracleGeometry.defaultIonsPerWindow) ions per window")
            default: break
            }
            let proj = try options.projectionModel()
            let setup = try params.setup(for: proto, projection: proj, initialRadiusNM: r0, shankHalfAngleDeg: alpha,
                                         timeline: timeline, invalidIons: options.dropInvalid ? .drop : .reject)
            print("protocol: \(proto.rawValue) (projection: \(setup.projection.rawValue))")
            for (k, v, s) in used + extra { print(String(format: "  %-28@ %.6g  (%@)", k as NSString, v, s as NSString)) }
            for n in notes { print("note: \(n)") }
            let outURL = URL(fileURLWithPath: output)
            if stream {
                guard !isRun else { throw CLIError("--stream reads an EPOS or .apt file, not a run directory") }
                guard APTFormat.fromPath(output) == .pos else { throw CLIError("--stream writes a .pos file") }
                let (s, t) = try measure("stream") {
                    try StreamingReconstruction.reconstructFile(URL(fileURLWithPath: acquisition), setup: setup, output: outURL,
                                                                chunkIons: chunkIons, eposVoltageUnit: unit, threads: threads)
                }
                for n in s.notes { print("note: \(n)") }
                print(String(format: "wrote %@: %d ions in %d chunks, depth %.2f nm, %.1f M ions/s (wall %.2f s, cpu %.2f s)",
                             output, s.ionsWritten, s.chunks, s.depthNM, Double(s.ionsRead) / t.wallS / 1e6, t.wallS, t.cpuS))
                return
            }
            if !isRun { (_, acq) = try readAcquisition(acquisition, voltageUnit: unit) }
            let (rec, t) = try measure("reconstruct") { try Reconstructor.reconstruct(acq, setup, threads: threads) }
            for n in rec.notes { print("note: \(n)") }
            var out = Acquisition()
            let rows = rec.sourceIndex
            func pick<T>(_ c: [T]) -> [T] { c.isEmpty ? [] : (rows.map { $0.map { c[$0] } } ?? c) }
            out.xNM = rec.xNM; out.yNM = rec.yNM; out.zNM = rec.zNM
            out.massToChargeDa = acq.massToChargeDa.isEmpty ? [Float](repeating: 0, count: rec.count) : pick(acq.massToChargeDa)
            out.detectorXMM = pick(acq.detectorXMM); out.detectorYMM = pick(acq.detectorYMM); out.vDCV = pick(acq.vDCV)
            out.vPulseV = pick(acq.vPulseV); out.tofNS = pick(acq.tofNS)
            out.pulsesSincePrevious = pick(acq.pulsesSincePrevious); out.multiplicity = pick(acq.multiplicity)
            if output.hasSuffix("/") || isDirectory(output) {
                try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
                for (name, c) in [("x_nm", out.xNM), ("y_nm", out.yNM), ("z_nm", out.zNM), ("radius_nm", rec.radiusNM),
                                  ("mass_to_charge_da", out.massToChargeDa)] {
                    try NPYFile.write(c, to: outURL.appendingPathComponent("\(name).npy"))
                }
                if let rows { try NPYFile.write(rows.map { Int64($0) }, to: outURL.appendingPathComponent("source_row.npy")) }
            } else {
                switch APTFormat.fromPath(output) {
                case .pos: try POSFile.write(out, to: outURL)
                case .epos: try EPOSFile.write(out, to: outURL, voltageUnit: unit, fillMissingWithZeros: true)
                case .apt: try APTFile.write(out, to: outURL)
                default: throw CLIError("\(output): write .pos, .epos, .apt or a directory ending in '/'")
                }
            }
            print(String(format: "wrote %@: %d ions, depth %.2f nm, radius %.2f → %.2f nm, %.1f M ions/s (wall %.3f s, cpu %.3f s)",
                         output, rec.count, rec.depthNM, Double(rec.radiusNM.first ?? 0), Double(rec.radiusNM.last ?? 0),
                         Double(rec.count) / t.wallS / 1e6, t.wallS, t.cpuS))
        }
    }
}

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score reconstructions of a run directory against its ground truth, one row per protocol (markdown table, or JSON with --json).",
        discussion: """
        Protocols: bas, geiser, shank and oracle always; tem (plus `tem (true R)`, the tem protocol on the true radius \
        at the frames) with frames: --frames DIR, or by default the frames the run rendered for its report \
        (RUN_DIR/reconstruction/frames.csv); tem-shape when the frames have apex_profile.csv. Each reconstruction is \
        rigidly aligned to the truth (Horn) before position errors are measured. k_f and ξ default to the values the \
        run used (the field solver's, in the manifest).
        """)
    @Argument(help: "Run directory.") var runDirectory: String
    @Option(help: "TEM sequence directory of this run (frames.csv) for the tem protocols (default: RUN_DIR/reconstruction if it has frames.csv).") var frames: String?
    @Option(help: "Comma-separated protocols (default: all that apply).") var protocols: String?
    @OptionGroup var options: ReconstructionOptions
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "Worker threads.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        try reportingErrors {
            let runURL = URL(fileURLWithPath: runDirectory)
            let ri = try RunReconstructionInput(runURL)
            let (params, used) = options.apply(to: ri.parameters, baseSource: "run (manifest and scenario)")
            var framesDir = frames.map { URL(fileURLWithPath: $0) }
            if framesDir == nil {
                let d = runURL.appendingPathComponent("reconstruction")
                if FileManager.default.fileExists(atPath: d.appendingPathComponent("frames.csv").path) { framesDir = d }
            }
            if let f = framesDir, !FileManager.default.fileExists(atPath: f.appendingPathComponent("frames.csv").path) {
                throw CLIError("--frames \(f.path): no frames.csv there (run `aptwin tem sequence` first)")
            }
            var plan = RunScoring.entries(ri, framesDirectory: framesDir, radiusColumn: options.framesRadiusColumn)
            if let protocols {
                let wanted = try protocols.split(separator: ",").map { try parseProtocol(String($0)) }
                for p in wanted where !plan.entries.contains(where: { $0.proto == p }) {
                    let why = plan.notScored.first { $0.name == p.rawValue }?.reason ?? "not applicable"
                    throw CLIError("protocol \(p.rawValue) cannot be scored: \(why)")
                }
                plan.entries = wanted.flatMap { p in plan.entries.filter { $0.proto == p } }
                plan.notScored = []
            }
            let res = try RunScoring.score(ri, parameters: params, entries: plan.entries, projection: try options.projectionModel(),
                                           initialRadiusNM: options.initialRadiusNM, shankHalfAngleDeg: options.shankAngleDeg,
                                           threads: threads)
            let md = Scoring.markdownTable(res.scores)
            let (_, rows) = ri.matchedTruth()
            if json {
                let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                let scoreObjs = try JSONSerialization.jsonObject(with: enc.encode(res.scores))
                let out: [String: Any] = ["run": runDirectory, "scores": scoreObjs, "markdown": md,
                                          "timings": res.timings.map { ["protocol": String($0.stage.dropFirst("score ".count)), "wall_s": $0.wallS, "cpu_s": $0.cpuS] },
                                          "parameters": Dictionary(uniqueKeysWithValues: used.map { ($0.0, $0.1) }),
                                          "ions_scored": rows.count, "background_hits_excluded": ri.acquisition.count - rows.count,
                                          "frames": framesDir?.path ?? NSNull(),
                                          "not_scored": plan.notScored.map { ["protocol": $0.name, "reason": $0.reason] },
                                          "notes": plan.notes]
                let data = try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                for n in plan.notes { print("note: \(n)") }
                for n in plan.notScored { print("not scored: \(n.name): \(n.reason)") }
                print(md, terminator: "")
            }
        }
    }
}
