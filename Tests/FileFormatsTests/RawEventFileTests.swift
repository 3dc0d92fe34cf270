import FileFormats
import Foundation
import TwinCore
import XCTest

final class RawEventFileTests: XCTestCase {
    func testRoundTripAndAcquisitionMapping() throws {
        let ev = [RawEvent(baseV: 5000, pulseV: 1000, xMM: 1.5, yMM: -2, tofNS: 2500, epoch: 7, pulse: 10),
                  RawEvent(baseV: 5000, pulseV: 1000, xMM: 3, yMM: 4, tofNS: 2600, epoch: 7, pulse: 10),
                  RawEvent(baseV: 5001, pulseV: 1000, reflectronV: 0, xMM: 0, yMM: 0, tofNS: 1800, epoch: 8, pulse: 25)]
        let d = RawEventFile.encode(ev)
        XCTAssertEqual(d.count, 96)
        // Little-endian: U_base 5000 = 0x459C4000 → bytes 00 40 9C 45.
        XCTAssertEqual([UInt8](d.prefix(4)), [0x00, 0x40, 0x9C, 0x45])
        XCTAssertEqual(try RawEventFile.decode(d, name: "t.raw"), ev)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("raw-\(getpid()).raw")
        defer { try? FileManager.default.removeItem(at: url) }
        try RawEventFile.write(ev, to: url)
        XCTAssertEqual(try RawEventFile.read(url), ev)
        let a = RawEventFile.acquisition(ev)
        XCTAssertEqual(a.multiplicity, [2, 0, 1])
        XCTAssertEqual(a.pulsesSincePrevious, [10, 0, 15])
        XCTAssertEqual(a.tofNS, [2500, 2600, 1800])
        XCTAssertNoThrow(try a.validateColumns())
    }

    func testBadInputNamesByteOffset() {
        var d = RawEventFile.encode([RawEvent(baseV: 1, pulseV: 0, xMM: 0, yMM: 0, tofNS: 1, pulse: 1),
                                     RawEvent(baseV: 1, pulseV: 0, xMM: 0, yMM: 0, tofNS: 1, pulse: 2)])
        XCTAssertThrowsError(try RawEventFile.decode(d.prefix(40), name: "cut.raw")) { e in
            XCTAssertTrue("\(e)".contains("cut.raw") && "\(e)".contains("byte offset 32"), "\(e)")
        }
        d.replaceSubrange(32 + 20..<32 + 24, with: [0x00, 0x00, 0xC0, 0x7F])   // NaN TOF in event 1
        XCTAssertThrowsError(try RawEventFile.decode(d, name: "nan.raw")) { e in
            XCTAssertTrue("\(e)".contains("byte offset 52") && "\(e)".contains("tof"), "\(e)")
        }
        XCTAssertThrowsError(try RawEventFile.decode(Data(), name: "empty.raw"))
    }
}
