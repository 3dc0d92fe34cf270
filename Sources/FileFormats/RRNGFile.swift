import Foundation
import MaterialsData
import TwinCore

/// The IVAS range file (`.rrng`): INI-like text with an `[Ions]` and a `[Ranges]` section.
///
/// ```
/// [Ions]
/// Number=2
/// Ion1=Fe
/// Ion2=CrO
/// [Ranges]
/// Number=2
/// Range1=27.8500 28.1500 Vol:0.01178 Fe:1 Color:FF0000
/// Range2=33.8980 34.8020 Vol:0.04083 Cr:1 O:1 Color:00FF00
/// ```
///
/// **Reading** is lenient where files in the wild vary and strict where data would be lost:
/// - LF, CRLF or CR line ends, a UTF-8 byte-order mark, blank lines, `;`/`#` comments, spaces around `=` and `:`,
///   case-insensitive keys and section names, comma decimal separators (`27,85`), missing section headers.
/// - Ions of a range are `Symbol:count` pairs (a molecule lists several: `Cr:2 O:1`, named `Cr2O`) or a custom
///   `Name:label` (an ion with an empty composition). Ranges are attached to the `[Ions]` entry with the same
///   composition (order-insensitive) or the same custom label; ions that appear only in `[Ranges]` (IVAS lists
///   only elements in `[Ions]`) are appended in order of first use.
/// - Duplicated and overlapping ranges, `Number=` mismatches, repeated keys and unknown keys or sections are
///   returned as warnings, not resolved: the table keeps every range.
/// - Binary data, an empty file, unparseable numbers, negative, non-finite or reversed bounds, a range without
///   an ion, an element symbol that the periodic table does not know (`Xx:1`; custom ions use `Name:`), and a
///   `Number=` that is not a non-negative count are errors naming the file and the line.
///
/// **Writing** produces IVAS style: CRLF line ends, `[Ions]` with one entry per ``RangedIon`` (its name),
/// bounds with 4 decimals, `Vol:` with 5 decimals, upper-case `Color:`. Write → read → write is byte-identical.
public enum RRNGFile {
    /// Reads a range file, returning the table and the problems found that did not prevent reading it.
    ///
    /// - Throws: `TwinError.invalidInput` naming the file and line, `TwinError.io`.
    public static func read(_ url: URL) throws -> (table: RangeTable, warnings: [String]) {
        try decode(readWholeFile(url), name: displayName(url))
    }

    /// Parses range-file bytes held in memory; `name` is used in messages.
    public static func decode(_ data: Data, name: String) throws -> (table: RangeTable, warnings: [String]) {
        var parser = RRNGParser(name: name)
        try parser.parse(data)
        return (parser.table, parser.warnings)
    }

    /// Writes `table` as an IVAS-style range file, atomically.
    ///
    /// - Throws: `TwinError.invalidInput` for tables that cannot be represented or would not read back (non-finite,
    ///   negative or reversed bounds, an ion index out of range, names with spaces or `:`, unknown element symbols,
    ///   counts below 1, a colour that is not 6 hex digits), `TwinError.io`.
    public static func write(_ table: RangeTable, to url: URL) throws {
        try AtomicFile.write(encode(table), to: url)
    }

    /// Encodes `table` as range-file bytes (see ``write(_:to:)``).
    public static func encode(_ table: RangeTable) throws -> Data {
        var s = "[Ions]\r\nNumber=\(table.ions.count)\r\n"
        for (i, ion) in table.ions.enumerated() {
            try checkName(ion.name, what: "ion \(i + 1) name")
            try checkCompositionForOutput(ion, format: "RRNG")
            s += "Ion\(i + 1)=\(ion.name)\r\n"
        }
        s += "[Ranges]\r\nNumber=\(table.ranges.count)\r\n"
        for (i, r) in table.ranges.enumerated() {
            let color = try checkRangeForOutput(r, index: i, ionCount: table.ions.count, format: "RRNG")
            let ion = table.ions[r.ionIndex]
            var tokens: [String] = []
            if ion.composition.isEmpty || ion.name != formula(ion.composition) { tokens.append("Name:\(ion.name)") }
            for e in ion.composition { tokens.append("\(e.symbol):\(e.count)") }
            s += "Range\(i + 1)=\(fixed(r.lowDa, 4)) \(fixed(r.highDa, 4)) Vol:\(fixed(r.volumeNM3, 5)) "
                + tokens.joined(separator: " ") + " Color:\(color)\r\n"
        }
        return Data(s.utf8)
    }

    // MARK: helpers shared with the parser

    /// The conventional name of a composition: symbols in the given order, counts above 1 appended (`Cr2O`).
    static func formula(_ c: [ElementCount]) -> String {
        c.map { $0.count == 1 ? $0.symbol : "\($0.symbol)\($0.count)" }.joined()
    }

    /// Six upper-case hex digits, or nil.
    static func normalizedColor(_ s: String) -> String? {
        let u = s.uppercased()
        guard u.utf8.count == 6, u.utf8.allSatisfy({ (48...57).contains($0) || (65...70).contains($0) }) else {
            return nil
        }
        return u
    }

    /// `x` with exactly `decimals` digits after the point (POSIX locale).
    static func fixed(_ x: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", x)
    }

    private static func checkName(_ s: String, what: String) throws {
        if s.isEmpty || s.unicodeScalars.contains(where: { $0 == ":" || $0 == "=" || $0.properties.isWhitespace
            || $0.value < 0x20 }) {
            throw TwinError.invalidInput("RRNG output: \(what) '\(s)' is empty or contains spaces, ':' or '='")
        }
    }
}

/// Line-oriented RRNG parser (internal).
struct RRNGParser {
    let name: String
    var table = RangeTable()
    var warnings: [String] = []

    private enum Section: Equatable { case none, ions, ranges, other(String) }
    private struct PendingRange { var line: Int; var key: String; var low: Double; var high: Double; var vol: Double
        var color: String; var label: String?; var composition: [ElementCount] }

    private var ionEntries: [Int: (line: Int, name: String)] = [:]
    private var rangeEntries: [Int: PendingRange] = [:]
    private var declaredIons: (line: Int, n: Int)?
    private var declaredRanges: (line: Int, n: Int)?

    init(name: String) { self.name = name }

    private func fail(_ line: Int, _ msg: String) -> TwinError {
        TwinError.invalidInput("\(name): line \(line): \(msg)")
    }

    private mutating func warn(_ line: Int?, _ msg: String) {
        warnings.append(line.map { "\(name): line \($0): \(msg)" } ?? "\(name): \(msg)")
    }

    mutating func parse(_ data: Data) throws {
        let lines = try splitLines(data)
        if lines.allSatisfy({ $0.text.allSatisfy(\.isWhitespace) }) {
            throw TwinError.invalidInput("\(name): empty file (\(data.count) bytes, no text); expected an RRNG range "
                                         + "file with [Ions] and [Ranges] sections")
        }
        var section = Section.none
        var sawSection = false
        var warnedNoHeader = false
        for (lineNo, raw) in lines {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix(";") || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw fail(lineNo, "unterminated section header '\(clip(line))'") }
                let s = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces).lowercased()
                switch s {
                case "ions": section = .ions; sawSection = true
                case "ranges": section = .ranges; sawSection = true
                default:
                    section = .other(s)
                    warn(lineNo, "unknown section [\(s)] ignored")
                }
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                throw fail(lineNo, "expected 'key=value' or '[Section]', found '\(clip(line))'")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            var effective = section
            if section == .none {
                if key.hasPrefix("ion"), Int(key.dropFirst(3)) != nil { effective = .ions }
                else if key.hasPrefix("range"), Int(key.dropFirst(5)) != nil { effective = .ranges }
                if effective != .none && !warnedNoHeader {
                    warn(lineNo, "'\(key)' appears before any section header; assuming [\(effective == .ions ? "Ions" : "Ranges")]")
                    warnedNoHeader = true
                }
            }
            switch effective {
            case .ions: try ionLine(lineNo, key, value)
            case .ranges: try rangeLine(lineNo, key, value)
            case .other: continue
            case .none: warn(lineNo, "key '\(key)' outside any section ignored")
            }
        }
        if !sawSection && ionEntries.isEmpty && rangeEntries.isEmpty {
            throw TwinError.invalidInput("\(name): no [Ions] or [Ranges] section and no Ion/Range entries found; "
                                         + "not an RRNG range file")
        }
        try finish()
    }

    // MARK: lines

    private mutating func ionLine(_ lineNo: Int, _ key: String, _ value: String) throws {
        if key == "number" {
            guard let n = Int(value), n >= 0 else {
                throw fail(lineNo, "[Ions] Number='\(clip(value))' is not a non-negative count")
            }
            declaredIons = (lineNo, n)
            return
        }
        guard key.hasPrefix("ion"), let k = Int(key.dropFirst(3)) else {
            warn(lineNo, "unknown key '\(key)' in [Ions] ignored"); return
        }
        if value.isEmpty { throw fail(lineNo, "Ion\(k) has an empty name") }
        if let prev = ionEntries[k] { warn(lineNo, "Ion\(k) repeated (first on line \(prev.line)); the later one is used") }
        ionEntries[k] = (lineNo, value)
    }

    private mutating func rangeLine(_ lineNo: Int, _ key: String, _ value: String) throws {
        if key == "number" {
            guard let n = Int(value), n >= 0 else {
                throw fail(lineNo, "[Ranges] Number='\(clip(value))' is not a non-negative count")
            }
            declaredRanges = (lineNo, n)
            return
        }
        guard key.hasPrefix("range"), let k = Int(key.dropFirst(5)) else {
            warn(lineNo, "unknown key '\(key)' in [Ranges] ignored"); return
        }
        let label = "Range\(k)"
        // Normalise "Vol : 0.1" → "Vol:0.1", tabs → spaces.
        var norm = value.replacingOccurrences(of: "\t", with: " ")
        while norm.contains(" :") { norm = norm.replacingOccurrences(of: " :", with: ":") }
        while norm.contains(": ") { norm = norm.replacingOccurrences(of: ": ", with: ":") }
        let tokens = norm.split(separator: " ", omittingEmptySubsequences: true)
        guard tokens.count >= 2 else { throw fail(lineNo, "\(label) needs 'low high ...', found '\(clip(value))'") }
        func number(_ t: Substring, _ what: String) throws -> Double {
            let s = t.replacingOccurrences(of: ",", with: ".")
            guard let d = Double(s), d.isFinite, !s.lowercased().hasPrefix("0x") else {
                throw fail(lineNo, "\(label): cannot read \(what) '\(clip(String(t)))' as a finite number")
            }
            return d
        }
        let low = try number(tokens[0], "lower bound")
        let high = try number(tokens[1], "upper bound")
        if low < 0 || high < 0 { throw fail(lineNo, "\(label): negative bound in [\(low), \(high)]") }
        if low > high { throw fail(lineNo, "\(label): lower bound \(low) is above upper bound \(high)") }
        var r = PendingRange(line: lineNo, key: label, low: low, high: high, vol: 0, color: "FFFFFF", label: nil,
                             composition: [])
        for t in tokens.dropFirst(2) {
            guard let c = t.firstIndex(of: ":") else {
                warn(lineNo, "\(label): token '\(clip(String(t)))' is not 'Key:value'; ignored"); continue
            }
            let k = String(t[..<c]), v = String(t[t.index(after: c)...])
            switch k.lowercased() {
            case "vol": r.vol = try number(Substring(v), "Vol")
            case "color", "colour":
                if let col = RRNGFile.normalizedColor(v) { r.color = col }
                else { warn(lineNo, "\(label): colour '\(clip(v))' is not 6 hex digits; using FFFFFF") }
            case "name":
                if v.isEmpty { throw fail(lineNo, "\(label): empty Name:") }
                r.label = v
            default:
                guard isSymbol(k) else {
                    warn(lineNo, "\(label): unknown field '\(clip(String(t)))' ignored"); continue
                }
                guard PeriodicTable.element(symbol: k) != nil else {
                    throw fail(lineNo, "\(label): unknown element symbol '\(k)' in '\(clip(String(t)))' (custom ions "
                               + "are written Name:label)")
                }
                guard let n = Int(v), n >= 0 else {
                    throw fail(lineNo, "\(label): count '\(clip(v))' of \(k) is not a non-negative integer")
                }
                if n == 0 { continue }
                if let j = r.composition.firstIndex(where: { $0.symbol == k }) {
                    r.composition[j].count += n
                } else {
                    r.composition.append(ElementCount(k, n))
                }
            }
        }
        if r.composition.isEmpty && r.label == nil {
            throw fail(lineNo, "\(label) names no ion (expected Symbol:count pairs or Name:label)")
        }
        if let prev = rangeEntries[k] {
            warn(lineNo, "\(label) repeated (first on line \(prev.line)); the later one is used")
        }
        rangeEntries[k] = r
    }

    // MARK: assembly

    private mutating func finish() throws {
        let ionKeys = ionEntries.keys.sorted()
        if let d = declaredIons, d.n != ionKeys.count {
            warn(d.line, "[Ions] Number=\(d.n) but \(ionKeys.count) Ion entries found")
        }
        var seenNames: [String: Int] = [:]
        var ions: [IonSlot] = []
        for k in ionKeys {
            let e = ionEntries[k]!
            if let first = seenNames[e.name] { warn(e.line, "ion '\(e.name)' listed twice (also Ion\(first))") }
            else { seenNames[e.name] = k }
            ions.append(IonSlot(name: e.name, parsed: RRNGParser.parseFormula(e.name), resolved: nil))
        }
        let rangeKeys = rangeEntries.keys.sorted()
        if let d = declaredRanges, d.n != rangeKeys.count {
            warn(d.line, "[Ranges] Number=\(d.n) but \(rangeKeys.count) Range entries found")
        }
        var labels: [String] = []
        for k in rangeKeys {
            let r = rangeEntries[k]!
            let ion = RRNGParser.ionIndex(label: r.label, composition: r.composition, in: &ions)
            table.ranges.append(MassRange(lowDa: r.low, highDa: r.high, ionIndex: ion, volumeNM3: r.vol,
                                          colorHex: r.color))
            labels.append("\(r.key) (line \(r.line))")
        }
        table.ions = ions.map { RangedIon(name: $0.name, composition: $0.resolved ?? $0.parsed ?? []) }
        warnings += overlapWarnings(table, name: name) { labels[$0] }
    }

    /// An ion while ranges are being attached: its `[Ions]` name, the formula parsed from that name, and the
    /// composition fixed by the first range that used it.
    private struct IonSlot { var name: String; var parsed: [ElementCount]?; var resolved: [ElementCount]? }

    /// Finds or appends the ion a range refers to: by custom label, else by composition (order-insensitive).
    private static func ionIndex(label: String?, composition: [ElementCount], in ions: inout [IonSlot]) -> Int {
        let key = normalized(composition)
        if let label {
            if let i = ions.firstIndex(where: { $0.name == label
                && ($0.resolved.map { normalized($0) == key } ?? true) }) {
                if ions[i].resolved == nil { ions[i].resolved = composition }
                return i
            }
            ions.append(IonSlot(name: label, parsed: nil, resolved: composition))
            return ions.count - 1
        }
        if let i = ions.firstIndex(where: { slot in
            if let r = slot.resolved { return !r.isEmpty && slot.name == RRNGFile.formula(r) && normalized(r) == key }
            return slot.parsed.map { normalized($0) == key } ?? false
        }) {
            if ions[i].resolved == nil { ions[i].resolved = ions[i].parsed }
            return i
        }
        ions.append(IonSlot(name: RRNGFile.formula(composition), parsed: nil, resolved: composition))
        return ions.count - 1
    }

    // MARK: lexical helpers

    static func normalized(_ c: [ElementCount]) -> [ElementCount] {
        var d: [String: Int] = [:]
        for e in c { d[e.symbol, default: 0] += e.count }
        return d.keys.sorted().map { ElementCount($0, d[$0]!) }
    }

    /// `CrO` → [Cr:1, O:1], `Cr2O3` → [Cr:2, O:3]; nil if `s` is not a plain formula (an upper-case letter, up
    /// to two lower-case letters, optional count, repeated).
    static func parseFormula(_ s: String) -> [ElementCount]? {
        let b = Array(s.utf8)
        var i = 0
        var out: [ElementCount] = []
        while i < b.count {
            guard (65...90).contains(b[i]) else { return nil }
            var j = i + 1
            while j < b.count, j - i < 3, (97...122).contains(b[j]) { j += 1 }
            let sym = String(decoding: b[i..<j], as: UTF8.self)
            var k = j
            while k < b.count, (48...57).contains(b[k]) { k += 1 }
            var n = 1
            if k > j {
                guard k - j <= 6, let v = Int(String(decoding: b[j..<k], as: UTF8.self)), v > 0 else { return nil }
                n = v
            }
            out.append(ElementCount(sym, n))
            i = k
        }
        return out.isEmpty ? nil : out
    }

    private func isSymbol(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard (1...3).contains(b.count), (65...90).contains(b[0]) else { return false }
        return b.dropFirst().allSatisfy { (97...122).contains($0) }
    }

    private func clip(_ s: String) -> String { clipForMessage(s) }

    /// Numbered lines; binary data is an error, and so is a line that is not UTF-8 (ion names must be text),
    /// except comment lines, which are read as Latin-1.
    private func splitLines(_ data: Data) throws -> [(no: Int, text: String)] {
        var latin1: [Int] = []
        return try splitTextLines(data, name: name, format: "RRNG", nonUTF8: .latin1InComments, latin1Lines: &latin1)
            .map { ($0.no, $0.text) }
    }
}
