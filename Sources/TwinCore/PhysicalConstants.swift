/// Physical constants (CODATA 2018, exact where SI defines them).
public enum PhysicalConstants {
    /// Elementary charge, C.
    public static let elementaryChargeC = 1.602176634e-19
    /// Unified atomic mass unit (dalton), kg.
    public static let daltonKG = 1.66053906660e-27
    /// Boltzmann constant, eV/K.
    public static let boltzmannEVPerK = 8.617333262e-5
}
