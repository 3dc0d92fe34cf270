import FieldEvaporation
import Foundation
import ScenarioConfig
import TwinCore

/// A frame of a scenario's needle after a number of evaporation events (for `aptwin tem frame`).
public enum TEMSnapshot {
    public static func frame(scenario s: ResolvedScenario, atEvent n: Int, threads: Int) throws -> NeedleFrame {
        let config = try PipelineConfig(s)
        let atoms = try config.specimen.build(seed: config.seed, threads: threads).atoms
        var alive = [Bool](repeating: true, count: atoms.count)
        var voltage = 0.0
        if n > 0 {
            var p = config.evaporation
            p.maxEvents = n
            p.maxDepthNM = 1e9
            let run = try FieldEvaporationEngine(parameters: p).run(atoms: atoms, seed: config.seed, threads: threads)
            for id in run.events.atomID { alive[Int(id)] = false }
            voltage = Double(run.events.vDCV.last ?? 0)
            if run.events.count < n {
                throw TwinError.invalidInput("the needle stopped after \(run.events.count) events (\(run.stopReason.rawValue)), before event \(n)")
            }
        }
        let settings = TEMSettings(s, composition: config.composition, layerComposition: config.specimen.spec.surfaceLayerComposition)
        return try NeedleFrames.render(atoms: atoms, alive: alive, atomicVolumeNM3: config.lattice.atomicVolumeNM3, voltageV: voltage,
                                       settings: settings, frameIndex: 0, seed: config.seed, threads: threads,
                                       shank: config.geometry)
    }
}
