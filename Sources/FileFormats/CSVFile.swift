import Foundation
import TwinCore

/// One named column of a CSV table.
public struct CSVColumn {
    /// The header cell.
    public let name: String
    let count: Int
    let cell: (Int) -> String

    /// A column of Float values, printed with the shortest text that reads back to the same Float
    /// (`inf`, `-inf` and `nan` for non-finite values).
    public init(_ name: String, _ values: [Float]) {
        self.name = name; count = values.count; cell = { values[$0].description }
    }

    /// A column of Double values, printed with the shortest text that reads back to the same Double.
    public init(_ name: String, _ values: [Double]) {
        self.name = name; count = values.count; cell = { values[$0].description }
    }

    /// A column of integers.
    public init<T: BinaryInteger>(_ name: String, _ values: [T]) {
        self.name = name; count = values.count; cell = { values[$0].description }
    }

    /// A column of text, quoted when it contains a comma, a quote or a line break (RFC 4180).
    public init(_ name: String, _ values: [String]) {
        self.name = name; count = values.count; cell = { CSVFile.quoted(values[$0]) }
    }
}

/// Comma-separated tables: a header row, then one row per index, `\n` line ends, no trailing spaces.
public enum CSVFile {
    /// Writes `columns` atomically, streaming rows in chunks.
    ///
    /// - Throws: `TwinError.inconsistent` if the columns differ in length, `TwinError.io`.
    public static func write(_ columns: [CSVColumn], to url: URL) throws {
        let rows = try rowCount(columns, name: displayName(url))
        try AtomicFile.write(to: url) { out in
            var chunk = header(columns)
            for r in 0..<rows {
                appendRow(r, columns, to: &chunk)
                if chunk.utf8.count >= 1 << 20 { try out.write(chunk); chunk.removeAll(keepingCapacity: true) }
            }
            try out.write(chunk)
        }
    }

    /// The CSV text of `columns` (see ``write(_:to:)``).
    public static func encode(_ columns: [CSVColumn]) throws -> String {
        let rows = try rowCount(columns, name: "CSV output")
        var s = header(columns)
        for r in 0..<rows { appendRow(r, columns, to: &s) }
        return s
    }

    static func quoted(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else {
            return s
        }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private static func rowCount(_ columns: [CSVColumn], name: String) throws -> Int {
        let n = columns.first?.count ?? 0
        for c in columns where c.count != n {
            throw TwinError.inconsistent("\(name): CSV column '\(c.name)' has \(c.count) rows, expected \(n) "
                                         + "(as column '\(columns[0].name)')")
        }
        return n
    }

    private static func header(_ columns: [CSVColumn]) -> String {
        columns.map { quoted($0.name) }.joined(separator: ",") + "\n"
    }

    private static func appendRow(_ r: Int, _ columns: [CSVColumn], to s: inout String) {
        for (i, c) in columns.enumerated() {
            if i > 0 { s += "," }
            s += c.cell(r)
        }
        s += "\n"
    }
}
