import Foundation
import MaterialsData

/// A cubic crystal (bcc or fcc) oriented so that the direction [hkl] lies along the needle axis z.
public struct CubicCrystal: Sendable {
    public enum Kind: String, Sendable { case bcc, fcc }
    public let kind: Kind
    public let latticeConstantNM: Double
    public let axisHKL: (Int, Int, Int)
    /// Rows of the rotation from crystal to specimen frame: specimen = R · crystal.
    public let rotation: [[Double]]

    public init(kind: Kind, latticeConstantNM: Double, axisHKL: (Int, Int, Int)) throws {
        guard latticeConstantNM > 0, latticeConstantNM.isFinite else {
            throw SpecimenError.invalid("lattice_constant_nm must be positive, got \(latticeConstantNM)")
        }
        let (h, k, l) = axisHKL
        guard h != 0 || k != 0 || l != 0 else { throw SpecimenError.invalid("axis_hkl must not be [0, 0, 0]") }
        self.kind = kind; self.latticeConstantNM = latticeConstantNM; self.axisHKL = axisHKL
        rotation = CubicCrystal.rotationTakingToZ(Double(h), Double(k), Double(l))
    }

    /// Fractional basis positions of the conventional cubic cell.
    public var basis: [(Double, Double, Double)] {
        switch kind {
        case .bcc: return [(0, 0, 0), (0.5, 0.5, 0.5)]
        case .fcc: return [(0, 0, 0), (0.5, 0.5, 0), (0.5, 0, 0.5), (0, 0.5, 0.5)]
        }
    }

    /// Atoms per nm³.
    public var numberDensityPerNM3: Double { Double(basis.count) / pow(latticeConstantNM, 3) }

    /// Volume per atom, nm³.
    public var atomicVolumeNM3: Double { 1 / numberDensityPerNM3 }

    /// Distance within which two atoms count as neighbours for the coordination number, and the bulk
    /// coordination at that distance: bcc 1st + 2nd shells (8 + 6 = 14; shells at 0.866a, a, 1.414a),
    /// fcc 1st shell (12; shells at 0.707a, a).
    public var coordinationShell: (cutoffNM: Double, bulkCoordination: Int) {
        switch kind {
        case .bcc: return (1.2 * latticeConstantNM, 14)
        case .fcc: return (0.85 * latticeConstantNM, 12)
        }
    }

    /// A rotation matrix whose third row is the unit vector along (h, k, l): it maps [hkl] onto z.
    static func rotationTakingToZ(_ h: Double, _ k: Double, _ l: Double) -> [[Double]] {
        let n = (h * h + k * k + l * l).squareRoot()
        let z = [h / n, k / n, l / n]
        // x: a crystal direction perpendicular to z, chosen deterministically.
        var ref = [1.0, 0.0, 0.0]
        if abs(z[0]) > 0.9 { ref = [0, 1, 0] }
        let d = ref[0] * z[0] + ref[1] * z[1] + ref[2] * z[2]
        var x = [ref[0] - d * z[0], ref[1] - d * z[1], ref[2] - d * z[2]]
        let xn = (x[0] * x[0] + x[1] * x[1] + x[2] * x[2]).squareRoot()
        x = x.map { $0 / xn }
        let y = [z[1] * x[2] - z[2] * x[1], z[2] * x[0] - z[0] * x[2], z[0] * x[1] - z[1] * x[0]]
        return [x, y, z]
    }
}
