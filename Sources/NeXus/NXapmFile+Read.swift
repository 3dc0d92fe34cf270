import CHDF5
import Foundation
import MaterialsData
import TwinCore

extension NXapmFile {
    /// Reads the first NXentry whose `definition` is `"NXapm"` (paths as in ``NXapmFile``; the entry may have any
    /// name). Quantities are converted from their `units` attribute (lengths nm/Å/µm/mm/cm/m, times ps/ns/µs/s,
    /// voltages V/kV, frequencies Hz/kHz/MHz, temperatures K/°C); a column without `units` is taken in the unit
    /// aptwin writes and noted.
    ///
    /// - Throws: `TwinError.invalidInput` naming the file and the HDF5 path: not HDF5, no NXapm entry, a dataset
    ///   of the wrong type class or shape, per-ion columns of different lengths, an unknown unit, pulse numbers
    ///   that decrease, or no per-ion data at all.
    public static func read(_ url: URL) throws -> NXapmDocument {
        let name = url.path
        h5Lock.lock()
        defer { h5Lock.unlock() }
        do {
            let r = try H5FileReader(path: url.path)
            var reader = Reader(r: r)
            return try reader.document()
        } catch let e as H5Failure {
            throw TwinError.invalidInput("\(name): \(e)")
        }
    }

    /// True when `url` is an HDF5 file (by its signature; says nothing about NXapm).
    public static func isHDF5(_ url: URL) -> Bool {
        h5Lock.lock()
        defer { h5Lock.unlock() }
        h5Silence()
        let r = H5Fis_hdf5(url.path)
        _ = h5LastError()
        return r > 0
    }
}

private struct Reader {
    let r: H5FileReader
    var notes: [String] = []

    init(r: H5FileReader) { self.r = r }

    func fail(_ path: String, _ message: String) -> H5Failure { H5Failure(path: path, message: message) }

    /// The entry: an NXentry group with definition NXapm.
    func findEntry() throws -> String {
        var candidates: [String] = []
        for c in try r.children("/") {
            let p = "/" + c
            guard r.isGroup(p), r.stringAttribute(p, "NX_class") == "NXentry" else { continue }
            candidates.append(p)
            if r.isDataset(p + "/definition"), (try? r.string(p + "/definition")) == "NXapm" { return p }
        }
        if let p = candidates.first {
            if !r.isDataset(p + "/definition") { throw fail(p + "/definition", "missing: not an NXapm entry") }
            let d = (try? r.string(p + "/definition")) ?? "?"
            throw fail(p + "/definition", "is '\(d)', expected 'NXapm'")
        }
        throw fail("/", "no NXentry group (not a NeXus NXapm file)")
    }

    /// Scale from the dataset's `units` to the unit aptwin uses for the quantity `kind`.
    mutating func scale(_ path: String, kind: String, default unit: String) throws -> Double {
        guard let u = r.stringAttribute(path, "units")?.trimmingCharacters(in: .whitespaces), !u.isEmpty else {
            notes.append("\(path): no units attribute; read as \(unit)")
            return 1
        }
        let tables: [String: [String: Double]] = [
            "nm": ["nm": 1, "angstrom": 0.1, "Å": 0.1, "pm": 1e-3, "um": 1e3, "µm": 1e3, "μm": 1e3, "mm": 1e6, "m": 1e9],
            "mm": ["mm": 1, "nm": 1e-6, "um": 1e-3, "µm": 1e-3, "μm": 1e-3, "cm": 10, "m": 1e3],
            "ns": ["ns": 1, "ps": 1e-3, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9],
            "V": ["V": 1, "kV": 1e3, "mV": 1e-3],
            "Hz": ["Hz": 1, "kHz": 1e3, "MHz": 1e6],
            "Da": ["Da": 1, "u": 1, "amu": 1],
        ]
        if kind == "K" {
            if u == "K" || u == "kelvin" { return 1 }
            throw fail(path, "unsupported temperature unit '\(u)' (K)")
        }
        guard let s = tables[kind]?[u] else { throw fail(path, "unit '\(u)' is not a \(kind)-compatible unit aptwin reads") }
        return s
    }

    mutating func floats(_ path: String, kind: String, width: Int) throws -> [Float]? {
        guard r.exists(path) else { return nil }
        let (v, shape) = try r.numeric(path, as: Float.self)
        let ok = width == 1 ? shape.count == 1 : (shape.count == 2 && shape[1] == width)
        guard ok else { throw fail(path, "shape \(shape), expected \(width == 1 ? "[n]" : "[n, \(width)]")") }
        let s = try scale(path, kind: kind, default: kind)
        return s == 1 ? v : v.map { Float(Double($0) * s) }
    }

    /// A scalar quantity converted to aptwin's unit; nil when absent or NaN ("not recorded").
    mutating func scalar(_ path: String, kind: String) throws -> Double? {
        guard r.exists(path) else { return nil }
        let v = try r.number(path)
        if v.isNaN { return nil }
        if kind.isEmpty { return v }
        if kind == "K", let u = r.stringAttribute(path, "units"), ["°C", "degC", "celsius"].contains(u) { return v + 273.15 }
        return v * (try scale(path, kind: kind, default: kind))
    }

    mutating func document() throws -> NXapmDocument {
        let e = try findEntry()
        var a = Acquisition()
        let ap = e + "/atom_probe"
        let rec = ap + "/reconstruction/reconstructed_positions"
        var lengths: [(String, Int)] = []
        if let xyz = try floats(rec, kind: "nm", width: 3) {
            let n = xyz.count / 3
            a.xNM = (0..<n).map { xyz[3 * $0] }; a.yNM = (0..<n).map { xyz[3 * $0 + 1] }; a.zNM = (0..<n).map { xyz[3 * $0 + 2] }
            lengths.append((rec, n))
        }
        let mc = ap + "/mass_to_charge_conversion/mass_to_charge"
        if let m = try floats(mc, kind: "Da", width: 1) { a.massToChargeDa = m; lengths.append((mc, m.count)) }
        let hp = ap + "/hit_finding/hit_positions"
        if let xy = try floats(hp, kind: "mm", width: 2) {
            let n = xy.count / 2
            a.detectorXMM = (0..<n).map { xy[2 * $0] }; a.detectorYMM = (0..<n).map { xy[2 * $0 + 1] }
            lengths.append((hp, n))
        }
        let hm = ap + "/hit_finding/hit_multiplicity"
        if r.exists(hm) {
            let (v, shape) = try r.numeric(hm, as: UInt32.self)
            guard shape.count == 1 else { throw fail(hm, "shape \(shape), expected [n]") }
            a.multiplicity = v; lengths.append((hm, v.count))
        }
        let tof = ap + "/voltage_and_bowl/raw_tof"
        if let t = try floats(tof, kind: "ns", width: 1) { a.tofNS = t; lengths.append((tof, t.count)) }

        // Instrument.
        let m = e + "/measurement"
        a.instrument.flightPathMM = try scalar(m + "/instrument/flight_path", kind: "mm")
            ?? scalar(ap + "/reconstruction/config/flight_path", kind: "mm")
        a.instrument.detectorDiameterMM = try scalar(m + "/instrument/ion_detector/diameter", kind: "mm")
        a.instrument.detectionEfficiency = try scalar(ap + "/reconstruction/config/efficiency", kind: "")
        if r.isGroup(m) {
            // The first NXapm_event_data group holds the pulser and the per-ion voltages.
            let events = try r.children(m).filter { r.isGroup(m + "/" + $0) && r.stringAttribute(m + "/" + $0, "NX_class") == "NXapm_event_data" }
            if let ev = events.sorted(by: numericOrder).first {
                let pu = m + "/" + ev + "/instrument/pulser"
                a.instrument.pulseFrequencyHz = try scalar(pu + "/pulse_frequency", kind: "Hz")
                a.instrument.pulseFraction = try scalar(pu + "/pulse_fraction", kind: "")
                a.instrument.temperatureK = try scalar(m + "/" + ev + "/instrument/stage/temperature_sensor/value", kind: "K")
                if let v = try floats(pu + "/standing_voltage", kind: "V", width: 1) { a.vDCV = v; lengths.append((pu + "/standing_voltage", v.count)) }
                if let v = try floats(pu + "/pulse_voltage", kind: "V", width: 1) { a.vPulseV = v; lengths.append((pu + "/pulse_voltage", v.count)) }
                let pn = pu + "/pulse_number"
                if r.exists(pn) {
                    let (v, shape) = try r.numeric(pn, as: UInt64.self)
                    guard shape.count == 1 else { throw fail(pn, "shape \(shape), expected [n]") }
                    var prev: UInt64 = 0
                    var out = [UInt32](repeating: 0, count: v.count)
                    for (i, p) in v.enumerated() {
                        guard p >= prev, p - prev <= UInt64(UInt32.max) else {
                            throw fail(pn, "pulse numbers must not decrease (or jump by more than 2^32) at index \(i)")
                        }
                        out[i] = UInt32(p - prev); prev = p
                    }
                    a.pulsesSincePrevious = out; lengths.append((pn, v.count))
                }
            }
        }
        guard let first = lengths.first else {
            throw fail(ap, "no per-ion data (mass_to_charge, reconstructed_positions, hit_positions or raw_tof)")
        }
        for (p, n) in lengths where n != first.1 {
            throw fail(p, "has \(n) rows but \(first.0) has \(first.1)")
        }

        var doc = NXapmDocument(acquisition: a)
        if r.isDataset(e + "/start_time") { doc.startTime = try r.string(e + "/start_time") }
        if r.isDataset(e + "/end_time") { doc.endTime = try r.string(e + "/end_time") }
        if r.isDataset(e + "/experiment_description") { doc.description = try r.string(e + "/experiment_description") }
        if r.isDataset(e + "/specimen/atom_types") {
            doc.atomTypes = try r.string(e + "/specimen/atom_types").split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        doc.ranges = try ranges(ap + "/ranging/peak_identification")
        let sim = e + "/simulation"
        if r.isGroup(sim) {
            let text = r.isDataset(sim + "/config/scenario") ? try r.string(sim + "/config/scenario") : ""
            var seed: UInt64 = 0
            if r.exists(sim + "/config/seed") {
                let (v, shape) = try r.numeric(sim + "/config/seed", as: UInt64.self)
                guard v.count == 1 else { throw fail(sim + "/config/seed", "shape \(shape), expected a single value") }
                seed = v[0]
            }
            let ver = r.stringAttribute(sim + "/program1/program", "version") ?? ""
            doc.simulation = NXapmSimulation(scenarioText: text, seed: seed, programVersion: ver)
        }
        doc.acquisition.notes = notes
        return doc
    }

    func numericOrder(_ a: String, _ b: String) -> Bool {
        func key(_ s: String) -> (String, Int) {
            let digits = s.reversed().prefix { $0.isNumber }
            return (String(s.dropLast(digits.count)), Int(String(digits.reversed())) ?? -1)
        }
        return key(a) < key(b)
    }

    /// The range table from `peak_identification/ionK` groups (NXatom), ion0 "unknown_iontype" skipped. Ranges come
    /// back ordered by ion, then as stored; colours are not part of NXapm and read as the default.
    mutating func ranges(_ pi: String) throws -> RangeTable? {
        guard r.isGroup(pi) else { return nil }
        var table = RangeTable()
        let ions = try r.children(pi).filter { r.isGroup(pi + "/" + $0) && r.stringAttribute(pi + "/" + $0, "NX_class") == "NXatom" }
        for ionName in ions.sorted(by: numericOrder) {
            let p = pi + "/" + ionName
            let name = r.isDataset(p + "/name") ? try r.string(p + "/name") : ionName
            let (hash, hshape) = try r.numeric(p + "/nuclide_hash", as: UInt16.self)
            guard hshape.count == 1 else { throw fail(p + "/nuclide_hash", "shape \(hshape), expected [n]") }
            if name == "unknown_iontype" && hash.allSatisfy({ $0 == 0 }) { continue }
            let (rng, rshape) = try r.numeric(p + "/mass_to_charge_range", as: Double.self)
            guard rshape.count == 2, rshape[1] == 2 else { throw fail(p + "/mass_to_charge_range", "shape \(rshape), expected [n, 2]") }
            let s = try scale(p + "/mass_to_charge_range", kind: "Da", default: "Da")
            let vol = r.exists(p + "/volume") ? try r.number(p + "/volume") : 0
            var counts: [(Int, Int)] = []   // (Z, count) in hash order
            for h in hash where h != 0 {
                let z = Int(h & 0xFF)
                if let k = counts.firstIndex(where: { $0.0 == z }) { counts[k].1 += 1 } else { counts.append((z, 1)) }
            }
            var comp = counts.map { ElementCount(PeriodicTable.symbol(z: $0.0), $0.1) }
            // Keep the order of the name when it spells the same formula (e.g. "CO" rather than hash order "OC").
            if let fromName = formula(name), Set(fromName.map { "\($0.symbol)\($0.count)" }) == Set(comp.map { "\($0.symbol)\($0.count)" }) {
                comp = fromName
            }
            let k = table.ions.count
            table.ions.append(RangedIon(name: name, composition: comp))
            for i in 0..<rshape[0] {
                let lo = rng[2 * i] * s, hi = rng[2 * i + 1] * s
                guard lo.isFinite, hi.isFinite, lo <= hi else {
                    throw fail(p + "/mass_to_charge_range", "row \(i) is not an interval: [\(lo), \(hi)]")
                }
                table.ranges.append(MassRange(lowDa: lo, highDa: hi, ionIndex: k, volumeNM3: vol))
            }
        }
        return table
    }

    /// Parses a plain formula such as `Cr2O` into element counts; nil when it is not one.
    func formula(_ s: String) -> [ElementCount]? {
        var out: [ElementCount] = []
        var i = s.startIndex
        while i < s.endIndex {
            guard s[i].isUppercase else { return nil }
            var sym = String(s[i]); i = s.index(after: i)
            while i < s.endIndex, s[i].isLowercase { sym.append(s[i]); i = s.index(after: i) }
            var num = ""
            while i < s.endIndex, s[i].isNumber { num.append(s[i]); i = s.index(after: i) }
            guard PeriodicTable.element(symbol: sym) != nil else { return nil }
            let c = num.isEmpty ? 1 : (Int(num) ?? 0)
            guard c > 0 else { return nil }
            if let k = out.firstIndex(where: { $0.symbol == sym }) { out[k].count += c } else { out.append(ElementCount(sym, c)) }
        }
        return out.isEmpty ? nil : out
    }
}
