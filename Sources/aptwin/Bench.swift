import ArgumentParser
import FieldEvaporation
import FileFormats
import Foundation
import IonOptics
import ScenarioConfig
import SpecimenBuilder
import TwinCore
import TwinPipeline
import TEMImaging

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks: machine-readable results with CPU and wall time.",
        discussion: "Stages: formats, specimen, evaporation, kinetics, tem, optics, pipeline, reconstruction (default: all). Output: {\"machine\": {...}, \"results\": [{\"stage\", \"case\", \"cpu_s\", \"wall_s\", <metric>}]}.")
    @Argument(help: "Stage to benchmark (formats, specimen, evaporation, kinetics, tem, optics, pipeline, reconstruction); all when omitted.") var stage: String?
    @Flag(help: "Print JSON only.") var json = false
    @Option(help: "Worker threads.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "evaporation: also the 10⁷-atom needle, 10⁶ events (about half an hour).") var large = false
    @Flag(name: .customLong("with-aptrajectories"),
          help: "evaporation: also run the PyPI package aptrajectories on the small tip (needs network; Validation/aptrajectories/run.sh).")
    var withAptrajectories = false
    @Option(help: "kinetics: events per case (0: each case's default).") var kineticsEvents: Int = 0
    @Option(help: "kinetics: seeds per case (1, 2, …).") var kineticsSeeds: Int = 1
    @Option(help: "kinetics: only the cases whose name contains this.") var kineticsCase: String?
    @Option(help: "Synthetic ions for the in-memory reconstruction cases.") var reconIons: Int = 100_000_000
    @Option(help: "Ions in the EPOS file of the streaming reconstruction case.") var streamIons: Int = 20_000_000

    static let stages = ["formats", "specimen", "evaporation", "kinetics", "tem", "optics", "pipeline", "reconstruction"]

    func run() throws {
        try reportingErrors {
            let chosen = stage.map { [$0] } ?? Bench.stages
            for s in chosen where !Bench.stages.contains(s) {
                throw CLIError("unknown stage '\(s)'; stages: \(Bench.stages.joined(separator: ", "))")
            }
            var results: [[String: Any]] = []
            for s in chosen {
                let r: [[String: Any]]
                switch s {
                case "formats": r = try benchFormats()
                case "specimen": r = try benchSpecimen()
                case "evaporation": r = try benchEvaporation()
                case "kinetics": r = try benchKinetics()
                case "tem": r = try benchTEM()
                case "optics": r = try benchOptics()
                case "reconstruction": r = try benchReconstruction()
                default: r = try benchPipeline()
                }
                results += r
                if !json { for row in r { FileHandle.standardError.write(Data("\(row)\n".utf8)) } }
            }
            let out: [String: Any] = ["machine": machineInfo(threads: threads), "results": results]
            let data = try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    func row(_ stage: String, _ c: String, _ t: StageTiming, _ metrics: [String: Any]) -> [String: Any] {
        var r: [String: Any] = ["stage": stage, "case": c, "cpu_s": t.cpuS, "wall_s": t.wallS, "threads": threads]
        for (k, v) in metrics { r[k] = v }
        return r
    }

    func benchFormats() throws -> [[String: Any]] {
        let n = 4_000_000
        var acq = Acquisition()
        var rng = TwinRNG(seed: 7)
        func col() -> [Float] { (0..<n).map { _ in Float(rng.uniform() * 100) } }
        acq.xNM = col(); acq.yNM = col(); acq.zNM = col(); acq.massToChargeDa = col(); acq.tofNS = col()
        acq.vDCV = col(); acq.vPulseV = col(); acq.detectorXMM = col(); acq.detectorYMM = col()
        acq.pulsesSincePrevious = [UInt32](repeating: 1, count: n); acq.multiplicity = [UInt32](repeating: 1, count: n)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aptwin-bench-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var out: [[String: Any]] = []
        let pos = dir.appendingPathComponent("b.pos"), epos = dir.appendingPathComponent("b.epos")
        let (_, tw) = try measure("w") { try POSFile.write(acq, to: pos) }
        out.append(row("formats", "pos_write_\(n)", tw, ["ions_per_s": Double(n) / tw.wallS]))
        let (_, tr) = try measure("r") { _ = try POSFile.read(pos) }
        out.append(row("formats", "pos_read_\(n)", tr, ["ions_per_s": Double(n) / tr.wallS, "numpy_baseline_ions_per_s": 34.5e6]))
        let (_, tw2) = try measure("w") { try EPOSFile.write(acq, to: epos) }
        out.append(row("formats", "epos_write_\(n)", tw2, ["ions_per_s": Double(n) / tw2.wallS]))
        let (_, tr2) = try measure("r") { _ = try EPOSFile.read(epos) }
        out.append(row("formats", "epos_read_\(n)", tr2, ["ions_per_s": Double(n) / tr2.wallS, "numpy_baseline_ions_per_s": 8.1e6]))
        let apt = dir.appendingPathComponent("b.apt")
        let (_, tw3) = try measure("w") { try APTFile.write(acq, to: apt) }
        let aptBytes = (try? FileManager.default.attributesOfItem(atPath: apt.path)[.size] as? Int) ?? 0
        // The same number of bytes written as one plain buffer to the same directory: what the file system
        // accepts at best, measured in this run (APT writing cannot be faster than this on this disk).
        let zeros = Data(count: aptBytes)
        let raw = dir.appendingPathComponent("raw.bin")
        let (_, twRaw) = try measure("w") { try AtomicFile.write(zeros, to: raw) }
        try? FileManager.default.removeItem(at: raw)
        out.append(row("formats", "apt_write_\(n)", tw3, [
            "ions_per_s": Double(n) / tw3.wallS, "target_ions_per_s": 20e6, "bytes": aptBytes,
            "mb_per_s": Double(aptBytes) / tw3.wallS / 1e6, "raw_write_same_bytes_mb_per_s": Double(aptBytes) / twRaw.wallS / 1e6,
            "ratio_to_raw_write": twRaw.wallS / tw3.wallS]))
        // The same write to tmpfs (memory-backed), where the disk does not bound it.
        let shm = URL(fileURLWithPath: "/dev/shm")
        if FileManager.default.isWritableFile(atPath: shm.path) {
            let f = shm.appendingPathComponent("aptwin-bench-\(getpid()).apt")
            defer { try? FileManager.default.removeItem(at: f) }
            let (_, tws) = try measure("w") { try APTFile.write(acq, to: f) }
            out.append(row("formats", "apt_write_tmpfs_\(n)", tws, ["ions_per_s": Double(n) / tws.wallS, "target_ions_per_s": 20e6,
                                                                     "mb_per_s": Double(aptBytes) / tws.wallS / 1e6]))
        }
        let (bytes, te3) = measure("e") { APTFile.encode(sections: APTFile.sections(of: acq).sections, ionCount: n).count }
        out.append(row("formats", "apt_encode_in_memory_\(n)", te3, ["ions_per_s": Double(n) / te3.wallS, "bytes": bytes]))
        let (_, tr3) = try measure("r") { _ = try APTFile.read(apt) }
        out.append(row("formats", "apt_read_\(n)", tr3, ["ions_per_s": Double(n) / tr3.wallS]))
        // The real Si dataset, when the tests have fetched it (best of 5 reads, warm cache).
        let si = URL(fileURLWithPath: ".testdata/apav-1.2.2")
        for (file, isPOS, baseline) in [("Si.pos", true, 34.5e6), ("Si.epos", false, 8.1e6)] {
            let u = si.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: u.path) else { continue }
            var best: StageTiming?, ions = 0
            for _ in 0..<5 {
                let (k, t) = try measure("r") { try isPOS ? POSFile.read(u).count : EPOSFile.read(u).count }
                ions = k
                if best == nil || t.wallS < best!.wallS { best = t }
            }
            out.append(row("formats", "\(file)_read_\(ions)", best!, ["ions_per_s": Double(ions) / best!.wallS,
                                                                     "numpy_baseline_ions_per_s": baseline]))
        }
        return out
    }

    /// A Fe-Cr needle spec with about `atoms` atoms (length found by bisection on the needle volume).
    func needle(atoms target: Double, radiusNM: Double = 10) throws -> SpecimenSpec {
        let lattice = try CrystalLattice(kind: .bcc, aNM: 0.2877)
        let g = try NeedleGeometry.holding(atoms: target, numberDensityPerNM3: lattice.numberDensityPerNM3, apexRadiusNM: radiusNM,
                                           shankHalfAngleDeg: 5, maxLengthNM: 500)
        return SpecimenSpec(geometry: g, lattice: lattice,
                            composition: [CompositionEntry(z: 26, fraction: 0.486), CompositionEntry(z: 24, fraction: 0.514)],
                            orientation: try Rotation3(crystalDirectionAlongSpecimenZ: SIMD3(0, 0, 1)))
    }

    /// Peak resident memory of the process so far, bytes (VmHWM).
    func peakRSSBytes() -> Double {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
        let kb = Double(line.split(separator: " ").dropFirst().first.map(String.init) ?? "0") ?? 0
        return kb * 1024
    }

    func benchSpecimen() throws -> [[String: Any]] {
        var out: [[String: Any]] = []
        // 10^7 first: the process's peak resident memory right after it bounds the bytes per atom from above
        // (binary and runtime included) when the stage is benchmarked alone (`aptwin bench specimen`).
        for (k, (target, r)) in [(1e7, 30.0), (1e5, 6.0), (1e6, 15.0)].enumerated() {
            let spec = try needle(atoms: target, radiusNM: r)
            let (b, t) = try measure("s") { try SpecimenFactory.build(spec, seed: 1, threads: threads) }
            var metrics: [String: Any] = ["atoms": b.atoms.count, "atoms_per_s": Double(b.atoms.count) / t.wallS,
                                          "bytes_per_atom": TruthAtoms.bytesPerAtom]
            if k == 0 && (stage == "specimen") { metrics["peak_rss_bytes_per_atom"] = peakRSSBytes() / Double(b.atoms.count) }
            out.append(row("specimen", "random_solution_\(Int(target))", t, metrics))
        }
        // Microstructures at 10^6 atoms: spinodal (Cahn-Hilliard field included), precipitates, Voronoi grains.
        var spin = try needle(atoms: 1e6, radiusNM: 15)
        let rb = spin.geometry.baseRadiusNM
        let (grid, tf) = try measure("f") {
            try SpinodalField.generate(SpinodalParameters(wavelengthNM: 5, boxNM: (2 * rb, 2 * rb, spin.geometry.lengthNM)), seed: 1, threads: threads)
        }
        out.append(row("specimen", "cahn_hilliard_field_\(grid.nx)x\(grid.ny)x\(grid.nz)", tf, ["cells": grid.values.count]))
        spin.spinodal = SpinodalChemistry(field: grid, soluteZ: 24, amplitudeAtFrac: 0.35)
        let (bs, ts) = try measure("s") { try SpecimenFactory.build(spin, seed: 1, threads: threads) }
        out.append(row("specimen", "spinodal_1000000", ts, ["atoms": bs.atoms.count, "atoms_per_s": Double(bs.atoms.count) / ts.wallS]))
        var pre = try needle(atoms: 1e6, radiusNM: 15)
        pre.lattice = try CrystalLattice(kind: .fcc, aNM: 0.405)
        pre.composition = [CompositionEntry(z: 13, fraction: 0.983), CompositionEntry(z: 47, fraction: 0.017)]
        pre.precipitates = PrecipitateSpec(numberDensityPerNM3: 0.002, shape: .sphere, radiusNM: 1.5,
                                           composition: [CompositionEntry(z: 47, fraction: 0.6), CompositionEntry(z: 13, fraction: 0.4)])
        let (bp, tp) = try measure("s") { try SpecimenFactory.build(pre, seed: 1, threads: threads) }
        out.append(row("specimen", "precipitates_1000000", tp, ["atoms": bp.atoms.count, "precipitates": bp.precipitates.count,
                                                                "atoms_per_s": Double(bp.atoms.count) / tp.wallS]))
        var poly = try needle(atoms: 1e6, radiusNM: 15)
        let map = try VoronoiGrains(boxMinNM: SIMD3(-rb, -rb, -poly.geometry.lengthNM), boxMaxNM: SIMD3(rb, rb, 0), meanGrainSizeNM: 15, seed: 1)
        poly.grains = GrainSetup(map: map, orientations: VoronoiGrains.randomOrientations(count: map.grainCount, seed: 1))
        let (bg, tg) = try measure("s") { try SpecimenFactory.build(poly, seed: 1, threads: threads) }
        out.append(row("specimen", "voronoi_1000000", tg, ["atoms": bg.atoms.count, "grains": map.grainCount,
                                                           "atoms_per_s": Double(bg.atoms.count) / tg.wallS,
                                                           "removed_at_boundaries": bg.removedAtBoundaries]))
        out.append(row("specimen", "peak_resident", StageTiming(stage: "specimen", wallS: 0, cpuS: 0), ["peak_rss_bytes": peakRSSBytes()]))
        return out
    }

    /// A W bcc needle, ⟨110⟩ along the axis, with about `atoms` atoms, and engine parameters for it.
    func tungstenNeedle(atoms target: Double, radiusNM r: Double, shankDeg: Double = 10) throws -> (TruthAtoms, EvaporationEngineParameters) {
        try bccNeedle(atoms: target, radiusNM: r, shankDeg: shankDeg, lattice: try CrystalLattice(kind: .bcc, aNM: 0.3165),
                      axis: SIMD3(1, 1, 0), z: 74)
    }

    /// Events per second of the field-evaporation engine on W ⟨110⟩ needles: ~4 × 10⁴ atoms (R = 5 nm, the size
    /// TAPSim ran at ~55 events/s here), 10⁶ and (with `--large`) 10⁷ atoms; deterministic and pulsed selection;
    /// and, when `--with-aptrajectories` is given, the same small tip through the PyPI package aptrajectories.
    func benchEvaporation() throws -> [[String: Any]] {
        var out: [[String: Any]] = []
        var cases: [(Double, Double, Int)] = [(4e4, 5, 20_000), (1e6, 15, 50_000)]
        if large { cases.append((1e7, 30, 1_000_000)) }
        for (target, r, events) in cases {
            let (atoms, p0) = try tungstenNeedle(atoms: target, radiusNM: r)
            for mode in [EvaporationMode.deterministic, .pulsed] {
                var p = p0
                p.mode = mode; p.maxEvents = events
                let (run, t) = try measure("e") { try FieldEvaporationEngine(parameters: p).run(atoms: atoms, seed: 1, threads: threads) }
                let loopWall = t.wallS - run.setupWallS
                out.append(row("evaporation", "w110_\(mode.rawValue)_\(atoms.count)_atoms", t,
                               ["atoms": atoms.count, "events": run.events.count,
                                "surface_atoms": run.timeSeries.first?.surfaceAtoms ?? 0,
                                "events_per_s": Double(run.events.count) / max(1e-9, loopWall),
                                "events_per_s_including_setup": Double(run.events.count) / t.wallS,
                                "setup_wall_s": run.setupWallS,
                                "tapsim_events_per_s_reference": 55.0]))
            }
        }
        if withAptrajectories {
            let (atoms, _) = try tungstenNeedle(atoms: 4e4, radiusNM: 5)
            out.append(try benchAptrajectories(atoms: atoms, ours: out.first))
        }
        return out
    }

    /// Runs Validation/aptrajectories/run.sh on the same tip and reports both rates and their ratio.
    func benchAptrajectories(atoms: TruthAtoms, ours: [String: Any]?) throws -> [String: Any] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aptwin-aptraj-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var csv = "x_nm,y_nm,z_nm\n"
        for i in 0..<atoms.count { csv += "\(atoms.xNM[i]),\(atoms.yNM[i]),\(atoms.zNM[i])\n" }
        let xyz = dir.appendingPathComponent("tip.csv")
        try Data(csv.utf8).write(to: xyz)
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: "/bin/bash")
        proc.arguments = ["Validation/aptrajectories/run.sh", "--xyz", xyz.path, "--events", "20", "--json"]
        let pipe = Pipe()
        proc.standardOutput = pipe
        let t0 = Date()
        try proc.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        proc.waitUntilExit()
        let wall = Date().timeIntervalSince(t0)
        guard proc.terminationStatus == 0, let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
              let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            return row("evaporation", "aptrajectories_side_by_side", StageTiming(stage: "aptrajectories", wallS: wall, cpuS: 0),
                       ["error": "Validation/aptrajectories/run.sh failed (exit \(proc.terminationStatus)); is PyPI reachable?"])
        }
        var metrics: [String: Any] = ["aptrajectories": json]
        if let theirs = json["events_per_s"] as? Double, let mine = ours?["events_per_s"] as? Double, theirs > 0 {
            metrics["ratio_aptwin_over_aptrajectories"] = mine / theirs
        }
        return row("evaporation", "aptrajectories_side_by_side", StageTiming(stage: "aptrajectories", wallS: wall, cpuS: 0), metrics)
    }

    /// A 2048 × 2048 frame (exit wave, CTF with envelopes, MTF, noise; projection excluded) and the projection of a
    /// 10⁷-atom needle onto a 2048 × 2048 frame (oversampling 2).
    func benchTEM() throws -> [[String: Any]] {
        var out: [[String: Any]] = []
        let spec = try needle(atoms: 1e7, radiusNM: 30)
        let atoms = try SpecimenFactory.build(spec, seed: 1, threads: threads).atoms
        let g = FrameGeometry(width: 2048, height: 2048, pixelNM: 0.24, needleDirectionDeg: -90, apexU: 1024, apexV: 200)
        var maps: [[Float]] = []
        var best: StageTiming?
        for _ in 0..<3 {
            let (m, t) = measure("p") { ProjectedThickness.maps(atoms: atoms, atomicVolumeNM3: spec.lattice.atomicVolumeNM3, geometry: g,
                                                                  oversample: 2, threads: threads) }
            maps = m
            if best == nil || t.wallS < best!.wallS { best = t }
        }
        out.append(row("tem", "projection_\(atoms.count)_atoms_2048x2048", best!, ["seconds_per_projection": best!.wallS, "atoms": atoms.count]))
        var bestF: StageTiming?
        for k in 0..<3 {
            let (_, t) = try measure("f") {
                try FrameFormation.render(thicknessNM: maps, materials: [.iron], extraPhaseRad: nil, width: 2048, height: 2048,
                                          microscope: MicroscopeParameters(), camera: CameraParameters(), seed: UInt64(k), threads: threads)
            }
            if bestF == nil || t.wallS < bestF!.wallS { bestF = t }
        }
        out.append(row("tem", "frame_2048x2048", bestF!, ["seconds_per_frame": bestF!.wallS]))
        return out
    }

    /// Traced ion optics + detector on the quickstart tip: the continuum field of a 10 nm apex on a 5° cone in the
    /// F200 gap (``AxisymmetricFieldModel``, the field the pipeline flies its ions through), Fe-Cr ions launched at
    /// rest 0.2 nm above the cap within 0.4 rad of the axis (the cone the pipeline traces) at 1 kV DC with a 20 %
    /// Gaussian pulse (2 ns FWHM; departures around its peak), flown to the 42 mm detector at 470 mm without and with
    /// a 2 T objective-lens field (tanh plateau 3 mm, 0.5 mm edges). The model's solve and tabulation, done once per
    /// run, are a separate row.
    func benchOptics() throws -> [[String: Any]] {
        let n = 20_000
        let rNM = 10.0
        let env = NeedleEnvironment()
        let prof = MeridianProfile.sphereOnCone(radiusNM: rNM, shankHalfAngleDeg: 5, postRadiusNM: env.postRadiusUM * 1e3,
                                                totalLengthNM: env.postLengthMM * 1e6)
        let (table, tTable) = try measure("t") { () throws -> AxisymmetricFieldTable in
            let model = try AxisymmetricFieldModel(profile: prof, environment: env, apexSpacingNM: 0.08 * rNM)
            return AxisymmetricFieldTable(model: model, apexRadiusNM: rNM, maxRadiusNM: env.counterElectrodeDistanceMM * 1e6, threads: threads)
        }
        var out: [[String: Any]] = [row("optics", "quickstart_tip_field_model_and_table", tTable, [:])]
        var (ev, atoms) = SyntheticEvents.sphereCap(composition: [(26, 0.486, 2), (24, 0.514, 2)], count: n, sphereRadiusM: rNM * 1e-9,
                                                    maxPolarAngleRad: 0.4, vDCV: 1000, vPulseV: 200,
                                                    departureMeanNS: 3.4, departureSigmaNS: 0.4, pulsesPerIon: 100, seed: 1)
        // Launch 0.2 nm above the surface, as the pipeline does (at least 1.02 R from the apex centre).
        for i in 0..<n {
            let c = SIMD3<Float>(ev.launchXNM[i], ev.launchYNM[i], ev.launchZNM[i] + Float(rNM))
            let q = c * Float(1.02) - SIMD3<Float>(0, 0, Float(rNM))
            ev.launchXNM[i] = q.x; ev.launchYNM[i] = q.y; ev.launchZNM[i] = q.z
            atoms.xNM[i] = q.x; atoms.yNM[i] = q.y; atoms.zNM[i] = q.z
        }
        for (name, lens) in [("quickstart_tip_lens_off", ObjectiveLensField.off),
                             ("quickstart_tip_lens_2T", ObjectiveLensField(peakFieldT: 2, profile: .tanhPlateau(lengthM: 3e-3, edgeWidthM: 0.5e-3)))] {
            let setup = FlightSetup(field: NeedleFieldModel(table: table, counterElectrodeDistanceMM: env.counterElectrodeDistanceMM),
                                    lens: lens, detectorDistanceM: 0.47, pulseShape: .gaussian(fwhmNS: 2, peakNS: 3.4))
            let optics = TracedOptics(setup: setup)
            let (r, t) = measure("o") { optics.fly(events: ev, atoms: atoms, seed: 1, threads: threads) }
            // Integration steps of one ⁵⁶Fe²⁺ launched on the axis at the pulse peak.
            let one = IonTracer(setup: setup).trace(IonLaunch(massDa: 55.934936, charge: 2, positionM: SIMD3(0, 0, 0.02 * rNM * 1e-9),
                                                              timeInPulseNS: 3.4, vDCV: 1000, vPulseV: 200))
            out.append(row("optics", "\(name)_\(n)_ions", t, ["ions": n, "ions_per_s": Double(n) / t.wallS,
                                                               "ions_per_cpu_s": Double(n) / max(t.cpuS, 1e-9),
                                                               "detected": r.detection.count(.detected),
                                                               "axis_ion_rk_steps": one.rkSteps, "axis_ion_rk_rejected": one.rkRejected,
                                                               "axis_ion_boris_steps": one.borisSteps]))
        }
        return out
    }

    func benchPipeline() throws -> [[String: Any]] {
        let s = ResolvedScenario.defaults()
        let config = try PipelineConfig(s)
        let (r, t) = try measure("p") { try TwinSimulation.run(config, threads: threads, progress: ProgressReporter(enabled: false)) }
        var rows = [row("pipeline", "default_scenario_in_memory", t, ["atoms": r.atoms.count, "events": r.evaporation.events.count])]
        for st in r.timings { rows.append(row("pipeline", st.stage, st, [:])) }
        return rows
    }
}

/// Machine description for benchmark results.
func machineInfo(threads: Int) -> [String: Any] {
    var cpu = "unknown"
    if let s = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
       let line = s.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
       let v = line.split(separator: ":", maxSplits: 1).last {
        cpu = v.trimmingCharacters(in: .whitespaces)
    }
    let p = ProcessInfo.processInfo
    return ["cpu": cpu, "cores": p.activeProcessorCount, "memory_gib": Double(p.physicalMemory) / 1_073_741_824,
            "os": p.operatingSystemVersionString, "threads": threads,
            "date_utc": ISO8601DateFormatter().string(from: Date()), "build": isDebugBuild() ? "debug" : "release"]
}

func isDebugBuild() -> Bool {
    #if DEBUG
    return true
    #else
    return false
    #endif
}
