import FileFormats
import Foundation
import TwinCore
import XCTest

final class RRNGTests: XCTestCase {
    func sampleTable() -> RangeTable {
        RangeTable(
            ions: [
                RangedIon(name: "Fe", composition: [ElementCount("Fe", 1)]),
                RangedIon(name: "Cr", composition: [ElementCount("Cr", 1)]),
                RangedIon(name: "CrO", composition: [ElementCount("Cr", 1), ElementCount("O", 1)]),
                RangedIon(name: "Cr2O", composition: [ElementCount("Cr", 2), ElementCount("O", 1)]),
                RangedIon(name: "Unknown", composition: []),
                RangedIon(name: "Xyz", composition: []),
            ],
            ranges: [
                MassRange(lowDa: 27.85, highDa: 28.15, ionIndex: 0, volumeNM3: 0.01178, colorHex: "FF0000"),
                MassRange(lowDa: 25.85, highDa: 26.15, ionIndex: 1, volumeNM3: 0.01206, colorHex: "00ff00"),
                MassRange(lowDa: 33.898, highDa: 34.80249, ionIndex: 2, volumeNM3: 0.04083, colorHex: "FF0000"),
                MassRange(lowDa: 57.819, highDa: 61.159, ionIndex: 3, volumeNM3: 0.05284, colorHex: "0000FF"),
                MassRange(lowDa: 70.5, highDa: 71, ionIndex: 4, volumeNM3: 0, colorHex: "808080"),
                MassRange(lowDa: 90, highDa: 91, ionIndex: 5),
            ])
    }

    func testWriteIsIVASStyleAndWriteReadWriteIsByteIdentical() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("t.rrng")
        try RRNGFile.write(sampleTable(), to: url)
        let first = try Data(contentsOf: url)
        let expected = [
            "[Ions]", "Number=6", "Ion1=Fe", "Ion2=Cr", "Ion3=CrO", "Ion4=Cr2O", "Ion5=Unknown", "Ion6=Xyz",
            "[Ranges]", "Number=6",
            "Range1=27.8500 28.1500 Vol:0.01178 Fe:1 Color:FF0000",
            "Range2=25.8500 26.1500 Vol:0.01206 Cr:1 Color:00FF00",
            "Range3=33.8980 34.8025 Vol:0.04083 Cr:1 O:1 Color:FF0000",
            "Range4=57.8190 61.1590 Vol:0.05284 Cr:2 O:1 Color:0000FF",
            "Range5=70.5000 71.0000 Vol:0.00000 Name:Unknown Color:808080",
            "Range6=90.0000 91.0000 Vol:0.00000 Name:Xyz Color:FFFFFF",
        ].map { $0 + "\r\n" }.joined()
        XCTAssertEqual(String(decoding: first, as: UTF8.self), expected)

        let (table, warnings) = try RRNGFile.read(url)
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(table.ions, sampleTable().ions)
        XCTAssertEqual(table.ranges.count, 6)
        XCTAssertEqual(table.ranges[2].highDa, 34.8025)
        XCTAssertEqual(table.ranges[1].colorHex, "00FF00")
        try RRNGFile.write(table, to: url)
        XCTAssertEqual(try Data(contentsOf: url), first)
    }

    func testLenientReadingAndWarnings() throws {
        let text = "\u{FEFF}; exported by hand\r\n"
            + "[ions]\r\n"
            + "number = 3\r\n"
            + "Ion1= Fe\r\n"
            + "Ion2=Cr\n"                                                      // LF in a CRLF file
            + "ion3 =Unknown\r\n"
            + "\r\n"
            + "[RANGES]\r\n"
            + "Number=6\r\n"
            + "Range1=27,8500 28,1500 Vol:0,01178 Fe:1 Color:ff0000\r\n"        // comma decimals
            + "  Range2 = 25.85\t 26.15   Vol : 0.01206 Cr:1 Color:00FF00  \r\n" // extra whitespace
            + "range3=33.9 34.8 Vol:0.04083 O:1 Cr:1 Color:0000FF\r\n"           // molecular ion
            + "Range4=27.8500 28.1500 Vol:0.01178 Fe:1 Color:FF0000\r\n"         // duplicate of Range1
            + "Range5=34.5 35.0 Vol:0 Name:Unknown Color:808080\r\n"             // overlaps Range3
            + "Range6=57.819 61.159 Vol:0.05284 Cr:2 O:1 COLOR:0000FF"           // no final line end
        let (table, warnings) = try RRNGFile.decode(Data(text.utf8), name: "messy.rrng")
        // A molecule first seen in [Ranges] is named by its formula in the order given.
        XCTAssertEqual(table.ions.map(\.name), ["Fe", "Cr", "Unknown", "OCr", "Cr2O"])
        XCTAssertEqual(table.ions[2].composition, [])
        XCTAssertEqual(table.ions[3].composition, [ElementCount("O", 1), ElementCount("Cr", 1)])
        XCTAssertEqual(table.ranges.count, 6)
        XCTAssertEqual(table.ranges[0].lowDa, 27.85); XCTAssertEqual(table.ranges[0].volumeNM3, 0.01178)
        XCTAssertEqual(table.ranges[0].colorHex, "FF0000")
        XCTAssertEqual(table.ranges[1].lowDa, 25.85); XCTAssertEqual(table.ranges[1].volumeNM3, 0.01206)
        XCTAssertEqual(table.ranges.map(\.ionIndex), [0, 1, 3, 0, 2, 4])
        XCTAssertEqual(warnings.count, 2, "\(warnings)")
        XCTAssertTrue(warnings.contains { $0.contains("duplicate") && $0.contains("Range1") && $0.contains("Range4") },
                      "\(warnings)")
        XCTAssertTrue(warnings.contains { $0.contains("overlapping") && $0.contains("Range3") && $0.contains("Range5") },
                      "\(warnings)")
        XCTAssertTrue(warnings.allSatisfy { $0.hasPrefix("messy.rrng") })
        // What was read writes out stably.
        let once = try RRNGFile.encode(table)
        XCTAssertEqual(try RRNGFile.encode(RRNGFile.decode(once, name: "x").table), once)
    }

    func testMissingHeadersAndCountMismatchAreWarnings() throws {
        let text = "Ion1=Fe\nRange1=1 2 Fe:1\nRange2=3 4 Vol:0.1 Ga:1 Color:123456\n[Ranges]\nNumber=5\n"
        let (table, warnings) = try RRNGFile.decode(Data(text.utf8), name: "bare.rrng")
        XCTAssertEqual(table.ions.map(\.name), ["Fe", "Ga"])
        XCTAssertEqual(table.ranges.count, 2)
        XCTAssertTrue(warnings.contains { $0.contains("line 1") && $0.contains("before any section header") }, "\(warnings)")
        XCTAssertTrue(warnings.contains { $0.contains("Number=5") && $0.contains("2 Range") }, "\(warnings)")
    }

    func testBinaryGarbageIsAClearError() throws {
        var rng = TestRNG(5)
        var bytes = Array("[Ions]\nNumber=1\n".utf8)
        bytes += (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        bytes[40] = 0  // make sure there is a NUL
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("garbage.RRNG")
        try Data(bytes).write(to: url)
        let msg = assertThrowsMessage(["garbage.RRNG: line", "binary data", "byte offset"]) { try RRNGFile.read(url) }
        print(msg ?? "")
        // An EPOS file given as a range file.
        let epos = try EPOSFile.encode({ var a = Acquisition(); a.xNM = [1, 2]; return a }(), fillMissingWithZeros: true)
        assertThrowsMessage(["run.rrng: line 1: binary data"]) { try RRNGFile.decode(epos, name: "run.rrng") }
    }

    func testEmptyAndNonRangeTextAreClearErrors() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("empty.rrng")
        try Data().write(to: url)
        assertThrowsMessage(["empty.rrng: empty file (0 bytes"]) { try RRNGFile.read(url) }
        assertThrowsMessage(["blank.rrng: empty file"]) { try RRNGFile.decode(Data(" \r\n\n \t".utf8), name: "blank.rrng") }
        assertThrowsMessage(["prose.rrng: line 2: expected 'key=value' or '[Section]'"]) {
            try RRNGFile.decode(Data("\nThis is a letter, not a range file.\n".utf8), name: "prose.rrng")
        }
        assertThrowsMessage(["ini.rrng", "not an RRNG"]) {
            try RRNGFile.decode(Data("colour=blue\n".utf8), name: "ini.rrng")
        }
        assertThrowsMessage(["other.ini", "no [Ions] or [Ranges] section"]) {
            try RRNGFile.decode(Data("[Display]\ncolour=blue\n".utf8), name: "other.ini")
        }
    }

    func testBadRangeLinesNameTheLine() throws {
        let head = "[Ions]\nNumber=1\nIon1=Fe\n[Ranges]\nNumber=1\n"
        assertThrowsMessage(["b.rrng: line 6: Range1: cannot read lower bound 'abc'"]) {
            try RRNGFile.decode(Data((head + "Range1=abc 28 Fe:1\n").utf8), name: "b.rrng")
        }
        assertThrowsMessage(["line 6", "above upper bound"]) {
            try RRNGFile.decode(Data((head + "Range1=29 28 Fe:1\n").utf8), name: "b.rrng")
        }
        assertThrowsMessage(["line 6", "finite"]) {
            try RRNGFile.decode(Data((head + "Range1=nan 28 Fe:1\n").utf8), name: "b.rrng")
        }
        assertThrowsMessage(["line 6", "names no ion"]) {
            try RRNGFile.decode(Data((head + "Range1=27 28 Vol:0.1 Color:FF0000\n").utf8), name: "b.rrng")
        }
        assertThrowsMessage(["line 6", "count 'x' of Fe"]) {
            try RRNGFile.decode(Data((head + "Range1=27 28 Fe:x\n").utf8), name: "b.rrng")
        }
        assertThrowsMessage(["line 6", "needs 'low high"]) {
            try RRNGFile.decode(Data((head + "Range1=27\n").utf8), name: "b.rrng")
        }
        assertThrowsMessage(["b.rrng: line 6: Range1: unknown element symbol 'Xx' in 'Xx:1'", "Name:"]) {
            try RRNGFile.decode(Data((head + "Range1=27 28 Vol:0.1 Xx:1 Color:FF0000\n").utf8), name: "b.rrng")
        }
        assertThrowsMessage(["b.rrng: line 6: Range1: unknown element symbol 'Fex'"]) {
            try RRNGFile.decode(Data((head + "Range1=27 28 Fex:1\n").utf8), name: "b.rrng")
        }
        assertThrowsMessage(["b.rrng: line 6: Range1: negative bound"]) {
            try RRNGFile.decode(Data((head + "Range1=-0.5 28 Fe:1\n").utf8), name: "b.rrng")
        }
        assertThrowsMessage(["b.rrng: line 6: Range1: negative bound"]) {
            try RRNGFile.decode(Data((head + "Range1=-3 -2 Fe:1\n").utf8), name: "b.rrng")
        }
        assertThrowsMessage(["b.rrng: line 5: [Ranges] Number='-3' is not a non-negative count"]) {
            try RRNGFile.decode(Data("[Ions]\nNumber=1\nIon1=Fe\n[Ranges]\nNumber=-3\nRange1=27 28 Fe:1\n".utf8),
                                name: "b.rrng")
        }
        assertThrowsMessage(["b.rrng: line 2: [Ions] Number='-3' is not a non-negative count"]) {
            try RRNGFile.decode(Data("[Ions]\nNumber=-3\nIon1=Fe\n[Ranges]\nNumber=1\nRange1=27 28 Fe:1\n".utf8),
                                name: "b.rrng")
        }
        assertThrowsMessage(["b.rrng: line 2: [Ions] Number='two'"]) {
            try RRNGFile.decode(Data("[Ions]\nNumber=two\nIon1=Fe\n".utf8), name: "b.rrng")
        }
        // A custom ion is written Name:label, and an [Ions] entry is only a name: neither is checked against the table.
        let ok = try RRNGFile.decode(Data("[Ions]\nNumber=1\nIon1=Xx\n[Ranges]\nNumber=1\nRange1=27 28 Name:Xx\n".utf8),
                                     name: "ok.rrng")
        XCTAssertEqual(ok.table.ions, [RangedIon(name: "Xx", composition: [])])
    }

    func testWriterRejectsUnrepresentableTables() {
        var t = sampleTable()
        t.ranges[0].lowDa = .nan
        assertThrowsMessage(["range 1", "non-finite"]) { try RRNGFile.encode(t) }
        t = sampleTable(); t.ranges[1].ionIndex = 17
        assertThrowsMessage(["range 2", "ion index 17"]) { try RRNGFile.encode(t) }
        t = sampleTable(); t.ranges[0].colorHex = "red"
        assertThrowsMessage(["colour 'red'"]) { try RRNGFile.encode(t) }
        t = sampleTable(); t.ions[4].name = "two words"
        assertThrowsMessage(["two words"]) { try RRNGFile.encode(t) }
        // What the reader would reject is not written.
        t = sampleTable(); t.ranges[0].lowDa = -1
        assertThrowsMessage(["RRNG output: range 1", "negative bound"]) { try RRNGFile.encode(t) }
        t = sampleTable(); t.ranges[0].lowDa = 29
        assertThrowsMessage(["RRNG output: range 1", "above upper bound"]) { try RRNGFile.encode(t) }
        t = sampleTable(); t.ions[2].composition[1] = ElementCount("Xx", 1)
        assertThrowsMessage(["RRNG output: ion CrO: unknown element symbol 'Xx'"]) { try RRNGFile.encode(t) }
        t = sampleTable(); t.ions[2].composition[1] = ElementCount("O", 0)
        assertThrowsMessage(["RRNG output: ion CrO has count 0 of O"]) { try RRNGFile.encode(t) }
    }
}
