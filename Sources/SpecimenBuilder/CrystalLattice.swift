import Foundation
import MaterialsData

/// A crystal lattice described by an orthogonal conventional cell and a basis.
///
/// bcc and fcc use the cubic cell (a × a × a, 2 and 4 atoms); hcp uses the orthohexagonal cell
/// (a × √3a × c, 4 atoms: (0,0,0), (½,½,0), (½,⅚,½), (0,⅓,½)), so "crystal directions" of an hcp crystal are
/// Cartesian directions of that cell (x ∥ a₁, z ∥ c).
public struct CrystalLattice: Sendable, Equatable {
    public enum Kind: String, Sendable { case bcc, fcc, hcp }
    public let kind: Kind
    public let aNM: Double
    /// c for hcp (a for the cubic lattices).
    public let cNM: Double

    public init(kind: Kind, aNM: Double, cNM: Double? = nil) throws {
        guard aNM > 0, aNM.isFinite else { throw SpecimenError.invalid("specimen.lattice_constant_nm must be positive, got \(aNM)") }
        let c = cNM ?? (kind == .hcp ? aNM * (8.0 / 3.0).squareRoot() : aNM)
        guard c > 0, c.isFinite else { throw SpecimenError.invalid("specimen.lattice_c_nm must be positive, got \(c)") }
        self.kind = kind; self.aNM = aNM; self.cNM = kind == .hcp ? c : aNM
    }

    /// Edge lengths of the orthogonal conventional cell, nm.
    public var cellNM: SIMD3<Double> {
        kind == .hcp ? SIMD3(aNM, aNM * 3.0.squareRoot(), cNM) : SIMD3(aNM, aNM, aNM)
    }

    /// Fractional basis positions of the conventional cell.
    public var basis: [SIMD3<Double>] {
        switch kind {
        case .bcc: return [SIMD3(0, 0, 0), SIMD3(0.5, 0.5, 0.5)]
        case .fcc: return [SIMD3(0, 0, 0), SIMD3(0.5, 0.5, 0), SIMD3(0.5, 0, 0.5), SIMD3(0, 0.5, 0.5)]
        case .hcp: return [SIMD3(0, 0, 0), SIMD3(0.5, 0.5, 0), SIMD3(0.5, 5.0 / 6.0, 0.5), SIMD3(0, 1.0 / 3.0, 0.5)]
        }
    }

    /// Atoms per nm³.
    public var numberDensityPerNM3: Double {
        let c = cellNM
        return Double(basis.count) / (c.x * c.y * c.z)
    }

    /// Volume per atom Ω, nm³.
    public var atomicVolumeNM3: Double { 1 / numberDensityPerNM3 }

    /// Nearest-neighbour distance, nm.
    public var nearestNeighbourNM: Double {
        switch kind {
        case .bcc: return aNM * 3.0.squareRoot() / 2
        case .fcc: return aNM / 2.0.squareRoot()
        case .hcp: return min(aNM, (aNM * aNM / 3 + cNM * cNM / 4).squareRoot())
        }
    }

    /// Distance within which two atoms count as neighbours for the coordination number, and the bulk
    /// coordination at that distance: bcc 1st + 2nd shells (8 + 6 = 14; shells at 0.866a, a, 1.414a),
    /// fcc 1st shell (12; shells at 0.707a, a), hcp 1st shell (12, ideal c/a).
    public var coordinationShell: (cutoffNM: Double, bulkCoordination: Int) {
        switch kind {
        case .bcc: return (1.2 * aNM, 14)
        case .fcc: return (0.85 * aNM, 12)
        case .hcp: return (1.2 * nearestNeighbourNM, 12)
        }
    }
}
