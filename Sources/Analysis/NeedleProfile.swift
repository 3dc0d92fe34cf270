import Foundation
import TwinCore

/// The shape of a (partly evaporated) atomistic needle, measured on its atoms: the ground truth that TEM
/// measurements and reconstructions are compared with.
public struct NeedleShape: Sendable, Codable, Equatable {
    /// Highest atom's z, nm.
    public var apexZNM: Double
    /// Radius of the circle fitted to the cap profile, nm.
    public var apexRadiusNM: Double
    /// z of that circle's centre, nm.
    public var capCentreZNM: Double
    /// Half-angle of the shank from a line fit of the profile between 2R and 4R below the apex (nil if the needle
    /// is too short there).
    public var shankHalfAngleDeg: Double?
}

/// Needle profile measurement.
///
/// The outermost atom of each of 16 azimuthal sectors of a 0.25 nm slice, averaged over the sectors, traces the
/// profile r(z): the mean surface radius of the slice (the maximum over all azimuths would follow the widest facet
/// of a non-round cross-section).
/// The cap is a least-squares circle (Kåsa 1976: ρ² + z² = 2 z_c z + K, linear in z_c and K) through the slices
/// within 60° of the axis, found iteratively (the 60° window sits 0.5 R below the apex, R re-estimated each time).
/// The axis is z and the needle is taken as a body of revolution about it.
public enum NeedleProfile {
    public static func measure(atoms: TruthAtoms, alive: [Bool]? = nil, sliceNM: Double = 0.25) throws -> NeedleShape {
        var zTop = -Double.infinity, zBottom = Double.infinity
        for i in 0..<atoms.count where alive?[i] ?? true {
            zTop = max(zTop, Double(atoms.zNM[i])); zBottom = min(zBottom, Double(atoms.zNM[i]))
        }
        guard zTop > zBottom else { throw TwinError.invalidInput("needle profile: fewer than two atoms") }
        let nSlices = Int(((zTop - zBottom) / sliceNM).rounded(.up)) + 1
        let sectors = 16
        var sectorMax = [Double](repeating: -1, count: nSlices * sectors)
        for i in 0..<atoms.count where alive?[i] ?? true {
            let k = Int((zTop - Double(atoms.zNM[i])) / sliceNM)
            let x = Double(atoms.xNM[i]), y = Double(atoms.yNM[i])
            let rho = (x * x + y * y).squareRoot()
            let sct = min(sectors - 1, Int((atan2(y, x) + .pi) / (2 * .pi) * Double(sectors)))
            sectorMax[k * sectors + sct] = max(sectorMax[k * sectors + sct], rho)
        }
        // Slices with every sector populated give the mean outer radius; others (the apex tip) the mean of those present.
        var rmax = [Double](repeating: -1, count: nSlices)
        for k in 0..<nSlices {
            let vals = sectorMax[(k * sectors)..<((k + 1) * sectors)].filter { $0 >= 0 }
            if !vals.isEmpty { rmax[k] = vals.reduce(0, +) / Double(vals.count) }
        }
        // Slice centres; the apex slice is treated as at the apex height.
        func z(_ k: Int) -> Double { zTop - (Double(k) + 0.5) * sliceNM }
        var radius = max(1, rmax[min(nSlices - 1, Int(2 / sliceNM))])
        var zc = zTop - radius
        for _ in 0..<6 {
            let depth = 0.5 * radius
            var s11 = 0.0, s12 = 0.0, s22 = 0.0, b1 = 0.0, b2 = 0.0, n = 0
            for k in 1..<nSlices where Double(k) * sliceNM <= depth && rmax[k] >= 0 {
                let zz = z(k), r = rmax[k], y = r * r + zz * zz
                s11 += 4 * zz * zz; s12 += 2 * zz; s22 += 1; b1 += 2 * zz * y; b2 += y; n += 1
            }
            guard n >= 3 else { break }
            let det = s11 * s22 - s12 * s12
            guard abs(det) > 1e-12 else { break }
            zc = (b1 * s22 - b2 * s12) / det
            let k = (s11 * b2 - s12 * b1) / det
            let r2 = k + zc * zc
            guard r2 > 0 else { break }
            radius = r2.squareRoot()
        }
        // Shank: line fit between 2R and 4R below the apex.
        var pts: [(z: Double, r: Double)] = []
        for k in 0..<nSlices where rmax[k] >= 0 {
            let d = Double(k) * sliceNM
            if d >= 2 * radius && d <= 4 * radius { pts.append((z(k), rmax[k])) }
        }
        return NeedleShape(apexZNM: zTop, apexRadiusNM: radius, capCentreZNM: zc, shankHalfAngleDeg: shankHalfAngleDeg(pts))
    }

    /// The needle's outline in a projection perpendicular to its axis: what a TEM frame with the beam along
    /// (−sin φ, cos φ, 0) sees, φ = `transverseAzimuthDeg` being the azimuth of the frame's transverse direction
    /// (0: specimen x across the frame and the beam along y, as `FrameGeometry` projects).
    ///
    /// A projection shows, at each height, the extent of the needle across the frame: the outermost atoms of a
    /// 0.25 nm slice along the transverse direction p = x cos φ + y sin φ, on both sides (the support function of
    /// the cross-section in ±p), not its mean radius. The cap is the least-squares circle (Kåsa 1976, centre free in
    /// p and z: p² + z² = 2 p_c p + 2 z_c z + K) through both sides of the outline within 60° of the axis, iterated
    /// like ``measure(atoms:alive:sliceNM:)``; the shank half-angle is that of a line fitted to the half-width
    /// between 2R and 4R below the apex. For a body of revolution this equals ``measure(atoms:alive:sliceNM:)``; an
    /// evaporated cap is faceted, and its outline in one projection differs from the azimuthal mean by up to a few
    /// per cent (it depends on which facets the projection puts on the edge).
    public static func silhouette(atoms: TruthAtoms, alive: [Bool]? = nil, transverseAzimuthDeg: Double = 0,
                                  sliceNM: Double = 0.25) throws -> NeedleShape {
        var zTop = -Double.infinity, zBottom = Double.infinity
        for i in 0..<atoms.count where alive?[i] ?? true {
            zTop = max(zTop, Double(atoms.zNM[i])); zBottom = min(zBottom, Double(atoms.zNM[i]))
        }
        guard zTop > zBottom else { throw TwinError.invalidInput("needle silhouette: fewer than two atoms") }
        let nSlices = Int(((zTop - zBottom) / sliceNM).rounded(.up)) + 1
        let phi = transverseAzimuthDeg * .pi / 180, cp = cos(phi), sp = sin(phi)
        var pMax = [Double](repeating: -.infinity, count: nSlices), pMin = [Double](repeating: .infinity, count: nSlices)
        for i in 0..<atoms.count where alive?[i] ?? true {
            let k = Int((zTop - Double(atoms.zNM[i])) / sliceNM)
            let p = Double(atoms.xNM[i]) * cp + Double(atoms.yNM[i]) * sp
            pMax[k] = max(pMax[k], p); pMin[k] = min(pMin[k], p)
        }
        func z(_ k: Int) -> Double { zTop - (Double(k) + 0.5) * sliceNM }
        func present(_ k: Int) -> Bool { pMax[k] > pMin[k] }
        let k2 = min(nSlices - 1, Int(2 / sliceNM))
        var radius = max(1, present(k2) ? 0.5 * (pMax[k2] - pMin[k2]) : 1)
        var zc = zTop - radius
        for _ in 0..<6 {
            let depth = 0.5 * radius
            // Normal equations of Σ (2 p_c p + 2 z_c z + K − (p² + z²))² over both sides of every slice in the window.
            var a = [Double](repeating: 0, count: 9), b = [0.0, 0.0, 0.0], n = 0
            for k in 1..<nSlices where Double(k) * sliceNM <= depth && present(k) {
                for p in [pMax[k], pMin[k]] {
                    let zz = z(k), row = [2 * p, 2 * zz, 1.0], y = p * p + zz * zz
                    for r in 0..<3 { b[r] += row[r] * y; for c in 0..<3 { a[r * 3 + c] += row[r] * row[c] } }
                    n += 1
                }
            }
            guard n >= 6, let sol = DenseLinearSolve.solve(a, b, n: 3, tolerance: 1e-12) else { break }
            let r2 = sol[2] + sol[0] * sol[0] + sol[1] * sol[1]
            guard r2 > 0 else { break }
            zc = sol[1]; radius = r2.squareRoot()
        }
        var pts: [(z: Double, r: Double)] = []
        for k in 0..<nSlices where present(k) {
            let d = Double(k) * sliceNM
            if d >= 2 * radius && d <= 4 * radius { pts.append((z(k), 0.5 * (pMax[k] - pMin[k]))) }
        }
        return NeedleShape(apexZNM: zTop, apexRadiusNM: radius, capCentreZNM: zc, shankHalfAngleDeg: shankHalfAngleDeg(pts))
    }

    /// Half-angle of the line r(z) fitted by least squares to (z, half-width) points of the shank, degrees; nil with
    /// fewer than 8 points or no spread in z.
    static func shankHalfAngleDeg(_ pts: [(z: Double, r: Double)]) -> Double? {
        guard pts.count >= 8 else { return nil }
        let mz = pts.map(\.z).reduce(0, +) / Double(pts.count), mr = pts.map(\.r).reduce(0, +) / Double(pts.count)
        let sxy = pts.reduce(0) { $0 + ($1.z - mz) * ($1.r - mr) }, sxx = pts.reduce(0) { $0 + ($1.z - mz) * ($1.z - mz) }
        return sxx > 0 ? atan(-sxy / sxx) * 180 / .pi : nil
    }
}
