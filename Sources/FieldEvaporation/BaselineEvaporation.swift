import Foundation
import MaterialsData
import TwinCore

/// Parameters of the baseline evaporation model.
public struct BaselineEvaporationParameters: Sendable {
    /// Field factor k_f in F = V/(k_f R) (assumed here; the field solver of later work computes it).
    public var fieldFactorKf: Double = 3.3
    /// Radius of the probe sphere whose filling gives each surface atom's local curvature, nm.
    public var curvatureProbeRadiusNM: Double = 1.2
    /// Field enhancement of an atom with no first-shell neighbour relative to a bulk-coordinated one.
    public var coordinationWeight: Double = 0.5
    /// Coordination shell (cutoff, bulk coordination) of the lattice.
    public var coordinationCutoffNM: Double
    public var bulkCoordination: Int
    /// Atoms per nm³ of the perfect crystal.
    public var numberDensityPerNM3: Double
    /// Stop after this many events.
    public var maxEvents: Int = 100_000
    /// Stop once the apex has receded this far, nm.
    public var maxDepthNM: Double = 20
    /// Stop when the standing voltage or the pulse would exceed what the holder delivers, V.
    public var maxDCV: Double = 8000
    public var maxPulseV: Double = 3000
    /// Pulse amplitude as a fraction of V_DC.
    public var pulseFraction: Double = 0.2
    /// Probability that a given pulse evaporates an atom (the servo's target detection rate divided by the
    /// detection efficiency).
    public var evaporationProbabilityPerPulse: Double = 0.02
    /// Launch sites in the apex-sphere fit, and events between refits.
    public var apexFitEvents: Int = 8192
    public var apexFitInterval: Int = 256

    public init(coordinationCutoffNM: Double, bulkCoordination: Int, numberDensityPerNM3: Double) {
        self.coordinationCutoffNM = coordinationCutoffNM; self.bulkCoordination = bulkCoordination
        self.numberDensityPerNM3 = numberDensityPerNM3
    }
}

/// Why an evaporation run ended.
public enum EvaporationStop: String, Sendable, Codable {
    case maxEvents = "max_events", maxDepth = "max_depth", voltageLimit = "holder_voltage_limit", exhausted = "needle_exhausted"
}

/// Result of an evaporation run: the events and per-event time series.
public struct EvaporationRun: Sendable {
    public var events: EvaporationEvents
    /// Apex radius at each event, nm: the sphere fitted to the most recent launch sites (see the type's doc).
    public var apexRadiusNM: [Float]
    /// Local radius 1/(κ c) of the departing atom's site, nm (what ranks the atoms).
    public var localRadiusNM: [Float]
    public var stopReason: EvaporationStop
    /// Apex recession at the end, nm.
    public var depthNM: Double
}

/// **Baseline** field-evaporation model (replaced by the field solver and kinetic model of later work).
///
/// The field at a surface atom is estimated analytically as F_i = V κ_i c_i / k_f, the classic F = V/(k_f R)
/// (Gomer 1961) with 1/R replaced by a local curvature:
/// - κ_i from the filling fraction f_i of a probe sphere of radius a centred on the atom: for a surface of mean
///   curvature H = 1/R, f = 1/2 − 3a/(16R) (the lens volume of two spheres of radii R and a at distance R divided
///   by 4πa³/3), so κ_i = (16/3a)(1/2 − f_i), clamped at ≥ 10⁻³ nm⁻¹;
/// - c_i = 1 + w (Z_b − Z_i)/Z_b, a coordination correction that raises the field of kink and adatom sites.
/// The atom with the largest F_i/F_evap leaves next (TAPSim's deterministic rule, Oberdorfer et al.,
/// Ultramicroscopy 128 (2013) 55). The voltage follows the apex: V = k_f F̄_evap R_apex (F = V/(k_f R) at the apex,
/// F̄_evap the mean evaporation field of the atoms in the fit window),
/// with R_apex the radius of the sphere fitted (Kåsa 1976, linear least squares) to the last
/// `apexFitEvents` launch sites, refitted every `apexFitInterval` events and followed at most 1 % per refit (the
/// curvature probe alone cannot resolve radii much above 10 nm); V_DC = V/(1 + pulse fraction), as a servo holding the evaporation rate would set it.
/// Pulse indices follow a geometric law with the servo's per-pulse evaporation probability; every event leaves at
/// the pulse maximum. Charge state: the element's usual one.
public struct BaselineEvaporation {
    public let parameters: BaselineEvaporationParameters

    public init(parameters: BaselineEvaporationParameters) { self.parameters = parameters }

    public func run(atoms: TruthAtoms, seed: UInt64, threads: Int, progress: ProgressReporter = ProgressReporter(enabled: false)) throws -> EvaporationRun {
        let p = parameters
        let n = atoms.count
        guard n > 0 else { throw TwinError.invalidInput("the specimen has no atoms") }
        // Per-element data.
        var fEvap = [Double](repeating: 0, count: 256)
        var charge = [UInt8](repeating: 1, count: 256)
        for z in Set(atoms.elementZ) {
            guard let ev = PeriodicTable.evaporation(z: Int(z)) else {
                let sym = PeriodicTable.element(z: Int(z))?.symbol ?? "Z=\(z)"
                throw TwinError.invalidInput("no evaporation field for \(sym) in the materials data")
            }
            fEvap[Int(z)] = ev.evaporationFieldVPerNM
            charge[Int(z)] = UInt8(ev.usualChargeState)
        }
        let xs = atoms.xNM, ys = atoms.yNM, zs = atoms.zNM
        let a = p.curvatureProbeRadiusNM, a2 = a * a
        let rc = p.coordinationCutoffNM, rc2 = rc * rc
        let zb = p.bulkCoordination
        let coarse = UniformGrid(x: xs, y: ys, z: zs, cellNM: a)
        let fine = UniformGrid(x: xs, y: ys, z: zs, cellNM: rc)
        let zMin = Double(zs.min() ?? 0)
        let frozenBelowZ = zMin + 2 * a
        let zApex0 = Double(zs.max() ?? 0)
        let nSphere = p.numberDensityPerNM3 * 4.0 / 3.0 * .pi * a * a * a

        // Coordination of every atom (parallel, read-only).
        let coordChunks = ParallelChunks.map(count: n, chunkSize: 65536, threads: threads) { _, r -> [UInt8] in
            var out = [UInt8](); out.reserveCapacity(r.count)
            for i in r {
                let xi = Double(xs[i]), yi = Double(ys[i]), zi = Double(zs[i])
                var c = 0
                fine.forEachCandidate(nearX: xi, y: yi, z: zi) { j in
                    let dx = Double(xs[j]) - xi, dy = Double(ys[j]) - yi, dz = Double(zs[j]) - zi
                    let d2 = dx * dx + dy * dy + dz * dz
                    if d2 <= rc2 && j != i { c += 1 }
                }
                out.append(UInt8(min(c, 255)))
            }
            return out
        }
        var coord = coordChunks.flatMap { $0 }
        var alive = [Bool](repeating: true, count: n)
        var surface = [Bool](repeating: false, count: n)
        var probe = [Int32](repeating: 0, count: n)

        @Sendable func countProbe(_ i: Int, _ alive: [Bool]) -> Int32 {
            let xi = Double(xs[i]), yi = Double(ys[i]), zi = Double(zs[i])
            var c: Int32 = 0
            coarse.forEachCandidate(nearX: xi, y: yi, z: zi) { j in
                if alive[j] {
                    let dx = Double(xs[j]) - xi, dy = Double(ys[j]) - yi, dz = Double(zs[j]) - zi
                    if dx * dx + dy * dy + dz * dz <= a2 && j != i { c += 1 }
                }
            }
            return c
        }
        func score(_ i: Int) -> Double {
            let f = Double(probe[i]) / nSphere
            let kappa = max(1e-3, 16.0 / (3.0 * a) * (0.5 - f))
            let c = 1 + p.coordinationWeight * Double(zb - Int(coord[i])) / Double(zb)
            return kappa * c / fEvap[Int(atoms.elementZ[i])]
        }

        // Initial surface: under-coordinated atoms above the frozen base.
        var initialSurface: [Int] = []
        for i in 0..<n where Int(coord[i]) < zb && Double(zs[i]) >= frozenBelowZ {
            surface[i] = true; initialSurface.append(i)
        }
        let aliveSnapshot = alive
        let surfaceList = initialSurface
        let probeChunks = ParallelChunks.map(count: surfaceList.count, chunkSize: 4096, threads: threads) { _, r in
            r.map { countProbe(surfaceList[$0], aliveSnapshot) }
        }
        var heap = IndexedMaxHeap(atomCount: n)
        for (k, c) in probeChunks.flatMap({ $0 }).enumerated() { probe[initialSurface[k]] = c }
        for i in initialSurface { heap.set(i, score: score(i)) }

        var ev = EvaporationEvents()
        var localR: [Float] = [], apexR: [Float] = []
        var rng = TwinRNG(seed: seed, stream: 0xE7A9)
        var pulse: Int64 = 0
        let fitN = max(64, p.apexFitEvents)
        var recent = [SIMD3<Double>](repeating: .zero, count: fitN)
        var recentF = [Double](repeating: 0, count: fitN)
        var recentFSum = 0.0
        // Until enough sites are known: the needle's initial cap, from the highest atom and the widest slice 1 nm below.
        var rApex = initialApexRadius(xs: xs, ys: ys, zs: zs, zTop: zApex0)
        var depth = 0.0
        var stop = EvaporationStop.maxEvents
        let logq = log(1 - min(max(p.evaporationProbabilityPerPulse, 1e-9), 1 - 1e-12))

        while ev.count < p.maxEvents {
            guard let i = heap.top else { stop = .exhausted; break }
            let xi = Double(xs[i]), yi = Double(ys[i]), zi = Double(zs[i])
            // Local curvature, coordination factor and required voltage.
            let f = Double(probe[i]) / nSphere
            let kappa = max(1e-3, 16.0 / (3.0 * a) * (0.5 - f))
            let cfac = 1 + p.coordinationWeight * Double(zb - Int(coord[i])) / Double(zb)
            let fe = fEvap[Int(atoms.elementZ[i])]
            recent[ev.count % fitN] = SIMD3(xi, yi, zi)
            recentFSum += fe - recentF[ev.count % fitN]; recentF[ev.count % fitN] = fe
            let meanF = recentFSum / Double(min(ev.count + 1, fitN))
            if ev.count + 1 >= fitN / 4 && (ev.count + 1) % max(1, p.apexFitInterval) == 0 {
                if let r = fitSphereRadius(Array(recent.prefix(min(ev.count + 1, fitN)))), r > 0.3, r < 10_000 {
                    // A servo moves the voltage slowly: at most ±1 % per refit (the apex itself changes far slower;
                    // this keeps a fit over a momentarily one-sided set of sites — a facet being peeled — from
                    // jumping the voltage).
                    rApex = min(max(r, rApex * 0.99), rApex * 1.01)
                }
            }
            let vTotal = p.fieldFactorKf * meanF * rApex
            let vDC = vTotal / (1 + p.pulseFraction)
            let vP = vDC * p.pulseFraction
            if vDC > p.maxDCV || vP > p.maxPulseV { stop = .voltageLimit; break }
            // Outward normal: from the centroid of the atoms within the probe sphere to the atom.
            var cx = 0.0, cy = 0.0, cz = 0.0, cn = 0.0
            coarse.forEachCandidate(nearX: xi, y: yi, z: zi) { j in
                if alive[j] && j != i {
                    let dx = Double(xs[j]) - xi, dy = Double(ys[j]) - yi, dz = Double(zs[j]) - zi
                    if dx * dx + dy * dy + dz * dz <= a2 { cx += dx; cy += dy; cz += dz; cn += 1 }
                }
            }
            var nx = -cx, ny = -cy, nz = -cz
            let nn = (nx * nx + ny * ny + nz * nz).squareRoot()
            if nn > 0 { nx /= nn; ny /= nn; nz /= nn } else { nx = 0; ny = 0; nz = 1 }
            // Pulse on which it happens.
            let u = 1 - rng.uniform()
            pulse += 1 + Int64((log(u) / logq).rounded(.down))

            ev.atomID.append(atoms.id[i]); ev.pulseIndex.append(pulse); ev.timeInPulseNS.append(0)
            ev.vDCV.append(Float(vDC)); ev.vPulseV.append(Float(vP)); ev.fieldVPerNM.append(Float(fe))
            ev.chargeState.append(charge[Int(atoms.elementZ[i])])
            ev.launchXNM.append(xs[i]); ev.launchYNM.append(ys[i]); ev.launchZNM.append(zs[i])
            ev.normalX.append(Float(nx)); ev.normalY.append(Float(ny)); ev.normalZ.append(Float(nz))
            localR.append(Float(1 / (kappa * cfac))); apexR.append(Float(rApex))

            // Remove the atom and update its neighbourhood.
            heap.remove(i)
            alive[i] = false
            surface[i] = false
            coarse.forEachCandidate(nearX: xi, y: yi, z: zi) { j in
                if surface[j] {
                    let dx = Double(xs[j]) - xi, dy = Double(ys[j]) - yi, dz = Double(zs[j]) - zi
                    if dx * dx + dy * dy + dz * dz <= a2 { probe[j] -= 1 }
                }
            }
            var touched: [Int] = []
            fine.forEachCandidate(nearX: xi, y: yi, z: zi) { j in
                if alive[j] {
                    let dx = Double(xs[j]) - xi, dy = Double(ys[j]) - yi, dz = Double(zs[j]) - zi
                    if dx * dx + dy * dy + dz * dz <= rc2 { coord[j] -= 1; touched.append(j) }
                }
            }
            for j in touched where !surface[j] && Double(zs[j]) >= frozenBelowZ {
                surface[j] = true
                probe[j] = countProbe(j, alive)
            }
            // Re-score surface atoms within the probe radius (their probe count changed) and the touched ones.
            coarse.forEachCandidate(nearX: xi, y: yi, z: zi) { j in
                if surface[j] {
                    let dx = Double(xs[j]) - xi, dy = Double(ys[j]) - yi, dz = Double(zs[j]) - zi
                    if dx * dx + dy * dy + dz * dz <= a2 { heap.set(j, score: score(j)) }
                }
            }
            for j in touched where surface[j] { heap.set(j, score: score(j)) }

            // Apex recession from atoms leaving near the axis.
            if xi * xi + yi * yi < 4 * a2 { depth = max(depth, zApex0 - zi) }
            if depth >= p.maxDepthNM { stop = .maxDepth; break }
            if ev.count % 4096 == 0 { progress.report("evaporation", ev.count, p.maxEvents) }
        }
        progress.report("evaporation", ev.count, ev.count)
        return EvaporationRun(events: ev, apexRadiusNM: apexR, localRadiusNM: localR, stopReason: stop, depthNM: depth)
    }
}

/// Radius of the least-squares sphere through points (Kåsa 1976: |p|² = 2c·p + k, linear in c and k), nil if the
/// system is singular.
func fitSphereRadius(_ pts: [SIMD3<Double>]) -> Double? {
    guard pts.count >= 8 else { return nil }
    let mean = pts.reduce(SIMD3<Double>.zero, +) / Double(pts.count)
    var a = [Double](repeating: 0, count: 16), b = [Double](repeating: 0, count: 4)
    for p in pts {
        let q = p - mean
        let row = [2 * q.x, 2 * q.y, 2 * q.z, 1.0]
        let y = (q * q).sum()
        for i in 0..<4 { b[i] += row[i] * y; for j in 0..<4 { a[i * 4 + j] += row[i] * row[j] } }
    }
    guard let x = DenseLinearSolve.solve(a, b, n: 4, tolerance: 1e-12) else { return nil }
    let r2 = x[3] + x[0] * x[0] + x[1] * x[1] + x[2] * x[2]
    return r2 > 0 ? r2.squareRoot() : nil
}

/// Radius of the initial cap: the circle through the apex and the widest point of the slice 1 nm below it
/// (a chord of half-width w at depth h gives R = (w² + h²)/2h).
func initialApexRadius(xs: [Float], ys: [Float], zs: [Float], zTop: Double) -> Double {
    let h = 1.0
    var w = 0.0
    for i in 0..<xs.count where Double(zs[i]) > zTop - h - 0.15 && Double(zs[i]) < zTop - h + 0.15 {
        w = max(w, Double(xs[i] * xs[i] + ys[i] * ys[i]).squareRoot())
    }
    return w > 0 ? (w * w + h * h) / (2 * h) : 10
}
