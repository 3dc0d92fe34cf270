import FieldEvaporation
import Foundation
import MaterialsData
import ScenarioConfig
import SpecimenBuilder
import TwinCore
import TwinPipeline

extension Bench {
    /// Kinetics and field-scale figures (``KineticsDiagnostics``) with events per second, on the cases issue 14 names:
    /// the quickstart scenario (Fe-51 Cr, R = 10 nm), a pure Fe ⟨001⟩ needle of R = 6 nm pulsed at 25 kHz (the case
    /// that locked out), and the 4 × 10⁴-atom W ⟨110⟩ tip of the evaporation benchmark.
    func benchKinetics() throws -> [[String: Any]] {
        var out: [[String: Any]] = []
        var cases: [(name: String, atoms: TruthAtoms, p: EvaporationEngineParameters, events: Int)] = []
        func want(_ n: String) -> Bool { kineticsCase.map { n.contains($0) } ?? true }
        if want("quickstart") {
            let config = try PipelineConfig(try ResolvedScenario.load(path: "Scenarios/quickstart.yaml"))
            let atoms = try config.specimen.build(seed: config.seed, threads: threads).atoms
            cases.append(("quickstart_fecr_r10", atoms, config.evaporation, 40_000))
        }
        if want("fe") {
            let lattice = try CrystalLattice(kind: .bcc, aNM: 0.28665)
            let (atoms, p0) = try bccNeedle(atoms: 4e5, radiusNM: 6, shankDeg: 5, lattice: lattice, axis: SIMD3(0, 0, 1), z: 26)
            var p = p0
            p.pulseFrequencyHz = 25_000; p.targetDetectionRate = 0.005
            cases.append(("fe001_r6_25khz", atoms, p, 60_000))
        }
        if want("w110") {
            let (atoms, p) = try tungstenNeedle(atoms: 4e4, radiusNM: 5)
            cases.append(("w110_r5", atoms, p, 20_000))
        }
        for c in cases {
            for seed in 1...max(1, kineticsSeeds) {
                var p = c.p
                p.mode = .pulsed
                p.maxEvents = kineticsEvents > 0 ? kineticsEvents : c.events
                p.maxDepthNM = 1e9
                let (run, t) = try measure("k") { try FieldEvaporationEngine(parameters: p).run(atoms: c.atoms, seed: UInt64(seed), threads: threads) }
                let d = KineticsDiagnostics(run: run, elementZ: c.atoms.elementZ)
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys]
                let obj = try JSONSerialization.jsonObject(with: enc.encode(d)) as? [String: Any] ?? [:]
                var m: [String: Any] = ["seed": seed, "atoms": c.atoms.count, "stop": run.stopReason.rawValue,
                                        "events_per_s": Double(run.events.count) / max(1e-9, t.wallS - run.setupWallS),
                                        "pulses": run.pulseStatistics.pulses,
                                        "v_dc_v_end": run.timeSeries.last?.vDCV ?? 0,
                                        "apex_radius_nm_end": run.timeSeries.last?.apexRadiusNM ?? 0]
                for (k, v) in obj { m[k] = v }
                out.append(row("kinetics", c.name, t, m))
            }
        }
        return out
    }

    /// A bcc needle of one element with ⟨uvw⟩ along the axis and about `atoms` atoms, and engine parameters for it.
    func bccNeedle(atoms target: Double, radiusNM r: Double, shankDeg: Double, lattice: CrystalLattice, axis: SIMD3<Double>,
                   z: Int) throws -> (TruthAtoms, EvaporationEngineParameters) {
        let g = try NeedleGeometry.holding(atoms: target, numberDensityPerNM3: lattice.numberDensityPerNM3, apexRadiusNM: r,
                                           shankHalfAngleDeg: shankDeg)
        let spec = SpecimenSpec(geometry: g, lattice: lattice, composition: [CompositionEntry(z: z, fraction: 1)],
                                orientation: try Rotation3(crystalDirectionAlongSpecimenZ: axis))
        let atoms = try SpecimenFactory.build(spec, seed: 1, threads: threads).atoms
        let shell = lattice.coordinationShell
        var p = EvaporationEngineParameters(coordinationCutoffNM: shell.cutoffNM, bulkCoordination: shell.bulkCoordination,
                                            numberDensityPerNM3: lattice.numberDensityPerNM3, shankHalfAngleDeg: shankDeg,
                                            initialApexRadiusNM: r)
        p.maxDepthNM = 1e9
        return (atoms, p)
    }
}
