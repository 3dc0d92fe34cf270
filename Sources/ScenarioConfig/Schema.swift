/// The scenario schema: every key a scenario file may hold, its type, allowed range, default and meaning.
///
/// This table is the single place where defaults live — including those of the JEOL F200 instrument of the source
/// paper (Da Costa et al., "Bringing Atom Probe Tomography to Transmission Electron Microscopes", hal-04734951,
/// 2024). `aptwin scenario --defaults` prints it as a commented YAML file, and validation checks files against it.

/// The kind of value a key holds, with its constraints.
public indirect enum ValueKind: Sendable {
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
    /// A list of numbers with a fixed length (e.g. a point or a direction) or any length, each in range.
    case doubleList(count: Int?, range: ClosedRange<Double>)
    /// A list of mappings, each validated against the given fields (defaults filled in).
    case records([SchemaField])

    var typeName: String {
        switch self {
        case .double: return "a number"
        case .int: return "an integer"
        case .bool: return "true or false"
        case .string: return "a string"
        case .choice(let c): return "one of " + c.joined(separator: ", ")
        case .composition: return "a map of element symbol to atom fraction"
        case .intList(let n, _): return n.map { "a list of \($0) integers" } ?? "a list of integers"
        case .doubleList(let n, _): return n.map { "a list of \($0) numbers" } ?? "a list of numbers"
        case .records: return "a list of mappings"
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
    case doubleList([Double])
    /// A list of mappings from key to value (every key of the record schema present).
    case records([[String: ScenarioValue]])

    public static func == (a: ScenarioValue, b: ScenarioValue) -> Bool {
        switch (a, b) {
        case let (.double(x), .double(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.bool(x), .bool(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.intList(x), .intList(y)): return x == y
        case let (.doubleList(x), .doubleList(y)): return x == y
        case let (.records(x), .records(y)): return x == y
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
    /// Inside a record: the key must be given.
    public let required: Bool

    init(_ key: String, _ kind: ValueKind, _ defaultValue: ScenarioValue?, _ doc: String, used: Bool = true,
         required: Bool = false) {
        self.key = key; self.kind = kind; self.defaultValue = defaultValue; self.doc = doc; self.usedBySimulation = used
        self.required = required
    }
}

/// A section of the schema (a YAML mapping), possibly with nested sections.
public struct SchemaSection: Sendable {
    public let key: String
    public let doc: String
    public let fields: [SchemaField]
    public let subsections: [SchemaSection]
    public init(key: String, doc: String, fields: [SchemaField], subsections: [SchemaSection] = []) {
        self.key = key; self.doc = doc; self.fields = fields; self.subsections = subsections
    }
}

/// The whole scenario schema.
public enum ScenarioSchema {
    /// Why `name` cannot be a scenario name (it becomes a directory under `Output/`), or nil: 1–64 characters of
    /// `A–Z a–z 0–9 . _ -`, not starting with `.` or `-` (so no path separators, `..`, hidden or option-like names).
    public static func nameProblem(_ name: String) -> String? {
        let ok = name.utf8.allSatisfy { c in
            (48...57).contains(c) || (65...90).contains(c) || (97...122).contains(c) || c == 46 || c == 95 || c == 45
        }
        guard (1...64).contains(name.utf8.count), ok, let first = name.utf8.first, first != 46, first != 45 else {
            let shown = name.count > 40 ? String(name.prefix(40)) + "…" : name
            return "'\(shown)' is not a safe directory name: use 1-64 letters, digits, '.', '_' or '-', not starting with '.' or '-' (runs are written to Output/<name>/)"
        }
        return nil
    }

    /// Top-level keys that are not sections.
    public static let topLevel: [SchemaField] = [
        SchemaField("name", .string, .string("unnamed"),
                    "Scenario name; runs are written to Output/<name>/<run-id>/. A file name: letters, digits, '.', '_' and '-', 1-64 characters, not starting with '.' or '-'."),
        SchemaField("seed", .int(0...Int(Int32.max)), .int(1),
                    "Random seed. Same scenario + same seed => byte-identical outputs, whatever the thread count."),
    ]

    public static let sections: [SchemaSection] = [
        SchemaSection(key: "specimen", doc: "The atomistic needle: every atom is ground truth.", fields: [
            SchemaField("microstructure", .choice(["random_solution", "spinodal"]), .string("random_solution"),
                        "Matrix chemistry: a random solid solution, or a spinodally decomposed one (see specimen.spinodal). Precipitates, grains and a surface layer are added on top."),
            SchemaField("composition_at_frac", .composition, .composition([("Fe", 0.486), ("Cr", 0.514)]),
                        "Mean atom fractions by element symbol; must sum to 1 (Fe-51.4 at% Cr, the source paper's alloy)."),
            SchemaField("lattice", .choice(["bcc", "fcc", "hcp"]), .string("bcc"), "Crystal lattice."),
            SchemaField("lattice_constant_nm", .double(0.1...1.0), nil,
                        "Lattice constant a; default: the composition-weighted constant of the pure elements (Vegard)."),
            SchemaField("lattice_c_nm", .double(0.1...2.0), nil, "hcp c; default: from the materials data, or ideal c/a = 1.633."),
            SchemaField("axis_hkl", .intList(count: 3, range: -20...20), .intList([0, 0, 1]),
                        "Crystal direction [hkl] along the needle axis (hcp: [uvw] in the orthohexagonal frame)."),
            SchemaField("rotation_about_axis_deg", .double(-360...360), .double(0), "Rotation of the crystal about the needle axis."),
            SchemaField("static_displacement_nm", .double(0...0.1), .double(0), "RMS random static displacement of every atom from its site (per coordinate)."),
            SchemaField("apex_radius_nm", .double(2...100), .double(10), "Radius of the cap (its lateral semi-axis)."),
            SchemaField("cap_axial_ratio", .double(0.3...3), .double(1),
                        "Axial over lateral semi-axis of the cap: 1 = spherical, < 1 flattened, > 1 elongated (elliptical cap)."),
            SchemaField("shank_half_angle_deg", .double(0...15), .double(5), "Half-angle of the conical shank."),
            SchemaField("length_nm", .double(5...500), .double(40), "Needle length from apex to base."),
            SchemaField("surface_layer_thickness_nm", .double(0...20), .double(0),
                        "Thickness of a surface layer of another composition (contamination, oxide, Ga-rich FIB skin); 0 = none."),
            SchemaField("surface_layer_composition_at_frac", .composition, nil, "Composition of the surface layer (required when it has a thickness)."),
        ], subsections: [
            SchemaSection(key: "spinodal", doc: "Spinodal decomposition of the matrix (microstructure: spinodal).", fields: [
                SchemaField("method", .choice(["cahn_hilliard", "gaussian_random_field"]), .string("cahn_hilliard"),
                            "Cahn-Hilliard evolution (the physics) or a Gaussian random field with the same structure-factor peak (faster)."),
                SchemaField("wavelength_nm", .double(1...50), .double(5), "Dominant wavelength (peak of the structure factor)."),
                SchemaField("solute", .string, .string("Cr"), "Element whose fraction the decomposition modulates (the others share the rest in their mean proportions)."),
                SchemaField("amplitude_at_frac", .double(0...0.5), .double(0.3),
                            "Solute-fraction amplitude: the two phases sit near mean ± amplitude (the paper's alloy: alpha-prime well above 28 at% Cr)."),
            ]),
            SchemaSection(key: "precipitates", doc: "Precipitates of another composition (e.g. Ag-rich zones in Al-1.7 at% Ag).", fields: [
                SchemaField("number_density_per_nm3", .double(0...0.1), .double(0), "Number of precipitates per nm³; 0 = none."),
                SchemaField("shape", .choice(["sphere", "platelet"]), .string("sphere"), "Spheres, or platelets (discs) on a habit plane."),
                SchemaField("radius_nm", .double(0.2...50), .double(1.5), "Sphere radius, or platelet disc radius."),
                SchemaField("radius_rel_spread", .double(0...1), .double(0.1), "Relative standard deviation of the radius (log-normal)."),
                SchemaField("thickness_nm", .double(0.1...20), .double(0.5), "Platelet thickness."),
                SchemaField("habit_hkl", .intList(count: 3, range: -20...20), .intList([1, 1, 1]), "Platelet habit-plane normal in the crystal frame."),
                SchemaField("composition_at_frac", .composition, nil, "Precipitate composition (required when precipitates are present)."),
                SchemaField("min_separation_nm", .double(0...100), .double(1), "Minimum gap between precipitate surfaces."),
            ]),
            SchemaSection(key: "grains", doc: "Grains and grain boundaries.", fields: [
                SchemaField("mode", .choice(["single", "planes", "voronoi"]), .string("single"),
                            "single crystal; grains separated by the listed boundary planes; or Voronoi grains with random orientations."),
                SchemaField("mean_size_nm", .double(2...1000), .double(30), "Mean Voronoi grain size (voronoi mode)."),
                SchemaField("boundaries", .records([
                    SchemaField("point_nm", .doubleList(count: 3, range: -1000...1000), nil, "A point on the boundary plane (specimen frame; apex at 0, needle along -z).", required: true),
                    SchemaField("normal", .doubleList(count: 3, range: -1000...1000), nil, "Boundary-plane normal (specimen frame), pointing into the next grain.", required: true),
                    SchemaField("misorientation_axis_hkl", .doubleList(count: 3, range: -100...100), nil, "Misorientation axis, in the crystal frame of the grain below (axis_frame: crystal) or in the specimen frame (axis_frame: specimen; an axis along the normal makes a twist boundary).", required: true),
                    SchemaField("axis_frame", .choice(["crystal", "specimen"]), .string("crystal"), "Frame of misorientation_axis_hkl."),
                    SchemaField("misorientation_deg", .double(0...180), nil, "Misorientation angle.", required: true),
                    SchemaField("band_width_nm", .double(0...50), .double(0), "Width of a segregation band along the boundary; 0 = none."),
                    SchemaField("band_composition_at_frac", .composition, nil, "Composition inside the band."),
                ]), .records([]), "Boundary planes in order from the base towards the apex (planes mode). Each: point_nm, normal, misorientation_axis_hkl, axis_frame, misorientation_deg, band_width_nm, band_composition_at_frac."),
            ]),
        ]),
        SchemaSection(key: "instrument", doc: "The JEOL F200 with the APT holder (source paper defaults).", fields: [
            SchemaField("microscope", .string, .string("JEOL F200"), "Microscope model.", used: false),
            SchemaField("accelerating_voltage_kv", .double(60...300), .double(200),
                        "TEM accelerating voltage (for TEM imaging).", used: false),
            SchemaField("holder_max_dc_v", .double(100...8000), .double(8000),
                        "Largest standing voltage the side-entry holder applies (rated 8 kV); acquisitions stop there."),
            SchemaField("holder_max_pulse_v", .double(0...3000), .double(3000),
                        "Largest pulse amplitude the pulser delivers (2-3 kV); the acquisition stops there."),
            SchemaField("temperature_k", .double(4...400), .double(78), "Specimen temperature (sets the thermal activation of evaporation)."),
            SchemaField("pulse_fraction", .double(0...1), .double(0.2), "Pulse amplitude as a fraction of V_DC."),
            SchemaField("pulse_frequency_hz", .double(1...1_000_000), .double(20000), "Pulse repetition rate."),
            SchemaField("lens_peak_field_t", .double(0...2.5), .double(0),
                        "Objective-lens field crossed by the ions, along the optical axis (0 = lens off; lens excitation during APT is not stated in the paper)."),
            SchemaField("lens_length_mm", .double(0.1...50), .double(3), "Extent of the lens field along the flight (plateau with tanh edges)."),
            SchemaField("lens_edge_mm", .double(0.01...10), .double(0.5), "Fringing width of the lens field's edge."),
            SchemaField("optics", .choice(["traced", "point_projection"]), .string("traced"),
                        "traced: trajectories through the needle's continuum field (the field-evaporation engine's model), the lens field and a delay-line detector; point_projection: the baseline (launch normal, angle divided by xi, ideal TOF)."),
            SchemaField("detector_dead_time_ns", .double(0...1000), .double(10), "Delay-line multi-hit dead time: a second hit within this time and dead radius on the same pulse is lost."),
            SchemaField("detector_dead_radius_mm", .double(0...100), .double(5), "Delay-line multi-hit dead radius."),
            SchemaField("flight_path_mm", .double(10...2000), .double(470), "Tip-to-detector distance."),
            SchemaField("detector_diameter_mm", .double(5...200), .double(42), "Active diameter of the delay-line detector."),
            SchemaField("detection_efficiency", .double(0.01...1), .double(0.5), "Probability that an ion reaching the active area is registered."),
            SchemaField("detector_position_resolution_mm", .double(0...5), .double(0.1), "Gaussian sigma of the hit position."),
            SchemaField("detector_timing_resolution_ns", .double(0...10), .double(0.1), "Gaussian sigma of the time of flight."),
        ]),
        SchemaSection(key: "evaporation", doc: "Field evaporation: Robin–Rolland surface charges matched to the continuum field of the needle in its environment; thermally activated pulsed evaporation with a voltage servo.", fields: [
            SchemaField("model", .choice(["pulsed", "deterministic"]), .string("pulsed"),
                        "pulsed: thermally activated evaporation on each voltage pulse at the holder temperature, V_DC held by the servo; deterministic: the atom with the largest F/F_evap leaves next (TAPSim's default)."),
            SchemaField("barrier_q0_ev", .double(0.1...20), .double(2.0), "Q0 of the linear barrier Q(F) = Q0 (1 - F/F_evap) (uncertain; sets how selective evaporation is)."),
            SchemaField("field_bond_mixing", .double(0...1), .double(0.5), "Weight w of the neighbours in an alloy atom's evaporation field: F_i = (1-w) F(Z_i) + w <F(Z_j)> (0.5: bond averaging of a regular solution; 0: pure-element fields)."),
            SchemaField("attempt_frequency_hz", .double(1e9...1e15), .double(1e13), "Attempt frequency nu of the Arrhenius rate."),
            SchemaField("pulse_fwhm_ns", .double(0.01...1000), .double(2.0), "Full width at half maximum of the Gaussian voltage pulse at the tip (uncertain for the side-entry holder)."),
            SchemaField("tree_opening_angle", .double(0.1...1.0), .double(0.5), "Barnes-Hut opening angle of the surface-charge octree."),
            SchemaField("refresh_fraction", .double(0.001...0.5), .double(0.035), "Global field refresh after this fraction of the surface atoms has evaporated."),
            SchemaField("near_radius_nm", .double(0.5...3), .double(1.2), "Charges within this distance are summed directly at every update."),
            SchemaField("normal_radius_nm", .double(0.3...3), .double(0.75), "Neighbourhood radius of the surface normals."),
            SchemaField("snapshot_events", .intList(count: nil, range: 0...2_000_000_000), .intList([]), "Write the surface atoms and their fields at these event counts."),
        ]),
        SchemaSection(key: "field", doc: "Macroscopic electrostatic environment of the needle (axisymmetric model of the F200 pole-piece gap; estimates, not measurements).", fields: [
            SchemaField("counter_electrode_distance_mm", .double(0...100), .double(5), "Apex to the grounded aperture-port face (a plane; 0 = none)."),
            SchemaField("pole_piece_gap_mm", .double(0...100), .double(5), "Objective pole-piece gap (a grounded coaxial cylinder of half this radius; 0 = none)."),
            SchemaField("post_radius_um", .double(0.1...5000), .double(50), "Radius of the post the needle's cone widens into."),
            SchemaField("post_length_mm", .double(0.01...100), .double(3), "How far the post (at the needle voltage) reaches back."),
        ]),
        SchemaSection(key: "acquisition", doc: "The acquisition program.", fields: [
            SchemaField("max_events", .int(1...2_000_000_000), .int(100_000), "Stop after this many evaporation events."),
            SchemaField("max_depth_nm", .double(0.1...500), .double(20), "Stop once the apex has receded this far."),
            SchemaField("target_detection_rate", .double(0.0001...0.5), .double(0.01), "Detected ions per pulse the voltage servo holds."),
            SchemaField("imaging_stops_events", .intList(count: nil, range: 0...2_000_000_000), .intList([]),
                        "Imaging stops t0…tn of the acquisition program, as evaporation-event counts: aptwin tem sequence takes its frames there when the list is not empty."),
        ]),
        SchemaSection(key: "imaging", doc: "Bright-field TEM frames of the needle (JEOL F200 defaults).", fields: [
            SchemaField("tem_frames", .bool, .bool(true), "Write BF-TEM frames of the needle at the start and end of a run (16-bit PNG)."),
            SchemaField("pixel_nm", .double(0.01...10), .double(0.24), "Pixel size at the specimen (F200 setting of the source paper, Gatan US1000)."),
            SchemaField("width_px", .int(32...4096), .int(512), "Frame width."),
            SchemaField("height_px", .int(32...4096), .int(512), "Frame height."),
            SchemaField("needle_direction_deg", .double(-360...360), .double(-90), "Direction the needle points in the frame, from +x (right) towards +y (down); -90 = up."),
            SchemaField("apex_position_px", .doubleList(count: 2, range: -10000...10000), nil, "Pixel of the initial apex; default: centred across, a quarter of the height from the top."),
            SchemaField("oversample", .int(1...4), .int(2), "Oversampling of the projected thickness per pixel."),
            SchemaField("cs_mm", .double(0...10), .double(1.0), "Spherical aberration (≈ 1 mm from the 0.23 nm point resolution; uncertain)."),
            SchemaField("cc_mm", .double(0...10), .double(1.2), "Chromatic aberration."),
            SchemaField("defocus_nm", .double(-10000...10000), .double(0), "Defocus, positive = underfocus (Scherzer: 61.3 nm)."),
            SchemaField("objective_aperture_mrad", .double(0...100), .double(10), "Objective aperture semi-angle (0 = none)."),
            SchemaField("energy_spread_ev", .double(0...5), .double(0.8), "Energy spread (FWHM) of the source."),
            SchemaField("convergence_mrad", .double(0...10), .double(0.05), "Illumination semi-angle (spatial coherence)."),
            SchemaField("dose_e_per_a2", .double(0.1...100000), .double(200), "Electron dose per frame."),
            SchemaField("mtf", .choice(["parametric", "none"]), .string("parametric"), "Detector MTF model."),
            SchemaField("gain_adu_per_e", .double(0.001...1000), .double(1), "Camera conversion gain."),
            SchemaField("read_noise_adu", .double(0...1000), .double(3), "Camera read noise."),
            SchemaField("offset_adu", .double(0...60000), .double(100), "Camera offset."),
            SchemaField("contrast_thickness_nm", .double(1...10000), nil, "Contrast thickness x_k of the needle; default from its main element (Fe 45 nm, W 13 nm)."),
            SchemaField("mean_inner_potential_v", .double(0...100), nil, "Mean inner potential V0 of the needle; default from its main element (Fe 29 V, W 38 V)."),
            SchemaField("environment_radius_mm", .double(0.01...100), .double(1), "Distance to the grounded surroundings (pole pieces) for the needle's bias-field phase; the phase is left out when the bias is 0."),
            SchemaField("bias_phase", .bool, .bool(true), "Include the phase of the needle's own electrostatic field at its standing voltage."),
            SchemaField("sequence_every_events", .int(0...2_000_000_000), .int(0), "aptwin tem sequence: a frame every N events (0: use sequence_frames)."),
            SchemaField("sequence_frames", .int(2...10000), .int(8), "aptwin tem sequence: number of frames evenly spread over the run when sequence_every_events is 0."),
            SchemaField("tip_radius_method", .choice(["edge", "cross-sections"]), .string("edge"),
                        "How the sequence measures the apex radius on each frame: edge (contour with the round-body edge model) or cross-sections (needle areas integrated from the projected thickness; unbiased on faceted caps, needs x_k; see the DocC article TipMeasurement)."),
            SchemaField("drift_nm_per_frame", .double(0...100), .double(0), "Random-walk specimen drift between frames (rms per axis)."),
            SchemaField("frame_interval_s", .double(0...100000), .double(1), "Time between frames for the animation and frames.csv."),
        ]),
        SchemaSection(key: "reconstruction", doc: "Reconstruction of the detected ions.", fields: [
            SchemaField("protocol", .choice(["bas"]), .string("bas"), "Bas et al. (1995) voltage protocol."),
            SchemaField("field_factor_kf", .double(1...20), nil, "k_f used by the reconstruction; default: the run's mean k_f computed by the field solver."),
            SchemaField("image_compression", .double(1...3), nil, "xi used by the reconstruction; default: the run's mean xi computed by the field solver."),
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

    /// The whole schema as one root section.
    public static var root: SchemaSection { SchemaSection(key: "", doc: "", fields: topLevel, subsections: sections) }

    /// Every field with its dotted key path, in schema order.
    public static let allFields: [(path: String, field: SchemaField)] = {
        var out: [(String, SchemaField)] = []
        func walk(_ s: SchemaSection, _ prefix: String) {
            for f in s.fields { out.append((prefix + f.key, f)) }
            for sub in s.subsections { walk(sub, prefix + sub.key + ".") }
        }
        walk(root, "")
        return out
    }()

    private static let fieldsByPath: [String: SchemaField] = Dictionary(uniqueKeysWithValues: allFields.map { ($0.path, $0.field) })

    /// Looks up the field for a dotted key path (`specimen.apex_radius_nm`).
    public static func field(_ path: String) -> SchemaField? { fieldsByPath[path] }
}
