import Foundation
import TwinCore

/// A population of precipitates to place in the needle.
public struct PrecipitateSpec: Sendable {
    public enum Shape: String, Sendable { case sphere, platelet }
    public var numberDensityPerNM3: Double
    public var shape: Shape
    /// Sphere radius, or platelet disc radius, nm (median of a log-normal distribution).
    public var radiusNM: Double
    /// Relative standard deviation of the radius (σ of ln r).
    public var radiusRelSpread: Double
    /// Platelet thickness, nm.
    public var thicknessNM: Double
    /// Platelet habit-plane normal, crystal frame of the host grain.
    public var habitHKL: SIMD3<Double>
    public var composition: [CompositionEntry]
    /// Minimum gap between precipitate bounding spheres, nm.
    public var minSeparationNM: Double

    public init(numberDensityPerNM3: Double, shape: Shape, radiusNM: Double, radiusRelSpread: Double = 0.1,
                thicknessNM: Double = 0.5, habitHKL: SIMD3<Double> = SIMD3(1, 1, 1), composition: [CompositionEntry],
                minSeparationNM: Double = 1) {
        self.numberDensityPerNM3 = numberDensityPerNM3; self.shape = shape; self.radiusNM = radiusNM
        self.radiusRelSpread = radiusRelSpread; self.thicknessNM = thicknessNM; self.habitHKL = habitHKL
        self.composition = composition; self.minSeparationNM = minSeparationNM
    }
}

/// One placed precipitate (specimen frame).
public struct Precipitate: Sendable, Equatable {
    public var centreNM: SIMD3<Double>
    public var radiusNM: Double
    /// 0 for a sphere.
    public var thicknessNM: Double
    /// Unit normal of a platelet (specimen frame).
    public var normal: SIMD3<Double>

    /// Radius of the smallest sphere around the centre that holds the precipitate.
    public var boundingRadiusNM: Double {
        thicknessNM > 0 ? (radiusNM * radiusNM + thicknessNM * thicknessNM / 4).squareRoot() : radiusNM
    }

    @inline(__always)
    func contains(_ p: SIMD3<Double>) -> Bool {
        let d = p - centreNM
        if thicknessNM == 0 { return (d * d).sum() <= radiusNM * radiusNM }
        let h = (d * normal).sum()
        guard abs(h) <= thicknessNM / 2 else { return false }
        let lateral = d - h * normal
        return (lateral * lateral).sum() <= radiusNM * radiusNM
    }
}

/// Placed precipitates with a uniform-grid lookup.
struct PrecipitateField: Sendable {
    let precipitates: [Precipitate]
    let cellNM: Double
    let origin: SIMD3<Double>
    let dims: SIMD3<Int>
    let cellStart: [Int32]
    let items: [Int32]

    /// Places `spec.numberDensityPerNM3 × volume` precipitates at random (random sequential addition with the
    /// minimum separation; Widom, J. Chem. Phys. 44 (1966) 3888), centres inside the needle.
    init(spec: PrecipitateSpec, geometry: NeedleGeometry, orientationAt: (SIMD3<Double>) -> Rotation3, seed: UInt64) throws {
        let count = Int((spec.numberDensityPerNM3 * geometry.volumeNM3).rounded())
        var rng = TwinRNG(seed: seed, stream: 0x9EC1_9174)
        var placed: [Precipitate] = []
        let rb = geometry.baseRadiusNM, L = geometry.lengthNM
        var attempts = 0
        let habitLen = (spec.habitHKL * spec.habitHKL).sum().squareRoot()
        guard spec.shape == .sphere || habitLen > 0 else {
            throw SpecimenError.invalid("specimen.precipitates.habit_hkl must not be [0, 0, 0]")
        }
        while placed.count < count {
            attempts += 1
            if attempts > 2000 * max(1, count) {
                throw SpecimenError.invalid("specimen.precipitates: could place only \(placed.count) of \(count) precipitates with min_separation_nm = \(spec.minSeparationNM); lower number_density_per_nm3, radius_nm or min_separation_nm")
            }
            let c = SIMD3(rng.uniform() * 2 * rb - rb, rng.uniform() * 2 * rb - rb, -rng.uniform() * L)
            let r = spec.radiusNM * exp(spec.radiusRelSpread * rng.normal())
            guard geometry.contains(xNM: c.x, yNM: c.y, zNM: c.z) else { continue }
            var p = Precipitate(centreNM: c, radiusNM: r, thicknessNM: spec.shape == .platelet ? spec.thicknessNM : 0,
                                normal: SIMD3(0, 0, 1))
            if spec.shape == .platelet {
                let n = orientationAt(c).apply(spec.habitHKL / habitLen)
                p.normal = n / (n * n).sum().squareRoot()
            }
            let clash = placed.contains { q in
                let d = q.centreNM - c
                let minD = q.boundingRadiusNM + p.boundingRadiusNM + spec.minSeparationNM
                return (d * d).sum() < minD * minD
            }
            if !clash { placed.append(p) }
        }
        self.init(placed)
    }

    init(_ placed: [Precipitate]) {
        precipitates = placed
        let maxR = placed.map(\.boundingRadiusNM).max() ?? 1
        cellNM = max(0.5, 2 * maxR)
        var lo = SIMD3<Double>(repeating: .infinity), hi = SIMD3<Double>(repeating: -.infinity)
        for p in placed { lo = pointwiseMin(lo, p.centreNM); hi = pointwiseMax(hi, p.centreNM) }
        if placed.isEmpty { lo = .zero; hi = .zero }
        origin = lo - SIMD3(repeating: cellNM)
        let ext = (hi - lo) / cellNM
        dims = SIMD3(Int(ext.x) + 3, Int(ext.y) + 3, Int(ext.z) + 3)
        let n = dims.x * dims.y * dims.z
        var counts = [Int32](repeating: 0, count: n + 1)
        let (o, h, d) = (origin, cellNM, dims)
        func cell(_ c: SIMD3<Double>) -> Int {
            let q = (c - o) / h
            return (Int(q.z) * d.y + Int(q.y)) * d.x + Int(q.x)
        }
        for p in placed { counts[cell(p.centreNM) + 1] += 1 }
        for i in 0..<n { counts[i + 1] += counts[i] }
        var fill = counts
        var list = [Int32](repeating: 0, count: placed.count)
        for (k, p) in placed.enumerated() { let c = cell(p.centreNM); list[Int(fill[c])] = Int32(k); fill[c] += 1 }
        cellStart = counts; items = list
    }

    /// Index of the precipitate containing `p`, if any (the lowest index if several).
    @inline(__always)
    func precipitate(at p: SIMD3<Double>) -> Int? {
        guard !precipitates.isEmpty else { return nil }
        let q = (p - origin) / cellNM
        let ci = Int(q.x.rounded(.down)), cj = Int(q.y.rounded(.down)), ck = Int(q.z.rounded(.down))
        var best: Int?
        let k0 = max(0, ck - 1), k1 = min(dims.z - 1, ck + 1)
        let j0 = max(0, cj - 1), j1 = min(dims.y - 1, cj + 1)
        let i0 = max(0, ci - 1), i1 = min(dims.x - 1, ci + 1)
        guard k0 <= k1, j0 <= j1, i0 <= i1 else { return nil }
        for k in k0...k1 {
            for j in j0...j1 {
                for i in i0...i1 {
                    let c = (k * dims.y + j) * dims.x + i
                    for s in Int(cellStart[c])..<Int(cellStart[c + 1]) {
                        let idx = Int(items[s])
                        if precipitates[idx].contains(p), best == nil || idx < best! { best = idx }
                    }
                }
            }
        }
        return best
    }
}
