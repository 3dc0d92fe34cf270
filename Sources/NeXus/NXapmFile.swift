import CHDF5
import FileFormats
import Foundation
import MaterialsData
import TwinCore

/// NeXus NXapm files (HDF5): writer and reader of ``NXapmDocument``.
///
/// Paths written (entry `entry1`; groups carry `NX_class`, every quantity a `units` attribute):
///
/// | path under `/entry1` | content |
/// |---|---|
/// | `definition`, `start_time`, `end_time`, `operation_mode` | `"NXapm"`, ISO 8601 times, `"apt"` |
/// | `profiling/program1/program` | `"aptwin"` with `@version` |
/// | `specimen/is_simulation`, `specimen/atom_types` | true for twin runs; the elements, comma-separated |
/// | `reconstruction_reference_frame/{type,x,y,z,…}` | the Cartesian frame of the reconstruction (NXcoordinate_system) |
/// | `measurement/instrument/flight_path`, `…/ion_detector/diameter` | mm |
/// | `measurement/event1/instrument/pulser/{pulse_mode,pulse_frequency,pulse_fraction}` | `"voltage"`, Hz, 1 |
/// | `measurement/event1/instrument/pulser/{standing_voltage,pulse_voltage,pulse_number}` | per ion: V, V, cumulative pulses |
/// | `measurement/event1/instrument/stage/temperature_sensor/value`, `…/analysis_chamber/pressure_sensor/value` | K, Pa (NaN: not recorded) |
/// | `atom_probe/hit_finding/{hit_positions,hit_multiplicity}` | n × 2 float32 mm (`@depends_on` `/entry1/detector_reference_frame`); uint32 |
/// | `atom_probe/voltage_and_bowl/raw_tof` | float32 ns (uncorrected time of flight) |
/// | `atom_probe/mass_to_charge_conversion/mass_to_charge` | float32 Da |
/// | `atom_probe/reconstruction/reconstructed_positions` | n × 3 float32 nm; `config/{efficiency,flight_path}`; `naive_discretization/data` (1 nm voxel counts) |
/// | `atom_probe/ranging/mass_to_charge_distribution/mass_spectrum` | 0.01 Da histogram (the entry's default plot) |
/// | `atom_probe/ranging/peak_identification/ionK/{nuclide_hash,nuclide_list,charge_state,mass_to_charge_range,name,volume}` | per ion species: H = Z + 256·N (N = 255: any isotope), 32 slots; [Z+N or 0, Z]; 0 (unknown in RRNG); n_ranges × 2 float64 Da; nm³ |
/// | `simulation/program1/program`, `simulation/config/{scenario,seed}` | twin runs only |
///
/// The writer builds the file in memory with object time stamps off and writes it to a temporary name that is
/// renamed over the destination (``AtomicFile``), so the same document gives byte-identical files. The reader
/// checks the definition, the shape and type of every dataset it uses and the consistency of the per-ion
/// lengths, and throws `TwinError.invalidInput` naming the file and the HDF5 path instead of crashing.
public enum NXapmFile {
    /// `start_time` written when the session time is unknown (the twin has no wall clock): the Unix epoch.
    public static let unknownTime = "1970-01-01T00:00:00+00:00"
    /// Slots in `nuclide_hash` / `nuclide_list` (pynxtools-apm's MAX_NUMBER_OF_ATOMS_PER_ION).
    public static let maxAtomsPerIon = 32
    /// Bin width of the stored mass spectrum, Da (as pynxtools-apm).
    public static let spectrumBinDa = 0.01
    /// Program name written in every NXprogram.
    public static let programName = "aptwin"

    static let entry = "/entry1"
    static let atomProbe = "/entry1/atom_probe"
    static let frame = "/entry1/reconstruction_reference_frame"
    static let detectorFrame = "/entry1/detector_reference_frame"

    // MARK: Writing

    /// Writes `document` to `url` atomically (temporary name, then rename).
    /// - Parameter version: aptwin version for the NXprogram records.
    /// - Throws: `TwinError.invalidInput` for columns of different lengths, `TwinError.io` for HDF5 or file errors.
    public static func write(_ document: NXapmDocument, to url: URL, version: String) throws {
        let data = try encode(document, version: version, name: url.lastPathComponent)
        try AtomicFile.write(data, to: url)
    }

    /// The file image of `document` (what ``write(_:to:version:)`` stores); deterministic.
    public static func encode(_ document: NXapmDocument, version: String, name: String = "document") throws -> Data {
        let a = document.acquisition
        do { try a.validateColumns() } catch { throw TwinError.invalidInput("\(name): \(error)") }
        h5Lock.lock()
        defer { h5Lock.unlock() }
        do {
            let w = try H5MemoryWriter()
            try writeDocument(document, version: version, into: w)
            return try w.image()
        } catch let e as H5Failure {
            throw TwinError.io("\(name): HDF5 write failed at \(e)")
        }
    }

    private static func program(_ w: H5MemoryWriter, _ parent: String, _ version: String, name: String = programName) throws {
        try w.group("\(parent)/program1", nxClass: "NXprogram")
        try w.string("\(parent)/program1/program", name)
        try w.attribute("\(parent)/program1/program", "version", version)
    }

    static func writeDocument(_ d: NXapmDocument, version: String, into w: H5MemoryWriter) throws {
        let a = d.acquisition
        let n = a.count
        let hasMass = !a.massToChargeDa.isEmpty
        let hasPositions = !a.xNM.isEmpty && !a.yNM.isEmpty && !a.zNM.isEmpty
        // Root (NXroot) and the default-plot chain down to an NXdata.
        try w.attribute("/", "NX_class", "NXroot")
        try w.attribute("/", "creator", "\(programName) \(version)")
        var maj: UInt32 = 0, mnr: UInt32 = 0, rel: UInt32 = 0
        _ = H5get_libversion(&maj, &mnr, &rel)
        try w.attribute("/", "HDF5_Version", "\(maj).\(mnr).\(rel)")
        try w.attribute("/", "default", "entry1")
        try w.group(entry, nxClass: "NXentry")
        if hasMass || hasPositions { try w.attribute(entry, "default", "atom_probe") }
        try w.string("\(entry)/definition", "NXapm")
        if let t = d.description { try w.string("\(entry)/experiment_description", t) }
        try w.string("\(entry)/start_time", d.startTime)
        if let t = d.endTime { try w.string("\(entry)/end_time", t) }
        try w.string("\(entry)/operation_mode", "apt")
        try w.group("\(entry)/profiling", nxClass: "NXcs_profiling")
        try program(w, "\(entry)/profiling", version)

        // Specimen.
        try w.group("\(entry)/specimen", nxClass: "NXsample")
        try w.boolean("\(entry)/specimen/is_simulation", d.simulation != nil)
        try w.string("\(entry)/specimen/atom_types", atomTypes(d).joined(separator: ", "))

        // Frame of the reconstructed positions.
        try w.group(frame, nxClass: "NXcoordinate_system")
        try w.string("\(frame)/type", "cartesian")
        try w.string("\(frame)/origin", "as the source data: for twin runs the specimen apex at the start of the acquisition")
        for (axis, v, dir) in [("x", [1.0, 0, 0], "detector x"), ("y", [0, 1.0, 0], "detector y"),
                               ("z", [0, 0, 1.0], "specimen axis, towards the detector")] {
            try w.dataset("\(frame)/\(axis)", v, units: "nm")
            try w.string("\(frame)/\(axis)_direction", dir)
        }

        if !a.detectorXMM.isEmpty && !a.detectorYMM.isEmpty {
            try w.group(detectorFrame, nxClass: "NXcoordinate_system")
            try w.string("\(detectorFrame)/type", "cartesian")
            try w.string("\(detectorFrame)/origin", "centre of the detector")
            for (axis, v, dir) in [("x", [1.0, 0, 0], "detector x"), ("y", [0, 1.0, 0], "detector y"),
                                   ("z", [0, 0, 1.0], "detector normal, towards the specimen")] {
                try w.dataset("\(detectorFrame)/\(axis)", v, units: "mm")
                try w.string("\(detectorFrame)/\(axis)_direction", dir)
            }
        }

        // Instrument: static part and the one event (acquisition) with the pulser and the per-ion voltages.
        let ins = a.instrument
        // The pulser holds the per-ion voltages and pulse numbers too, so it is written whenever any of them is known.
        let hasPulser = ins.pulseFrequencyHz != nil || ins.pulseFraction != nil || !a.vDCV.isEmpty || !a.vPulseV.isEmpty
            || !a.pulsesSincePrevious.isEmpty
        let hasEvent = hasPulser || ins.temperatureK != nil
        // NXapm requires pulse_frequency, pulse_fraction, the stage temperature and the chamber pressure in every
        // event's instrument; a value the source does not record (an EPOS file has no pulse frequency, the twin
        // models no vacuum) is written as NaN, which the reader turns back into "unknown".
        if ins.flightPathMM != nil || ins.detectorDiameterMM != nil || hasEvent {
            let m = "\(entry)/measurement"
            try w.group(m, nxClass: "NXapm_measurement")
            try w.group("\(m)/instrument", nxClass: "NXapm_instrument")
            if let f = ins.flightPathMM { try w.scalar("\(m)/instrument/flight_path", f, units: "mm") }
            if let dia = ins.detectorDiameterMM {
                try w.group("\(m)/instrument/ion_detector", nxClass: "NXdetector")
                try w.scalar("\(m)/instrument/ion_detector/diameter", dia, units: "mm")
            }
            if hasEvent {
                let e = "\(m)/event1"
                try w.group(e, nxClass: "NXapm_event_data")
                try w.string("\(e)/start_time", d.startTime)
                if let t = d.endTime { try w.string("\(e)/end_time", t) }
                try w.group("\(e)/instrument", nxClass: "NXapm_instrument")
                if hasPulser {
                    let pu = "\(e)/instrument/pulser"
                    try w.group(pu, nxClass: "NXcomponent")
                    try w.string("\(pu)/pulse_mode", "voltage")
                    try w.scalar("\(pu)/pulse_frequency", ins.pulseFrequencyHz ?? .nan, units: "Hz")
                    try w.scalar("\(pu)/pulse_fraction", ins.pulseFraction ?? .nan, units: "")
                    try writeVoltages(a, pu, w)
                }
                let st = "\(e)/instrument/stage"
                try w.group(st, nxClass: "NXmanipulator")
                try w.group("\(st)/temperature_sensor", nxClass: "NXsensor")
                try w.string("\(st)/temperature_sensor/measurement", "temperature")
                try w.scalar("\(st)/temperature_sensor/value", ins.temperatureK ?? .nan, units: "K")
                let ch = "\(e)/instrument/analysis_chamber"
                try w.group(ch, nxClass: "NXcomponent")
                try w.group("\(ch)/pressure_sensor", nxClass: "NXsensor")
                try w.string("\(ch)/pressure_sensor/measurement", "pressure")
                try w.scalar("\(ch)/pressure_sensor/value", Double.nan, units: "Pa")
            }
        }

        // Data processing chain.
        try w.group(atomProbe, nxClass: "NXroi_process")
        if hasMass { try w.attribute(atomProbe, "default", "ranging") } else if hasPositions { try w.attribute(atomProbe, "default", "reconstruction") }
        let hasHits = !a.detectorXMM.isEmpty && !a.detectorYMM.isEmpty
        if hasHits || !a.multiplicity.isEmpty {
            let h = "\(atomProbe)/hit_finding"
            try w.group(h, nxClass: "NXprocess")
            if hasHits {
                var xy = [Float](repeating: 0, count: 2 * n)
                for i in 0..<n { xy[2 * i] = a.detectorXMM[i]; xy[2 * i + 1] = a.detectorYMM[i] }
                try w.dataset("\(h)/hit_positions", xy, shape: [n, 2], units: "mm")
                try w.attribute("\(h)/hit_positions", "depends_on", detectorFrame)
            }
            if !a.multiplicity.isEmpty { try w.dataset("\(h)/hit_multiplicity", a.multiplicity, units: "") }
        }
        if !a.tofNS.isEmpty {
            let v = "\(atomProbe)/voltage_and_bowl"
            try w.group(v, nxClass: "NXprocess")
            try program(w, v, version)
            try w.group("\(v)/config", nxClass: "NXparameters")
            try w.dataset("\(v)/raw_tof", a.tofNS, units: "ns")
        }
        if hasMass {
            let mc = "\(atomProbe)/mass_to_charge_conversion"
            try w.group(mc, nxClass: "NXprocess")
            try program(w, mc, version)
            try w.dataset("\(mc)/mass_to_charge", a.massToChargeDa, units: "Da")
        }
        if hasPositions { try writeReconstruction(a, version, w) }
        if hasMass || d.ranges != nil { try writeRanging(d, version, w) }

        if let s = d.simulation {
            let sim = "\(entry)/simulation"
            try w.group(sim, nxClass: "NXapm_simulation")
            try program(w, sim, s.programVersion)
            try w.group("\(sim)/config", nxClass: "NXparameters")
            try w.string("\(sim)/config/scenario", s.scenarioText)
            try w.scalar("\(sim)/config/seed", s.seed)
        }
    }

    private static func writeVoltages(_ a: Acquisition, _ pu: String, _ w: H5MemoryWriter) throws {
        if !a.vDCV.isEmpty { try w.dataset("\(pu)/standing_voltage", a.vDCV, units: "V") }
        if !a.vPulseV.isEmpty { try w.dataset("\(pu)/pulse_voltage", a.vPulseV, units: "V") }
        if !a.pulsesSincePrevious.isEmpty {
            var total: UInt64 = 0
            let numbers = a.pulsesSincePrevious.map { total += UInt64($0); return total }
            try w.dataset("\(pu)/pulse_number", numbers, units: "")
        }
    }

    private static func writeReconstruction(_ a: Acquisition, _ version: String, _ w: H5MemoryWriter) throws {
        let n = a.count
        let r = "\(atomProbe)/reconstruction"
        try w.group(r, nxClass: "NXapm_reconstruction")
        try program(w, r, version)
        if a.instrument.detectionEfficiency != nil || a.instrument.flightPathMM != nil {
            try w.group("\(r)/config", nxClass: "NXparameters")
            if let e = a.instrument.detectionEfficiency { try w.scalar("\(r)/config/efficiency", e, units: "") }
            if let f = a.instrument.flightPathMM { try w.scalar("\(r)/config/flight_path", f, units: "mm") }
        }
        var xyz = [Float](repeating: 0, count: 3 * n)
        for i in 0..<n { xyz[3 * i] = a.xNM[i]; xyz[3 * i + 1] = a.yNM[i]; xyz[3 * i + 2] = a.zNM[i] }
        try w.dataset("\(r)/reconstructed_positions", xyz, shape: [n, 3], units: "nm")
        try w.attribute("\(r)/reconstructed_positions", "depends_on", frame)
        // Naive discretization: counts in cubic voxels (1 nm, doubled until the grid has at most 2^24 voxels).
        let nd = "\(r)/naive_discretization"
        try w.group(nd, nxClass: "NXprocess")
        try program(w, nd, version)
        let g = VoxelGrid(a)
        try w.group("\(nd)/data", nxClass: "NXdata")
        try w.attribute("\(nd)/data", "signal", "intensity")
        try w.attribute("\(nd)/data", "axes", strings: ["axis_z", "axis_y", "axis_x"])
        try w.attribute("\(nd)/data", "axis_z_indices", [UInt32(0)])
        try w.attribute("\(nd)/data", "axis_y_indices", [UInt32(1)])
        try w.attribute("\(nd)/data", "axis_x_indices", [UInt32(2)])
        try w.string("\(nd)/data/title", "Discretized reconstruction space (\(g.voxelNM) nm voxels)")
        try w.dataset("\(nd)/data/intensity", g.counts, shape: [g.nz, g.ny, g.nx])
        for (name, axis) in [("axis_z", g.centres(2)), ("axis_y", g.centres(1)), ("axis_x", g.centres(0))] {
            try w.dataset("\(nd)/data/\(name)", axis, units: "nm")
            try w.attribute("\(nd)/data/\(name)", "long_name", "\(name.dropFirst(5)) (nm)")
        }
    }

    private static func writeRanging(_ d: NXapmDocument, _ version: String, _ w: H5MemoryWriter) throws {
        let a = d.acquisition
        let rg = "\(atomProbe)/ranging"
        try w.group(rg, nxClass: "NXapm_ranging")
        try program(w, rg, version)
        if !a.massToChargeDa.isEmpty {
            try w.attribute(rg, "default", "mass_to_charge_distribution")
            let md = "\(rg)/mass_to_charge_distribution"
            try w.group(md, nxClass: "NXprocess")
            try w.attribute(md, "default", "mass_spectrum")
            try program(w, md, version)
            var hi: Float = 0
            for m in a.massToChargeDa where m.isFinite && m > hi { hi = m }
            // Up to the largest m/n (at most 10,000 Da; larger values count in the last bin).
            let top = min(10_000, max(spectrumBinDa, Double(hi.rounded(.up))))
            let bins = max(1, Int((top / spectrumBinDa).rounded(.up)))
            var counts = [UInt32](repeating: 0, count: bins)
            for m in a.massToChargeDa where m.isFinite && m >= 0 {
                let k = Int(min(Double(bins - 1), Double(m) / spectrumBinDa))
                counts[k] &+= 1
            }
            try w.scalar("\(md)/min_mass_to_charge", Float(0), units: "Da")
            try w.scalar("\(md)/max_mass_to_charge", Float(Double(bins) * spectrumBinDa), units: "Da")
            try w.scalar("\(md)/n_mass_to_charge", UInt32(bins), units: "")
            let ms = "\(md)/mass_spectrum"
            try w.group(ms, nxClass: "NXdata")
            try w.attribute(ms, "signal", "intensity")
            try w.attribute(ms, "axes", "axis_mass_to_charge")
            try w.attribute(ms, "axis_mass_to_charge_indices", [UInt32(0)])
            try w.string("\(ms)/title", "Mass spectrum (\(spectrumBinDa) Da binning)")
            try w.dataset("\(ms)/intensity", counts)
            try w.attribute("\(ms)/intensity", "long_name", "Counts (1)")
            let axis = (0..<bins).map { Float(Double($0 + 1) * spectrumBinDa) }
            try w.dataset("\(ms)/axis_mass_to_charge", axis, units: "Da")
            try w.attribute("\(ms)/axis_mass_to_charge", "long_name", "Mass-to-charge-state-ratio (Da)")
        }
        guard let table = d.ranges else { return }
        let pi = "\(rg)/peak_identification"
        try w.group(pi, nxClass: "NXprocess")
        try program(w, pi, version)
        try w.scalar("\(pi)/number_of_ion_types", UInt32(table.ions.count + 1), units: "")
        try w.scalar("\(pi)/maximum_number_of_atoms_per_molecular_ion", UInt32(maxAtomsPerIon), units: "")
        // ion0: the unknown type every unranged ion maps to (as pynxtools-apm writes it).
        try writeIon(w, "\(pi)/ion0", hash: [UInt16](repeating: 0, count: maxAtomsPerIon), name: "unknown_iontype",
                     ranges: [(0, 0.0005)], volume: nil)
        for (k, ion) in table.ions.enumerated() {
            let rs = table.ranges.filter { $0.ionIndex == k }
            let vols = Set(rs.map(\.volumeNM3))
            let vol = vols.count == 1 && vols.first! > 0 ? vols.first! : nil
            try writeIon(w, "\(pi)/ion\(k + 1)", hash: nuclideHash(ion), name: ion.name,
                         ranges: rs.map { ($0.lowDa, $0.highDa) }, volume: vol)
        }
    }

    private static func writeIon(_ w: H5MemoryWriter, _ p: String, hash: [UInt16], name: String,
                                 ranges: [(Double, Double)], volume: Double?) throws {
        try w.group(p, nxClass: "NXatom")
        try w.dataset("\(p)/nuclide_hash", hash, units: "")
        var list = [UInt16](repeating: 0, count: 2 * maxAtomsPerIon)
        for (i, h) in hash.enumerated() where h != 0 {
            let z = h & 0xFF, nn = h >> 8
            list[2 * i] = nn == 255 ? 0 : z + nn
            list[2 * i + 1] = z
        }
        try w.dataset("\(p)/nuclide_list", list, shape: [maxAtomsPerIon, 2], units: "")
        try w.scalar("\(p)/charge_state", Int8(0), units: "")
        let flat = ranges.flatMap { [$0.0, $0.1] }   // float64: range bounds round-trip exactly
        try w.dataset("\(p)/mass_to_charge_range", flat, shape: [ranges.count, 2], units: "Da")
        try w.string("\(p)/name", name)
        if let volume { try w.scalar("\(p)/volume", volume, units: "nm^3") }
    }

    /// NXapm nuclide hash of an ion: one H = Z + 256·255 (any isotope) per atom, sorted descending, zero-padded to
    /// 32 slots; all zeros for custom ions or unknown symbols (pynxtools-apm's convention).
    static func nuclideHash(_ ion: RangedIon) -> [UInt16] {
        var hs: [UInt16] = []
        for ec in ion.composition {
            guard let el = PeriodicTable.element(symbol: ec.symbol), el.z > 0, el.z < 256, ec.count > 0 else {
                return [UInt16](repeating: 0, count: maxAtomsPerIon)
            }
            hs += [UInt16](repeating: UInt16(el.z) + 256 * 255, count: ec.count)
        }
        guard hs.count <= maxAtomsPerIon else { return [UInt16](repeating: 0, count: maxAtomsPerIon) }
        hs.sort(by: >)
        return hs + [UInt16](repeating: 0, count: maxAtomsPerIon - hs.count)
    }

    static func atomTypes(_ d: NXapmDocument) -> [String] {
        if !d.atomTypes.isEmpty { return d.atomTypes }
        var seen: [String] = []
        for ion in d.ranges?.ions ?? [] {
            for ec in ion.composition where !seen.contains(ec.symbol) { seen.append(ec.symbol) }
        }
        return seen
    }
}

/// Counts of reconstructed positions in cubic voxels aligned on whole multiples of the voxel size.
struct VoxelGrid {
    var voxelNM: Double = 1
    var origin: [Double] = [0, 0, 0]
    var nx = 1, ny = 1, nz = 1
    var counts: [UInt32] = [0]

    init(_ a: Acquisition) {
        var lo = [Double](repeating: .infinity, count: 3), hi = [Double](repeating: -.infinity, count: 3)
        let cols = [a.xNM, a.yNM, a.zNM]
        for (c, col) in cols.enumerated() {
            for v in col where v.isFinite { lo[c] = min(lo[c], Double(v)); hi[c] = max(hi[c], Double(v)) }
        }
        guard lo[0] <= hi[0], lo[1] <= hi[1], lo[2] <= hi[2] else { return }
        var size = 1.0
        func dims(_ s: Double) -> [Double] { (0..<3).map { (hi[$0] / s).rounded(.down) - (lo[$0] / s).rounded(.down) + 1 } }
        while dims(size).reduce(1, *) > Double(1 << 24) { size *= 2 }
        let d = dims(size).map { Int($0) }
        voxelNM = size
        origin = (0..<3).map { (lo[$0] / size).rounded(.down) * size }
        nx = d[0]; ny = d[1]; nz = d[2]
        counts = [UInt32](repeating: 0, count: nx * ny * nz)
        for i in 0..<a.xNM.count {
            let x = Double(a.xNM[i]), y = Double(a.yNM[i]), z = Double(a.zNM[i])
            guard x.isFinite, y.isFinite, z.isFinite else { continue }
            let ix = min(nx - 1, max(0, Int((x - origin[0]) / size))), iy = min(ny - 1, max(0, Int((y - origin[1]) / size)))
            let iz = min(nz - 1, max(0, Int((z - origin[2]) / size)))
            counts[(iz * ny + iy) * nx + ix] &+= 1
        }
    }

    /// Voxel centres along axis `c` (0 x, 1 y, 2 z), nm.
    func centres(_ c: Int) -> [Float] {
        let n = [nx, ny, nz][c]
        return (0..<n).map { Float(origin[c] + (Double($0) + 0.5) * voxelNM) }
    }
}
