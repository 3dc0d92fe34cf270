import Foundation

/// A needle: a spherical cap of radius `apexRadiusNM` on a truncated cone of half-angle `shankHalfAngleDeg`.
///
/// Frame: the needle axis is z, pointing towards the detector; the apex is at z = 0 and the base at
/// z = −`lengthNM`. The cone is tangent to the cap sphere (centre at z = −R), so the surface is smooth
/// (the usual "sphere-on-cone" tip model, e.g. Gomer, Field Emission and Field Ionization, 1961).
public struct NeedleGeometry: Sendable, Equatable {
    public var apexRadiusNM: Double
    public var shankHalfAngleDeg: Double
    public var lengthNM: Double

    public init(apexRadiusNM: Double, shankHalfAngleDeg: Double, lengthNM: Double) throws {
        guard apexRadiusNM > 0, apexRadiusNM.isFinite else {
            throw SpecimenError.invalid("apex_radius_nm must be positive, got \(apexRadiusNM)")
        }
        guard (0..<90).contains(shankHalfAngleDeg) else {
            throw SpecimenError.invalid("shank_half_angle_deg must be in 0 ..< 90, got \(shankHalfAngleDeg)")
        }
        guard lengthNM > 0, lengthNM.isFinite else { throw SpecimenError.invalid("length_nm must be positive, got \(lengthNM)") }
        self.apexRadiusNM = apexRadiusNM; self.shankHalfAngleDeg = shankHalfAngleDeg; self.lengthNM = lengthNM
    }

    var alphaRad: Double { shankHalfAngleDeg * .pi / 180 }
    /// z of the circle where the cone touches the cap sphere.
    public var tangencyZNM: Double { -apexRadiusNM - apexRadiusNM * sin(alphaRad) }

    /// Radius of the needle's cross-section at height z (0 above the apex or below the base).
    public func radiusNM(atZ z: Double) -> Double {
        let r = apexRadiusNM
        if z > 0 || z < -lengthNM { return 0 }
        let zt = tangencyZNM
        if z >= zt {
            let dz = z + r
            return max(0, r * r - dz * dz).squareRoot()
        }
        return r * cos(alphaRad) + (zt - z) * tan(alphaRad)
    }

    /// Largest radius of the needle (at its base).
    public var baseRadiusNM: Double { max(radiusNM(atZ: -lengthNM), radiusNM(atZ: min(tangencyZNM, 0))) }

    /// Whether a point lies inside the needle.
    @inlinable
    public func contains(xNM x: Double, yNM y: Double, zNM z: Double) -> Bool {
        if z > 0 || z < -lengthNM { return false }
        let rr = radiusNM(atZ: z)
        return x * x + y * y <= rr * rr
    }

    /// Needle volume, nm³ (numerical integration over z).
    public var volumeNM3: Double {
        let n = 20000
        let h = lengthNM / Double(n)
        var v = 0.0
        for i in 0..<n {
            let z = -lengthNM + (Double(i) + 0.5) * h
            let r = radiusNM(atZ: z)
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
