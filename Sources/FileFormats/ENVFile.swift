import Foundation
import MaterialsData
import TwinCore

/// The GPM Rouen environment file (`.env`): a range table plus the instrument and reconstruction parameters of
/// GPM's 3D atom-probe software.
///
/// There is no published specification. The layout below is the one of a GPM file ("Rev 2.0: Environment file for
/// 3D Atom Probe", G. Da Costa and A. Bostel; the example `ErMnO.env` of ifes_apt_tc_data_modeling), and the
/// readers of 3Depict and ifes_apt_tc_data_modeling agree with it: data lines, each parameter announced by a `#`
/// comment line.
///
/// ```
/// # Version Id
/// Rev_2.0
/// # Number of elements / Number of mass ranges
/// 3	4
/// # List of Element and Color components ( Red / Green / Blue )
/// O	0.0	1.0	0.0                     name r g b (0…1)
/// Mn	0.0	0.5	1.0
/// MnO	0.5	0.5	0.5
/// # Definition of  Mass ranges / Atomic volumes / Increment for concentration
/// O	15.880	16.840	20.000	1.000     name low high (Da) atomic-volume increment
/// Mn	27.330	27.950	11.660	1.000
/// Mn	54.770	55.020	11.660	1.000
/// MnO	70.590	72.810	11.660	1.000
/// # Atom probe definition
/// # Flight length (m)
/// 0.100500
/// …                                    (see ``Parameters`` for the labels read)
/// ```
///
/// **Reading.** The version line (one word starting with a letter) is optional (3Depict writes none). Element-list
/// names are elements, formulas of known elements (`MnO2`), or custom labels (`Hyd`, `X23`: kept without
/// composition, with a warning); a formula-shaped name with a symbol the periodic table does not know (`Xx`) is an error. Ranges take the colour of
/// their element-list entry; a range naming no entry is kept with a warning (colour FFFFFF). Atomic volumes are
/// read as Å³ and stored in nm³ (÷ 1000): the file states no unit, and the values seen (11.66 for metals, 20 for O)
/// fit Å³ (Fe: 11.8 Å³). The "increment for concentration" (1 in every file seen; meaning undocumented) is kept in
/// ``Parameters/concentrationIncrements``. Each parameter value is the single number after a comment line whose
/// text starts with one of the labels in ``Parameters``, case-insensitive; an unknown label, a value without a
/// label, or any other unrecognised line is a warning. Comment lines may be Latin-1 (`m²`); everything else must
/// be UTF-8. Comma decimal separators, LF/CRLF/CR line ends, tabs or spaces, and text after a `#` on data lines
/// are accepted. More ranges than declared are kept with a warning; overlapping ranges are warnings.
///
/// Errors naming the file and line: binary data, non-UTF-8 data lines, a missing `N_elements N_ranges` line, a
/// malformed element or range line, unknown element symbols, negative, non-finite or reversed bounds, a negative
/// atomic volume, fewer ranges than declared, and truncation (the file ends inside the element list or the
/// ranges, or after a parameter label without its value).
///
/// **Writing** follows the GPM example (LF line ends, tab-separated columns, the same comments), with bounds at 4
/// decimals, volumes in Å³ at 3 decimals, colour components with the fewest decimals that keep the byte, and only
/// the parameters that are set. Write → read → write is byte-identical. (The one ENV layout seen is GPM's; files
/// written by other GPM software versions may differ, and the parameter semantics are inferred from their labels.)
public enum ENVFile {
    /// The instrument and reconstruction parameters of an environment file. Every field is optional (nil: not in
    /// the file). The label in each description is the comment that announces the value (matched by prefix,
    /// case-insensitive); the unit is the one the label states, where it states one.
    public struct Parameters: Sendable, Equatable {
        /// The version line, e.g. `Rev_2.0` (`# Version Id`).
        public var version: String?
        /// Flight length, metres (`# Flight length (m)`).
        public var flightLengthM: Double?
        /// Pulse fraction, percent (`# Pulse fraction (%)`).
        public var pulseFractionPercent: Double?
        /// Coupling factor, percent (`# Coupling factor (%)`); presumably the fraction of the pulse amplitude that
        /// reaches the tip — not documented.
        public var couplingFactorPercent: Double?
        /// Time added to the time of flight before the mass calculation, nanoseconds (`# Time added to the tof for
        /// mass calculation (ns)`): a TOF offset t0 with the sign convention t = tof + value.
        public var tofOffsetNS: Double?
        /// Reflectron factor, dimensionless (`# Reflectron factor`); presumably the ratio of effective to straight
        /// flight length of an energy-compensated instrument — not documented.
        public var reflectronFactor: Double?
        /// Input voltage of the detection system, kilovolts (`# Input Voltage of the detection system (kV)`).
        public var detectorInputVoltageKV: Double?
        /// Distance between the grid and the MCP input, metres (`# Distance between Grid and MCPin (m)`).
        public var gridToMCPDistanceM: Double?
        /// The `# Ebeta value` of the reconstruction: by its name the product of evaporation field E and field
        /// factor β that turns voltage into tip radius (R = V / (β E)); no unit is stated (24 in the example file).
        public var eBeta: Double?
        /// Projection point, in units of the tip radius plus one (`# Projection point value (m+1)`): the
        /// image-compression parameter of the point-projection reconstruction.
        public var projectionPoint: Double?
        /// Surface (area) of the detection system, square metres (`# Surface of the detection system (m²)`).
        public var detectorAreaM2: Double?
        /// Detection efficiency, a fraction in 0…1 (`# Efficiency of the detection system`).
        public var detectionEfficiency: Double?
        /// Rotation angle of the tip (`# Angle used for the rotation of the tip`); unit not stated (degrees?).
        public var tipRotationAngle: Double?
        /// Tilt angle of the tip (`# Angle used for the tilt of the tip`); unit not stated (degrees?).
        public var tipTiltAngle: Double?
        /// The "increment for concentration" of each range, in the order of the table's ranges (the fifth column
        /// of a range line; 1 where a line has none). Undocumented; presumably the weight of an ion of that range
        /// in concentration counts. Empty: 1 for every range (when writing).
        public var concentrationIncrements: [Double]

        public init(version: String? = nil, flightLengthM: Double? = nil, pulseFractionPercent: Double? = nil,
                    couplingFactorPercent: Double? = nil, tofOffsetNS: Double? = nil, reflectronFactor: Double? = nil,
                    detectorInputVoltageKV: Double? = nil, gridToMCPDistanceM: Double? = nil, eBeta: Double? = nil,
                    projectionPoint: Double? = nil, detectorAreaM2: Double? = nil, detectionEfficiency: Double? = nil,
                    tipRotationAngle: Double? = nil, tipTiltAngle: Double? = nil, concentrationIncrements: [Double] = []) {
            self.version = version; self.flightLengthM = flightLengthM; self.pulseFractionPercent = pulseFractionPercent
            self.couplingFactorPercent = couplingFactorPercent; self.tofOffsetNS = tofOffsetNS
            self.reflectronFactor = reflectronFactor; self.detectorInputVoltageKV = detectorInputVoltageKV
            self.gridToMCPDistanceM = gridToMCPDistanceM; self.eBeta = eBeta; self.projectionPoint = projectionPoint
            self.detectorAreaM2 = detectorAreaM2; self.detectionEfficiency = detectionEfficiency
            self.tipRotationAngle = tipRotationAngle; self.tipTiltAngle = tipTiltAngle
            self.concentrationIncrements = concentrationIncrements
        }

        /// Section, label prefix (lower case, matched), label written, field.
        static var fields: [(section: Int, prefix: String, label: String, key: WritableKeyPath<Parameters, Double?>)] {
            [
                (0, "flight length", "Flight length (m)", \.flightLengthM),
                (0, "pulse fraction", "Pulse fraction (%)", \.pulseFractionPercent),
                (0, "coupling factor", "Coupling factor (%)", \.couplingFactorPercent),
                (0, "time added to the tof", "Time added to the tof for mass calculation (ns)", \.tofOffsetNS),
                (0, "reflectron factor", "Reflectron factor", \.reflectronFactor),
                (0, "input voltage of the detection system", "Input Voltage of the detection system (kV)",
                 \.detectorInputVoltageKV),
                (0, "distance between grid and mcp", "Distance between Grid and MCPin (m)", \.gridToMCPDistanceM),
                (1, "ebeta", "Ebeta value", \.eBeta),
                (1, "projection point", "Projection point value (m+1)", \.projectionPoint),
                (1, "surface of the detection system", "Surface of the detection system (m²)", \.detectorAreaM2),
                (1, "efficiency of the detection system", "Efficiency of the detection system", \.detectionEfficiency),
                (1, "angle used for the rotation of the tip", "Angle used for the rotation of the tip", \.tipRotationAngle),
                (1, "angle used for the tilt of the tip", "Angle used for the tilt of the tip", \.tipTiltAngle),
            ]
        }
    }

    /// Reads an environment file: its ranges, its parameters, and the problems found that did not prevent reading.
    ///
    /// - Throws: `TwinError.invalidInput` naming the file and line, `TwinError.io`.
    public static func read(_ url: URL) throws -> (table: RangeTable, parameters: Parameters, warnings: [String]) {
        try decode(readWholeFile(url), name: displayName(url))
    }

    /// Parses environment-file bytes held in memory; `name` is used in messages.
    public static func decode(_ data: Data, name: String) throws
        -> (table: RangeTable, parameters: Parameters, warnings: [String]) {
        var p = ENVParser(name: name)
        let (table, parameters) = try p.parse(data)
        return (table, parameters, p.warnings)
    }

    /// Writes `table` and `parameters` as an environment file, atomically, and returns what the format could not
    /// store (differing colours of the ranges of one ion, where the first is kept; a composition that the ion's
    /// name does not spell, since ENV derives compositions from names).
    ///
    /// - Throws: `TwinError.invalidInput` for what cannot be represented (see ``encode(_:parameters:)``),
    ///   `TwinError.io`.
    @discardableResult
    public static func write(_ table: RangeTable, parameters: Parameters = Parameters(), to url: URL) throws -> [String] {
        let (data, warnings) = try encode(table, parameters: parameters)
        try AtomicFile.write(data, to: url)
        return warnings
    }

    /// Encodes `table` and `parameters` as environment-file bytes (see ``write(_:parameters:to:)``).
    ///
    /// - Throws: `TwinError.invalidInput` for non-finite, negative or reversed bounds, a negative volume, an ion
    ///   index out of range, a colour that is not 6 hex digits, names that are empty or contain spaces or `#`, unknown
    ///   element symbols, an ion without composition whose name reads as a formula, a non-finite parameter, a version
    ///   that is not one token, or a number of increments that is neither 0 nor the number of ranges.
    public static func encode(_ table: RangeTable, parameters: Parameters = Parameters()) throws
        -> (data: Data, warnings: [String]) {
        let f = "ENV"
        var warnings: [String] = []
        var colors: [String] = []
        for (i, r) in table.ranges.enumerated() {
            colors.append(try checkRangeForOutput(r, index: i, ionCount: table.ions.count, format: f))
            if r.volumeNM3 < 0 { throw TwinError.invalidInput("ENV output: range \(i + 1): negative volume \(r.volumeNM3)") }
        }
        let inc = parameters.concentrationIncrements
        guard inc.isEmpty || inc.count == table.ranges.count else {
            throw TwinError.invalidInput("ENV output: \(inc.count) concentration increments for \(table.ranges.count) ranges")
        }
        if let bad = inc.first(where: { !$0.isFinite }) {
            throw TwinError.invalidInput("ENV output: non-finite concentration increment \(bad)")
        }
        for (i, ion) in table.ions.enumerated() {
            try checkTokenName(ion.name, what: "ion \(i + 1) name", format: f)
            try checkCompositionForOutput(ion, format: f)
            switch classifyIonName(ion.name) {
            case .unknownSymbol(let s):
                throw TwinError.invalidInput("ENV output: ion name '\(ion.name)' uses the unknown element symbol '\(s)'")
            case .formula(let c):
                if ion.composition.isEmpty {
                    throw TwinError.invalidInput("ENV output: ion '\(ion.name)' has no composition, but its name reads "
                                                 + "as a chemical formula; give it its composition or another name")
                }
                if normalizedComposition(c) != normalizedComposition(ion.composition) {
                    warnings.append("ENV output: ion '\(ion.name)' has composition \(compositionText(ion.composition)), "
                                    + "but ENV derives compositions from names; it will read back as \(compositionText(c))")
                }
            case .custom:
                if !ion.composition.isEmpty {
                    warnings.append("ENV output: ion '\(ion.name)' has composition \(compositionText(ion.composition)), "
                                    + "but ENV derives compositions from names; it will read back without composition")
                }
            }
        }
        if let v = parameters.version, !isVersionToken(Substring(v)) {
            throw TwinError.invalidInput("ENV output: version '\(v)' is not one token of letters, digits, '_', '.' "
                                         + "or '-' starting with a letter")
        }
        var ionColor: [String] = []
        for i in table.ions.indices {
            let ks = table.ranges.indices.filter { table.ranges[$0].ionIndex == i }
            let distinct = Set(ks.map { colors[$0] })
            if distinct.count > 1 {
                warnings.append("ENV output: the ranges of ion \(table.ions[i].name) have \(distinct.count) colours; ENV "
                                + "stores one colour per ion, \(colors[ks[0]]) (its first range's) is written")
            }
            ionColor.append(ks.first.map { colors[$0] } ?? "FFFFFF")
        }

        var s = "#\n#\tEnvironment file for 3D Atom Probe (GPM Rouen layout, Rev 2.0), written by AtomProbeTwin\n#\n\n"
        s += "# Version Id\n\(parameters.version ?? "Rev_2.0")\n\n"
        s += "# Alloy definition\n\n# Number of elements / Number of mass ranges\n\(table.ions.count)\t\(table.ranges.count)\n\n"
        s += "# List of Element and Color components ( Red / Green / Blue )\n"
        for (i, ion) in table.ions.enumerated() {
            let c = (colorBytes(ionColor[i]) ?? [255, 255, 255]).map { colorComponentText($0, minDecimals: 1) }
            s += ([ion.name] + c).joined(separator: "\t") + "\n"
        }
        s += "\n# Definition of  Mass ranges / Atomic volumes / Increment for concentration\n"
        for (k, r) in table.ranges.enumerated() {
            s += [table.ions[r.ionIndex].name, RRNGFile.fixed(r.lowDa, 4), RRNGFile.fixed(r.highDa, 4),
                  RRNGFile.fixed(r.volumeNM3 * 1000, 3), number(inc.isEmpty ? 1 : inc[k], 3)].joined(separator: "\t") + "\n"
        }
        let fields = Parameters.fields
        for (section, title) in [(0, "Atom probe definition"), (1, "Space definition")] {
            let present = fields.filter { $0.section == section && parameters[keyPath: $0.key] != nil }
            if present.isEmpty { continue }
            s += "\n\n\n# \(title)\n"
            for p in present {
                let v = parameters[keyPath: p.key]!
                guard v.isFinite else { throw TwinError.invalidInput("ENV output: \(p.label) is not finite (\(v))") }
                s += "\n# \(p.label)\n\(number(v, 6))\n"
            }
        }
        return (Data(s.utf8), warnings)
    }

    /// A version line: a letter, then letters, digits, `_`, `.` or `-` (`Rev_2.0`).
    static func isVersionToken(_ t: Substring) -> Bool {
        guard let f = t.unicodeScalars.first, f.isASCII, f.properties.isAlphabetic else { return false }
        return t.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)
            || $0 == "_" || $0 == "." || $0 == "-") }
    }

    /// `x` with `decimals` decimals if that reads back exactly, else its shortest exact form.
    static func number(_ x: Double, _ decimals: Int) -> String {
        let s = RRNGFile.fixed(x, decimals)
        return Double(s) == x ? s : "\(x)"
    }
}

/// ENV parser (internal).
struct ENVParser {
    let name: String
    var warnings: [String] = []

    init(name: String) { self.name = name }

    private func fail(_ line: Int, _ msg: String) -> TwinError { TwinError.invalidInput("\(name): line \(line): \(msg)") }
    private mutating func warn(_ line: Int?, _ msg: String) {
        warnings.append(line.map { "\(name): line \($0): \(msg)" } ?? "\(name): \(msg)")
    }

    private enum State { case start, elements, ranges, parameters }
    private struct Entry { var line: Int; var name: String; var color: String }

    mutating func parse(_ data: Data) throws -> (RangeTable, ENVFile.Parameters) {
        var latin1: [Int] = []
        let lines = try splitTextLines(data, name: name, format: "ENV", nonUTF8: .latin1InComments, latin1Lines: &latin1)
        if let first = latin1.first {
            warn(first, "comment line\(latin1.count > 1 ? "s" : "") not UTF-8, read as Latin-1 (\(latin1.count) line"
                 + "\(latin1.count > 1 ? "s" : ""))")
        }
        if lines.allSatisfy({ $0.text.allSatisfy(\.isWhitespace) }) {
            throw TwinError.invalidInput("\(name): empty file (\(data.count) bytes, no text); expected an ENV file")
        }
        var params = ENVFile.Parameters()
        var state = State.start
        var nElements = 0, nRanges = 0, countsLine = 0
        var entries: [Entry] = []
        var table = RangeTable()
        var rangeLines: [Int] = []
        var colors: [String] = []
        var ionOfName: [String: Int] = [:]
        var label: (line: Int, text: String)?   // the last comment not yet followed by a value
        var warnedShortRange = false
        let fields = ENVFile.Parameters.fields
        var seenField: [Int: Int] = [:]  // field index → line

        func ion(named n: String, line: Int) throws -> Int {
            if let i = ionOfName[n] { return i }
            switch classifyIonName(n) {
            case .unknownSymbol(let s): throw fail(line, "'\(n)': unknown element symbol '\(s)'")
            case .formula(let c): table.ions.append(RangedIon(name: n, composition: c))
            case .custom:
                warn(line, "'\(n)' is not an element or a formula of known elements; kept as a custom ion without "
                     + "composition")
                table.ions.append(RangedIon(name: n, composition: []))
            }
            colors.append("FFFFFF")
            ionOfName[n] = table.ions.count - 1
            return table.ions.count - 1
        }

        func endRanges() {
            if table.ranges.count > nRanges {
                warn(countsLine, "\(nRanges) mass ranges declared, \(table.ranges.count) found; all are kept")
            }
        }

        for l in lines {
            var text = l.text.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            if text.hasPrefix("#") {
                let c = text.drop(while: { $0 == "#" }).trimmingCharacters(in: .whitespaces)
                if !c.isEmpty { label = (l.no, c) }
                continue
            }
            if let hash = text.firstIndex(of: "#") { text = text[..<hash].trimmingCharacters(in: .whitespaces) }
            let t = textTokens(text)
            switch state {
            case .start:
                if t.count == 1, params.version == nil, ENVFile.isVersionToken(t[0]) {
                    params.version = String(t[0])
                    label = nil
                    continue
                }
                guard t.count == 2, let a = Int(t[0]), let b = Int(t[1]), a >= 0, b >= 0 else {
                    throw fail(l.no, "expected 'N_elements N_ranges' (two counts), found '\(clipForMessage(text))'; "
                               + "not an ENV file")
                }
                nElements = a; nRanges = b; countsLine = l.no
                state = a > 0 ? .elements : .ranges
                label = nil
            case .elements:
                guard let (r, g, b, colorWarnings) = t.isEmpty ? nil : parseNamedColor(t, subject: String(t[0])) else {
                    throw fail(l.no, "element \(entries.count + 1) of \(nElements): expected 'Name r g b', found "
                               + "'\(clipForMessage(text))'")
                }
                for w in colorWarnings { warn(l.no, w) }
                let n = String(t[0])
                if let prev = entries.first(where: { $0.name == n }) {
                    warn(l.no, "'\(n)' listed twice (first on line \(prev.line)); the first colour is used")
                } else {
                    let i = try ion(named: n, line: l.no)
                    colors[i] = hexColor(r, g, b)
                }
                entries.append(Entry(line: l.no, name: n, color: hexColor(r, g, b)))
                if entries.count == nElements { state = .ranges }
                label = nil
            case .ranges:
                if t.count >= 3, parseDecimal(t[0]) == nil {
                    let n = String(t[0])
                    guard let low = parseDecimal(t[1]) else {
                        throw fail(l.no, "cannot read lower bound '\(clipForMessage(String(t[1])))' as a finite number")
                    }
                    guard let high = parseDecimal(t[2]) else {
                        throw fail(l.no, "cannot read upper bound '\(clipForMessage(String(t[2])))' as a finite number")
                    }
                    if low < 0 || high < 0 { throw fail(l.no, "negative bound in [\(t[1]), \(t[2])]") }
                    if low > high { throw fail(l.no, "lower bound \(t[1]) is above upper bound \(t[2])") }
                    var vol = 0.0, incr = 1.0
                    if t.count >= 4 {
                        guard let v = parseDecimal(t[3]) else {
                            throw fail(l.no, "cannot read atomic volume '\(clipForMessage(String(t[3])))' as a finite number")
                        }
                        if v < 0 { throw fail(l.no, "negative atomic volume \(t[3])") }
                        vol = v / 1000
                    }
                    if t.count >= 5 {
                        guard let v = parseDecimal(t[4]) else {
                            throw fail(l.no, "cannot read the concentration increment '\(clipForMessage(String(t[4])))' "
                                       + "as a finite number")
                        }
                        incr = v
                    }
                    if t.count < 5 && !warnedShortRange {
                        warn(l.no, "range line without atomic volume or concentration increment; 0 and 1 assumed")
                        warnedShortRange = true
                    }
                    if t.count > 5 { warn(l.no, "text after the concentration increment ignored") }
                    if ionOfName[n] == nil { warn(l.no, "range of '\(n)', which is not in the element list") }
                    let i = try ion(named: n, line: l.no)
                    table.ranges.append(MassRange(lowDa: low, highDa: high, ionIndex: i, volumeNM3: vol,
                                                  colorHex: colors[i]))
                    params.concentrationIncrements.append(incr)
                    rangeLines.append(l.no)
                    label = nil
                    continue
                }
                guard table.ranges.count >= nRanges else {
                    throw fail(l.no, "mass range \(table.ranges.count + 1) of \(nRanges): expected 'Name low high volume "
                               + "increment', found '\(clipForMessage(text))'")
                }
                endRanges()
                state = .parameters
                fallthrough
            case .parameters:
                if t.count >= 3, parseDecimal(t[0]) == nil, parseDecimal(t[1]) != nil, parseDecimal(t[2]) != nil {
                    throw fail(l.no, "range line '\(clipForMessage(text))' after the parameters")
                }
                guard t.count == 1, let v = parseDecimal(t[0]) else {
                    warn(l.no, "unrecognised line '\(clipForMessage(text))' ignored"); continue
                }
                guard let lab = label else { warn(l.no, "value \(t[0]) without a label comment ignored"); continue }
                label = nil
                let key = lab.text.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
                guard let k = fields.firstIndex(where: { key.hasPrefix($0.prefix) }) else {
                    warn(l.no, "unknown parameter '\(clipForMessage(lab.text))' = \(t[0]) ignored"); continue
                }
                if let prev = seenField[k] { warn(l.no, "\(fields[k].label) repeated (first on line \(prev)); the later value is used") }
                seenField[k] = l.no
                params[keyPath: fields[k].key] = v
            }
        }
        switch state {
        case .start:
            throw TwinError.invalidInput("\(name): no 'N_elements N_ranges' line found; not an ENV file")
        case .elements:
            throw TwinError.invalidInput("\(name): the file ends after \(entries.count) of the \(nElements) elements "
                                         + "(truncated)")
        case .ranges:
            if table.ranges.count < nRanges {
                throw TwinError.invalidInput("\(name): the file ends after \(table.ranges.count) of the \(nRanges) mass "
                                             + "ranges (truncated)")
            }
            endRanges()
            fallthrough
        case .parameters:
            if let lab = label {
                let key = lab.text.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
                if let k = fields.firstIndex(where: { key.hasPrefix($0.prefix) }) {
                    throw fail(lab.line, "the file ends after '\(fields[k].label)' without its value (truncated)")
                }
            }
        }
        warnings += overlapWarnings(table, name: name) { "line \(rangeLines[$0])" }
        return (table, params)
    }
}
