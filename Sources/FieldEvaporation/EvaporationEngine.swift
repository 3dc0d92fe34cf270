import Foundation
import MaterialsData
import TwinCore

/// How the next evaporating atom is chosen.
public enum EvaporationMode: String, Sendable, CaseIterable {
    /// The atom with the largest F/F_evap leaves; the voltage is whatever makes it reach F_evap (TAPSim's default).
    case deterministic
    /// Thermally activated evaporation on voltage pulses at the holder temperature, with a voltage servo.
    case pulsed
}

/// Parameters of the field-evaporation engine. Lengths nm, voltages V, times ns unless the name says otherwise.
public struct EvaporationEngineParameters: Sendable {
    // Lattice.
    public var coordinationCutoffNM: Double
    public var bulkCoordination: Int
    public var numberDensityPerNM3: Double
    /// Half-angle of the needle's shank (the macroscopic model's cone), degrees.
    public var shankHalfAngleDeg: Double
    /// Initial apex radius (before the first fit), nm.
    public var initialApexRadiusNM: Double

    // Field solver.
    public var environment = NeedleEnvironment()
    public var normalRadiusNM = 0.75
    public var nearRadiusNM = 1.2
    public var localRadiusNM = 1.2
    public var localSweeps = 3
    public var openingAngle = 0.5
    /// Global refresh after this fraction of the surface atoms has evaporated (at least 32 events).
    public var refreshFraction = 0.035
    public var refreshIterations = 1
    /// Polar angle of the apex cap over which atomistic and continuum fields are matched, degrees.
    public var matchCapDeg = 20.0
    /// Frozen slab at the base of the specimen (never evaporated), nm.
    public var frozenSlabNM = 2.0

    // Selection and kinetics.
    public var mode: EvaporationMode = .pulsed
    public var temperatureK = 78.0
    public var attemptFrequencyHz = 1e13
    /// Q₀ of the linear barrier Q(F) = Q₀ (1 − F/F_evap), eV.
    public var barrierQ0EV = 2.0
    /// Weight w of the neighbours in an alloy atom's evaporation field, F_i = (1 − w) F(Z_i) + w ⟨F(Z_j)⟩.
    public var fieldBondMixing = 0.5
    public var pulseFraction = 0.2
    public var pulseFrequencyHz = 20_000.0
    /// Full width at half maximum of the (Gaussian) voltage pulse, ns.
    public var pulseFWHMNS = 2.0
    /// Servo target: detected ions per pulse.
    public var targetDetectionRate = 0.01
    public var detectionEfficiency = 0.5
    /// Half-angle the detector subtends at the tip, rad (atan(D/2L)).
    public var detectorHalfAngleRad = atan(21.0 / 470.0)
    /// Most departures the engine lets one pulse carry (see the run loop; a pulse at the cap is counted).
    public var maxDeparturesPerPulse = 64

    // Stops.
    public var maxEvents = 100_000
    public var maxDepthNM = 20.0
    public var maxDCV = 8000.0
    public var maxPulseV = 3000.0

    // Snapshots of the surface.
    public var snapshotAtEvents: [Int] = []
    public var snapshotAtVoltagesV: [Double] = []

    public init(coordinationCutoffNM: Double, bulkCoordination: Int, numberDensityPerNM3: Double,
                shankHalfAngleDeg: Double, initialApexRadiusNM: Double) {
        self.coordinationCutoffNM = coordinationCutoffNM; self.bulkCoordination = bulkCoordination
        self.numberDensityPerNM3 = numberDensityPerNM3; self.shankHalfAngleDeg = shankHalfAngleDeg
        self.initialApexRadiusNM = initialApexRadiusNM
    }
}

/// One point of the engine's time series (taken at every global refresh).
public struct EngineSample: Sendable, Equatable {
    public var eventIndex: Int
    public var pulseIndex: Int64
    public var vDCV: Double
    public var apexRadiusNM: Double
    /// k_f = V/(F R) of the continuum model at this radius.
    public var fieldFactorKf: Double
    /// Image compression factor ξ = θ_crystal/θ_detector at 4° launch angle.
    public var imageCompression: Double
    /// Macroscopic apex field at the pulse peak, V/nm.
    public var apexFieldVPerNM: Double
    /// Servo's estimate of detected ions per pulse.
    public var detectionRate: Double
    /// Expected detected ions so far (events launched within the detector's acceptance × efficiency).
    public var cumulativeDetected: Double
    public var surfaceAtoms: Int
}

/// The tip surface at one moment: surface atoms with their fields.
public struct SurfaceSnapshot: Sendable {
    public var eventIndex: Int
    public var vDCV: Double
    public var apexRadiusNM: Double
    public var atomID: [UInt32]
    public var xNM: [Float], yNM: [Float], zNM: [Float]
    /// Field at the pulse peak, V/nm.
    public var fieldVPerNM: [Float]
}

/// Statistics of a pulsed run.
public struct PulseStatistics: Sendable, Equatable {
    public var pulses: Int64 = 0
    public var firingPulses: Int = 0
    public var multiEventPulses: Int = 0
    /// Events outside the pulse window (DC evaporation between pulses).
    public var dcEvents: Int = 0
    /// Candidate sets truncated to the 128 likeliest atoms.
    public var truncatedCandidateSets: Int = 0
    /// Global refreshes, and the sum of ln(largest F/F_evap after / before) over them: how much a refresh moves
    /// the top of the field distribution that the local updates left (see ``FieldEvaporationEngine``).
    public var refreshCount: Int = 0
    public var refreshLogJumpSum: Double = 0
    /// Largest |relative change| of the largest F/F_evap at one refresh.
    public var largestRefreshTopFieldJump: Double = 0
    /// Global re-solves forced by the runaway detector (local updates amplifying charges; see ``FieldEvaporationEngine``).
    public var runawayResolves: Int = 0
    /// Firing pulses that reached `maxDeparturesPerPulse`.
    public var cappedPulses: Int = 0
    /// Mean relative change of the largest F/F_evap at a refresh.
    public var meanRefreshTopFieldJump: Double { refreshCount > 0 ? expm1(refreshLogJumpSum / Double(refreshCount)) : 0 }
}

/// Why an evaporation run ended.
public enum EvaporationStop: String, Sendable, Codable {
    case maxEvents = "max_events", maxDepth = "max_depth", voltageLimit = "holder_voltage_limit", exhausted = "needle_exhausted"
}

/// Result of an evaporation run.
public struct EvaporationRun: Sendable {
    public var events: EvaporationEvents
    /// Apex radius (sphere fitted to the apex cap of the atomistic surface) at each event, nm.
    public var apexRadiusNM: [Float]
    /// Field factor k_f of the continuum model at each event.
    public var fieldFactorKf: [Float]
    /// Centre of the fitted apex sphere at each event, nm.
    public var apexCentreXNM: [Float], apexCentreYNM: [Float], apexCentreZNM: [Float]
    /// Field per volt of the departing atom just before it left (V/nm per V), its evaporation field (V/nm), and
    /// the field per volt of the apex cap's terrace atoms at that moment (charge-weighted mean over the cap).
    public var departureFieldPerVolt: [Float]
    public var departureEvaporationField: [Float]
    public var terraceFieldPerVolt: [Float]
    /// Pulse fraction V_p/V_DC of the run.
    public var pulseFraction: Double
    public var timeSeries: [EngineSample]
    public var snapshots: [SurfaceSnapshot]
    public var pulseStatistics: PulseStatistics
    public var stopReason: EvaporationStop
    /// Apex recession at the end, nm.
    public var depthNM: Double
    /// Time from the start of a pulse window to the pulse maximum, ns (events' `timeInPulseNS` is counted from the
    /// window start).
    public var pulsePeakNS: Double
    /// Wall time of the set-up (coordination, surface, first converged charges and continuum solve), s.
    public var setupWallS: Double

    /// Event-weighted means of k_f and ξ over the time series (defaults 5 and 1.6 for an empty series).
    public var meanFieldFactorAndCompression: (kf: Double, xi: Double) {
        guard timeSeries.count > 1 else { return (timeSeries.first?.fieldFactorKf ?? 5, timeSeries.first?.imageCompression ?? 1.6) }
        var w = 0.0, kf = 0.0, xi = 0.0
        for k in 1..<timeSeries.count {
            let dw = Double(timeSeries[k].eventIndex - timeSeries[k - 1].eventIndex)
            w += dw; kf += dw * timeSeries[k - 1].fieldFactorKf; xi += dw * timeSeries[k - 1].imageCompression
        }
        return w > 0 ? (kf / w, xi / w) : (timeSeries[0].fieldFactorKf, timeSeries[0].imageCompression)
    }
}

/// The field-evaporation engine: atomistic surface, two-scale field, thermally activated selection, voltage servo.
///
/// Field at surface atom i: Fᵢ = V · (σᵢ/σ̄_cap) · F̄_cap, where σᵢ are the Robin–Rolland charges of the atomistic
/// surface (``SurfaceCharges``), σ̄_cap their mean over the charged atoms of the apex cap (polar angle ≤
/// `matchCapDeg` from the fitted apex sphere's centre) and F̄_cap the continuum field per volt over the same cap
/// from ``AxisymmetricFieldModel`` (sphere-on-cone of the current apex radius in the F200 environment). The
/// atomistic model gives the local variation (facets, kinks, precipitates), the continuum the scale, so k_f and ξ
/// come out of the electrostatics. See the article "TwoScaleField".
///
/// Pulsed mode: per atom the rate is k = ν exp(−Q₀(1 − F(t)/F_evap)/k_BT) (Q ≥ 0) with
/// F(t) = (V_DC + V_p s(t)) gᵢ, s a Gaussian pulse; the pulses between events are drawn from the geometric law of
/// P = 1 − exp(−Σᵢ∫kᵢdt); within a firing pulse departures are the points of the inhomogeneous Poisson process of
/// total rate Σkᵢ(t), the fields being updated after each departure (so the neighbours of a departed atom may follow
/// on the same pulse: correlated multiple events, at most `maxDeparturesPerPulse` per pulse). The servo (`Servo`)
/// updates V_DC after every firing pulse and every tenth of its averaging time in a quiet stretch, proportionally on
/// the log of the detected rate over its target and integrally on the linear deficit; the detected rate is
/// estimated from the ions launched within the detector's acceptance times the efficiency. A runaway detector
/// re-solves the charges globally when a local update pushes a charge 1.5 × beyond the largest charge/cap-reference
/// ratio of the last global solution (`PulseStatistics.runawayResolves`). Figures: ``KineticsDiagnostics``.
public struct FieldEvaporationEngine {
    public let parameters: EvaporationEngineParameters
    public init(parameters: EvaporationEngineParameters) { self.parameters = parameters }

    public func run(atoms: TruthAtoms, seed: UInt64, threads: Int,
                    progress: ProgressReporter = ProgressReporter(enabled: false)) throws -> EvaporationRun {
        let t0 = Date()
        var st = try EngineState(atoms: atoms, parameters: parameters, seed: seed, threads: threads)
        st.initWallS = Date().timeIntervalSince(t0)
        return try st.run(progress: progress)
    }
}

struct EngineState {
    let p: EvaporationEngineParameters
    let atoms: TruthAtoms
    let threads: Int
    let surf: SurfaceCharges
    var heap: IndexedMaxHeap
    var fEvap = [Double](repeating: 0, count: 256)
    /// Evaporation field of each atom in its environment, V/nm (empty for a pure element: fEvap of its Z).
    var fEvapAtom: [Float] = []
    /// Field per volt per unit charge: gᵢ = σᵢ · cNorm.
    var cNorm = 1.0
    var apexRadius: Double
    var apexCentre = SIMD3<Double>(0, 0, 0)
    var kf = 5.0
    var xi = 1.6
    var apexFieldPerVolt = 0.0
    var macroTable: [Int: MacroPoint] = [:]
    var ionisation: PostIonisationModel
    var rng: TwinRNG
    var events = EvaporationEvents()
    var apexR: [Float] = []
    var kfPerEvent: [Float] = []
    var centreX: [Float] = [], centreY: [Float] = [], centreZ: [Float] = []
    var depG: [Float] = [], depFEvap: [Float] = [], terrG: [Float] = []
    /// Field per volt of the cap's terrace atoms (charge-weighted mean charge × normalisation).
    var terracePerVolt = 0.0
    /// Runaway detector: 1.5 × the largest charge of the last global solution, and whether a local update has since
    /// pushed a charge beyond it (the local Gauss–Seidel updates amplifying charges instead of relaxing them;
    /// article "TwoScaleField"). Charges keep their scale between refreshes, so this is 1.5 × the peak ratio to the
    /// cap's reference charge.
    var runawayChargeLimit = Double.infinity
    var runawaySuspected = false
    var series: [EngineSample] = []
    var snapshots: [SurfaceSnapshot] = []
    var stats = PulseStatistics()
    let zApex0: Double
    var initWallS = 0.0
    var detectedTotal = 0.0
    /// Whether fitted radius and normalisation follow their targets gradually (false during set-up).
    var smoothing = false

    init(atoms: TruthAtoms, parameters: EvaporationEngineParameters, seed: UInt64, threads: Int) throws {
        p = parameters; self.atoms = atoms; self.threads = threads
        guard atoms.count > 0 else { throw TwinError.invalidInput("the specimen has no atoms") }
        for z in Set(atoms.elementZ) {
            guard let ev = PeriodicTable.evaporation(z: Int(z)) else {
                throw TwinError.invalidInput("no evaporation field for \(PeriodicTable.symbol(z: Int(z))) in the materials data")
            }
            fEvap[Int(z)] = ev.evaporationFieldVPerNM
        }
        if Set(atoms.elementZ).count > 1 && parameters.fieldBondMixing > 0 {
            fEvapAtom = EngineState.environmentFields(atoms: atoms, fEvap: fEvap, cutoffNM: parameters.coordinationCutoffNM,
                                                      mixing: parameters.fieldBondMixing, threads: threads)
        }
        surf = SurfaceCharges(atoms: atoms, coordinationCutoffNM: p.coordinationCutoffNM, bulkCoordination: p.bulkCoordination,
                              normalRadiusNM: p.normalRadiusNM, nearRadiusNM: p.nearRadiusNM, localRadiusNM: p.localRadiusNM,
                              openingAngle: p.openingAngle, frozenSlabNM: p.frozenSlabNM, threads: threads)
        heap = IndexedMaxHeap(atomCount: atoms.count)
        apexRadius = p.initialApexRadiusNM
        zApex0 = Double(atoms.zNM.max() ?? 0)
        apexCentre = SIMD3(0, 0, zApex0 - apexRadius)
        ionisation = PostIonisationModel(elements: Set(atoms.elementZ).map(Int.init).sorted(), apexRadiusNM: apexRadius)
        rng = TwinRNG(seed: seed, stream: 0xF1E1D)
    }

    // MARK: Field bookkeeping

    @inline(__always) func evaporationField(_ i: Int) -> Double {
        fEvapAtom.isEmpty ? fEvap[Int(atoms.elementZ[i])] : Double(fEvapAtom[i])
    }

    /// Bond-averaged evaporation fields of an alloy: F_i = (1 − w) F(Z_i) + w ⟨F(Z_j)⟩ over the atom's neighbours in
    /// the coordination shell. In a regular-solution picture the binding of an atom is the sum of its bond energies
    /// and an A–B bond the mean of A–A and B–B (w = ½), so a Cr atom surrounded by Fe is held more strongly than in
    /// pure Cr; the pure-element fields apply to pure elements only.
    static func environmentFields(atoms: TruthAtoms, fEvap: [Double], cutoffNM: Double, mixing w: Double, threads: Int) -> [Float] {
        let xs = atoms.xNM, ys = atoms.yNM, zs = atoms.zNM, el = atoms.elementZ
        let grid = UniformGrid(x: xs, y: ys, z: zs, cellNM: cutoffNM)
        let rc2 = cutoffNM * cutoffNM
        let chunks = ParallelChunks.map(count: atoms.count, chunkSize: 65536, threads: threads) { _, r -> [Float] in
            r.map { i in
                let xi = Double(xs[i]), yi = Double(ys[i]), zi = Double(zs[i])
                var sum = 0.0, n = 0
                grid.forEachCandidate(nearX: xi, y: yi, z: zi) { j in
                    let dx = Double(xs[j]) - xi, dy = Double(ys[j]) - yi, dz = Double(zs[j]) - zi
                    if j != i && dx * dx + dy * dy + dz * dz <= rc2 { sum += fEvap[Int(el[j])]; n += 1 }
                }
                let own = fEvap[Int(el[i])]
                return Float(n > 0 ? (1 - w) * own + w * sum / Double(n) : own)
            }
        }
        return chunks.flatMap { $0 }
    }

    @inline(__always) func key(_ s: Int) -> Double {
        surf.sigma[s] * cNorm / evaporationField(Int(surf.sAtom[s]))
    }

    /// Global refresh: octree iterations, apex fit, continuum match, heap rebuild.
    mutating func refresh(iterations: Int, tolerance: Double = 0) throws {
        surf.globalIterations(iterations, threads: threads, tolerance: tolerance)
        fitApex()
        try matchContinuum()
        let slots = surf.activeSlots
        for s in slots { heap.set(Int(surf.sAtom[s]), score: key(s)) }
    }

    mutating func fitApex() {
        let slots = surf.activeSlots
        var zTop = -Double.infinity
        for s in slots where surf.sigma[s] > 0.05 { zTop = max(zTop, surf.sz[s]) }
        let h = 0.3 * apexRadius
        var pts: [SIMD3<Double>] = []
        for s in slots where surf.sigma[s] > 0.05 && surf.sz[s] > zTop - h {
            pts.append(SIMD3(surf.sx[s], surf.sy[s], surf.sz[s]))
        }
        if let fit = fitSphere(pts), fit.radius > 0.3, fit.radius < 50 * apexRadius + 100 {
            // The fit over a cap of a few hundred atoms jitters by several per cent from one refresh to the next
            // (a facet being peeled); the apex itself changes slowly: follow it with a running mean.
            let w = smoothing ? 0.25 : 1
            apexRadius += w * (fit.radius - apexRadius); apexCentre += w * (fit.centre - apexCentre)
        }
    }

    /// Continuum quantities at one radius: k_f, cap-mean field × R, ξ.
    struct MacroPoint { var kf: Double; var capFieldTimesR: Double; var xi: Double }

    mutating func macroPoint(_ k: Int) throws -> MacroPoint {
        if let m = macroTable[k] { return m }
        let r = pow(1.05, Double(k))
        let env = p.environment
        // A cylindrical needle (0°) is modelled as a 0.5° cone, so that it still widens into its post.
        let prof = MeridianProfile.sphereOnCone(radiusNM: r, shankHalfAngleDeg: max(0.5, p.shankHalfAngleDeg),
                                                postRadiusNM: env.postRadiusUM * 1e3, totalLengthNM: env.postLengthMM * 1e6)
        let m = try AxisymmetricFieldModel(profile: prof, environment: env, apexSpacingNM: 0.08 * r)
        let th = 4 * Double.pi / 180
        let d = m.detectorAngle(launchPolarAngleRad: th)
        let pt = MacroPoint(kf: 1 / (m.apexFieldPerVolt * r), capFieldTimesR: m.capMeanFieldPerVolt(polarAngleDeg: p.matchCapDeg) * r,
                            xi: d.map { $0 > 0 ? th / $0 : 1.6 } ?? 1.6)
        macroTable[k] = pt
        return pt
    }

    /// Continuum scale for the current apex radius (interpolated in ln R between radii 5 % apart, each solved once)
    /// and the atomistic charge it is matched to.
    mutating func matchContinuum() throws {
        let u = log(apexRadius) / log(1.05)
        let k0 = Int(u.rounded(.down))
        let w = u - Double(k0)
        let a = try macroPoint(k0), b = try macroPoint(k0 + 1)
        kf = a.kf * (1 - w) + b.kf * w
        xi = a.xi * (1 - w) + b.xi * w
        apexFieldPerVolt = 1 / (kf * apexRadius)
        let capField = (a.capFieldTimesR * (1 - w) + b.capFieldTimesR * w) / apexRadius
        if abs(apexRadius / ionisation.apexRadiusNM - 1) > 0.2 {
            ionisation = PostIonisationModel(elements: Set(atoms.elementZ).map(Int.init).sorted(), apexRadiusNM: apexRadius)
        }
        // Mean charge over the charged atoms of the cap.
        let cosMax = cos(p.matchCapDeg * .pi / 180)
        // Charge-weighted mean charge Σσ²/Σσ over the cap: the charge an exposed atom of a flat terrace carries
        // (shielded second-layer atoms, nearly uncharged, do not dilute it).
        var s1 = 0.0, s2 = 0.0, n = 0
        for s in surf.activeSlots {
            let d = SIMD3(surf.sx[s], surf.sy[s], surf.sz[s]) - apexCentre
            let l = (d * d).sum().squareRoot()
            if l > 0 && d.z / l >= cosMax { s1 += surf.sigma[s]; s2 += surf.sigma[s] * surf.sigma[s]; n += 1 }
        }
        let ref = n > 8 && s1 > 0 ? s2 / s1 : 1
        // The macroscopic field at given voltage changes only as the tip blunts; a jump of the normalisation would
        // be a jump of every field at once (a flash of evaporation under the servo's fixed voltage).
        let target = capField / ref
        cNorm = smoothing ? cNorm * pow(target / cNorm, 0.25) : target
        terracePerVolt = ref * cNorm
        var peak = 0.0
        for s in surf.activeSlots { peak = max(peak, surf.sigma[s]) }
        runawayChargeLimit = 1.5 * peak
        runawaySuspected = false
    }

    /// When the runaway detector has fired: a global re-solve (three iterations), counted. Returns whether it ran.
    mutating func resolveRunaway() throws -> Bool {
        guard runawaySuspected else { return false }
        try refresh(iterations: 3)
        stats.runawayResolves += 1
        return true
    }

    /// Removes atom `i`, relaxes its neighbourhood and updates the heap. Returns the atom's field per volt and
    /// surface normal just before it left.
    @discardableResult
    mutating func evaporate(_ i: Int) -> (g: Double, n: SIMD3<Double>) {
        let s0 = Int(surf.slotOf[i])
        let info = s0 >= 0 ? (surf.sigma[s0] * cNorm, SIMD3(surf.nx[s0], surf.ny[s0], surf.nz[s0])) : (0, SIMD3<Double>(0, 0, 1))
        heap.remove(i)
        let (changed, _) = surf.remove(i)
        surf.relax(changed, sweeps: p.localSweeps)
        var peak = 0.0
        for s in changed where surf.active[s] { heap.set(Int(surf.sAtom[s]), score: key(s)); peak = max(peak, surf.sigma[s]) }
        if peak > runawayChargeLimit { runawaySuspected = true }
        return info
    }

    // MARK: Run

    mutating func run(progress: ProgressReporter) throws -> EvaporationRun {
        let tSetup = Date()
        try refresh(iterations: 80, tolerance: 1e-4)
        // The continuum match depends on the fitted radius, which depended on the first charges: once more.
        try refresh(iterations: 2)
        smoothing = true
        let fraction = p.refreshFraction
        let refreshEvery = { (n: Int) in max(32, Int(Double(n) * fraction)) }
        var sinceRefresh = 0
        var stop = EvaporationStop.maxEvents
        var depth = 0.0
        var kin = PulseKinetics(parameters: p)
        var vDC = 0.0
        var servo = Servo(parameters: p)
        var snapEvents = p.snapshotAtEvents.sorted()
        var snapVolts = p.snapshotAtVoltagesV.sorted()
        var pulse: Int64 = 0
        var vSmooth = 0.0   // deterministic mode: the voltage a servo would hold

        if p.mode == .pulsed {
            vDC = initialVoltage(&kin)
        }
        record(pulse: pulse, vDC: vDC, rate: servo.estimate)
        let setupWallS = Date().timeIntervalSince(tSetup) + initWallS

        mainLoop: while events.count < p.maxEvents {
            if try resolveRunaway() { sinceRefresh = 0 }
            guard heap.top != nil else { stop = .exhausted; break }
            // Snapshots before the next event.
            while let e = snapEvents.first, e <= events.count { snapshots.append(snapshot(vDC: vDC)); snapEvents.removeFirst() }
            while let v = snapVolts.first, vDC >= v { snapshots.append(snapshot(vDC: vDC)); snapVolts.removeFirst() }

            var departed: [(atom: Int, timeNS: Double, vTotal: Double, g: Double, n: SIMD3<Double>)] = []
            var stopAfterThisPulse = false
            var pulseVDC = vDC
            switch p.mode {
            case .deterministic:
                let i = heap.top!
                let s = Int(surf.slotOf[i])
                let g = surf.sigma[s] * cNorm
                let vNeed = evaporationField(i) / max(g, 1e-30)
                vSmooth = vSmooth == 0 ? vNeed : vSmooth + (vNeed - vSmooth) / 256
                vDC = vSmooth / (1 + p.pulseFraction)
                pulseVDC = vDC
                // One event per pulse at the servo's evaporation probability.
                let q = min(max(p.targetDetectionRate / p.detectionEfficiency, 1e-9), 1 - 1e-12)
                pulse += 1 + Int64((log(1 - rng.uniform()) / log(1 - q)).rounded(.down))
                let info = evaporate(i)
                departed.append((i, kin.peakNS, vNeed, info.g, info.n))
            case .pulsed:
                // Pulses until one fires (the servo updates V_DC on the way, at least every tenth of its averaging
                // time, so that a quiet stretch raises the voltage as it goes on).
                var fired = false
                while !fired {
                    let cands = candidates()
                    let lam = kin.totalIntegral(cands, vDC: vDC)
                    let pFire = -expm1(-lam)
                    let untilBlockEnd = servo.tickPulses
                    if servo.needsSensitivity { servo.setSensitivity(kin.sensitivity(cands, vDC: vDC)) }
                    let n: Int64
                    if pFire <= 1e-300 { n = Int64.max } else if pFire >= 1 { n = 1 } else {
                        let u = 1 - rng.uniform()
                        let g = (log(u) / log1p(-pFire)).rounded(.down)
                        n = g > 9e15 ? Int64.max : 1 + Int64(g)
                    }
                    if n > untilBlockEnd {
                        pulse += untilBlockEnd
                        stats.pulses += untilBlockEnd
                        vDC = servo.update(vDC: vDC, pulses: untilBlockEnd, detected: 0)
                        if vDC > p.maxDCV || vDC * p.pulseFraction > p.maxPulseV { stop = .voltageLimit; break mainLoop }
                        continue
                    }
                    pulse += n; stats.pulses += n
                    fired = true
                    stats.firingPulses += 1
                    pulseVDC = vDC
                    // Departures within this pulse: as the inhomogeneous Poisson process of the updated rates
                    // gives, up to `maxDeparturesPerPulse`. Without that cap the local field model lets a departure
                    // raise its neighbours far past k_BT/Q₀, and a pulse can carry a whole terrace (933 departures
                    // on the quickstart, 8,291 on the 5 nm W tip; Validation/kinetics).
                    var t0 = 0.0
                    var first = true
                    var detectedHere = 0.0
                    var budget = p.maxDeparturesPerPulse
                    while budget > 0 {
                        budget -= 1
                        if try resolveRunaway() { sinceRefresh = 0 }
                        let cs = first ? cands : candidates()
                        guard let (atomIdx, t) = kin.nextDeparture(cs, vDC: vDC, after: t0, conditionedOnOne: first, rng: &rng) else { break }
                        let vAt = vDC * (1 + p.pulseFraction * kin.shape(t))
                        // Detection estimate for the servo.
                        let pos = SIMD3(Double(atoms.xNM[atomIdx]), Double(atoms.yNM[atomIdx]), Double(atoms.zNM[atomIdx])) - apexCentre
                        let l = (pos * pos).sum().squareRoot()
                        let acc = xi * p.detectorHalfAngleRad
                        if l > 0 && acos(min(1, pos.z / l)) <= acc { detectedHere += p.detectionEfficiency; detectedTotal += p.detectionEfficiency }
                        if t > kin.windowNS { stats.dcEvents += 1 }
                        let info = evaporate(atomIdx)
                        departed.append((atomIdx, t, vAt, info.g, info.n))
                        t0 = t
                        first = false
                    }
                    if departed.count > 1 { stats.multiEventPulses += 1 }
                    if budget == 0 { stats.cappedPulses += 1 }
                    vDC = servo.update(vDC: vDC, pulses: n, detected: detectedHere)
                    if vDC > p.maxDCV || vDC * p.pulseFraction > p.maxPulseV { stop = .voltageLimit; stopAfterThisPulse = true }
                }
            }
            for d in departed {
                let i = d.atom
                let z = Int(atoms.elementZ[i])
                let field = d.vTotal * d.g
                let charge = ionisation.sampleCharge(z: z, fieldVPerNM: field > 0 ? field : fEvap[z]) { rng.uniform() }
                let n = d.n
                events.atomID.append(atoms.id[i]); events.pulseIndex.append(pulse); events.timeInPulseNS.append(Float(d.timeNS))
                events.vDCV.append(Float(pulseVDC)); events.vPulseV.append(Float(pulseVDC * p.pulseFraction))
                events.fieldVPerNM.append(Float(field)); events.chargeState.append(UInt8(charge))
                events.launchXNM.append(atoms.xNM[i]); events.launchYNM.append(atoms.yNM[i]); events.launchZNM.append(atoms.zNM[i])
                events.normalX.append(Float(n.x)); events.normalY.append(Float(n.y)); events.normalZ.append(Float(n.z))
                apexR.append(Float(apexRadius)); kfPerEvent.append(Float(kf))
                centreX.append(Float(apexCentre.x)); centreY.append(Float(apexCentre.y)); centreZ.append(Float(apexCentre.z))
                depG.append(Float(d.g)); depFEvap.append(Float(evaporationField(i))); terrG.append(Float(terracePerVolt))
                let xi0 = Double(atoms.xNM[i]), yi0 = Double(atoms.yNM[i])
                if xi0 * xi0 + yi0 * yi0 < 4 { depth = max(depth, zApex0 - Double(atoms.zNM[i])) }
                sinceRefresh += 1
            }
            if sinceRefresh >= refreshEvery(surf.activeCount) {
                let before = heap.top.map { heap.score[$0] } ?? 0
                try refresh(iterations: p.refreshIterations)
                let after = heap.top.map { heap.score[$0] } ?? 0
                if before > 0 && after > 0 {
                    stats.refreshCount += 1; stats.refreshLogJumpSum += log(after / before)
                    stats.largestRefreshTopFieldJump = max(stats.largestRefreshTopFieldJump, abs(after / before - 1))
                }
                sinceRefresh = 0
                record(pulse: pulse, vDC: vDC, rate: servo.estimate)
                if events.count % 1024 < 64 { progress.report("evaporation", events.count, p.maxEvents) }
            }
            if stopAfterThisPulse { break }
            if depth >= p.maxDepthNM { stop = .maxDepth; break }
            if p.mode == .deterministic && (vDC > p.maxDCV || vDC * p.pulseFraction > p.maxPulseV) { stop = .voltageLimit; break }
        }
        record(pulse: pulse, vDC: vDC, rate: servo.estimate)
        progress.report("evaporation", events.count, events.count)
        return EvaporationRun(events: events, apexRadiusNM: apexR, fieldFactorKf: kfPerEvent,
                              apexCentreXNM: centreX, apexCentreYNM: centreY, apexCentreZNM: centreZ,
                              departureFieldPerVolt: depG, departureEvaporationField: depFEvap, terraceFieldPerVolt: terrG,
                              pulseFraction: p.pulseFraction, timeSeries: series, snapshots: snapshots,
                              pulseStatistics: stats, stopReason: stop, depthNM: depth, pulsePeakNS: kin.peakNS,
                              setupWallS: setupWallS)
    }

    mutating func record(pulse: Int64, vDC: Double, rate: Double) {
        let vPeak = vDC * (1 + p.pulseFraction)
        series.append(EngineSample(eventIndex: events.count, pulseIndex: pulse, vDCV: vDC, apexRadiusNM: apexRadius,
                                   fieldFactorKf: kf, imageCompression: xi, apexFieldVPerNM: vPeak * apexFieldPerVolt,
                                   detectionRate: rate, cumulativeDetected: detectedTotal, surfaceAtoms: surf.activeCount))
    }

    func snapshot(vDC: Double) -> SurfaceSnapshot {
        var s = SurfaceSnapshot(eventIndex: events.count, vDCV: vDC, apexRadiusNM: apexRadius, atomID: [], xNM: [], yNM: [], zNM: [], fieldVPerNM: [])
        let vPeak = vDC * (1 + p.pulseFraction)
        for k in surf.activeSlots {
            let i = Int(surf.sAtom[k])
            s.atomID.append(atoms.id[i]); s.xNM.append(atoms.xNM[i]); s.yNM.append(atoms.yNM[i]); s.zNM.append(atoms.zNM[i])
            s.fieldVPerNM.append(Float(vPeak * surf.sigma[k] * cNorm))
        }
        return s
    }

    /// Surface atoms that can matter for the next pulse: key within 15 k_BT/Q₀ of the top (their rate is below
    /// e⁻¹⁵ of the top atom's), at most 128.
    mutating func candidates() -> [(atom: Int, x: Double, q0: Double)] {
        guard let top = heap.top else { return [] }
        let xTop = heap.score[top]
        let delta = 15 * PhysicalConstants.boltzmannEVPerK * p.temperatureK / p.barrierQ0EV
        var list = heap.atoms(withScoreAtLeast: xTop * (1 - delta), limit: 4096)
        if list.count > 128 {
            list.sort { (heap.score[$0], -$0) > (heap.score[$1], -$1) }
            list.removeLast(list.count - 128)
            stats.truncatedCandidateSets += 1
        } else {
            list.sort()
        }
        return list.map { ($0, heap.score[$0], p.barrierQ0EV) }
    }

    /// V_DC at which the firing probability per pulse equals the servo target (bisection in log V).
    mutating func initialVoltage(_ kin: inout PulseKinetics) -> Double {
        let cands = candidates()
        let target = min(0.5, p.targetDetectionRate / p.detectionEfficiency)
        var lo = log(1.0), hi = log(1e6)
        for _ in 0..<80 {
            let mid = (lo + hi) / 2
            let pf = -expm1(-kin.totalIntegral(cands, vDC: exp(mid)))
            if pf < target { lo = mid } else { hi = mid }
        }
        return exp((lo + hi) / 2)
    }
}

extension EngineState {
    /// Kåsa sphere fit: centre and radius, nil if singular.
    func fitSphere(_ pts: [SIMD3<Double>]) -> (centre: SIMD3<Double>, radius: Double)? {
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
        return r2 > 0 ? (mean + SIMD3(x[0], x[1], x[2]), r2.squareRoot()) : nil
    }
}

/// Pulse shape, rate integrals and in-pulse sampling for thermally activated evaporation.
struct PulseKinetics {
    let p: EvaporationEngineParameters
    let kT: Double
    let sigmaNS: Double
    let windowNS: Double
    let periodNS: Double
    let peakNS: Double
    /// Grid over the pulse window, its shape values and the DC tail.
    let t: [Double]
    let s: [Double]
    let nuPerNS: Double

    init(parameters: EvaporationEngineParameters) {
        p = parameters
        kT = PhysicalConstants.boltzmannEVPerK * parameters.temperatureK
        sigmaNS = parameters.pulseFWHMNS / 2.354820045
        windowNS = 8 * sigmaNS
        peakNS = 4 * sigmaNS
        periodNS = 1e9 / parameters.pulseFrequencyHz
        let j = 48
        var tt: [Double] = [], ss: [Double] = []
        for k in 0...j {
            let x = windowNS * Double(k) / Double(j)
            tt.append(x); ss.append(exp(-0.5 * pow((x - peakNS) / sigmaNS, 2)))
        }
        tt.append(max(periodNS, windowNS * 1.0001)); ss.append(0)
        t = tt; s = ss
        nuPerNS = parameters.attemptFrequencyHz * 1e-9
    }

    /// Pulse shape s(t) (peak 1) at time t after the window start.
    func shape(_ x: Double) -> Double { x > windowNS ? 0 : exp(-0.5 * pow((x - peakNS) / sigmaNS, 2)) }

    @inline(__always) func rate(x: Double, q0: Double, v: Double) -> Double {
        nuPerNS * exp(-q0 * max(0, 1 - x * v) / kT)
    }

    /// Σᵢ ∫ kᵢ dt over one pulse period.
    func totalIntegral(_ c: [(atom: Int, x: Double, q0: Double)], vDC: Double) -> Double {
        var total = 0.0
        for cand in c {
            var prev = rate(x: cand.x, q0: cand.q0, v: vDC * (1 + p.pulseFraction * s[0]))
            for k in 1..<t.count {
                let r = rate(x: cand.x, q0: cand.q0, v: vDC * (1 + p.pulseFraction * s[k]))
                total += 0.5 * (r + prev) * (t[k] - t[k - 1])
                prev = r
            }
        }
        return total
    }

    /// ∂ ln(Σ∫k) / ∂ ln V_DC, numerically.
    func sensitivity(_ c: [(atom: Int, x: Double, q0: Double)], vDC: Double) -> Double {
        let a = totalIntegral(c, vDC: vDC * 1.001), b = totalIntegral(c, vDC: vDC / 1.001)
        guard a > 0, b > 0 else { return 100 }
        return max(1, log(a / b) / (2 * log(1.001)))
    }

    /// Next departure after time `t0` in the current pulse: the first point of the Poisson process of total rate
    /// Σkᵢ(t) (conditioned on at least one point over the whole period when `conditionedOnOne`), and the atom,
    /// chosen with probability kᵢ(t)/Σk(t). nil: no further departure in this pulse.
    func nextDeparture(_ c: [(atom: Int, x: Double, q0: Double)], vDC: Double, after t0: Double, conditionedOnOne: Bool,
                       rng: inout TwinRNG) -> (Int, Double)? {
        guard !c.isEmpty else { return nil }
        // Cumulative total rate on the grid from t0 (rates stored flat: time-major).
        var times: [Double] = [t0]
        for x in t where x > t0 { times.append(x) }
        let nc = c.count
        var rates = [Double](repeating: 0, count: times.count * nc)
        var totals = [Double](repeating: 0, count: times.count)
        for (k, tt) in times.enumerated() {
            let v = vDC * (1 + p.pulseFraction * shape(tt))
            var sum = 0.0
            for j in 0..<nc { let r = rate(x: c[j].x, q0: c[j].q0, v: v); rates[k * nc + j] = r; sum += r }
            totals[k] = sum
        }
        var cum = [Double](repeating: 0, count: times.count)
        for k in 1..<times.count { cum[k] = cum[k - 1] + 0.5 * (totals[k - 1] + totals[k]) * (times[k] - times[k - 1]) }
        let total = cum[times.count - 1]
        guard total > 0 else { return nil }
        let e: Double
        if conditionedOnOne {
            e = -log1p(-rng.uniform() * -expm1(-total))
        } else {
            e = -log(1 - rng.uniform())
            if e >= total { return nil }
        }
        var k = 1
        while k < cum.count - 1 && cum[k] < e { k += 1 }
        let seg = max(1e-300, cum[k] - cum[k - 1])
        let w = min(1, max(0, (e - cum[k - 1]) / seg))
        let tHit = times[k - 1] + w * (times[k] - times[k - 1])
        // Atom ∝ its rate at tHit.
        var sum = 0.0
        for j in 0..<nc { sum += rates[(k - 1) * nc + j] * (1 - w) + rates[k * nc + j] * w }
        var u = rng.uniform() * sum
        for j in 0..<nc {
            u -= rates[(k - 1) * nc + j] * (1 - w) + rates[k * nc + j] * w
            if u <= 0 { return (c[j].atom, tHit) }
        }
        return (c[nc - 1].atom, tHit)
    }
}

/// The voltage servo: holds the detected rate per pulse at the target, updating V_DC after every firing pulse and,
/// in a quiet stretch, every tenth of its averaging time.
///
/// The rate estimate is an exponential average over the last `window` detections' worth of pulses,
/// τ = window / max(target, estimate): at the target that is 50/target pulses, and in a flash (many departures per
/// pulse) it shrinks to a few pulses, so the servo reacts within the flash instead of a block later. Each update
/// over n pulses with d detected ions moves ln V_DC by [g·ε·min(1, n/τ) + 0.3·I·n/τ₀]/S: proportional on
/// ε = ln(target/estimate) clamped to [−4, 2] (g = 0.4 once locked on, 2 during the start-up ramp), integral on the
/// linear deficit I += (n·target − d)/window, clamped to ±5 (stationary only when the arithmetic mean rate equals
/// the target), τ₀ = window/target, S = ∂ln(rate)/∂ln(V) at the operating point (refreshed every 32 updates).
struct Servo {
    let target: Double
    let window = 50.0
    var estimate: Double
    var integral = 0.0
    /// The rate has reached half the target once (before that, the start-up ramp must not wind the integral up).
    var lockedOn = false
    private(set) var sensitivity = 100.0
    private var updatesSinceSensitivity = 32

    init(parameters p: EvaporationEngineParameters) {
        target = p.targetDetectionRate
        estimate = 0
    }

    var tau: Double { window / max(target, estimate) }
    var tickPulses: Int64 { max(1, Int64(0.1 * tau)) }
    var needsSensitivity: Bool { updatesSinceSensitivity >= 32 }
    mutating func setSensitivity(_ s: Double) { sensitivity = s; updatesSinceSensitivity = 0 }

    /// Accounts for n pulses that gave d detected ions (expected: ions within the acceptance × efficiency) and
    /// returns the new V_DC.
    mutating func update(vDC: Double, pulses n: Int64, detected d: Double) -> Double {
        updatesSinceSensitivity += 1
        let nd = Double(n)
        let a = min(1, nd / tau)
        estimate = (1 - a) * estimate + a * d / nd
        if estimate >= 0.5 * target { lockedOn = true }
        let err = estimate > 0 ? max(-4, min(2, log(target / estimate))) : 2
        let tau0 = window / target
        if lockedOn { integral = max(-5, min(5, integral + (nd * target - d) / window)) }
        return vDC * exp(((lockedOn ? 0.4 : 2.0) * err * a + 0.3 * integral * min(1, nd / tau0)) / max(1, sensitivity))
    }
}
