import Foundation
import MaterialsData
import TwinCore

/// The Oak Ridge range file (`.rng`), as written by IVAS and read by 3Depict, APAV and others.
///
/// ```
/// 3 4                               N_ions N_ranges
/// Si                                per ion: a long name,
/// Si 0.80 0.80 0.80                 then the short name and a colour (r g b in 0…1)
/// Cr
/// Cr 1.00 0.20 0.80
/// O
/// O 0.00 0.80 1.00
/// ----------------- Si Cr O         dashes, then the short names as column headers
/// . 13.8745 14.2410 1 0 0           per range: low high (Da), then the count of each column ion in it
/// . 25.7710 27.2110 0 1 0
/// . 15.8580 16.4800 0 0 1
/// . 33.8980 34.8020 0 1 1           a molecular range: CrO
///
///
/// --- polyatomic extension          optional (IVAS): the same structure naming molecular ions
/// 1 1
/// CrO
/// CrO 1.00 0.00 0.00
/// ----------------- CrO
/// . 33.8980 34.8020 1               the range of the main table with these bounds is the ion CrO
/// ```
///
/// **Reading.** The composition of a range is the sum of its counts times the composition of each column ion; a
/// column ion's composition is read from its short name when that is an element or a formula of known elements
/// (`Fe`, `C2`, `CrO`). Other short names (`unknown`, `Hyd`) are custom ions without composition (a warning says
/// so); they can only be used alone, with count 1. The ion of a range is, in this order: the polyatomic-extension
/// ion whose row has the same bounds; the column ion, for a single count of 1; a column ion whose formula equals
/// the range's composition (3Depict's variant with all-zero "composed" columns such as `Mg3Si2`); else a new ion
/// named by the formula in column order (`CrO`). Ranges take the colour of their ion (FFFFFF for such a new ion);
/// RNG has no atomic volumes (`volumeNM3` = 0). Long names are not kept.
///
/// Lenient where files vary: LF, CRLF or CR line ends, a byte-order mark, blank lines, any spacing, the leading
/// `.` of range rows optional, comma decimal separators, text after the colour (ignored, with a warning), column
/// headers that differ from the short names (the ion order is used, with a warning; 3Depict does the same),
/// more range rows than declared (kept, with a warning). Polyatomic rows that match no range, name a range whose
/// composition differs from the ion's formula, or have no single count of 1 are warnings; they never create
/// ranges. Overlapping and duplicated ranges are warnings, as for RRNG.
///
/// Errors naming the file and line: binary data, text that is not UTF-8, a missing or malformed header, fewer
/// ions or ranges than declared (a truncated file), a row whose number of counts differs from the number of ions,
/// negative, non-finite or reversed bounds, negative or non-integer counts, a range with no non-zero count, a
/// custom ion combined with others, and short names that look like formulas but use symbols the periodic table
/// does not know (`Xx`).
///
/// **Writing** follows IVAS: CRLF line ends, long name = short name, bounds with 4 decimals, colour components
/// with 2 decimals (3 where 2 would not give back the same byte). The columns are the elements and custom ions of
/// the table (an element that appears only in molecules gets a column, and so becomes an ion when read back); every
/// other ion (molecules, `C2`, element ions with a custom name) is written to a polyatomic extension naming its
/// ranges. Write → read → write is byte-identical.
public enum RNGFile {
    /// Reads a range file, returning the table and the problems found that did not prevent reading it.
    ///
    /// - Throws: `TwinError.invalidInput` naming the file and line, `TwinError.io`.
    public static func read(_ url: URL) throws -> (table: RangeTable, warnings: [String]) {
        try decode(readWholeFile(url), name: displayName(url))
    }

    /// Parses range-file bytes held in memory; `name` is used in messages.
    public static func decode(_ data: Data, name: String) throws -> (table: RangeTable, warnings: [String]) {
        var parser = RNGParser(name: name)
        let table = try parser.parse(data)
        return (table, parser.warnings)
    }

    /// Writes `table` as an IVAS-style RNG file, atomically, and returns what RNG could not store (atomic
    /// volumes; differing colours of the ranges of one ion, where the first is kept; molecular ions without
    /// ranges).
    ///
    /// - Throws: `TwinError.invalidInput` for tables that cannot be represented (see ``encode(_:)``), `TwinError.io`.
    @discardableResult
    public static func write(_ table: RangeTable, to url: URL) throws -> [String] {
        let (data, warnings) = try encode(table)
        try AtomicFile.write(data, to: url)
        return warnings
    }

    /// Encodes `table` as RNG bytes (see ``write(_:to:)``).
    ///
    /// - Throws: `TwinError.invalidInput` for a table without ions, non-finite, negative or reversed bounds, an ion
    ///   index out of range, a colour that is not 6 hex digits, names that are empty or contain spaces, unknown
    ///   element symbols or counts below 1, or an ion without composition whose name reads as a formula (`Fe`),
    ///   which a reader would take for chemistry.
    public static func encode(_ table: RangeTable) throws -> (data: Data, warnings: [String]) {
        let f = "RNG"
        guard !table.ions.isEmpty else { throw TwinError.invalidInput("RNG output: the table has no ions") }
        var warnings: [String] = []
        var colors: [String] = []
        for (i, r) in table.ranges.enumerated() {
            colors.append(try checkRangeForOutput(r, index: i, ionCount: table.ions.count, format: f))
        }
        enum Kind { case element(String), custom, molecule }
        var kinds: [Kind] = []
        for (i, ion) in table.ions.enumerated() {
            try checkTokenName(ion.name, what: "ion \(i + 1) name", format: f)
            try checkCompositionForOutput(ion, format: f)
            let c = ion.composition
            if c.count == 1, c[0].count == 1, ion.name == c[0].symbol {
                kinds.append(.element(c[0].symbol))
            } else if c.isEmpty {
                guard classifyIonName(ion.name) == .custom else {
                    throw TwinError.invalidInput("RNG output: ion '\(ion.name)' has no composition, but its name reads "
                                                 + "as a chemical formula; give it its composition or another name")
                }
                kinds.append(.custom)
            } else {
                switch classifyIonName(ion.name) {
                case .unknownSymbol(let s):
                    throw TwinError.invalidInput("RNG output: ion name '\(ion.name)' uses the unknown element symbol '\(s)'")
                case .formula(let p) where normalizedComposition(p) != normalizedComposition(c):
                    warnings.append("RNG output: ion name '\(ion.name)' does not match its composition \(compositionText(c)); "
                                    + "a reader will warn")
                default: break
                }
                kinds.append(.molecule)
            }
        }
        // Columns: elements and custom ions, in order of first appearance (molecules bring their elements).
        var columns: [String] = []
        var columnOfName: [String: Int] = [:]
        func column(_ n: String) -> Int {
            if let j = columnOfName[n] { return j }
            columns.append(n); columnOfName[n] = columns.count - 1
            return columns.count - 1
        }
        var columnOfIon: [Int?] = []
        var molecules: [Int] = []
        for (i, ion) in table.ions.enumerated() {
            switch kinds[i] {
            case .element(let s): columnOfIon.append(column(s))
            case .custom: columnOfIon.append(column(ion.name))
            case .molecule:
                for e in ion.composition { _ = column(e.symbol) }
                columnOfIon.append(nil)
                molecules.append(i)
            }
        }
        // One colour per column and per molecule: the first range's.
        var rangesOfIon = [[Int]](repeating: [], count: table.ions.count)
        for (k, r) in table.ranges.enumerated() { rangesOfIon[r.ionIndex].append(k) }
        func firstColor(_ ranges: [Int], _ who: String) -> String {
            guard let first = ranges.first else { return "FFFFFF" }
            let distinct = Set(ranges.map { colors[$0] })
            if distinct.count > 1 {
                warnings.append("RNG output: the ranges of \(who) have \(distinct.count) colours; RNG stores one colour "
                                + "per ion, \(colors[first]) (its first range's) is written")
            }
            return colors[first]
        }
        var columnRanges = [[Int]](repeating: [], count: columns.count)
        for (i, c) in columnOfIon.enumerated() { if let c { columnRanges[c] += rangesOfIon[i] } }
        let columnColors = columns.indices.map { firstColor(columnRanges[$0].sorted(), "ion \(columns[$0])") }
        let usedMolecules = molecules.filter { !rangesOfIon[$0].isEmpty }
        for i in molecules where rangesOfIon[i].isEmpty {
            warnings.append("RNG output: molecular ion '\(table.ions[i].name)' has no range; RNG names molecules only "
                            + "through their ranges, so it is not written")
        }
        let moleculeColors = usedMolecules.map { firstColor(rangesOfIon[$0], "ion \(table.ions[$0].name)") }
        let withVolume = table.ranges.filter { $0.volumeNM3 != 0 }.count
        if withVolume > 0 {
            warnings.append("RNG output: RNG has no atomic volumes; the Vol of \(withVolume) range(s) is not written")
        }

        func colorText(_ hex: String) -> String {
            (colorBytes(hex) ?? [255, 255, 255]).map { colorComponentText($0, minDecimals: 2) }.joined(separator: " ")
        }
        let dashes = "-----------------"
        var s = "\(columns.count) \(table.ranges.count)\r\n"
        for (j, n) in columns.enumerated() { s += "\(n)\r\n\(n) \(colorText(columnColors[j]))\r\n" }
        s += dashes + columns.map { " " + $0 }.joined() + "\r\n"
        for r in table.ranges {
            var counts = [Int](repeating: 0, count: columns.count)
            if let c = columnOfIon[r.ionIndex] { counts[c] = 1 }
            else { for e in table.ions[r.ionIndex].composition { counts[columnOfName[e.symbol]!] += e.count } }
            s += ". \(RRNGFile.fixed(r.lowDa, 4)) \(RRNGFile.fixed(r.highDa, 4))" + counts.map { " \($0)" }.joined() + "\r\n"
        }
        if !usedMolecules.isEmpty {
            let polyRanges = table.ranges.indices.filter { columnOfIon[table.ranges[$0].ionIndex] == nil }
            s += "\r\n\r\n--- polyatomic extension\r\n\(usedMolecules.count) \(polyRanges.count)\r\n"
            for (j, i) in usedMolecules.enumerated() {
                let n = table.ions[i].name
                s += "\(n)\r\n\(n) \(colorText(moleculeColors[j]))\r\n"
            }
            s += dashes + usedMolecules.map { " " + table.ions[$0].name }.joined() + "\r\n"
            for k in polyRanges {
                let r = table.ranges[k]
                s += ". \(RRNGFile.fixed(r.lowDa, 4)) \(RRNGFile.fixed(r.highDa, 4))"
                    + usedMolecules.map { $0 == r.ionIndex ? " 1" : " 0" }.joined() + "\r\n"
            }
        }
        return (Data(s.utf8), warnings)
    }
}

/// RNG parser (internal).
struct RNGParser {
    let name: String
    var warnings: [String] = []

    private var lines: [TextLine] = []
    private var pos = 0

    private struct Ion { var line: Int; var short: String; var color: String }
    private struct Row { var line: Int; var low: Double; var high: Double; var counts: [Int] }
    private struct Block { var title: String; var ions: [Ion] = []; var rows: [Row] = [] }

    init(name: String) { self.name = name }

    private func fail(_ line: Int, _ msg: String) -> TwinError { TwinError.invalidInput("\(name): line \(line): \(msg)") }
    private mutating func warn(_ line: Int?, _ msg: String) {
        warnings.append(line.map { "\(name): line \($0): \(msg)" } ?? "\(name): \(msg)")
    }

    mutating func parse(_ data: Data) throws -> RangeTable {
        var latin1: [Int] = []
        lines = try splitTextLines(data, name: name, format: "RNG", nonUTF8: .error, latin1Lines: &latin1)
            .map { TextLine(no: $0.no, text: $0.text.trimmingCharacters(in: .whitespaces)) }
            .filter { !$0.text.isEmpty }
        guard !lines.isEmpty else {
            throw TwinError.invalidInput("\(name): empty file (\(data.count) bytes, no text); expected an RNG range file "
                                         + "starting with 'N_ions N_ranges'")
        }
        var main = try block(title: "range table", first: true)
        var poly: Block?
        var extra = [0, 0]  // rows beyond the declared counts: range table, extension
        while pos < lines.count {
            let l = lines[pos]
            pos += 1
            if l.text.hasPrefix("--") && poly == nil {
                if !l.text.lowercased().contains("polyatomic") {
                    warn(l.no, "'\(clipForMessage(l.text))' read as the start of a polyatomic extension")
                }
                poly = try block(title: "polyatomic extension", first: false)
                continue
            }
            if let first = textTokens(l.text).first, first == "." || parseDecimal(first) != nil {
                let k = poly == nil ? 0 : 1
                var b = poly ?? main
                if extra[k] == 0 {
                    warn(l.no, "more rows than the \(b.rows.count) declared for the \(b.title); the extra rows are kept")
                }
                extra[k] += 1
                b.rows.append(try row(l, ions: b.ions.count, in: b.title))
                if poly == nil { main = b } else { poly = b }
                continue
            }
            warn(l.no, "unrecognised line '\(clipForMessage(l.text))' ignored")
        }
        return try build(main, poly)
    }

    // MARK: structure

    private mutating func block(title: String, first: Bool) throws -> Block {
        var b = Block(title: title)
        guard pos < lines.count else {
            throw TwinError.invalidInput("\(name): the file ends before the \(title)'s 'N_ions N_ranges' line (truncated)")
        }
        let head = lines[pos]
        let t = textTokens(head.text)
        guard t.count == 2, let nIons = Int(t[0]), let nRanges = Int(t[1]), nIons >= 0, nRanges >= 0 else {
            throw fail(head.no, "expected 'N_ions N_ranges' (two counts) at the start of the \(title), found "
                       + "'\(clipForMessage(head.text))'" + (first ? "; not an RNG range file" : ""))
        }
        guard nIons > 0 else { throw fail(head.no, "the \(title) declares no ions") }
        pos += 1
        for k in 0..<nIons {
            guard pos + 1 < lines.count else {
                throw TwinError.invalidInput("\(name): the file ends after \(k) of the \(nIons) ions of the \(title) "
                                             + "(truncated)")
            }
            let long = lines[pos], short = lines[pos + 1]
            if long.text.hasPrefix("-") || short.text.hasPrefix("-") {
                throw fail(long.text.hasPrefix("-") ? long.no : short.no,
                           "column-header line after \(k) of the \(nIons) ions declared for the \(title)")
            }
            let st = textTokens(short.text)
            guard let (r, g, bl, colorWarnings) = st.isEmpty ? nil : parseNamedColor(st, subject: "ion \(st[0])") else {
                throw fail(short.no, "ion \(k + 1) of the \(title): expected 'ShortName r g b', found "
                           + "'\(clipForMessage(short.text))'")
            }
            for w in colorWarnings { warn(short.no, w) }
            let sym = String(st[0])
            if case .unknownSymbol(let s) = classifyIonName(sym) {
                throw fail(short.no, "ion '\(sym)': unknown element symbol '\(s)'")
            }
            b.ions.append(Ion(line: short.no, short: sym, color: hexColor(r, g, bl)))
            pos += 2
        }
        guard pos < lines.count else {
            throw TwinError.invalidInput("\(name): the file ends before the column-header line of the \(title) (truncated)")
        }
        let dash = lines[pos]
        guard dash.text.hasPrefix("-") else {
            throw fail(dash.no, "expected the dashed column-header line after the \(nIons) ions of the \(title), found "
                       + "'\(clipForMessage(dash.text))'")
        }
        let headers = textTokens(String(dash.text.drop(while: { $0 == "-" })))
        if headers.isEmpty {
            warn(dash.no, "the column-header line names no ions; the ion order is used")
        } else if headers.count != nIons {
            throw fail(dash.no, "the column-header line names \(headers.count) ions, the \(title) declares \(nIons)")
        } else if zip(headers, b.ions).contains(where: { String($0) != $1.short }) {
            warn(dash.no, "column headers (\(headers.joined(separator: " "))) differ from the ion names "
                 + "(\(b.ions.map(\.short).joined(separator: " "))); the ion order is used")
        }
        pos += 1
        for k in 0..<nRanges {
            guard pos < lines.count, !lines[pos].text.hasPrefix("-") else {
                let at = pos < lines.count ? "line \(lines[pos].no) starts a new block" : "the file ends"
                throw TwinError.invalidInput("\(name): \(at) after \(k) of the \(nRanges) ranges declared for the "
                                             + "\(title) (truncated)")
            }
            b.rows.append(try row(lines[pos], ions: nIons, in: title))
            pos += 1
        }
        return b
    }

    /// One range row: an optional `.`, two bounds, one count per ion.
    private func row(_ l: TextLine, ions n: Int, in title: String) throws -> Row {
        var t = textTokens(l.text)
        if t.first == "." { t.removeFirst() }
        guard t.count == n + 2 else {
            throw fail(l.no, "\(title) row has \(max(t.count - 2, 0)) count columns after the bounds, the header declares "
                       + "\(n) ions: '\(clipForMessage(l.text))'")
        }
        guard let low = parseDecimal(t[0]) else {
            throw fail(l.no, "cannot read lower bound '\(clipForMessage(String(t[0])))' as a finite number")
        }
        guard let high = parseDecimal(t[1]) else {
            throw fail(l.no, "cannot read upper bound '\(clipForMessage(String(t[1])))' as a finite number")
        }
        if low < 0 || high < 0 { throw fail(l.no, "negative bound in [\(t[0]), \(t[1])]") }
        if low > high { throw fail(l.no, "lower bound \(t[0]) is above upper bound \(t[1])") }
        var counts: [Int] = []
        for (j, c) in t.dropFirst(2).enumerated() {
            guard let v = Int(c) else {
                throw fail(l.no, "count '\(clipForMessage(String(c)))' in column \(j + 1) is not an integer")
            }
            if v < 0 { throw fail(l.no, "count \(v) in column \(j + 1) is negative") }
            counts.append(v)
        }
        if counts.allSatisfy({ $0 == 0 }) { throw fail(l.no, "\(title) row names no ion (every count is 0)") }
        return Row(line: l.no, low: low, high: high, counts: counts)
    }

    // MARK: assembly

    private mutating func build(_ main: Block, _ poly: Block?) throws -> RangeTable {
        var table = RangeTable()
        var colors: [String] = []
        // Column ions.
        var columnComposition: [[ElementCount]?] = []  // nil: custom
        for ion in main.ions {
            switch classifyIonName(ion.short) {
            case .formula(let c):
                columnComposition.append(c)
                table.ions.append(RangedIon(name: ion.short, composition: c))
            default:
                warn(ion.line, "ion '\(ion.short)' is not an element or a formula of known elements; kept as a custom "
                     + "ion without composition")
                columnComposition.append(nil)
                table.ions.append(RangedIon(name: ion.short, composition: []))
            }
            colors.append(ion.color)
        }
        // Compositions of the main rows.
        var rowComposition: [[ElementCount]] = []
        var rowColumn: [Int?] = []  // the column ion, for a single count of 1
        for r in main.rows {
            let nz = r.counts.indices.filter { r.counts[$0] != 0 }
            if nz.count == 1, r.counts[nz[0]] == 1 { rowColumn.append(nz[0]) } else { rowColumn.append(nil) }
            var c: [ElementCount] = []
            for j in nz {
                guard let cc = columnComposition[j] else {
                    if nz.count == 1 && r.counts[j] == 1 { continue }
                    throw fail(r.line, "custom ion '\(main.ions[j].short)' (no composition) is combined with other "
                               + "counts; the range's composition cannot be formed")
                }
                for e in cc {
                    let n = e.count * r.counts[j]
                    if let k = c.firstIndex(where: { $0.symbol == e.symbol }) { c[k].count += n }
                    else { c.append(ElementCount(e.symbol, n)) }
                }
            }
            rowComposition.append(c)
        }
        // Polyatomic names by bounds.
        var polyOfRow = [Int?](repeating: nil, count: main.rows.count)
        if let poly {
            for pr in poly.rows {
                let nz = pr.counts.indices.filter { pr.counts[$0] != 0 }
                guard nz.count == 1, pr.counts[nz[0]] == 1 else {
                    warn(pr.line, "polyatomic row does not name exactly one ion with count 1; ignored")
                    continue
                }
                let p = nz[0], pname = poly.ions[p].short
                let matches = main.rows.indices.filter { main.rows[$0].low == pr.low && main.rows[$0].high == pr.high }
                if matches.isEmpty {
                    warn(pr.line, "polyatomic ion \(pname) [\(RRNGFile.fixed(pr.low, 4)), \(RRNGFile.fixed(pr.high, 4))] "
                         + "matches no range of the range table; ignored (it does not create a range)")
                    continue
                }
                if matches.count > 1 {
                    warn(pr.line, "polyatomic ion \(pname) matches \(matches.count) ranges with the same bounds "
                         + "(lines \(matches.map { String(main.rows[$0].line) }.joined(separator: ", "))); it names all")
                }
                for m in matches {
                    if let prev = polyOfRow[m] {
                        if prev != p {
                            warn(pr.line, "the range on line \(main.rows[m].line) is already named "
                                 + "\(poly.ions[prev].short) by the polyatomic extension; \(pname) ignored")
                        }
                        continue
                    }
                    if case .formula(let f) = classifyIonName(pname),
                       normalizedComposition(f) != normalizedComposition(rowComposition[m]) {
                        warn(pr.line, "polyatomic ion \(pname) names the range on line \(main.rows[m].line), whose "
                             + "counts give \(compositionText(rowComposition[m])); the name is kept, the composition "
                             + "is the range table's")
                    }
                    polyOfRow[m] = p
                }
            }
            // Polyatomic ions in block order, one per distinct composition they name.
            var used = Set<Int>()
            for m in main.rows.indices { if let p = polyOfRow[m] { used.insert(p) } }
            for (p, ion) in poly.ions.enumerated() where !used.contains(p) {
                warn(ion.line, "polyatomic ion \(ion.short) names no range of the range table; dropped")
            }
        }
        var polyIon: [String: Int] = [:]  // "p|normalized composition" → ion index
        if let poly {
            for p in poly.ions.indices {
                for m in main.rows.indices where polyOfRow[m] == p {
                    let key = "\(p)|\(compositionText(normalizedComposition(rowComposition[m])))"
                    if polyIon[key] == nil {
                        if polyIon.keys.contains(where: { $0.hasPrefix("\(p)|") }) {
                            warn(poly.ions[p].line, "polyatomic ion \(poly.ions[p].short) names ranges of different "
                                 + "compositions; one ion per composition")
                        }
                        table.ions.append(RangedIon(name: poly.ions[p].short, composition: rowComposition[m]))
                        colors.append(poly.ions[p].color)
                        polyIon[key] = table.ions.count - 1
                    }
                }
            }
        }
        // Ranges.
        var derived: [[ElementCount]: Int] = [:]
        for (m, r) in main.rows.enumerated() {
            let ion: Int
            if let p = polyOfRow[m] {
                ion = polyIon["\(p)|\(compositionText(normalizedComposition(rowComposition[m])))"]!
            } else if let j = rowColumn[m] {
                ion = j
            } else {
                let key = normalizedComposition(rowComposition[m])
                if let j = main.ions.indices.first(where: { columnComposition[$0].map(normalizedComposition) == key }) {
                    ion = j
                } else if let j = derived[key] {
                    ion = j
                } else {
                    table.ions.append(RangedIon(name: RRNGFile.formula(rowComposition[m]), composition: rowComposition[m]))
                    colors.append("FFFFFF")
                    ion = table.ions.count - 1
                    derived[key] = ion
                }
            }
            table.ranges.append(MassRange(lowDa: r.low, highDa: r.high, ionIndex: ion, volumeNM3: 0, colorHex: colors[ion]))
        }
        warnings += overlapWarnings(table, name: name) { "line \(main.rows[$0].line)" }
        return table
    }
}
