import Foundation

/// A scalar field sampled on a periodic cubic grid, which tiles all of space.
///
/// Node `(ix, iy, iz)` sits at `(ix, iy, iz)·spacingNM` and its value is `values[(ix·ny + iy)·nz + iz]`
/// (row-major, z fastest). The field repeats with period `nx·spacingNM`, `ny·spacingNM`, `nz·spacingNM` along
/// x, y, z, so any point in space has a value: a grid smaller than a needle is tiled over it.
public struct PeriodicScalarGrid: Sendable, Equatable {
    /// Nodes along x, y, z (each ≥ 1).
    public let nx: Int, ny: Int, nz: Int
    /// Distance between neighbouring nodes, nm (the same along all three axes).
    public let spacingNM: Double
    /// Node values, row-major with z fastest; `nx·ny·nz` entries.
    public let values: [Float]

    @usableFromInline let inverseSpacingPerNM: Double

    /// The node counts as a tuple.
    public var dims: (nx: Int, ny: Int, nz: Int) { (nx, ny, nz) }
    /// The period of the field along x, y, z, nm.
    public var periodNM: (x: Double, y: Double, z: Double) {
        (Double(nx) * spacingNM, Double(ny) * spacingNM, Double(nz) * spacingNM)
    }

    /// - Throws: `SpecimenError.invalid` if a count is < 1, the spacing is not positive and finite, or
    ///   `values.count != nx·ny·nz`.
    public init(nx: Int, ny: Int, nz: Int, spacingNM: Double, values: [Float]) throws {
        guard nx >= 1, ny >= 1, nz >= 1 else {
            throw SpecimenError.invalid("grid dims must be >= 1, got \(nx)×\(ny)×\(nz)")
        }
        guard spacingNM > 0, spacingNM.isFinite else {
            throw SpecimenError.invalid("grid spacing_nm must be positive and finite, got \(spacingNM)")
        }
        guard values.count == nx * ny * nz else {
            throw SpecimenError.invalid("grid has \(values.count) values, expected \(nx)×\(ny)×\(nz) = \(nx * ny * nz)")
        }
        self.nx = nx; self.ny = ny; self.nz = nz
        self.spacingNM = spacingNM
        self.values = values
        inverseSpacingPerNM = 1 / spacingNM
    }

    public static func == (a: PeriodicScalarGrid, b: PeriodicScalarGrid) -> Bool {
        a.nx == b.nx && a.ny == b.ny && a.nz == b.nz && a.spacingNM == b.spacingNM && a.values == b.values
    }

    /// The field at a point, by periodic trilinear interpolation between the 8 surrounding nodes.
    ///
    /// Exact at nodes, continuous everywhere, and periodic: `value(x + nx·spacingNM, y, z) == value(x, y, z)`
    /// up to rounding. Coordinates must be finite and below ~10¹⁵ grid steps in magnitude.
    /// - Complexity: O(1), no allocation; a few ns per call.
    @inlinable
    public func value(xNM: Double, yNM: Double, zNM: Double) -> Float {
        let s = inverseSpacingPerNM
        let fx = xNM * s, fy = yNM * s, fz = zNM * s
        let flx = fx.rounded(.down), fly = fy.rounded(.down), flz = fz.rounded(.down)
        let tx = Float(fx - flx), ty = Float(fy - fly), tz = Float(fz - flz)
        var x0 = Int(flx) % nx; if x0 < 0 { x0 += nx }
        var y0 = Int(fly) % ny; if y0 < 0 { y0 += ny }
        var z0 = Int(flz) % nz; if z0 < 0 { z0 += nz }
        let x1 = x0 + 1 == nx ? 0 : x0 + 1
        let y1 = y0 + 1 == ny ? 0 : y0 + 1
        let z1 = z0 + 1 == nz ? 0 : z0 + 1
        return values.withUnsafeBufferPointer { v in
            let r00 = (x0 * ny + y0) * nz, r01 = (x0 * ny + y1) * nz
            let r10 = (x1 * ny + y0) * nz, r11 = (x1 * ny + y1) * nz
            let c00 = v[r00 + z0] + tz * (v[r00 + z1] - v[r00 + z0])
            let c01 = v[r01 + z0] + tz * (v[r01 + z1] - v[r01 + z0])
            let c10 = v[r10 + z0] + tz * (v[r10 + z1] - v[r10 + z0])
            let c11 = v[r11 + z0] + tz * (v[r11 + z1] - v[r11 + z0])
            let c0 = c00 + ty * (c01 - c00)
            let c1 = c10 + ty * (c11 - c10)
            return c0 + tx * (c1 - c0)
        }
    }

    /// Mean of the node values (accumulated in Double).
    public var mean: Double {
        var s = 0.0
        for v in values { s += Double(v) }
        return s / Double(values.count)
    }

    /// Population standard deviation of the node values, √(Σ(v − mean)²/N) (accumulated in Double).
    public var standardDeviation: Double {
        let m = mean
        var s = 0.0
        for v in values { let d = Double(v) - m; s += d * d }
        return (s / Double(values.count)).squareRoot()
    }
}
