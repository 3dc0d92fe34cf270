import FileFormats
import Foundation
import TwinCore
import XCTest

final class RNGTests: XCTestCase {
    func sampleTable() -> RangeTable {
        RangeTable(
            ions: [
                RangedIon(name: "Fe", composition: [ElementCount("Fe", 1)]),
                RangedIon(name: "Cr", composition: [ElementCount("Cr", 1)]),
                RangedIon(name: "CrO", composition: [ElementCount("Cr", 1), ElementCount("O", 1)]),
                RangedIon(name: "Cr2O", composition: [ElementCount("Cr", 2), ElementCount("O", 1)]),
                RangedIon(name: "Unknown", composition: []),
            ],
            ranges: [
                MassRange(lowDa: 27.85, highDa: 28.15, ionIndex: 0, volumeNM3: 0.01178, colorHex: "FF0000"),
                MassRange(lowDa: 25.85, highDa: 26.15, ionIndex: 1, volumeNM3: 0.01206, colorHex: "00ff00"),
                MassRange(lowDa: 33.898, highDa: 34.80249, ionIndex: 2, volumeNM3: 0.04083, colorHex: "FF0000"),
                MassRange(lowDa: 57.819, highDa: 61.159, ionIndex: 3, volumeNM3: 0.05284, colorHex: "0000FF"),
                MassRange(lowDa: 70.5, highDa: 71, ionIndex: 4, volumeNM3: 0, colorHex: "808080"),
                MassRange(lowDa: 52.0, highDa: 52.3, ionIndex: 1, volumeNM3: 0, colorHex: "00FF00"),
            ])
    }

    func testWriteIsIVASStyleAndWriteReadWriteIsByteIdentical() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("t.rng")
        let lost = try RNGFile.write(sampleTable(), to: url)
        XCTAssertEqual(lost.count, 1, "\(lost)")
        XCTAssertTrue(lost[0].contains("no atomic volumes") && lost[0].contains("4 range"), "\(lost)")
        let first = try Data(contentsOf: url)
        let expected = [
            "4 6",
            "Fe", "Fe 1.00 0.00 0.00", "Cr", "Cr 0.00 1.00 0.00", "O", "O 1.00 1.00 1.00",
            "Unknown", "Unknown 0.50 0.50 0.50",
            "----------------- Fe Cr O Unknown",
            ". 27.8500 28.1500 1 0 0 0",
            ". 25.8500 26.1500 0 1 0 0",
            ". 33.8980 34.8025 0 1 1 0",
            ". 57.8190 61.1590 0 2 1 0",
            ". 70.5000 71.0000 0 0 0 1",
            ". 52.0000 52.3000 0 1 0 0",
            "", "",
            "--- polyatomic extension",
            "2 2",
            "CrO", "CrO 1.00 0.00 0.00", "Cr2O", "Cr2O 0.00 0.00 1.00",
            "----------------- CrO Cr2O",
            ". 33.8980 34.8025 1 0",
            ". 57.8190 61.1590 0 1",
        ].map { $0 + "\r\n" }.joined()
        XCTAssertEqual(String(decoding: first, as: UTF8.self), expected)

        let (table, warnings) = try RNGFile.read(url)
        // The custom ion is reported; O, which only appeared in molecules, is now an ion of its own.
        XCTAssertEqual(warnings.count, 1, "\(warnings)")
        XCTAssertTrue(warnings[0].contains("'Unknown'") && warnings[0].contains("custom"), "\(warnings)")
        XCTAssertEqual(table.ions.map(\.name), ["Fe", "Cr", "O", "Unknown", "CrO", "Cr2O"])
        XCTAssertEqual(table.ions[5].composition, [ElementCount("Cr", 2), ElementCount("O", 1)])
        XCTAssertEqual(table.ions[3].composition, [])
        XCTAssertEqual(table.ranges.map(\.ionIndex), [0, 1, 4, 5, 3, 1])
        XCTAssertEqual(table.ranges.map(\.colorHex), ["FF0000", "00FF00", "FF0000", "0000FF", "808080", "00FF00"])
        XCTAssertEqual(table.ranges[2].highDa, 34.8025)
        XCTAssertTrue(table.ranges.allSatisfy { $0.volumeNM3 == 0 })
        XCTAssertEqual(try RNGFile.write(table, to: url), [])
        XCTAssertEqual(try Data(contentsOf: url), first)
    }

    func testColoursNeedingThreeDecimalsRoundTrip() throws {
        let t = RangeTable(ions: [RangedIon(name: "Al", composition: [ElementCount("Al", 1)])],
                           ranges: [MassRange(lowDa: 13, highDa: 14, ionIndex: 0, colorHex: "01807F")])
        let (data, _) = try RNGFile.encode(t)
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("Al 0.004 0.50 0.498\r\n"))
        XCTAssertEqual(try RNGFile.decode(data, name: "c.rng").table.ranges[0].colorHex, "01807F")
    }

    /// Variants seen in real files (IVAS, 3Depict, hand edits), read leniently with warnings.
    func testLenientReadingAndWarnings() throws {
        let text = "\u{FEFF}7 9\r\n"
            + "Aluminium\r\nAl 0.20 1.00 1.00\r\n"
            + "H\nH 0.80 0.80 0.00 (H)\r\n"                   // LF in a CRLF file, text after the colour
            + "Mg\rMg 0.80 0.00 0.80\r\n"                     // a lone CR
            + "Si\r\nSi 0.80 0.80 0.80\r\n"
            + "C\r\nC 0.40 0.00 0.20\r\n"
            + "unknown\r\nunknown 0.60 0.60 0.00\r\n"          // custom ion
            + "Mg3Si2\r\nMg3Si2 1.00 1.50 0.00\r\n"            // 3Depict's all-zero "composed" column; colour > 1
            + "\r\n"
            + "---------------- Al H Mg Si C unk Mg3Si2\r\n"
            + ".  0.9006  1.3196  0 1  0 0 0 0 0\r\n"
            + "  13,3276 13,8690  1 0  0 0 0 0 0\r\n"          // no '.', comma decimals
            + ". 13.9510 14.1010  1 1  0 0 0 0 0\r\n"          // AlH, named below
            + ". 27.4100 27.5300  0 0  0 0 0 1 0\r\n"          // the custom ion
            + ". 23.9680 24.0220  0 0  0 0 2 0 0\r\n"          // C2, named below
            + ". 44.0000 44.5000  0 0  3 2 0 0 0\r\n"          // matches the Mg3Si2 column
            + ". 20.0000 20.2000  0 1  0 0 1 0 0\r\n"          // HC (column order): no name anywhere
            + ". 30.0000 30.1000  0 0  0 1 0 0 0\r\n"
            + ". 40.0000 40.1000  0 2  0 0 1 0 0\r\n"          // H2C
            + ". 60.0000 60.1000  0 0  0 1 0 0 0\r\n"          // more rows than declared: kept
            + "\r\n\r\n--- polyatomic extension\r\n"
            + "3 4\r\nAlH\r\nAlH 1.00 0.00 0.00\r\nC2\r\nC2 0.40 0.00 0.40\r\nCrO\r\nCrO 0.5 0.5 0.5\r\n"
            + "----------------- AlH C2 CrO\r\n"
            + ". 13.9510 14.1010   1  0 0\r\n"
            + ". 23.9680 24.0220   0  1 0\r\n"
            + ". 99.0000 99.5000   0  0 1\r\n"                  // matches no range: ignored
            + ". 30.0000 30.1000   0  1 1\r\n"                  // not exactly one ion: ignored
            + "trailing words"                                   // unrecognised, no final line end
        let (table, warnings) = try RNGFile.decode(Data(text.utf8), name: "messy.rng")
        XCTAssertEqual(table.ions.map(\.name), ["Al", "H", "Mg", "Si", "C", "unknown", "Mg3Si2", "AlH", "C2", "HC", "H2C"])
        XCTAssertEqual(table.ranges.count, 10)
        XCTAssertEqual(table.ranges[1].lowDa, 13.3276)
        XCTAssertEqual(table.ranges.map(\.ionIndex), [1, 0, 7, 5, 8, 6, 9, 3, 10, 3])
        XCTAssertEqual(table.ions[7].composition, [ElementCount("Al", 1), ElementCount("H", 1)])
        XCTAssertEqual(table.ions[8].composition, [ElementCount("C", 2)])
        XCTAssertEqual(table.ions[6].composition, [ElementCount("Mg", 3), ElementCount("Si", 2)])
        XCTAssertEqual(table.ions[10].composition, [ElementCount("H", 2), ElementCount("C", 1)])
        XCTAssertEqual(table.ions[5].composition, [])
        XCTAssertEqual(table.ranges[2].colorHex, "FF0000")   // AlH's colour
        XCTAssertEqual(table.ranges[5].colorHex, "FFFF00")   // Mg3Si2's, clamped
        XCTAssertEqual(table.ranges[6].colorHex, "FFFFFF")   // HC: no colour of its own
        for part in ["line 5: text after the colour of ion H", "line 13: ion 'unknown'", "line 15: colour components",
                     "line 17: column headers", "differ from the ion names", "line 27: more rows than the 9 declared",
                     "line 41: polyatomic ion CrO", "matches no range", "line 42: polyatomic row does not name exactly one ion",
                     "line 43: unrecognised line 'trailing words'", "line 37: polyatomic ion CrO names no range"] {
            XCTAssertTrue(warnings.contains { $0.contains(part) }, "no warning containing '\(part)': \(warnings)")
        }
        XCTAssertTrue(warnings.allSatisfy { $0.hasPrefix("messy.rng: ") }, "\(warnings)")
        XCTAssertEqual(warnings.count, 9, "\(warnings)")
        // What was read writes out stably.
        let once = try RNGFile.encode(table).data
        XCTAssertEqual(try RNGFile.encode(RNGFile.decode(once, name: "x").table).data, once)
    }

    func testPolyatomicNameMismatchIsAWarning() throws {
        let text = "2 1\nCr\nCr 1 0 0\nO\nO 0 0 1\n----- Cr O\n. 32.8920 33.2750 1 1\n"
            + "--- polyatomic extension\n1 1\nCrO2\nCrO2 0 1 0\n----- CrO2\n. 32.8920 33.2750 1\n"
        let (table, warnings) = try RNGFile.decode(Data(text.utf8), name: "m.rng")
        XCTAssertEqual(table.ions.map(\.name), ["Cr", "O", "CrO2"])
        XCTAssertEqual(table.ions[2].composition, [ElementCount("Cr", 1), ElementCount("O", 1)])
        XCTAssertEqual(warnings.count, 1, "\(warnings)")
        XCTAssertTrue(warnings[0].contains("line 13: polyatomic ion CrO2 names the range on line 7")
                      && warnings[0].contains("Cr:1 O:1"), "\(warnings)")
    }

    func testOverlapsAreWarnings() throws {
        let text = "1 3\nFe\nFe 1 0 0\n--- Fe\n. 27 28 1\n. 27.5 29 1\n. 27 28 1\n"
        let (table, warnings) = try RNGFile.decode(Data(text.utf8), name: "o.rng")
        XCTAssertEqual(table.ranges.count, 3)
        XCTAssertEqual(warnings.filter { $0.contains("overlapping") }.count, 2, "\(warnings)")
        XCTAssertTrue(warnings.contains { $0.contains("duplicate") && $0.contains("line 5") && $0.contains("line 7") })
    }

    func testBadInputIsAnErrorNamingTheLine() throws {
        let head = "2 1\nFe\nFe 1 0 0\nO\nO 0 0 1\n---------- Fe O\n"
        func bad(_ body: String, _ parts: [String], line: UInt = #line) {
            assertThrowsMessage(["b.rng: "] + parts, line: line) { try RNGFile.decode(Data((head + body).utf8), name: "b.rng") }
        }
        bad(". 27 28 1 0 0\n", ["line 7", "3 count columns", "declares 2 ions"])
        bad(". 27 28 1\n", ["line 7", "1 count columns", "declares 2 ions"])
        bad(". -1 28 1 0\n", ["line 7", "negative bound"])
        bad(". 29 28 1 0\n", ["line 7", "lower bound 29 is above upper bound 28"])
        bad(". nan 28 1 0\n", ["line 7", "lower bound 'nan'"])
        bad(". 27 inf 1 0\n", ["line 7", "upper bound 'inf'"])
        bad(". 27 0x1c 1 0\n", ["line 7", "upper bound '0x1c'"])
        bad(". 27 28 -1 1\n", ["line 7", "count -1", "negative"])
        bad(". 27 28 1.5 0\n", ["line 7", "count '1.5'", "not an integer"])
        bad(". 27 28 0 0\n", ["line 7", "names no ion"])
        bad("", ["the file ends after 0 of the 1 ranges", "truncated"])
        bad("--- polyatomic extension\n", ["line 7 starts a new block after 0 of the 1 ranges"])
        assertThrowsMessage(["u.rng: line 5: ion 'Xx': unknown element symbol 'Xx'"]) {
            try RNGFile.decode(Data("2 1\nFe\nFe 1 0 0\nXx\nXx 0 0 1\n--- Fe Xx\n. 1 2 0 1\n".utf8), name: "u.rng")
        }
        assertThrowsMessage(["u.rng: line 3: ion 'FeQ': unknown element symbol 'Q'"]) {
            try RNGFile.decode(Data("1 1\nFeQ\nFeQ 1 0 0\n--- FeQ\n. 1 2 1\n".utf8), name: "u.rng")
        }
        assertThrowsMessage(["c.rng: line 7: custom ion 'unknown'", "combined"]) {
            try RNGFile.decode(Data("2 1\nFe\nFe 1 0 0\nunknown\nunknown 0 0 1\n--- Fe unknown\n. 1 2 1 1\n".utf8),
                               name: "c.rng")
        }
        assertThrowsMessage(["h.rng: line 6: the column-header line names 3 ions", "declares 2"]) {
            try RNGFile.decode(Data("2 1\nFe\nFe 1 0 0\nO\nO 0 0 1\n--- Fe O Cr\n. 1 2 1 0\n".utf8), name: "h.rng")
        }
        assertThrowsMessage(["h.rng: line 1: expected 'N_ions N_ranges'", "not an RNG range file"]) {
            try RNGFile.decode(Data("[Ions]\nNumber=1\n".utf8), name: "h.rng")
        }
        assertThrowsMessage(["h.rng: line 1: the range table declares no ions"]) {
            try RNGFile.decode(Data("0 0\n---\n".utf8), name: "h.rng")
        }
        assertThrowsMessage(["t.rng: line 4: column-header line after 1 of the 2 ions"]) {
            try RNGFile.decode(Data("2 1\nFe\nFe 1 0 0\n--- Fe\n. 1 2 1\n".utf8), name: "t.rng")
        }
        assertThrowsMessage(["t.rng: the file ends after 1 of the 2 ions", "truncated"]) {
            try RNGFile.decode(Data("2 1\nFe\nFe 1 0 0\nO".utf8), name: "t.rng")
        }
        assertThrowsMessage(["t.rng: line 3: ion 1 of the range table: expected 'ShortName r g b'"]) {
            try RNGFile.decode(Data("1 1\nFe\nFe 1 0\n--- Fe\n. 1 2 1\n".utf8), name: "t.rng")
        }
        assertThrowsMessage(["t.rng: line 4: expected the dashed column-header line"]) {
            try RNGFile.decode(Data("1 1\nFe\nFe 1 0 0\n. 1 2 1\n".utf8), name: "t.rng")
        }
        assertThrowsMessage(["p.rng: the file ends before the polyatomic extension's 'N_ions N_ranges' line"]) {
            try RNGFile.decode(Data("1 1\nFe\nFe 1 0 0\n--- Fe\n. 1 2 1\n--- polyatomic extension\n".utf8), name: "p.rng")
        }
        assertThrowsMessage(["p.rng: line 9: ion 'Xx2': unknown element symbol 'Xx'"]) {
            try RNGFile.decode(Data("1 1\nFe\nFe 1 0 0\n--- Fe\n. 1 2 1\n--- polyatomic extension\n1 1\nXx2\nXx2 1 1 1\n--- Xx2\n. 1 2 1\n".utf8),
                               name: "p.rng")
        }
    }

    func testEmptyBinaryAndNonUTF8AreClearErrors() throws {
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("empty.RNG")
        try Data().write(to: url)
        assertThrowsMessage(["empty.RNG: empty file (0 bytes"]) { try RNGFile.read(url) }
        assertThrowsMessage(["blank.rng: empty file"]) { try RNGFile.decode(Data(" \r\n\n \t".utf8), name: "blank.rng") }
        var rng = TestRNG(7)
        var bytes = Array("2 1\nFe\n".utf8) + (0..<2048).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        bytes[12] = 0
        assertThrowsMessage(["g.rng: line", "binary data", "byte offset"]) { try RNGFile.decode(Data(bytes), name: "g.rng") }
        let pos = try POSFile.encode({ var a = Acquisition(); a.xNM = [1, 2]; a.yNM = [1, 2]; a.zNM = [1, 2]
            a.massToChargeDa = [27, 28]; return a }())
        assertThrowsMessage(["run.rng: line 1: binary data"]) { try RNGFile.decode(pos, name: "run.rng") }
        let latin1 = Data("1 1\nFer\n".utf8) + Data([0x46, 0xE9]) + Data(" 1 0 0\n--- Fe\n. 1 2 1\n".utf8)
        assertThrowsMessage(["l.rng: line 3: not UTF-8 text (byte 0xE9 at byte offset 9)"]) {
            try RNGFile.decode(latin1, name: "l.rng")
        }
    }

    func testWriterRejectsUnrepresentableTablesAndReportsLosses() throws {
        var t = sampleTable()
        t.ranges[0].lowDa = .nan
        assertThrowsMessage(["RNG output: range 1", "non-finite"]) { try RNGFile.encode(t) }
        t = sampleTable(); t.ranges[0].lowDa = -1
        assertThrowsMessage(["RNG output: range 1", "negative bound"]) { try RNGFile.encode(t) }
        t = sampleTable(); t.ranges[0].lowDa = 30
        assertThrowsMessage(["RNG output: range 1", "above upper bound"]) { try RNGFile.encode(t) }
        t = sampleTable(); t.ranges[1].ionIndex = 17
        assertThrowsMessage(["range 2", "ion index 17"]) { try RNGFile.encode(t) }
        t = sampleTable(); t.ranges[0].colorHex = "red"
        assertThrowsMessage(["colour 'red'"]) { try RNGFile.encode(t) }
        t = sampleTable(); t.ions[4].name = "two words"
        assertThrowsMessage(["two words"]) { try RNGFile.encode(t) }
        t = sampleTable(); t.ions[4].name = "Fe2"
        assertThrowsMessage(["'Fe2' has no composition", "formula"]) { try RNGFile.encode(t) }
        t = sampleTable(); t.ions[2].composition[1] = ElementCount("Xx", 1)
        assertThrowsMessage(["ion CrO: unknown element symbol 'Xx'"]) { try RNGFile.encode(t) }
        t = sampleTable(); t.ions[2].name = "CrXx"
        assertThrowsMessage(["'CrXx' uses the unknown element symbol 'Xx'"]) { try RNGFile.encode(t) }
        assertThrowsMessage(["RNG output: the table has no ions"]) { try RNGFile.encode(RangeTable()) }
        // Losses are reported, not errors.
        t = sampleTable()
        t.ranges[5].colorHex = "123456"
        t.ions.append(RangedIon(name: "FeO", composition: [ElementCount("Fe", 1), ElementCount("O", 1)]))
        t.ions[2].name = "CrO2"
        let (_, lost) = try RNGFile.encode(t)
        for part in ["ranges of ion Cr have 2 colours", "'FeO' has no range", "no atomic volumes",
                     "'CrO2' does not match its composition Cr:1 O:1"] {
            XCTAssertTrue(lost.contains { $0.contains(part) }, "no warning containing '\(part)': \(lost)")
        }
        XCTAssertEqual(lost.count, 4, "\(lost)")
    }
}
