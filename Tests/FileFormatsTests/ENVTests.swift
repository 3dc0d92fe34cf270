import FileFormats
import Foundation
import TwinCore
import XCTest

final class ENVTests: XCTestCase {
    /// An environment file built for this test following the GPM Rouen layout (Rev 2.0): comments announce each
    /// block and each parameter. One comment is Latin-1 (`m²`), as files written on Windows are.
    let gpmLines: [String] = [
        "#", "#\t\tEnvironment file written for AtomProbeTwin's tests (GPM Rouen layout)", "#", "", "",
        "# Version Id", "Rev_2.0", "", "",
        "# Alloy definition", "",
        "# Number of elements / Number of mass ranges", "6\t8", "",
        "# List of Element and Color components ( Red / Green / Blue )",
        "Fe\t1.0\t0.0\t0.0",
        "Cr\t0.0\t0.5\t1.0",
        "CrO\t0.5\t0.5\t0.5",
        "C2\t0.2\t0.2\t0.2",
        "X23\t0.3\t0.5\t0.5",
        "Hyd\t0.0\t0.0\t0.0",
        "",
        "# Definition of  Mass ranges / Atomic volumes / Increment for concentration",
        "Fe\t27.850\t28.150\t11.780\t1.000",
        "Fe\t55.800\t56.200\t11.780\t1.000",
        "Cr\t25.850\t26.150\t12.060\t1.000",
        "Cr\t51.800\t52.200\t12.060\t1.000",
        "CrO\t33.898\t34.802\t40.830\t2.000",
        "C2\t11.900\t12.100\t8.780\t1.000",
        "X23\t22.240\t22.720\t11.660\t1.000",
        "Hyd\t0.930\t3.180\t11.660\t0.000",
        "", "", "",
        "# Atom probe definition", "",
        "# Flight length (m)", "0.100500", "",
        "# Pulse fraction (%)", "20.000000", "",
        "# Coupling factor (%)", "100.000000", "",
        "# Time added to the tof for mass calculation (ns)", "-3.000000", "",
        "# Reflectron factor", "1.006500", "",
        "# Input Voltage of the detection system (kV)", "2.700000", "",
        "# Distance between Grid and MCPin (m)", "0.014000", "", "", "",
        "# Space definition", "",
        "# Ebeta value", "24.000000", "",
        "# Projection point value (m+1)", "1.600000", "",
        "# Surface of the detection system (m\u{B2})", "0.004656", "",
        "# Efficiency of the detection system", "0.550000", "",
        "# Angle used for the rotation of the tip", "0.000000", "",
        "# Angle used for the tilt of the tip", "12.500000", "",
    ]

    func line(_ text: String, in lines: [String]) -> Int { lines.firstIndex(of: text)! + 1 }

    func testReadsTheGPMLayout() throws {
        // Latin-1 bytes: the text is ASCII except for '²', which becomes the single byte 0xB2.
        let bytes = Data(gpmLines.joined(separator: "\r\n").unicodeScalars.map { UInt8($0.value) })
        let (table, p, warnings) = try ENVFile.decode(bytes, name: "gpm.env")
        XCTAssertEqual(table.ions.map(\.name), ["Fe", "Cr", "CrO", "C2", "X23", "Hyd"])
        XCTAssertEqual(table.ions[2].composition, [ElementCount("Cr", 1), ElementCount("O", 1)])
        XCTAssertEqual(table.ions[3].composition, [ElementCount("C", 2)])
        XCTAssertEqual(table.ions[4].composition, [])
        XCTAssertEqual(table.ions[5].composition, [])
        XCTAssertEqual(table.ranges.count, 8)
        XCTAssertEqual(table.ranges.map(\.ionIndex), [0, 0, 1, 1, 2, 3, 4, 5])
        XCTAssertEqual(table.ranges[4].lowDa, 33.898); XCTAssertEqual(table.ranges[4].highDa, 34.802)
        XCTAssertEqual(table.ranges[0].volumeNM3, 0.01178, accuracy: 1e-12)   // Å³ → nm³
        XCTAssertEqual(table.ranges.map(\.colorHex), ["FF0000", "FF0000", "0080FF", "0080FF", "808080", "333333",
                                                      "4D8080", "000000"])
        XCTAssertEqual(p.concentrationIncrements, [1, 1, 1, 1, 2, 1, 1, 0])
        XCTAssertEqual(p.version, "Rev_2.0")
        XCTAssertEqual(p.flightLengthM, 0.1005)
        XCTAssertEqual(p.pulseFractionPercent, 20)
        XCTAssertEqual(p.couplingFactorPercent, 100)
        XCTAssertEqual(p.tofOffsetNS, -3)
        XCTAssertEqual(p.reflectronFactor, 1.0065)
        XCTAssertEqual(p.detectorInputVoltageKV, 2.7)
        XCTAssertEqual(p.gridToMCPDistanceM, 0.014)
        XCTAssertEqual(p.eBeta, 24)
        XCTAssertEqual(p.projectionPoint, 1.6)
        XCTAssertEqual(p.detectorAreaM2, 0.004656)
        XCTAssertEqual(p.detectionEfficiency, 0.55)
        XCTAssertEqual(p.tipRotationAngle, 0)
        XCTAssertEqual(p.tipTiltAngle, 12.5)
        let l = gpmLines
        let expected = ["gpm.env: line \(line("X23\t0.3\t0.5\t0.5", in: l)): 'X23' is not an element",
                        "gpm.env: line \(line("Hyd\t0.0\t0.0\t0.0", in: l)): 'Hyd' is not an element",
                        "gpm.env: line \(line("# Surface of the detection system (m\u{B2})", in: l)): comment line not UTF-8"]
        XCTAssertEqual(warnings.count, 3, "\(warnings)")
        for e in expected { XCTAssertTrue(warnings.contains { $0.hasPrefix(e) }, "no warning '\(e)…': \(warnings)") }
        // The same file in UTF-8 reads the same, without the Latin-1 warning.
        let utf8 = try ENVFile.decode(Data(gpmLines.joined(separator: "\n").utf8), name: "gpm.env")
        XCTAssertEqual(utf8.table, table); XCTAssertEqual(utf8.parameters, p); XCTAssertEqual(utf8.warnings.count, 2)
        // What was read writes out stably, parameters included.
        let once = try ENVFile.encode(table, parameters: p)
        XCTAssertEqual(once.warnings, [])
        let again = try ENVFile.decode(once.data, name: "again.env")
        XCTAssertEqual(again.table, table); XCTAssertEqual(again.parameters, p)
        XCTAssertEqual(try ENVFile.encode(again.table, parameters: again.parameters).data, once.data)
    }

    func testWriteFollowsTheGPMLayoutAndWriteReadWriteIsByteIdentical() throws {
        let table = RangeTable(
            ions: [RangedIon(name: "Fe", composition: [ElementCount("Fe", 1)]),
                   RangedIon(name: "CrO", composition: [ElementCount("Cr", 1), ElementCount("O", 1)]),
                   RangedIon(name: "Unknown", composition: [])],
            ranges: [MassRange(lowDa: 27.85, highDa: 28.15, ionIndex: 0, volumeNM3: 0.01178, colorHex: "FF0000"),
                     MassRange(lowDa: 33.898, highDa: 34.80249, ionIndex: 1, volumeNM3: 0.04083, colorHex: "808080"),
                     MassRange(lowDa: 55.8, highDa: 56.2, ionIndex: 0, volumeNM3: 0.01178, colorHex: "ff0000"),
                     MassRange(lowDa: 70.5, highDa: 71, ionIndex: 2, volumeNM3: 0, colorHex: "01807F")])
        let params = ENVFile.Parameters(flightLengthM: 0.1005, tofOffsetNS: -3.25, detectionEfficiency: 0.55,
                                        tipTiltAngle: 1e-7)
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("t.env")
        XCTAssertEqual(try ENVFile.write(table, parameters: params, to: url), [])
        let first = try Data(contentsOf: url)
        let expected = """
        #
        #\tEnvironment file for 3D Atom Probe (GPM Rouen layout, Rev 2.0), written by AtomProbeTwin
        #

        # Version Id
        Rev_2.0

        # Alloy definition

        # Number of elements / Number of mass ranges
        3\t4

        # List of Element and Color components ( Red / Green / Blue )
        Fe\t1.0\t0.0\t0.0
        CrO\t0.5\t0.5\t0.5
        Unknown\t0.004\t0.5\t0.498

        # Definition of  Mass ranges / Atomic volumes / Increment for concentration
        Fe\t27.8500\t28.1500\t11.780\t1.000
        CrO\t33.8980\t34.8025\t40.830\t1.000
        Fe\t55.8000\t56.2000\t11.780\t1.000
        Unknown\t70.5000\t71.0000\t0.000\t1.000



        # Atom probe definition

        # Flight length (m)
        0.100500

        # Time added to the tof for mass calculation (ns)
        -3.250000



        # Space definition

        # Efficiency of the detection system
        0.550000

        # Angle used for the tilt of the tip
        1e-07

        """
        XCTAssertEqual(String(decoding: first, as: UTF8.self), expected)
        let (back, p, warnings) = try ENVFile.read(url)
        XCTAssertEqual(warnings.count, 1, "\(warnings)")   // 'Unknown' is a custom ion
        XCTAssertEqual(back.ions, table.ions)
        XCTAssertEqual(back.ranges.map(\.colorHex), ["FF0000", "808080", "FF0000", "01807F"])
        XCTAssertEqual(p.tipTiltAngle, 1e-7)
        XCTAssertEqual(p.version, "Rev_2.0")
        XCTAssertEqual(p.concentrationIncrements, [1, 1, 1, 1])
        XCTAssertEqual(try ENVFile.write(back, parameters: p, to: url), [])
        XCTAssertEqual(try Data(contentsOf: url), first)
    }

    /// Variants: 3Depict's output (no version, no parameters), comma decimals, spaces, inline comments, a range whose
    /// name is not in the element list, more ranges than declared, short range lines, and parameter oddities.
    func testLenientReadingAndWarnings() throws {
        let l = [
            "#3Depict 0.0.23",
            "3 4",
            "Fe 1 0 0",
            "Cr 0 1 0   # comment after data",
            "O 0 0 1 extra",
            "Fe 27,85 28,15 11,78 1",
            "Cr 25.85 26.15 12.06 1.0",
            "Ga 34.5 35.0 1.0 1.0",
            "O 15.9 16.1",
            "Fe 55.8 56.2 11.78 1 more",
            "# Flight length (m)", "0,16",
            "# Flight length (m)", "0.17",
            "# Detector temperature (K)", "50",
            "42",
            "some words here",
        ]
        let (table, p, warnings) = try ENVFile.decode(Data(l.joined(separator: "\r\n").utf8), name: "v.env")
        XCTAssertEqual(table.ions.map(\.name), ["Fe", "Cr", "O", "Ga"])
        XCTAssertEqual(table.ranges.count, 5)
        XCTAssertEqual(table.ranges[0].lowDa, 27.85); XCTAssertEqual(table.ranges[0].volumeNM3, 0.01178, accuracy: 1e-12)
        XCTAssertEqual(table.ranges[2].colorHex, "FFFFFF")
        XCTAssertEqual(table.ranges[3].volumeNM3, 0)
        XCTAssertEqual(p.concentrationIncrements, [1, 1, 1, 1, 1])
        XCTAssertNil(p.version)
        XCTAssertEqual(p.flightLengthM, 0.17)
        for part in ["line 5: text after the colour of O", "line 8: range of 'Ga', which is not in the element list",
                     "line 9: range line without atomic volume", "line 10: text after the concentration increment",
                     "line 2: 4 mass ranges declared, 5 found", "line 14: Flight length (m) repeated (first on line 12)",
                     "line 16: unknown parameter 'Detector temperature (K)' = 50", "line 17: value 42 without a label",
                     "line 18: unrecognised line 'some words here'"] {
            XCTAssertTrue(warnings.contains { $0.contains(part) }, "no warning containing '\(part)': \(warnings)")
        }
        XCTAssertEqual(warnings.count, 9, "\(warnings)")
        // Only the counts and lists: what 3Depict writes.
        let bare = try ENVFile.decode(Data("2 1\nFe 1 0 0\nNi 0 1 0\nNi 29 30 1.0 1.0\n".utf8), name: "b.env")
        XCTAssertEqual(bare.warnings, [])
        XCTAssertEqual(bare.parameters, ENVFile.Parameters(concentrationIncrements: [1]))
        XCTAssertEqual(bare.table.ranges[0].ionIndex, 1)
    }

    func testOverlapsAreWarnings() throws {
        let (_, _, w) = try ENVFile.decode(Data("1 2\nFe 1 0 0\nFe 27 28 1 1\nFe 27.5 29 1 1\n".utf8), name: "o.env")
        XCTAssertEqual(w.count, 1, "\(w)")
        XCTAssertTrue(w[0].contains("overlapping") && w[0].contains("line 3") && w[0].contains("line 4"), "\(w)")
    }

    func testBadInputIsAnErrorNamingTheLine() throws {
        let head = "# Number of elements / Number of mass ranges\n2 2\nFe 1 0 0\nCrO 0 1 0\n"
        func bad(_ body: String, _ parts: [String], line: UInt = #line) {
            assertThrowsMessage(["b.env: "] + parts, line: line) { try ENVFile.decode(Data((head + body).utf8), name: "b.env") }
        }
        bad("Fe -1 28 11 1\nFe 29 30 11 1\n", ["line 5", "negative bound"])
        bad("Fe 29 28 11 1\nFe 29 30 11 1\n", ["line 5", "lower bound 29 is above upper bound 28"])
        bad("Fe nan 28 11 1\nFe 29 30 11 1\n", ["line 5", "lower bound 'nan'"])
        bad("Fe 27 28 -11 1\nFe 29 30 11 1\n", ["line 5", "negative atomic volume"])
        bad("Fe 27 28 11 x\nFe 29 30 11 1\n", ["line 5", "increment 'x'"])
        bad("Fe 27 28 11 1\nXx 29 30 11 1\n", ["line 6", "'Xx': unknown element symbol 'Xx'"])
        bad("Fe 27 28 11 1\n", ["the file ends after 1 of the 2 mass ranges", "truncated"])
        bad("Fe 27 28 11 1\n# Flight length (m)\n0.1\n", ["line 7", "mass range 2 of 2"])
        bad("Fe 27 28 11 1\n42 43\n", ["line 6", "mass range 2 of 2"])
        bad("Fe 27 28 11 1\nFe 29 30 11 1\n# Flight length (m)\n0.1\nFe 31 32 11 1\n", ["line 9", "range line",
                                                                                            "after the parameters"])
        bad("Fe 27 28 11 1\nFe 29 30 11 1\n# Flight length (m)\n0.1\n# Efficiency of the detection system\n",
            ["line 9", "ends after 'Efficiency of the detection system' without its value", "truncated"])
        assertThrowsMessage(["e.env: line 3: 'Xx2': unknown element symbol 'Xx'"]) {
            try ENVFile.decode(Data("1 1\n# list\nXx2 1 0 0\nXx2 1 2 1 1\n".utf8), name: "e.env")
        }
        assertThrowsMessage(["e.env: line 3: element 2 of 2: expected 'Name r g b'"]) {
            try ENVFile.decode(Data("2 1\nFe 1 0 0\nCr 1 0\nFe 1 2 1 1\n".utf8), name: "e.env")
        }
        assertThrowsMessage(["e.env: the file ends after 1 of the 2 elements", "truncated"]) {
            try ENVFile.decode(Data("2 1\nFe 1 0 0\n".utf8), name: "e.env")
        }
        assertThrowsMessage(["e.env: line 2: expected 'N_elements N_ranges'", "not an ENV file"]) {
            try ENVFile.decode(Data("Rev_2.0\nthis is a letter\n".utf8), name: "e.env")
        }
        assertThrowsMessage(["e.env: no 'N_elements N_ranges' line found"]) {
            try ENVFile.decode(Data("# only comments\nRev_2.0\n".utf8), name: "e.env")
        }
        assertThrowsMessage(["e.env: line 1: expected 'N_elements N_ranges'"]) {
            try ENVFile.decode(Data("[Ions]\nNumber=1\n".utf8), name: "e.env")
        }
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("empty.ENV")
        try Data().write(to: url)
        assertThrowsMessage(["empty.ENV: empty file (0 bytes"]) { try ENVFile.read(url) }
        var rng = TestRNG(11)
        var bytes = Array("2 1\nFe 1 0 0\n".utf8) + (0..<1024).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        bytes[20] = 1
        assertThrowsMessage(["g.env: line", "binary data", "byte offset"]) { try ENVFile.decode(Data(bytes), name: "g.env") }
        let latin1 = Data("1 1\nFe 1 0 0\n".utf8) + Data([0xC9]) + Data("Fe 1 2 1 1\n".utf8)
        assertThrowsMessage(["l.env: line 3: not UTF-8 text (byte 0xC9 at byte offset 13)"]) {
            try ENVFile.decode(latin1, name: "l.env")
        }
    }

    func testWriterRejectsUnrepresentableInputAndReportsLosses() throws {
        let t = RangeTable(ions: [RangedIon(name: "Fe", composition: [ElementCount("Fe", 1)])],
                           ranges: [MassRange(lowDa: 27, highDa: 28, ionIndex: 0, volumeNM3: 0.01, colorHex: "FF0000")])
        var b = t; b.ranges[0].volumeNM3 = -1
        assertThrowsMessage(["ENV output: range 1: negative volume"]) { try ENVFile.encode(b) }
        b = t; b.ranges[0].highDa = .infinity
        assertThrowsMessage(["ENV output: range 1", "non-finite"]) { try ENVFile.encode(b) }
        b = t; b.ions.append(RangedIon(name: "Cr2", composition: []))
        assertThrowsMessage(["'Cr2' has no composition", "formula"]) { try ENVFile.encode(b) }
        b = t; b.ions[0].name = "Fe#1"
        assertThrowsMessage(["'Fe#1'", "'#'"]) { try ENVFile.encode(b) }
        assertThrowsMessage(["2 concentration increments for 1 ranges"]) {
            try ENVFile.encode(t, parameters: ENVFile.Parameters(concentrationIncrements: [1, 2]))
        }
        assertThrowsMessage(["Flight length (m) is not finite"]) {
            try ENVFile.encode(t, parameters: ENVFile.Parameters(flightLengthM: .nan))
        }
        assertThrowsMessage(["version 'Rev 2'"]) { try ENVFile.encode(t, parameters: ENVFile.Parameters(version: "Rev 2")) }
        b = t
        b.ions.append(RangedIon(name: "Oxide", composition: [ElementCount("Cr", 1), ElementCount("O", 1)]))
        b.ions.append(RangedIon(name: "CrO2", composition: [ElementCount("Cr", 1), ElementCount("O", 1)]))
        b.ranges.append(MassRange(lowDa: 30, highDa: 31, ionIndex: 0, colorHex: "00FF00"))
        let lost = try ENVFile.encode(b).warnings
        for part in ["ion Fe have 2 colours", "'Oxide' has composition Cr:1 O:1", "without composition",
                     "'CrO2' has composition Cr:1 O:1", "read back as Cr:1 O:2"] {
            XCTAssertTrue(lost.contains { $0.contains(part) }, "no warning containing '\(part)': \(lost)")
        }
        XCTAssertEqual(lost.count, 3, "\(lost)")
    }
}
