import Foundation

/// The file formats the command-line tool recognises, by file-name extension.
public enum APTFormat: String, Sendable, CaseIterable {
    /// Reconstructed positions and m/n (``POSFile``).
    case pos
    /// Extended POS with detector data (``EPOSFile``).
    case epos
    /// IVAS range file (``RRNGFile``).
    case rrng
    /// NumPy array (``NPYFile``).
    case npy
    /// Cameca AP Suite APT6 file (``APTFile``).
    case apt
    /// Comma-separated table (``CSVFile``).
    case csv
    /// PNG image (``PNGFile``).
    case png

    /// The format named by the extension of `path` (case-insensitive, e.g. `run.EPOS` → `.epos`), or nil if the
    /// extension is missing or unknown.
    public static func fromPath(_ path: String) -> APTFormat? {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        return ext.isEmpty ? nil : APTFormat(rawValue: ext)
    }
}
