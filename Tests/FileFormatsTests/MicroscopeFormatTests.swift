import FileFormats
import Foundation
import TestDatasets
import TwinCore
import XCTest

// MARK: - Test-only encoders following the published layouts

/// Appends fixed-width values in a chosen byte order.
struct Bytes {
    var data = Data()
    var little: Bool
    init(little: Bool) { self.little = little }
    mutating func raw(_ b: [UInt8]) { data.append(contentsOf: b) }
    mutating func put<T: FixedWidthInteger>(_ v: T) {
        var x = little ? v.littleEndian : v.bigEndian
        withUnsafeBytes(of: &x) { data.append(contentsOf: $0) }
    }
    mutating func be<T: FixedWidthInteger>(_ v: T) { var x = v.bigEndian; withUnsafeBytes(of: &x) { data.append(contentsOf: $0) } }
    mutating func f32(_ v: Float) { put(v.bitPattern) }
    mutating func f64(_ v: Double) { put(v.bitPattern) }
}

/// A DigitalMicrograph tag tree for the encoder.
indirect enum DMTag {
    case group(String, [DMTag])
    /// A simple value: type code and its bytes in the file's data byte order.
    case value(String, type: Int, bytes: Data)
    case array(String, type: Int, count: Int, bytes: Data)
    case string(String, String)
}

enum DMEncoder {
    static func scalarBytes(_ type: Int, _ v: Double, little: Bool) -> Data {
        var b = Bytes(little: little)
        switch type {
        case 2: b.put(Int16(v)); case 3: b.put(Int32(v)); case 4: b.put(UInt16(v)); case 5: b.put(UInt32(v))
        case 6: b.f32(Float(v)); case 7: b.f64(v); case 8, 10: b.put(UInt8(v)); case 9: b.put(Int8(v))
        case 11: b.put(Int64(v)); default: b.put(UInt64(v))
        }
        return b.data
    }

    static func encode(_ root: [DMTag], version: Int, little: Bool) -> Data {
        let v4 = version == 4
        func word(_ b: inout Bytes, _ v: Int) { if v4 { b.be(UInt64(v)) } else { b.be(UInt32(v)) } }
        func group(_ tags: [DMTag]) -> Data {
            var b = Bytes(little: little)
            b.raw([0, 1]); word(&b, tags.count)
            for t in tags { b.data.append(tag(t)) }
            return b.data
        }
        func tag(_ t: DMTag) -> Data {
            var b = Bytes(little: little)
            let label: String, body: Data, kind: UInt8
            switch t {
            case .group(let l, let tags): label = l; kind = 20; body = group(tags)
            case .value(let l, let type, let bytes):
                label = l; kind = 21
                var d = Bytes(little: little); d.raw(Array("%%%%".utf8)); word(&d, 1); word(&d, type); d.data.append(bytes); body = d.data
            case .array(let l, let type, let count, let bytes):
                label = l; kind = 21
                var d = Bytes(little: little); d.raw(Array("%%%%".utf8)); word(&d, 3); word(&d, 20); word(&d, type); word(&d, count)
                d.data.append(bytes); body = d.data
            case .string(let l, let s):
                label = l; kind = 21
                let units = Array(s.utf16)
                var d = Bytes(little: little); d.raw(Array("%%%%".utf8)); word(&d, 2); word(&d, 18); word(&d, units.count)
                for u in units { d.put(u) }
                body = d.data
            }
            b.raw([kind]); b.be(UInt16(label.utf8.count)); b.raw(Array(label.utf8))
            if v4 { b.be(UInt64(body.count)) }
            b.data.append(body)
            return b.data
        }
        let rootData = group(root)
        var h = Bytes(little: little)
        h.be(UInt32(version))
        if v4 { h.be(UInt64(rootData.count)) } else { h.be(UInt32(rootData.count)) }
        h.be(UInt32(little ? 1 : 0))
        h.data.append(rootData)
        h.data.append(contentsOf: [UInt8](repeating: 0, count: 8))   // end padding as DigitalMicrograph writes
        return h.data
    }

    /// An image entry of ImageList: Data of `type`, Dimensions, and a calibration when `scale` is given.
    static func image(_ w: Int, _ h: Int, type: Int, values: [Double], scale: Double? = nil, units: String = "nm",
                      little: Bool, unitsAsArray: Bool = true, extraDims: [Int] = []) -> DMTag {
        var data = Data()
        for v in values { data.append(scalarBytes(type, v, little: little)) }
        var dims: [DMTag] = [.value("", type: 5, bytes: scalarBytes(5, Double(w), little: little)),
                             .value("", type: 5, bytes: scalarBytes(5, Double(h), little: little))]
        for d in extraDims { dims.append(.value("", type: 5, bytes: scalarBytes(5, Double(d), little: little))) }
        var imageData: [DMTag] = [.array("Data", type: type, count: values.count, bytes: data),
                                  .value("DataType", type: 3, bytes: scalarBytes(3, 2, little: little)),
                                  .group("Dimensions", dims)]
        if let scale {
            var u = Data(); for c in units.utf16 { u.append(scalarBytes(4, Double(c), little: little)) }
            let unitTag: DMTag = unitsAsArray ? .array("Units", type: 4, count: units.utf16.count, bytes: u) : .string("Units", units)
            let dim: DMTag = .group("", [.value("Origin", type: 6, bytes: scalarBytes(6, 0, little: little)),
                                         .value("Scale", type: 6, bytes: scalarBytes(6, scale, little: little)), unitTag])
            imageData.append(.group("Calibrations", [.group("Dimension", [dim, dim])]))
        }
        return .group("", [.group("ImageData", imageData), .string("Name", "frame")])
    }
}

enum MRCEncoder {
    static func encode(nx: Int, ny: Int, nz: Int = 1, mode: Int32, values: [Double], cellXAngstrom: Float = 0, mx: Int = 0,
                       little: Bool = true, stamp: [UInt8]? = nil, extended: Int = 0) -> Data {
        var h = Bytes(little: little)
        let words: [Int32] = [Int32(nx), Int32(ny), Int32(nz), mode, 0, 0, 0, Int32(mx), Int32(ny), Int32(nz)]
        for w in words { h.put(w) }
        h.f32(cellXAngstrom); h.f32(cellXAngstrom); h.f32(cellXAngstrom)   // 10–12
        for _ in 13..<23 { h.put(Int32(0)) }
        h.put(Int32(extended))   // 23 nsymbt
        while h.data.count < 208 { h.put(Int32(0)) }
        h.raw(Array("MAP ".utf8))
        h.raw(stamp ?? (little ? [0x44, 0x44, 0, 0] : [0x11, 0x11, 0, 0]))
        while h.data.count < 1024 { h.raw([0]) }
        h.raw([UInt8](repeating: 0xAB, count: extended))
        for v in values {
            switch mode {
            case 0: h.put(Int8(v)); case 1: h.put(Int16(v)); case 6: h.put(UInt16(v))
            case 12:
                let f = Float(v) // exact small integers / halves only in tests
                let bits = f.bitPattern
                let e = Int((bits >> 23) & 0xFF) - 127 + 15
                let half: UInt16 = f == 0 ? 0 : UInt16((bits >> 16) & 0x8000) | UInt16(e << 10) | UInt16((bits >> 13) & 0x3FF)
                h.put(half)
            default: h.f32(Float(v))
            }
        }
        return h.data
    }
}

enum ATOEncoder {
    /// v3: 8-byte header, 14 float32 per record.
    static func v3(_ records: [[Float]], little: Bool, versionLittle: Bool = true) -> Data {
        var b = Bytes(little: little)
        b.raw([0, 0, 0, 0])
        var v = Bytes(little: versionLittle); v.put(UInt32(3)); b.data.append(v.data)
        for r in records { precondition(r.count == 14); for f in r { b.f32(f) } }
        return b.data
    }

    /// v5: 5000-byte header, 40-byte records: int16 x, y (×0.01 nm), float32 z (×0.1 nm), float32 m/n, 28 more bytes.
    static func v5(_ records: [(x: Int16, y: Int16, z: Float, mn: Float)], little: Bool) -> Data {
        var b = Bytes(little: little)
        b.raw([0, 0, 0, 0]); b.put(UInt32(5))
        b.raw([UInt8](repeating: 0, count: 5000 - 8))
        for r in records {
            b.put(r.x); b.put(r.y); b.f32(r.z); b.f32(r.mn)
            b.raw([UInt8](repeating: 0x5A, count: 28))
        }
        return b.data
    }

    /// A plausible LAWATAP record: Å, Da, kV, cm, TOF in ns.
    static func record(_ i: Int) -> [Float] {
        let f = Float(i)
        return [10 * f - 30, 5 - 2 * f, -100 - 7 * f, 27.9 + f, 0, 1000 + f, 5.5 + f / 100, 600 + 10 * f, 1.5 - f / 10, -2 + f / 10,
                1.1, 6.6, 0.5, -0.5]
    }
}

// MARK: - Tests

final class ATOFileTests: XCTestCase {
    func testV3BothByteOrdersDetectedAndConverted() throws {
        let recs = (0..<20).map(ATOEncoder.record)
        for little in [true, false] {
            let acq = try ATOFile.decode(ATOEncoder.v3(recs, little: little), name: "a.ato")
            XCTAssertEqual(acq.count, 20)
            XCTAssertTrue(acq.notes.contains { $0.contains(little ? "little-endian detected" : "big-endian detected") }, "\(acq.notes)")
            for i in 0..<20 {
                let r = recs[i]
                XCTAssertEqual(acq.xNM[i], r[0] * 0.1, accuracy: 1e-5); XCTAssertEqual(acq.yNM[i], r[1] * 0.1, accuracy: 1e-5)
                XCTAssertEqual(acq.zNM[i], r[2] * 0.1, accuracy: 1e-4); XCTAssertEqual(acq.massToChargeDa[i], r[3])
                XCTAssertEqual(acq.vDCV[i], r[6] * 1000, accuracy: 1e-2); XCTAssertEqual(acq.tofNS[i], r[7])
                XCTAssertEqual(acq.detectorXMM[i], r[8] * 10, accuracy: 1e-5); XCTAssertEqual(acq.detectorYMM[i], r[9] * 10, accuracy: 1e-5)
                XCTAssertEqual(acq.vPulseV[i], r[10] * 1000, accuracy: 1e-2)
            }
        }
        // Version written in the other byte order than the records is still recognised.
        XCTAssertEqual(try ATOFile.decode(ATOEncoder.v3(recs, little: true, versionLittle: false), name: "a.ato").count, 20)
    }

    func testForcedByteOrderAndTOFUnitRule() throws {
        var recs = (0..<10).map(ATOEncoder.record)
        for i in recs.indices { recs[i][7] = 0.6 + Float(i) / 100 }   // µs
        let d = ATOEncoder.v3(recs, little: true)
        let acq = try ATOFile.decode(d, name: "us.ato")
        XCTAssertEqual(acq.tofNS[0], 600, accuracy: 1e-3)
        XCTAssertTrue(acq.notes.contains { $0.contains("µs") })
        let forced = try ATOFile.decode(d, name: "us.ato", byteOrder: .big)
        XCTAssertTrue(forced.notes.contains { $0.contains("big-endian (forced)") })
        XCTAssertNotEqual(forced.massToChargeDa[0], acq.massToChargeDa[0])
    }

    func testUndecidableAndNonFiniteAreNoted() throws {
        var recs = [[Float]](repeating: [Float](repeating: 0, count: 14), count: 3)
        recs[1][3] = .nan
        let acq = try ATOFile.decode(ATOEncoder.v3(recs, little: true), name: "z.ato")
        XCTAssertTrue(acq.notes.contains { $0.contains("undecidable") && $0.contains("little-endian") }, "\(acq.notes)")
        XCTAssertTrue(acq.notes.contains { $0.contains("1 non-finite") }, "\(acq.notes)")
    }

    func testV5() throws {
        let recs: [(x: Int16, y: Int16, z: Float, mn: Float)] = [(123, -456, -80, 27.98), (-1, 2, -81.5, 55.9), (3000, 0, -90, 14.0)]
        for little in [true, false] {
            let acq = try ATOFile.decode(ATOEncoder.v5(recs, little: little), name: "b.ato")
            XCTAssertEqual(acq.count, 3)
            XCTAssertEqual(acq.xNM[0], 1.23, accuracy: 1e-6); XCTAssertEqual(acq.yNM[0], -4.56, accuracy: 1e-6)
            XCTAssertEqual(acq.zNM[1], -8.15, accuracy: 1e-5); XCTAssertEqual(acq.massToChargeDa[2], 14)
            XCTAssertTrue(acq.vDCV.isEmpty && acq.tofNS.isEmpty)
            XCTAssertTrue(acq.notes.contains { $0.contains(little ? "little-endian" : "big-endian") }, "\(acq.notes)")
        }
    }

    func testSizeAndVersionErrorsNameTheOffset() throws {
        let good = ATOEncoder.v3((0..<4).map(ATOEncoder.record), little: true)
        assertThrowsMessage(["t.ato", "trailing 5 bytes at byte offset \(good.count)"]) { try ATOFile.decode(good + Data(count: 5), name: "t.ato") }
        assertThrowsMessage(["t.ato", "header"]) { try ATOFile.decode(good.prefix(6), name: "t.ato") }
        assertThrowsMessage(["t.ato", "no records", "byte offset 8"]) { try ATOFile.decode(good.prefix(8), name: "t.ato") }
        var v9 = good; v9[4] = 9
        assertThrowsMessage(["t.ato", "byte offset 4", "expected 3 or 5"]) { try ATOFile.decode(v9, name: "t.ato") }
        var v4 = good; v4[4] = 4
        assertThrowsMessage(["t.ato", "version 4"]) { try ATOFile.decode(v4, name: "t.ato") }
        let v5 = ATOEncoder.v5([(1, 1, 1, 1)], little: true)
        assertThrowsMessage(["t.ato", "5000-byte header"]) { try ATOFile.decode(v5.prefix(4000), name: "t.ato") }
        assertThrowsMessage(["t.ato", "trailing 3 bytes at byte offset 5040"]) { try ATOFile.decode(v5 + Data(count: 3), name: "t.ato") }
    }

    func testAcquisitionFileReadsATO() throws {
        let dir = try makeTemporaryDirectory(self)
        let u = dir.appendingPathComponent("run.ato")
        try ATOEncoder.v3((0..<5).map(ATOEncoder.record), little: false).write(to: u)
        let (fmt, acq) = try AcquisitionFile.read(u.path)
        XCTAssertEqual(fmt, "ato"); XCTAssertEqual(acq.count, 5)
        let (_, forced) = try AcquisitionFile.read(u.path, atoByteOrder: .little)
        XCTAssertTrue(forced.notes.contains { $0.contains("forced") })
    }
}

final class DMFileTests: XCTestCase {
    func imageFile(version: Int, little: Bool, type: Int = 6, scale: Double? = 0.25, units: String = "nm",
                   unitsAsArray: Bool = true) -> (Data, [Double]) {
        let values = (0..<15).map { Double($0 * 3 % 11) - ([4, 5, 10, 12].contains(type) ? 0 : 4) }
        let thumb = DMEncoder.image(2, 2, type: 10, values: [1, 2, 3, 4], little: little)
        let img = DMEncoder.image(5, 3, type: type, values: values, scale: scale, units: units, little: little, unitsAsArray: unitsAsArray)
        let root: [DMTag] = [.group("ImageList", [thumb, img]), .value("ApplicationBounds", type: 3, bytes: DMEncoder.scalarBytes(3, 7, little: little))]
        return (DMEncoder.encode(root, version: version, little: little), values)
    }

    func testDM3AndDM4BothByteOrdersAndTypes() throws {
        for version in [3, 4] {
            for little in [true, false] {
                for type in [2, 3, 4, 5, 6, 7, 9, 10, 11, 12] {
                    let (data, values) = imageFile(version: version, little: little, type: type)
                    let img = try DMFile.decode(data, name: "f.dm\(version)")
                    XCTAssertEqual(img.width, 5); XCTAssertEqual(img.height, 3)
                    XCTAssertEqual(img.pixels, values.map(Float.init), "v\(version) little \(little) type \(type)")
                    XCTAssertEqual(img.pixelSizeNM, 0.25)
                    XCTAssertTrue(img.notes.contains { $0.contains("the largest") })
                }
            }
        }
    }

    func testCalibrationUnits() throws {
        let um = try DMFile.decode(imageFile(version: 3, little: true, scale: 0.002, units: "µm").0, name: "u.dm3")
        XCTAssertEqual(um.pixelSizeNM!, 2, accuracy: 1e-6)
        let a = try DMFile.decode(imageFile(version: 4, little: true, scale: 2.5, units: "Å", unitsAsArray: false).0, name: "a.dm4")
        XCTAssertEqual(a.pixelSizeNM!, 0.25, accuracy: 1e-7)
        let recip = try DMFile.decode(imageFile(version: 3, little: true, scale: 0.1, units: "1/nm").0, name: "r.dm3")
        XCTAssertNil(recip.pixelSizeNM); XCTAssertTrue(recip.notes.contains { $0.contains("1/nm") })
        let none = try DMFile.decode(imageFile(version: 3, little: true, scale: nil).0, name: "n.dm3")
        XCTAssertNil(none.pixelSizeNM); XCTAssertTrue(none.notes.contains { $0.contains("no spatial calibration") })
    }

    func testStructuralErrors() throws {
        let (good, _) = imageFile(version: 3, little: true)
        assertThrowsMessage(["x.dm3", "byte offset"]) { try DMFile.decode(good.prefix(good.count / 2), name: "x.dm3") }
        var bad = good; bad[3] = 7
        assertThrowsMessage(["x.dm3", "version 7 at byte offset 0"]) { try DMFile.decode(bad, name: "x.dm3") }
        // Nesting beyond the limit.
        var deep: DMTag = .value("v", type: 3, bytes: DMEncoder.scalarBytes(3, 1, little: true))
        for _ in 0..<80 { deep = .group("g", [deep]) }
        assertThrowsMessage(["d.dm3", "nested deeper than 64"]) { try DMFile.decode(DMEncoder.encode([deep], version: 3, little: true), name: "d.dm3") }
        // An array claiming 2³⁰ floats in a small file: refused before any allocation.
        var huge = Bytes(little: true)
        huge.be(UInt32(3)); huge.be(UInt32(0)); huge.be(UInt32(1)); huge.raw([0, 1]); huge.be(UInt32(1))
        huge.raw([21]); huge.be(UInt16(4)); huge.raw(Array("Data".utf8)); huge.raw(Array("%%%%".utf8))
        huge.be(UInt32(3)); huge.be(UInt32(20)); huge.be(UInt32(6)); huge.be(UInt32(1 << 30))
        assertThrowsMessage(["h.dm3", "beyond the end of the file"]) { try DMFile.decode(huge.data, name: "h.dm3") }
        let noImage = DMEncoder.encode([.value("A", type: 3, bytes: DMEncoder.scalarBytes(3, 1, little: true))], version: 4, little: true)
        assertThrowsMessage(["i.dm4", "not an image"]) { try DMFile.decode(noImage, name: "i.dm4") }
        let oneD = DMEncoder.encode([.group("ImageList", [.group("", [.group("ImageData", [
            .array("Data", type: 6, count: 3, bytes: Data(count: 12)),
            .group("Dimensions", [.value("", type: 5, bytes: DMEncoder.scalarBytes(5, 3, little: true))])])])])], version: 3, little: true)
        assertThrowsMessage(["s.dm3", "2-D image"]) { try DMFile.decode(oneD, name: "s.dm3") }
    }

    func testStackGivesFirstPlane() throws {
        let vals = (0..<12).map(Double.init)
        let img = DMEncoder.image(3, 2, type: 6, values: vals, scale: 1, little: true, extraDims: [2])
        let d = try DMFile.decode(DMEncoder.encode([.group("ImageList", [img])], version: 3, little: true), name: "st.dm3")
        XCTAssertEqual(d.pixels, (0..<6).map(Float.init)); XCTAssertTrue(d.notes.contains { $0.contains("first plane") })
    }
}

final class MRCFileTests: XCTestCase {
    func testModesByteOrdersAndPixelSize() throws {
        let vals: [Double] = [0, 1, -2, 3, 4, -5, 6, 7.5, 8, 9, -10, 11]
        for mode: Int32 in [0, 1, 2, 6, 12] {
            for little in [true, false] {
                let v = vals.map { mode == 6 ? abs($0.rounded(.down)) : mode == 0 || mode == 1 ? $0.rounded(.towardZero) : $0 }
                let d = MRCEncoder.encode(nx: 4, ny: 3, mode: mode, values: v, cellXAngstrom: 10, mx: 4, little: little, extended: 16)
                let img = try MRCFile.decode(d, name: "m.mrc")
                XCTAssertEqual(img.width, 4); XCTAssertEqual(img.height, 3)
                XCTAssertEqual(img.pixels, v.map(Float.init), "mode \(mode) little \(little)")
                XCTAssertEqual(img.pixelSizeNM!, 0.25, accuracy: 1e-9)
                XCTAssertTrue(img.notes.isEmpty, "\(img.notes)")
            }
        }
    }

    func testOldStampStacksAndNoCalibration() throws {
        let v = (0..<8).map(Double.init)
        let d = MRCEncoder.encode(nx: 2, ny: 2, nz: 2, mode: 2, values: v, little: false, stamp: [0, 0, 0, 0])
        let img = try MRCFile.decode(d, name: "o.mrc")
        XCTAssertEqual(img.pixels, [0, 1, 2, 3])
        XCTAssertNil(img.pixelSizeNM)
        XCTAssertTrue(img.notes.contains { $0.contains("big-endian chosen") }, "\(img.notes)")
        XCTAssertTrue(img.notes.contains { $0.contains("2 sections") })
    }

    func testErrorsNameTheOffset() throws {
        let good = MRCEncoder.encode(nx: 4, ny: 4, mode: 2, values: [Double](repeating: 1, count: 16))
        assertThrowsMessage(["e.mrc", "1024-byte MRC header"]) { try MRCFile.decode(good.prefix(500), name: "e.mrc") }
        assertThrowsMessage(["e.mrc", "past the end"]) { try MRCFile.decode(good.prefix(1024 + 20), name: "e.mrc") }
        var m = good; m[12] = 4
        assertThrowsMessage(["e.mrc", "mode 4 at byte offset 12"]) { try MRCFile.decode(m, name: "e.mrc") }
        var ext = good; ext[92] = 0xFF; ext[93] = 0xFF
        assertThrowsMessage(["e.mrc", "nsymbt", "byte offset 92"]) { try MRCFile.decode(ext, name: "e.mrc") }
        var big = good; big[0] = 0; big[1] = 0; big[2] = 0x10   // nx = 2^20
        assertThrowsMessage(["e.mrc", "byte offset 0"]) { try MRCFile.decode(big, name: "e.mrc") }
    }
}

/// The readers against real files (fetched at test time, see ``RealImages``), with the pixel values and pixel sizes
/// that ncempy 1.16 (DM) and mrcfile 1.5.4 (MRC) read from the same files: SHA-256 of the pixels as little-endian
/// float32 (first plane), recorded by `Validation/interop/images/check_images.py`.
final class RealImageTests: XCTestCase {
    static let expected: [(file: String, width: Int, height: Int, pixelNM: Double?, sha256: String)] = [
        ("test_STEM_image.dm3", 68, 68, 0.24853801727294922, "c0b6c4f40953c17f61588afe65f902e91d7eb2580c14cdf557cb2cb6fe33d372"),
        ("test_dm_image_um_unit.dm3", 68, 68, 168.67469251155853, "9a82f4d1064472fadaad487ea8c288b5df80183a8e8a4ae4ac5c9b81bd22d1c0"),
        ("test-MonarcCL_mono-image.dm4", 2, 2, 18325.349807739258, "98f099b2c02993b959f84a4b77a4d078790192b2990b407a529d2d046be27902"),
        ("dm3-test-2.dm3", 2, 2, nil, "ad73b9acd6e4a74b2f5bb5386658ce3bb146cd040a1867646ab3b973fb6632b1"),
        ("dm4-test-1.dm4", 2, 2, nil, "ad73b9acd6e4a74b2f5bb5386658ce3bb146cd040a1867646ab3b973fb6632b1"),
        ("EMD-3197.mrc", 20, 20, 1.1399999618530274, "485b41bc714fbcb3d99a84d431dfa8c5a3a2457b59ecab9cf944e4821be560f3"),
        ("fei-extended.mrc", 3710, 3838, 0.08537755012512208, "ae1b017141aa0876a1b10d87dbb8ccac68ea0517a84e0c18b921f821b75d25d6"),
    ]

    func testRealFilesMatchThePythonReaders() throws {
        for e in Self.expected {
            let url = try RealImages.url(e.file)
            let img = url.pathExtension == "mrc" ? try MRCFile.read(url) : try DMFile.read(url)
            XCTAssertEqual(img.width, e.width, e.file); XCTAssertEqual(img.height, e.height, e.file)
            var le = Data(capacity: img.pixels.count * 4)
            for p in img.pixels { var b = p.bitPattern.littleEndian; withUnsafeBytes(of: &b) { le.append(contentsOf: $0) } }
            XCTAssertEqual(SHA256.hex(le), e.sha256, e.file)
            if let px = e.pixelNM { XCTAssertEqual(img.pixelSizeNM ?? -1, px, accuracy: px * 1e-6, e.file) }
            else { XCTAssertNil(img.pixelSizeNM, e.file) }
        }
    }
}
