import ArgumentParser
import Foundation
import MaterialsData
import ScenarioConfig
import TwinPipeline

struct Specimen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a scenario's specimen alone and write its ground truth (truth/*.npy) with quick-look PNGs.")
    @Argument(help: "Scenario file (YAML).") var scenario: String
    @Option(help: "Directory to create (default: Output/<name>/specimen-seed<N>/).") var output: String?
    @Option(help: "Override the scenario's seed.") var seed: Int?
    @Option(help: "Worker threads (results do not depend on it).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        try reportingErrors {
            guard threads >= 1 else { throw CLIError("--threads must be at least 1") }
            let s = try loadScenario(scenario, seed: seed)
            let dir = output.map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: "Output")
                .appendingPathComponent(s.string("name") ?? "unnamed").appendingPathComponent("specimen-seed\(s.int("seed") ?? 1)")
            let (built, timings) = try SpecimenOutput.buildAndWrite(s, to: dir, threads: threads)
            print("specimen directory: \(dir.path)")
            var byZ: [Int: Int] = [:]
            for z in built.atoms.elementZ { byZ[Int(z), default: 0] += 1 }
            let comp = byZ.keys.sorted().map { String(format: "%@ %.4f", PeriodicTable.symbol(z: $0), Double(byZ[$0]!) / Double(built.atoms.count)) }
            print("atoms \(built.atoms.count) (\(comp.joined(separator: ", "))), grains \(Set(built.atoms.grain).count), precipitates \(built.precipitates.count), removed at boundaries \(built.removedAtBoundaries)")
            for t in timings { print(String(format: "%-14@ wall %7.2f s  cpu %7.2f s", t.stage as NSString, t.wallS, t.cpuS)) }
        }
    }
}
