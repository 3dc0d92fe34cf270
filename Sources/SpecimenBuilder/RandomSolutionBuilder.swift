import Foundation
import MaterialsData
import TwinCore

/// One element of a composition: atomic number and atom fraction.
public struct CompositionEntry: Sendable, Equatable {
    public var z: Int
    public var fraction: Double
    public init(z: Int, fraction: Double) { self.z = z; self.fraction = fraction }
}

/// Builds the baseline specimen: a random solid solution on a cubic lattice filling a needle.
///
/// Each lattice site inside the needle receives an element drawn independently from the composition, and an
/// isotope drawn from that element's natural abundances. This is the simplest honest microstructure; the
/// spinodal, precipitate and polycrystal builders of later work replace it.
public struct RandomSolutionBuilder: Sendable {
    public var geometry: NeedleGeometry
    public var crystal: CubicCrystal
    public var composition: [CompositionEntry]

    public init(geometry: NeedleGeometry, crystal: CubicCrystal, composition: [CompositionEntry]) throws {
        guard !composition.isEmpty else { throw SpecimenError.invalid("composition_at_frac is empty") }
        let sum = composition.reduce(0) { $0 + $1.fraction }
        guard abs(sum - 1) < 1e-6 else {
            throw SpecimenError.invalid("composition_at_frac sums to \(sum); it must sum to 1")
        }
        for c in composition {
            guard let e = PeriodicTable.element(z: c.z), !e.isotopes.isEmpty else {
                throw SpecimenError.invalid("element Z=\(c.z) has no naturally occurring isotopes")
            }
            guard c.fraction > 0 else { throw SpecimenError.invalid("fraction of \(e.symbol) must be positive") }
        }
        self.geometry = geometry; self.crystal = crystal; self.composition = composition
    }

    /// Builds every atom. Results depend on `seed` only, never on `threads`.
    public func build(seed: UInt64, threads: Int) -> TruthAtoms {
        let a = crystal.latticeConstantNM
        let rb = geometry.baseRadiusNM
        let L = geometry.lengthNM
        let rot = crystal.rotation
        // Crystal-frame bounding box of the specimen-frame box [-rb, rb]² × [-L, 0].
        var lo = [Double.infinity, .infinity, .infinity], hi = [-Double.infinity, -.infinity, -.infinity]
        for cx in [-rb, rb] { for cy in [-rb, rb] { for cz in [-L, 0] {
            for d in 0..<3 {
                // crystal = Rᵀ · specimen
                let v = rot[0][d] * cx + rot[1][d] * cy + rot[2][d] * cz
                lo[d] = min(lo[d], v); hi[d] = max(hi[d], v)
            }
        } } }
        let i0 = Int((lo[0] / a).rounded(.down)) - 1, i1 = Int((hi[0] / a).rounded(.up)) + 1
        let j0 = Int((lo[1] / a).rounded(.down)) - 1, j1 = Int((hi[1] / a).rounded(.up)) + 1
        let k0 = Int((lo[2] / a).rounded(.down)) - 1, k1 = Int((hi[2] / a).rounded(.up)) + 1
        let basis = crystal.basis
        let geometry = self.geometry
        // Cumulative distributions for element and isotope sampling.
        let elementCDF = cumulative(composition.map(\.fraction))
        let zs = composition.map { UInt8($0.z) }
        let isotopeTables: [(cdf: [Double], a: [UInt16])] = composition.map { c in
            let iso = PeriodicTable.element(z: c.z)!.isotopes
            return (cumulative(iso.map(\.abundance)), iso.map { UInt16($0.massNumber) })
        }
        let planes = i1 - i0 + 1
        let chunks = ParallelChunks.map(count: planes, chunkSize: 2, threads: threads) { chunk, range -> TruthAtoms in
            var rng = TwinRNG(seed: seed, stream: 0x5BEC_0000 + UInt64(chunk))
            var out = TruthAtoms()
            for ii in range {
                let i = i0 + ii
                for j in j0...j1 {
                    for k in k0...k1 {
                        for b in basis {
                            let c0 = (Double(i) + b.0) * a, c1 = (Double(j) + b.1) * a, c2 = (Double(k) + b.2) * a
                            let x = rot[0][0] * c0 + rot[0][1] * c1 + rot[0][2] * c2
                            let y = rot[1][0] * c0 + rot[1][1] * c1 + rot[1][2] * c2
                            let z = rot[2][0] * c0 + rot[2][1] * c1 + rot[2][2] * c2
                            guard geometry.contains(xNM: x, yNM: y, zNM: z) else { continue }
                            let e = sample(elementCDF, rng.uniform())
                            let t = isotopeTables[e]
                            let iso = t.a[sample(t.cdf, rng.uniform())]
                            out.append(id: 0, elementZ: zs[e], massNumber: iso, xNM: Float(x), yNM: Float(y), zNM: Float(z))
                        }
                    }
                }
            }
            return out
        }
        var atoms = TruthAtoms()
        atoms.reserveCapacity(chunks.reduce(0) { $0 + $1.count })
        for c in chunks { atoms.append(contentsOf: c) }
        for i in 0..<atoms.count { atoms.id[i] = UInt32(i) }
        return atoms
    }
}

func cumulative(_ p: [Double]) -> [Double] {
    var s = 0.0
    let total = p.reduce(0, +)
    return p.map { s += $0; return s / total }
}

@inline(__always)
func sample(_ cdf: [Double], _ u: Double) -> Int {
    for (i, c) in cdf.enumerated() where u < c { return i }
    return cdf.count - 1
}
