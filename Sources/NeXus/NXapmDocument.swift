import Foundation
import TwinCore

/// What aptwin stores in, and reads from, one NeXus NXapm entry: an acquisition (with its instrument), optionally
/// the range table that labels its masses, and for simulated runs the description of the simulation.
///
/// The layout follows the NXapm application definition (nexusformat/definitions, `applications/NXapm.nxdl.xml`,
/// NXDL 2025 as shipped with pynxtools 0.16) and the paths pynxtools-apm writes; ``NXapmFile`` lists every path.
public struct NXapmDocument: Sendable, Equatable {
    /// Per-ion columns and instrument parameters. Columns that are empty are not written.
    public var acquisition: Acquisition
    /// Ranging definitions (ion species and their m/n intervals, daltons), if any.
    public var ranges: RangeTable?
    /// Set for data made by the twin: the scenario, seed and program version (NXapm `simulation`); it also makes
    /// `specimen/is_simulation` true.
    public var simulation: NXapmSimulation?
    /// Start of the session, ISO 8601 with a UTC offset (NXapm `start_time`, required). The twin has no wall-clock
    /// time of its own, so runs and conversions write ``NXapmFile/unknownTime`` unless a time is given.
    public var startTime: String
    /// End of the session, ISO 8601 (NXapm `end_time`, recommended); nil: not written.
    public var endTime: String?
    /// Free text for NXapm `experiment_description` (e.g. the source file of a conversion); nil: not written.
    public var description: String?
    /// Elements of the specimen for NXapm `specimen/atom_types` when no range table names them (e.g. a simulated
    /// specimen's composition). The range table's elements are used when this is empty.
    public var atomTypes: [String]

    public init(acquisition: Acquisition, ranges: RangeTable? = nil, simulation: NXapmSimulation? = nil,
                startTime: String = NXapmFile.unknownTime, endTime: String? = nil, description: String? = nil,
                atomTypes: [String] = []) {
        self.acquisition = acquisition; self.ranges = ranges; self.simulation = simulation
        self.startTime = startTime; self.endTime = endTime; self.description = description; self.atomTypes = atomTypes
    }
}

/// The NXapm `simulation` group of a twin run (NXapm_simulation: an NXprogram and an NXparameters).
public struct NXapmSimulation: Sendable, Equatable {
    /// The resolved scenario as text (stored verbatim in `simulation/config/scenario`).
    public var scenarioText: String
    /// Random seed of the run (`simulation/config/seed`, uint64).
    public var seed: UInt64
    /// aptwin version that made the run (`simulation/programID/program@version`).
    public var programVersion: String
    public init(scenarioText: String, seed: UInt64, programVersion: String) {
        self.scenarioText = scenarioText; self.seed = seed; self.programVersion = programVersion
    }
}
