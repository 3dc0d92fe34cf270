import FileFormats
import Foundation
import Reconstruction
import TwinCore

/// A finished run directory read back for reconstruction and scoring: its acquisition columns, the map from
/// detected ion to truth atom, the engine's apex radius per event, and the reconstruction parameters the run used.
///
/// Files used: `acquisition/{detector_x_mm, detector_y_mm, v_dc_v, mass_to_charge_da, event_index}.npy`,
/// `events/{atom_id, apex_radius_nm}.npy`, `truth/*.npy`, `manifest.json` (scenario, `reconstruction.kf`/`icf`).
/// Optional: `events/apex_profile.csv` (the engine's apex shape, see ``ApexProfileCSV``) — not written by the
/// engine, and no longer used by the oracle (which fits its geometry to the truth).
public struct RunReconstructionInput: Sendable {
    public var run: RunDirectory
    public var acquisition: Acquisition
    /// Event index of every detected hit (−1 for an uncorrelated background count).
    public var eventIndex: [Int32]
    /// The engine's apex radius at every event, nm.
    public var eventApexRadiusNM: [Float]
    /// The engine's apex shape at some events, if the run has `events/apex_profile.csv`.
    public var engineProfiles: [(event: Int, shape: ApexShape)]

    /// A run held in memory: its acquisition, the event of every hit and the engine's apex radius per event.
    public init(run: RunDirectory, acquisition: Acquisition, eventIndex: [Int32], eventApexRadiusNM: [Float]) throws {
        guard eventIndex.count == acquisition.count else {
            throw TwinError.inconsistent("run \(run.url.path): \(eventIndex.count) event indices for \(acquisition.count) hits")
        }
        self.run = run; self.acquisition = acquisition; self.eventIndex = eventIndex
        self.eventApexRadiusNM = eventApexRadiusNM; engineProfiles = []
    }

    public init(_ url: URL) throws {
        run = try RunDirectory(url)
        func col<T: NPYScalar>(_ t: T.Type, _ rel: String) throws -> [T] { try NPYFile.read(t, from: url.appendingPathComponent(rel)) }
        var a = Acquisition()
        a.detectorXMM = try col(Float.self, "acquisition/detector_x_mm.npy")
        a.detectorYMM = try col(Float.self, "acquisition/detector_y_mm.npy")
        a.vDCV = try col(Float.self, "acquisition/v_dc_v.npy")
        a.massToChargeDa = try col(Float.self, "acquisition/mass_to_charge_da.npy")
        try a.validateColumns()
        acquisition = a
        eventIndex = try col(Int32.self, "acquisition/event_index.npy")
        guard eventIndex.count == a.count else {
            throw TwinError.inconsistent("\(url.path)/acquisition/event_index.npy has \(eventIndex.count) rows, the acquisition \(a.count)")
        }
        // RunDirectory has read it when present; a missing file is an error here (read again to report it).
        let apexR = run.eventApexRadiusNM.isEmpty ? try col(Float.self, "events/apex_radius_nm.npy") : run.eventApexRadiusNM
        let nEvents = run.eventAtomIDs.count
        guard apexR.count == nEvents else {
            throw TwinError.inconsistent("\(url.path)/events/apex_radius_nm.npy has \(apexR.count) rows, atom_id.npy \(nEvents)")
        }
        eventApexRadiusNM = apexR
        let ev = eventIndex
        if let bad = ev.firstIndex(where: { Int($0) >= nEvents || $0 < -1 }) {
            throw TwinError.inconsistent("\(url.path)/acquisition/event_index.npy row \(bad): event \(ev[bad]) but the run has \(nEvents) events")
        }
        let prof = url.appendingPathComponent("events/apex_profile.csv")
        engineProfiles = FileManager.default.fileExists(atPath: prof.path)
            ? try ApexProfileCSV.read(prof, radiusAtEvent: { e in Double(apexR[min(max(0, e), apexR.count - 1)]) })
            : []
    }

    /// The run's reconstruction parameters (k_f, ξ, F, Ω, η, L, D): the scenario's, with k_f and ξ as the run used
    /// them (the field solver's means over the run, recorded in the manifest, unless the scenario set them). The
    /// scenario's defaults (k_f 5, ξ 1.6) are placeholders the run replaces: reconstructing with them mis-scaled
    /// every protocol by ~6 % laterally on `tiny`, enough for a wrong radius to beat the true one.
    public var parameters: ReconstructionParameters {
        var p = run.config.reconstruction
        if let kf = run.runFieldFactorKf { p.fieldFactorKf = kf }
        if let xi = run.runImageCompression { p.imageCompression = xi }
        return p
    }
    /// Initial apex radius (scenario `specimen.apex_radius_nm`) and shank half-angle for the shank protocol.
    public var initialRadiusNM: Double { run.config.geometry.apexRadiusNM }
    public var shankHalfAngleDeg: Double { run.config.geometry.shankHalfAngleDeg }

    /// Detected-ion index at which event `e` happens: the number of detected hits with an event index below `e`.
    public func ionIndex(atEvent e: Int) -> Int {
        var lo = 0, hi = eventIndex.count
        // event_index is non-decreasing apart from background counts (−1); fall back to a scan if it is not.
        if isSorted {
            while lo < hi { let m = (lo + hi) / 2; if Int(eventIndex[m]) < e { lo = m + 1 } else { hi = m } }
            return lo
        }
        return eventIndex.reduce(0) { $0 + (Int($1) < e ? 1 : 0) }
    }

    private var isSorted: Bool {
        var last = Int32.min
        for v in eventIndex where v >= 0 { if v < last { return false }; last = v }
        return !eventIndex.contains(-1)
    }

    /// The oracle geometry for `setup` (its projection, ξ, L and D): apex radius and apex height fitted to the true
    /// positions of the detected atoms (``OracleGeometry``); background counts take interpolated values.
    public func oracleTimeline(for setup: ReconstructionSetup) throws -> GeometryTimeline {
        let a = run.atoms
        var x = [Float](repeating: .nan, count: eventIndex.count), y = x, z = x
        for i in eventIndex.indices where eventIndex[i] >= 0 {
            let atom = Int(run.eventAtomIDs[Int(eventIndex[i])])
            x[i] = a.xNM[atom]; y[i] = a.yNM[atom]; z[i] = a.zNM[atom]
        }
        return try OracleGeometry.fit(detectorXMM: acquisition.detectorXMM, detectorYMM: acquisition.detectorYMM,
                                      truthXNM: x, truthYNM: y, truthZNM: z, setup: setup)
    }

    /// The oracle setup of `parameters` with `projection` (default angular, as the tem and shank protocols).
    public func oracleSetup(_ parameters: ReconstructionParameters, projection: ProjectionModel = .angular) throws -> ReconstructionSetup {
        // The projection table needs a setup; any radius model will do for the fit, the timeline then replaces it.
        let probe = try parameters.setup(for: .shank, projection: projection, initialRadiusNM: 1, shankHalfAngleDeg: 0)
        return try parameters.setup(for: .oracle, projection: projection, timeline: try oracleTimeline(for: probe))
    }

    /// Ground truth of every detected ion that came from an event (background counts are excluded; `rows` lists the
    /// acquisition rows kept).
    public func matchedTruth() -> (truth: MatchedTruth, rows: [Int]) {
        let a = run.atoms
        var rows: [Int] = []
        rows.reserveCapacity(eventIndex.count)
        var t = MatchedTruth(xNM: [], yNM: [], zNM: [], elementZ: [], grain: [], phase: [])
        for i in eventIndex.indices where eventIndex[i] >= 0 {
            let atom = Int(run.eventAtomIDs[Int(eventIndex[i])])
            rows.append(i)
            t.xNM.append(a.xNM[atom]); t.yNM.append(a.yNM[atom]); t.zNM.append(a.zNM[atom])
            t.elementZ.append(a.elementZ[atom]); t.grain.append(a.grain[atom]); t.phase.append(a.phase[atom])
        }
        return (t, rows)
    }
}

/// A TEM sequence's `frames.csv` turned into a geometry timeline.
public enum TEMFramesTimeline {
    /// Reads `frames.csv` (columns `event`, `measured_apex_radius_nm`; rows without a measurement are skipped) and an
    /// optional `apex_profile.csv` in the same directory (``ApexProfileCSV``), and places each frame at the
    /// detected-ion index of its event via `ionIndexAtEvent`.
    ///
    /// - Returns: the timeline and notes (skipped frames, shapes used).
    /// `radiusColumn` selects another column, e.g. `true_apex_radius_nm` for a perfect measurement at the frames.
    public static func read(directory: URL, radiusColumn: String = "measured_apex_radius_nm",
                            ionIndexAtEvent: (Int) -> Int) throws -> (GeometryTimeline, [String]) {
        let url = directory.appendingPathComponent("frames.csv")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw TwinError.io("\(url.path): cannot read frames.csv (run `aptwin tem sequence` first)")
        }
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false).map(String.init),
              let ce = header.firstIndex(of: "event"), let cr = header.firstIndex(of: radiusColumn) else {
            throw TwinError.invalidInput("\(url.path): header must name columns 'event' and '\(radiusColumn)'")
        }
        var events: [Int] = [], radii: [Double] = [], notes: [String] = []
        for (k, line) in lines.dropFirst().enumerated() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count > max(ce, cr), let e = Int(f[ce]) else {
                throw TwinError.invalidInput("\(url.path) line \(k + 2): cannot read the event column")
            }
            guard let r = Double(f[cr]), r.isFinite, r > 0 else { notes.append("frame at event \(e): no radius measured, skipped"); continue }
            events.append(e); radii.append(r)
        }
        guard !events.isEmpty else { throw TwinError.invalidInput("\(url.path): no frame has a value in column '\(radiusColumn)' (measurement failed on every frame?)") }
        var shapes: [ApexShape]? = nil
        let prof = directory.appendingPathComponent("apex_profile.csv")
        if FileManager.default.fileExists(atPath: prof.path) {
            let byEvent = try ApexProfileCSV.read(prof, radiusAtEvent: { e in radii[events.firstIndex(of: e) ?? 0] })
            var list: [ApexShape] = [], missing: [Int] = []
            for e in events {
                if let s = byEvent.first(where: { $0.event == e })?.shape { list.append(s) } else { list.append(.hemisphere); missing.append(e) }
            }
            if missing.count < events.count {
                shapes = list
                notes.append("apex shapes from \(prof.lastPathComponent) for \(list.count - missing.count) of \(list.count) frames"
                             + (missing.isEmpty ? "" : "; hemispheres at events \(missing.map(String.init).joined(separator: ", ")) (no profile measured)"))
            } else {
                notes.append("\(prof.lastPathComponent) holds no profile for these frames: hemispherical caps")
            }
        }
        let tl = try GeometryTimeline(ionIndex: events.map { Double(ionIndexAtEvent($0)) }, apexRadiusNM: radii, shapes: shapes)
        return (tl, notes)
    }
}

/// Measured axisymmetric apex profiles: CSV with header `event,rho_nm,sag_nm`, rows grouped by event, ρ increasing
/// from 0 (sag = depth below the apex at lateral distance ρ). Each profile is normalised by the apex radius at its
/// event (the frame's measured radius, or the engine's radius for `events/apex_profile.csv`).
public enum ApexProfileCSV {
    public static func read(_ url: URL, radiusAtEvent: (Int) -> Double) throws -> [(event: Int, shape: ApexShape)] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw TwinError.io("\(url.path): cannot read") }
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard lines.first?.replacingOccurrences(of: " ", with: "") == "event,rho_nm,sag_nm" else {
            throw TwinError.invalidInput("\(url.path): header must be 'event,rho_nm,sag_nm'")
        }
        var order: [Int] = []
        var data: [Int: ([Double], [Double])] = [:]
        for (k, line) in lines.dropFirst().enumerated() {
            let f = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard f.count == 3, let e = Int(f[0]), let r = Double(f[1]), let s = Double(f[2]) else {
                throw TwinError.invalidInput("\(url.path) line \(k + 2): expected event,rho_nm,sag_nm")
            }
            if data[e] == nil { order.append(e); data[e] = ([], []) }
            data[e]!.0.append(r); data[e]!.1.append(s)
        }
        return try order.map { e in
            do {
                return (e, try ApexShape(rhoNM: data[e]!.0, sagNM: data[e]!.1, apexRadiusNM: radiusAtEvent(e)))
            } catch { throw TwinError.invalidInput("\(url.path), event \(e): \(error)") }
        }
    }
}
