import FileFormats
import Foundation
import XCTest

final class SHA256Tests: XCTestCase {
    func testStandardVectors() {
        XCTAssertEqual(SHA256.hex(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex(Data(repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // 896-bit vector (two blocks of padding).
        XCTAssertEqual(SHA256.hex(Data(("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                                        + "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu").utf8)),
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    func testFileStreamingMatchesInMemory() throws {
        let dir = try makeTemporaryDirectory(self)
        var rng = TestRNG(3)
        for n in [0, 1, 55, 56, 63, 64, 65, 1 << 20, (1 << 20) + 1, 2_500_017] {
            let data = Data((0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            let url = dir.appendingPathComponent("f\(n).bin")
            try data.write(to: url)
            XCTAssertEqual(try SHA256.hex(fileAt: url), SHA256.hex(data), "size \(n)")
            if n == 2_500_017, let py = try runPython("import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())", [url.path]) {
                XCTAssertEqual(py.output.trimmingCharacters(in: .whitespacesAndNewlines), SHA256.hex(data))
            }
        }
        XCTAssertThrowsError(try SHA256.hex(fileAt: dir.appendingPathComponent("missing")))
    }
}
