import Foundation
import TwinCore

/// One bin of a one-dimensional composition profile.
public struct ProfileBin: Sendable {
    public var centreNM: Double
    public var ions: Int
    /// Atom fraction of each ion species (index into the range table's ions), with its binomial standard error.
    public var fractions: [Double]
    public var sigmas: [Double]
}

/// Composition profile along the reconstruction's z axis in fixed-width slabs (the classic 1D concentration
/// profile; error bars are binomial, σ = √(f(1−f)/N), as in 3Depict and pyccapt).
public enum CompositionProfile {
    public static func alongZ(zNM: [Float], massToChargeDa: [Float], ranges: RangeTable, binNM: Double) -> [ProfileBin] {
        precondition(binNM > 0)
        guard let zmin = zNM.min(), let zmax = zNM.max() else { return [] }
        let nb = max(1, Int(((Double(zmax) - Double(zmin)) / binNM).rounded(.up)))
        let k = ranges.ions.count
        var counts = [[Int]](repeating: [Int](repeating: 0, count: k), count: nb)
        for i in 0..<min(zNM.count, massToChargeDa.count) {
            guard let ion = ranges.ionIndex(forDa: Double(massToChargeDa[i])) else { continue }
            let b = min(nb - 1, Int((Double(zNM[i]) - Double(zmin)) / binNM))
            counts[b][ion] += 1
        }
        return (0..<nb).map { b in
            let n = counts[b].reduce(0, +)
            let f = counts[b].map { n > 0 ? Double($0) / Double(n) : 0 }
            return ProfileBin(centreNM: Double(zmin) + (Double(b) + 0.5) * binNM, ions: n, fractions: f,
                              sigmas: f.map { n > 0 ? ($0 * (1 - $0) / Double(n)).squareRoot() : 0 })
        }
    }

    /// The profile as CSV: `z_nm,ions,<ion>_frac,<ion>_sigma,…`.
    public static func csv(_ bins: [ProfileBin], ions: [RangedIon]) -> String {
        var s = "z_nm,ions" + ions.map { ",\($0.name)_frac,\($0.name)_sigma" }.joined() + "\n"
        for b in bins {
            s += String(format: "%.4f,%d", b.centreNM, b.ions)
            for j in 0..<ions.count { s += String(format: ",%.6f,%.6f", b.fractions[j], b.sigmas[j]) }
            s += "\n"
        }
        return s
    }
}
