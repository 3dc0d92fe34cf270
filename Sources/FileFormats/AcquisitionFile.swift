import Foundation
import TwinCore

/// One reader for every file that holds ions or detector events, so that `info`, `spectrum`, `reconstruct` and
/// `convert` accept the same inputs.
///
/// | format | chosen by | columns |
/// |---|---|---|
/// | `pos` | `.pos` | x, y, z, m/n (``POSFile``) |
/// | `epos` | `.epos` | + TOF, V_DC, V_pulse, detector x/y, pulses since previous, multiplicity (``EPOSFile``) |
/// | `apt` | `.apt` | the Cameca APT6 sections present (``APTFile``) |
/// | `raw` | `.raw` | APyT/Stuttgart detector events: V_DC, V_pulse, detector x/y, TOF (``RawEventFile``) |
/// | `ato` | `.ato` | GPM Rouen / LAWATAP v3 (x, y, z, m/n, V_DC, TOF, detector x/y, V_pulse) or v5 (x, y, z, m/n) (``ATOFile``) |
/// | `npy` | a directory | one `.npy` per column, named as `aptwin convert … DIR/` and a run's `acquisition/` write them |
public enum AcquisitionFile {
    /// Formats this reader accepts, for messages.
    public static let supported = "pos, epos, apt, raw (APyT raw events), ato (GPM Rouen v3/v5), npy (a directory of .npy columns)"

    /// Column files of the `npy` directory form (float32 unless noted), in the names `convert` and `run` write.
    nonisolated(unsafe) static let floatColumns: [(file: String, path: WritableKeyPath<Acquisition, [Float]>)] = [
        ("x_nm.npy", \.xNM), ("y_nm.npy", \.yNM), ("z_nm.npy", \.zNM), ("mass_to_charge_da.npy", \.massToChargeDa),
        ("tof_ns.npy", \.tofNS), ("v_dc_v.npy", \.vDCV), ("v_pulse_v.npy", \.vPulseV),
        ("detector_x_mm.npy", \.detectorXMM), ("detector_y_mm.npy", \.detectorYMM),
    ]

    /// Reads `path`. `format` overrides the extension (`pos`, `epos`, `apt`, `raw`, `ato`, `npy`); a directory is read
    /// as `npy` columns. Notes (skipped APT sections, assumed units, the ATO byte order) are in the acquisition's
    /// `notes`. `atoByteOrder` forces the byte order of ATO files (detected by default, see ``ATOFile``).
    ///
    /// - Throws: `TwinError.invalidInput` naming the file (and byte offset or column) for unreadable input, an
    ///   unknown format, or columns of different lengths.
    public static func read(_ path: String, format: String? = nil, eposVoltageUnit: EPOSVoltageUnit = .volts,
                            atoByteOrder: ATOByteOrder = .auto) throws -> (format: String, acquisition: Acquisition) {
        let url = URL(fileURLWithPath: path)
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
        guard exists else { throw TwinError.invalidInput("\(path): no such file or directory") }
        let fmt = (format ?? (isDir.boolValue ? "npy" : url.pathExtension)).lowercased()
        switch fmt {
        case "pos": return ("pos", try POSFile.read(url))
        case "epos":
            return ("epos", try EPOSFile.read(url, voltageUnit: eposVoltageUnit))   // notes the voltage unit assumed
        case "apt": return ("apt", try APTFile.read(url))
        case "raw": return ("raw", RawEventFile.acquisition(try RawEventFile.read(url), name: url.lastPathComponent))
        case "ato": return ("ato", try ATOFile.read(url, byteOrder: atoByteOrder))
        case "npy":
            guard isDir.boolValue else { throw TwinError.invalidInput("\(path): the npy form is a directory of column files (x_nm.npy, mass_to_charge_da.npy, …)") }
            return ("npy", try readColumns(url))
        default:
            throw TwinError.invalidInput("\(path): unknown ion file type '\(fmt)'; supported: \(supported)")
        }
    }

    /// Reads a directory of `.npy` columns; at least `mass_to_charge_da.npy` or `tof_ns.npy` must be present.
    static func readColumns(_ dir: URL) throws -> Acquisition {
        var a = Acquisition()
        var found: [String] = []
        for (file, path) in floatColumns {
            let u = dir.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: u.path) else { continue }
            a[keyPath: path] = try NPYFile.read(Float.self, from: u)
            found.append(file)
        }
        for (file, path) in [("pulses_since_previous.npy", \Acquisition.pulsesSincePrevious), ("multiplicity.npy", \Acquisition.multiplicity)] {
            let u = dir.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: u.path) else { continue }
            a[keyPath: path] = try NPYFile.read(UInt32.self, from: u)
            found.append(file)
        }
        guard found.contains("mass_to_charge_da.npy") || found.contains("tof_ns.npy") else {
            throw TwinError.invalidInput("\(dir.path): no mass_to_charge_da.npy or tof_ns.npy column")
        }
        let counts = Set(found.map { f -> Int in
            switch f {
            case "pulses_since_previous.npy": return a.pulsesSincePrevious.count
            case "multiplicity.npy": return a.multiplicity.count
            default: return a[keyPath: floatColumns.first { $0.file == f }!.path].count
            }
        })
        guard counts.count == 1 else {
            throw TwinError.invalidInput("\(dir.path): columns have different lengths (\(found.joined(separator: ", ")): \(counts.sorted()))")
        }
        a.notes.append("\(dir.lastPathComponent): columns \(found.joined(separator: ", "))")
        return a
    }
}
