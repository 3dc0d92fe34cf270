import Foundation
import TwinCore

/// Where the needle lies in a frame: the beam runs along specimen y, so the image plane holds specimen x and z.
///
/// Image coordinates: u to the right, v down, in pixels from the top-left corner. The needle axis (specimen +z,
/// towards the apex) points along `needleDirectionDeg` measured from +u towards +v (−90° = pointing up), and the
/// specimen point (0, ·, `apexZNM`) — the initial apex — sits at pixel (`apexU`, `apexV`).
public struct FrameGeometry: Sendable, Codable, Equatable {
    public var width: Int
    public var height: Int
    public var pixelNM: Double
    public var needleDirectionDeg: Double
    public var apexU: Double
    public var apexV: Double
    /// Specimen z placed at (apexU, apexV).
    public var apexZNM: Double

    public init(width: Int, height: Int, pixelNM: Double, needleDirectionDeg: Double = -90, apexU: Double? = nil,
                apexV: Double? = nil, apexZNM: Double = 0) {
        self.width = width; self.height = height; self.pixelNM = pixelNM; self.needleDirectionDeg = needleDirectionDeg
        self.apexU = apexU ?? Double(width) / 2
        self.apexV = apexV ?? Double(height) / 4
        self.apexZNM = apexZNM
    }

    /// Pixel coordinates (u, v) of a specimen point (x, z).
    @inline(__always)
    public func pixel(xNM: Double, zNM: Double) -> (u: Double, v: Double) {
        let t = needleDirectionDeg * .pi / 180
        let a = (zNM - apexZNM) / pixelNM, b = xNM / pixelNM
        // axis direction (cos t, sin t); specimen x along (−sin t, cos t)
        return (apexU + a * cos(t) - b * sin(t), apexV + a * sin(t) + b * cos(t))
    }

    /// Specimen (x, z) of a pixel position.
    public func specimen(u: Double, v: Double) -> (xNM: Double, zNM: Double) {
        let t = needleDirectionDeg * .pi / 180
        let du = u - apexU, dv = v - apexV
        let a = du * cos(t) + dv * sin(t), b = -du * sin(t) + dv * cos(t)
        return (b * pixelNM, apexZNM + a * pixelNM)
    }
}

/// Projected thickness of an atomistic needle.
///
/// Each atom is a volume Ω (the atomic volume of its lattice). Depositing atoms on an oversampled grid (cloud-in-cell
/// weights) and multiplying by Ω/(pixel area) gives the thickness t(u, v) traversed by the beam; a Gaussian of σ = Ω^(1/3)
/// (≈ 0.23 nm for Fe, the instrument's point resolution) turns the discrete columns into a continuous density
/// (lattice fringes of 0.2 nm lie beyond the 0.48 nm Nyquist period of the camera), applied after the oversampled
/// map is averaged down to the frame pixels. Atoms are split into materials by a caller-supplied class (e.g. surface layer
/// vs body), one map each.
public enum ProjectedThickness {
    /// - Parameters:
    ///   - material: material index of each atom (nil: all atoms in material 0); atoms with a negative index are skipped.
    ///   - alive: atoms still present (nil: all).
    /// - Returns: one row-major width×height map per material, nm.
    public static func maps(atoms: TruthAtoms, alive: [Bool]? = nil, material: [Int8]? = nil, materialCount: Int = 1,
                            atomicVolumeNM3: Double, geometry g: FrameGeometry, oversample: Int = 2, threads: Int = 2) -> [[Float]] {
        let os = max(1, oversample)
        let W = g.width * os, H = g.height * os
        let subNM = g.pixelNM / Double(os)
        let t = g.needleDirectionDeg * .pi / 180
        let ct = cos(t), st = sin(t)
        let scale = 1 / subNM
        let u0 = g.apexU * Double(os), v0 = g.apexV * Double(os)
        let n = atoms.count
        // Deposit atoms on the oversampled grid with cloud-in-cell (bilinear) weights, which removes the beat between
        // lattice planes and grid rows; weights are fixed-point integers (1/1024), so sums are exact and the result is
        // the same whatever the partition of the atoms over threads.
        let workers = max(1, min(threads, 8))
        let per = (n + workers - 1) / workers
        let partial = ParallelChunks.map(count: n, chunkSize: max(1, per), threads: workers) { _, r -> [[Int32]] in
            var c = [[Int32]](repeating: [Int32](repeating: 0, count: W * H), count: materialCount)
            for i in r {
                if let alive, !alive[i] { continue }
                let m = material.map { Int($0[i]) } ?? 0
                if m < 0 || m >= materialCount { continue }
                let a = (Double(atoms.zNM[i]) - g.apexZNM) * scale, b = Double(atoms.xNM[i]) * scale
                let u = u0 + a * ct - b * st - 0.5, v = v0 + a * st + b * ct - 0.5
                guard u >= -1, v >= -1, u < Double(W), v < Double(H) else { continue }
                let iu = Int(u.rounded(.down)), iv = Int(v.rounded(.down))
                let fu = Int32(((u - Double(iu)) * 1024).rounded()), fv = Int32(((v - Double(iv)) * 1024).rounded())
                // (Swift's >> binds tighter than *: the products are parenthesised.)
                let w00 = ((1024 - fu) * (1024 - fv)) >> 10, w10 = (fu * (1024 - fv)) >> 10
                let w01 = ((1024 - fu) * fv) >> 10, w11 = (fu * fv) >> 10
                for (du, dv, w) in [(0, 0, w00), (1, 0, w10), (0, 1, w01), (1, 1, w11)] where w != 0 {
                    let x = iu + du, y = iv + dv
                    if x >= 0, y >= 0, x < W, y < H { c[m][y * W + x] &+= w }
                }
            }
            return c
        }
        let perAtom = atomicVolumeNM3 / (subNM * subNM)
        // The smoothing Gaussian is applied after averaging down to the frame pixels (convolution and box averaging
        // commute up to the decimation; σ ≈ 1 pixel is well sampled), which is 4–8× cheaper than blurring the
        // oversampled grid.
        let sigmaPx = pow(atomicVolumeNM3, 1.0 / 3.0) / g.pixelNM
        var out: [[Float]] = []
        for m in 0..<materialCount {
            var sum = [Int32](repeating: 0, count: W * H)
            for p in partial { for k in 0..<(W * H) where p[m][k] != 0 { sum[k] &+= p[m][k] } }
            var map = [Float](repeating: 0, count: g.width * g.height)
            let norm = Float(perAtom) / Float(os * os) / 1024
            for y in 0..<g.height {
                for x in 0..<g.width {
                    var acc: Int64 = 0
                    for dy in 0..<os { for dx in 0..<os { acc += Int64(sum[(y * os + dy) * W + x * os + dx]) } }
                    map[y * g.width + x] = Float(acc) * norm
                }
            }
            out.append(gaussianBlur(map, width: g.width, height: g.height, sigmaPx: sigmaPx, threads: threads))
        }
        return out
    }

    /// The needle continued below its atomistic base as a solid cone of the shank's half-angle, matched to
    /// ``maps(atoms:alive:material:materialCount:atomicVolumeNM3:geometry:oversample:threads:)`` so that the two join
    /// without a seam. Its top and base radius come from the atoms' own volume: the volume of the atoms less than e
    /// above the lowest one, V(e) for e = 0.5 … 3 nm, is fitted with a parabola; its zero is where a continuous body
    /// of that volume would end (about half a layer below the lowest atom, whose volume reaches that far), and its
    /// slope there is the base's area. The cone is blurred with the same Gaussian as the atoms' map. A sharp cone of
    /// the nominal radius starting at the lowest atom drew a bright-and-dark line across the needle.
    ///   - atomMap: the atoms' own map (from `maps`), if at hand: the top is then moved to where its thickness along the
    ///     axis falls to half, so that the two blurred edges meet at the same height (an offset of a sixth of a pixel
    ///     already leaves a 7 % dip).
    public static func coneBelow(atoms: TruthAtoms, atomicVolumeNM3: Double, halfAngleDeg: Double, geometry g: FrameGeometry,
                                 atomMap: [Float]? = nil, threads: Int = 2) -> [Float] {
        guard let zMin = atoms.zNM.min() else { return [Float](repeating: 0, count: g.width * g.height) }
        let zb = Double(zMin), h = 3.0, omega = atomicVolumeNM3
        let tanA = tan(halfAngleDeg * .pi / 180)
        // Volume of the atoms below zb + e, V(e), for e = 0.5 … 3 nm: a body with a flat base at `top` and area
        // A(z) = A₀ − c(z − zb) gives V(e) = A₀(e + zb − top) − …, a parabola in e whose value extrapolated to
        // e = top − zb is zero. Fitting it by least squares on a fine grid averages over the atomic layers.
        var zs: [Double] = []
        for z in atoms.zNM where Double(z) < zb + h { zs.append(Double(z) - zb) }
        zs.sort()
        var es: [Double] = [], vs: [Double] = []
        var j = 0
        for k in 0...250 {
            let e = 0.5 + Double(k) * 0.01
            while j < zs.count, zs[j] < e { j += 1 }
            es.append(e); vs.append(Double(j) * omega)
        }
        // Quadratic least squares V = p0 + p1 e + p2 e² (normal equations, centred for conditioning).
        let me = es.reduce(0, +) / Double(es.count)
        var m = [[Double]](repeating: [0, 0, 0], count: 3), rhs = [0.0, 0.0, 0.0]
        for (e, v) in zip(es, vs) {
            let x = e - me, basis = [1, x, x * x]
            for r in 0..<3 { rhs[r] += basis[r] * v; for c in 0..<3 { m[r][c] += basis[r] * basis[c] } }
        }
        var top = zb, rBase = (Double(zs.count) * omega / (.pi * h)).squareRoot() + 0.5 * h * tanA
        if let p = DenseLinearSolve.solve(m.flatMap { $0 }, rhs, n: 3), p[1] > 0 {
            // Root of p0 + p1 x + p2 x² nearest the base (x = e − me), by Newton from the linear root.
            var x = -p[0] / p[1]
            for _ in 0..<20 { let f = p[0] + p[1] * x + p[2] * x * x, d = p[1] + 2 * p[2] * x; if d != 0 { x -= f / d } }
            let offset = x + me                                 // top − zb
            if offset.isFinite, abs(offset) < pow(omega, 1.0 / 3.0) {
                top = zb + offset
                let areaAtTop = p[1] + 2 * p[2] * x             // dV/de at the base
                if areaAtTop > 0 { rBase = (areaAtTop / .pi).squareRoot() - offset * tanA }
            }
        }
        if let map = atomMap, map.count == g.width * g.height, let edge = halfThicknessHeight(map, geometry: g, zBase: zb, radiusNM: rBase),
           abs(edge - top) < pow(omega, 1.0 / 3.0) {
            top = edge
        }
        let cone = analytic(radiusAtZ: { z in z < top ? rBase + (zb - z) * tanA : 0 }, geometry: g, subsamples: 2, fineNearZ: top)
        return gaussianBlur(cone, width: g.width, height: g.height, sigmaPx: pow(omega, 1.0 / 3.0) / g.pixelNM, threads: threads)
    }

    /// Height near `zBase` where the map's thickness within 0.3 r of the axis falls to half its mean 1–2 nm above the
    /// base (linear interpolation between samples 0.02 nm apart); nil if the base is not in the frame.
    static func halfThicknessHeight(_ map: [Float], geometry g: FrameGeometry, zBase: Double, radiusNM r: Double) -> Double? {
        func mean(atZ z: Double) -> Double? {
            var acc = 0.0, n = 0
            var x = -0.3 * r
            while x <= 0.3 * r {
                let p = g.pixel(xNM: x, zNM: z)
                if let t = bilinearSample(map, g.width, g.height, u: p.u - 0.5, v: p.v - 0.5) { acc += t; n += 1 }
                x += 0.5 * g.pixelNM
            }
            return n > 0 ? acc / Double(n) : nil
        }
        var ref = 0.0, nRef = 0
        var z = zBase + 1
        while z <= zBase + 2 { if let m = mean(atZ: z) { ref += m; nRef += 1 }; z += 0.05 }
        guard nRef > 0, ref > 0 else { return nil }
        let half = 0.5 * ref / Double(nRef)
        var zHi = zBase + 1, previous = mean(atZ: zHi)
        while zHi > zBase - 1.5 {
            let zLo = zHi - 0.02
            guard let a = previous, let b = mean(atZ: zLo) else { return nil }
            if a >= half, b < half { return zLo + 0.02 * (half - b) / (a - b) }
            previous = b; zHi = zLo
        }
        return nil
    }

    /// Analytic projected thickness of a body of revolution about the needle axis with radius profile r(z):
    /// the chord 2√(r(z)² − x²) at each pixel, averaged over `subsamples`² points per pixel.
    /// - Parameter fineNearZ: pixels whose centre lies within 1.5 pixels of this specimen z are averaged over 16 × 16
    ///   points instead (a sharp end of the body there lands within 1/16 pixel of its place).
    public static func analytic(radiusAtZ: (Double) -> Double, geometry g: FrameGeometry, subsamples: Int = 4,
                                fineNearZ: Double? = nil) -> [Float] {
        var map = [Float](repeating: 0, count: g.width * g.height)
        for v in 0..<g.height {
            for u in 0..<g.width {
                var s = max(1, subsamples)
                if let zf = fineNearZ, abs(g.specimen(u: Double(u) + 0.5, v: Double(v) + 0.5).zNM - zf) < 1.5 * g.pixelNM { s = 16 }
                var acc = 0.0
                for j in 0..<s { for i in 0..<s {
                    let p = g.specimen(u: Double(u) + (Double(i) + 0.5) / Double(s), v: Double(v) + (Double(j) + 0.5) / Double(s))
                    let r = radiusAtZ(p.zNM)
                    if r > abs(p.xNM) { acc += 2 * (r * r - p.xNM * p.xNM).squareRoot() }
                } }
                map[v * g.width + u] = Float(acc / Double(s * s))
            }
        }
        return map
    }
}

/// Separable Gaussian blur (kernel truncated at 4σ, edges treated as vacuum), rows split over threads in fixed
/// blocks so the result does not depend on the thread count.
func gaussianBlur(_ img: [Float], width w: Int, height h: Int, sigmaPx: Double, threads: Int = 1) -> [Float] {
    guard sigmaPx > 0.05 else { return img }
    let r = Int((4 * sigmaPx).rounded(.up))
    var kernel = (-r...r).map { Float(exp(-0.5 * Double($0 * $0) / (sigmaPx * sigmaPx))) }
    let sum = kernel.reduce(0, +)
    kernel = kernel.map { $0 / sum }
    let k = kernel
    let rows = ParallelChunks.map(count: h, chunkSize: 64, threads: threads) { _, range -> [Float] in
        var out = [Float](repeating: 0, count: range.count * w)
        for (ri, y) in range.enumerated() {
            for x in 0..<w {
                var a: Float = 0
                let lo = max(-r, -x), hi = min(r, w - 1 - x)
                if lo <= hi { for d in lo...hi { a += k[d + r] * img[y * w + x + d] } }
                out[ri * w + x] = a
            }
        }
        return out
    }
    let tmp = rows.flatMap { $0 }
    let cols = ParallelChunks.map(count: h, chunkSize: 64, threads: threads) { _, range -> [Float] in
        var out = [Float](repeating: 0, count: range.count * w)
        for (ri, y) in range.enumerated() {
            let lo = max(-r, -y), hi = min(r, h - 1 - y)
            guard lo <= hi else { continue }
            for d in lo...hi {
                let kk = k[d + r]
                let base = (y + d) * w
                for x in 0..<w { out[ri * w + x] += kk * tmp[base + x] }
            }
        }
        return out
    }
    return cols.flatMap { $0 }
}
