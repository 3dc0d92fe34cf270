import Foundation
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
/// - Binary data, an empty file, unparseable numbers, non-finite or reversed bounds, and a range without an ion
///   are errors naming the file and the line.
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
    /// - Throws: `TwinError.invalidInput` for tables that cannot be represented (non-finite bounds, an ion index
    ///   out of range, names with spaces or `:`, a colour that is not 6 hex digits), `TwinError.io`.
    public static func write(_ table: RangeTable, to url: URL) throws {
        try AtomicFile.write(encode(table), to: url)
    }

    /// Encodes `table` as range-file bytes (see ``write(_:to:)``).
    public static func encode(_ table: RangeTable) throws -> Data {
        var s = "[Ions]\r\nNumber=\(table.ions.count)\r\n"
        for (i, ion) in table.ions.enumerated() {
            try checkName(ion.name, what: "ion \(i + 1) name")
            for e in ion.composition {
                try checkName(e.symbol, what: "element symbol in ion \(ion.name)")
                if e.count <= 0 {
                    throw TwinError.invalidInput("RRNG output: ion \(ion.name) has count \(e.count) of \(e.symbol)")
                }
            }
            s += "Ion\(i + 1)=\(ion.name)\r\n"
        }
        s += "[Ranges]\r\nNumber=\(table.ranges.count)\r\n"
        for (i, r) in table.ranges.enumerated() {
            let label = "RRNG output: range \(i + 1)"
            guard r.lowDa.isFinite, r.highDa.isFinite, r.volumeNM3.isFinite else {
                throw TwinError.invalidInput("\(label): non-finite value (\(r.lowDa), \(r.highDa), Vol \(r.volumeNM3))")
            }
            guard table.ions.indices.contains(r.ionIndex) else {
                throw TwinError.invalidInput("\(label): ion index \(r.ionIndex) outside 0..<\(table.ions.count)")
            }
            guard let color = normalizedColor(r.colorHex) else {
                throw TwinError.invalidInput("\(label): colour '\(r.colorHex)' is not 6 hexadecimal digits")
            }
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
            if let n = Int(value), n >= 0 { declaredIons = (lineNo, n) }
            else { warn(lineNo, "[Ions] Number='\(clip(value))' is not a count; ignored") }
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
            if let n = Int(value), n >= 0 { declaredRanges = (lineNo, n) }
            else { warn(lineNo, "[Ranges] Number='\(clip(value))' is not a count; ignored") }
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
        for (i, j) in table.overlappingPairs() {
            let a = table.ranges[i], b = table.ranges[j]
            let kind = (a.lowDa == b.lowDa && a.highDa == b.highDa) ? "duplicate" : "overlapping"
            warn(nil, "\(kind) ranges: \(labels[i]) [\(RRNGFile.fixed(a.lowDa, 4)), \(RRNGFile.fixed(a.highDa, 4))] "
                 + "\(table.ions[a.ionIndex].name) and \(labels[j]) [\(RRNGFile.fixed(b.lowDa, 4)), "
                 + "\(RRNGFile.fixed(b.highDa, 4))] \(table.ions[b.ionIndex].name)")
        }
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

    private func clip(_ s: String) -> String {
        let printable = String(s.unicodeScalars.map { $0.value < 0x20 ? "?" : Character($0) })
        return printable.count > 48 ? String(printable.prefix(48)) + "…" : printable
    }

    /// Splits bytes into numbered lines (LF, CRLF or CR), rejecting binary data with the line and byte offset.
    private func splitLines(_ data: Data) throws -> [(no: Int, text: String)] {
        var out: [(Int, String)] = []
        try data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
            let b = buf.bindMemory(to: UInt8.self)
            var start = 0
            if b.count >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { start = 3 }
            var lineNo = 1
            var i = start
            func emit(_ end: Int) {
                let slice = UnsafeBufferPointer(rebasing: b[start..<end])
                let text = String(validating: slice, as: UTF8.self)
                    ?? String(slice.map { Character(Unicode.Scalar($0)) })  // Latin-1 fallback
                out.append((lineNo, text))
            }
            while i < b.count {
                let c = b[i]
                if c == 0x0A || c == 0x0D {
                    emit(i)
                    if c == 0x0D, i + 1 < b.count, b[i + 1] == 0x0A { i += 1 }
                    i += 1
                    start = i
                    lineNo += 1
                    continue
                }
                if (c < 0x20 && c != 0x09) || c == 0x7F {
                    throw TwinError.invalidInput(
                        "\(name): line \(lineNo): binary data (byte 0x\(String(c, radix: 16, uppercase: true)) at "
                        + "byte offset \(i)); not an RRNG text file")
                }
                i += 1
            }
            if start < b.count { emit(b.count) }
        }
        return out
    }
}
