/// The data model every stage of the twin shares.
///
/// All arrays are structure-of-arrays (one Swift array per column) so that hot loops vectorise and files can be
/// written column by column. Units are in the names: nanometres (`NM`), millimetres (`MM`), nanoseconds (`NS`),
/// volts (`V`), daltons (`Da`).

/// Ground-truth atoms of a specimen: every atom that the simulation may evaporate.
///
/// 24 bytes per atom resident: id 4, element 1, mass number 2, position 3 × 4, grain 4, phase 1.
public struct TruthAtoms: Sendable, Equatable {
    /// Stable atom identifier (index into the specimen as built).
    public var id: [UInt32] = []
    /// Atomic number Z.
    public var elementZ: [UInt8] = []
    /// Isotope mass number A (protons + neutrons).
    public var massNumber: [UInt16] = []
    /// Position in the specimen frame, nanometres. z is the needle axis, pointing towards the detector; the apex is
    /// at the largest z.
    public var xNM: [Float] = []
    public var yNM: [Float] = []
    public var zNM: [Float] = []
    /// Grain label (0 for single crystals).
    public var grain: [Int32] = []
    /// Phase label, a ``PhaseLabel`` raw value.
    public var phase: [UInt8] = []

    public init() {}

    public var count: Int { id.count }

    public mutating func reserveCapacity(_ n: Int) {
        id.reserveCapacity(n); elementZ.reserveCapacity(n); massNumber.reserveCapacity(n)
        xNM.reserveCapacity(n); yNM.reserveCapacity(n); zNM.reserveCapacity(n)
        grain.reserveCapacity(n); phase.reserveCapacity(n)
    }

    public mutating func append(id: UInt32, elementZ: UInt8, massNumber: UInt16, xNM: Float, yNM: Float, zNM: Float,
                                grain: Int32 = 0, phase: UInt8 = 0) {
        self.id.append(id); self.elementZ.append(elementZ); self.massNumber.append(massNumber)
        self.xNM.append(xNM); self.yNM.append(yNM); self.zNM.append(zNM)
        self.grain.append(grain); self.phase.append(phase)
    }

    /// Appends all atoms of `other` (used to merge per-chunk results in a fixed order).
    public mutating func append(contentsOf other: TruthAtoms) {
        id += other.id; elementZ += other.elementZ; massNumber += other.massNumber
        xNM += other.xNM; yNM += other.yNM; zNM += other.zNM; grain += other.grain; phase += other.phase
    }

    /// Resident bytes per atom of this representation.
    public static let bytesPerAtom = 4 + 1 + 2 + 12 + 4 + 1
}

/// What the phase column of ``TruthAtoms`` means.
public enum PhaseLabel: UInt8, Sendable, CaseIterable {
    /// Matrix (for a spinodal alloy: the solute-poor phase, e.g. Fe-rich α).
    case matrix = 0
    /// Solute-rich phase of a spinodal decomposition (e.g. Cr-rich α′).
    case soluteRich = 1
    /// Inside a precipitate.
    case precipitate = 2
    /// Inside a grain-boundary segregation band.
    case segregationBand = 3
    /// Inside the surface layer (contamination, oxide, FIB damage).
    case surfaceLayer = 4
}

/// Field-evaporation events in the order they happened.
public struct EvaporationEvents: Sendable, Equatable {
    /// Index of the evaporated atom in ``TruthAtoms`` (its `id`).
    public var atomID: [UInt32] = []
    /// Pulse during (or after) which the atom left, counted from the start of the acquisition.
    public var pulseIndex: [Int64] = []
    /// Time of the departure after the start of that pulse, nanoseconds.
    public var timeInPulseNS: [Float] = []
    /// Standing (DC) voltage at departure, volts.
    public var vDCV: [Float] = []
    /// Pulse amplitude at departure, volts (the peak amplitude of the pulse, not the instantaneous value).
    public var vPulseV: [Float] = []
    /// Surface field at the atom when it left, V/nm.
    public var fieldVPerNM: [Float] = []
    /// Charge state n of the ion.
    public var chargeState: [UInt8] = []
    /// Launch position, nanometres (specimen frame).
    public var launchXNM: [Float] = []
    public var launchYNM: [Float] = []
    public var launchZNM: [Float] = []
    /// Unit outward surface normal at the launch site (the initial flight direction of a point-projection model).
    public var normalX: [Float] = []
    public var normalY: [Float] = []
    public var normalZ: [Float] = []

    public init() {}
    public var count: Int { atomID.count }
}

/// Detector hits: what the delay-line detector reports, one row per registered hit.
public struct DetectorHits: Sendable, Equatable {
    /// Index into ``EvaporationEvents`` of the ion that made this hit, or −1 for an uncorrelated background count.
    public var eventIndex: [Int32] = []
    /// Hit position on the detector, millimetres from its centre.
    public var xMM: [Float] = []
    public var yMM: [Float] = []
    /// Measured time of flight, nanoseconds.
    public var tofNS: [Float] = []
    /// Hits registered on this pulse (EPOS convention: n on the first hit of the pulse, 0 on the following ones).
    public var multiplicity: [UInt32] = []
    /// Pulses since the previous registered hit (EPOS convention).
    public var pulsesSinceLastHit: [UInt32] = []
    /// Pulse index of the hit.
    public var pulseIndex: [Int64] = []

    public init() {}
    public var count: Int { xMM.count }
}

/// Instrument parameters a reconstruction or a mass-spectrum conversion needs, whether they come from a scenario or
/// from a file's metadata. `nil` means "not known": the consumer must ask the user for it.
public struct InstrumentParameters: Sendable, Equatable, Codable {
    public var flightPathMM: Double?
    public var detectorDiameterMM: Double?
    public var detectionEfficiency: Double?
    public var pulseFraction: Double?
    public var pulseFrequencyHz: Double?
    public var temperatureK: Double?
    public init(flightPathMM: Double? = nil, detectorDiameterMM: Double? = nil, detectionEfficiency: Double? = nil,
                pulseFraction: Double? = nil, pulseFrequencyHz: Double? = nil, temperatureK: Double? = nil) {
        self.flightPathMM = flightPathMM; self.detectorDiameterMM = detectorDiameterMM
        self.detectionEfficiency = detectionEfficiency; self.pulseFraction = pulseFraction
        self.pulseFrequencyHz = pulseFrequencyHz; self.temperatureK = temperatureK
    }
}

/// One APT acquisition: the per-ion columns an instrument records, plus optional derived columns.
///
/// Both the simulator and the file readers (EPOS, POS, …) produce this type, and the mass-spectrum and
/// reconstruction stages consume it, so the same code runs on simulated and real data. Columns that a source does
/// not provide are empty arrays (e.g. a POS file has no detector coordinates); ``count`` is the number of ions.
public struct Acquisition: Sendable, Equatable {
    /// Detector coordinates, millimetres.
    public var detectorXMM: [Float] = []
    public var detectorYMM: [Float] = []
    /// Time of flight, nanoseconds (uncorrected).
    public var tofNS: [Float] = []
    /// Standing voltage, volts.
    public var vDCV: [Float] = []
    /// Pulse voltage amplitude, volts.
    public var vPulseV: [Float] = []
    /// Pulses since the previous detected ion.
    public var pulsesSincePrevious: [UInt32] = []
    /// Ions in this pulse (n on the first of a multi-hit, 0 on the others).
    public var multiplicity: [UInt32] = []
    /// Mass-to-charge ratio, daltons (calibrated), if known.
    public var massToChargeDa: [Float] = []
    /// Reconstructed positions, nanometres, if known.
    public var xNM: [Float] = []
    public var yNM: [Float] = []
    public var zNM: [Float] = []
    /// Instrument metadata, if known.
    public var instrument = InstrumentParameters()

    public init() {}

    /// What a reader or converter assumed about the source (e.g. the EPOS voltage unit), for reports.
    public var notes: [String] = []

    /// True when ``tofNS`` holds a corrected time of flight (AP Suite's `tofc`: after voltage and bowl
    /// corrections) rather than the measured one; writers keep the distinction (`tofc` vs `tof`).
    public var tofIsCorrected = false
    /// Columns of the source file that the twin carries without interpreting them (APT sections such as `pulse`,
    /// `freq`, `Detector Coordinates` or vendor sections), so that a file written in the same format keeps them.
    public var extraColumns: [ExtraColumn] = []
    /// The source's column names in file order (APT section names), so that a writer of the same format keeps the
    /// order; empty for simulated acquisitions.
    public var sourceColumnOrder: [String] = []
    /// Format-specific header fields of the source a writer of the same format restores, keyed `<format>.<field>`
    /// (e.g. `apt.creation_filetime`, `apt.file_name`).
    public var sourceMetadata: [String: String] = [:]

    /// Number of ions: the length of the longest non-empty column.
    public var count: Int {
        [detectorXMM.count, detectorYMM.count, tofNS.count, vDCV.count, vPulseV.count, pulsesSincePrevious.count,
         multiplicity.count, massToChargeDa.count, xNM.count, yNM.count, zNM.count].max() ?? 0
    }

    /// Names of the columns that hold data (for `info` and error messages).
    public var presentColumns: [String] {
        var c: [String] = []
        if !xNM.isEmpty { c.append("position_nm") }
        if !massToChargeDa.isEmpty { c.append("mass_to_charge_da") }
        if !tofNS.isEmpty { c.append("tof_ns") }
        if !vDCV.isEmpty { c.append("v_dc_v") }
        if !vPulseV.isEmpty { c.append("v_pulse_v") }
        if !detectorXMM.isEmpty { c.append("detector_mm") }
        if !pulsesSincePrevious.isEmpty { c.append("pulses_since_previous") }
        if !multiplicity.isEmpty { c.append("multiplicity") }
        return c
    }

    /// Checks that every non-empty column has ``count`` rows.
    public func validateColumns() throws {
        let n = count
        let cols: [(String, Int)] = [
            ("detector_x_mm", detectorXMM.count), ("detector_y_mm", detectorYMM.count), ("tof_ns", tofNS.count),
            ("v_dc_v", vDCV.count), ("v_pulse_v", vPulseV.count), ("pulses_since_previous", pulsesSincePrevious.count),
            ("multiplicity", multiplicity.count), ("mass_to_charge_da", massToChargeDa.count),
            ("x_nm", xNM.count), ("y_nm", yNM.count), ("z_nm", zNM.count),
        ]
        for (name, c) in cols where c != 0 && c != n {
            throw TwinError.inconsistent("column \(name) has \(c) rows, expected \(n)")
        }
    }
}

/// A column of a source file carried through unchanged: its header and data bytes exactly as read.
///
/// The bytes are meaningful only to a writer of ``format``; readers of other formats ignore the column.
public struct ExtraColumn: Sendable, Equatable {
    /// Name in the source (the APT section name).
    public var name: String
    /// The format of ``header`` and ``data`` (`"apt"`).
    public var format: String
    /// The column's header in the source, verbatim (APT: the whole section header, 148 bytes or more).
    public var header: [UInt8]
    /// The column's data, verbatim (APT: the little-endian records).
    public var data: [UInt8]
    /// Records when the column holds one record per ion, so a writer can drop it once the ions were filtered;
    /// `nil` for columns of another relationship (e.g. per pulse), which are kept as they are.
    public var perIonRecords: Int?
    public init(name: String, format: String, header: [UInt8], data: [UInt8], perIonRecords: Int?) {
        self.name = name; self.format = format; self.header = header; self.data = data; self.perIonRecords = perIonRecords
    }
}

/// One ion species of a range table, e.g. `Fe` or the molecule `Cr2O`.
public struct RangedIon: Sendable, Equatable, Hashable {
    /// Display name (`Fe`, `CrO`, or a custom label).
    public var name: String
    /// Elemental composition as (symbol, count) in the order given. Empty for a custom `Name:` ion.
    public var composition: [ElementCount]
    public init(name: String, composition: [ElementCount]) { self.name = name; self.composition = composition }
}

/// An element symbol with a count, as in `Cr:2`.
public struct ElementCount: Sendable, Equatable, Hashable {
    public var symbol: String
    public var count: Int
    public init(_ symbol: String, _ count: Int) { self.symbol = symbol; self.count = count }
}

/// One mass-to-charge interval assigned to an ion. Intervals are closed: [lowDa, highDa].
public struct MassRange: Sendable, Equatable {
    public var lowDa: Double
    public var highDa: Double
    /// Index into ``RangeTable/ions``.
    public var ionIndex: Int
    /// Atomic volume (nm³) carried by RRNG `Vol:`; 0 if unknown.
    public var volumeNM3: Double
    /// Colour as six hex digits, e.g. `FF0000`.
    public var colorHex: String
    public init(lowDa: Double, highDa: Double, ionIndex: Int, volumeNM3: Double = 0, colorHex: String = "FFFFFF") {
        self.lowDa = lowDa; self.highDa = highDa; self.ionIndex = ionIndex; self.volumeNM3 = volumeNM3
        self.colorHex = colorHex
    }
}

/// A range table: ion species and the m/n intervals assigned to them.
public struct RangeTable: Sendable, Equatable {
    public var ions: [RangedIon] = []
    public var ranges: [MassRange] = []
    public init(ions: [RangedIon] = [], ranges: [MassRange] = []) { self.ions = ions; self.ranges = ranges }

    /// Pairs of range indices whose closed intervals overlap (including exact duplicates).
    public func overlappingPairs() -> [(Int, Int)] {
        let order = ranges.indices.sorted { (ranges[$0].lowDa, $0) < (ranges[$1].lowDa, $1) }
        var out: [(Int, Int)] = []
        for (a, i) in order.enumerated() {
            for j in order[(a + 1)...] {
                if ranges[j].lowDa > ranges[i].highDa { break }
                out.append((min(i, j), max(i, j)))
            }
        }
        return out.sorted { $0 < $1 }
    }

    /// The ion index for a mass-to-charge value, or nil if unranged. Requires non-overlapping ranges.
    public func ionIndex(forDa m: Double) -> Int? {
        for r in ranges where m >= r.lowDa && m <= r.highDa { return r.ionIndex }
        return nil
    }
}

/// Errors shared by all stages. Messages name the file, key or byte offset at fault.
public enum TwinError: Error, CustomStringConvertible, Equatable {
    case invalidInput(String)
    case inconsistent(String)
    case io(String)
    public var description: String {
        switch self {
        case .invalidInput(let s): return s
        case .inconsistent(let s): return s
        case .io(let s): return s
        }
    }
}
