/// Per-element data for field evaporation and ion formation.
public struct EvaporationProperties: Sendable, Equatable {
    /// Evaporation field of the pure element, V/nm (the field at which the evaporation barrier vanishes for
    /// `usualChargeState`).
    public let evaporationFieldVPerNM: Double
    /// Charge state (positive integer) in which the element usually field-evaporates: the charge state of
    /// lowest image-hump evaporation field in Tsong's table where that is the source.
    public let usualChargeState: Int
    /// Successive ionisation energies in eV: `[0]` is the 1st (M → M⁺), up to the 4th where known.
    /// Shorter for elements with fewer electrons (H) or where the higher ones are not well known (Pt, Au).
    public let ionisationEnergiesEV: [Double]
    /// Work function of the pure element, eV (nil for gases).
    public let workFunctionEV: Double?
    /// True where no tabulated evaporation field exists and `evaporationFieldVPerNM` is a model estimate
    /// (H, C, N, O); such values are approximate and apply to the element on its own, not dissolved in a host.
    public let fieldIsEstimate: Bool
    /// Where each number comes from (field / charge state, ionisation energies, work function).
    public let source: String

    public init(evaporationFieldVPerNM: Double, usualChargeState: Int, ionisationEnergiesEV: [Double],
                workFunctionEV: Double?, fieldIsEstimate: Bool = false, source: String) {
        self.evaporationFieldVPerNM = evaporationFieldVPerNM
        self.usualChargeState = usualChargeState
        self.ionisationEnergiesEV = ionisationEnergiesEV
        self.workFunctionEV = workFunctionEV
        self.fieldIsEstimate = fieldIsEstimate
        self.source = source
    }
}

extension PeriodicTable {
    /// Field-evaporation properties of the element with atomic number `z`, or nil where the twin has none.
    ///
    /// Covered: H, C, N, O, Mg, Al, Si, Ti, V, Cr, Mn, Fe, Co, Ni, Cu, Zn, Ga, Mo, Ag, W, Pt, Au.
    /// Fe, Cr, W, Al, Ag, Cu take the project reference's values; see each entry's `source`.
    public static func evaporation(z: Int) -> EvaporationProperties? { evaporationTable[z] }

    /// Field-evaporation properties of the element `symbol` (case-sensitive), or nil.
    public static func evaporation(symbol: String) -> EvaporationProperties? {
        element(symbol: symbol).flatMap { evaporation(z: $0.z) }
    }

    /// Atomic numbers that have evaporation data, ascending.
    public static var elementsWithEvaporationData: [Int] { evaporationTable.keys.sorted() }
}

// MARK: - Data

private enum Src {
    static let reference = "project reference"
    static let tsong = "T. T. Tsong, Surf. Sci. 70 (1978) 211, image-hump field and its lowest-field charge state, "
        + "as tabulated in secondary sources (e.g. Miller et al., Atom Probe Field Ion Microscopy, 1996); "
        + "not re-checked against the original"
    static let asd = "NIST Atomic Spectra Database ionisation energies"
    static let michaelson = "H. B. Michaelson, J. Appl. Phys. 48 (1977) 4729, polycrystalline (CRC Handbook)"
    static let hump = "image-hump estimate F_n = (Λ + ΣI − nφ)² / (n³ · 1.440 eV·nm), lowest over n "
        + "(Validation/materials/image_hump_check.py)"
}

private func entry(_ field: Double, _ charge: Int, _ ie: [Double], _ phi: Double?, estimate: Bool = false,
                   field fieldSource: String, ie ieSource: String, phi phiSource: String) -> EvaporationProperties {
    EvaporationProperties(evaporationFieldVPerNM: field, usualChargeState: charge, ionisationEnergiesEV: ie,
                          workFunctionEV: phi, fieldIsEstimate: estimate,
                          source: "field/charge: \(fieldSource); ionisation energies: \(ieSource); work function: \(phiSource)")
}

private let evaporationTable: [Int: EvaporationProperties] = [
    // Gases and carbon: no measured evaporation field of the element exists; in an alloy or compound these
    // species leave at the host's field. Model estimates, flagged `fieldIsEstimate`.
    1: entry(89, 1, [13.598434], nil, estimate: true,
             field: Src.hump + " with Λ = 2.25 eV/atom (½ H₂ dissociation), φ = 4.5 eV (nominal metal host); approximate",
             ie: Src.asd, phi: "none (gas)"),
    6: entry(103, 2, [11.260288, 24.383154, 47.88778, 64.49352], 5.0, estimate: true,
             field: "≈103 V/nm for C²⁺ as quoted from Tsong 1978 in secondary tables (not verified); "
                 + Src.hump + " gives 95–99 V/nm for C²⁺ and 129–137 V/nm for C⁺ with Λ = 7.37 eV, φ = 4.6–5.0 eV; "
                 + "elemental carbon only, C⁺ and C²⁺ are both seen in steels; approximate",
             ie: Src.asd, phi: Src.michaelson + ", graphite"),
    7: entry(139, 2, [14.53413, 29.60125, 47.4453, 77.4735], nil, estimate: true,
             field: Src.hump + " with Λ = 4.92 eV/atom (cohesive energy of solid N₂), φ = 4.5 eV (nominal host); "
                 + "N⁺ (14 Da) and N²⁺ (7 Da) are both seen in nitrides; approximate",
             ie: Src.asd, phi: "none (gas)"),
    8: entry(95, 1, [13.618055, 35.12112, 54.93554, 77.41350], nil, estimate: true,
             field: Src.hump + " with Λ = 2.60 eV/atom (cohesive energy of solid O₂), φ = 4.5 eV (nominal host); approximate",
             ie: Src.asd, phi: "none (gas)"),

    // Project reference values (used exactly).
    13: entry(19, 1, [5.99, 18.83, 28.45, 119.99], 3.7,
              field: Src.reference + " (Tsong 1978)", ie: Src.reference, phi: Src.reference),
    24: entry(29, 2, [6.77, 16.5, 30.96, 49.1], 4.6,
              field: Src.reference + " (Tsong 1978; literature 27–29 V/nm)", ie: Src.reference, phi: Src.reference),
    26: entry(33, 2, [7.87, 16.18, 30.65, 54.8], 4.4,
              field: Src.reference + " (Tsong 1978)",
              ie: Src.reference + " (NIST ASD: 7.902, 16.199, 30.651, 54.91)", phi: Src.reference),
    29: entry(30, 1, [7.73, 20.29, 36.83, 55.2], 4.6,
              field: Src.reference + " (Tsong 1978)",
              ie: Src.reference + " (NIST ASD 4th: 57.38)", phi: Src.reference),
    47: entry(24, 1, [7.58, 21.49, 34.83, 56], 4.6,
              field: Src.reference + " (Tsong 1978)", ie: Src.reference, phi: Src.reference),
    74: entry(57, 3, [7.86403, 16.37, 26.0, 38.2], 4.5,
              field: Src.reference + " (Tsong 1978; literature 52–57 V/nm)",
              ie: Src.asd + " (the reference's older 7.98, 18, 24, 35 not used)", phi: Src.reference),

    // Tsong's table, NIST ASD ionisation energies, Michaelson work functions.
    12: entry(21, 1, [7.646236, 15.035271, 80.1436, 109.2654], 3.66,
              field: Src.tsong + "; Mg²⁺ is often the major peak in Al alloys", ie: Src.asd, phi: Src.michaelson),
    14: entry(33, 2, [8.151683, 16.345845, 33.49302, 45.14179], 4.85,
              field: Src.tsong, ie: Src.asd, phi: Src.michaelson),
    22: entry(26, 2, [6.82812, 13.5755, 27.49171, 43.26717], 4.33,
              field: Src.tsong, ie: Src.asd, phi: Src.michaelson),
    23: entry(30, 2, [6.746187, 14.634, 29.3111, 46.709], 4.3,
              field: Src.tsong, ie: Src.asd, phi: Src.michaelson),
    25: entry(30, 2, [7.434038, 15.63999, 33.668, 51.21], 4.1,
              field: Src.tsong, ie: Src.asd, phi: Src.michaelson),
    27: entry(37, 2, [7.88101, 17.0844, 33.50, 51.27], 5.0,
              field: Src.tsong, ie: Src.asd, phi: Src.michaelson),
    28: entry(35, 2, [7.639878, 18.168838, 35.187, 54.92], 5.15,
              field: Src.tsong, ie: Src.asd, phi: Src.michaelson),
    30: entry(33, 2, [9.394197, 17.96439, 39.7233, 59.573], 4.33,
              field: Src.tsong, ie: Src.asd, phi: Src.michaelson),
    31: entry(15, 1, [5.999302, 20.51514, 30.72576, 63.241], 4.32,
              field: Src.tsong, ie: Src.asd, phi: Src.michaelson),
    42: entry(41, 3, [7.09243, 16.16, 27.13, 40.33], 4.6,
              field: Src.tsong + "; Mo²⁺ and Mo³⁺ are both seen", ie: Src.asd, phi: Src.michaelson),
    78: entry(45, 2, [8.95883, 18.563], 5.65,
              field: Src.tsong, ie: Src.asd + " (3rd and 4th not well known, omitted)", phi: Src.michaelson),
    79: entry(53, 1, [9.225554, 20.203], 5.1,
              field: Src.tsong + "; Au⁺ and Au²⁺ are both seen", ie: Src.asd + " (3rd and 4th not well known, omitted)",
              phi: Src.michaelson),
]
