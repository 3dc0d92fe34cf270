/// The scenario schema: every key a scenario file may hold, its type, allowed range, default and meaning.
///
/// This table is the single place where defaults live — including those of the JEOL F200 instrument of the source
/// paper (Da Costa et al., "Bringing Atom Probe Tomography to Transmission Electron Microscopes", hal-04734951,
/// 2024). `aptwin scenario --defaults` prints it as a commented YAML file, and validation checks files against it.

/// The kind of value a key holds, with its constraints.
public enum ValueKind: Sendable, Equatable {
    case double(ClosedRange<Double>)
    case int(ClosedRange<Int>)
    case bool
    case string
    /// One of a fixed set of words.
    case choice([String])
    /// A map from element symbol to atom fraction, fractions summing to 1.
    case composition
    /// A list of integers with a fixed length (e.g. Miller indices) or any length (`count == nil`), each in range.
    case intList(count: Int?, range: ClosedRange<Int>)

    var typeName: String {
        switch self {
        case .double: return "a number"
        case .int: return "an integer"
        case .bool: return "true or false"
        case .string: return "a string"
        case .choice(let c): return "one of " + c.joined(separator: ", ")
        case .composition: return "a map of element symbol to atom fraction"
        case .intList(let n, _): return n.map { "a list of \($0) integers" } ?? "a list of integers"
        }
    }
}

/// A value held by a key.
public enum ScenarioValue: Sendable, Equatable {
    case double(Double)
    case int(Int)
    case bool(Bool)
    case string(String)
    case composition([(symbol: String, fraction: Double)])
    case intList([Int])

    public static func == (a: ScenarioValue, b: ScenarioValue) -> Bool {
        switch (a, b) {
        case let (.double(x), .double(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.bool(x), .bool(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.intList(x), .intList(y)): return x == y
        case let (.composition(x), .composition(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.symbol == $1.symbol && $0.fraction == $1.fraction }
        default: return false
        }
    }
}

/// One key of the schema.
public struct SchemaField: Sendable {
    public let key: String
    public let kind: ValueKind
    /// Default value; `nil` means "derived" (computed from other keys, explained in `doc`).
    public let defaultValue: ScenarioValue?
    public let doc: String
    /// False when the current models read the key only as metadata (documented in the printed defaults).
    public let usedBySimulation: Bool

    init(_ key: String, _ kind: ValueKind, _ defaultValue: ScenarioValue?, _ doc: String, used: Bool = true) {
        self.key = key; self.kind = kind; self.defaultValue = defaultValue; self.doc = doc; self.usedBySimulation = used
    }
}

/// A section of the schema (a YAML mapping).
public struct SchemaSection: Sendable {
    public let key: String
    public let doc: String
    public let fields: [SchemaField]
}

/// The whole scenario schema.
public enum ScenarioSchema {
    /// Top-level keys that are not sections.
    public static let topLevel: [SchemaField] = [
        SchemaField("name", .string, .string("unnamed"),
                    "Scenario name; runs are written to Output/<name>/<run-id>/."),
        SchemaField("seed", .int(0...Int(Int32.max)), .int(1),
                    "Random seed. Same scenario + same seed => byte-identical outputs, whatever the thread count."),
    ]

    public static let sections: [SchemaSection] = [
        SchemaSection(key: "specimen", doc: "The atomistic needle: every atom is ground truth.", fields: [
            SchemaField("microstructure", .choice(["random_solution"]), .string("random_solution"),
                        "Microstructure model. Baseline: a random solid solution."),
            SchemaField("composition_at_frac", .composition, .composition([("Fe", 0.486), ("Cr", 0.514)]),
                        "Atom fractions by element symbol; must sum to 1 (Fe-51.4 at% Cr, the source paper's alloy)."),
            SchemaField("lattice", .choice(["bcc", "fcc"]), .string("bcc"), "Crystal lattice."),
            SchemaField("lattice_constant_nm", .double(0.1...1.0), nil,
                        "Cubic lattice constant; default: the composition-weighted constant of the pure elements."),
            SchemaField("axis_hkl", .intList(count: 3, range: -20...20), .intList([0, 0, 1]),
                        "Crystal direction [hkl] along the needle axis."),
            SchemaField("apex_radius_nm", .double(2...100), .double(10), "Radius of the spherical cap."),
            SchemaField("shank_half_angle_deg", .double(0...15), .double(5), "Half-angle of the conical shank."),
            SchemaField("length_nm", .double(5...500), .double(40), "Needle length from apex to base."),
        ]),
        SchemaSection(key: "instrument", doc: "The JEOL F200 with the APT holder (source paper defaults).", fields: [
            SchemaField("microscope", .string, .string("JEOL F200"), "Microscope model.", used: false),
            SchemaField("accelerating_voltage_kv", .double(60...300), .double(200),
                        "TEM accelerating voltage (for TEM imaging).", used: false),
            SchemaField("holder_max_dc_v", .double(100...8000), .double(8000),
                        "Largest standing voltage the side-entry holder applies (rated 8 kV); acquisitions stop there."),
            SchemaField("holder_max_pulse_v", .double(0...3000), .double(3000),
                        "Largest pulse amplitude the pulser delivers (2-3 kV); the acquisition stops there."),
            SchemaField("temperature_k", .double(4...400), .double(78), "Specimen temperature.", used: false),
            SchemaField("pulse_fraction", .double(0...1), .double(0.2), "Pulse amplitude as a fraction of V_DC."),
            SchemaField("pulse_frequency_hz", .double(1...1_000_000), .double(20000), "Pulse repetition rate."),
            SchemaField("lens_peak_field_t", .double(0...2.5), .double(0),
                        "Objective-lens field crossed by the ions (0 = lens off). Not modelled by the baseline point projection: it must be 0 until the ion-optics stage models it."),
            SchemaField("flight_path_mm", .double(10...2000), .double(470), "Tip-to-detector distance."),
            SchemaField("detector_diameter_mm", .double(5...200), .double(42), "Active diameter of the delay-line detector."),
            SchemaField("detection_efficiency", .double(0.01...1), .double(0.5), "Probability that an ion reaching the active area is registered."),
            SchemaField("detector_position_resolution_mm", .double(0...5), .double(0.1), "Gaussian sigma of the hit position."),
            SchemaField("detector_timing_resolution_ns", .double(0...10), .double(0.1), "Gaussian sigma of the time of flight."),
        ]),
        SchemaSection(key: "evaporation", doc: "Field evaporation. Baseline: deterministic max field ratio.", fields: [
            SchemaField("model", .choice(["baseline_max_field"]), .string("baseline_max_field"),
                        "Selection model. baseline_max_field: the atom with the largest F/F_evap leaves next."),
            SchemaField("field_factor_kf", .double(1...20), .double(3.3), "Field factor k_f in F = V/(k_f R) (assumed by the baseline)."),
            SchemaField("image_compression", .double(1...3), .double(1.6), "Image compression factor xi (theta = xi * theta_detector); the paper's ±4° at the tip over ±2.5° at the detector."),
            SchemaField("curvature_probe_radius_nm", .double(0.5...5), .double(1.2), "Radius of the probe sphere whose filling gives each surface atom's local curvature."),
            SchemaField("coordination_weight", .double(0...2), .double(0.5), "Field enhancement of an atom with no first-shell neighbours, relative to a bulk-coordinated one."),
        ]),
        SchemaSection(key: "acquisition", doc: "The acquisition program.", fields: [
            SchemaField("max_events", .int(1...2_000_000_000), .int(100_000), "Stop after this many evaporation events."),
            SchemaField("max_depth_nm", .double(0.1...500), .double(20), "Stop once the apex has receded this far."),
            SchemaField("target_detection_rate", .double(0.0001...0.5), .double(0.01), "Detected ions per pulse the voltage servo holds."),
        ]),
        SchemaSection(key: "imaging", doc: "Bright-field TEM frames of the needle before and after the acquisition.", fields: [
            SchemaField("tem_frames", .bool, .bool(true), "Write BF-TEM frames of the needle at the start and end (16-bit PNG)."),
            SchemaField("pixel_nm", .double(0.01...10), .double(0.24), "Pixel size at the specimen (F200 setting of the source paper)."),
            SchemaField("contrast_thickness_nm", .double(1...1000), .double(45), "Contrast thickness x_k of the specimen (Fe ≈ 45 nm, W ≈ 13 nm at 200 kV, 10 mrad aperture)."),
        ]),
        SchemaSection(key: "reconstruction", doc: "Reconstruction of the detected ions.", fields: [
            SchemaField("protocol", .choice(["bas"]), .string("bas"), "Bas et al. (1995) voltage protocol."),
            SchemaField("field_factor_kf", .double(1...20), nil, "k_f used by the reconstruction; default: evaporation.field_factor_kf."),
            SchemaField("image_compression", .double(1...3), nil, "xi used by the reconstruction; default: evaporation.image_compression."),
            SchemaField("evaporation_field_v_per_nm", .double(1...100), nil, "Default: composition-weighted evaporation field."),
            SchemaField("atomic_volume_nm3", .double(0.001...0.1), nil, "Default: volume per atom of the specimen lattice."),
        ]),
        SchemaSection(key: "outputs", doc: "What a run writes.", fields: [
            SchemaField("epos", .bool, .bool(true), "Write the acquisition as EPOS."),
            SchemaField("epos_voltage_unit", .choice(["v", "kv"]), .string("v"), "Voltage unit in EPOS (disputed between tools)."),
            SchemaField("truth_npy", .bool, .bool(true), "Write ground-truth atoms as .npy columns."),
            SchemaField("hit_map_pixels", .int(64...4096), .int(512), "Size of the detector hit-map PNG."),
            SchemaField("spectrum_bin_da", .double(0.001...1), .double(0.01), "Mass-spectrum bin width."),
            SchemaField("spectrum_max_da", .double(5...1000), .double(100), "Upper end of the mass spectrum."),
            SchemaField("profile_bin_nm", .double(0.05...50), .double(1), "Slab width of the composition profile along the reconstructed z axis."),
        ]),
    ]

    /// Looks up the field for a dotted key path (`specimen.apex_radius_nm`).
    public static func field(_ path: String) -> SchemaField? {
        let parts = path.split(separator: ".", maxSplits: 1).map(String.init)
        if parts.count == 1 { return topLevel.first { $0.key == parts[0] } }
        return sections.first { $0.key == parts[0] }?.fields.first { $0.key == parts[1] }
    }
}
