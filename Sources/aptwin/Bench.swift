import ArgumentParser
import FieldEvaporation
import FileFormats
import Foundation
import ScenarioConfig
import SpecimenBuilder
import TwinCore
import TwinPipeline
import TEMImaging

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks: machine-readable results with CPU and wall time.",
        discussion: "Stages: formats, specimen, evaporation, tem, pipeline, reconstruction (default: all). Output: {\"machine\": {...}, \"results\": [{\"stage\", \"case\", \"cpu_s\", \"wall_s\", <metric>}]}.")
    @Argument(help: "Stage to benchmark (formats, specimen, evaporation, tem, pipeline, reconstruction); all when omitted.") var stage: String?
    @Flag(help: "Print JSON only.") var json = false
    @Option(help: "Worker threads.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Synthetic ions for the in-memory reconstruction cases.") var reconIons: Int = 100_000_000
    @Option(help: "Ions in the EPOS file of the streaming reconstruction case.") var streamIons: Int = 20_000_000

    static let stages = ["formats", "specimen", "evaporation", "tem", "pipeline", "reconstruction"]

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
                case "tem": r = try benchTEM()
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
        var lo = radiusNM * 1.01, hi = 500.0
        for _ in 0..<40 {
            let mid = (lo + hi) / 2
            let v = try NeedleGeometry(apexRadiusNM: radiusNM, shankHalfAngleDeg: 5, lengthNM: mid).volumeNM3
            if v * lattice.numberDensityPerNM3 < target { lo = mid } else { hi = mid }
        }
        let g = try NeedleGeometry(apexRadiusNM: radiusNM, shankHalfAngleDeg: 5, lengthNM: (lo + hi) / 2)
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

    func benchEvaporation() throws -> [[String: Any]] {
        let spec = try needle(atoms: 4e5, radiusNM: 10)
        let atoms = try SpecimenFactory.build(spec, seed: 1, threads: threads).atoms
        let shell = spec.lattice.coordinationShell
        var p = BaselineEvaporationParameters(coordinationCutoffNM: shell.cutoffNM, bulkCoordination: shell.bulkCoordination,
                                              numberDensityPerNM3: spec.lattice.numberDensityPerNM3)
        p.maxEvents = 50_000; p.maxDepthNM = 1000
        let (run, t) = try measure("e") { try BaselineEvaporation(parameters: p).run(atoms: atoms, seed: 1, threads: threads) }
        return [row("evaporation", "baseline_fecr_\(atoms.count)_atoms", t,
                    ["events": run.events.count, "events_per_s": Double(run.events.count) / t.wallS,
                     "note": "baseline model (includes the initial surface set-up)"])]
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
