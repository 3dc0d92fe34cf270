import Foundation
import MaterialsData
import NeXus
import ScenarioConfig
import TwinCore

extension ScenarioRunner {
    /// Writes `acquisition/acquisition.nxs`: the run's acquisition, instrument and automatic ranges as NeXus NXapm,
    /// with the `simulation` group (resolved scenario as JSON, seed, aptwin version) and `specimen/is_simulation`
    /// true. The twin has no wall clock, so `start_time` is ``NXapmFile/unknownTime`` and the file depends only on
    /// the scenario and seed (byte-identical between runs). Returns the path relative to `dir`.
    static func writeNeXus(_ r: SimulationResult, scenario: ResolvedScenario, into dir: URL) throws -> String {
        let rel = "acquisition/acquisition.nxs"
        let url = dir.appendingPathComponent(rel)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let json = try JSONSerialization.data(withJSONObject: scenario.jsonObject(), options: [.prettyPrinted, .sortedKeys])
        let doc = NXapmDocument(
            acquisition: r.acquisition, ranges: r.ranging.table,
            simulation: NXapmSimulation(scenarioText: String(decoding: json, as: UTF8.self), seed: r.config.seed,
                                        programVersion: packageVersion),
            description: "aptwin simulation of scenario \(r.config.name), seed \(r.config.seed)",
            atomTypes: r.config.composition.map { PeriodicTable.symbol(z: $0.z) })
        try NXapmFile.write(doc, to: url, version: packageVersion)
        return rel
    }
}
