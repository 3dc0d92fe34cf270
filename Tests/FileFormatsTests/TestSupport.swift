import Foundation
import TestDatasets
import TwinCore
import XCTest

/// A fresh temporary directory, removed when the test ends.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ffmt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

/// Asserts that `body` throws a `TwinError` whose message contains every string in `parts`; returns the message.
@discardableResult
func assertThrowsMessage<T>(_ parts: [String], file: StaticString = #filePath, line: UInt = #line,
                            _ body: () throws -> T) -> String? {
    do {
        _ = try body()
        XCTFail("expected an error containing \(parts)", file: file, line: line)
        return nil
    } catch let e as TwinError {
        let msg = e.description
        for p in parts where !msg.contains(p) {
            XCTFail("error message '\(msg)' does not contain '\(p)'", file: file, line: line)
        }
        return msg
    } catch {
        XCTFail("expected a TwinError, got \(error)", file: file, line: line)
        return nil
    }
}

/// The shared seeded generator of the test targets.
typealias TestRNG = SplitMix64

/// Runs python3 with a script and arguments; nil if python3 or numpy is unavailable.
func runPython(_ script: String, _ args: [String] = []) throws -> (status: Int32, output: String)? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script] + args
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    do { try p.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    if p.terminationStatus == 127 { return nil }
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
