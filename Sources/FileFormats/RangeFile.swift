import Foundation
import TwinCore

/// One entry point for the range-file formats: IVAS `.rrng` (``RRNGFile``), Oak Ridge `.rng` (``RNGFile``) and GPM
/// Rouen `.env` (``ENVFile``).
///
/// The format is the explicit `format` if given (`"rrng"`, `"rng"`, `"env"`, case-insensitive, a leading dot
/// allowed), else the file-name extension (case-insensitive). The contents are not sniffed: a file given the wrong
/// extension fails with the error of the format its extension names.
public enum RangeFile {
    /// The format names accepted, in the order listed in messages.
    public static let supportedFormats = ["rrng", "rng", "env"]

    /// Reads a range file. For ENV files the instrument parameters are not returned: use ``ENVFile/read(_:)``.
    ///
    /// - Returns: the table, the problems found that did not prevent reading, and the format read (one of
    ///   ``supportedFormats``).
    /// - Throws: `TwinError.invalidInput` for an unknown format (naming the supported ones) or bad contents (naming
    ///   the file and line), `TwinError.io`.
    public static func read(_ url: URL, format: String? = nil) throws
        -> (table: RangeTable, warnings: [String], format: String) {
        let f = try resolve(url, format)
        switch f {
        case "rrng": let r = try RRNGFile.read(url); return (r.table, r.warnings, f)
        case "rng": let r = try RNGFile.read(url); return (r.table, r.warnings, f)
        default: let r = try ENVFile.read(url); return (r.table, r.warnings, f)
        }
    }

    /// Writes `table` in the format named by `format` or by the extension of `url`, atomically.
    ///
    /// - Returns: what the format could not store (RNG: atomic volumes, per-range colours; ENV: per-range colours,
    ///   compositions its names do not spell); empty for RRNG.
    /// - Throws: `TwinError.invalidInput` for an unknown format or a table the format cannot represent,
    ///   `TwinError.io`.
    @discardableResult
    public static func write(_ table: RangeTable, to url: URL, format: String? = nil) throws -> [String] {
        switch try resolve(url, format) {
        case "rrng": try RRNGFile.write(table, to: url); return []
        case "rng": return try RNGFile.write(table, to: url)
        default: return try ENVFile.write(table, to: url)
        }
    }

    private static func resolve(_ url: URL, _ format: String?) throws -> String {
        let list = supportedFormats.map { "." + $0 }.joined(separator: ", ")
        if let format {
            var f = format.trimmingCharacters(in: .whitespaces).lowercased()
            if f.hasPrefix(".") { f.removeFirst() }
            guard supportedFormats.contains(f) else {
                throw TwinError.invalidInput("unknown range-file format '\(format)'; supported: \(list)")
            }
            return f
        }
        let ext = url.pathExtension.lowercased()
        guard supportedFormats.contains(ext) else {
            let what = ext.isEmpty ? "has no extension" : "has the extension .\(url.pathExtension)"
            throw TwinError.invalidInput("\(displayName(url)): \(what), not a range-file format; supported: \(list) "
                                         + "(or name the format explicitly)")
        }
        return ext
    }
}
