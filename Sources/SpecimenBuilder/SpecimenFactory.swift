import Foundation
import MaterialsData
import TwinCore

/// One element of a composition: atomic number and atom fraction.
public struct CompositionEntry: Sendable, Equatable {
    public var z: Int
    public var fraction: Double
    public init(z: Int, fraction: Double) { self.z = z; self.fraction = fraction }
}

/// Spinodal modulation of the matrix chemistry.
public struct SpinodalChemistry: Sendable {
    /// Order parameter φ, ≈ −1 in the solute-poor and ≈ +1 in the solute-rich phase.
    public var field: PeriodicScalarGrid
    /// The modulated element.
    public var soluteZ: Int
    /// Solute fraction at a site: clamp(mean + amplitude·φ, 0, 1).
    public var amplitudeAtFrac: Double
    public init(field: PeriodicScalarGrid, soluteZ: Int, amplitudeAtFrac: Double) {
        self.field = field; self.soluteZ = soluteZ; self.amplitudeAtFrac = amplitudeAtFrac
    }
}

/// A segregation band along a planar grain boundary.
public struct SegregationBand: Sendable {
    public var boundary: Int
    public var widthNM: Double
    public var composition: [CompositionEntry]
    public init(boundary: Int, widthNM: Double, composition: [CompositionEntry]) {
        self.boundary = boundary; self.widthNM = widthNM; self.composition = composition
    }
}

/// Grains: which grain each point belongs to and each grain's orientation.
public struct GrainSetup: Sendable {
    public var map: any GrainMap
    /// Crystal → specimen rotation of each grain.
    public var orientations: [Rotation3]
    /// Segregation bands (planar boundaries only).
    public var bands: [SegregationBand]
    public init(map: any GrainMap, orientations: [Rotation3], bands: [SegregationBand] = []) {
        self.map = map; self.orientations = orientations; self.bands = bands
    }
}

/// Everything that defines a specimen.
public struct SpecimenSpec: Sendable {
    public var geometry: NeedleGeometry
    public var lattice: CrystalLattice
    /// Mean composition of the matrix.
    public var composition: [CompositionEntry]
    public var grains: GrainSetup
    public var spinodal: SpinodalChemistry?
    public var precipitates: PrecipitateSpec?
    /// RMS random static displacement per coordinate, nm.
    public var staticDisplacementNM: Double = 0
    public var surfaceLayerThicknessNM: Double = 0
    public var surfaceLayerComposition: [CompositionEntry] = []

    public init(geometry: NeedleGeometry, lattice: CrystalLattice, composition: [CompositionEntry], orientation: Rotation3) {
        self.geometry = geometry; self.lattice = lattice; self.composition = composition
        grains = GrainSetup(map: SingleGrain(), orientations: [orientation])
    }
}

/// A built specimen: the atoms and what was placed in it.
public struct BuiltSpecimen: Sendable {
    public var atoms: TruthAtoms
    public var precipitates: [Precipitate]
    /// Atoms removed at grain boundaries because another grain's atom sat closer than 0.6 nearest-neighbour
    /// distances.
    public var removedAtBoundaries: Int
}

/// Builds specimens atom by atom.
///
/// Sites: each grain's lattice, oriented by its rotation, is enumerated over the part of the needle's bounding box
/// the grain occupies; a site is kept if it lies in the needle and in that grain. Chemistry, in order of
/// precedence: surface layer (depth below the surface < thickness), precipitate, segregation band (distance to its
/// boundary < width/2), matrix (random solution, or spinodal with solute fraction clamp(mean + A·φ, 0, 1), the
/// other elements sharing the rest in their mean proportions). Each site's element is drawn from that local
/// composition, and its isotope from the element's natural abundances.
///
/// Memory: two passes (count, then fill into arrays of the exact size), so the build holds the 24 B/atom of
/// ``TruthAtoms`` plus per-chunk counters. Determinism: work is cut into fixed chunks of lattice planes, each with
/// its own random stream, so the atoms do not depend on the thread count.
public enum SpecimenFactory {
    public static func build(_ spec: SpecimenSpec, seed: UInt64, threads: Int) throws -> BuiltSpecimen {
        try validate(spec)
        let geometry = spec.geometry
        let grains = spec.grains
        let nGrains = grains.map.grainCount
        guard grains.orientations.count >= nGrains else {
            throw SpecimenError.invalid("\(nGrains) grains but \(grains.orientations.count) orientations")
        }
        // Precipitates.
        var precipitateField = PrecipitateField([])
        if let ps = spec.precipitates, ps.numberDensityPerNM3 > 0 {
            precipitateField = try PrecipitateField(spec: ps, geometry: geometry, orientationAt: { p in
                grains.orientations[Int(grains.map.grain(xNM: p.x, yNM: p.y, zNM: p.z))]
            }, seed: seed)
        }
        let pf = precipitateField
        // Per-grain bounding boxes from a coarse sampling of the grain map.
        let rb = geometry.baseRadiusNM, L = geometry.lengthNM
        let boxLo = SIMD3(-rb, -rb, -L), boxHi = SIMD3(rb, rb, 0.0)
        var grainLo = [SIMD3<Double>](repeating: SIMD3(repeating: .infinity), count: nGrains)
        var grainHi = [SIMD3<Double>](repeating: SIMD3(repeating: -.infinity), count: nGrains)
        if nGrains == 1 {
            grainLo[0] = boxLo; grainHi[0] = boxHi
        } else {
            let step = max(0.5, min(2.0, (boxHi - boxLo).max() / 200))
            let n = SIMD3<Int>(Int(((boxHi - boxLo) / step).x) + 2, Int(((boxHi - boxLo) / step).y) + 2, Int(((boxHi - boxLo) / step).z) + 2)
            for k in 0..<n.z { for j in 0..<n.y { for i in 0..<n.x {
                let p = boxLo + SIMD3(Double(i), Double(j), Double(k)) * step
                let g = Int(grains.map.grain(xNM: p.x, yNM: p.y, zNM: p.z))
                guard g >= 0, g < nGrains else { continue }
                grainLo[g] = pointwiseMin(grainLo[g], p); grainHi[g] = pointwiseMax(grainHi[g], p)
            } } }
            for g in 0..<nGrains where grainLo[g].x <= grainHi[g].x {
                grainLo[g] = pointwiseMax(boxLo, grainLo[g] - SIMD3(repeating: 2 * step))
                grainHi[g] = pointwiseMin(boxHi, grainHi[g] + SIMD3(repeating: 2 * step))
            }
        }
        // Work units: (grain, range of first crystal index).
        let cell = spec.lattice.cellNM
        let basis = spec.lattice.basis
        struct Unit: Sendable { var grain: Int; var i0: Int; var i1: Int; var j0: Int; var j1: Int; var k0: Int; var k1: Int }
        var units: [Unit] = []
        for g in 0..<nGrains where grainLo[g].x <= grainHi[g].x {
            let rt = grains.orientations[g].transposed   // specimen → crystal
            var lo = SIMD3<Double>(repeating: .infinity), hi = SIMD3<Double>(repeating: -.infinity)
            for cx in [grainLo[g].x, grainHi[g].x] { for cy in [grainLo[g].y, grainHi[g].y] { for cz in [grainLo[g].z, grainHi[g].z] {
                let c = rt.apply(SIMD3(cx, cy, cz)) / cell
                lo = pointwiseMin(lo, c); hi = pointwiseMax(hi, c)
            } } }
            let i0 = Int(lo.x.rounded(.down)) - 1, i1 = Int(hi.x.rounded(.up)) + 1
            let j0 = Int(lo.y.rounded(.down)) - 1, j1 = Int(hi.y.rounded(.up)) + 1
            let k0 = Int(lo.z.rounded(.down)) - 1, k1 = Int(hi.z.rounded(.up)) + 1
            var i = i0
            while i <= i1 {
                units.append(Unit(grain: g, i0: i, i1: min(i1, i + 1), j0: j0, j1: j1, k0: k0, k1: k1))
                i += 2
            }
        }
        let unitList = units
        // Visits every kept site of a unit in a fixed order.
        @Sendable func forEachSite(_ u: Unit, _ body: (SIMD3<Double>) -> Void) {
            let rot = grains.orientations[u.grain]
            let gmap = grains.map
            let single = nGrains == 1
            for i in u.i0...u.i1 { for j in u.j0...u.j1 { for k in u.k0...u.k1 {
                for b in basis {
                    let c = (SIMD3(Double(i), Double(j), Double(k)) + b) * cell
                    let p = rot.apply(c)
                    guard geometry.contains(xNM: p.x, yNM: p.y, zNM: p.z) else { continue }
                    if !single, Int(gmap.grain(xNM: p.x, yNM: p.y, zNM: p.z)) != u.grain { continue }
                    body(p)
                }
            } } }
        }
        // Pass 1: count.
        let counts = ParallelChunks.map(count: unitList.count, chunkSize: 1, threads: threads) { _, r -> Int in
            var n = 0
            forEachSite(unitList[r.lowerBound]) { _ in n += 1 }
            return n
        }
        var offsets = [Int](repeating: 0, count: counts.count + 1)
        for (u, c) in counts.enumerated() { offsets[u + 1] = offsets[u] + c }
        let total = offsets.last ?? 0
        guard total > 0 else { throw SpecimenError.invalid("the needle holds no lattice site: check its size and the lattice constant") }
        guard total < Int(UInt32.max) else { throw SpecimenError.invalid("\(total) atoms exceed the 2^32 atom ids") }

        // Chemistry tables.
        let chem = try ChemistryTables(spec)
        var atoms = TruthAtoms()
        atoms.id = [UInt32](repeating: 0, count: total)
        atoms.elementZ = [UInt8](repeating: 0, count: total)
        atoms.massNumber = [UInt16](repeating: 0, count: total)
        atoms.xNM = [Float](repeating: 0, count: total)
        atoms.yNM = [Float](repeating: 0, count: total)
        atoms.zNM = [Float](repeating: 0, count: total)
        atoms.grain = [Int32](repeating: 0, count: total)
        atoms.phase = [UInt8](repeating: 0, count: total)
        let sigma = spec.staticDisplacementNM
        let offs = offsets
        // Pass 2: fill.
        atoms.id.withUnsafeMutableBufferPointer { idB in
        atoms.elementZ.withUnsafeMutableBufferPointer { zB in
        atoms.massNumber.withUnsafeMutableBufferPointer { aB in
        atoms.xNM.withUnsafeMutableBufferPointer { xB in
        atoms.yNM.withUnsafeMutableBufferPointer { yB in
        atoms.zNM.withUnsafeMutableBufferPointer { zzB in
        atoms.grain.withUnsafeMutableBufferPointer { gB in
        atoms.phase.withUnsafeMutableBufferPointer { phB in
            let cols = Columns(id: idB, z: zB, a: aB, x: xB, y: yB, zz: zzB, g: gB, ph: phB)
            ParallelChunks.forEach(count: unitList.count, chunkSize: 1, threads: threads) { c, r in
                let u = unitList[r.lowerBound]
                var rng = TwinRNG(seed: seed, stream: 0x5BEC_0000_0000 + UInt64(c))
                var w = offs[c]
                forEachSite(u) { p in
                    let (z, a, phase) = chem.sample(at: p, grain: u.grain, precipitates: pf, rng: &rng)
                    var q = p
                    if sigma > 0 { q += SIMD3(rng.normal(), rng.normal(), rng.normal()) * sigma }
                    cols.id[w] = UInt32(w); cols.z[w] = z; cols.a[w] = a
                    cols.x[w] = Float(q.x); cols.y[w] = Float(q.y); cols.zz[w] = Float(q.z)
                    cols.g[w] = Int32(u.grain); cols.ph[w] = phase
                    w += 1
                }
            }
        } } } } } } } }
        var removed = 0
        if nGrains > 1 {
            removed = removeBoundaryOverlaps(&atoms, map: grains.map, minDistanceNM: 0.6 * spec.lattice.nearestNeighbourNM)
        }
        return BuiltSpecimen(atoms: atoms, precipitates: pf.precipitates, removedAtBoundaries: removed)
    }

    static func validate(_ spec: SpecimenSpec) throws {
        func check(_ c: [CompositionEntry], _ key: String) throws {
            guard !c.isEmpty else { throw SpecimenError.invalid("\(key) is empty") }
            let sum = c.reduce(0) { $0 + $1.fraction }
            guard abs(sum - 1) < 1e-6 else { throw SpecimenError.invalid("\(key) sums to \(sum); it must sum to 1") }
            for e in c {
                guard let el = PeriodicTable.element(z: e.z), !el.isotopes.isEmpty else {
                    throw SpecimenError.invalid("\(key): element Z=\(e.z) has no naturally occurring isotopes")
                }
                guard e.fraction > 0 else { throw SpecimenError.invalid("\(key): fraction of \(el.symbol) must be positive") }
            }
        }
        try check(spec.composition, "specimen.composition_at_frac")
        if spec.surfaceLayerThicknessNM > 0 { try check(spec.surfaceLayerComposition, "specimen.surface_layer_composition_at_frac") }
        if let p = spec.precipitates, p.numberDensityPerNM3 > 0 { try check(p.composition, "specimen.precipitates.composition_at_frac") }
        for b in spec.grains.bands { try check(b.composition, "specimen.grains.boundaries[\(b.boundary)].band_composition_at_frac") }
        if let s = spec.spinodal, !spec.composition.contains(where: { $0.z == s.soluteZ }) {
            throw SpecimenError.invalid("specimen.spinodal.solute Z=\(s.soluteZ) is not in specimen.composition_at_frac")
        }
        guard spec.staticDisplacementNM >= 0 else { throw SpecimenError.invalid("specimen.static_displacement_nm must be ≥ 0") }
    }
}

/// Column pointers written by the fill pass; each chunk writes only its own index range.
private struct Columns: @unchecked Sendable {
    let id: UnsafeMutableBufferPointer<UInt32>, z: UnsafeMutableBufferPointer<UInt8>, a: UnsafeMutableBufferPointer<UInt16>
    let x: UnsafeMutableBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>, zz: UnsafeMutableBufferPointer<Float>
    let g: UnsafeMutableBufferPointer<Int32>, ph: UnsafeMutableBufferPointer<UInt8>
}

/// Per-region element and isotope tables.
private struct ChemistryTables: Sendable {
    struct Table: Sendable { var zs: [UInt8]; var cdf: [Double]; var fractions: [Double] }
    let matrix: Table
    let layer: Table?
    let precipitate: Table?
    let bands: [(boundary: Int, halfWidthNM: Double, table: Table)]
    let isotopes: [Int: (cdf: [Double], a: [UInt16])]
    let spinodal: SpinodalChemistry?
    let soluteIndex: Int
    let planar: PlanarGrains?
    let geometry: NeedleGeometry
    let layerThicknessNM: Double

    init(_ s: SpecimenSpec) throws {
        func table(_ c: [CompositionEntry]) -> Table {
            Table(zs: c.map { UInt8($0.z) }, cdf: cumulative(c.map(\.fraction)), fractions: c.map(\.fraction))
        }
        matrix = table(s.composition)
        layer = s.surfaceLayerThicknessNM > 0 ? table(s.surfaceLayerComposition) : nil
        precipitate = (s.precipitates?.numberDensityPerNM3 ?? 0) > 0 ? table(s.precipitates!.composition) : nil
        bands = s.grains.bands.filter { $0.widthNM > 0 }.map { ($0.boundary, $0.widthNM / 2, table($0.composition)) }
        var iso: [Int: (cdf: [Double], a: [UInt16])] = [:]
        let all = s.composition + s.surfaceLayerComposition + (s.precipitates?.composition ?? []) + s.grains.bands.flatMap(\.composition)
        for e in all where iso[e.z] == nil {
            let isotopes = PeriodicTable.element(z: e.z)!.isotopes
            iso[e.z] = (cumulative(isotopes.map(\.abundance)), isotopes.map { UInt16($0.massNumber) })
        }
        isotopes = iso
        spinodal = s.spinodal
        soluteIndex = s.spinodal.flatMap { sp in s.composition.firstIndex { $0.z == sp.soluteZ } } ?? -1
        planar = s.grains.map as? PlanarGrains
        geometry = s.geometry
        layerThicknessNM = s.surfaceLayerThicknessNM
        if !bands.isEmpty && planar == nil {
            throw SpecimenError.invalid("segregation bands need planar grain boundaries (specimen.grains.mode: planes)")
        }
    }

    @inline(__always)
    func draw(_ t: Table, _ u: Double) -> UInt8 { t.zs[sampleIndex(t.cdf, u)] }

    /// Element, isotope and phase label of the atom at `p`.
    func sample(at p: SIMD3<Double>, grain: Int, precipitates: PrecipitateField, rng: inout TwinRNG) -> (UInt8, UInt16, UInt8) {
        var z: UInt8
        var phase: PhaseLabel = .matrix
        if let layer, geometry.depthBelowSurfaceNM(xNM: p.x, yNM: p.y, zNM: p.z) < layerThicknessNM {
            z = draw(layer, rng.uniform()); phase = .surfaceLayer
        } else if let precipitate, precipitates.precipitate(at: p) != nil {
            z = draw(precipitate, rng.uniform()); phase = .precipitate
        } else if let band = bandTable(at: p) {
            z = draw(band, rng.uniform()); phase = .segregationBand
        } else if let sp = spinodal {
            let phi = Double(sp.field.value(xNM: p.x, yNM: p.y, zNM: p.z))
            let mean = matrix.fractions[soluteIndex]
            let ps = min(1, max(0, mean + sp.amplitudeAtFrac * phi))
            let u = rng.uniform()
            if u < ps {
                z = matrix.zs[soluteIndex]
            } else {
                // The other elements share 1 − ps in their mean proportions.
                let v = (u - ps) / (1 - ps) * (1 - mean)
                var acc = 0.0
                z = matrix.zs[matrix.zs.indices.last { $0 != soluteIndex }!]
                for (k, f) in matrix.fractions.enumerated() where k != soluteIndex {
                    acc += f
                    if v < acc { z = matrix.zs[k]; break }
                }
            }
            phase = phi > 0 ? .soluteRich : .matrix
        } else {
            z = draw(matrix, rng.uniform())
        }
        let t = isotopes[Int(z)]!
        return (z, t.a[sampleIndex(t.cdf, rng.uniform())], phase.rawValue)
    }

    @inline(__always)
    func bandTable(at p: SIMD3<Double>) -> Table? {
        guard let planar, !bands.isEmpty else { return nil }
        for b in bands where abs(planar.signedDistanceNM(toBoundary: b.boundary, xNM: p.x, yNM: p.y, zNM: p.z)) < b.halfWidthNM {
            return b.table
        }
        return nil
    }
}

/// Removes, for every pair of atoms of different grains closer than `minDistanceNM`, the atom of the higher grain
/// index (so boundaries carry no unphysically close pairs), and renumbers ids. Returns the number removed.
///
/// Only atoms within `minDistanceNM` of a boundary can be in such a pair; they are found by probing the grain map
/// at ±d along each axis (a point within d of a boundary plane has a probe across it along the axis closest to the
/// plane normal, up to a factor √3, so the probes use √3·d), and the pair search runs over those atoms alone.
func removeBoundaryOverlaps(_ atoms: inout TruthAtoms, map: any GrainMap, minDistanceNM d: Double) -> Int {
    let n = atoms.count
    let probe = d * 3.0.squareRoot()
    var near: [Int] = []
    for i in 0..<n {
        let x = Double(atoms.xNM[i]), y = Double(atoms.yNM[i]), z = Double(atoms.zNM[i])
        let g = atoms.grain[i]
        if map.grain(xNM: x + probe, yNM: y, zNM: z) != g || map.grain(xNM: x - probe, yNM: y, zNM: z) != g
            || map.grain(xNM: x, yNM: y + probe, zNM: z) != g || map.grain(xNM: x, yNM: y - probe, zNM: z) != g
            || map.grain(xNM: x, yNM: y, zNM: z + probe) != g || map.grain(xNM: x, yNM: y, zNM: z - probe) != g {
            near.append(i)
        }
    }
    guard !near.isEmpty else { return 0 }
    let grid = SiteGrid(x: near.map { atoms.xNM[$0] }, y: near.map { atoms.yNM[$0] }, z: near.map { atoms.zNM[$0] }, cellNM: max(d, 0.3))
    var remove = [Bool](repeating: false, count: n)
    let d2 = d * d
    for (a, i) in near.enumerated() {
        let gi = atoms.grain[i]
        let xi = Double(atoms.xNM[i]), yi = Double(atoms.yNM[i]), zi = Double(atoms.zNM[i])
        grid.forEachCandidate(xi, yi, zi) { b in
            let j = near[b]
            guard b != a, atoms.grain[j] < gi else { return }
            let dx = Double(atoms.xNM[j]) - xi, dy = Double(atoms.yNM[j]) - yi, dz = Double(atoms.zNM[j]) - zi
            if dx * dx + dy * dy + dz * dz < d2 { remove[i] = true }
        }
    }
    var w = 0
    for i in 0..<n where !remove[i] {
        atoms.id[w] = UInt32(w); atoms.elementZ[w] = atoms.elementZ[i]; atoms.massNumber[w] = atoms.massNumber[i]
        atoms.xNM[w] = atoms.xNM[i]; atoms.yNM[w] = atoms.yNM[i]; atoms.zNM[w] = atoms.zNM[i]
        atoms.grain[w] = atoms.grain[i]; atoms.phase[w] = atoms.phase[i]
        w += 1
    }
    let removed = n - w
    atoms.id.removeLast(removed); atoms.elementZ.removeLast(removed); atoms.massNumber.removeLast(removed)
    atoms.xNM.removeLast(removed); atoms.yNM.removeLast(removed); atoms.zNM.removeLast(removed)
    atoms.grain.removeLast(removed); atoms.phase.removeLast(removed)
    return removed
}

/// A cell list over atom positions (cell ≥ the query radius).
struct SiteGrid {
    let h: Double
    let o: SIMD3<Double>
    let dims: SIMD3<Int>
    let start: [Int32]
    let items: [Int32]

    init(x: [Float], y: [Float], z: [Float], cellNM: Double) {
        h = cellNM
        var lo = SIMD3<Double>(repeating: .infinity), hi = SIMD3<Double>(repeating: -.infinity)
        for i in 0..<x.count {
            let p = SIMD3(Double(x[i]), Double(y[i]), Double(z[i]))
            lo = pointwiseMin(lo, p); hi = pointwiseMax(hi, p)
        }
        if x.isEmpty { lo = .zero; hi = .zero }
        o = lo
        let e = (hi - lo) / cellNM
        dims = SIMD3(Int(e.x) + 1, Int(e.y) + 1, Int(e.z) + 1)
        let nc = dims.x * dims.y * dims.z
        var counts = [Int32](repeating: 0, count: nc + 1)
        var cellOf = [Int32](repeating: 0, count: x.count)
        for i in 0..<x.count {
            let c = SiteGrid.cell(Double(x[i]), Double(y[i]), Double(z[i]), lo, cellNM, dims)
            cellOf[i] = Int32(c); counts[c + 1] += 1
        }
        for c in 0..<nc { counts[c + 1] += counts[c] }
        var fill = counts
        var list = [Int32](repeating: 0, count: x.count)
        for i in 0..<x.count { let c = Int(cellOf[i]); list[Int(fill[c])] = Int32(i); fill[c] += 1 }
        start = counts; items = list
    }

    static func cell(_ x: Double, _ y: Double, _ z: Double, _ o: SIMD3<Double>, _ h: Double, _ d: SIMD3<Int>) -> Int {
        let i = min(d.x - 1, max(0, Int((x - o.x) / h))), j = min(d.y - 1, max(0, Int((y - o.y) / h)))
        let k = min(d.z - 1, max(0, Int((z - o.z) / h)))
        return (k * d.y + j) * d.x + i
    }

    func forEachCandidate(_ x: Double, _ y: Double, _ z: Double, _ body: (Int) -> Void) {
        let ci = Int((x - o.x) / h), cj = Int((y - o.y) / h), ck = Int((z - o.z) / h)
        let k0 = max(0, ck - 1), k1 = min(dims.z - 1, ck + 1), j0 = max(0, cj - 1), j1 = min(dims.y - 1, cj + 1)
        let i0 = max(0, ci - 1), i1 = min(dims.x - 1, ci + 1)
        guard k0 <= k1, j0 <= j1, i0 <= i1 else { return }
        for k in k0...k1 { for j in j0...j1 {
            let row = (k * dims.y + j) * dims.x
            for s in Int(start[row + i0])..<Int(start[row + i1 + 1]) { body(Int(items[s])) }
        } }
    }
}

func cumulative(_ p: [Double]) -> [Double] {
    var s = 0.0
    let total = p.reduce(0, +)
    return p.map { s += $0; return s / total }
}

@inline(__always)
func sampleIndex(_ cdf: [Double], _ u: Double) -> Int {
    for (i, c) in cdf.enumerated() where u < c { return i }
    return cdf.count - 1
}
