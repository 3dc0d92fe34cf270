/// Materials data compiled into the package: isotopes of every element, per-element field-evaporation and
/// ionisation data, and lattices of the pure metals the twin builds. Nothing is downloaded at run time.

/// One stable (or primordial, naturally occurring) isotope.
public struct Isotope: Sendable, Equatable {
    /// Mass number A.
    public let massNumber: Int
    /// Atomic mass in daltons (unified atomic mass units).
    public let massDa: Double
    /// Natural abundance as an atom fraction (0…1).
    public let abundance: Double
    public init(massNumber: Int, massDa: Double, abundance: Double) {
        self.massNumber = massNumber; self.massDa = massDa; self.abundance = abundance
    }
}

/// A chemical element with its naturally occurring isotopes.
public struct Element: Sendable, Equatable {
    /// Atomic number Z.
    public let z: Int
    /// Canonical chemical symbol, e.g. "Fe" (case-sensitive).
    public let symbol: String
    /// English name with IUPAC spelling, e.g. "Iron", "Aluminium".
    public let name: String
    /// Naturally occurring isotopes, in increasing mass number. Empty for elements with none (Tc, Pm, Z > 92 …).
    public let isotopes: [Isotope]
    public init(z: Int, symbol: String, name: String, isotopes: [Isotope]) {
        self.z = z; self.symbol = symbol; self.name = name; self.isotopes = isotopes
    }
    /// The isotope with mass number `a`, if naturally occurring.
    public func isotope(_ a: Int) -> Isotope? { isotopes.first { $0.massNumber == a } }
    /// Abundance-weighted mean atomic mass, daltons.
    public var meanMassDa: Double { isotopes.reduce(0) { $0 + $1.massDa * $1.abundance } }
}

/// Look-ups into the compiled-in periodic table.
///
/// Isotopes (generated into `IsotopeTable.swift` by `Validation/materials/generate_isotopes.py` from the
/// `periodictable` Python package; see that file's header for the exact sources):
/// - masses: AME2020 atomic masses, daltons;
/// - abundances: IUPAC/CIAAW representative isotopic composition as in NIST's "Atomic Weights and Isotopic
///   Compositions" table (CIAAW 2021 single values; for H, Li, B, C, O, Mg, Si, S, Cl, Br, Tl, which CIAAW
///   gives only as intervals, the IUPAC 1997 representative values of the NIST table).
///   Each element's abundances are **renormalised to sum to 1** (within 1e-9); the published values sum to 1
///   only within rounding (Si by 1e-6, Hf by 1.1e-4; the others exactly).
/// - Elements without naturally occurring isotopes (Tc, Pm, Po…Ac, Z ≥ 93) have an empty isotope list;
///   long-lived primordial nuclides that the table lists with an abundance (⁴⁰K, ²³²Th, ²³⁵U, ²³⁸U, …) are included.
public enum PeriodicTable {
    /// Elements Z = 1…118; `elements[z - 1]` has atomic number `z`.
    public static let elements: [Element] = {
        var byZ = [[Isotope]](repeating: [], count: elementRecords.count + 1)
        for r in isotopeRecords {
            byZ[r.z].append(Isotope(massNumber: r.a, massDa: r.massDa, abundance: r.abundance))
        }
        return elementRecords.map { r in
            Element(z: r.z, symbol: r.symbol, name: r.name,
                    isotopes: byZ[r.z].sorted { $0.massNumber < $1.massNumber })
        }
    }()

    private static let zBySymbol: [String: Int] = {
        var d = [String: Int]()
        for e in elements { d[e.symbol] = e.z }
        return d
    }()

    /// The element with atomic number `z` (1…118), or nil outside that range.
    public static func element(z: Int) -> Element? {
        guard z >= 1, z <= elements.count else { return nil }
        return elements[z - 1]
    }

    /// The element with the canonical, case-sensitive symbol `symbol` ("Fe", not "FE" or "fe"), or nil.
    public static func element(symbol: String) -> Element? {
        zBySymbol[symbol].flatMap { element(z: $0) }
    }

    /// The symbol of element `z` ("Fe"), or "Z<z>" for an atomic number outside the table (for labels and reports).
    public static func symbol(z: Int) -> String { element(z: z)?.symbol ?? "Z\(z)" }

    /// Atomic mass in daltons of the naturally occurring isotope (`z`, `massNumber`), or nil if that isotope
    /// is not in the table (unknown element or not naturally occurring).
    public static func isotopeMassDa(z: Int, massNumber: Int) -> Double? {
        element(z: z)?.isotope(massNumber)?.massDa
    }

    /// Atomic mass in daltons of the naturally occurring isotope `massNumber` of the element `symbol`
    /// (case-sensitive, e.g. "Fe", 56), or nil.
    public static func isotopeMassDa(symbol: String, massNumber: Int) -> Double? {
        element(symbol: symbol)?.isotope(massNumber)?.massDa
    }
}

/// Mass-to-charge-state ratio in daltons of an ion of mass `massDa` (daltons) and charge state `charge` (> 0):
/// `massDa / charge`.
///
/// Convention: as in atom-probe tools (IVAS/AP Suite, range files), `massDa` is the **neutral atomic (or
/// molecular) mass** and no electron masses are subtracted for the missing electrons (the correction,
/// n × 0.000549 Da, is below the mass resolution of the instrument). Example: ⁵⁶Fe²⁺ → 55.934936 / 2 = 27.967 Da.
public func ionMassToChargeDa(massDa: Double, charge: Int) -> Double {
    precondition(charge > 0, "charge state must be positive, got \(charge)")
    return massDa / Double(charge)
}
