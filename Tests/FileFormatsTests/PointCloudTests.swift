import FileFormats
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import TwinCore
import XCTest

/// The point-cloud writers, checked by parsing what they wrote: the VTP XML header and its raw appended blocks, the
/// PLY header and binary body, the extended-XYZ text.
final class PointCloudTests: XCTestCase {
    /// 7 ions: Fe (two ranges), CrO (molecule, colour from the file), an unranged one and a NaN m/n.
    func sample() throws -> PointCloud {
        var acq = Acquisition()
        acq.xNM = [0, 1.5, -2.25, 3, 4.125, -5, 6]
        acq.yNM = [0.5, -1, 2, -3.5, 4, 5.75, -6]
        acq.zNM = [-0.1, -1.1, -2.1, -3.1, -4.1, -5.1, -6.1]
        acq.massToChargeDa = [27.9, 28.0, 56.1, 34.0, 40.0, .nan, 28.15]
        let table = RangeTable(ions: [RangedIon(name: "Fe", composition: [ElementCount("Fe", 1)]),
                                      RangedIon(name: "CrO", composition: [ElementCount("Cr", 1), ElementCount("O", 1)])],
                               ranges: [MassRange(lowDa: 27.85, highDa: 28.15, ionIndex: 0),
                                        MassRange(lowDa: 55.9, highDa: 56.2, ionIndex: 0),
                                        MassRange(lowDa: 33.9, highDa: 34.8, ionIndex: 1, colorHex: "00FF00")])
        var c = try PointCloud.labelled(acq, ranges: table, name: "sample")
        c.integerColumns = [("truth_atom_id", [10, 11, 12, 13, -1, 15, 4_000_000_000 / 2])]
        return c
    }

    func testSpeciesAndColours() throws {
        let c = try sample()
        XCTAssertEqual(c.speciesNames, ["unranged", "Fe", "CrO"])
        XCTAssertEqual(c.species, [1, 1, 1, 2, 0, 0, 1])  // closed ranges: 28.15 is in; NaN unranged
        XCTAssertEqual(c.speciesColors[0], PointCloud.unrangedColor)
        XCTAssertEqual(c.speciesColors[1], PointCloud.palette[0])       // FFFFFF in the table: palette
        XCTAssertEqual(c.speciesColors[2], PointCloudColor(r: 0, g: 255, b: 0))
        // Overlapping ranges: the first range in file order wins, as RangeTable.ionIndex.
        let t = RangeTable(ions: [RangedIon(name: "A", composition: []), RangedIon(name: "B", composition: [])],
                           ranges: [MassRange(lowDa: 10, highDa: 20, ionIndex: 1), MassRange(lowDa: 5, highDa: 12, ionIndex: 0)])
        XCTAssertEqual(PointCloud.speciesIndices([11, 6, 19, 25], table: t), [2, 1, 2, 0])
    }

    func testVTPStructure() throws {
        let c = try sample()
        let data = try PointCloudFile.encodeVTP(c)
        let marker = Data("<AppendedData encoding=\"raw\">".utf8)
        let r = try XCTUnwrap(data.range(of: marker))
        let us = try XCTUnwrap(data[r.upperBound...].firstIndex(of: UInt8(ascii: "_")))
        let appended = us + 1
        var xml = String(decoding: data[..<r.lowerBound], as: UTF8.self) + "</VTKFile>"
        xml = xml.replacingOccurrences(of: "<?xml version=\"1.0\"?>", with: "")
        let p = VTPHeader(Data(xml.utf8))
        XCTAssertTrue(p.parse(), "header is not well-formed XML")
        XCTAssertEqual(p.root["type"], "PolyData"); XCTAssertEqual(p.root["header_type"], "UInt64")
        XCTAssertEqual(p.root["byte_order"], "LittleEndian")
        XCTAssertEqual(p.piece["NumberOfPoints"], "7"); XCTAssertEqual(p.piece["NumberOfVerts"], "7")
        func block(_ name: String) throws -> (attrs: [String: String], bytes: Data) {
            let a = try XCTUnwrap(p.arrays.first { $0["Name"] == name }, name)
            let off = appended + Int(try XCTUnwrap(a["offset"]))!
            let len = data[off..<(off + 8)].withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            return (a, data[(off + 8)..<(off + 8 + Int(len))])
        }
        func values<T: BitwiseCopyable>(_ d: Data, _: T.Type) -> [T] {
            d.withUnsafeBytes { raw in (0..<(raw.count / MemoryLayout<T>.size)).map { raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) } }
        }
        let pts = try block("Points")
        XCTAssertEqual(pts.attrs["type"], "Float32"); XCTAssertEqual(pts.attrs["NumberOfComponents"], "3")
        let xyz = values(pts.bytes, Float.self)
        XCTAssertEqual(xyz.count, 21)
        for i in 0..<7 { XCTAssertEqual(xyz[3 * i], c.xNM[i]); XCTAssertEqual(xyz[3 * i + 1], c.yNM[i]); XCTAssertEqual(xyz[3 * i + 2], c.zNM[i]) }
        let mn = values(try block("mass_to_charge_da").bytes, Float.self)
        XCTAssertEqual(mn.map(\.bitPattern), c.massToChargeDa.map(\.bitPattern))
        XCTAssertEqual(values(try block("species").bytes, Int32.self), c.species)
        let rgb = try block("rgb")
        XCTAssertEqual(rgb.attrs["type"], "UInt8"); XCTAssertEqual(rgb.attrs["NumberOfComponents"], "3")
        XCTAssertEqual(Array(rgb.bytes), c.species.flatMap { s in [c.speciesColors[Int(s)].r, c.speciesColors[Int(s)].g, c.speciesColors[Int(s)].b] })
        let truth = try block("truth_atom_id")
        XCTAssertEqual(truth.attrs["type"], "Int64")
        XCTAssertEqual(values(truth.bytes, Int64.self), c.integerColumns[0].values)
        XCTAssertEqual(values(try block("connectivity").bytes, Int64.self), Array(0..<7))
        XCTAssertEqual(values(try block("offsets").bytes, Int64.self), Array(1...7))
        // Species names as ASCII char codes, each ended by 0.
        let codes = p.stringArrayText.split(separator: " ").compactMap { UInt8($0) }
        let names = codes.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
        XCTAssertEqual(names, c.speciesNames)
        // The file ends after the last block with the closing tags.
        XCTAssertTrue(String(decoding: data.suffix(40), as: UTF8.self).hasSuffix("</AppendedData>\n</VTKFile>\n"))
    }

    func testPLYStructure() throws {
        let c = try sample()
        let data = try PointCloudFile.encodePLY(c)
        let end = try XCTUnwrap(data.range(of: Data("end_header\n".utf8)))
        let header = String(decoding: data[..<end.lowerBound], as: UTF8.self).split(separator: "\n").map(String.init)
        XCTAssertEqual(header[0], "ply"); XCTAssertEqual(header[1], "format binary_little_endian 1.0")
        XCTAssertTrue(header.contains("comment species 2 CrO 00FF00"))
        XCTAssertTrue(header.contains("element vertex 7"))
        let props = header.filter { $0.hasPrefix("property ") }.map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(props.map { $0[2] }, ["x", "y", "z", "red", "green", "blue", "mass_to_charge", "species", "truth_atom_id"])
        let sizes = ["float": 4, "uchar": 1, "int": 4]
        let rec = props.reduce(0) { $0 + sizes[$1[1]]! }
        let body = data[end.upperBound...]
        XCTAssertEqual(body.count, 7 * rec)
        body.withUnsafeBytes { raw in
            for i in 0..<7 {
                var o = i * rec
                func f() -> Float { defer { o += 4 }; return Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self))) }
                func u() -> UInt8 { defer { o += 1 }; return raw[o] }
                func n() -> Int32 { defer { o += 4 }; return Int32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int32.self)) }
                XCTAssertEqual(f(), c.xNM[i]); XCTAssertEqual(f(), c.yNM[i]); XCTAssertEqual(f(), c.zNM[i])
                let col = c.speciesColors[Int(c.species[i])]
                XCTAssertEqual([u(), u(), u()], [col.r, col.g, col.b])
                XCTAssertEqual(f().bitPattern, c.massToChargeDa[i].bitPattern)
                XCTAssertEqual(n(), c.species[i])
                XCTAssertEqual(Int64(n()), c.integerColumns[0].values[i])
            }
        }
        var big = c
        big.integerColumns[0].values[0] = Int64(Int32.max) + 1
        assertThrowsMessage(["truth_atom_id", "32-bit"]) { try PointCloudFile.encodePLY(big) }
    }

    func testXYZText() throws {
        let c = try sample()
        let lines = String(decoding: try PointCloudFile.encodeXYZ(c), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines[0], "7")
        XCTAssertTrue(lines[1].hasPrefix("Properties=species:S:1:pos:R:3:mass_to_charge:R:1:species_index:I:1:color:R:3:truth_atom_id:I:1 "))
        XCTAssertEqual(lines.count, 2 + 7 + 1)
        for i in 0..<7 {
            let t = lines[2 + i].split(separator: " ").map(String.init)
            XCTAssertEqual(t.count, 1 + 3 + 1 + 1 + 3 + 1)
            XCTAssertEqual(t[0], c.speciesNames[Int(c.species[i])])
            XCTAssertEqual(Float(t[1]), c.xNM[i]); XCTAssertEqual(Float(t[2]), c.yNM[i]); XCTAssertEqual(Float(t[3]), c.zNM[i])
            if c.massToChargeDa[i].isNaN { XCTAssertEqual(t[4], "nan") } else { XCTAssertEqual(Float(t[4]), c.massToChargeDa[i]) }
            XCTAssertEqual(Int32(t[5]), c.species[i])
            let col = c.speciesColors[Int(c.species[i])]
            XCTAssertEqual(Float(t[6])!, Float(col.r) / 255, accuracy: 1e-6)
            XCTAssertEqual(Int64(t[9]), c.integerColumns[0].values[i])
        }
    }

    func testFilesAreWrittenAtomicallyAndErrorsNameTheFile() throws {
        let dir = try makeTemporaryDirectory(self)
        let c = try sample()
        for ext in ["vtp", "ply", "xyz"] {
            let u = dir.appendingPathComponent("c.\(ext)")
            try PointCloudFile.write(c, to: u)
            let inMemory: Data = ext == "vtp" ? try PointCloudFile.encodeVTP(c) : ext == "ply" ? try PointCloudFile.encodePLY(c) : try PointCloudFile.encodeXYZ(c)
            let onDisk = try Data(contentsOf: u)
            XCTAssertEqual(onDisk, inMemory, ext)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["c.ply", "c.vtp", "c.xyz"])
        assertThrowsMessage(["c.las", ".vtp"]) { try PointCloudFile.write(c, to: dir.appendingPathComponent("c.las")) }
        var empty = Acquisition(); empty.massToChargeDa = []
        assertThrowsMessage(["empty.pos", "positions"]) { try PointCloud.labelled(empty, ranges: nil, name: "empty.pos") }
    }

    /// 10⁶ points in memory: the binary writers must stay bulk (a loose bound that only catches per-point strings).
    func testMillionPointsWriteQuickly() throws {
        let n = 1_000_000
        var acq = Acquisition()
        acq.xNM = (0..<n).map { Float($0 % 1000) }; acq.yNM = acq.xNM; acq.zNM = acq.xNM
        acq.massToChargeDa = (0..<n).map { Float($0 % 60) }
        let t = RangeTable(ions: [RangedIon(name: "Fe", composition: [ElementCount("Fe", 1)])],
                           ranges: [MassRange(lowDa: 27.5, highDa: 28.5, ionIndex: 0)])
        let c = try PointCloud.labelled(acq, ranges: t, name: "big")
        let dir = try makeTemporaryDirectory(self)
        let start = Date()
        try PointCloudFile.write(c, to: dir.appendingPathComponent("big.vtp"))
        try PointCloudFile.write(c, to: dir.appendingPathComponent("big.ply"))
        let elapsed = Date().timeIntervalSince(start)
        let size = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("big.vtp").path)[.size] as! Int
        XCTAssertEqual(size, try PointCloudFile.encodeVTP(c).count)
        XCTAssertLessThan(elapsed, 30, "VTP + PLY of 10⁶ points took \(elapsed) s")
    }
}

/// Collects the attributes of the VTP header's elements.
final class VTPHeader: NSObject, XMLParserDelegate {
    let parser: XMLParser
    var root: [String: String] = [:], piece: [String: String] = [:]
    var arrays: [[String: String]] = []
    var stringArrayText = ""
    private var inStringArray = false

    init(_ data: Data) { parser = XMLParser(data: data); super.init(); parser.delegate = self }
    func parse() -> Bool { parser.parse() }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String]) {
        switch name {
        case "VTKFile": root = attributes
        case "Piece": piece = attributes
        case "DataArray": arrays.append(attributes)
        case "Array": inStringArray = attributes["type"] == "String"
        default: break
        }
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { if inStringArray { stringArrayText += string } }
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "Array" { inStringArray = false }
    }
}
