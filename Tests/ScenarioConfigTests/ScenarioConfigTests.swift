import ScenarioConfig
import XCTest

final class ScenarioConfigTests: XCTestCase {
    func parseErrors(_ yaml: String) -> [ScenarioError] {
        do {
            _ = try ResolvedScenario.parse(yaml: yaml, file: "test.yaml")
            return []
        } catch let e as ScenarioErrors {
            return e.errors
        } catch {
            XCTFail("unexpected error type \(error)"); return []
        }
    }

    func testDefaultsAreValidAndRoundTrip() throws {
        let yaml = DefaultsPrinter.yaml()
        let parsed = try ResolvedScenario.parse(yaml: yaml, file: "defaults.yaml")
        let defaults = ResolvedScenario.defaults()
        XCTAssertEqual(parsed.values.count, defaults.values.count)
        for (k, v) in defaults.values { XCTAssertEqual(parsed[k], v, k) }
        // F200 defaults of the source paper live in the schema.
        XCTAssertEqual(defaults.double("instrument.flight_path_mm"), 470)
        XCTAssertEqual(defaults.double("instrument.detector_diameter_mm"), 42)
        XCTAssertEqual(defaults.double("instrument.detection_efficiency"), 0.5)
        XCTAssertEqual(defaults.double("instrument.holder_max_dc_v"), 8000)
        XCTAssertEqual(defaults.double("instrument.pulse_frequency_hz"), 20000)
        XCTAssertEqual(defaults.double("instrument.temperature_k"), 78)
        XCTAssertTrue(yaml.contains("# "), "defaults are commented")
    }

    func testUnknownKeyNamesPathLineAndSuggestion() {
        let errs = parseErrors("name: x\nspecimen:\n  apex_radius_mn: 20\n")
        XCTAssertEqual(errs.count, 1)
        XCTAssertEqual(errs.first?.description, "test.yaml:3: specimen.apex_radius_mn: unknown key (did you mean 'apex_radius_nm'?)")
    }

    func testUnknownTopLevelKey() {
        let errs = parseErrors("nonsense_section:\n  a: 1\n")
        XCTAssertEqual(errs.first?.line, 1)
        XCTAssertTrue(errs.first?.description.contains("nonsense_section: unknown key") ?? false, "\(errs)")
    }

    func testWrongTypeNamesPathLineAndExpectedType() {
        let errs = parseErrors("specimen:\n  apex_radius_nm: big\n")
        XCTAssertEqual(errs.first?.description, "test.yaml:2: specimen.apex_radius_nm: expected a number, got 'big'")
        let errs2 = parseErrors("instrument:\n  flight_path_mm: \"470\"\n")
        XCTAssertEqual(errs2.first?.description, "test.yaml:2: instrument.flight_path_mm: expected a number, got '470'")
        let errs3 = parseErrors("specimen: 5\n")
        XCTAssertEqual(errs3.first?.description, "test.yaml:1: specimen: must be a mapping of keys to values")
    }

    func testOutOfRangeNamesAllowedRange() {
        let errs = parseErrors("instrument:\n  holder_max_dc_v: 9000\n  detection_efficiency: 1.5\n")
        XCTAssertEqual(errs.map(\.description), [
            "test.yaml:2: instrument.holder_max_dc_v: value 9000 is out of range; allowed 100 … 8000",
            "test.yaml:3: instrument.detection_efficiency: value 1.5 is out of range; allowed 0.01 … 1",
        ])
        let dc = parseErrors("acquisition:\n  max_events: -3\n")
        XCTAssertEqual(dc.first?.description, "test.yaml:2: acquisition.max_events: value -3 is out of range; allowed 1 … 2000000000")
    }

    func testCompositionMustSumToOneAndNameKnownElements() {
        let errs = parseErrors("specimen:\n  composition_at_frac: {Fe: 0.5, Cr: 0.4}\n")
        XCTAssertTrue(errs.first?.description.contains("sum to 0.9") ?? false, "\(errs)")
        let errs2 = parseErrors("specimen:\n  composition_at_frac: {Xx: 1.0}\n")
        XCTAssertTrue(errs2.first?.description.contains("unknown element 'Xx'") ?? false, "\(errs2)")
    }

    func testDuplicateKeyAndInvalidYAML() {
        let errs = parseErrors("seed: 1\nseed: 2\n")
        XCTAssertEqual(errs.first?.description, "test.yaml:2: seed: duplicate key")
        let bad = parseErrors("specimen:\n  a: [1, 2\n")
        XCTAssertTrue(bad.first?.description.hasPrefix("test.yaml:") ?? false)
        XCTAssertTrue(bad.first?.description.contains("not valid YAML") ?? false, "\(bad)")
    }

    func testSeveralErrorsReportedTogether() {
        let errs = parseErrors("seed: x\nspecimen:\n  apex_radius_nm: 1000\n  bogus: 1\n")
        XCTAssertEqual(errs.count, 3)
    }

    func testCommandLineOverrideIsValidated() throws {
        var s = ResolvedScenario.defaults()
        try s.set("seed", .int(99))
        XCTAssertEqual(s.int("seed"), 99)
        XCTAssertThrowsError(try s.set("seed", .int(-1)))
        XCTAssertThrowsError(try s.set("no.such", .int(1)))
    }

    func testShippedScenariosAreValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("Scenarios")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }
        XCTAssertFalse(files.isEmpty)
        for f in files { XCTAssertNoThrow(try ResolvedScenario.load(path: dir.appendingPathComponent(f).path), f) }
    }

    /// Fuzz target of the scenario reader: seeded mutations of the commented default scenario (characters replaced,
    /// removed or duplicated, lines cut, indentation shifted, YAML punctuation inserted). Every outcome is a valid
    /// scenario whose values lie in the schema, or `ScenarioErrors` naming the file; never a crash or a hang.
    func testScenarioMutationsNeverCrash() {
        let good = Array(DefaultsPrinter.yaml().utf8)
        var state: UInt64 = 41
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9; z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let punctuation = Array(":-[]{},&*!|>'\"%@`#\n\t ".utf8)
        var ok = 0, failed = 0
        for _ in 0..<300 {
            var b = good
            for _ in 0..<(1 + Int(next() % 4)) where !b.isEmpty {
                let i = Int(next() % UInt64(b.count))
                switch next() % 5 {
                case 0: b[i] = punctuation[Int(next() % UInt64(punctuation.count))]
                case 1: b.removeSubrange(i..<min(b.count, i + 1 + Int(next() % 20)))
                case 2: b.insert(contentsOf: b[i..<min(b.count, i + 1 + Int(next() % 40))], at: i)
                case 3: b.insert(contentsOf: [UInt8](repeating: 0x20, count: 1 + Int(next() % 4)), at: i)
                default: b[i] = UInt8(truncatingIfNeeded: next())   // may make the text invalid UTF-8
                }
            }
            guard let text = String(validating: b, as: UTF8.self) else { continue }
            do {
                let r = try ResolvedScenario.parse(yaml: text, file: "fuzz.yaml")
                if let name = r.string("name") { XCTAssertNil(ScenarioSchema.nameProblem(name), name) }
                ok += 1
            } catch let e as ScenarioErrors {
                XCTAssertFalse(e.errors.isEmpty)
                for err in e.errors { XCTAssertTrue(err.description.hasPrefix("fuzz.yaml"), err.description) }
                failed += 1
            } catch { XCTFail("unexpected error type \(error)") }
        }
        XCTAssertGreaterThan(ok, 0); XCTAssertGreaterThan(failed, 0)
    }
}
