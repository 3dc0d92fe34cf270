import Foundation
import TwinCore

// Grain membership for polycrystalline specimens.
//
// A `GrainMap` answers "which grain owns the point (x, y, z)?" in the specimen frame (nanometres, z = needle axis).
// The builder fills each grain with its own oriented lattice (orientation from `Rotation3`, crystal → specimen)
// and writes the grain index into `TruthAtoms.grain`.

/// Grain membership of specimen-frame points.
public protocol GrainMap: Sendable {
    /// Index of the grain owning the point, in `0 ..< grainCount`.
    func grain(xNM: Double, yNM: Double, zNM: Double) -> Int32
    /// Number of grains.
    var grainCount: Int { get }
}

/// A single crystal: every point belongs to grain 0.
public struct SingleGrain: GrainMap {
    /// A single-grain map.
    public init() {}
    /// Always 0.
    @inlinable
    public func grain(xNM: Double, yNM: Double, zNM: Double) -> Int32 { 0 }
    /// Always 1.
    public var grainCount: Int { 1 }
}

// MARK: - Voronoi polycrystal

/// A Poisson–Voronoi polycrystal: grain k is the set of points nearer to seed k than to any other seed (ties go
/// to the lowest index).
///
/// Seeds are uniform random points in the box (a Poisson point process conditioned on its count). "Mean grain
/// size" d means mean grain volume d³ (number of seeds = box volume / d³, rounded, at least 1); the
/// equivalent-sphere diameter of the mean grain volume is (6/π)^(1/3)·d ≈ 1.24·d. Cell volumes of the
/// Poisson–Voronoi tessellation have a coefficient of variation ≈ 0.42 (Ferenc & Néda, Physica A 385 (2007) 518).
///
/// Lookup: the box is divided into a uniform grid of query cells (about 8 per seed); each cell stores the short list
/// of seeds whose Voronoi region can meet it (a seed is dropped when another seed is nearer at every point of the
/// cell, an exact test because the difference of squared distances is affine). A query therefore costs one cell
/// index plus a scan of a few seeds (O(1) on average). The grid covers the box plus a margin of d/2 + 1 nm on every
/// side (for probes just outside the needle's bounding box); points beyond that fall back to a linear scan over all
/// seeds (correct but O(n)).
public struct VoronoiGrains: GrainMap {
    /// Lower corner of the box holding the seeds and the lookup grid, nm.
    public let boxMinNM: SIMD3<Double>
    /// Upper corner of the box, nm.
    public let boxMaxNM: SIMD3<Double>
    /// Mean grain size d (cube root of the mean grain volume, box volume / seed count), nm.
    public let meanGrainSizeNM: Double
    /// Seed of each grain (grain k owns the points nearest to `seedsNM[k]`), nm.
    public let seedsNM: [SIMD3<Double>]

    // Seed coordinates, structure of arrays.
    @usableFromInline let sx: [Double], sy: [Double], sz: [Double]
    // Lookup grid: the box plus a margin.
    @usableFromInline let gridMinNM: SIMD3<Double>
    @usableFromInline let cellsX: Int, cellsY: Int, cellsZ: Int
    @usableFromInline let inverseCellNM: SIMD3<Double>
    /// `candidates[cellStart[c] ..< cellStart[c + 1]]` are the seeds that may own points of cell c, ascending.
    @usableFromInline let cellStart: [Int32]
    @usableFromInline let candidates: [Int32]

    /// Number of grains (seeds).
    public var grainCount: Int { seedsNM.count }

    /// Lookup-grid shape and the mean candidate-list length (diagnostics).
    public var lookupGridStatistics: (cells: SIMD3<Int>, meanCandidatesPerCell: Double) {
        (SIMD3(cellsX, cellsY, cellsZ), Double(candidates.count) / Double(max(1, cellStart.count - 1)))
    }

    /// Random seeds in the box `[boxMinNM, boxMaxNM]` with mean grain size `meanGrainSizeNM` (see the type's
    /// documentation). Seeds are drawn from `TwinRNG(seed: seed, stream: 0)`: x, y, z uniforms per seed in order.
    /// - Throws: ``SpecimenError/invalid(_:)`` for an empty or non-finite box, a non-positive grain size, or more
    ///   than 2·10⁶ grains.
    public init(boxMinNM: SIMD3<Double>, boxMaxNM: SIMD3<Double>, meanGrainSizeNM: Double, seed: UInt64) throws {
        try VoronoiGrains.checkBox(boxMinNM, boxMaxNM)
        guard meanGrainSizeNM > 0, meanGrainSizeNM.isFinite else {
            throw SpecimenError.invalid("mean_grain_size_nm must be positive, got \(meanGrainSizeNM)")
        }
        let ext = boxMaxNM - boxMinNM
        let count = (ext.x * ext.y * ext.z / pow(meanGrainSizeNM, 3)).rounded()
        guard count <= 2_000_000 else {
            throw SpecimenError.invalid("mean_grain_size_nm = \(meanGrainSizeNM) gives \(count) grains in the box; at most 2000000 are supported")
        }
        var rng = TwinRNG(seed: seed, stream: 0)
        var seeds: [SIMD3<Double>] = []
        for _ in 0..<max(1, Int(count)) {
            let u = SIMD3(rng.uniform(), rng.uniform(), rng.uniform())
            seeds.append(boxMinNM + ext * u)
        }
        try self.init(boxMinNM: boxMinNM, boxMaxNM: boxMaxNM, seedsNM: seeds)
    }

    /// Explicit seeds (any finite points; they may lie outside the box). The box bounds the lookup grid.
    /// - Throws: ``SpecimenError/invalid(_:)`` for an empty or non-finite box, no seeds, or a non-finite seed.
    public init(boxMinNM: SIMD3<Double>, boxMaxNM: SIMD3<Double>, seedsNM: [SIMD3<Double>]) throws {
        try VoronoiGrains.checkBox(boxMinNM, boxMaxNM)
        guard !seedsNM.isEmpty else { throw SpecimenError.invalid("a Voronoi polycrystal needs at least one seed") }
        guard seedsNM.count <= 2_000_000 else {
            throw SpecimenError.invalid("\(seedsNM.count) Voronoi seeds; at most 2000000 are supported")
        }
        for (k, s) in seedsNM.enumerated() where !(s.x.isFinite && s.y.isFinite && s.z.isFinite) {
            throw SpecimenError.invalid("Voronoi seed \(k) is not finite: \(s)")
        }
        self.boxMinNM = boxMinNM; self.boxMaxNM = boxMaxNM; self.seedsNM = seedsNM
        let ext = boxMaxNM - boxMinNM
        let n = seedsNM.count
        meanGrainSizeNM = cbrt(ext.x * ext.y * ext.z / Double(n))
        sx = seedsNM.map(\.x); sy = seedsNM.map(\.y); sz = seedsNM.map(\.z)

        // Query grid over the padded box: about 8 cells per seed, at most 2^20 cells.
        let pad = SIMD3<Double>(repeating: meanGrainSizeNM / 2 + 1)
        let gridMin = boxMinNM - pad
        let gridExt = ext + 2 * pad
        gridMinNM = gridMin
        var h = meanGrainSizeNM / 2
        func dims(_ h: Double) -> SIMD3<Int> {
            SIMD3(max(1, Int((gridExt.x / h).rounded(.up))), max(1, Int((gridExt.y / h).rounded(.up))),
                  max(1, Int((gridExt.z / h).rounded(.up))))
        }
        var d = dims(h)
        while d.x * d.y * d.z > 1 << 20 { h *= 1.1; d = dims(h) }
        cellsX = d.x; cellsY = d.y; cellsZ = d.z
        let cell = gridExt / SIMD3(Double(d.x), Double(d.y), Double(d.z))
        inverseCellNM = 1 / cell

        let buckets = SeedBuckets(seeds: seedsNM, boxMin: gridMin, boxMax: gridMin + gridExt)
        let half = cell * 0.5 * (1 + 1e-9) + SIMD3(repeating: 1e-9)
        let halfLen = (half * half).sum().squareRoot()
        var start: [Int32] = [0]
        start.reserveCapacity(d.x * d.y * d.z + 1)
        var cand: [Int32] = []
        cand.reserveCapacity(d.x * d.y * d.z * 4)
        var local: [(index: Int, rel: SIMD3<Double>)] = []
        var kept: [Int] = []
        for iz in 0..<d.z {
            for iy in 0..<d.y {
                for ix in 0..<d.x {
                    let c = gridMin + cell * SIMD3(Double(ix) + 0.5, Double(iy) + 0.5, Double(iz) + 0.5)
                    let d0 = buckets.nearestDistance(to: c)
                    // Every point of the cell is within d0 + |half| of that seed, so a seed farther than
                    // d0 + 2|half| from the centre cannot own any point of the cell.
                    let reach = d0 + 2 * halfLen
                    local.removeAll(keepingCapacity: true)
                    buckets.forEachSeed(within: reach * (1 + 1e-12) + 1e-12, of: c) { k in
                        local.append((k, seedsNM[k] - c))
                    }
                    // D = min over seeds of the farthest distance to the cell.
                    var dMax2 = Double.infinity
                    for s in local {
                        let far = grainAbs(s.rel) + half
                        dMax2 = min(dMax2, (far * far).sum())
                    }
                    local = local.filter { s in
                        let near = pointwiseMax(grainAbs(s.rel) - half, SIMD3<Double>(repeating: 0))
                        return (near * near).sum() <= dMax2 * (1 + 1e-12)
                    }
                    // Exact pairwise domination: t dominates s on the cell if |p−t|² < |p−s|² for all p in it,
                    // i.e. max over the cell of 2q·(s−t) + |t|² − |s|² < 0 (q = p − centre).
                    kept.removeAll(keepingCapacity: true)
                    for s in local {
                        let s2 = (s.rel * s.rel).sum()
                        var dominated = false
                        for t in local where t.index != s.index {
                            let t2 = (t.rel * t.rel).sum()
                            let diff = grainAbs(s.rel - t.rel)
                            let m = 2 * (half * diff).sum() + t2 - s2
                            if m < -1e-12 * (t2 + s2 + 1) { dominated = true; break }
                        }
                        if !dominated { kept.append(s.index) }
                    }
                    kept.sort()
                    for k in kept { cand.append(Int32(k)) }
                    start.append(Int32(cand.count))
                }
            }
        }
        cellStart = start
        candidates = cand
    }

    static func checkBox(_ lo: SIMD3<Double>, _ hi: SIMD3<Double>) throws {
        let ok = (0..<3).allSatisfy { lo[$0].isFinite && hi[$0].isFinite && hi[$0] > lo[$0] }
        guard ok else { throw SpecimenError.invalid("Voronoi box must be finite with box_max > box_min on every axis, got \(lo) … \(hi)") }
    }

    /// Index of the seed nearest to the point (lowest index on ties).
    @inlinable
    public func grain(xNM x: Double, yNM y: Double, zNM z: Double) -> Int32 {
        let fx = (x - gridMinNM.x) * inverseCellNM.x
        let fy = (y - gridMinNM.y) * inverseCellNM.y
        let fz = (z - gridMinNM.z) * inverseCellNM.z
        let nx = Double(cellsX), ny = Double(cellsY), nz = Double(cellsZ)
        guard fx >= 0, fy >= 0, fz >= 0, fx <= nx, fy <= ny, fz <= nz else { return bruteForceGrain(x, y, z) }
        let ix = min(cellsX - 1, Int(fx)), iy = min(cellsY - 1, Int(fy)), iz = min(cellsZ - 1, Int(fz))
        let cell = (iz * cellsY + iy) * cellsX + ix
        let a = Int(cellStart[cell]), b = Int(cellStart[cell + 1])
        if b - a == 1 { return candidates[a] }
        var best: Int32 = candidates[a]
        var bestD2 = Double.infinity
        for j in a..<b {
            let k = Int(candidates[j])
            let dx = x - sx[k], dy = y - sy[k], dz = z - sz[k]
            let d2 = dx * dx + dy * dy + dz * dz
            if d2 < bestD2 { bestD2 = d2; best = Int32(k) }
        }
        return best
    }

    /// Linear scan over all seeds (used outside the padded box).
    @usableFromInline
    func bruteForceGrain(_ x: Double, _ y: Double, _ z: Double) -> Int32 {
        var best: Int32 = 0
        var bestD2 = Double.infinity
        for k in 0..<sx.count {
            let dx = x - sx[k], dy = y - sy[k], dz = z - sz[k]
            let d2 = dx * dx + dy * dy + dz * dz
            if d2 < bestD2 { bestD2 = d2; best = Int32(k) }
        }
        return best
    }

    /// `count` orientations uniformly distributed on SO(3) (Haar measure), one per grain, from uniform random unit
    /// quaternions (K. Shoemake, "Uniform random rotations", Graphics Gems III, 1992, 124):
    /// q = (√(1−u₁) sin 2πu₂, √(1−u₁) cos 2πu₂, √u₁ sin 2πu₃, √u₁ cos 2πu₃).
    /// Draws u₁, u₂, u₃ per orientation from `TwinRNG(seed: seed, stream: 1)` (stream 1, so the same seed can be
    /// shared with ``init(boxMinNM:boxMaxNM:meanGrainSizeNM:seed:)`` without correlation).
    public static func randomOrientations(count: Int, seed: UInt64) -> [Rotation3] {
        precondition(count >= 0, "randomOrientations: count must be non-negative")
        var rng = TwinRNG(seed: seed, stream: 1)
        return (0..<count).map { _ in
            let u1 = rng.uniform(), u2 = rng.uniform(), u3 = rng.uniform()
            let a = (1 - u1).squareRoot(), b = u1.squareRoot()
            return Rotation3(quaternionW: b * cos(2 * .pi * u3), x: a * sin(2 * .pi * u2),
                             y: a * cos(2 * .pi * u2), z: b * sin(2 * .pi * u3))
        }
    }
}

/// Component-wise absolute value.
private func grainAbs(_ v: SIMD3<Double>) -> SIMD3<Double> { SIMD3(abs(v.x), abs(v.y), abs(v.z)) }

/// Uniform bucket grid over the seeds, used while building the Voronoi lookup grid.
struct SeedBuckets {
    let lo: SIMD3<Double>
    let size: Double
    let dims: SIMD3<Int>
    let start: [Int]
    let items: [Int]
    let seeds: [SIMD3<Double>]

    init(seeds: [SIMD3<Double>], boxMin: SIMD3<Double>, boxMax: SIMD3<Double>) {
        var lo = boxMin, hi = boxMax
        for s in seeds { lo = pointwiseMin(lo, s); hi = pointwiseMax(hi, s) }
        let ext = hi - lo
        // About one seed per bucket, at most 4·n + 64 buckets.
        var size = max(cbrt(ext.x * ext.y * ext.z / Double(seeds.count)), 1e-9)
        func dims(_ s: Double) -> SIMD3<Int> {
            SIMD3(max(1, Int((ext.x / s).rounded(.up))), max(1, Int((ext.y / s).rounded(.up))),
                  max(1, Int((ext.z / s).rounded(.up))))
        }
        var d = dims(size)
        while d.x * d.y * d.z > 4 * seeds.count + 64 { size *= 1.2; d = dims(size) }
        self.lo = lo; self.size = size; self.dims = d; self.seeds = seeds
        var counts = [Int](repeating: 0, count: d.x * d.y * d.z + 1)
        func bucket(_ p: SIMD3<Double>) -> Int {
            let f = (p - lo) / size
            let i = min(d.x - 1, max(0, Int(f.x))), j = min(d.y - 1, max(0, Int(f.y))), k = min(d.z - 1, max(0, Int(f.z)))
            return (k * d.y + j) * d.x + i
        }
        let b = seeds.map(bucket)
        for x in b { counts[x + 1] += 1 }
        for i in 1..<counts.count { counts[i] += counts[i - 1] }
        var fill = counts
        var items = [Int](repeating: 0, count: seeds.count)
        for (k, x) in b.enumerated() { items[fill[x]] = k; fill[x] += 1 }
        start = counts; self.items = items
    }

    /// Calls `body` for every seed within `radius` of `c` (and possibly a few more).
    func forEachSeed(within radius: Double, of c: SIMD3<Double>, _ body: (Int) -> Void) {
        let r2 = radius * radius
        let f0 = (c - radius - lo) / size, f1 = (c + radius - lo) / size
        func clampLow(_ f: Double, _ n: Int) -> Int { f < 0 ? 0 : min(n - 1, Int(f)) }
        let i0 = clampLow(f0.x, dims.x), i1 = clampLow(f1.x, dims.x)
        let j0 = clampLow(f0.y, dims.y), j1 = clampLow(f1.y, dims.y)
        let k0 = clampLow(f0.z, dims.z), k1 = clampLow(f1.z, dims.z)
        for k in k0...k1 { for j in j0...j1 { for i in i0...i1 {
            let b = (k * dims.y + j) * dims.x + i
            for idx in start[b]..<start[b + 1] {
                let d = seeds[items[idx]] - c
                if (d * d).sum() <= r2 { body(items[idx]) }
            }
        } } }
    }

    /// Distance from `c` to its nearest seed.
    func nearestDistance(to c: SIMD3<Double>) -> Double {
        var radius = size
        while true {
            var best = Double.infinity
            forEachSeed(within: radius, of: c) { k in
                let d = seeds[k] - c
                best = min(best, (d * d).sum())
            }
            if best.isFinite { return best.squareRoot() }
            radius *= 2
        }
    }
}

// MARK: - Planar boundaries

/// An oriented plane in the specimen frame: the points p with n·(p − p₀) = 0. The positive side is where
/// n·(p − p₀) > 0.
public struct BoundaryPlane: Sendable, Equatable {
    /// A point on the plane, nm.
    public let pointNM: SIMD3<Double>
    /// Unit normal (normalised by the initialiser); points towards the positive side.
    public let normal: SIMD3<Double>

    /// A plane through `pointNM` with normal `normal` (any length).
    /// - Throws: ``SpecimenError/invalid(_:)`` for a zero or non-finite normal or a non-finite point.
    public init(pointNM: SIMD3<Double>, normal: SIMD3<Double>) throws {
        guard pointNM.x.isFinite, pointNM.y.isFinite, pointNM.z.isFinite else {
            throw SpecimenError.invalid("boundary plane point must be finite, got \(pointNM)")
        }
        let len = (normal * normal).sum().squareRoot()
        guard len > 1e-12, len.isFinite else {
            throw SpecimenError.invalid("boundary plane normal must be a finite non-zero vector, got \(normal)")
        }
        self.pointNM = pointNM
        self.normal = normal / len
    }

    /// The plane crossing the needle axis at height `zNM` whose normal is tilted by `tiltDeg` away from +z towards
    /// the azimuth `azimuthDeg` (measured from +x towards +y): n = (sin t cos φ, sin t sin φ, cos t).
    /// The positive side is towards the apex for tilts below 90°. Tilt 0 is a boundary perpendicular to the axis.
    /// - Throws: ``SpecimenError/invalid(_:)`` for non-finite input or a tilt outside 0 ..< 90.
    public init(crossingAxisAtZNM zNM: Double, tiltDeg: Double, azimuthDeg: Double = 0) throws {
        guard zNM.isFinite, azimuthDeg.isFinite, tiltDeg >= 0, tiltDeg < 90 else {
            throw SpecimenError.invalid("boundary plane needs a finite z, a finite azimuth and a tilt in 0 ..< 90 degrees, got z = \(zNM), tilt = \(tiltDeg), azimuth = \(azimuthDeg)")
        }
        let t = tiltDeg * .pi / 180, p = azimuthDeg * .pi / 180
        try self.init(pointNM: SIMD3(0, 0, zNM), normal: SIMD3(sin(t) * cos(p), sin(t) * sin(p), cos(t)))
    }

    /// Signed distance n·(p − p₀) of a point from the plane, nm (positive on the normal's side).
    @inlinable
    public func signedDistanceNM(xNM: Double, yNM: Double, zNM: Double) -> Double {
        normal.x * (xNM - pointNM.x) + normal.y * (yNM - pointNM.y) + normal.z * (zNM - pointNM.z)
    }

    /// Angle between the plane normal and the needle axis z, degrees in [0, 90] (the boundary "tilt": 0 for a
    /// boundary perpendicular to the needle, 90 for one containing the axis).
    public var tiltFromNeedleAxisDeg: Double { acos(min(1, abs(normal.z))) * 180 / .pi }

    /// Where the plane crosses the needle axis (x = y = 0), nm; nil if it is parallel to the axis.
    public var axisCrossingZNM: Double? {
        guard abs(normal.z) > 1e-12 else { return nil }
        return pointNM.z + (normal.x * pointNM.x + normal.y * pointNM.y) / normal.z
    }

    var summary: String {
        String(format: "point (%.3f, %.3f, %.3f) nm, normal (%.4f, %.4f, %.4f)",
               pointNM.x, pointNM.y, pointNM.z, normal.x, normal.y, normal.z)
    }
}

/// Grains separated by non-intersecting boundary planes, stacked along the needle.
///
/// The grain index of a point is the number of planes on whose positive side it lies (a point exactly on a plane
/// belongs to the lower grain). With planes listed from the base to the apex, each normal pointing towards the
/// next grain (for the usual set-up: normals with a positive z component), grain 0 lies below plane 0, grain i
/// between planes i−1 and i, and grain n above the last plane. This only makes sense if the planes do not cross
/// inside the specimen and are ordered consistently; ``validate(zMinNM:zMaxNM:radiusNM:)`` checks both, and that
/// every plane actually crosses the needle.
public struct PlanarGrains: GrainMap {
    /// The boundary planes, in order from grain 0 upwards.
    public let boundaries: [BoundaryPlane]

    /// Grains separated by `boundaries` (may be empty: one grain). Call a `validate` method before building.
    public init(boundaries: [BoundaryPlane]) { self.boundaries = boundaries }

    /// Grains separated by the planes of `specs` (see ``GrainBoundarySpec/grainOrientations(base:boundaries:)``
    /// for the matching orientations).
    public init(specs: [GrainBoundarySpec]) { self.boundaries = specs.map(\.plane) }

    /// Number of grains: planes + 1.
    public var grainCount: Int { boundaries.count + 1 }

    /// Number of planes on whose positive side the point lies.
    @inlinable
    public func grain(xNM: Double, yNM: Double, zNM: Double) -> Int32 {
        var g: Int32 = 0
        for b in boundaries where b.signedDistanceNM(xNM: xNM, yNM: yNM, zNM: zNM) > 0 { g += 1 }
        return g
    }

    /// Unsigned distance to the nearest boundary plane and that plane's index (lowest index on ties); for no
    /// boundaries (.infinity, −1). Use it for segregation bands parallel to a boundary.
    @inlinable
    public func distanceToNearestBoundaryNM(xNM: Double, yNM: Double, zNM: Double) -> (distance: Double, boundary: Int) {
        var best = Double.infinity, which = -1
        for (i, b) in boundaries.enumerated() {
            let d = abs(b.signedDistanceNM(xNM: xNM, yNM: yNM, zNM: zNM))
            if d < best { best = d; which = i }
        }
        return (best, which)
    }

    /// Signed distance from boundary `boundary` (positive on the side of the higher grain), nm.
    @inlinable
    public func signedDistanceNM(toBoundary boundary: Int, xNM: Double, yNM: Double, zNM: Double) -> Double {
        boundaries[boundary].signedDistanceNM(xNM: xNM, yNM: yNM, zNM: zNM)
    }

    /// Checks the planes against a cylindrical needle of radius `radiusNM` between `zMinNM` and `zMaxNM`
    /// (the needle's bounding cylinder). See ``validate(zMinNM:zMaxNM:radiusAtZNM:)``.
    public func validate(zMinNM: Double, zMaxNM: Double, radiusNM: Double) throws {
        guard radiusNM > 0, radiusNM.isFinite else {
            throw SpecimenError.invalid("needle radius for the boundary check must be positive, got \(radiusNM)")
        }
        try validate(zMinNM: zMinNM, zMaxNM: zMaxNM, radiusAtZNM: { _ in radiusNM })
    }

    /// Checks the planes against a needle given by its radius profile r(z) between `zMinNM` and `zMaxNM`
    /// (e.g. `NeedleGeometry.radiusNM(atZ:)` with zMin = −length, zMax = 0):
    /// 1. every plane crosses the needle (its signed distance takes both signs over the needle), else
    ///    "boundary i (point …, normal …) does not cross the needle between z = … and … nm";
    /// 2. consecutive planes are nested inside the needle (no point lies above plane i+1 without being above
    ///    plane i), i.e. they neither intersect inside the needle nor are listed out of order.
    /// The needle is sampled at 1025 heights × 720 azimuths on its surface; for each height the check on the
    /// circle is sufficient for the whole disc, because the set violating (2) in a plane z = const is an
    /// intersection of two half-planes, which meets a disc only if it meets its circle.
    public func validate(zMinNM: Double, zMaxNM: Double, radiusAtZNM: (Double) -> Double) throws {
        guard zMinNM.isFinite, zMaxNM.isFinite, zMaxNM > zMinNM else {
            throw SpecimenError.invalid("needle z range for the boundary check must be finite with z_max > z_min, got \(zMinNM) … \(zMaxNM)")
        }
        let nz = 1025, nt = 720
        let zs = (0..<nz).map { zMinNM + (zMaxNM - zMinNM) * Double($0) / Double(nz - 1) }
        let rs = zs.map { max(0, radiusAtZNM($0)) }
        let cs = (0..<nt).map { cos(2 * Double.pi * Double($0) / Double(nt)) }
        let ss = (0..<nt).map { sin(2 * Double.pi * Double($0) / Double(nt)) }
        for (i, b) in boundaries.enumerated() {
            let lateral = (b.normal.x * b.normal.x + b.normal.y * b.normal.y).squareRoot()
            var lo = Double.infinity, hi = -Double.infinity
            for (z, r) in zip(zs, rs) {
                let c = b.signedDistanceNM(xNM: 0, yNM: 0, zNM: z)
                lo = min(lo, c - r * lateral); hi = max(hi, c + r * lateral)
            }
            guard lo < 0, hi > 0 else {
                throw SpecimenError.invalid("boundary \(i) (\(b.summary)) does not cross the needle between z = "
                    + String(format: "%.3f and %.3f nm", zMinNM, zMaxNM))
            }
        }
        guard boundaries.count > 1 else { return }
        for i in 0..<(boundaries.count - 1) {
            let lower = boundaries[i], upper = boundaries[i + 1]
            for (z, r) in zip(zs, rs) {
                for t in 0..<nt {
                    let x = r * cs[t], y = r * ss[t]
                    if upper.signedDistanceNM(xNM: x, yNM: y, zNM: z) > 0 && lower.signedDistanceNM(xNM: x, yNM: y, zNM: z) <= 0 {
                        throw SpecimenError.invalid(
                            "boundaries \(i) (\(lower.summary)) and \(i + 1) (\(upper.summary)) intersect inside the needle "
                            + "or are out of order: the point " + String(format: "(%.3f, %.3f, %.3f)", x, y, z)
                            + " nm is above boundary \(i + 1) but not above boundary \(i); list planes from the base to the apex "
                            + "with normals pointing towards the apex")
                    }
                }
            }
        }
    }

    /// Checks nesting (condition 2 of ``validate(zMinNM:zMaxNM:radiusAtZNM:)``) at explicit sample points, e.g. the
    /// lattice sites of the specimen: for every point the planes it lies above must be a prefix 0 ..< g.
    public func validate(samplePointsNM points: [SIMD3<Double>]) throws {
        for p in points {
            var seenNegative = -1
            for (i, b) in boundaries.enumerated() {
                let above = b.signedDistanceNM(xNM: p.x, yNM: p.y, zNM: p.z) > 0
                if !above { if seenNegative < 0 { seenNegative = i } } else if seenNegative >= 0 {
                    throw SpecimenError.invalid(String(
                        format: "boundaries %d and %d intersect inside the specimen or are out of order: the point (%.3f, %.3f, %.3f) nm is above boundary %d but not above boundary %d",
                        seenNegative, i, p.x, p.y, p.z, i, seenNegative))
                }
            }
        }
    }
}

// MARK: - Boundary character

/// A planar grain boundary and the misorientation across it.
///
/// Convention: the misorientation axis is expressed in the crystal frame of the grain below the boundary (grain i),
/// and the rotation is applied in that crystal frame: `orientation(i+1) = orientation(i) * Rotation3(axis:
/// misorientationAxis, angleDeg: angleDeg)`. Because the misorientation fixes its own axis, the axis has the same
/// components in the crystal frames of both grains, and the same specimen-frame direction
/// `orientation(i).apply(axis) == orientation(i+1).apply(axis)`.
public struct GrainBoundarySpec: Sendable, Equatable {
    /// The boundary plane (specimen frame).
    public let plane: BoundaryPlane
    /// Unit misorientation axis in the crystal frame of the grain below (normalised by the initialiser).
    public let misorientationAxis: SIMD3<Double>
    /// Misorientation angle, degrees in [0, 180]. (The cubic disorientation reported by
    /// ``CubicSymmetry/misorientation(_:_:)`` may be smaller: at most 62.8°.)
    public let angleDeg: Double

    /// A boundary on `plane` with the misorientation `angleDeg` about `misorientationAxis` (crystal frame of the
    /// grain below; any length).
    /// - Throws: ``SpecimenError/invalid(_:)`` for a zero or non-finite axis or an angle outside 0 … 180.
    public init(plane: BoundaryPlane, misorientationAxis: SIMD3<Double>, angleDeg: Double) throws {
        let len = (misorientationAxis * misorientationAxis).sum().squareRoot()
        guard len > 1e-12, len.isFinite else {
            throw SpecimenError.invalid("grain boundary misorientation axis must be a finite non-zero vector, got \(misorientationAxis)")
        }
        guard angleDeg >= 0, angleDeg <= 180 else {
            throw SpecimenError.invalid("grain boundary misorientation angle must be in 0 … 180 degrees, got \(angleDeg)")
        }
        self.plane = plane
        self.misorientationAxis = misorientationAxis / len
        self.angleDeg = angleDeg
    }

    /// A pure twist boundary: the misorientation axis is the boundary normal (taken into the crystal frame of the
    /// grain below). The paper's GB2 is such a boundary with a small angle.
    public static func twist(plane: BoundaryPlane, orientationBelow: Rotation3, angleDeg: Double) throws -> GrainBoundarySpec {
        try GrainBoundarySpec(plane: plane, misorientationAxis: orientationBelow.transposed.apply(plane.normal),
                              angleDeg: angleDeg)
    }

    /// A pure tilt boundary: the misorientation axis is `tiltAxisSpecimen` (specimen frame) projected onto the
    /// boundary plane, then taken into the crystal frame of the grain below.
    /// - Throws: ``SpecimenError/invalid(_:)`` if the tilt axis is (nearly, within 1°) parallel to the normal.
    public static func tilt(plane: BoundaryPlane, orientationBelow: Rotation3, tiltAxisSpecimen: SIMD3<Double>,
                            angleDeg: Double) throws -> GrainBoundarySpec {
        let len = (tiltAxisSpecimen * tiltAxisSpecimen).sum().squareRoot()
        guard len > 1e-12, len.isFinite else {
            throw SpecimenError.invalid("tilt axis must be a finite non-zero vector, got \(tiltAxisSpecimen)")
        }
        let u = tiltAxisSpecimen / len
        let inPlane = u - (u * plane.normal).sum() * plane.normal
        guard (inPlane * inPlane).sum().squareRoot() > sin(Double.pi / 180) else {
            throw SpecimenError.invalid("tilt axis \(tiltAxisSpecimen) is parallel to the boundary normal \(plane.normal); a tilt axis must lie in the boundary plane")
        }
        return try GrainBoundarySpec(plane: plane, misorientationAxis: orientationBelow.transposed.apply(inPlane),
                                     angleDeg: angleDeg)
    }

    /// The misorientation rotation (crystal frame of the grain below).
    public var misorientation: Rotation3 { Rotation3(axis: misorientationAxis, angleDeg: angleDeg) }

    /// Orientations of the grains of a stack of boundaries: element 0 is `base`, element i+1 is
    /// `element(i) * boundaries[i].misorientation`. Returns `boundaries.count + 1` orientations, matching the grain
    /// indices of `PlanarGrains(specs: boundaries)`.
    public static func grainOrientations(base: Rotation3, boundaries: [GrainBoundarySpec]) -> [Rotation3] {
        var out = [base]
        for b in boundaries { out.append(out[out.count - 1] * b.misorientation) }
        return out
    }

    /// Tilt/twist character of the boundary given the orientation of the grain below: `twistFraction` = |cos| of the
    /// angle between the misorientation axis (taken to the specimen frame) and the boundary normal — 1 for a pure
    /// twist boundary (axis ∥ normal), 0 for a pure tilt boundary (axis in the plane) — and that angle in degrees,
    /// in [0, 90]. It describes the axis as specified; cubic symmetry admits other, equivalent axes.
    public func tiltTwistCharacter(orientationBelow: Rotation3) -> (twistFraction: Double, axisToNormalAngleDeg: Double) {
        let a = orientationBelow.apply(misorientationAxis)
        let c = min(1, abs((a * plane.normal).sum()))
        return (c, acos(c) * 180 / .pi)
    }

    /// True if the axis is within `toleranceDeg` of the boundary normal (twist boundary).
    public func isTwist(orientationBelow: Rotation3, toleranceDeg: Double = 1) -> Bool {
        tiltTwistCharacter(orientationBelow: orientationBelow).axisToNormalAngleDeg <= toleranceDeg
    }

    /// True if the axis is within `toleranceDeg` of the boundary plane (tilt boundary).
    public func isTilt(orientationBelow: Rotation3, toleranceDeg: Double = 1) -> Bool {
        tiltTwistCharacter(orientationBelow: orientationBelow).axisToNormalAngleDeg >= 90 - toleranceDeg
    }
}
