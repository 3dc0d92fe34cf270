import Analysis
import FileFormats
import Foundation
import ScenarioConfig
import TEMImaging
import TwinCore

/// A finished run read back from its directory: scenario, truth and events.
public struct RunDirectory: Sendable {
    public var url: URL
    public var scenario: ResolvedScenario
    public var config: PipelineConfig
    public var atoms: TruthAtoms
    public var eventAtomIDs: [UInt32]
    public var eventVDCV: [Float]
    /// The field solver's k_f at each event (empty for runs written before it existed).
    public var eventKf: [Float]
    /// The k_f and ξ the run reconstructed with (manifest `reconstruction.kf`, `reconstruction.icf`): the field
    /// solver's means over the run unless the scenario set them. Nil for manifests without them.
    public var runFieldFactorKf: Double?
    public var runImageCompression: Double?
    /// The engine's own apex radius at each event (sphere fitted to the charged cap atoms; empty if not written).
    public var eventApexRadiusNM: [Float]

    /// A run held in memory (the run report is scored before the directory is renamed into place).
    public init(url: URL, scenario: ResolvedScenario, config: PipelineConfig, atoms: TruthAtoms, eventAtomIDs: [UInt32],
                eventVDCV: [Float], eventKf: [Float], eventApexRadiusNM: [Float] = [], runFieldFactorKf: Double?,
                runImageCompression: Double?) {
        self.url = url; self.scenario = scenario; self.config = config; self.atoms = atoms; self.eventAtomIDs = eventAtomIDs
        self.eventVDCV = eventVDCV; self.eventKf = eventKf; self.eventApexRadiusNM = eventApexRadiusNM
        self.runFieldFactorKf = runFieldFactorKf; self.runImageCompression = runImageCompression
    }

    public init(_ url: URL) throws {
        self.url = url
        let manifestURL = url.appendingPathComponent("manifest.json")
        guard let data = FileManager.default.contents(atPath: manifestURL.path) else {
            throw TwinError.io("\(manifestURL.path): cannot read the run manifest (is \(url.path) a finished run directory?)")
        }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let sc = json["scenario"] else {
            throw TwinError.invalidInput("\(manifestURL.path): no 'scenario' object")
        }
        // JSON is YAML: the resolved scenario reloads through the same validation.
        let text = String(decoding: try JSONSerialization.data(withJSONObject: sc, options: [.sortedKeys]), as: UTF8.self)
        scenario = try ResolvedScenario.parse(yaml: text, file: "\(manifestURL.path) (scenario)")
        config = try PipelineConfig(scenario)
        if let rec = json["reconstruction"] as? [String: Any] {
            for (key, v) in [("kf", rec["kf"]), ("icf", rec["icf"])] where v != nil {
                guard let d = v as? Double, d.isFinite, d > 0 else {
                    throw TwinError.invalidInput("\(manifestURL.path): reconstruction.\(key) must be a positive number, got \(v!)")
                }
                if key == "kf" { runFieldFactorKf = d } else { runImageCompression = d }
            }
        }
        func col<T: NPYScalar>(_ t: T.Type, _ rel: String) throws -> [T] {
            try NPYFile.read(t, from: url.appendingPathComponent(rel))
        }
        var a = TruthAtoms()
        a.xNM = try col(Float.self, "truth/x_nm.npy"); a.yNM = try col(Float.self, "truth/y_nm.npy"); a.zNM = try col(Float.self, "truth/z_nm.npy")
        a.elementZ = try col(UInt8.self, "truth/element_z.npy"); a.massNumber = try col(UInt16.self, "truth/mass_number.npy")
        a.grain = try col(Int32.self, "truth/grain.npy"); a.phase = try col(UInt8.self, "truth/phase.npy")
        a.id = try col(UInt32.self, "truth/atom_id.npy")
        let n = a.xNM.count
        for (name, c) in [("y_nm", a.yNM.count), ("z_nm", a.zNM.count), ("element_z", a.elementZ.count), ("phase", a.phase.count),
                          ("grain", a.grain.count), ("atom_id", a.id.count), ("mass_number", a.massNumber.count)] where c != n {
            throw TwinError.inconsistent("\(url.path)/truth/\(name).npy has \(c) rows, x_nm.npy has \(n)")
        }
        atoms = a
        eventAtomIDs = try col(UInt32.self, "events/atom_id.npy")
        eventVDCV = try col(Float.self, "events/v_dc_v.npy")
        let kfURL = url.appendingPathComponent("events/field_factor_kf.npy")
        eventKf = FileManager.default.fileExists(atPath: kfURL.path) ? try NPYFile.read(Float.self, from: kfURL) : []
        let rURL = url.appendingPathComponent("events/apex_radius_nm.npy")
        eventApexRadiusNM = FileManager.default.fileExists(atPath: rURL.path) ? try NPYFile.read(Float.self, from: rURL) : []
        guard eventVDCV.count == eventAtomIDs.count else {
            throw TwinError.inconsistent("\(url.path)/events: v_dc_v.npy has \(eventVDCV.count) rows, atom_id.npy has \(eventAtomIDs.count)")
        }
        if let bad = eventAtomIDs.first(where: { Int($0) >= n }) {
            throw TwinError.inconsistent("\(url.path)/events/atom_id.npy: atom id \(bad) but the truth holds \(n) atoms")
        }
    }
}

/// One frame of a sequence and what was measured on it.
public struct SequenceFrameRecord: Sendable {
    public var index: Int
    public var eventIndex: Int
    public var timeS: Double
    public var voltageV: Double
    /// Apex radius of the remaining atoms, averaged over all azimuths (`NeedleProfile.measure`), nm.
    public var trueApexRadiusNM: Double?
    /// Apex radius of the remaining atoms' outline in the frame's projection (`NeedleProfile.silhouette`), nm: the
    /// radius a perfect measurement on this frame would give.
    public var silhouetteApexRadiusNM: Double?
    /// The engine's apex radius at the frame's event (its sphere fit to the cap, which sets k_f), nm.
    public var engineApexRadiusNM: Double?
    /// The field solver's k_f at the frame's event (5 for runs without it).
    public var fieldFactorKf: Double?
    public var measured: TipShape?
    public var measurementError: String?
    /// Apex field estimated as the paper did, F = V/(k_f R_measured), V/nm.
    public var fieldEstimateVPerNM: Double?
}

/// Evaporation sequences: BF-TEM frames at chosen points of a finished run.
public enum TEMSequence {
    /// Event indices of the frames: every `every` events, or `count` frames spread evenly from the start to the end.
    public static func frameEvents(totalEvents n: Int, every: Int, count: Int) -> [Int] {
        if every > 0 { return Array(stride(from: 0, through: n, by: every)) }
        let k = max(2, count)
        return (0..<k).map { Int((Double($0) * Double(n) / Double(k - 1)).rounded()) }
    }

    /// Event indices at which the standing voltage first reaches each of `voltagesV` (voltages never reached are
    /// reported in `missed`).
    public static func frameEvents(atVoltagesV voltagesV: [Double], vDCV: [Float]) -> (events: [Int], missed: [Double]) {
        var events: [Int] = [], missed: [Double] = []
        for target in voltagesV.sorted() {
            if let k = vDCV.firstIndex(where: { Double($0) >= target }) { events.append(k + 1) } else { missed.append(target) }
        }
        return (events, missed)
    }

    /// Which frames a sequence takes, in order of precedence: explicit events, explicit voltages, an explicit count or
    /// spacing, the scenario's imaging stops, the scenario's spacing or count.
    public static func chooseFrames(run: RunDirectory, settings: TEMSettings, every: Int?, count: Int?, atVoltagesV: [Double],
                                    atEvents: [Int] = []) throws -> [Int] {
        let n = run.eventAtomIDs.count
        if !atEvents.isEmpty {
            if let bad = atEvents.first(where: { $0 < 0 || $0 > n }) {
                throw TwinError.invalidInput("frame at event \(bad): the run has \(n) events")
            }
            return atEvents.sorted()
        }
        if !atVoltagesV.isEmpty {
            let r = frameEvents(atVoltagesV: atVoltagesV, vDCV: run.eventVDCV)
            if !r.missed.isEmpty {
                throw TwinError.invalidInput("the run's standing voltage never reached \(r.missed.map { String(format: "%.1f V", $0) }.joined(separator: ", ")) (it ends at \(String(format: "%.1f", Double(run.eventVDCV.last ?? 0))) V)")
            }
            return r.events
        }
        if every != nil || count != nil {
            return frameEvents(totalEvents: n, every: every ?? 0, count: count ?? settings.sequenceFrames)
        }
        if case .intList(let stops)? = run.scenario["acquisition.imaging_stops_events"], !stops.isEmpty {
            if let bad = stops.first(where: { $0 > n }) {
                throw TwinError.invalidInput("acquisition.imaging_stops_events: stop at event \(bad) but the run has \(n) events")
            }
            return stops.sorted()
        }
        return frameEvents(totalEvents: n, every: settings.sequenceEveryEvents, count: settings.sequenceFrames)
    }


    /// Renders the frames of a run into `output` (created; written as `<output>.partial-<pid>` and renamed):
    /// `frames/frame_NNNN.png` (16-bit), `previews/frame_NNNN.png` (8-bit), `contact_sheet.png`, `frames.csv`, and
    /// `sequence.mp4` when ffmpeg is installed.
    public static func write(run: RunDirectory, output: URL, every: Int? = nil, count: Int? = nil, atVoltagesV: [Double] = [],
                             atEvents: [Int] = [], radiusSource: TipRadiusSource? = nil, threads: Int,
                             progress: ProgressReporter = ProgressReporter()) throws -> [SequenceFrameRecord] {
        let fm = FileManager.default
        if fm.fileExists(atPath: output.path) { throw TwinError.io("\(output.path) already exists; choose another --output directory") }
        let c = run.config
        var settings = TEMSettings(run.scenario, composition: c.composition, layerComposition: c.specimen.spec.surfaceLayerComposition)
        if let r = radiusSource { settings.tipRadiusSource = r }
        let events = try chooseFrames(run: run, settings: settings, every: every, count: count, atVoltagesV: atVoltagesV, atEvents: atEvents)
        var records: [SequenceFrameRecord] = []
        var previews: [GrayImage8] = []
        try PartialDirectory.build(output) { partial in
            for d in ["frames", "previews"] { try fm.createDirectory(at: partial.appendingPathComponent(d), withIntermediateDirectories: true) }
            records = try renderAndMeasure(run: run, settings: settings, events: events, threads: threads, progress: progress) { fi, f in
                let name = String(format: "frame_%04d.png", fi)
                try PNGFile.write(GrayImage16(width: f.frame.width, height: f.frame.height, pixels: f.frame.counts),
                                  to: partial.appendingPathComponent("frames/\(name)"))
                let preview = previewImage(f.frame.counts, width: f.frame.width, height: f.frame.height)
                try PNGFile.write(preview, to: partial.appendingPathComponent("previews/\(name)"))
                previews.append(preview)
            }
            try PNGFile.write(contactSheet(previews), to: partial.appendingPathComponent("contact_sheet.png"))
            let csv = framesCSV(records)
            try AtomicFile.write(Data(csv.utf8), to: partial.appendingPathComponent("frames.csv"))
            try AtomicFile.write(Data(apexProfileCSV(records).utf8), to: partial.appendingPathComponent("apex_profile.csv"))
            makeAnimation(in: partial, framesPerSecond: max(1, 1 / max(1e-3, settings.frameIntervalS)))
        }
        return records
    }

    /// Renders the frames at `events` of a run in order (atoms evaporated before each event removed) and measures the
    /// tip on each; `each` receives every rendered frame (to write it) before the next is rendered.
    public static func renderAndMeasure(run: RunDirectory, settings: TEMSettings, events: [Int], threads: Int,
                                        progress: ProgressReporter = ProgressReporter(enabled: false),
                                        each: (Int, NeedleFrame) throws -> Void = { _, _ in }) throws -> [SequenceFrameRecord] {
        let c = run.config
        var records: [SequenceFrameRecord] = []
        var alive = [Bool](repeating: true, count: run.atoms.count)
        var removed = 0
        for (fi, ev) in events.enumerated() {
            while removed < min(ev, run.eventAtomIDs.count) { alive[Int(run.eventAtomIDs[removed])] = false; removed += 1 }
            let v = run.eventVDCV.isEmpty ? 0 : Double(run.eventVDCV[max(0, min(ev, run.eventVDCV.count) - 1)])
            let f = try NeedleFrames.render(atoms: run.atoms, alive: alive, atomicVolumeNM3: c.lattice.atomicVolumeNM3, voltageV: v,
                                            settings: settings, frameIndex: fi, seed: c.seed, threads: threads,
                                            shank: c.geometry)
            try each(fi, f)
            var rec = SequenceFrameRecord(index: fi, eventIndex: ev, timeS: Double(fi) * settings.frameIntervalS, voltageV: v,
                                          trueApexRadiusNM: f.truth?.apexRadiusNM, silhouetteApexRadiusNM: f.silhouette?.apexRadiusNM)
            // State after `ev` events: the engine's values recorded with the ev-th event (none before the first).
            if ev > 0, ev <= run.eventApexRadiusNM.count { rec.engineApexRadiusNM = Double(run.eventApexRadiusNM[ev - 1]) }
            let kf = run.eventKf.isEmpty ? 5.0 : Double(run.eventKf[max(0, min(ev, run.eventKf.count) - 1)])
            rec.fieldFactorKf = kf
            do {
                var options = TipShapeOptions()
                options.darkLevel = settings.camera.offsetADU
                options.contrastThicknessNM = settings.body.contrastThicknessNM
                options.radiusSource = settings.tipRadiusSource
                let m = try TipShapeMeasurement.measure(pixels: f.frame.counts.map(Float.init), width: f.frame.width,
                                                        height: f.frame.height, pixelNM: settings.microscope.pixelNM, options: options)
                rec.measured = m
                if v > 0 { rec.fieldEstimateVPerNM = v / (kf * m.apexRadiusNM) }
            } catch {
                rec.measurementError = "\(error)"
            }
            records.append(rec)
            progress.report("tem frames", fi + 1, events.count)
        }
        return records
    }

    /// The `frames.csv` of a sequence (read back by ``TEMFramesTimeline``). `measured_cap_vertex_radius_nm` and
    /// `measured_cap_conic_constant` describe the conic fitted to the cap's silhouette (``CapProfile``);
    /// `measured_apex_radius_nm` is the radius of `radius_method` (edge or cross-sections, `imaging.tip_radius_method`),
    /// and the last two columns hold both methods' radii (the cross-section one is empty if its fit failed).
    public static func framesCSV(_ records: [SequenceFrameRecord]) -> String {
        var csv = "frame,event,time_s,v_dc_v,true_apex_radius_nm,silhouette_apex_radius_nm,engine_apex_radius_nm,measured_apex_radius_nm,measured_shank_half_angle_deg,measured_cap_vertex_radius_nm,measured_cap_conic_constant,field_factor_kf,field_estimate_v_per_nm,measurement_error,radius_method,measured_edge_apex_radius_nm,measured_section_apex_radius_nm\n"
        for r in records {
            func f(_ d: Double?) -> String { d.map { String(format: "%.4f", $0) } ?? "" }
            let err = (r.measurementError ?? "").replacingOccurrences(of: ",", with: ";").replacingOccurrences(of: "\n", with: " ")
            csv += "\(r.index),\(r.eventIndex),\(f(r.timeS)),\(f(r.voltageV)),\(f(r.trueApexRadiusNM)),\(f(r.silhouetteApexRadiusNM)),"
                + "\(f(r.engineApexRadiusNM)),\(f(r.measured?.apexRadiusNM)),\(f(r.measured?.shankHalfAngleDeg)),"
                + "\(f(r.measured?.capProfile?.vertexRadiusNM)),\(f(r.measured?.capProfile?.conicConstant)),\(f(r.fieldFactorKf)),"
                + "\(f(r.fieldEstimateVPerNM)),\(err),\(r.measured?.radiusSource.rawValue ?? ""),\(f(r.measured?.edgeApexRadiusNM)),"
                + "\(f(r.measured?.sectionFit?.radiusNM))\n"
        }
        return csv
    }

    /// The `apex_profile.csv` of a sequence (``ApexProfileCSV``): for every frame whose cap profile was measured, the
    /// fitted conic sampled from the axis to the outermost edge point used, as sag below the apex against ρ.
    public static func apexProfileCSV(_ records: [SequenceFrameRecord]) -> String {
        var csv = "event,rho_nm,sag_nm\n"
        for r in records {
            guard let p = r.measured?.capProfile else { continue }
            let (rho, sag) = p.sampled()
            for i in rho.indices { csv += String(format: "%d,%.5f,%.5f\n", r.eventIndex, rho[i], sag[i]) }
        }
        return csv
    }

    /// 8-bit preview: linear stretch between the 0.5th and 99.5th percentiles.
    public static func previewImage(_ counts: [UInt16], width: Int, height: Int) -> GrayImage8 {
        var hist = [Int](repeating: 0, count: 65536)
        for c in counts { hist[Int(c)] += 1 }
        func percentile(_ p: Double) -> Double {
            let target = Int(p * Double(counts.count))
            var acc = 0
            for (v, h) in hist.enumerated() { acc += h; if acc > target { return Double(v) } }
            return 65535
        }
        let lo = percentile(0.005), hi = max(lo + 1, percentile(0.995))
        let px = counts.map { UInt8(max(0, min(255, ((Double($0) - lo) / (hi - lo) * 255).rounded()))) }
        return GrayImage8(width: width, height: height, pixels: px)
    }

    /// Previews tiled left to right, top to bottom, each downscaled to at most 256 px, with 4 px gaps.
    static func contactSheet(_ images: [GrayImage8]) -> GrayImage8 {
        guard let first = images.first else { return GrayImage8(width: 1, height: 1, pixels: [0]) }
        let scale = max(1, Int((Double(max(first.width, first.height)) / 256).rounded(.up)))
        let tw = first.width / scale, th = first.height / scale
        let cols = Int(Double(images.count).squareRoot().rounded(.up)), rows = (images.count + cols - 1) / cols
        let gap = 4
        let w = cols * tw + (cols + 1) * gap, h = rows * th + (rows + 1) * gap
        var px = [UInt8](repeating: 255, count: w * h)
        for (k, img) in images.enumerated() {
            let ox = gap + (k % cols) * (tw + gap), oy = gap + (k / cols) * (th + gap)
            for y in 0..<th {
                for x in 0..<tw {
                    var s = 0
                    for dy in 0..<scale { for dx in 0..<scale { s += Int(img.pixels[(y * scale + dy) * img.width + x * scale + dx]) } }
                    px[(oy + y) * w + ox + x] = UInt8(s / (scale * scale))
                }
            }
        }
        return GrayImage8(width: w, height: h, pixels: px)
    }

    /// Encodes previews/frame_%04d.png into sequence.mp4 when `ffmpeg` is on the PATH (optional, detected at run time).
    static func makeAnimation(in dir: URL, framesPerSecond: Double) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffmpeg", "-loglevel", "error", "-y", "-framerate", String(format: "%.3f", framesPerSecond),
                       "-i", dir.appendingPathComponent("previews/frame_%04d.png").path,
                       "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-pix_fmt", "yuv420p", "-bitexact",
                       dir.appendingPathComponent("sequence.mp4").path]
        p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
        do { try p.run(); p.waitUntilExit() } catch { return }
        if p.terminationStatus != 0 { try? FileManager.default.removeItem(at: dir.appendingPathComponent("sequence.mp4")) }
    }
}
