import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway Python virtual environment with pinned PyPI packages, for tests that check our files with the
/// users' own tools (APAV, …).
///
/// The environment lives in `<package root>/.testdata/venv-<name>/` (git-ignored) and is created on first use with
/// `python3 -m venv` and `pip install <packages>`; a marker file records the package list, so a changed pin
/// rebuilds it. No network, no `python3` or a failing `pip` throws `XCTSkip` with pip's last lines. Concurrent test
/// processes are serialised with `flock`. The packages' own wheels are verified by pip against PyPI's hashes; the
/// data they are compared on (the Si dataset) is hash-checked by ``SiDataset``.
public enum PythonVenv {
    /// The venv's `python` with `packages` installed (e.g. `["apav==1.2.2"]`).
    public static func python(name: String, packages: [String]) throws -> URL {
        let dir = SiDataset.testDataRoot.appendingPathComponent("venv-\(name)")
        try FileManager.default.createDirectory(at: SiDataset.testDataRoot, withIntermediateDirectories: true)
        let lockFD = open(SiDataset.testDataRoot.appendingPathComponent(".venv-\(name).lock").path, O_CREAT | O_RDWR, 0o644)
        if lockFD >= 0 { flock(lockFD, LOCK_EX) }
        defer { if lockFD >= 0 { flock(lockFD, LOCK_UN); close(lockFD) } }
        let py = dir.appendingPathComponent("bin/python")
        let marker = dir.appendingPathComponent(".aptwin-packages")
        let want = packages.joined(separator: " ")
        if (try? String(contentsOf: marker, encoding: .utf8)) == want, FileManager.default.isExecutableFile(atPath: py.path) {
            return py
        }
        try? FileManager.default.removeItem(at: dir)
        let mk = try SiDataset.run(["python3", "-m", "venv", dir.path])
        guard mk.status == 0 else { throw XCTSkip("\(name) not available: python3 -m venv failed: \(mk.output.suffix(300))") }
        let pip = try SiDataset.run([py.path, "-m", "pip", "install", "--disable-pip-version-check", "--timeout", "30",
                                     "--retries", "2", "-q"] + packages)
        guard pip.status == 0 else {
            try? FileManager.default.removeItem(at: dir)
            throw XCTSkip("\(name) not available: pip install \(want) failed (exit \(pip.status)): \(pip.output.suffix(400))")
        }
        try want.write(to: marker, atomically: true, encoding: .utf8)
        return py
    }

    /// Runs `script` with the venv's python and `arguments` (Qt, which APAV imports, on its offscreen platform);
    /// returns exit status and combined output.
    public static func run(_ python: URL, script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try SiDataset.run(["QT_QPA_PLATFORM=offscreen", python.path, "-c", script] + arguments)
    }
}
