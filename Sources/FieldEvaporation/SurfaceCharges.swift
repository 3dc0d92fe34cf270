import Foundation
import TwinCore

/// The atomistic surface of an evaporating needle and its Robin–Rolland charges.
///
/// Surface atoms are the alive atoms with fewer than the bulk number of neighbours in the lattice's coordination
/// shell (above a frozen base slab). Each carries a charge σᵢ from the discrete Robin equation
/// σᵢ ∝ Σ_{k≠i} σ_k nᵢ·(rᵢ − r_k)/|rᵢ − r_k|³ (Rolland, Vurpillot, Duguay & Blavette, Microsc. Microanal. 21 (2015)
/// 1649), solved by power iteration with the total charge renormalised (the equilibrium charge of a conductor is
/// the eigenvector of Robin's operator of eigenvalue 1). Normals nᵢ point from the centroid of the alive atoms within
/// `normalRadiusNM` to the atom, and are updated incrementally when a neighbour leaves.
///
/// Two-range evaluation: for each atom the sum is split into a *near* part (charges within `nearRadiusNM`, summed
/// directly whenever needed) and a *far* part cached at the last global refresh, where it is computed with a
/// Barnes–Hut octree (monopoles about each cell's centre of charge, opening angle θ; Barnes & Hut, Nature 324 (1986)
/// 446). After each removal only the atoms within `localRadiusNM` are relaxed (Gauss–Seidel on the near part,
/// warm-started from their previous charges); a global refresh every few per cent of the surface re-evaluates the
/// far parts. Charges are relative (mean 1 over the surface); the absolute field comes from the macroscopic model.
final class SurfaceCharges {
    // Static atom data.
    let xs: [Float], ys: [Float], zs: [Float]
    let atomGrid: UniformGrid
    let coordCutoff2: Double
    let bulkCoordination: Int
    let normalRadius2: Double
    let frozenBelowZ: Double
    let nearRadius: Double
    let localRadius: Double
    let theta: Double

    // Per atom.
    var alive: [Bool]
    var coord: [UInt8]
    var slotOf: [Int32]

    // Per surface slot.
    var sAtom: [Int32] = []
    var sx: [Double] = [], sy: [Double] = [], sz: [Double] = []
    var nx: [Double] = [], ny: [Double] = [], nz: [Double] = []
    var sigma: [Double] = []
    /// Field (vector) at the slot of the charges beyond the near radius, cached at the last global refresh. Kept as
    /// a vector so that a slot's far part follows its normal when a neighbour leaves, and a newly exposed atom can
    /// take its departed neighbour's (the far field varies on the scale of the near radius, the normal per atom).
    var farX: [Double] = [], farY: [Double] = [], farZ: [Double] = []
    var accX: [Double] = [], accY: [Double] = [], accZ: [Double] = []
    var active: [Bool] = []
    /// Surface slots within the near radius of each slot (kept up to date on every addition and removal).
    var nbr: [[Int32]] = []
    var freeSlots: [Int32] = []
    var activeCount = 0
    /// Eigenvalue estimate λ of the last global iteration: σ = (far + near)/λ.
    var lambda = 1.0

    // Dynamic cell list of surface slots (cell size = near radius).
    let cellOrigin: SIMD3<Double>
    let cellDims: (Int, Int, Int)
    var cells: [[Int32]]

    init(atoms: TruthAtoms, coordinationCutoffNM: Double, bulkCoordination: Int, normalRadiusNM: Double,
         nearRadiusNM: Double, localRadiusNM: Double, openingAngle: Double, frozenSlabNM: Double, threads: Int) {
        xs = atoms.xNM; ys = atoms.yNM; zs = atoms.zNM
        let n = atoms.count
        let gridCell = max(coordinationCutoffNM, normalRadiusNM)
        atomGrid = UniformGrid(x: xs, y: ys, z: zs, cellNM: gridCell)
        coordCutoff2 = coordinationCutoffNM * coordinationCutoffNM
        self.bulkCoordination = bulkCoordination
        normalRadius2 = normalRadiusNM * normalRadiusNM
        nearRadius = nearRadiusNM; localRadius = localRadiusNM; theta = openingAngle
        frozenBelowZ = Double(zs.min() ?? 0) + frozenSlabNM
        alive = [Bool](repeating: true, count: n)
        slotOf = [Int32](repeating: -1, count: n)
        var lo = SIMD3<Double>(repeating: .infinity), hi = SIMD3<Double>(repeating: -.infinity)
        for i in 0..<n {
            let p = SIMD3(Double(xs[i]), Double(ys[i]), Double(zs[i]))
            lo = pointwiseMin(lo, p); hi = pointwiseMax(hi, p)
        }
        if n == 0 { lo = .zero; hi = .zero }
        cellOrigin = lo - 1e-6
        cellDims = (Int((hi.x - lo.x) / nearRadiusNM) + 1, Int((hi.y - lo.y) / nearRadiusNM) + 1, Int((hi.z - lo.z) / nearRadiusNM) + 1)
        cells = Array(repeating: [], count: cellDims.0 * cellDims.1 * cellDims.2)
        // Coordination of every atom (parallel, read-only).
        let grid = atomGrid, xs = self.xs, ys = self.ys, zs = self.zs, rc2 = coordCutoff2
        let chunks = ParallelChunks.map(count: n, chunkSize: 65536, threads: threads) { _, r -> [UInt8] in
            var out = [UInt8](); out.reserveCapacity(r.count)
            for i in r {
                let xi = Double(xs[i]), yi = Double(ys[i]), zi = Double(zs[i])
                var c = 0
                grid.forEachCandidate(nearX: xi, y: yi, z: zi) { j in
                    let dx = Double(xs[j]) - xi, dy = Double(ys[j]) - yi, dz = Double(zs[j]) - zi
                    if dx * dx + dy * dy + dz * dz <= rc2 && j != i { c += 1 }
                }
                out.append(UInt8(min(c, 255)))
            }
            return out
        }
        coord = chunks.flatMap { $0 }
        for i in 0..<n where isSurfaceCandidate(i) { _ = addSurface(i, initialSigma: 1, far: .zero) }
    }

    @inline(__always) func isSurfaceCandidate(_ i: Int) -> Bool {
        alive[i] && Int(coord[i]) < bulkCoordination && Double(zs[i]) >= frozenBelowZ
    }

    @inline(__always) func cellIndex(_ x: Double, _ y: Double, _ z: Double) -> Int {
        let i = min(cellDims.0 - 1, max(0, Int((x - cellOrigin.x) / nearRadius)))
        let j = min(cellDims.1 - 1, max(0, Int((y - cellOrigin.y) / nearRadius)))
        let k = min(cellDims.2 - 1, max(0, Int((z - cellOrigin.z) / nearRadius)))
        return (k * cellDims.1 + j) * cellDims.0 + i
    }

    /// Makes atom `i` a surface atom; returns its slot.
    func addSurface(_ i: Int, initialSigma: Double, far f: SIMD3<Double>) -> Int {
        let s: Int
        if let free = freeSlots.popLast() {
            s = Int(free)
        } else {
            s = sAtom.count
            sAtom.append(0); sx.append(0); sy.append(0); sz.append(0); nx.append(0); ny.append(0); nz.append(0)
            sigma.append(0); farX.append(0); farY.append(0); farZ.append(0); accX.append(0); accY.append(0); accZ.append(0); active.append(false)
            nbr.append([])
        }
        let x = Double(xs[i]), y = Double(ys[i]), z = Double(zs[i])
        sAtom[s] = Int32(i); sx[s] = x; sy[s] = y; sz[s] = z
        sigma[s] = initialSigma; farX[s] = f.x; farY[s] = f.y; farZ[s] = f.z; active[s] = true
        slotOf[i] = Int32(s)
        activeCount += 1
        // Normal accumulator: sum of offsets of the alive neighbours within the normal radius.
        var ax = 0.0, ay = 0.0, az = 0.0
        atomGrid.forEachCandidate(nearX: x, y: y, z: z) { j in
            if alive[j] && j != i {
                let dx = Double(xs[j]) - x, dy = Double(ys[j]) - y, dz = Double(zs[j]) - z
                if dx * dx + dy * dy + dz * dz <= normalRadius2 { ax += dx; ay += dy; az += dz }
            }
        }
        accX[s] = ax; accY[s] = ay; accZ[s] = az
        updateNormal(s)
        let r2max = nearRadius * nearRadius
        var mine: [Int32] = []
        forEachSlotNear(x, y, z) { k in
            let dx = sx[k] - x, dy = sy[k] - y, dz = sz[k] - z
            if dx * dx + dy * dy + dz * dz < r2max { mine.append(Int32(k)); nbr[k].append(Int32(s)) }
        }
        nbr[s] = mine
        cells[cellIndex(x, y, z)].append(Int32(s))
        return s
    }

    @inline(__always) func updateNormal(_ s: Int) {
        let l = (accX[s] * accX[s] + accY[s] * accY[s] + accZ[s] * accZ[s]).squareRoot()
        if l > 1e-12 { nx[s] = -accX[s] / l; ny[s] = -accY[s] / l; nz[s] = -accZ[s] / l } else { nx[s] = 0; ny[s] = 0; nz[s] = 1 }
    }

    /// Removes atom `i` (which must be alive). Returns the slots whose charge must be re-relaxed and the slots
    /// created (new surface atoms).
    func remove(_ i: Int) -> (changed: [Int], created: [Int]) {
        let x = Double(xs[i]), y = Double(ys[i]), z = Double(zs[i])
        alive[i] = false
        var farOfRemoved = SIMD3<Double>.zero
        let s0 = Int(slotOf[i])
        if s0 >= 0 {
            farOfRemoved = SIMD3(farX[s0], farY[s0], farZ[s0])
            let c = cellIndex(x, y, z)
            if let p = cells[c].firstIndex(of: Int32(s0)) { cells[c].remove(at: p) }
            for k in nbr[s0] {
                let kk = Int(k)
                if let p = nbr[kk].firstIndex(of: Int32(s0)) { nbr[kk].swapAt(p, nbr[kk].count - 1); nbr[kk].removeLast() }
            }
            nbr[s0] = []
            active[s0] = false; sigma[s0] = 0; slotOf[i] = -1
            freeSlots.append(Int32(s0))
            activeCount -= 1
        }
        var exposed: [Int] = []
        atomGrid.forEachCandidate(nearX: x, y: y, z: z) { j in
            guard alive[j] else { return }
            let dx = Double(xs[j]) - x, dy = Double(ys[j]) - y, dz = Double(zs[j]) - z
            let d2 = dx * dx + dy * dy + dz * dz
            if d2 <= coordCutoff2 {
                coord[j] &-= 1
                if slotOf[j] < 0 && isSurfaceCandidate(j) { exposed.append(j) }
            }
            let sj = Int(slotOf[j])
            if sj >= 0 && d2 <= normalRadius2 {
                // The removed atom was at offset −(dx, dy, dz) from j.
                accX[sj] += dx; accY[sj] += dy; accZ[sj] += dz
                updateNormal(sj)
            }
        }
        var created: [Int] = []
        for j in exposed {
            let s = addSurface(j, initialSigma: 0, far: farOfRemoved)
            // Start from the mean charge of its charged neighbours (a fixed-point iteration started at 0 would
            // leave the newly exposed atom under-charged after a few local sweeps).
            var sum = 0.0, cnt = 0
            for k in nbr[s] where sigma[Int(k)] > 0 { sum += sigma[Int(k)]; cnt += 1 }
            sigma[s] = cnt > 0 ? sum / Double(cnt) : 0
            created.append(s)
        }
        // Slots to relax: every surface slot within the local radius (includes the new ones).
        var changed: [Int] = []
        let lr2 = localRadius * localRadius
        forEachSlotNear(x, y, z) { k in
            let dx = sx[k] - x, dy = sy[k] - y, dz = sz[k] - z
            if dx * dx + dy * dy + dz * dz <= lr2 { changed.append(k) }
        }
        changed.sort()
        return (changed, created)
    }

    @inline(__always) func forEachSlotNear(_ x: Double, _ y: Double, _ z: Double, _ body: (Int) -> Void) {
        let ci = Int((x - cellOrigin.x) / nearRadius), cj = Int((y - cellOrigin.y) / nearRadius), ck = Int((z - cellOrigin.z) / nearRadius)
        for k in max(0, ck - 1)...min(cellDims.2 - 1, ck + 1) {
            for j in max(0, cj - 1)...min(cellDims.1 - 1, cj + 1) {
                for i in max(0, ci - 1)...min(cellDims.0 - 1, ci + 1) {
                    for s in cells[(k * cellDims.1 + j) * cellDims.0 + i] { body(Int(s)) }
                }
            }
        }
    }

    /// Near part of Robin's sum at slot s: Σ σ_k n_s·(r_s − r_k)/|r_s − r_k|³ over the slots within the near radius.
    @inline(__always) func nearSum(_ s: Int) -> Double {
        let x = sx[s], y = sy[s], z = sz[s], ax = nx[s], ay = ny[s], az = nz[s]
        var acc = 0.0
        nbr[s].withUnsafeBufferPointer { list in
            sx.withUnsafeBufferPointer { px in
                sy.withUnsafeBufferPointer { py in
                    sz.withUnsafeBufferPointer { pz in
                        sigma.withUnsafeBufferPointer { q in
                            for k32 in list {
                                let k = Int(k32)
                                let dx = x - px[k], dy = y - py[k], dz = z - pz[k]
                                let r2 = dx * dx + dy * dy + dz * dz
                                acc += q[k] * (ax * dx + ay * dy + az * dz) / (r2 * r2.squareRoot())
                            }
                        }
                    }
                }
            }
        }
        return acc
    }

    /// Near part of the field vector at slot s: Σ σ_k (r_s − r_k)/|r_s − r_k|³ over the slots within the near radius.
    func nearVector(_ s: Int) -> SIMD3<Double> {
        let x = sx[s], y = sy[s], z = sz[s]
        var acc = SIMD3<Double>.zero
        for k32 in nbr[s] {
            let k = Int(k32)
            let d = SIMD3(x - sx[k], y - sy[k], z - sz[k])
            let r2 = (d * d).sum()
            acc += sigma[k] / (r2 * r2.squareRoot()) * d
        }
        return acc
    }

    @inline(__always) func farPart(_ s: Int) -> Double { nx[s] * farX[s] + ny[s] * farY[s] + nz[s] * farZ[s] }

    /// Gauss–Seidel relaxation of the given slots, `sweeps` times, with the cached far parts.
    func relax(_ slots: [Int], sweeps: Int) {
        let inv = 1 / lambda
        for _ in 0..<sweeps {
            for s in slots where active[s] { sigma[s] = max(0, farPart(s) + nearSum(s)) * inv }
        }
    }

    var activeSlots: [Int] { (0..<sAtom.count).filter { active[$0] } }

    /// Global power iterations with the octree; returns the largest relative change of the last iteration.
    @discardableResult
    func globalIterations(_ count: Int, threads: Int, tolerance: Double = 0) -> Double {
        let slots = activeSlots
        guard !slots.isEmpty else { return 0 }
        var change = 0.0
        var lastE: [SIMD3<Double>] = []
        var lastSigma = sigma
        for _ in 0..<count {
            lastSigma = sigma
            let tree = ChargeTree(slots: slots, x: sx, y: sy, z: sz, q: sigma)
            let sxl = sx, syl = sy, szl = sz, sg = sigma, th = theta
            let parts = ParallelChunks.map(count: slots.count, chunkSize: 512, threads: threads) { _, r -> [SIMD3<Double>] in
                r.map { k in
                    let s = slots[k]
                    return tree.fieldSum(at: SIMD3(sxl[s], syl[s], szl[s]), skip: Int32(s), x: sxl, y: syl, z: szl, q: sg, theta: th)
                }
            }
            let e = parts.flatMap { $0 }
            var t = [Double](repeating: 0, count: slots.count)
            var pos = 0.0
            for (k, s) in slots.enumerated() {
                t[k] = nx[s] * e[k].x + ny[s] * e[k].y + nz[s] * e[k].z
                if t[k] > 0 { pos += t[k] }
            }
            guard pos > 0 else { break }
            lambda = pos / Double(slots.count)
            // Keep the (arbitrary) scale of the eigenvector continuous: match the new charges to the old ones
            // (median ratio over the charged atoms), so that a refresh corrects the shape of the distribution, not
            // its scale, and fields of atoms the refresh did not change stay put.
            var ratios: [Double] = []
            ratios.reserveCapacity(slots.count)
            for (k, s) in slots.enumerated() where sigma[s] > 0.3 && t[k] > 0 { ratios.append(sigma[s] / (t[k] / lambda)) }
            if ratios.count > 16 {
                ratios.sort()
                lambda /= ratios[ratios.count / 2]
            }
            change = 0
            for (k, s) in slots.enumerated() {
                let nv = max(0, t[k]) / lambda
                change = max(change, abs(nv - sigma[s]))
                sigma[s] = nv
            }
            lastE = e
            if change < tolerance { break }
        }
        // Far parts consistent with the charges the last tree was built from.
        if !lastE.isEmpty {
            let saved = sigma
            sigma = lastSigma
            for (k, s) in slots.enumerated() {
                let f = lastE[k] - nearVector(s)
                farX[s] = f.x; farY[s] = f.y; farZ[s] = f.z
            }
            sigma = saved
        }
        return change
    }
}

/// Barnes–Hut octree over surface charges (monopoles about the centre of charge; charges are non-negative).
struct ChargeTree: Sendable {
    struct Node: Sendable {
        var cx, cy, cz, q: Double
        var halfWidth: Double
        var firstChild: Int32   // −1 for a leaf
        var start: Int32, end: Int32  // leaf items in `order`
    }
    var nodes: [Node] = []
    var order: [Int32]

    init(slots: [Int], x: [Double], y: [Double], z: [Double], q: [Double]) {
        order = slots.map { Int32($0) }
        var lo = SIMD3<Double>(repeating: .infinity), hi = SIMD3<Double>(repeating: -.infinity)
        for s in slots { let p = SIMD3(x[s], y[s], z[s]); lo = pointwiseMin(lo, p); hi = pointwiseMax(hi, p) }
        let centre = (lo + hi) / 2
        let half = max(hi.x - lo.x, hi.y - lo.y, hi.z - lo.z) / 2 + 1e-6
        nodes.reserveCapacity(slots.count / 2 + 8)
        build(0, order.count, centre, half, x, y, z, q)
    }

    @discardableResult
    private mutating func build(_ start: Int, _ end: Int, _ c: SIMD3<Double>, _ h: Double,
                                _ x: [Double], _ y: [Double], _ z: [Double], _ q: [Double]) -> Int {
        let me = nodes.count
        var qs = 0.0, px = 0.0, py = 0.0, pz = 0.0
        for k in start..<end {
            let s = Int(order[k]); let w = q[s]
            qs += w; px += w * x[s]; py += w * y[s]; pz += w * z[s]
        }
        let cc = qs > 0 ? SIMD3(px / qs, py / qs, pz / qs) : c
        nodes.append(Node(cx: cc.x, cy: cc.y, cz: cc.z, q: qs, halfWidth: h, firstChild: -1, start: Int32(start), end: Int32(end)))
        if end - start <= 12 || h < 1e-3 { return me }
        // Partition into octants (stable counting sort).
        var buckets = [[Int32]](repeating: [], count: 8)
        for k in start..<end {
            let s = Int(order[k])
            let o = (x[s] >= c.x ? 1 : 0) | (y[s] >= c.y ? 2 : 0) | (z[s] >= c.z ? 4 : 0)
            buckets[o].append(order[k])
        }
        var p = start
        var ranges: [(Int, Int, Int)] = []
        for o in 0..<8 where !buckets[o].isEmpty {
            for v in buckets[o] { order[p] = v; p += 1 }
            ranges.append((o, p - buckets[o].count, p))
        }
        // Children are stored contiguously after a placeholder block.
        let first = nodes.count
        for _ in ranges { nodes.append(Node(cx: 0, cy: 0, cz: 0, q: 0, halfWidth: 0, firstChild: -1, start: 0, end: 0)) }
        nodes[me].firstChild = Int32(first)
        nodes[me].start = Int32(ranges.count)  // number of children for an inner node
        for (k, (o, s0, s1)) in ranges.enumerated() {
            let hc = h / 2
            let cc = SIMD3(c.x + (o & 1 != 0 ? hc : -hc), c.y + (o & 2 != 0 ? hc : -hc), c.z + (o & 4 != 0 ? hc : -hc))
            let sub = build(s0, s1, cc, hc, x, y, z, q)
            nodes[first + k] = nodes[sub]
            // The subtree root was appended at `sub`; keep it there too (its children point beyond it).
        }
        return me
    }

    /// Σ_k q_k (p − r_k)/|p − r_k|³ over all charges except slot `skip` (monopoles for cells of width w seen
    /// under w/d < θ).
    func fieldSum(at p: SIMD3<Double>, skip: Int32, x: [Double], y: [Double], z: [Double], q: [Double], theta: Double) -> SIMD3<Double> {
        var ax = 0.0, ay = 0.0, az = 0.0
        var stack: [Int32] = [0]
        stack.reserveCapacity(64)
        let th2 = theta * theta
        while let ni = stack.popLast() {
            let node = nodes[Int(ni)]
            if node.q <= 0 { continue }
            let dx = p.x - node.cx, dy = p.y - node.cy, dz = p.z - node.cz
            let r2 = dx * dx + dy * dy + dz * dz
            let w = 2 * node.halfWidth
            if node.firstChild < 0 {
                for k in Int(node.start)..<Int(node.end) {
                    let s = order[k]
                    if s == skip { continue }
                    let si = Int(s)
                    let ex = p.x - x[si], ey = p.y - y[si], ez = p.z - z[si]
                    let d2 = ex * ex + ey * ey + ez * ez
                    if d2 > 0 { let f = q[si] / (d2 * d2.squareRoot()); ax += f * ex; ay += f * ey; az += f * ez }
                }
            } else if w * w < th2 * r2 {
                let f = node.q / (r2 * r2.squareRoot())
                ax += f * dx; ay += f * dy; az += f * dz
            } else {
                let f = Int(node.firstChild)
                for c in 0..<Int(node.start) { stack.append(Int32(f + c)) }
            }
        }
        return SIMD3(ax, ay, az)
    }
}
