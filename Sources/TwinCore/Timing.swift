import Foundation

/// Wall and CPU time of a piece of work (CPU summed over all threads of the process).
public struct StageTiming: Sendable, Codable, Equatable {
    public var stage: String
    public var wallS: Double
    public var cpuS: Double
    public init(stage: String, wallS: Double, cpuS: Double) { self.stage = stage; self.wallS = wallS; self.cpuS = cpuS }
}

/// Process CPU time in seconds (user + system, all threads).
public func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Monotonic wall-clock seconds.
public func wallSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Runs `body` and returns its result with the wall and CPU time it took.
public func measure<T>(_ stage: String, _ body: () throws -> T) rethrows -> (T, StageTiming) {
    let w0 = wallSeconds(), c0 = processCPUSeconds()
    let r = try body()
    return (r, StageTiming(stage: stage, wallS: wallSeconds() - w0, cpuS: processCPUSeconds() - c0))
}

/// Progress messages on standard error, shown only when stderr is a terminal.
public struct ProgressReporter: Sendable {
    public let enabled: Bool
    public init(enabled: Bool = isatty(2) != 0) { self.enabled = enabled }
    public func report(_ stage: String, _ done: Int, _ total: Int) {
        guard enabled, total > 0 else { return }
        let pct = Int((Double(done) / Double(total) * 100).rounded())
        FileHandle.standardError.write("\r\(stage): \(done)/\(total) (\(pct) %)   ".data(using: .utf8)!)
        if done >= total { FileHandle.standardError.write("\n".data(using: .utf8)!) }
    }
}
