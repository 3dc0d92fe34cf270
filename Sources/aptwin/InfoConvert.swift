import ArgumentParser
import FileFormats
import Foundation
import MaterialsData
import NeXus
import TwinPipeline
import TwinCore


/// Reads any ion or event file through ``AcquisitionFile`` (POS, EPOS, APT, APyT raw, a directory of .npy
/// columns, ATO) or, for `.nxs`, ``NXapmFile``: the one reader shared by `info`, `reconstruct` and `convert`;
/// notes go to stderr.
func readAcquisition(_ path: String, voltageUnit: EPOSVoltageUnit, format: String? = nil, quiet: Bool = false,
                     atoByteOrder: ATOByteOrder = .auto) throws -> (String, Acquisition) {
    let (fmt, acq): (String, Acquisition)
    if (format ?? URL(fileURLWithPath: path).pathExtension).lowercased() == "nxs" {
        guard FileManager.default.fileExists(atPath: path) else { throw TwinError.invalidInput("\(path): no such file or directory") }
        (fmt, acq) = ("nxs", try NXapmFile.read(URL(fileURLWithPath: path)).acquisition)
    } else {
        (fmt, acq) = try AcquisitionFile.read(path, format: format, eposVoltageUnit: voltageUnit, atoByteOrder: atoByteOrder)
    }
    if !quiet { for n in acq.notes { FileHandle.standardError.write(Data("aptwin: note: \(n)\n".utf8)) } }
    return (fmt, acq)
}

/// True when `path` names a NeXus NXapm file (.nxs) by its extension.
func isNeXusFile(_ path: String) -> Bool { URL(fileURLWithPath: path).pathExtension.lowercased() == "nxs" }

/// True when `path` names a range file (.rrng, .rng, .env) by its extension.
func isRangeFile(_ path: String) -> Bool {
    RangeFile.supportedFormats.contains(URL(fileURLWithPath: path).pathExtension.lowercased())
}

/// True when `path` is read by ``AcquisitionFile`` rather than as a range file, image or single array.
func isIonInput(_ path: String) -> Bool {
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { return true }
    return ["pos", "epos", "apt", "raw", "ato", "nxs"].contains(URL(fileURLWithPath: path).pathExtension.lowercased())
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe an APT file (POS, EPOS, Cameca APT, ATO, NeXus NXapm .nxs, RRNG, NPY) or a microscope image (DM3, DM4, MRC).")
    @Argument(help: "The file.") var file: String
    @Flag(help: "Print JSON (keys format, ions, bounds_nm, mass_range_da, …).") var json = false
    @Option(help: "Voltage unit assumed for EPOS files: v or kv.") var eposVoltageUnit: String = "v"
    @Option(help: "Byte order of ATO records: auto (detected, see README), little or big.") var atoByteOrder: String = "auto"

    func run() throws {
        try reportingErrors {
            let unit = try parseUnit(eposVoltageUnit)
            let atoOrder = try parseATOByteOrder(atoByteOrder)
            if ["dm3", "dm4", "mrc"].contains(URL(fileURLWithPath: file).pathExtension.lowercased()) {
                try describeImage(); return
            }
            let ionInput = isIonInput(file), rangeInput = isRangeFile(file)
            guard let fmt = ionInput ? .pos : rangeInput ? .rrng : APTFormat.fromPath(file) else {
                throw CLIError("\(file): unknown file type; supported: \(AcquisitionFile.supported), nxs (NeXus NXapm), range files (.rrng, .rng, .env), .npy")
            }
            var out: [String: Any] = ["format": fmt.rawValue, "file": file]
            switch fmt {
            case _ where ionInput:
                let (ionFormat, acq) = try readAcquisition(file, voltageUnit: unit, quiet: json, atoByteOrder: atoOrder)
                out["format"] = ionFormat
                let fmt = APTFormat(rawValue: ionFormat)
                if fmt == .apt {
                    let lay = try APTFile.layout(URL(fileURLWithPath: file))
                    out["apt_sections"] = lay.sections.map { ["name": $0.name, "unit": $0.unit, "record_size": $0.recordSize,
                                                              "byte_offset": $0.headerOffset] as [String: Any] }
                    out["notes"] = acq.notes
                    if !acq.detectorXMM.isEmpty {
                        out["detector_bounds_mm"] = bounds([acq.detectorXMM, acq.detectorYMM]).map { [$0.0, $0.1] }
                    }
                    if !acq.vDCV.isEmpty { out["v_dc_range_v"] = bounds([acq.vDCV]).first.map { [$0.0, $0.1] } ?? [] }
                }
                out["notes"] = acq.notes
                if fmt != .apt && fmt != .epos && !acq.vDCV.isEmpty { out["v_dc_range_v"] = bounds([acq.vDCV]).first.map { [$0.0, $0.1] } ?? [] }
                out["ions"] = acq.count
                out["columns"] = acq.presentColumns
                out["bounds_nm"] = bounds([acq.xNM, acq.yNM, acq.zNM]).map { [$0.0, $0.1] }
                out["mass_range_da"] = bounds([acq.massToChargeDa]).first.map { [$0.0, $0.1] } ?? []
                if ionFormat == "nxs" {
                    let doc = try NXapmFile.read(URL(fileURLWithPath: file))
                    out["is_simulation"] = doc.simulation != nil
                    out["start_time"] = doc.startTime
                    if let t = doc.ranges { out["ion_species"] = t.ions.map(\.name); out["ranges"] = t.ranges.count }
                    var ins: [String: Any] = [:]
                    let p = acq.instrument
                    for (k, v) in [("flight_path_mm", p.flightPathMM), ("detector_diameter_mm", p.detectorDiameterMM),
                                   ("detection_efficiency", p.detectionEfficiency), ("pulse_fraction", p.pulseFraction),
                                   ("pulse_frequency_hz", p.pulseFrequencyHz), ("temperature_k", p.temperatureK)] {
                        if let v { ins[k] = v }
                    }
                    out["instrument"] = ins
                    if !acq.detectorXMM.isEmpty { out["detector_bounds_mm"] = bounds([acq.detectorXMM, acq.detectorYMM]).map { [$0.0, $0.1] } }
                    if !acq.tofNS.isEmpty { out["tof_range_ns"] = bounds([acq.tofNS]).first.map { [$0.0, $0.1] } ?? [] }
                }
                if fmt == .epos {
                    out["epos_voltage_unit_assumed"] = unit.rawValue
                    out["v_dc_range_v"] = bounds([acq.vDCV]).first.map { [$0.0, $0.1] } ?? []
                    out["tof_range_ns"] = bounds([acq.tofNS]).first.map { [$0.0, $0.1] } ?? []
                    out["detector_bounds_mm"] = bounds([acq.detectorXMM, acq.detectorYMM]).map { [$0.0, $0.1] }
                    out["multi_hit_fraction"] = multiHitFraction(acq.multiplicity)
                }
            case .rrng:
                let (table, warnings, rangeFormat) = try RangeFile.read(URL(fileURLWithPath: file))
                out["format"] = rangeFormat
                out["ion_species"] = table.ions.map(\.name)
                out["ranges"] = table.ranges.count
                out["mass_range_da"] = table.ranges.isEmpty ? [] : [table.ranges.map(\.lowDa).min()!, table.ranges.map(\.highDa).max()!]
                out["warnings"] = warnings
            case .npy:
                let h = try NPYFile.describe(URL(fileURLWithPath: file))
                out["dtype"] = h.descr
                out["shape"] = h.shape
                out["ions"] = h.shape.first ?? 0
                out["fortran_order"] = h.fortranOrder
            default:
                throw CLIError("\(file): info does not support \(fmt.rawValue) yet")
            }
            if json {
                let data = try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                for k in out.keys.sorted() { print("\(k): \(out[k]!)") }
            }
        }
    }

    /// DM3/DM4/MRC images: size, pixel size, value range and the SHA-256 of the pixels as little-endian float32
    /// (to compare readers pixel for pixel, see Validation/interop/images).
    func describeImage() throws {
        let url = URL(fileURLWithPath: file)
        let ext = url.pathExtension.lowercased()
        let img = ext == "mrc" ? try MRCFile.read(url) : try DMFile.read(url)
        var le = Data(capacity: img.pixels.count * 4)
        img.pixels.withUnsafeBufferPointer { b in for v in b { var x = v.bitPattern.littleEndian; withUnsafeBytes(of: &x) { le.append(contentsOf: $0) } } }
        let finite = img.pixels.filter(\.isFinite)
        let out: [String: Any] = ["format": ext, "file": file, "width": img.width, "height": img.height,
                                  "pixel_nm": img.pixelSizeNM ?? NSNull(), "notes": img.notes,
                                  "value_range": finite.isEmpty ? [] : [Double(finite.min()!), Double(finite.max()!)],
                                  "pixels_f32le_sha256": SHA256.hex(le)]
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
        } else {
            for k in out.keys.sorted() { print("\(k): \(out[k]!)") }
        }
    }

    func bounds(_ cols: [[Float]]) -> [(Double, Double)] {
        cols.compactMap { c -> (Double, Double)? in
            guard !c.isEmpty else { return nil }
            var lo = Float.infinity, hi = -Float.infinity
            for v in c where v.isFinite { lo = min(lo, v); hi = max(hi, v) }
            return lo <= hi ? (Double(lo), Double(hi)) : nil
        }
    }

    func multiHitFraction(_ m: [UInt32]) -> Double {
        let pulses = m.filter { $0 > 0 }.count
        return pulses == 0 ? 0 : Double(m.filter { $0 > 1 }.count) / Double(pulses)
    }
}

func parseATOByteOrder(_ s: String) throws -> ATOByteOrder {
    guard let o = ATOByteOrder(rawValue: s.lowercased()) else { throw CLIError("--ato-byte-order must be auto, little or big, got '\(s)'") }
    return o
}

func parseUnit(_ s: String) throws -> EPOSVoltageUnit {
    switch s.lowercased() {
    case "v", "volts": return .volts
    case "kv", "kilovolts": return .kilovolts
    default: throw CLIError("--epos-voltage-unit must be v or kv, got '\(s)'")
    }
}

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert between formats by extension: POS/EPOS/APT/ATO/NXS → POS, EPOS, APT or NeXus NXapm (.nxs), RRNG → RRNG, POS/EPOS/APT → a directory of .npy columns, ions or a run directory → a point cloud (.vtp, .ply, .xyz).",
        discussion: "An OUT that ends in '/' or names an existing directory receives one .npy file per column (x_nm.npy, mass_to_charge_da.npy, …). EPOS written from POS gets zero TOF, voltages and detector coordinates. A .nxs output stores every column present, the instrument parameters known and, with --ranges (or from a .nxs input), the ranging definitions; a range file output from a .nxs input receives its ranging definitions. A .vtp/.ply/.xyz OUT gets positions, m/n, a species per point (from --ranges, or a run's spectrum/ranges.rrng) with its colour, and for a run directory the truth ids (truth_atom_id, event_index, truth_element_z).")
    @Argument(help: "Input file (or a run directory for point-cloud output).") var input: String
    @Argument(help: "Output file or directory.") var output: String
    @Option(help: "Voltage unit of EPOS input and output: v or kv.") var eposVoltageUnit: String = "v"
    @Option(help: "Range file (.rrng, .rng, .env) that labels the points of a .vtp/.ply/.xyz output (a run directory's default: its spectrum/ranges.rrng), or whose ranging definitions a .nxs output stores.") var ranges: String?
    @Option(help: "Byte order of ATO input records: auto (detected), little or big.") var atoByteOrder: String = "auto"

    func run() throws {
        try reportingErrors {
            let unit = try parseUnit(eposVoltageUnit)
            let atoOrder = try parseATOByteOrder(atoByteOrder)
            if PointCloudFile.isPointCloudPath(output) {
                try PointCloudConvert.convert(input: input, output: output, rangesPath: ranges, voltageUnit: unit, atoByteOrder: atoOrder)
                return
            }
            if isNeXusFile(input) || isNeXusFile(output) { return try convertNeXus(unit, atoByteOrder: atoOrder) }
            if ranges != nil { throw CLIError("--ranges applies to point-cloud (.vtp, .ply, .xyz) and NeXus (.nxs) output only") }
            let inFmt: APTFormat? = isRangeFile(input) ? .rrng : isIonInput(input) ? .pos : APTFormat.fromPath(input)
            guard let inFmt else { throw CLIError("\(input): unknown input type") }
            let outURL = URL(fileURLWithPath: output)
            var isDir: ObjCBool = false
            let toDirectory = output.hasSuffix("/") || (FileManager.default.fileExists(atPath: output, isDirectory: &isDir) && isDir.boolValue)
            if inFmt == .rrng {
                guard isRangeFile(output) else { throw CLIError("\(output): a range file converts to .rrng, .rng or .env only") }
                let (table, warnings, _) = try RangeFile.read(URL(fileURLWithPath: input))
                for w in warnings { FileHandle.standardError.write(Data("aptwin: warning: \(w)\n".utf8)) }
                for w in try RangeFile.write(table, to: outURL) { FileHandle.standardError.write(Data("aptwin: warning: \(output): \(w)\n".utf8)) }
                print("wrote \(output): \(table.ions.count) ions, \(table.ranges.count) ranges")
                return
            }
            let (_, acq) = try readAcquisition(input, voltageUnit: unit, atoByteOrder: atoOrder)
            if toDirectory {
                try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
                var written: [String] = []
                func col(_ name: String, _ a: [Float]) throws {
                    guard !a.isEmpty else { return }
                    try NPYFile.write(a, to: outURL.appendingPathComponent(name)); written.append(name)
                }
                try col("x_nm.npy", acq.xNM); try col("y_nm.npy", acq.yNM); try col("z_nm.npy", acq.zNM)
                try col("mass_to_charge_da.npy", acq.massToChargeDa); try col("tof_ns.npy", acq.tofNS)
                try col("v_dc_v.npy", acq.vDCV); try col("v_pulse_v.npy", acq.vPulseV)
                try col("detector_x_mm.npy", acq.detectorXMM); try col("detector_y_mm.npy", acq.detectorYMM)
                if !acq.pulsesSincePrevious.isEmpty {
                    try NPYFile.write(acq.pulsesSincePrevious, to: outURL.appendingPathComponent("pulses_since_previous.npy"))
                    written.append("pulses_since_previous.npy")
                }
                if !acq.multiplicity.isEmpty {
                    try NPYFile.write(acq.multiplicity, to: outURL.appendingPathComponent("multiplicity.npy"))
                    written.append("multiplicity.npy")
                }
                print("wrote \(written.count) columns of \(acq.count) ions to \(output): \(written.joined(separator: ", "))")
                return
            }
            guard let outFmt = APTFormat.fromPath(output) else { throw CLIError("\(output): unknown output type") }
            switch outFmt {
            case .pos: try POSFile.write(acq, to: outURL)
            case .epos:
                try EPOSFile.write(acq, to: outURL, voltageUnit: unit, fillMissingWithZeros: true)
            case .apt:
                for n in try APTFile.write(acq, to: outURL) { FileHandle.standardError.write(Data("aptwin: note: \(n)\n".utf8)) }
            default: throw CLIError("\(output): cannot write \(outFmt.rawValue) from \(inFmt.rawValue)")
            }
            print("wrote \(output): \(acq.count) ions")
        }
    }

    /// Conversions with a NeXus NXapm file on either side.
    func convertNeXus(_ unit: EPOSVoltageUnit, atoByteOrder: ATOByteOrder) throws {
        let outURL = URL(fileURLWithPath: output)
        var doc: NXapmDocument
        if isNeXusFile(input) {
            guard FileManager.default.fileExists(atPath: input) else { throw CLIError("\(input): no such file or directory") }
            doc = try NXapmFile.read(URL(fileURLWithPath: input))
            for n in doc.acquisition.notes { FileHandle.standardError.write(Data("aptwin: note: \(n)\n".utf8)) }
            if isRangeFile(output) {
                guard let table = doc.ranges else { throw CLIError("\(input): has no ranging definitions (atom_probe/ranging/peak_identification)") }
                for w in try RangeFile.write(table, to: outURL) { FileHandle.standardError.write(Data("aptwin: warning: \(output): \(w)\n".utf8)) }
                print("wrote \(output): \(table.ions.count) ions, \(table.ranges.count) ranges")
                return
            }
        } else {
            let (_, acq) = try readAcquisition(input, voltageUnit: unit, atoByteOrder: atoByteOrder)
            doc = NXapmDocument(acquisition: acq, description: "converted by aptwin from \(URL(fileURLWithPath: input).lastPathComponent)")
        }
        if let ranges {
            let (table, warnings, _) = try RangeFile.read(URL(fileURLWithPath: ranges))
            for w in warnings { FileHandle.standardError.write(Data("aptwin: warning: \(w)\n".utf8)) }
            doc.ranges = table
        }
        let acq = doc.acquisition
        if isNeXusFile(output) {
            try NXapmFile.write(doc, to: outURL, version: ScenarioRunner.packageVersion)
            print("wrote \(output): \(acq.count) ions\(doc.ranges.map { ", \($0.ions.count) ion species, \($0.ranges.count) ranges" } ?? "")")
            return
        }
        guard let outFmt = APTFormat.fromPath(output) else { throw CLIError("\(output): unknown output type") }
        switch outFmt {
        case .pos: try POSFile.write(acq, to: outURL)
        case .epos: try EPOSFile.write(acq, to: outURL, voltageUnit: unit, fillMissingWithZeros: true)
        case .apt: try APTFile.write(acq, to: outURL)
        default: throw CLIError("\(output): cannot write \(outFmt.rawValue) from nxs")
        }
        print("wrote \(output): \(acq.count) ions")
    }
}
