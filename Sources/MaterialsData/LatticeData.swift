/// Crystal structure of a pure element.
public enum LatticeType: String, Sendable, CaseIterable {
    case bcc, fcc, hcp, diamond

    /// Atoms in the conventional unit cell: bcc 2, fcc 4, hcp 2 (primitive hexagonal cell), diamond 8.
    public var atomsPerCell: Int {
        switch self {
        case .bcc: return 2
        case .fcc: return 4
        case .hcp: return 2
        case .diamond: return 8
        }
    }
}

/// Lattice of a pure element at room temperature.
public struct LatticeData: Sendable, Equatable {
    public let type: LatticeType
    /// Lattice parameter a, nm (cube edge for cubic lattices, basal edge for hcp).
    public let aNM: Double
    /// Lattice parameter c, nm (hcp only; nil for cubic lattices).
    public let cNM: Double?
    /// Where the numbers come from.
    public let source: String

    /// `cNM` is required for hcp and must be nil for cubic lattices.
    public init(type: LatticeType, aNM: Double, cNM: Double? = nil, source: String = "user") {
        precondition(aNM > 0, "lattice parameter must be positive")
        precondition((type == .hcp) == (cNM != nil), "cNM is required for hcp and only for hcp")
        self.type = type; self.aNM = aNM; self.cNM = cNM; self.source = source
    }

    /// Atoms in the conventional unit cell (see `LatticeType.atomsPerCell`).
    public var atomsPerCell: Int { type.atomsPerCell }

    /// Volume of the conventional unit cell, nm³: a³ for cubic lattices, (√3/2)·a²·c for hcp.
    public var cellVolumeNM3: Double {
        switch type {
        case .bcc, .fcc, .diamond: return aNM * aNM * aNM
        case .hcp: return 3.0.squareRoot() / 2 * aNM * aNM * (cNM ?? 0)
        }
    }

    /// Atomic number density, atoms per nm³ (atomsPerCell / cellVolumeNM3), e.g. bcc Fe 2/0.28665³ = 84.9.
    public var numberDensityPerNM3: Double { Double(atomsPerCell) / cellVolumeNM3 }

    /// Volume per atom, nm³ (1 / numberDensityPerNM3).
    public var atomicVolumeNM3: Double { cellVolumeNM3 / Double(atomsPerCell) }
}

extension PeriodicTable {
    /// Room-temperature lattice of the pure element with atomic number `z`, or nil where the twin has none.
    ///
    /// Covered: bcc Fe, Cr, W, Mo, V, Ta, Nb; fcc Al, Ag, Cu, Ni, Au, Pt, Pd; diamond Si; hcp Ti, Mg, Zn.
    public static func lattice(z: Int) -> LatticeData? { latticeTable[z] }

    /// Room-temperature lattice of the pure element `symbol` (case-sensitive), or nil.
    public static func lattice(symbol: String) -> LatticeData? {
        element(symbol: symbol).flatMap { lattice(z: $0.z) }
    }

    /// Atomic numbers that have lattice data, ascending.
    public static var elementsWithLatticeData: [Int] { latticeTable.keys.sorted() }
}

private let latticeSource = "room-temperature lattice parameters as tabulated in the CRC Handbook of Chemistry "
    + "and Physics (\"Lattice constants of the elements\", after Pearson's Handbook / Donohue)"

private let latticeTable: [Int: LatticeData] = [
    // bcc
    26: LatticeData(type: .bcc, aNM: 0.28665, source: "project reference; " + latticeSource),
    24: LatticeData(type: .bcc, aNM: 0.2884, source: "project reference; " + latticeSource),
    74: LatticeData(type: .bcc, aNM: 0.3165, source: "project reference; " + latticeSource),
    42: LatticeData(type: .bcc, aNM: 0.3147, source: latticeSource),
    23: LatticeData(type: .bcc, aNM: 0.3024, source: latticeSource),
    73: LatticeData(type: .bcc, aNM: 0.3303, source: latticeSource),
    41: LatticeData(type: .bcc, aNM: 0.3300, source: latticeSource),
    // fcc
    13: LatticeData(type: .fcc, aNM: 0.40495, source: latticeSource + " (project reference rounds to 0.405)"),
    47: LatticeData(type: .fcc, aNM: 0.4086, source: "project reference; " + latticeSource),
    29: LatticeData(type: .fcc, aNM: 0.3615, source: "project reference; " + latticeSource),
    28: LatticeData(type: .fcc, aNM: 0.3524, source: "project reference; " + latticeSource),
    79: LatticeData(type: .fcc, aNM: 0.4078, source: latticeSource),
    78: LatticeData(type: .fcc, aNM: 0.3924, source: latticeSource),
    46: LatticeData(type: .fcc, aNM: 0.3891, source: latticeSource),
    // diamond
    14: LatticeData(type: .diamond, aNM: 0.5431, source: "project reference; " + latticeSource),
    // hcp
    22: LatticeData(type: .hcp, aNM: 0.29508, cNM: 0.46855, source: latticeSource),
    12: LatticeData(type: .hcp, aNM: 0.32094, cNM: 0.52105, source: latticeSource),
    30: LatticeData(type: .hcp, aNM: 0.26649, cNM: 0.49468, source: latticeSource),
]
