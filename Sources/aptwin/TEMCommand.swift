import ArgumentParser
import FileFormats
import Foundation
import ScenarioConfig
import TEMImaging
import TwinCore
import TwinPipeline

struct TEM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tem",
        abstract: "Bright-field TEM frames of the needle: render, sequence a run, measure tip shape, print the CTF.",
        subcommands: [TEMFrame.self, TEMSequenceCommand.self, TEMMeasure.self, TEMCalibrate.self, TEMCTF.self])
}

struct TEMFrame: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "frame",
        abstract: "Render one BF-TEM frame of a scenario's needle after N evaporation events (16-bit PNG).")
    @Argument(help: "Scenario file (YAML).") var scenario: String
    @Option(help: "Evaporation events before the frame (0: the needle as built).") var atEvent: Int = 0
    @Option(help: "Output PNG (default: Output/<name>/tem_frame_event<N>.png).") var output: String?
    @Option(help: "Override the scenario's seed.") var seed: Int?
    @Option(help: "Worker threads (results do not depend on it).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        try reportingErrors {
            guard atEvent >= 0 else { throw CLIError("--at-event must be ≥ 0") }
            var s = try loadScenario(scenario, seed: seed)
            if atEvent > 0 { try s.set("acquisition.max_events", .int(atEvent)) }
            let out = URL(fileURLWithPath: output ?? "Output/\(s.string("name") ?? "unnamed")/tem_frame_event\(atEvent).png")
            let f = try TEMSnapshot.frame(scenario: s, atEvent: atEvent, threads: threads)
            try FileManager.default.createDirectory(at: out.deletingLastPathComponent(), withIntermediateDirectories: true)
            try PNGFile.write(GrayImage16(width: f.frame.width, height: f.frame.height, pixels: f.frame.counts), to: out)
            print("wrote \(out.path): \(f.frame.width)×\(f.frame.height) px, V = \(String(format: "%.1f", f.voltageV)) V"
                  + (f.truth.map { String(format: ", true apex radius %.2f nm", $0.apexRadiusNM) } ?? "")
                  + (f.silhouette.map { String(format: " (%.2f nm in this projection)", $0.apexRadiusNM) } ?? ""))
        }
    }
}

struct TEMSequenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sequence",
        abstract: "Render the evaporation sequence of a finished run: 16-bit frames, 8-bit previews, contact sheet, frames.csv (measured radii and field estimates), and an animation when ffmpeg is installed.",
        discussion: "Frames: at --at-events or --at-voltages-v, else every --every events or --count frames, else at the scenario's acquisition.imaging_stops_events, else imaging.sequence_every_events / imaging.sequence_frames.")
    @Argument(help: "Run directory written by `aptwin run`.") var runDir: String
    @Option(help: "A frame every N events (default: the scenario's imaging.sequence_every_events).") var every: Int?
    @Option(help: "Number of frames spread evenly over the run (default: imaging.sequence_frames).") var count: Int?
    @Option(help: "Frames where the standing voltage first reaches these values, V, comma-separated (e.g. 4000,4500,5010).") var atVoltagesV: String?
    @Option(help: "Frames after these numbers of events, comma-separated (e.g. 0,1956371,2445464).") var atEvents: String?
    @Option(help: "Apex radius method on the frames: edge or cross-sections (default: the scenario's imaging.tip_radius_method).") var radiusFrom: String?
    @Option(help: "Output directory (default: RUN_DIR/tem_sequence).") var output: String?
    @Option(help: "Worker threads.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        try reportingErrors {
            let source = try radiusFrom.map(parseRadiusSource)
            let run = try RunDirectory(URL(fileURLWithPath: runDir))
            let out = URL(fileURLWithPath: output ?? URL(fileURLWithPath: runDir).appendingPathComponent("tem_sequence").path)
            let volts = try (atVoltagesV ?? "").split(separator: ",").map { t -> Double in
                guard let v = Double(t.trimmingCharacters(in: .whitespaces)), v > 0 else { throw CLIError("--at-voltages-v: '\(t)' is not a positive voltage") }
                return v
            }
            let events = try (atEvents ?? "").split(separator: ",").map { t -> Int in
                // The range (0…the run's events) is checked by TEMSequence.chooseFrames.
                guard let e = Int(t.trimmingCharacters(in: .whitespaces)), e >= 0 else { throw CLIError("--at-events: '\(t)' is not an event count ≥ 0") }
                return e
            }
            guard events.isEmpty || volts.isEmpty else { throw CLIError("give --at-events or --at-voltages-v, not both") }
            let recs = try TEMSequence.write(run: run, output: out, every: every, count: count, atVoltagesV: volts, atEvents: events,
                                             radiusSource: source, threads: threads)
            print("wrote \(recs.count) frames to \(out.path)")
            for r in recs {
                let meas = r.measured.map { String(format: "measured R %.2f nm", $0.apexRadiusNM) } ?? "not measured"
                let truth = (r.trueApexRadiusNM.map { String(format: "true R %.2f nm", $0) } ?? "")
                    + (r.silhouetteApexRadiusNM.map { String(format: " (outline %.2f nm)", $0) } ?? "")
                let field = r.fieldEstimateVPerNM.map { String(format: ", F ≈ %.1f V/nm", $0) } ?? ""
                print(String(format: "frame %3d  event %9d  V %8.1f  ", r.index, r.eventIndex, r.voltageV) + "\(truth)  \(meas)\(field)")
            }
        }
    }
}

/// The value of a `--radius-from` option.
private func parseRadiusSource(_ text: String) throws -> TipRadiusSource {
    guard let s = TipRadiusSource(rawValue: text) else {
        throw CLIError("--radius-from \(text): use one of \(TipRadiusSource.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return s
}

struct TEMMeasure: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "measure",
        abstract: "Measure apex radius, apex position and shank half-angle on a frame (8/16-bit PNG, TIFF, DigitalMicrograph DM3/DM4, MRC); the needle may point in any direction.")
    @Argument(help: "Frame image (.png, .tif, .tiff, .dm3, .dm4, .mrc).") var frame: String
    @Option(help: "Pixel size at the specimen, nm (default: the calibration of a DM3/DM4/MRC file, else 0.24).") var pixelNM: Double?
    @Option(help: "Contrast thickness x_k of the needle material for the edge-bias correction, nm (Fe 45, W 13).") var contrastThicknessNM: Double = 45
    @Option(help: "Camera dark level (offset) to subtract, in the image's units (the twin's frames: 100).") var darkLevel: Double = 0
    @Option(help: "Where the edge contour is drawn, from the vacuum (0) to the needle level at the apex centre (1).") var edgeLevel: Double = 0.5
    @Option(help: "Gaussian smoothing before segmentation and edge location, pixels (0–10).") var smoothingPx: Double = 1
    @Option(help: "Edge points within this angle of the axis, seen from the apex circle's centre, enter the circle fit, degrees (10–85).") var capHalfAngleDeg: Double = 60
    @Option(help: "Method for apex_radius_nm: edge (contour + edge model) or cross-sections (needle areas from the projected thickness; needs the material's x_k).") var radiusFrom: String = "edge"
    @Option(help: "Depth of the cap fitted by the cross-section method, in apex radii (0.1–1).") var sectionDepthRadii: Double = 0.3
    @Flag(help: "Print JSON (keys apex_radius_nm, apex_x_nm, apex_y_nm, shank_half_angle_deg, edge_apex_radius_nm, section_apex_radius_nm, cap_vertex_radius_nm, cap_conic_constant, …).") var json = false

    func run() throws {
        try reportingErrors {
            if let p = pixelNM { guard p > 0, p.isFinite else { throw CLIError("--pixel-nm must be positive") } }
            let url = URL(fileURLWithPath: frame)
            let pixels: [Float], w: Int, h: Int
            var filePixelNM: Double?
            switch url.pathExtension.lowercased() {
            case "png":
                let img = try PNGFile.read(GrayImage16.self, from: url)
                pixels = img.pixels.map(Float.init); w = img.width; h = img.height
            case "tif", "tiff":
                let t = try TIFFFile.read(url)
                pixels = t.pixels; w = t.width; h = t.height
            case "dm3", "dm4", "mrc":
                let img = url.pathExtension.lowercased() == "mrc" ? try MRCFile.read(url) : try DMFile.read(url)
                for n in img.notes where !json { FileHandle.standardError.write(Data("aptwin: note: \(n)\n".utf8)) }
                pixels = img.pixels; w = img.width; h = img.height; filePixelNM = img.pixelSizeNM
            default: throw CLIError("\(frame): unsupported image type; use .png, .tif, .tiff, .dm3, .dm4 or .mrc")
            }
            let pixelNM = self.pixelNM ?? filePixelNM ?? 0.24
            let pixelSource = self.pixelNM != nil ? "option" : filePixelNM != nil ? "file" : "default"
            if pixelSource == "default", ["dm3", "dm4", "mrc"].contains(url.pathExtension.lowercased()), !json {
                FileHandle.standardError.write(Data("aptwin: note: \(frame) carries no pixel size; using 0.24 nm (set --pixel-nm)\n".utf8))
            }
            var options = TipShapeOptions()
            options.contrastThicknessNM = contrastThicknessNM
            options.darkLevel = darkLevel
            options.capFitHalfAngleDeg = capHalfAngleDeg
            options.edgeLevel = edgeLevel
            options.smoothingSigmaPx = smoothingPx
            options.sectionCapDepthRadii = sectionDepthRadii
            options.radiusSource = try parseRadiusSource(radiusFrom)
            let m = try TipShapeMeasurement.measure(pixels: pixels, width: w, height: h, pixelNM: pixelNM, options: options)
            let out: [String: Any] = ["apex_radius_nm": m.apexRadiusNM, "apex_x_nm": m.apexXNM, "apex_y_nm": m.apexYNM,
                                      "shank_half_angle_deg": m.shankHalfAngleDeg ?? NSNull(), "axis_angle_deg": m.axisAngleDeg,
                                      "cap_vertex_radius_nm": m.capProfile?.vertexRadiusNM ?? NSNull(),
                                      "cap_conic_constant": m.capProfile?.conicConstant ?? NSNull(),
                                      "cap_profile_rms_nm": m.capProfile?.fitRMSNM ?? NSNull(),
                                      "raw_apex_radius_nm": m.rawApexRadiusNM, "edge_bias_nm": m.edgeBiasNM,
                                      "radius_source": m.radiusSource.rawValue, "edge_apex_radius_nm": m.edgeApexRadiusNM,
                                      "section_apex_radius_nm": m.sectionFit?.radiusNM ?? NSNull(),
                                      "section_fit_rms_nm": m.sectionFit?.rmsNM ?? NSNull(),
                                      "edge_points": m.edgePointCount, "fit_rms_nm": m.fitRMSNM, "pixel_nm": pixelNM,
                                      "pixel_nm_source": pixelSource, "file": frame]
            if json {
                print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
            } else {
                for k in out.keys.sorted() { print("\(k): \(out[k]!)") }
            }
        }
    }
}

struct TEMCTF: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ctf",
        abstract: "Print the contrast transfer function used by the frame model (columns k_per_nm,chi_rad,ctf; ctf = sin χ).")
    @Option(help: "Spherical aberration, mm.") var csMM: Double = 1
    @Option(help: "Defocus, nm (positive = underfocus; Scherzer 61.3 nm at 1 mm, 200 kV).") var defocusNM: Double = 0
    @Option(help: "Accelerating voltage, kV.") var kv: Double = 200
    @Option(help: "Largest spatial frequency, 1/nm.") var maxKPerNM: Double = 10
    @Option(help: "Number of rows.") var steps: Int = 1000
    @Flag(help: "Multiply by the aperture and the temporal and spatial envelopes.") var envelopes = false
    @Flag(help: "CSV output (the default; kept for clarity in scripts).") var csv = false

    func run() throws {
        try reportingErrors {
            guard kv > 0, csMM >= 0, maxKPerNM > 0, steps >= 2 else { throw CLIError("--kv, --max-k-per-nm must be positive, --cs-mm ≥ 0, --steps ≥ 2") }
            var m = MicroscopeParameters()
            m.csMM = csMM; m.defocusNM = defocusNM; m.acceleratingVoltageKV = kv
            print("k_per_nm,chi_rad,ctf")
            for row in ElectronOptics.ctfTable(maxKPerNM: maxKPerNM, steps: steps, m, withEnvelopes: envelopes) {
                print(String(format: "%.6f,%.9g,%.9g", row.kPerNM, row.chiRad, row.ctf))
            }
        }
    }
}

struct TEMCalibrate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "calibrate",
        abstract: "Edge-bias calibration curve: radius measured on simulated frames of ideal needles vs the true radius, for a material, defocus and bias voltage (CSV or JSON).")
    @Option(help: "Needle material: Fe, Cr, W, Al, Ag, Cu, Ni or C.") var material: String = "Fe"
    @Option(help: "Defocus, nm (positive = underfocus).") var defocusNM: Double = 0
    @Option(help: "Standing voltage on the needle, V.") var voltageV: Double = 0
    @Option(help: "Distance to the grounded surroundings, mm.") var environmentRadiusMM: Double = 1
    @Option(help: "True radii, nm, comma-separated.") var radiiNM: String = "10,20,30,50,75,100"
    @Option(help: "Contour level of the measurement, from the vacuum (0) to the needle level (1).") var edgeLevel: Double = 0.5
    @Option(help: "Worker threads.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "Print JSON instead of CSV.") var json = false

    func run() throws {
        try reportingErrors {
            guard let optics = MaterialOptics.forElement(material) else { throw CLIError("--material \(material): no optics data (Fe, Cr, W, Al, Ag, Cu, Ni, C)") }
            let radii = try radiiNM.split(separator: ",").map { s -> Double in
                guard let r = Double(s.trimmingCharacters(in: .whitespaces)), r > 0 else { throw CLIError("--radii-nm: '\(s)' is not a positive number") }
                return r
            }
            var m = MicroscopeParameters()
            m.defocusNM = defocusNM
            let pts = try TEMCalibration.curve(radiiNM: radii, material: optics, microscope: m, voltageV: voltageV, edgeLevel: edgeLevel,
                                               environmentRadiusNM: environmentRadiusMM * 1e6, threads: threads)
            if json {
                let rows = pts.map { ["true_radius_nm": $0.trueRadiusNM, "raw_radius_nm": $0.rawRadiusNM,
                                      "corrected_radius_nm": $0.correctedRadiusNM, "residual_bias_nm": $0.residualBiasNM,
                                      "section_radius_nm": $0.sectionRadiusNM ?? NSNull()] as [String: Any] }
                let out: [String: Any] = ["material": material, "defocus_nm": defocusNM, "voltage_v": voltageV, "points": rows]
                print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
            } else {
                print("true_radius_nm,raw_radius_nm,corrected_radius_nm,residual_bias_nm,section_radius_nm")
                for p in pts {
                    print(String(format: "%.3f,%.4f,%.4f,%.4f,", p.trueRadiusNM, p.rawRadiusNM, p.correctedRadiusNM, p.residualBiasNM)
                          + (p.sectionRadiusNM.map { String(format: "%.4f", $0) } ?? ""))
                }
            }
        }
    }
}
