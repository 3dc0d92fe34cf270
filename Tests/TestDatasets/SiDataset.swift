import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The real Si LEAP dataset shipped in the PyPI wheel `apav==1.2.2` (945,211 ions as Si.pos, Si.epos, Si.apt,
/// plus the range files Si.RRNG and Si.RNG), fetched at test time because the package is GPL and must not be
/// committed.
///
/// Files live in `<package root>/.testdata/apav-1.2.2/` (git-ignored). On first use in a process the wheel is
/// fetched with `pip download --no-deps --only-binary :all: apav==1.2.2`, the five files are extracted with
/// Python's `zipfile`, and every file's SHA-256 is checked. A missing `python3`/`pip` or an unreachable registry
/// throws `XCTSkip` ("Si dataset not available: …"); a hash mismatch (after one fresh download) throws
/// ``SiDataset/Failure``, which fails the test. Concurrent test processes are serialised with `flock`.
///
/// Shared by the test targets through the `TestDatasets` target (Foundation, XCTest and `python3` only).
public enum SiDataset {
    /// Expected SHA-256 of each file.
    public static let sha256: [String: String] = [
        "Si.pos": "dff134cc5015f56963763bee664b56f04bcace5cd6e45b63b762c722f547d98a",
        "Si.epos": "fc99c73baf2e6b6352d414beb7f900ec1853c5c62ca4770ba126ccc49a2db906",
        "Si.apt": "2a0135e9ac525c644296be2ce9b989c44bf5826a993d3885f78c18e11daef9a2",
        "Si.RRNG": "38a2473ab2700eac8fdce590143bc5231c76239675adfcbe2b7f3d493e8225ff",
        "Si.RNG": "b9ec034f98ad3a8585546d7243769ef3841c6ea537aba81ed3c0648afbb236b1",
    ]
    /// Number of ions in Si.pos / Si.epos / Si.apt.
    public static let ionCount = 945_211

    /// A dataset problem that must fail the test (not skip it).
    public struct Failure: Error, CustomStringConvertible { public let description: String }

    /// The local URL of one of the five files (`"Si.pos"`, …), fetching and verifying the dataset if needed.
    public static func url(_ file: String) throws -> URL {
        guard sha256[file] != nil else { throw Failure(description: "SiDataset: unknown file \(file)") }
        return try directory().appendingPathComponent(file)
    }

    /// The directory holding the verified files.
    public static func directory() throws -> URL { try cached.get() }

    /// `<package root>/.testdata`, found from this file's path (`Tests/<target>/SiDataset.swift`).
    public static var testDataRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".testdata")
    }

    private static let cached: Result<URL, any Error> = Result { try fetch() }

    private static func fetch() throws -> URL {
        let dir = testDataRoot.appendingPathComponent("apav-1.2.2")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let lockFD = open(dir.appendingPathComponent(".lock").path, O_CREAT | O_RDWR, 0o644)
        if lockFD >= 0 { flock(lockFD, LOCK_EX) }
        defer { if lockFD >= 0 { flock(lockFD, LOCK_UN); close(lockFD) } }

        if try verify(dir) == nil { return dir }
        for attempt in 0..<2 {
            if attempt == 1 || wheel(in: dir) == nil {
                for w in allWheels(in: dir) { try? FileManager.default.removeItem(at: w) }
                let pip = try run(["python3", "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                                   "--disable-pip-version-check", "--timeout", "30", "--retries", "2",
                                   "apav==1.2.2", "-d", dir.path])
                guard pip.status == 0, wheel(in: dir) != nil else {
                    throw XCTSkip("Si dataset not available: pip download failed (exit \(pip.status)): "
                                  + pip.output.suffix(400))
                }
            }
            guard let whl = wheel(in: dir) else { continue }
            let script = """
            import os, sys, zipfile
            z = zipfile.ZipFile(sys.argv[1])
            for n in sys.argv[3:]:
                tmp = os.path.join(sys.argv[2], '.' + n + '.part')
                with open(tmp, 'wb') as f:
                    f.write(z.read('apav/resources/testdata/' + n))
                os.replace(tmp, os.path.join(sys.argv[2], n))
            """
            let unzip = try run(["python3", "-c", script, whl.path, dir.path] + sha256.keys.sorted())
            guard unzip.status == 0 else {
                if attempt == 0 { continue }  // damaged wheel: download again
                throw Failure(description: "Si dataset: cannot extract \(whl.lastPathComponent): "
                              + unzip.output.suffix(400))
            }
            guard let problem = try verify(dir) else { return dir }
            if attempt == 1 { throw Failure(description: "Si dataset: \(problem)") }
        }
        throw Failure(description: "Si dataset: could not be prepared")
    }

    /// nil if every file is present with the right hash, else the first problem. Hashes with Python's hashlib so
    /// that this file depends on no project module (FileFormats' own SHA-256 is checked against these files by
    /// the FileFormats tests).
    private static func verify(_ dir: URL) throws -> String? {
        let names = sha256.keys.sorted()
        for name in names where !FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path) {
            return "\(name) missing"
        }
        let script = """
        import hashlib, os, sys
        for n in sys.argv[2:]:
            h = hashlib.sha256()
            with open(os.path.join(sys.argv[1], n), 'rb') as f:
                for chunk in iter(lambda: f.read(1 << 20), b''):
                    h.update(chunk)
            print(n, h.hexdigest())
        """
        let r = try run(["python3", "-c", script, dir.path] + names)
        guard r.status == 0 else { throw XCTSkip("Si dataset not available: cannot hash files: \(r.output.suffix(400))") }
        var got: [String: String] = [:]
        for line in r.output.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2 { got[String(parts[0])] = String(parts[1]) }
        }
        for name in names where got[name] != sha256[name] {
            return "SHA-256 mismatch for \(name): expected \(sha256[name] ?? ""), got \(got[name] ?? "nothing")"
        }
        return nil
    }

    private static func allWheels(in dir: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.lowercased().hasPrefix("apav-1.2.2") && $0.hasSuffix(".whl") }
            .map { dir.appendingPathComponent($0) }
    }

    private static func wheel(in dir: URL) -> URL? { allWheels(in: dir).first }

    /// Runs a command through `/usr/bin/env`, returning its exit status and combined output; throws XCTSkip if
    /// the program cannot be started.
    static func run(_ args: [String], what: String = "Si dataset") throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("testdata-\(getpid())-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let fh = try FileHandle(forWritingTo: log)
        p.standardOutput = fh
        p.standardError = fh
        do { try p.run() } catch {
            throw XCTSkip("\(what) not available: cannot run \(args[0]): \(error)")
        }
        p.waitUntilExit()
        try? fh.close()
        let out = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        if p.terminationStatus == 127 { throw XCTSkip("\(what) not available: \(args[0]) not found") }
        return (p.terminationStatus, out)
    }
}
