import Foundation
import XCTest

/// The built `aptwin` executable, run as a user would, for the CLI tests.
enum AptwinProcess {
    /// The executable next to the test bundle (the products of the same build).
    static var binary: URL {
        var dir = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("aptwin")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        for b in Bundle.allBundles {
            let candidate = b.bundleURL.deletingLastPathComponent().appendingPathComponent("aptwin")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return dir.appendingPathComponent("aptwin")
    }

    /// Runs `aptwin args…` to completion; throws XCTSkip when the executable is missing.
    static func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else { throw XCTSkip("aptwin binary not found next to the tests") }
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        let o = Pipe(), e = Pipe()
        p.standardOutput = o; p.standardError = e
        try p.run()
        let od = o.fileHandleForReading.readDataToEndOfFile(), ed = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: od, as: UTF8.self), String(decoding: ed, as: UTF8.self))
    }
}
