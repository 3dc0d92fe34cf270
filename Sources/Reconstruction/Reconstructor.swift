import Foundation
import TwinCore

/// Where the apex radius R of each ion comes from.
public enum RadiusModel: Sendable, Equatable {
    /// Bas et al.: R = V_DC/(k_f F) from the standing voltage of each ion.
    case voltage(fieldFactorKf: Double, evaporationFieldVPerNM: Double)
    /// Shank-angle evolution: R starts at R0 and grows with depth, dR/dz = sin α/(1 − sin α). No voltages needed.
    case shank(initialRadiusNM: Double, shankHalfAngleDeg: Double)
    /// Measured (TEM) or true (oracle) apex geometry as a function of ion index.
    case timeline(GeometryTimeline)
}

/// What to do with ions whose inputs cannot be reconstructed (non-finite detector coordinates; for the voltage
/// model, a non-finite or non-positive V_DC).
public enum InvalidIonPolicy: String, Sendable, CaseIterable {
    /// Throw `TwinError.invalidInput` naming the first bad ion and the number of bad ions (default).
    case reject
    /// Remove them before reconstruction: they add no depth, do not appear in the output, and the kept source rows
    /// are listed in ``ReconstructedIons/sourceIndex``. Timeline knots then count kept ions.
    case drop
}

/// Everything a reconstruction needs besides the detector data.
public struct ReconstructionSetup: Sendable, Equatable {
    public var projection: ProjectionModel
    public var radius: RadiusModel
    /// Image compression factor ξ, in the convention of ``projection``.
    public var imageCompression: Double
    /// Volume per atom Ω, nm³.
    public var atomicVolumeNM3: Double
    /// Detection efficiency η.
    public var detectionEfficiency: Double
    /// Flight path L, mm.
    public var flightPathMM: Double
    /// Active detector diameter D, mm (the analysed area on the specimen is the image of the disc of radius D/2).
    public var detectorDiameterMM: Double
    public var invalidIons: InvalidIonPolicy = .reject

    public init(projection: ProjectionModel, radius: RadiusModel, imageCompression: Double, atomicVolumeNM3: Double,
                detectionEfficiency: Double, flightPathMM: Double, detectorDiameterMM: Double,
                invalidIons: InvalidIonPolicy = .reject) {
        self.projection = projection; self.radius = radius; self.imageCompression = imageCompression
        self.atomicVolumeNM3 = atomicVolumeNM3; self.detectionEfficiency = detectionEfficiency
        self.flightPathMM = flightPathMM; self.detectorDiameterMM = detectorDiameterMM; self.invalidIons = invalidIons
    }

    /// Checks every scalar parameter.
    public func validate() throws {
        var checks: [(String, Double)] = [("icf", imageCompression), ("atomic_volume_nm3", atomicVolumeNM3),
                                          ("efficiency", detectionEfficiency), ("flight_path_mm", flightPathMM),
                                          ("detector_diameter_mm", detectorDiameterMM)]
        switch radius {
        case .voltage(let kf, let f): checks += [("kf", kf), ("evaporation_field_v_per_nm", f)]
        case .shank(let r0, let a):
            checks.append(("initial_radius_nm", r0))
            guard a.isFinite, a >= 0, a < 60 else {
                throw TwinError.invalidInput("reconstruction parameter shank_angle_deg must lie in [0, 60), got \(a)")
            }
        case .timeline: break
        }
        for (k, v) in checks where !(v.isFinite && v > 0) {
            throw TwinError.invalidInput("reconstruction parameter \(k) must be positive and finite, got \(v)")
        }
        guard detectionEfficiency <= 1 else {
            throw TwinError.invalidInput("reconstruction parameter efficiency must be ≤ 1, got \(detectionEfficiency)")
        }
        if projection == .pointProjection && imageCompression < 1 {
            throw TwinError.invalidInput("the point-projection (Geiser) model needs icf ≥ 1 (projection point behind the centre), got \(imageCompression)")
        }
    }
}

/// Reconstructed positions in the specimen frame of the twin: x, y across the needle, z along its axis towards the
/// detector; the surface at the first ion is at z = 0 and depth grows towards −z.
public struct ReconstructedIons: Sendable, Equatable {
    public var xNM: [Float]
    public var yNM: [Float]
    public var zNM: [Float]
    /// Apex radius used for each ion, nm.
    public var radiusNM: [Float]
    /// Source row of each output ion when ions were dropped (``InvalidIonPolicy/drop``); nil if every ion was kept.
    public var sourceIndex: [Int]?
    /// Total reconstructed depth, nm.
    public var depthNM: Double
    /// Facts a report should show (dropped ions, clamped angles, …).
    public var notes: [String]
    public var count: Int { xNM.count }
}

/// The reconstruction engine shared by every protocol.
///
/// Per ion i with detector hit (X, Y) at r_D = √(X² + Y²) and apex radius R_i:
/// 1. polar launch angle θ from ``ProjectionModel`` (with its ξ convention);
/// 2. launch site on the cap: ρ = R_i sin θ, h = R_i(1 − cos θ) for a hemisphere, or (ρ, h) = R_i·(ρ/R, h/R)(θ)
///    from a measured ``ApexShape``; x = ρ X/r_D, y = ρ Y/r_D;
/// 3. depth: the analysed area is the image of the detector disc, πρ_max² with ρ_max = R_i s_max (s_max = ρ/R at
///    the detector edge), so each detected ion removes dz_i = Ω/(η π ρ_max²) = Ω/(η π s_max² R_i²); for the linear
///    (Bas) projection s_max = ξ D/(2L) and this is exactly Bas's dz = Ω L² k_f² F²/(A_D η ξ² V²);
/// 4. z_i = −Σ_{j≤i} dz_j − h.
///
/// The depth is a prefix sum, computed in two passes over fixed chunks (per-chunk sums, then positions), so the
/// result does not depend on the thread count and a chunked stream gives exactly the same numbers
/// (``StreamingState``). For the shank model the ODE dR/dN = c·dz/dN with c = sin α/(1 − sin α) and
/// dz/dN = K/R², K = Ω/(η π s_max²), integrates in closed form: R(N)³ = R0³ + 3cKN, depth(N) = (R(N) − R0)/c
/// (N = ions detected so far, including ion i), so no scan is needed.
///
/// Angle → site maps are tabulated (8192 nodes in r_D up to 1.25 × D/2; linear interpolation, relative error
/// < 10⁻⁸ for the shipped models); hits beyond the table use the exact functions.
public enum Reconstructor {
    /// Ions per chunk (fixed: results do not depend on the thread count).
    public static let chunkSize = 1 << 16

    /// Reconstructs an acquisition (needs `detectorXMM`, `detectorYMM`; the voltage model also `vDCV`).
    ///
    /// - Throws: `TwinError.invalidInput` for bad parameters, missing columns, or (with ``InvalidIonPolicy/reject``)
    ///   the first ion with a non-finite detector coordinate or a non-positive voltage.
    public static func reconstruct(_ acq: Acquisition, _ setup: ReconstructionSetup,
                                   threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> ReconstructedIons {
        try setup.validate()
        let n = acq.count
        guard n > 0 else { throw TwinError.invalidInput("reconstruction: the acquisition has no ions") }
        guard acq.detectorXMM.count == n, acq.detectorYMM.count == n else {
            throw TwinError.invalidInput("reconstruction needs detector coordinates for every ion (present: \(acq.presentColumns.joined(separator: ", ")))")
        }
        let needsV: Bool
        if case .voltage = setup.radius { needsV = true } else { needsV = false }
        if needsV && acq.vDCV.count != n {
            throw TwinError.invalidInput("the voltage (Bas) protocol needs v_dc_v for every ion; use the shank protocol for data without voltages")
        }
        var xs = acq.detectorXMM, ys = acq.detectorYMM, vs = needsV ? acq.vDCV : []
        var notes: [String] = []
        let bad = invalidRows(xs, ys, needsV ? vs : nil, threads: threads)
        var sourceIndex: [Int]? = nil
        if !bad.isEmpty {
            let first = bad[0]
            let why = !(xs[first].isFinite && ys[first].isFinite) || !needsV
                ? "detector coordinates (\(xs[first]), \(ys[first])) mm are not finite"
                : "v_dc_v = \(vs[first]) V is not a positive voltage"
            switch setup.invalidIons {
            case .reject:
                throw TwinError.invalidInput("ion \(first): \(why) (\(bad.count) invalid ions in total; use the drop policy to skip them)")
            case .drop:
                var keep = [Bool](repeating: true, count: n)
                for b in bad { keep[b] = false }
                let idx = (0..<n).filter { keep[$0] }
                guard !idx.isEmpty else { throw TwinError.invalidInput("reconstruction: all \(n) ions are invalid (first: ion \(first): \(why))") }
                xs = idx.map { xs[$0] }; ys = idx.map { ys[$0] }
                if needsV { vs = idx.map { vs[$0] } }
                sourceIndex = idx
                notes.append("dropped \(bad.count) of \(n) ions with invalid inputs (first: ion \(first): \(why))")
            }
        }
        let plan = try Plan(setup)
        let m = xs.count
        if case .timeline(let t) = setup.radius, let per = t.perIonRadiusNM, per.count != m {
            throw TwinError.invalidInput("geometry timeline has \(per.count) per-ion radii for \(m) reconstructed ions")
        }
        // Every row of every output column is written by pass 2 before anyone reads it: no zero fill.
        func column() -> [Float] { [Float](unsafeUninitializedCapacity: m) { _, k in k = m } }
        var out = ReconstructedIons(xNM: column(), yNM: column(), zNM: column(), radiusNM: column(),
                                    sourceIndex: sourceIndex, depthNM: 0, notes: notes)
        let depth = xs.withUnsafeBufferPointer { xb in ys.withUnsafeBufferPointer { yb in vs.withUnsafeBufferPointer { vb in
            out.xNM.withUnsafeMutableBufferPointer { ox in out.yNM.withUnsafeMutableBufferPointer { oy in
            out.zNM.withUnsafeMutableBufferPointer { oz in out.radiusNM.withUnsafeMutableBufferPointer { orad in
                let input = ChunkInput(x: xb.baseAddress!, y: yb.baseAddress!, v: vb.baseAddress)
                let output = ChunkOutput(x: ox.baseAddress!, y: oy.baseAddress!, z: oz.baseAddress!, r: orad.baseAddress)
                return plan.run(input, output, count: m, firstIon: 0, startDepthNM: 0, threads: threads)
            } } } }
        } } }
        out.depthNM = depth
        return out
    }

    /// Row indices with non-finite detector coordinates or (if `v` is given) non-positive voltages, ascending.
    static func invalidRows(_ x: [Float], _ y: [Float], _ v: [Float]?, threads: Int) -> [Int] {
        let n = x.count
        let parts = x.withUnsafeBufferPointer { xb in y.withUnsafeBufferPointer { yb in
            let xp = UnsafeSendable(xb.baseAddress!), yp = UnsafeSendable(yb.baseAddress!)
            return (v ?? []).withUnsafeBufferPointer { vb in
                let vp = v == nil ? nil : vb.baseAddress.map { UnsafeSendable($0) }
                return ParallelChunks.map(count: n, chunkSize: chunkSize, threads: threads) { _, r -> [Int] in
                    var bad: [Int] = []
                    for i in r {
                        let ok = xp.p[i].isFinite && yp.p[i].isFinite && (vp.map { $0.p[i].isFinite && $0.p[i] > 0 } ?? true)
                        if !ok { bad.append(i) }
                    }
                    return bad
                }
            }
        } }
        return parts.flatMap { $0 }
    }
}

/// A raw pointer handed to parallel chunks that touch disjoint ranges.
struct UnsafeSendable<T>: @unchecked Sendable { let p: UnsafeMutablePointer<T>
    init(_ p: UnsafeMutablePointer<T>) { self.p = p }
    init(_ p: UnsafePointer<T>) { self.p = UnsafeMutablePointer(mutating: p) }
}

struct ChunkInput: @unchecked Sendable {
    let x: UnsafePointer<Float>, y: UnsafePointer<Float>, v: UnsafePointer<Float>?
}
struct ChunkOutput: @unchecked Sendable {
    let x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>, z: UnsafeMutablePointer<Float>
    let r: UnsafeMutablePointer<Float>?
}

/// A tabulated map r_D (mm) ↦ (ρ/(R r_D), h/R) for one projection model and one cap shape.
struct SiteTable: Sendable {
    let rMaxMM: Double
    let invStep: Double
    /// ρ/(R·r_D) per node (so x = R · g · X), mm⁻¹.
    let g: [Float]
    /// h/R per node.
    let h: [Float]
    /// (g, h) interleaved, for one cache access per lookup in the hot loop.
    let gh: [SIMD2<Float>]
    /// ρ/R at the detector edge r_D = D/2.
    let sMax: Double
    let projection: ProjectionModel
    let xi: Double, lMM: Double
    let shape: ApexShape?
    static let nodes = 8192

    init(projection: ProjectionModel, xi: Double, flightPathMM l: Double, detectorRadiusMM rd: Double, shape: ApexShape?) {
        self.projection = projection; self.xi = xi; self.lMM = l; self.shape = shape
        rMaxMM = 1.25 * rd
        let n = SiteTable.nodes
        invStep = Double(n - 1) / rMaxMM
        var g = [Float](repeating: 0, count: n + 1), h = [Float](repeating: 0, count: n + 1)
        for k in 0...n {
            let r = Double(min(k, n - 1)) / invStep
            let (rho, sag) = SiteTable.exact(rDetMM: r, projection: projection, xi: xi, l: l, shape: shape)
            g[k] = Float(r > 0 ? rho / r : SiteTable.slopeAtZero(projection: projection, xi: xi, l: l, shape: shape))
            h[k] = Float(sag)
        }
        self.g = g; self.h = h
        gh = (0...n).map { SIMD2(g[$0], h[$0]) }
        sMax = SiteTable.exact(rDetMM: rd, projection: projection, xi: xi, l: l, shape: shape).rho
    }

    /// (ρ/R, h/R) of the site seen at r_D, exactly.
    static func exact(rDetMM r: Double, projection: ProjectionModel, xi: Double, l: Double, shape: ApexShape?) -> (rho: Double, sag: Double) {
        if projection == .linear && shape == nil {
            let s = min(1, r * xi / l)
            return (s, 1 - (1 - s * s).squareRoot())
        }
        let t = min(Double.pi / 2, projection.theta(rDetMM: r, flightPathMM: l, xi: xi))
        if let shape { return shape.site(thetaRad: t) }
        return (sin(t), 1 - cos(t))
    }

    static func slopeAtZero(projection: ProjectionModel, xi: Double, l: Double, shape: ApexShape?) -> Double {
        let r = 1e-6
        return exact(rDetMM: r, projection: projection, xi: xi, l: l, shape: shape).rho / r
    }

    /// As ``lookup(_:)`` with the interleaved table's base pointer held by the caller across a loop.
    @inline(__always)
    func lookup(_ ghp: UnsafePointer<SIMD2<Float>>, _ r: Double) -> (g: Double, h: Double) {
        let u = r * invStep
        if u < Double(SiteTable.nodes - 1) {
            let k = Int(u)
            let w = Float(u - Double(k))
            let a = ghp[k], b = ghp[k + 1]
            let v = a + w * (b - a)
            return (Double(v.x), Double(v.y))
        }
        let (rho, sag) = SiteTable.exact(rDetMM: r, projection: projection, xi: xi, l: lMM, shape: shape)
        return (rho / r, sag)
    }

    /// (g, h) at r_D by linear interpolation, or exactly beyond the table.
    @inline(__always)
    func lookup(_ r: Double) -> (g: Double, h: Double) {
        let u = r * invStep
        if u < Double(SiteTable.nodes - 1) {
            let k = Int(u)
            let w = u - Double(k)
            return g.withUnsafeBufferPointer { gp in h.withUnsafeBufferPointer { hp in
                (Double(gp[k]) + w * Double(gp[k + 1] - gp[k]), Double(hp[k]) + w * Double(hp[k + 1] - hp[k]))
            } }
        }
        let (rho, sag) = SiteTable.exact(rDetMM: r, projection: projection, xi: xi, l: lMM, shape: shape)
        return (rho / r, sag)
    }
}

/// A validated setup turned into tables and constants.
struct Plan: Sendable {
    enum Kind: Sendable { case voltage(invKfF: Double), shank(r0: Double, c: Double), knots, perIon([Float], apexZ: [Float]?) }
    let kind: Kind
    /// One table per timeline knot with a shape, or a single table.
    let tables: [SiteTable]
    let knotIndex: [Double]
    let knotRadius: [Double]
    /// dz = kDepth / (sMax² R²) with kDepth = Ω/(η π).
    let kDepth: Double
    let linearSphere: Bool
    let gLinear: Double

    init(_ s: ReconstructionSetup) throws {
        let rd = s.detectorDiameterMM / 2
        kDepth = s.atomicVolumeNM3 / (s.detectionEfficiency * Double.pi)
        var shapes: [ApexShape?] = [nil]
        switch s.radius {
        case .voltage(let kf, let f): kind = .voltage(invKfF: 1 / (kf * f)); knotIndex = []; knotRadius = []
        case .shank(let r0, let a):
            let sa = sin(a * Double.pi / 180)
            kind = .shank(r0: r0, c: sa / (1 - sa)); knotIndex = []; knotRadius = []
        case .timeline(let t):
            if let per = t.perIonRadiusNM {
                kind = .perIon(per, apexZ: t.perIonApexZNM)
            } else {
                kind = .knots
            }
            knotIndex = t.ionIndex; knotRadius = t.apexRadiusNM
            if let sh = t.shapes { shapes = sh.map { Optional($0) } }
        }
        linearSphere = s.projection == .linear && shapes.allSatisfy { $0 == nil }
        gLinear = s.imageCompression / s.flightPathMM
        tables = shapes.map { SiteTable(projection: s.projection, xi: s.imageCompression, flightPathMM: s.flightPathMM,
                                         detectorRadiusMM: rd, shape: $0) }
        for t in tables where !(t.sMax > 0) {
            throw TwinError.invalidInput("reconstruction: the detector edge maps to ρ/R = \(t.sMax): no analysed area")
        }
    }

    func initialCursor(_ i: Int) -> Int {
        var lo = 0, hi = knotIndex.count
        while lo < hi { let m = (lo + hi) / 2; if knotIndex[m] <= Double(i) { lo = m + 1 } else { hi = m } }
        return max(0, lo - 1)
    }

    /// Splits local ion range `range` (global index = firstIon + local) into runs on which the radius and the shape
    /// blend weight are linear in the global index: R = r0 + dr·g, w = w0 + dw·g, between knots `k` and `k + 1`.
    @inline(__always)
    func segments(_ range: Range<Int>, firstIon: Int,
                  _ body: (Range<Int>, _ r0: Double, _ dr: Double, _ k: Int, _ w0: Double, _ dw: Double) -> Void) {
        let n = knotIndex.count
        var g = firstIon + range.lowerBound
        let gEnd = firstIon + range.upperBound
        var j = initialCursor(g)
        while g < gEnd {
            let fg = Double(g)
            if fg < knotIndex[0] {
                let stop = min(gEnd, Int(knotIndex[0].rounded(.up)))
                body((g - firstIon)..<(stop - firstIon), knotRadius[0], 0, 0, 0, 0); g = stop; continue
            }
            while j + 1 < n && knotIndex[j + 1] <= fg { j += 1 }
            if j + 1 >= n {
                body((g - firstIon)..<(gEnd - firstIon), knotRadius[n - 1], 0, n - 1, 0, 0); return
            }
            let a = knotIndex[j], b = knotIndex[j + 1]
            let stop = min(gEnd, max(g + 1, Int(b.rounded(.up))))
            let dw = b > a ? 1 / (b - a) : 0
            let dr = (knotRadius[j + 1] - knotRadius[j]) * dw
            body((g - firstIon)..<(stop - firstIon), knotRadius[j] - dr * a, dr, j, -a * dw, dw)
            g = stop
        }
    }

    /// Depth added by ions [first, first + count) of a chunk (pass 1).
    func depthSum(_ input: ChunkInput, range: Range<Int>, firstIon: Int) -> Double {
        switch kind {
        case .shank(let r0, let c): return shankDepth(Double(firstIon + range.upperBound), r0, c) - shankDepth(Double(firstIon + range.lowerBound), r0, c)
        case .voltage(let invKfF):
            let k = kDepth / (tables[0].sMax * tables[0].sMax) / (invKfF * invKfF)
            var s = 0.0
            let v = input.v!
            for i in range { let vi = Double(v[i]); s += 1 / (vi * vi) }
            return k * s
        case .perIon(let per, let apexZ):
            if let apexZ {
                guard !range.isEmpty else { return 0 }
                // Depth is the apex height itself: the chunk adds the drop of the apex across it.
                let before = firstIon + range.lowerBound == 0 ? apexZ[0] : apexZ[firstIon + range.lowerBound - 1]
                return Double(before) - Double(apexZ[firstIon + range.upperBound - 1])
            }
            let k = kDepth / (tables[0].sMax * tables[0].sMax)
            var s = 0.0
            per.withUnsafeBufferPointer { p in
                for i in range { let r = Double(p[firstIon + i]); s += 1 / (r * r) }
            }
            return k * s
        case .knots:
            var s = 0.0
            let single = tables.count == 1
            segments(range, firstIon: firstIon) { sub, r0, dr, k, w0, dw in
                let s0 = tables[single ? 0 : k].sMax, s1 = single ? s0 : tables[min(k + 1, tables.count - 1)].sMax
                for i in sub {
                    let fg = Double(firstIon + i)
                    let r = r0 + dr * fg, w = w0 + dw * fg
                    let sm = single ? s0 : (1 - w) * s0 + w * s1
                    s += 1 / (sm * sm * r * r)
                }
            }
            return kDepth * s
        }
    }

    @inline(__always)
    func shankDepth(_ nIons: Double, _ r0: Double, _ c: Double) -> Double {
        let k = kDepth / (tables[0].sMax * tables[0].sMax)
        if c == 0 { return k * nIons / (r0 * r0) }
        return (shankRadius(nIons, r0, c) - r0) / c
    }

    @inline(__always)
    func shankRadius(_ nIons: Double, _ r0: Double, _ c: Double) -> Double {
        let k = kDepth / (tables[0].sMax * tables[0].sMax)
        if c == 0 { return r0 }
        return cbrt(r0 * r0 * r0 + 3 * c * k * nIons)
    }

    /// Positions of ions [range] of a chunk (pass 2), starting at depth `d0`; returns the depth after the chunk.
    @inline(__always)
    func positions(_ input: ChunkInput, _ out: ChunkOutput, range: Range<Int>, firstIon: Int, startDepthNM d0: Double) -> Double {
        tables[0].gh.withUnsafeBufferPointer { ghp in
            positions(input, out, range: range, firstIon: firstIon, startDepthNM: d0, ghp: ghp.baseAddress!)
        }
    }

    @inline(__always)
    func positions(_ input: ChunkInput, _ out: ChunkOutput, range: Range<Int>, firstIon: Int, startDepthNM d0: Double,
                   ghp: UnsafePointer<SIMD2<Float>>) -> Double {
        var depth = d0
        let tab = tables[0]
        @inline(__always) func lookupOrLinear(_ tab: SiteTable, _ input: ChunkInput, _ i: Int, _ r: Double) -> (g: Double, h: Double) {
            let xd = Double(input.x[i]), yd = Double(input.y[i])
            let rd2 = xd * xd + yd * yd
            if linearSphere {
                // Bas: ρ = r_D ξ R/L exactly; h = R − √(R² − ρ²) (ρ clamped to R).
                let s2 = min(1, rd2 * gLinear * gLinear)
                return (gLinear, s2 / (1 + (1 - s2).squareRoot()))
            }
            return tab.lookup(ghp, rd2.squareRoot())
        }
        @inline(__always) func place(_ i: Int, r: Double, g: Double, h: Double) {
            let xd = Double(input.x[i]), yd = Double(input.y[i])
            out.x[i] = Float(r * g * xd); out.y[i] = Float(r * g * yd)
            out.z[i] = Float(-depth - r * h)
            if let orad = out.r { orad[i] = Float(r) }
        }
        switch kind {
        case .voltage(let invKfF):
            let k = kDepth / (tab.sMax * tab.sMax)
            let v = input.v!
            for i in range {
                let r = Double(v[i]) * invKfF
                depth += k / (r * r)
                let (g, h) = lookupOrLinear(tab, input, i, r)
                place(i, r: r, g: g, h: h)
            }
        case .shank(let r0, let c):
            guard c > 0 else {
                for i in range {
                    depth = shankDepth(Double(firstIon + i + 1), r0, c)
                    let (g, h) = lookupOrLinear(tab, input, i, r0)
                    place(i, r: r0, g: g, h: h)
                }
                break
            }
            // R(N)³ = R0³ + 3cK·N: cbrt once per chunk, then one Newton step per ion from the previous radius
            // (relative step ~1e-5, so the Newton error is ~1e-10 relative: float-exact).
            let a = 3 * c * kDepth / (tab.sMax * tab.sMax), q0 = r0 * r0 * r0
            var r = shankRadius(Double(firstIon + range.lowerBound + 1), r0, c)
            let invC = 1 / c
            for i in range {
                let q = q0 + a * Double(firstIon + i + 1)
                let r2 = r * r
                r -= (r2 * r - q) / (3 * r2)
                depth = (r - r0) * invC
                let (g, h) = lookupOrLinear(tab, input, i, r)
                place(i, r: r, g: g, h: h)
            }
        case .perIon(let per, let apexZ):
            let k = kDepth / (tab.sMax * tab.sMax)
            let z0 = Double(apexZ?.first ?? 0)
            per.withUnsafeBufferPointer { p in
                for i in range {
                    let r = Double(p[firstIon + i])
                    if let apexZ { depth = z0 - Double(apexZ[firstIon + i]) } else { depth += k / (r * r) }
                    let (g, h) = lookupOrLinear(tab, input, i, r)
                    place(i, r: r, g: g, h: h)
                }
            }
        case .knots:
            let single = tables.count == 1
            segments(range, firstIon: firstIon) { sub, r0, dr, k, w0, dw in
                if single {
                    let kd = kDepth / (tab.sMax * tab.sMax)
                    for i in sub {
                        let r = r0 + dr * Double(firstIon + i)
                        depth += kd / (r * r)
                        let (g, h) = lookupOrLinear(tab, input, i, r)
                        place(i, r: r, g: g, h: h)
                    }
                } else {
                    let t0 = tables[k], t1 = tables[min(k + 1, tables.count - 1)]
                    t0.gh.withUnsafeBufferPointer { p0 in t1.gh.withUnsafeBufferPointer { p1 in
                        for i in sub {
                            let fg = Double(firstIon + i)
                            let r = r0 + dr * fg, w = w0 + dw * fg
                            let sm = (1 - w) * t0.sMax + w * t1.sMax
                            depth += kDepth / (sm * sm * r * r)
                            let xd = Double(input.x[i]), yd = Double(input.y[i])
                            let rd = (xd * xd + yd * yd).squareRoot()
                            let a = t0.lookup(p0.baseAddress!, rd), b = t1.lookup(p1.baseAddress!, rd)
                            place(i, r: r, g: (1 - w) * a.g + w * b.g, h: (1 - w) * a.h + w * b.h)
                        }
                    } }
                }
            }
        }
        return depth
    }

    /// Both passes over `count` ions with global index offset `firstIon`, starting at `startDepthNM`; returns the
    /// depth after the last ion.
    func run(_ input: ChunkInput, _ out: ChunkOutput, count: Int, firstIon: Int, startDepthNM: Double, threads: Int) -> Double {
        let cs = Reconstructor.chunkSize
        let sums = ParallelChunks.map(count: count, chunkSize: cs, threads: threads) { _, r in
            depthSum(input, range: r, firstIon: firstIon)
        }
        var offsets = [Double](repeating: 0, count: sums.count)
        var acc = startDepthNM
        for c in sums.indices { offsets[c] = acc; acc += sums[c] }
        let off = offsets
        ParallelChunks.forEach(count: count, chunkSize: cs, threads: threads) { c, r in
            _ = positions(input, out, range: r, firstIon: firstIon, startDepthNM: off[c])
        }
        return acc
    }
}
