import ArgumentParser
import Foundation
import MaterialsData
import ScenarioConfig
import TwinCore
import TwinPipeline

@main
struct Aptwin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aptwin",
        abstract: "AtomProbeTwin: a digital twin of an atom probe inside a JEOL F200 TEM.",
        version: ScenarioRunner.packageVersion,
        subcommands: [Run.self, Specimen.self, Field.self, Trace.self, TEM.self, Spectrum.self, Reconstruct.self, Score.self,
                      ScenarioCommand.self, Info.self, Convert.self, Bench.self])
}

/// Errors the CLI reports with a message and a non-zero exit code.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ s: String) { description = s }
}

/// Runs `body`, turning every error into a one-line message on stderr and exit code 1.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ExitCode { throw e } catch let e as CleanExit { throw e } catch {
        InterruptCleanup.waitIfInterrupted()   // an error caused by an interruption's cleanup: the signal's status wins
        FileHandle.standardError.write(Data("aptwin: error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a scenario end to end and write a run directory.")
    @Argument(help: "Scenario file (YAML).") var scenario: String
    @Option(help: "Run directory to create (default: Output/<name>/<run-id>/).") var output: String?
    @Option(help: "Override the scenario's seed.") var seed: Int?
    @Option(help: "Worker threads (results do not depend on it).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        try reportingErrors {
            guard threads >= 1 else { throw CLIError("--threads must be at least 1") }
            let s = try loadScenario(scenario, seed: seed)
            let summary = try ScenarioRunner.run(s, options: RunOptions(outputDirectory: output.map { URL(fileURLWithPath: $0) },
                                                                        threads: threads))
            let r = summary.result
            print("run directory: \(summary.directory.path)")
            print("atoms \(r.atoms.count), events \(r.evaporation.events.count) (stop: \(r.evaporation.stopReason.rawValue)), detected \(r.acquisition.count)")
            for c in r.ranging.composition {
                print(String(format: "ranged %@: %.4f ± %.4f", PeriodicTable.symbol(z: c.z), c.fraction, c.sigma))
            }
            for t in r.timings { print(String(format: "%-16@ wall %7.2f s  cpu %7.2f s", t.stage as NSString, t.wallS, t.cpuS)) }
        }
    }
}

struct ScenarioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scenario", abstract: "Print the default scenario or check a scenario file.")
    @Flag(help: "Print a complete, commented default scenario.") var defaults = false
    @Option(help: "Validate a scenario file.") var check: String?

    func run() throws {
        try reportingErrors {
            if defaults { print(DefaultsPrinter.yaml(), terminator: "") ; return }
            guard let check else { throw CLIError("give --defaults or --check FILE") }
            let s = try ResolvedScenario.load(path: check)
            for n in s.notes { print("note: \(n)") }
            _ = try PipelineConfig(s)
            print("\(check): OK")
        }
    }
}

/// Loads and validates a scenario, prints its notes on stderr, and applies a `--seed` override.
func loadScenario(_ path: String, seed: Int?) throws -> ResolvedScenario {
    var s = try ResolvedScenario.load(path: path)
    for n in s.notes { FileHandle.standardError.write(Data("aptwin: note: \(n)\n".utf8)) }
    if let seed { try s.set("seed", .int(seed)) }
    return s
}
