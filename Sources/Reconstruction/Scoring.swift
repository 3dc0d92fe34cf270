import Foundation
import TwinCore

/// Ground truth of the reconstructed ions, row for row: the true position and labels of the atom each detected ion
/// came from (event_index → events/atom_id → truth).
public struct MatchedTruth: Sendable {
    public var xNM: [Float], yNM: [Float], zNM: [Float]
    public var elementZ: [UInt8]
    public var grain: [Int32]
    public var phase: [UInt8]
    public init(xNM: [Float], yNM: [Float], zNM: [Float], elementZ: [UInt8], grain: [Int32], phase: [UInt8]) {
        self.xNM = xNM; self.yNM = yNM; self.zNM = zNM; self.elementZ = elementZ; self.grain = grain; self.phase = phase
    }
    public var count: Int { xNM.count }
}

/// Scores of one reconstruction against ground truth. All lengths nm, angles degrees; nil where the specimen has
/// no such feature (e.g. no grain boundary) or too few ions for the measure.
public struct ReconstructionScore: Sendable, Codable, Equatable {
    public var protocolName: String
    public var ions: Int
    /// Best rigid alignment applied to the reconstruction before scoring.
    public var alignmentRotationDeg: Double
    public var alignmentTranslationNM: [Double]
    /// |Δ(x, y)| after alignment: median and 95th percentile.
    public var lateralErrorMedianNM: Double
    public var lateralErrorP95NM: Double
    /// |Δz| after alignment: median and 95th percentile.
    public var axialErrorMedianNM: Double
    public var axialErrorP95NM: Double
    /// Coefficient of variation of ion counts in 1.5 nm voxels of the central analysed cylinder (reconstruction and
    /// truth positions of the same ions on the same grid): uniformity of the atomic density.
    public var densityCV: Double?
    public var densityCVTruth: Double?
    /// Interplanar spacing along z measured on the reconstruction and on the truth positions of the same ions.
    public var spacingNM: Double?
    public var spacingTruthNM: Double?
    public var spacingRelativeError: Double?
    /// RMS difference of element fractions in 1 nm slices along z (aligned reconstruction vs truth).
    public var compositionProfileRMS: Double?
    public var compositionProfileMaxAbs: Double?
    /// RMS difference of element fractions across the interfaces: in 0.5 nm bins of signed distance (±4 nm) from
    /// the true grain boundary plane, and in 0.5 nm shells (to 4 nm) around each precipitate's centroid — the
    /// reconstruction's bins measured from the same plane and from the reconstructed centroid.
    public var grainBoundaryProfileRMS: Double?
    public var precipitateProfileRMS: Double?
    /// Grain boundary: angle between the best-separating planes and their distance at the boundary centroid.
    public var grainBoundaryTiltDeg: Double?
    public var grainBoundaryOffsetNM: Double?
    /// Precipitates: number scored, median relative error of the radius of gyration and of the aspect ratio
    /// √(λ_max/λ_min) of the position covariance.
    public var precipitates: Int?
    public var precipitateRgRelativeErrorMedian: Double?
    public var precipitateAspectRelativeErrorMedian: Double?

    enum CodingKeys: String, CodingKey {
        case protocolName = "protocol", ions
        case alignmentRotationDeg = "alignment_rotation_deg", alignmentTranslationNM = "alignment_translation_nm"
        case lateralErrorMedianNM = "lateral_error_median_nm", lateralErrorP95NM = "lateral_error_p95_nm"
        case axialErrorMedianNM = "axial_error_median_nm", axialErrorP95NM = "axial_error_p95_nm"
        case densityCV = "density_cv", densityCVTruth = "density_cv_truth"
        case spacingNM = "spacing_nm", spacingTruthNM = "spacing_truth_nm", spacingRelativeError = "spacing_relative_error"
        case compositionProfileRMS = "composition_profile_rms", compositionProfileMaxAbs = "composition_profile_max_abs"
        case grainBoundaryProfileRMS = "grain_boundary_profile_rms", precipitateProfileRMS = "precipitate_profile_rms"
        case grainBoundaryTiltDeg = "grain_boundary_tilt_deg", grainBoundaryOffsetNM = "grain_boundary_offset_nm"
        case precipitates, precipitateRgRelativeErrorMedian = "precipitate_rg_relative_error_median"
        case precipitateAspectRelativeErrorMedian = "precipitate_aspect_relative_error_median"
    }
}

/// Scoring of reconstructions against the twin's ground truth.
public enum Scoring {
    /// Scores reconstructed positions (`x`, `y`, `z`, row i = detected ion i) against the matched truth.
    ///
    /// The reconstruction is first moved by the best rigid transform onto the truth (``RigidAlignment``, on at most
    /// 10⁶ evenly strided pairs), so a global offset or rotation of the frame costs nothing; scale and distortion
    /// errors remain.
    public static func score(protocolName: String, xNM: [Float], yNM: [Float], zNM: [Float], truth: MatchedTruth) throws -> ReconstructionScore {
        let n = xNM.count
        guard n > 0, yNM.count == n, zNM.count == n, truth.count == n, truth.elementZ.count == n,
              truth.grain.count == n, truth.phase.count == n else {
            throw TwinError.inconsistent("scoring: \(n) reconstructed ions but \(truth.count) truth rows (all columns must match)")
        }
        let stride = max(1, n / 1_000_000)
        let t = RigidAlignment.fit(px: xNM, py: yNM, pz: zNM, qx: truth.xNM, qy: truth.yNM, qz: truth.zNM, stride: stride)
        var ax = [Float](repeating: 0, count: n), ay = ax, az = ax
        var lat = [Float](repeating: 0, count: n), axial = lat
        for i in 0..<n {
            let (x, y, z) = t.apply(Double(xNM[i]), Double(yNM[i]), Double(zNM[i]))
            ax[i] = Float(x); ay[i] = Float(y); az[i] = Float(z)
            let dx = x - Double(truth.xNM[i]), dy = y - Double(truth.yNM[i]), dz = z - Double(truth.zNM[i])
            lat[i] = Float((dx * dx + dy * dy).squareRoot()); axial[i] = Float(abs(dz))
        }
        var s = ReconstructionScore(protocolName: protocolName, ions: n, alignmentRotationDeg: t.rotationAngleDeg,
                                    alignmentTranslationNM: t.translationNM,
                                    lateralErrorMedianNM: percentile(lat, 0.5), lateralErrorP95NM: percentile(lat, 0.95),
                                    axialErrorMedianNM: percentile(axial, 0.5), axialErrorP95NM: percentile(axial, 0.95))
        (s.densityCV, s.densityCVTruth) = densityUniformity(ax, ay, az, truth: truth)
        if let d = SpacingAnalysis.spacingAlongZ(x: truth.xNM, y: truth.yNM, z: truth.zNM, rangeNM: 0.1...0.6) {
            s.spacingTruthNM = d
            if let r = SpacingAnalysis.spacingAlongZ(x: ax, y: ay, z: az, rangeNM: (0.5 * d)...(2 * d)) {
                s.spacingNM = r; s.spacingRelativeError = r / d - 1
            }
        }
        (s.compositionProfileRMS, s.compositionProfileMaxAbs) = compositionProfileError(az, truth: truth)
        (s.grainBoundaryTiltDeg, s.grainBoundaryOffsetNM, s.grainBoundaryProfileRMS) = grainBoundaryError(ax, ay, az, truth: truth)
        (s.precipitates, s.precipitateRgRelativeErrorMedian, s.precipitateAspectRelativeErrorMedian, s.precipitateProfileRMS) =
            precipitateError(ax, ay, az, truth: truth)
        return s
    }

    /// The q-quantile (0…1) of `v` (nearest rank on a copy; O(n log n)).
    public static func percentile(_ v: [Float], _ q: Double) -> Double {
        guard !v.isEmpty else { return .nan }
        let s = v.sorted()
        return Double(s[min(s.count - 1, Int((q * Double(s.count - 1)).rounded()))])
    }

    /// CV of voxel counts (1.5 nm voxels) inside the central cylinder of the truth (radius 0.5 × the 90th percentile
    /// of the truth's distance from the axis, z inset by 2 nm), for the aligned reconstruction and the truth.
    static func densityUniformity(_ x: [Float], _ y: [Float], _ z: [Float], truth: MatchedTruth) -> (Double?, Double?) {
        let n = x.count
        guard n >= 1000 else { return (nil, nil) }
        let rho = (0..<n).map { (truth.xNM[$0] * truth.xNM[$0] + truth.yNM[$0] * truth.yNM[$0]).squareRoot() }
        let rc = 0.5 * percentile(rho, 0.9)
        let z0 = Double(truth.zNM.min()!) + 2, z1 = Double(truth.zNM.max()!) - 2
        let v = 1.5
        let nxy = max(1, Int((2 * rc / v).rounded(.down))), nz = Int(((z1 - z0) / v).rounded(.down))
        guard nxy >= 1, nz >= 2 else { return (nil, nil) }
        func cv(_ px: [Float], _ py: [Float], _ pz: [Float]) -> Double {
            var counts = [Int](repeating: 0, count: nxy * nxy * nz)
            let half = Double(nxy) * v / 2
            for i in 0..<n {
                let a = Int(((Double(px[i]) + half) / v).rounded(.down)), b = Int(((Double(py[i]) + half) / v).rounded(.down))
                let c = Int(((Double(pz[i]) - z0) / v).rounded(.down))
                if a >= 0, a < nxy, b >= 0, b < nxy, c >= 0, c < nz { counts[(c * nxy + b) * nxy + a] += 1 }
            }
            let m = Double(counts.reduce(0, +)) / Double(counts.count)
            guard m > 0 else { return .nan }
            let varc = counts.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(counts.count)
            return varc.squareRoot() / m
        }
        return (cv(x, y, z), cv(truth.xNM, truth.yNM, truth.zNM))
    }

    /// RMS and max |Δ fraction| of each element in 1 nm z slices (≥ 20 ions in both), aligned reconstruction vs truth.
    static func compositionProfileError(_ z: [Float], truth: MatchedTruth) -> (Double?, Double?) {
        let n = z.count
        let elements = Array(Set(truth.elementZ)).sorted()
        guard elements.count >= 2, n >= 100 else { return (nil, nil) }
        let z0 = Double(min(z.min()!, truth.zNM.min()!)), z1 = Double(max(z.max()!, truth.zNM.max()!))
        let bins = max(1, Int((z1 - z0).rounded(.up)) + 1)
        var idx = [Int](repeating: 0, count: 256)
        for (k, e) in elements.enumerated() { idx[Int(e)] = k }
        var cr = [Int](repeating: 0, count: bins * elements.count), ct = cr
        var nr = [Int](repeating: 0, count: bins), nt = nr
        for i in 0..<n {
            let e = idx[Int(truth.elementZ[i])]
            let br = min(bins - 1, max(0, Int(Double(z[i]) - z0))), bt = min(bins - 1, max(0, Int(Double(truth.zNM[i]) - z0)))
            cr[br * elements.count + e] += 1; nr[br] += 1
            ct[bt * elements.count + e] += 1; nt[bt] += 1
        }
        var sum = 0.0, k = 0, mx = 0.0
        for b in 0..<bins where nr[b] >= 20 && nt[b] >= 20 {
            for e in elements.indices {
                let d = Double(cr[b * elements.count + e]) / Double(nr[b]) - Double(ct[b * elements.count + e]) / Double(nt[b])
                sum += d * d; k += 1; mx = max(mx, abs(d))
            }
        }
        return k == 0 ? (nil, nil) : ((sum / Double(k)).squareRoot(), mx)
    }

    /// Plane separating the two largest grains (L2-regularised logistic regression, IRLS), fitted on the aligned
    /// reconstruction and on the truth positions of the same ≤ 100,000 ions; tilt = angle between the normals,
    /// offset = distance from the truth plane's point nearest the ions' centroid to the reconstructed plane.
    /// Also the composition profile along the true plane's normal (``interfaceProfileRMS``).
    static func grainBoundaryError(_ x: [Float], _ y: [Float], _ z: [Float], truth: MatchedTruth) -> (Double?, Double?, Double?) {
        var counts: [Int32: Int] = [:]
        for g in truth.grain { counts[g, default: 0] += 1 }
        let top = counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
        guard top.count >= 2, top[1].value >= 200 else { return (nil, nil, nil) }
        let (g0, g1) = (top[0].key, top[1].key)
        var rows = (0..<x.count).filter { truth.grain[$0] == g0 || truth.grain[$0] == g1 }
        if rows.count > 100_000 { let st = rows.count / 100_000 + 1; rows = Swift.stride(from: 0, to: rows.count, by: st).map { rows[$0] } }
        let labels = rows.map { truth.grain[$0] == g1 ? 1.0 : 0.0 }
        guard let pr = LogisticPlane.fit(points: rows.map { (Double(x[$0]), Double(y[$0]), Double(z[$0])) }, labels: labels),
              let pt = LogisticPlane.fit(points: rows.map { (Double(truth.xNM[$0]), Double(truth.yNM[$0]), Double(truth.zNM[$0])) }, labels: labels)
        else { return (nil, nil, nil) }
        let dot = abs(pr.n.0 * pt.n.0 + pr.n.1 * pt.n.1 + pr.n.2 * pt.n.2)
        var c = (0.0, 0.0, 0.0)
        for r in rows { c.0 += Double(truth.xNM[r]); c.1 += Double(truth.yNM[r]); c.2 += Double(truth.zNM[r]) }
        let m = Double(rows.count); c = (c.0 / m, c.1 / m, c.2 / m)
        let dt = pt.n.0 * c.0 + pt.n.1 * c.1 + pt.n.2 * c.2 + pt.d
        let p = (c.0 - dt * pt.n.0, c.1 - dt * pt.n.1, c.2 - dt * pt.n.2)
        let off = abs(pr.n.0 * p.0 + pr.n.1 * p.1 + pr.n.2 * p.2 + pr.d)
        // Composition across the boundary: every ion (not only the two grains), binned by signed distance to the true plane.
        func dist(_ px: [Float], _ py: [Float], _ pz: [Float]) -> [Double] {
            (0..<px.count).map { pt.n.0 * Double(px[$0]) + pt.n.1 * Double(py[$0]) + pt.n.2 * Double(pz[$0]) + pt.d }
        }
        let profile = interfaceProfileRMS(dist(x, y, z), dist(truth.xNM, truth.yNM, truth.zNM), elements: truth.elementZ, maxNM: 4)
        return (acos(min(1, dot)) * 180 / .pi, off, profile)
    }

    /// RMS over 0.5 nm bins of `d` in [−maxNM, maxNM] (both ≥ 20 ions) and elements of the difference of element
    /// fractions binned by the reconstruction's distances `dRec` and by the truth's `dTrue` (same ions).
    static func interfaceProfileRMS(_ dRec: [Double], _ dTrue: [Double], elements el: [UInt8], maxNM: Double, minNM: Double? = nil) -> Double? {
        let lo = minNM ?? -maxNM, bin = 0.5
        let bins = Int(((maxNM - lo) / bin).rounded())
        let elements = Array(Set(el)).sorted()
        guard elements.count >= 2, bins > 0 else { return nil }
        var idx = [Int](repeating: 0, count: 256)
        for (k, e) in elements.enumerated() { idx[Int(e)] = k }
        let m = elements.count
        var cr = [Int](repeating: 0, count: bins * m), ct = cr, nr = [Int](repeating: 0, count: bins), nt = nr
        for i in dRec.indices {
            let e = idx[Int(el[i])]
            if dRec[i] >= lo && dRec[i] < maxNM { let b = min(bins - 1, Int((dRec[i] - lo) / bin)); cr[b * m + e] += 1; nr[b] += 1 }
            if dTrue[i] >= lo && dTrue[i] < maxNM { let b = min(bins - 1, Int((dTrue[i] - lo) / bin)); ct[b * m + e] += 1; nt[b] += 1 }
        }
        var sum = 0.0, k = 0
        for b in 0..<bins where nr[b] >= 20 && nt[b] >= 20 {
            for e in 0..<m {
                let d = Double(cr[b * m + e]) / Double(nr[b]) - Double(ct[b * m + e]) / Double(nt[b])
                sum += d * d; k += 1
            }
        }
        return k == 0 ? nil : (sum / Double(k)).squareRoot()
    }

    /// Precipitates: connected components (1 nm links) of the truth positions of phase-2 ions, ≥ 20 ions each;
    /// relative errors of the radius of gyration and of the aspect ratio, reconstruction vs truth, medians.
    /// Also the composition profile in shells around each precipitate (truth: around its true centroid; reconstruction:
    /// around the centroid of the same ions reconstructed), pooled over precipitates.
    static func precipitateError(_ x: [Float], _ y: [Float], _ z: [Float], truth: MatchedTruth) -> (Int?, Double?, Double?, Double?) {
        let rows = (0..<x.count).filter { truth.phase[$0] == PhaseLabel.precipitate.rawValue }
        guard rows.count >= 20 else { return (nil, nil, nil, nil) }
        let clusters = Clusters.link(rows.map { (Double(truth.xNM[$0]), Double(truth.yNM[$0]), Double(truth.zNM[$0])) }, distance: 1.0)
            .filter { $0.count >= 20 }
        guard !clusters.isEmpty else { return (nil, nil, nil, nil) }
        var rgErr: [Float] = [], aspErr: [Float] = []
        var dRec: [Double] = [], dTrue: [Double] = [], shellElements: [UInt8] = []
        let shell = 4.0
        for cl in clusters {
            let ids = cl.map { rows[$0] }
            let (rgT, aT) = Clusters.shape(ids.map { (Double(truth.xNM[$0]), Double(truth.yNM[$0]), Double(truth.zNM[$0])) })
            let (rgR, aR) = Clusters.shape(ids.map { (Double(x[$0]), Double(y[$0]), Double(z[$0])) })
            rgErr.append(Float(abs(rgR / rgT - 1))); aspErr.append(Float(abs(aR / aT - 1)))
            func centroid(_ px: [Float], _ py: [Float], _ pz: [Float]) -> (Double, Double, Double) {
                var c = (0.0, 0.0, 0.0)
                for i in ids { c.0 += Double(px[i]); c.1 += Double(py[i]); c.2 += Double(pz[i]) }
                let m = Double(ids.count); return (c.0 / m, c.1 / m, c.2 / m)
            }
            let ct = centroid(truth.xNM, truth.yNM, truth.zNM), cr = centroid(x, y, z)
            for i in 0..<x.count {
                let a = (Double(x[i]) - cr.0, Double(y[i]) - cr.1, Double(z[i]) - cr.2)
                let b = (Double(truth.xNM[i]) - ct.0, Double(truth.yNM[i]) - ct.1, Double(truth.zNM[i]) - ct.2)
                let ra = (a.0 * a.0 + a.1 * a.1 + a.2 * a.2).squareRoot(), rb = (b.0 * b.0 + b.1 * b.1 + b.2 * b.2).squareRoot()
                if ra < shell || rb < shell { dRec.append(ra); dTrue.append(rb); shellElements.append(truth.elementZ[i]) }
            }
        }
        let profile = interfaceProfileRMS(dRec, dTrue, elements: shellElements, maxNM: shell, minNM: 0)
        return (clusters.count, percentile(rgErr, 0.5), percentile(aspErr, 0.5), profile)
    }

    /// A markdown table of scores (one row per protocol).
    public static func markdownTable(_ scores: [ReconstructionScore]) -> String {
        func f(_ v: Double?, _ p: Int = 3) -> String { v.map { String(format: "%.\(p)f", $0) } ?? "–" }
        var s = "| protocol | ions | lateral median / p95 (nm) | axial median / p95 (nm) | density CV (truth) | spacing error | composition RMS: z / across GB / around precipitates | GB tilt (deg) / offset (nm) | precipitates: n, Rg / aspect error |\n"
        s += "|---|---|---|---|---|---|---|---|---|\n"
        for r in scores {
            s += "| \(r.protocolName) | \(r.ions) | \(f(r.lateralErrorMedianNM)) / \(f(r.lateralErrorP95NM)) | \(f(r.axialErrorMedianNM)) / \(f(r.axialErrorP95NM)) | "
            s += "\(f(r.densityCV)) (\(f(r.densityCVTruth))) | \(f(r.spacingRelativeError, 4)) | "
            s += "\(f(r.compositionProfileRMS, 4)) / \(f(r.grainBoundaryProfileRMS, 4)) / \(f(r.precipitateProfileRMS, 4)) | "
            s += "\(f(r.grainBoundaryTiltDeg, 2)) / \(f(r.grainBoundaryOffsetNM)) | "
            s += "\(r.precipitates.map(String.init) ?? "–"), \(f(r.precipitateRgRelativeErrorMedian)) / \(f(r.precipitateAspectRelativeErrorMedian)) |\n"
        }
        return s
    }
}

/// A plane n·p + d = 0 (|n| = 1) separating two labelled point sets, by L2-regularised logistic regression.
enum LogisticPlane {
    static func fit(points: [(Double, Double, Double)], labels: [Double]) -> (n: (Double, Double, Double), d: Double)? {
        let m = Double(points.count)
        guard m >= 10 else { return nil }
        var mu = (0.0, 0.0, 0.0)
        for p in points { mu.0 += p.0; mu.1 += p.1; mu.2 += p.2 }
        mu = (mu.0 / m, mu.1 / m, mu.2 / m)
        var sd = 0.0
        for p in points { sd += (p.0 - mu.0) * (p.0 - mu.0) + (p.1 - mu.1) * (p.1 - mu.1) + (p.2 - mu.2) * (p.2 - mu.2) }
        sd = max(1e-9, (sd / (3 * m)).squareRoot())
        let f = points.map { [($0.0 - mu.0) / sd, ($0.1 - mu.1) / sd, ($0.2 - mu.2) / sd, 1.0] }
        var w = [0.0, 0.0, 0.0, 0.0]
        let lambda = 1e-3 * m
        for _ in 0..<30 {
            var h = [Double](repeating: 0, count: 16), g = [Double](repeating: 0, count: 4)
            for (i, fi) in f.enumerated() {
                let a = w[0] * fi[0] + w[1] * fi[1] + w[2] * fi[2] + w[3]
                let p = 1 / (1 + exp(-a))
                let r = max(1e-9, p * (1 - p))
                for j in 0..<4 { g[j] += (p - labels[i]) * fi[j]; for k in 0..<4 { h[j * 4 + k] += r * fi[j] * fi[k] } }
            }
            for j in 0..<3 { g[j] += lambda * w[j]; h[j * 4 + j] += lambda }
            guard let step = DenseLinearSolve.solve(h, g, n: 4) else { return nil }
            var norm = 0.0
            for j in 0..<4 { w[j] -= step[j]; norm += step[j] * step[j] }
            if norm < 1e-16 { break }
        }
        let nn = (w[0] * w[0] + w[1] * w[1] + w[2] * w[2]).squareRoot()
        guard nn > 0 else { return nil }
        // w·(p − μ)/sd + b = 0  →  n·p + d = 0.
        let n = (w[0] / nn, w[1] / nn, w[2] / nn)
        let d = (w[3] * sd / nn) - (n.0 * mu.0 + n.1 * mu.1 + n.2 * mu.2)
        return (n, d)
    }
}

/// Connected components and shape descriptors of point clusters.
enum Clusters {
    /// Components of the graph linking points closer than `distance` (hash grid + union-find).
    static func link(_ p: [(Double, Double, Double)], distance: Double) -> [[Int]] {
        var parent = Array(p.indices)
        func find(_ i: Int) -> Int { var i = i; while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }; return i }
        var grid: [SIMD3<Int32>: [Int]] = [:]
        func cell(_ q: (Double, Double, Double)) -> SIMD3<Int32> {
            SIMD3(Int32((q.0 / distance).rounded(.down)), Int32((q.1 / distance).rounded(.down)), Int32((q.2 / distance).rounded(.down)))
        }
        for (i, q) in p.enumerated() { grid[cell(q), default: []].append(i) }
        let d2 = distance * distance
        for (i, q) in p.enumerated() {
            let c = cell(q)
            for dx in -1...1 { for dy in -1...1 { for dz in -1...1 {
                guard let list = grid[c &+ SIMD3(Int32(dx), Int32(dy), Int32(dz))] else { continue }
                for j in list where j > i {
                    let r = p[j]
                    let e = (r.0 - q.0) * (r.0 - q.0) + (r.1 - q.1) * (r.1 - q.1) + (r.2 - q.2) * (r.2 - q.2)
                    if e <= d2 { let a = find(i), b = find(j); if a != b { parent[a] = b } }
                }
            } } }
        }
        var groups: [Int: [Int]] = [:]
        for i in p.indices { groups[find(i), default: []].append(i) }
        return groups.values.sorted { $0[0] < $1[0] }
    }

    /// Radius of gyration and aspect ratio √(λ_max/λ_min) of the covariance.
    static func shape(_ p: [(Double, Double, Double)]) -> (rg: Double, aspect: Double) {
        let m = Double(p.count)
        var c = (0.0, 0.0, 0.0)
        for q in p { c.0 += q.0; c.1 += q.1; c.2 += q.2 }
        c = (c.0 / m, c.1 / m, c.2 / m)
        var cov = [Double](repeating: 0, count: 9)
        for q in p {
            let d = [q.0 - c.0, q.1 - c.1, q.2 - c.2]
            for a in 0..<3 { for b in 0..<3 { cov[a * 3 + b] += d[a] * d[b] / m } }
        }
        let ev = SymmetricEigen.decompose(cov, n: 3).values.map { max(0, $0) }
        let rg = (cov[0] + cov[4] + cov[8]).squareRoot()
        return (rg, (ev.max()! / max(1e-12, ev.min()!)).squareRoot())
    }
}
