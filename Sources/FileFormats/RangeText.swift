import Foundation
import MaterialsData
import TwinCore

// Internal helpers shared by the text range-file readers and writers (RRNG, RNG, ENV): line splitting with binary
// and encoding checks, number parsing, ion-name classification against the periodic table, colours.

/// One line of a text file, numbered from 1.
struct TextLine {
    var no: Int
    var text: String
}

/// What to do with a line that is not valid UTF-8.
enum NonUTF8Policy {
    /// Read it as Latin-1 (every byte is a character).
    case latin1
    /// Fail, naming the line and the byte offset.
    case error
    /// Read comment lines (first non-blank byte `#`, or `;` as in INI files) as Latin-1, fail on any other line.
    case latin1InComments
}

/// Splits bytes into numbered lines (LF, CRLF or CR; a UTF-8 byte-order mark is skipped), rejecting binary data
/// (control bytes other than tab) with the line and byte offset. `format` names the expected format in messages.
///
/// Lines that are not valid UTF-8 follow `nonUTF8`; `latin1Lines` receives the numbers of lines read as Latin-1.
func splitTextLines(_ data: Data, name: String, format: String, nonUTF8: NonUTF8Policy,
                    latin1Lines: inout [Int]) throws -> [TextLine] {
    var out: [TextLine] = []
    var latin1: [Int] = []
    try data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
        let b = buf.bindMemory(to: UInt8.self)
        var start = 0
        if b.count >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { start = 3 }
        // Binary data first: a control byte anywhere makes the file binary, whatever its first lines look like.
        var lineNo = 1
        var i = start
        while i < b.count {
            let c = b[i]
            if c == 0x0A || (c == 0x0D && !(i + 1 < b.count && b[i + 1] == 0x0A)) { lineNo += 1 }
            else if (c < 0x20 && c != 0x09 && c != 0x0D) || c == 0x7F {
                throw TwinError.invalidInput(
                    "\(name): line \(lineNo): binary data (byte 0x\(String(c, radix: 16, uppercase: true)) at "
                    + "byte offset \(i)); not an \(format) text file")
            }
            i += 1
        }
        lineNo = 1
        i = start
        func emit(_ end: Int) throws {
            let slice = UnsafeBufferPointer(rebasing: b[start..<end])
            if let text = String(validating: slice, as: UTF8.self) {
                out.append(TextLine(no: lineNo, text: text))
                return
            }
            let lead = slice.first(where: { $0 != 0x20 && $0 != 0x09 })
            let isComment = lead == UInt8(ascii: "#") || lead == UInt8(ascii: ";")
            switch nonUTF8 {
            case .latin1: break
            case .latin1InComments where isComment: break
            default:
                // Locate the first byte that breaks UTF-8 for the message.
                var bad = start
                var j = start
                while j < end {
                    var k = j + 1
                    while k < end, k - j < 4, b[k] & 0xC0 == 0x80 { k += 1 }
                    if String(validating: UnsafeBufferPointer(rebasing: b[j..<k]), as: UTF8.self) == nil { bad = j; break }
                    j = k
                }
                throw TwinError.invalidInput(
                    "\(name): line \(lineNo): not UTF-8 text (byte 0x\(String(b[bad], radix: 16, uppercase: true)) at "
                    + "byte offset \(bad)); save the \(format) file as UTF-8")
            }
            latin1.append(lineNo)
            out.append(TextLine(no: lineNo, text: String(slice.map { Character(Unicode.Scalar($0)) })))
        }
        while i < b.count {
            let c = b[i]
            if c == 0x0A || c == 0x0D {
                try emit(i)
                if c == 0x0D, i + 1 < b.count, b[i + 1] == 0x0A { i += 1 }
                i += 1
                start = i
                lineNo += 1
                continue
            }
            i += 1
        }
        if start < b.count { try emit(b.count) }
    }
    latin1Lines = latin1
    return out
}

/// A finite decimal number; a comma is accepted as the decimal separator (`27,85`); hexadecimal, `inf` and `nan`
/// are not numbers here.
func parseDecimal<S: StringProtocol>(_ t: S) -> Double? {
    let s = t.replacingOccurrences(of: ",", with: ".")
    guard let first = s.unicodeScalars.first, first == "-" || first == "+" || first == "." || ("0"..."9").contains(first),
          !s.lowercased().contains("x"), let d = Double(s), d.isFinite else { return nil }
    return d
}

/// `s` shortened to 48 printable characters for messages.
func clipForMessage(_ s: String) -> String {
    let printable = String(s.unicodeScalars.map { $0.value < 0x20 ? "?" : Character($0) })
    return printable.count > 48 ? String(printable.prefix(48)) + "…" : printable
}

/// Whitespace-separated tokens (spaces and tabs).
func textTokens(_ s: String) -> [Substring] {
    s.split(whereSeparator: { $0 == " " || $0 == "\t" })
}

/// What an ion name in a range file says about the ion's chemistry.
enum IonNameKind: Equatable {
    /// A formula whose symbols are all in the periodic table (`Fe`, `CrO2`, `C2`); repeated symbols are merged in
    /// order of first appearance.
    case formula([ElementCount])
    /// Not chemistry: a label such as `unknown`, `Hyd`, `All` or `X23` (GPM's name for an unidentified peak).
    case custom
    /// Formula-shaped (capitalised 1–2 letter symbols with optional counts) but with a symbol the periodic table
    /// does not know, such as `Xx` or `FeQ`: most likely a typing error, reported by the readers.
    case unknownSymbol(String)
}

/// Classifies an ion name. A name is formula-shaped if it is a sequence of an upper-case letter, an optional
/// lower-case letter and an optional count (1–6 digits, > 0); `X` with an optional count is the one
/// formula-shaped custom label (GPM files name unidentified peaks `X23`).
func classifyIonName(_ name: String) -> IonNameKind {
    let b = Array(name.utf8)
    var i = 0
    var parts: [(String, Int)] = []
    while i < b.count {
        guard (65...90).contains(b[i]) else { return .custom }
        var j = i + 1
        if j < b.count, (97...122).contains(b[j]) { j += 1 }
        let sym = String(decoding: b[i..<j], as: UTF8.self)
        var k = j
        while k < b.count, (48...57).contains(b[k]) { k += 1 }
        var n = 1
        if k > j {
            guard k - j <= 6, let v = Int(String(decoding: b[j..<k], as: UTF8.self)), v > 0 else { return .custom }
            n = v
        }
        parts.append((sym, n))
        i = k
    }
    if parts.isEmpty { return .custom }
    if parts.count == 1 && parts[0].0 == "X" { return .custom }
    var out: [ElementCount] = []
    for (sym, n) in parts {
        guard PeriodicTable.element(symbol: sym) != nil else { return .unknownSymbol(sym) }
        if let j = out.firstIndex(where: { $0.symbol == sym }) { out[j].count += n } else { out.append(ElementCount(sym, n)) }
    }
    return .formula(out)
}

/// Compositions compared regardless of order: symbols sorted, repeated symbols merged.
func normalizedComposition(_ c: [ElementCount]) -> [ElementCount] {
    var d: [String: Int] = [:]
    for e in c { d[e.symbol, default: 0] += e.count }
    return d.keys.sorted().map { ElementCount($0, d[$0]!) }
}

/// `Cr:1 O:2` for messages.
func compositionText(_ c: [ElementCount]) -> String {
    c.isEmpty ? "no composition" : c.map { "\($0.symbol):\($0.count)" }.joined(separator: " ")
}

/// A colour component in 0…1 as a byte (`0.80` → 204).
/// A `Name r g b` line of RNG and ENV files (colour components in 0…1): the components, and the warnings it
/// earns (`subject` names the entry in them, e.g. `ion Fe` or `Fe`); nil when the line is not of that form.
func parseNamedColor(_ t: [Substring], subject: String) -> (r: Double, g: Double, b: Double, warnings: [String])? {
    guard t.count >= 4, let r = parseDecimal(t[1]), let g = parseDecimal(t[2]), let b = parseDecimal(t[3]) else { return nil }
    var w: [String] = []
    if t.count > 4 { w.append("text after the colour of \(subject) ignored") }
    if [r, g, b].contains(where: { $0 < 0 || $0 > 1 }) { w.append("colour components of \(subject) outside 0…1 are clamped") }
    return (r, g, b, w)
}

func colorByte(_ x: Double) -> Int { Int((min(max(x, 0), 1) * 255).rounded()) }

/// Six upper-case hex digits from components in 0…1.
func hexColor(_ r: Double, _ g: Double, _ b: Double) -> String {
    String(format: "%02X%02X%02X", colorByte(r), colorByte(g), colorByte(b))
}

/// The three bytes of a six-hex-digit colour, or nil.
func colorBytes(_ hex: String) -> [Int]? {
    guard let h = RRNGFile.normalizedColor(hex), let v = Int(h, radix: 16) else { return nil }
    return [(v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF]
}

/// A byte as a 0…1 component with the fewest decimals (at least `minDecimals`, at most 3) that read back as the
/// same byte: `204` → `0.80`, `1` → `0.004`.
func colorComponentText(_ byte: Int, minDecimals: Int) -> String {
    for d in minDecimals...3 {
        let s = String(format: "%.\(d)f", Double(byte) / 255)
        if let x = Double(s), colorByte(x) == byte { return s }
    }
    return String(format: "%.3f", Double(byte) / 255)
}

/// Checks what every range-file writer needs of a range: finite, non-negative, ordered bounds, a valid ion index
/// and colour. Returns the upper-case colour.
func checkRangeForOutput(_ r: MassRange, index i: Int, ionCount: Int, format: String) throws -> String {
    let label = "\(format) output: range \(i + 1)"
    guard r.lowDa.isFinite, r.highDa.isFinite, r.volumeNM3.isFinite else {
        throw TwinError.invalidInput("\(label): non-finite value (\(r.lowDa), \(r.highDa), Vol \(r.volumeNM3))")
    }
    guard r.lowDa >= 0, r.highDa >= 0 else {
        throw TwinError.invalidInput("\(label): negative bound [\(r.lowDa), \(r.highDa)]")
    }
    guard r.lowDa <= r.highDa else {
        throw TwinError.invalidInput("\(label): lower bound \(r.lowDa) is above upper bound \(r.highDa)")
    }
    guard (0..<ionCount).contains(r.ionIndex) else {
        throw TwinError.invalidInput("\(label): ion index \(r.ionIndex) outside 0..<\(ionCount)")
    }
    guard let color = RRNGFile.normalizedColor(r.colorHex) else {
        throw TwinError.invalidInput("\(label): colour '\(r.colorHex)' is not 6 hexadecimal digits")
    }
    return color
}

/// Checks an ion's composition for output: symbols known to the periodic table, counts above 0.
func checkCompositionForOutput(_ ion: RangedIon, format: String) throws {
    for e in ion.composition {
        guard PeriodicTable.element(symbol: e.symbol) != nil else {
            throw TwinError.invalidInput("\(format) output: ion \(ion.name): unknown element symbol '\(e.symbol)'")
        }
        guard e.count > 0 else {
            throw TwinError.invalidInput("\(format) output: ion \(ion.name) has count \(e.count) of \(e.symbol)")
        }
    }
}

/// A name written as one token: non-empty, no whitespace, control characters or `#`.
func checkTokenName(_ s: String, what: String, format: String) throws {
    if s.isEmpty || s.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0 == "#" }) {
        throw TwinError.invalidInput("\(format) output: \(what) '\(s)' is empty or contains spaces or '#'")
    }
}

/// Warnings for duplicated and overlapping ranges; `where(i)` describes range `i` (its line).
func overlapWarnings(_ table: RangeTable, name: String, where describe: (Int) -> String) -> [String] {
    table.overlappingPairs().map { (i, j) in
        let a = table.ranges[i], b = table.ranges[j]
        let kind = (a.lowDa == b.lowDa && a.highDa == b.highDa) ? "duplicate" : "overlapping"
        return "\(name): \(kind) ranges: \(describe(i)) [\(RRNGFile.fixed(a.lowDa, 4)), \(RRNGFile.fixed(a.highDa, 4))] "
            + "\(table.ions[a.ionIndex].name) and \(describe(j)) [\(RRNGFile.fixed(b.lowDa, 4)), "
            + "\(RRNGFile.fixed(b.highDa, 4))] \(table.ions[b.ionIndex].name)"
    }
}
