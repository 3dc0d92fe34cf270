import Foundation
import TwinCore

/// Analytic checks of the two-scale field solver that anyone can run (`aptwin field`): an atomistic surface of a
/// shape with a known solution goes through the same Robin–Rolland solver and continuum match as a needle.
public enum FieldCheck {
    public enum Geometry: String, Sendable, CaseIterable {
        /// An isolated charged sphere: F = V/R everywhere.
        case sphere
        /// A hyperboloid of revolution facing a grounded plane: k_f = η₀ artanh η₀ (Eyring et al. 1928).
        case hyperboloid
    }

    public struct Result: Sendable {
        public var geometry: Geometry
        public var radiusNM: Double
        public var voltageV: Double
        public var atoms: Int
        public var surfaceAtoms: Int
        /// Apex field of the two-scale solution, V/nm: the continuum field at the apex of the shape's smooth surface
        /// (what k_f refers to).
        public var apexFieldVPerNM: Double
        /// Charge-weighted mean field of the atoms within 10° of the apex, V/nm (lower than the smooth value where a
        /// flat low-index facet sits at the pole).
        public var atomisticApexFieldVPerNM: Double
        /// Charge-weighted mean field over all surface atoms (sphere) or the cap within 30° (hyperboloid), V/nm.
        public var meanFieldVPerNM: Double
        /// Relative standard deviation of the field of the exposed atoms (charge above half the mean) in that region.
        public var fieldRelSpread: Double
        /// Largest relative deviation of the charge-weighted mean field of equal-area polar bands (sphere) from
        /// the overall mean: the large-scale uniformity.
        public var bandRelDeviation: Double
        /// k_f = V/(F_apex R) of the continuum model, and its analytic value.
        public var kf: Double
        public var kfAnalytic: Double
        public var analyticApexFieldVPerNM: Double
        public var robinIterations: Int
    }

    /// bcc lattice points (a = 0.3165 nm, W) inside `inside`, within the box.
    static func carve(aNM a: Double, box: (SIMD3<Double>, SIMD3<Double>), inside: (SIMD3<Double>) -> Bool) -> TruthAtoms {
        var t = TruthAtoms()
        let lo = box.0, hi = box.1
        let i0 = Int((lo.x / a).rounded(.down)) - 1, i1 = Int((hi.x / a).rounded(.up)) + 1
        let j0 = Int((lo.y / a).rounded(.down)) - 1, j1 = Int((hi.y / a).rounded(.up)) + 1
        let k0 = Int((lo.z / a).rounded(.down)) - 1, k1 = Int((hi.z / a).rounded(.up)) + 1
        var id: UInt32 = 0
        for k in k0...k1 { for j in j0...j1 { for i in i0...i1 {
            for off in [0.0, 0.5] {
                let p = SIMD3(Double(i) + off, Double(j) + off, Double(k) + off) * a
                if inside(p) {
                    t.append(id: id, elementZ: 74, massNumber: 184, xNM: Float(p.x), yNM: Float(p.y), zNM: Float(p.z))
                    id += 1
                }
            }
        } } }
        return t
    }

    /// Runs the check. `distanceMM` is the apex–plane distance of the hyperboloid.
    public static func run(_ g: Geometry, radiusNM r: Double, voltageV v: Double, distanceMM: Double = 1, threads: Int) throws -> Result {
        guard r >= 1, r <= 25 else { throw TwinError.invalidInput("--radius-nm must be in 1...25 for an atomistic check, got \(r)") }
        guard v > 0, v.isFinite else { throw TwinError.invalidInput("--voltage-v must be positive, got \(v)") }
        let a = 0.3165
        let atoms: TruthAtoms
        let model: AxisymmetricFieldModel
        var kfAnalytic: Double
        switch g {
        case .sphere:
            // Sphere centred at (0, 0, −R): apex at z = 0.
            let c = SIMD3<Double>(0, 0, -r)
            atoms = carve(aNM: a, box: (SIMD3(-r, -r, -2 * r) - 0.5, SIMD3(r, r, 0) + 0.5)) { p in
                let d = p - c; return (d * d).sum() <= r * r
            }
            model = try AxisymmetricFieldModel(profile: .sphere(radiusNM: r), environment: .isolated, apexSpacingNM: 0.08 * r)
            kfAnalytic = 1
        case .hyperboloid:
            guard distanceMM > 0 else { throw TwinError.invalidInput("--distance-mm must be positive") }
            let d = distanceMM * 1e6
            let eta0 = HyperboloidSolution.eta0(radiusNM: r, distanceNM: d)
            let af = d / eta0
            let depth = 3 * r
            atoms = carve(aNM: a, box: (SIMD3(-4 * r, -4 * r, -depth) - 0.5, SIMD3(4 * r, 4 * r, 0) + 0.5)) { p in
                let rho2 = p.x * p.x + p.y * p.y
                let zs = d - af * eta0 * (1 + rho2 / (af * af * (1 - eta0 * eta0))).squareRoot()
                return p.z <= zs && p.z >= -depth
            }
            var env = NeedleEnvironment.isolated
            env.counterElectrodeDistanceMM = distanceMM
            model = try AxisymmetricFieldModel(profile: .hyperboloid(radiusNM: r, distanceNM: d, lengthNM: 10 * d),
                                               environment: env, apexSpacingNM: 0.08 * r)
            kfAnalytic = HyperboloidSolution.fieldFactor(radiusNM: r, distanceNM: d)
        }
        let surf = SurfaceCharges(atoms: atoms, coordinationCutoffNM: 1.2 * a, bulkCoordination: 14, normalRadiusNM: 0.75,
                                  nearRadiusNM: 1.2, localRadiusNM: 0.8, openingAngle: 0.5,
                                  frozenSlabNM: g == .sphere ? -1 : 0.6, threads: threads)
        var iters = 0
        for _ in 0..<200 {
            iters += 1
            if surf.globalIterations(1, threads: threads) < 1e-5 { break }
        }
        // Continuum match over the 20° apex cap, as in the engine.
        let centre = SIMD3<Double>(0, 0, -r)
        func polarCos(_ s: Int) -> Double {
            let d = SIMD3(surf.sx[s], surf.sy[s], surf.sz[s]) - centre
            let l = (d * d).sum().squareRoot()
            return l > 0 ? d.z / l : 1
        }
        func weighted(_ filter: (Int) -> Bool) -> Double {
            var s1 = 0.0, s2 = 0.0
            for s in surf.activeSlots where filter(s) { s1 += surf.sigma[s]; s2 += surf.sigma[s] * surf.sigma[s] }
            return s1 > 0 ? s2 / s1 : 0
        }
        let capCos = cos(20 * Double.pi / 180)
        let ref = weighted { polarCos($0) >= capCos }
        let capField = model.capMeanFieldPerVolt(polarAngleDeg: 20) * v
        let scale = capField / ref
        let apexCos = cos(10 * Double.pi / 180)
        let apexField = weighted { polarCos($0) >= apexCos } * scale
        let regionCos = g == .sphere ? -2.0 : cos(30 * Double.pi / 180)
        let meanField = weighted { polarCos($0) >= regionCos } * scale
        // Spread of the exposed atoms' fields in the region.
        let meanSigma = surf.activeSlots.map { surf.sigma[$0] }.reduce(0, +) / Double(max(1, surf.activeCount))
        var fs: [Double] = []
        for s in surf.activeSlots where polarCos(s) >= regionCos && surf.sigma[s] > 0.5 * meanSigma { fs.append(surf.sigma[s] * scale) }
        let fm = fs.reduce(0, +) / Double(max(1, fs.count))
        let sd = (fs.map { ($0 - fm) * ($0 - fm) }.reduce(0, +) / Double(max(1, fs.count))).squareRoot()
        // Equal-area polar bands (sphere: 6 bands in cos θ over [−1, 1]; hyperboloid: 3 bands over the 30° cap).
        var bandDev = 0.0
        let nb = g == .sphere ? 6 : 3
        let lo = g == .sphere ? -1.0 : regionCos
        for b in 0..<nb {
            let c0 = lo + (1 - lo) * Double(b) / Double(nb), c1 = lo + (1 - lo) * Double(b + 1) / Double(nb)
            let m = weighted { let c = polarCos($0); return c >= c0 && c <= c1 } * scale
            if m > 0 { bandDev = max(bandDev, abs(m / meanField - 1)) }
        }
        let kf = 1 / (model.apexFieldPerVolt * r)
        if g == .sphere { kfAnalytic = 1 }
        return Result(geometry: g, radiusNM: r, voltageV: v, atoms: atoms.count, surfaceAtoms: surf.activeCount,
                      apexFieldVPerNM: model.apexFieldPerVolt * v, atomisticApexFieldVPerNM: apexField, meanFieldVPerNM: meanField, fieldRelSpread: fm > 0 ? sd / fm : 0,
                      bandRelDeviation: bandDev, kf: kf, kfAnalytic: kfAnalytic,
                      analyticApexFieldVPerNM: v / (kfAnalytic * r), robinIterations: iters)
    }
}
