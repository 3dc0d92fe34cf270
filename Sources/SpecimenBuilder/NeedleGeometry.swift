import Foundation

/// A needle: a cap (spherical or semi-ellipsoidal) on a truncated cone of half-angle `shankHalfAngleDeg`.
///
/// Frame: the needle axis is z, pointing towards the detector; the apex is at z = 0 and the base at
/// z = −`lengthNM`. The cap is the upper part of an ellipsoid of revolution with lateral semi-axis
/// `apexRadiusNM` (a) and axial semi-axis c = `capAxialRatio`·a, centred at z = −c; the cone is tangent to it, so
/// the surface is smooth (the "sphere-on-cone" tip model, Gomer, Field Emission and Field Ionization, 1961, with
/// an elliptical generalisation). For a spherical cap (ratio 1) the apex radius of curvature is a; in general it
/// is a²/c.
public struct NeedleGeometry: Sendable, Equatable {
    public var apexRadiusNM: Double
    public var shankHalfAngleDeg: Double
    public var lengthNM: Double
    public var capAxialRatio: Double

    public init(apexRadiusNM: Double, shankHalfAngleDeg: Double, lengthNM: Double, capAxialRatio: Double = 1) throws {
        guard apexRadiusNM > 0, apexRadiusNM.isFinite else {
            throw SpecimenError.invalid("specimen.apex_radius_nm must be positive, got \(apexRadiusNM)")
        }
        guard shankHalfAngleDeg >= 0, shankHalfAngleDeg < 60 else {
            throw SpecimenError.invalid("specimen.shank_half_angle_deg must be in 0 ..< 60, got \(shankHalfAngleDeg)")
        }
        guard capAxialRatio > 0, capAxialRatio.isFinite else {
            throw SpecimenError.invalid("specimen.cap_axial_ratio must be positive, got \(capAxialRatio)")
        }
        guard lengthNM > 0, lengthNM.isFinite else { throw SpecimenError.invalid("specimen.length_nm must be positive, got \(lengthNM)") }
        self.apexRadiusNM = apexRadiusNM; self.shankHalfAngleDeg = shankHalfAngleDeg; self.lengthNM = lengthNM
        self.capAxialRatio = capAxialRatio
        guard lengthNM >= -tangency.z else {
            throw SpecimenError.invalid("specimen.length_nm = \(lengthNM) nm is shorter than the cap (\(-tangency.z) nm): lengthen the needle or shrink the cap")
        }
    }

    /// The spherical-cap needle of apex radius `apexRadiusNM` and shank half-angle `shankHalfAngleDeg` whose volume
    /// holds about `atoms` atoms at `numberDensityPerNM3` (length found by bisection on the volume, up to
    /// `maxLengthNM`). For benchmarks and tests that want a needle of a given size.
    public static func holding(atoms: Double, numberDensityPerNM3: Double, apexRadiusNM: Double, shankHalfAngleDeg: Double,
                               maxLengthNM: Double = 5000) throws -> NeedleGeometry {
        var lo = apexRadiusNM * 1.01, hi = maxLengthNM
        for _ in 0..<50 {
            let mid = (lo + hi) / 2
            let v = try NeedleGeometry(apexRadiusNM: apexRadiusNM, shankHalfAngleDeg: shankHalfAngleDeg, lengthNM: mid).volumeNM3
            if v * numberDensityPerNM3 < atoms { lo = mid } else { hi = mid }
        }
        return try NeedleGeometry(apexRadiusNM: apexRadiusNM, shankHalfAngleDeg: shankHalfAngleDeg, lengthNM: (lo + hi) / 2)
    }

    var alphaRad: Double { shankHalfAngleDeg * .pi / 180 }
    var capC: Double { capAxialRatio * apexRadiusNM }

    /// The circle where the cone touches the cap: radius and z. At the ellipse point of parameter β above its
    /// equator (r = a cos β, z = −c + c sin β) the slope dr/d(−z) = (a/c) tan β equals tan α.
    var tangency: (r: Double, z: Double) {
        let a = apexRadiusNM, c = capC
        let beta = atan(c / a * tan(alphaRad))
        return (a * cos(beta), -c + c * sin(beta))
    }

    /// z of the circle where the cone touches the cap.
    public var tangencyZNM: Double { tangency.z }

    /// Apex radius of curvature, nm (a²/c).
    public var apexCurvatureRadiusNM: Double { apexRadiusNM * apexRadiusNM / capC }

    /// Radius of the needle's cross-section at height z (0 above the apex or below the base).
    public func radiusNM(atZ z: Double) -> Double {
        if z > 0 || z < -lengthNM { return 0 }
        let t = tangency
        if z >= t.z {
            let u = (z + capC) / capC
            return apexRadiusNM * max(0, 1 - u * u).squareRoot()
        }
        return t.r + (t.z - z) * tan(alphaRad)
    }

    /// Largest radius of the needle (at its base).
    public var baseRadiusNM: Double { max(radiusNM(atZ: -lengthNM), apexRadiusNM) }

    /// Whether a point lies inside the needle.
    public func contains(xNM x: Double, yNM y: Double, zNM z: Double) -> Bool {
        if z > 0 || z < -lengthNM { return false }
        let rr = radiusNM(atZ: z)
        return x * x + y * y <= rr * rr
    }

    /// Depth of a point below the needle's side and cap surface, nm (negative outside). Exact on the cone and on a
    /// spherical cap; on an elliptical cap the algebraic distance scaled by the local gradient (first-order
    /// accurate, used only for thin surface layers). The flat base is not a surface (the needle continues there).
    public func depthBelowSurfaceNM(xNM x: Double, yNM y: Double, zNM z: Double) -> Double {
        let rho = (x * x + y * y).squareRoot()
        let t = tangency
        if z >= t.z {
            let a = apexRadiusNM, c = capC
            if abs(a - c) < 1e-12 {
                let dz = z + c
                return a - (rho * rho + dz * dz).squareRoot()
            }
            let u = rho / a, v = (z + c) / c
            let f = u * u + v * v - 1
            let gx = 2 * rho / (a * a), gz = 2 * (z + c) / (c * c)
            let g = (gx * gx + gz * gz).squareRoot()
            return g > 0 ? -f / g : a
        }
        return (radiusNM(atZ: z) - rho) * cos(alphaRad)
    }

    /// Needle volume, nm³ (numerical integration over z).
    public var volumeNM3: Double {
        let n = 20000
        let h = lengthNM / Double(n)
        var v = 0.0
        for i in 0..<n {
            let r = radiusNM(atZ: -lengthNM + (Double(i) + 0.5) * h)
            v += Double.pi * r * r * h
        }
        return v
    }
}

/// Errors of the specimen builder; messages name the scenario key at fault.
public enum SpecimenError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    public var description: String { if case .invalid(let s) = self { return s }; return "" }
}
