import Foundation
import MaterialsData
import Reconstruction
import TwinCore

/// One row to score: a protocol with its geometry input, under the name the table shows.
public struct ScoringEntry: Sendable {
    public var name: String
    public var proto: ReconstructionProtocol
    /// The TEM timeline of tem/tem-shape; nil for the others (the oracle fits its own).
    public var timeline: GeometryTimeline?
    /// A k_f replacing the run's for this row (the voltage protocol calibrated on a frame).
    public var fieldFactorKf: Double?
    public init(name: String, proto: ReconstructionProtocol, timeline: GeometryTimeline? = nil, fieldFactorKf: Double? = nil) {
        self.name = name; self.proto = proto; self.timeline = timeline; self.fieldFactorKf = fieldFactorKf
    }
}

/// A protocol that could not be scored, and why.
public struct NotScored: Sendable, Equatable {
    public var name: String
    public var reason: String
    public init(name: String, reason: String) { self.name = name; self.reason = reason }
}

/// Scoring every applicable protocol of a run against its ground truth (`aptwin score`, the run report).
public enum RunScoring {
    /// Reconstructs the run with each entry and scores it against the truth of the detected atoms (background counts
    /// excluded); with `keepGoing` a protocol that fails is listed instead of thrown. The shank protocol takes R0 and α from `initialRadiusNM`/`shankHalfAngleDeg` (default: the
    /// scenario's); the oracle fits its geometry to the truth in `projection` (``OracleGeometry``).
    public static func score(_ ri: RunReconstructionInput, parameters: ReconstructionParameters, entries: [ScoringEntry],
                             projection: ProjectionModel = .angular, initialRadiusNM: Double? = nil,
                             shankHalfAngleDeg: Double? = nil, threads: Int,
                             keepGoing: Bool = false) throws -> (scores: [ReconstructionScore], failed: [NotScored], timings: [StageTiming]) {
        let (truth, rows) = ri.matchedTruth()
        guard !rows.isEmpty else { throw TwinError.invalidInput("\(ri.run.url.path): no detected ion comes from an evaporation event: nothing to score") }
        var scores: [ReconstructionScore] = [], timings: [StageTiming] = [], failed: [NotScored] = []
        for e in entries {
            let result: (ReconstructionScore, StageTiming)
            do {
                result = try measure("score \(e.name)") { () throws -> ReconstructionScore in
                var parameters = parameters
                if let kf = e.fieldFactorKf { parameters.fieldFactorKf = kf }
                let setup: ReconstructionSetup
                if e.proto == .oracle {
                    setup = try ri.oracleSetup(parameters, projection: projection)
                } else {
                    setup = try parameters.setup(for: e.proto, projection: projection, initialRadiusNM: initialRadiusNM ?? ri.initialRadiusNM,
                                                 shankHalfAngleDeg: shankHalfAngleDeg ?? ri.shankHalfAngleDeg, timeline: e.timeline)
                }
                let rec = try Reconstructor.reconstruct(ri.acquisition, setup, threads: threads)
                return try Scoring.score(protocolName: e.name, xNM: rows.map { rec.xNM[$0] }, yNM: rows.map { rec.yNM[$0] },
                                         zNM: rows.map { rec.zNM[$0] }, truth: truth)
                }
            } catch {
                // The run report lists a protocol that fails instead of failing the run; `aptwin score` reports it.
                guard keepGoing else { throw TwinError.invalidInput("protocol \(e.name): \(error)") }
                failed.append(NotScored(name: e.name, reason: "\(error)")); continue
            }
            scores.append(result.0); timings.append(result.1)
        }
        return (scores, failed, timings)
    }

    /// The entries of a run with frames in `framesDirectory` (its `frames.csv`, optional `apex_profile.csv`): bas,
    /// `bas (k_f fitted to frames)` (the voltage protocol with the constant k_f that best maps the voltage at the frames
    /// to their true radius: the same information used as a calibration instead of a timeline), geiser, shank;
    /// tem on the measured radii and, when the frames carry it, tem on the true radius of the needle at
    /// the frames (a perfect measurement: it separates the protocol from the accuracy of the tip measurement);
    /// tem-shape when profiles exist; the oracle. Protocols that cannot run are listed with the reason.
    /// `radiusColumn` selects the frames.csv column of the `tem` row.
    public static func entries(_ ri: RunReconstructionInput, framesDirectory: URL?, framesUnavailableReason: String? = nil,
                               radiusColumn: String = "measured_apex_radius_nm")
        -> (entries: [ScoringEntry], notScored: [NotScored], notes: [String]) {
        var out: [ScoringEntry] = [.init(name: "bas", proto: .bas), .init(name: "geiser", proto: .geiser), .init(name: "shank", proto: .shank)]
        var skipped: [NotScored] = [], notes: [String] = []
        if let dir = framesDirectory {
            do {
                let (tl, n) = try TEMFramesTimeline.read(directory: dir, radiusColumn: radiusColumn, ionIndexAtEvent: { ri.ionIndex(atEvent: $0) })
                out.append(.init(name: "tem", proto: .tem, timeline: tl))
                notes += n
                if tl.shapes != nil { out.append(.init(name: "tem-shape", proto: .temShape, timeline: tl)) } else {
                    skipped.append(.init(name: "tem-shape", reason: "no measured cap profiles (apex_profile.csv missing, or no frame's conic fit converged)"))
                }
            } catch {
                skipped.append(.init(name: "tem", reason: "\(error)"))
                skipped.append(.init(name: "tem-shape", reason: "needs the tem protocol's measured radii"))
            }
            if radiusColumn != "true_apex_radius_nm", let (tl, _) = try? TEMFramesTimeline.read(directory: dir, radiusColumn: "true_apex_radius_nm",
                                                        ionIndexAtEvent: { ri.ionIndex(atEvent: $0) }) {
                var t = tl; t.shapes = nil
                out.append(.init(name: "tem (true R)", proto: .tem, timeline: t))
                // The voltage protocol given the same information: the constant k_f that best turns the voltage at the
                // frames into the radius at the frames (least squares in R); it then follows the voltage between them.
                let n = ri.acquisition.vDCV.count
                var suu = 0.0, sur = 0.0
                for (k, idx) in t.ionIndex.enumerated() where n > 0 {
                    let u = Double(ri.acquisition.vDCV[min(n - 1, max(0, Int(idx)))]) / ri.parameters.evaporationFieldVPerNM
                    suu += u * u; sur += u * t.apexRadiusNM[k]
                }
                if suu > 0, sur > 0 {
                    let kf = suu / sur
                    out.insert(.init(name: "bas (k_f fitted to frames)", proto: .bas, fieldFactorKf: kf), at: 1)
                    // The same voltage radius in the tem protocol's projection and depth model: only the radius source
                    // differs from `tem (true R)`.
                    let f = ri.parameters.evaporationFieldVPerNM
                    if let v = try? GeometryTimeline(perIonRadiusNM: ri.acquisition.vDCV.map { Float(Double($0) / (kf * f)) }) {
                        out.insert(.init(name: "voltage R, angular (k_f fitted)", proto: .tem, timeline: v), at: 2)
                    }
                    notes.append(String(format: "bas (k_f fitted to frames): k_f = %.3f makes V_DC/(k_f F) closest to the true radius at the %d frames (run's k_f %.3f)",
                                        kf, t.ionIndex.count, ri.parameters.fieldFactorKf))
                }
            }
        } else {
            let why = framesUnavailableReason ?? "no TEM frames: run `aptwin tem sequence RUN_DIR` and score with --frames RUN_DIR/tem_sequence"
            skipped.append(.init(name: "tem", reason: why)); skipped.append(.init(name: "tem-shape", reason: why))
        }
        out.append(.init(name: "oracle", proto: .oracle))
        return (out, skipped, notes)
    }
}

/// The human-readable run report (`report.md`): run facts, the TEM frames used, and the score table of every
/// applicable reconstruction protocol. Deterministic: no times, dates or thread counts (those are in the manifest).
public enum RunReport {
    public static func markdown(result r: SimulationResult, frames: [SequenceFrameRecord], scores: [ReconstructionScore],
                                notScored: [NotScored], notes: [String]) -> String {
        let c = r.config
        let ev = r.evaporation
        var detected = 0
        for f in r.detection.fate where f == .detected { detected += 1 }
        func f(_ v: Double, _ p: Int = 2) -> String { String(format: "%.\(p)f", v) }
        var s = "# Run report: \(c.name) (seed \(c.seed))\n\n"
        s += "## Run\n\n| quantity | value |\n|---|---|\n"
        s += "| atoms in the needle | \(r.atoms.count) |\n"
        s += "| evaporation events | \(ev.events.count) (stop: \(ev.stopReason.rawValue)) |\n"
        s += "| detected ions | \(detected) (acquisition rows \(r.acquisition.count), background counts included) |\n"
        s += "| depth evaporated (engine) | \(f(ev.depthNM)) nm |\n"
        if let a = ev.apexRadiusNM.first, let b = ev.apexRadiusNM.last { s += "| apex radius (engine) | \(f(Double(a))) → \(f(Double(b))) nm |\n" }
        if let a = ev.events.vDCV.first, let b = ev.events.vDCV.last { s += "| standing voltage | \(f(Double(a), 1)) → \(f(Double(b), 1)) V |\n" }
        let (kf, xi) = ev.meanFieldFactorAndCompression
        s += "| field solver k_f, ξ (means) | \(f(kf, 3)), \(f(xi, 3)) |\n"
        s += "| reconstruction k_f, ξ, F | \(f(c.reconstruction.fieldFactorKf, 3)), \(f(c.reconstruction.imageCompression, 3)), \(f(c.reconstruction.evaporationFieldVPerNM, 2)) V/nm |\n"
        var truthCount: [Int: Int] = [:]
        for id in ev.events.atomID { truthCount[Int(r.atoms.elementZ[Int(id)]), default: 0] += 1 }
        let nEv = Double(max(1, ev.events.count))
        let ranged = Dictionary(uniqueKeysWithValues: r.ranging.composition.map { ($0.z, $0) })
        for (z, n) in truthCount.sorted(by: { $0.key < $1.key }) {
            let sym = PeriodicTable.symbol(z: z)
            let rg = ranged[z].map { "\(f(100 * $0.fraction)) ± \(f(100 * $0.sigma)) at%" } ?? "not ranged"
            s += "| \(sym): evaporated truth / ranged | \(f(100 * Double(n) / nEv)) at% / \(rg) |\n"
        }
        if !frames.isEmpty {
            s += "\n## TEM frames used by the tem protocols\n\n"
            let method = frames.compactMap { $0.measured?.radiusSource }.first == .crossSections
                ? "from the needle's cross-sections (`imaging.tip_radius_method: cross-sections`)" : "with the calibrated edge model"
            s += "Rendered at these events of the run and measured \(method) (`reconstruction/frames.csv`).\n\n"
            s += "R₀ and K are the vertex radius and conic constant of the conic fitted to the cap's silhouette "
            s += "(`reconstruction/apex_profile.csv`, used by tem-shape; K = 0 is a sphere, K > 0 a flattened cap).\n\n"
            s += "| frame | event | V_DC (V) | true R (nm) | measured R (nm) | cap R₀ (nm), K | note |\n|---|---|---|---|---|---|---|\n"
            for fr in frames {
                let t = fr.trueApexRadiusNM.map { f($0) } ?? "–", m = fr.measured.map { f($0.apexRadiusNM) } ?? "–"
                let cap = fr.measured?.capProfile.map { "\(f($0.vertexRadiusNM)), \(f($0.conicConstant))" } ?? "–"
                let note = fr.measurementError.map { $0.replacingOccurrences(of: "|", with: "/") } ?? ""
                s += "| \(fr.index) | \(fr.eventIndex) | \(f(fr.voltageV, 1)) | \(t) | \(m) | \(cap) | \(note) |\n"
            }
        }
        s += "\n## Reconstruction scores\n\n"
        s += "Each reconstruction is aligned rigidly to the true positions of the detected atoms (Horn) before its errors "
        s += "are measured. `tem (true R)` is the tem protocol fed with the true radius of the needle at each frame (a perfect "
        s += "tip measurement) and `bas (k_f fitted to frames)` the voltage protocol with the constant k_f that best maps the "
        s += "voltage at the frames to those radii (the same information used as a calibration; between frames it follows the "
        s += "voltage, with Bas's linear projection); `voltage R, angular (k_f fitted)` is that voltage radius in the tem "
        s += "protocol's projection and depth model, so that only the source of the radius differs from `tem (true R)`. "
        s += "The oracle's apex radius and height are "
        s += "fitted to the truth window by window, the best "
        s += "geometry this projection and cap model allow (DocC article `Protocols`).\n\n"
        if scores.contains(where: { $0.protocolName == "tem-shape" }) {
            s += "`tem-shape` places the ions on the measured conic cap instead of a hemisphere of the measured radius. The "
            s += "twin's ion optics launch every ion at its polar angle about the apex sphere the engine fitted, so simulated "
            s += "hits carry no trace of a non-spherical cap: on simulated runs tem-shape measures what the cap model moves "
            s += "(lateral scale R₀/R, depth per ion (R/R₀)²), not a gain; it is meant for real data.\n\n"
        }
        s += Scoring.markdownTable(scores)
        if !notScored.isEmpty {
            s += "\nNot scored:\n\n"
            for n in notScored { s += "- \(n.name): \(n.reason.replacingOccurrences(of: "\n", with: " "))\n" }
        }
        if !notes.isEmpty {
            s += "\nNotes:\n\n"
            for n in notes { s += "- \(n)\n" }
        }
        return s
    }
}
