import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Real microscope image files for the DM3/DM4 and MRC readers, fetched at test time from PyPI packages that ship
/// them as test data (never committed):
///
/// - `hyperspy==1.7.5` wheel (GPL-3; the wheel for the local Python, any platform's wheel holds the same files):
///   `hyperspy/tests/io/dm3_2D_data/test_STEM_image.dm3` (68 × 68 uint32 STEM image, 0.2485 nm/px),
///   `tiff_files/test_dm_image_um_unit.dm3` (68 × 68 int32, µm calibration), `dm4_2D_data/test-MonarcCL_mono-image.dm4`
///   (DM4, µm), `dm3_2D_data/test-2.dm3` (float32), `dm4_2D_data/test-1.dm4` (int16);
/// - `mrcfile==1.5.4` source distribution (BSD): `tests/test_data/EMD-3197.map` (20³ float32 EMDB map, 11.4 Å
///   voxels) and `fei-extended.mrc` (3710 × 3838 uint16 FEI micrograph with an extended header).
///
/// Files live in `<package root>/.testdata/images/` (git-ignored) and are SHA-256-checked. A missing `python3`/`pip`
/// or an unreachable registry throws `XCTSkip` ("real images not available: …"); a hash mismatch after a fresh
/// download throws ``Failure``. Concurrent test processes are serialised with `flock`.
public enum RealImages {
    /// Local name → (source, member path inside the archive, SHA-256).
    public static let files: [String: (source: String, member: String, sha256: String)] = [
        "test_STEM_image.dm3": ("hyperspy", "hyperspy/tests/io/dm3_2D_data/test_STEM_image.dm3",
                                "fcba806af75bc3c2e50e7d7b0626cba545c1464f39e99c8922b225b0b0b0224c"),
        "test_dm_image_um_unit.dm3": ("hyperspy", "hyperspy/tests/io/tiff_files/test_dm_image_um_unit.dm3",
                                      "a365d8d19ab6df41c2d8152290541ec393ad2af55228e0580cb727b1d81c80c1"),
        "test-MonarcCL_mono-image.dm4": ("hyperspy", "hyperspy/tests/io/dm4_2D_data/test-MonarcCL_mono-image.dm4",
                                         "4ea04a10ad46595de79a20c283555f299dd07b4667f6112b44db1699f28993b6"),
        "dm3-test-2.dm3": ("hyperspy", "hyperspy/tests/io/dm3_2D_data/test-2.dm3",
                           "f40485142df39dbdc06d7225983f3e0676c8a3a1caa614fbe5c1918c8a33b1c7"),
        "dm4-test-1.dm4": ("hyperspy", "hyperspy/tests/io/dm4_2D_data/test-1.dm4",
                           "c02359ad86d741d90e7ec981ef0a38a682f38f5156a196d95992c419f490255f"),
        "EMD-3197.mrc": ("mrcfile", "mrcfile-1.5.4/tests/test_data/EMD-3197.map",
                         "351d5090d4c56eb5fc41796842ad64abecc238b8da6181f8857be5844dbbc262"),
        "fei-extended.mrc": ("mrcfile", "mrcfile-1.5.4/tests/test_data/fei-extended.mrc",
                             "e9f168012031b3a6ea47fbed8eca8b9c8a040b4d1f4fbb2e3326bdb6d9307efe"),
    ]

    /// A dataset problem that must fail the test (not skip it).
    public struct Failure: Error, CustomStringConvertible { public let description: String }

    /// The local URL of one of ``files``, fetching and verifying it if needed.
    public static func url(_ file: String) throws -> URL {
        guard let entry = files[file] else { throw Failure(description: "RealImages: unknown file \(file)") }
        let dir = root
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let lockFD = open(dir.appendingPathComponent(".lock").path, O_CREAT | O_RDWR, 0o644)
        if lockFD >= 0 { flock(lockFD, LOCK_EX) }
        defer { if lockFD >= 0 { flock(lockFD, LOCK_UN); close(lockFD) } }
        let dest = dir.appendingPathComponent(file)
        if try hash(dest) == entry.sha256 { return dest }
        let archive = try fetchArchive(entry.source, into: dir)
        let script = """
        import os, sys, tarfile, zipfile
        src, member, dest = sys.argv[1:4]
        data = zipfile.ZipFile(src).read(member) if src.endswith('.whl') else tarfile.open(src).extractfile(member).read()
        tmp = dest + '.part'
        open(tmp, 'wb').write(data)
        os.replace(tmp, dest)
        """
        let r = try run(["python3", "-c", script, archive.path, entry.member, dest.path])
        guard r.status == 0 else { throw Failure(description: "RealImages: cannot extract \(entry.member): \(r.output.suffix(400))") }
        let got = try hash(dest)
        guard got == entry.sha256 else {
            throw Failure(description: "RealImages: SHA-256 mismatch for \(file): expected \(entry.sha256), got \(got ?? "nothing")")
        }
        return dest
    }

    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".testdata/images")
    }

    private static func fetchArchive(_ source: String, into dir: URL) throws -> URL {
        let (spec, binary) = source == "hyperspy" ? ("hyperspy==1.7.5", true) : ("mrcfile==1.5.4", false)
        let prefix = source == "hyperspy" ? "hyperspy-1.7.5" : "mrcfile-1.5.4"
        func existing() -> URL? {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            return names.filter { $0.hasPrefix(prefix) && ($0.hasSuffix(".whl") || $0.hasSuffix(".tar.gz")) }.sorted().first
                .map { dir.appendingPathComponent($0) }
        }
        if let a = existing() { return a }
        let r = try run(["python3", "-m", "pip", "download", "--no-deps", binary ? "--only-binary" : "--no-binary", ":all:",
                         "--disable-pip-version-check", "--timeout", "30", "--retries", "2", spec, "-d", dir.path])
        guard r.status == 0, let a = existing() else {
            throw XCTSkip("real images not available: pip download \(spec) failed (exit \(r.status)): \(r.output.suffix(400))")
        }
        return a
    }

    private static func hash(_ url: URL) throws -> String? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let r = try run(["python3", "-c", "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())", url.path])
        guard r.status == 0 else { throw XCTSkip("real images not available: cannot hash \(url.lastPathComponent)") }
        return r.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func run(_ args: [String]) throws -> (status: Int32, output: String) {
        try SiDataset.run(args, what: "real images")
    }
}
