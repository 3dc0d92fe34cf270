import Foundation
import MaterialsData
import TwinCore
import Yams

/// A problem found in a scenario file: the file, line, key path and what is allowed.
public struct ScenarioError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int?
    public let keyPath: String
    public let message: String
    public var description: String {
        let loc = line.map { "\(file):\($0)" } ?? file
        return keyPath.isEmpty ? "\(loc): \(message)" : "\(loc): \(keyPath): \(message)"
    }
}

/// All problems of one file (validation reports every problem, not just the first).
public struct ScenarioErrors: Error, CustomStringConvertible {
    public let errors: [ScenarioError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// A scenario after validation: every key of the schema with a value (given or default), in schema order.
public struct ResolvedScenario: Sendable {
    /// Values by dotted key path. Derived keys left unset are absent.
    public private(set) var values: [String: ScenarioValue]
    /// Key paths set explicitly in the file.
    public private(set) var explicitKeys: Set<String>
    /// Notes about keys set to non-default values that the current models only record as metadata.
    public private(set) var notes: [String]

    public subscript(_ path: String) -> ScenarioValue? { values[path] }

    /// Typed accessors: nil when the key is unset (derived) or of another type.
    public func double(_ p: String) -> Double? {
        switch values[p] { case .double(let d): return d; case .int(let i): return Double(i); default: return nil }
    }
    public func int(_ p: String) -> Int? { if case .int(let i) = values[p] { return i }; return nil }
    public func string(_ p: String) -> String? { if case .string(let s) = values[p] { return s }; return nil }
    public func bool(_ p: String) -> Bool? { if case .bool(let b) = values[p] { return b }; return nil }

    /// Overrides one value (e.g. `--seed` on the command line), validated against the schema.
    public mutating func set(_ path: String, _ value: ScenarioValue) throws {
        guard let f = ScenarioSchema.field(path) else {
            throw ScenarioError(file: "command line", line: nil, keyPath: path, message: "unknown key")
        }
        var errors: [ScenarioError] = []
        let node: Node
        switch value {
        case .double(let d): node = Node(String(d), Tag(.implicit), .plain)
        case .int(let i): node = Node(String(i), Tag(.implicit), .plain)
        case .bool(let b): node = Node(b ? "true" : "false", Tag(.implicit), .plain)
        case .string(let s): node = Node(s, Tag(.str), .doubleQuoted)
        default: values[path] = value; explicitKeys.insert(path); return
        }
        guard let v = convert(node, f, path, &errors, "command line") else { throw ScenarioErrors(errors: errors) }
        values[path] = v
        explicitKeys.insert(path)
    }

    /// The resolved scenario as a JSON-compatible dictionary (nested by section), for manifests.
    public func jsonObject() -> [String: Any] {
        func build(_ sec: SchemaSection, _ prefix: String) -> [String: Any] {
            var out: [String: Any] = [:]
            for f in sec.fields { if let v = values[prefix + f.key] { out[f.key] = Self.json(v) } }
            for sub in sec.subsections { out[sub.key] = build(sub, prefix + sub.key + ".") }
            return out
        }
        return build(ScenarioSchema.root, "")
    }

    static func json(_ v: ScenarioValue) -> Any {
        switch v {
        case .double(let d): return d
        case .int(let i): return i
        case .bool(let b): return b
        case .string(let s): return s
        case .intList(let l): return l
        case .doubleList(let l): return l
        case .records(let r): return r.map { rec in rec.mapValues { json($0) } }
        case .composition(let c):
            var d: [String: Double] = [:]
            for e in c { d[e.symbol] = e.fraction }
            return d
        }
    }

    /// Parses and validates YAML text. `file` names the source in messages.
    public static func parse(yaml: String, file: String) throws -> ResolvedScenario {
        var errors: [ScenarioError] = []
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch let e as YamlError {
            if case .duplicatedKeysInMapping(let dups, _) = e {
                // Name each duplicated key at its second occurrence.
                throw ScenarioErrors(errors: dups.sorted().map { key in
                    ScenarioError(file: file, line: Self.secondOccurrenceLine(of: key, in: yaml), keyPath: key, message: "duplicate key")
                })
            }
            throw ScenarioErrors(errors: [ScenarioError(file: file, line: Self.line(of: e), keyPath: "",
                                                        message: "not valid YAML: \(Self.problem(of: e))")])
        }
        var values: [String: ScenarioValue] = [:]
        var explicit = Set<String>()
        // Defaults first.
        for (path, f) in ScenarioSchema.allFields { if let d = f.defaultValue { values[path] = d } }
        guard let root else {
            throw ScenarioErrors(errors: [ScenarioError(file: file, line: nil, keyPath: "",
                                                        message: "the file holds no keys (empty or only comments); a scenario needs at least a name — `aptwin scenario --defaults` prints a complete one")])
        }
        do {
            guard case .mapping = root else {
                throw ScenarioErrors(errors: [ScenarioError(file: file, line: root.mark?.line, keyPath: "",
                                                            message: "the top level must be a mapping of keys to values")])
            }
            walk(root, ScenarioSchema.root, prefix: "", file: file, values: &values, explicit: &explicit, errors: &errors)
        }
        var r = ResolvedScenario(values: values, explicitKeys: explicit, notes: [])
        if errors.isEmpty {
            r.crossCheck(file: file, &errors)
        }
        if !errors.isEmpty { throw ScenarioErrors(errors: errors) }
        for (p, f) in ScenarioSchema.allFields where !f.usedBySimulation {
            if explicit.contains(p), values[p] != f.defaultValue {
                r.notes.append("\(p) is recorded as metadata only; the current models do not use it")
            }
        }
        return r
    }

    /// Validates one YAML mapping against a schema section, recursing into subsections.
    static func walk(_ node: Node, _ section: SchemaSection, prefix: String, file: String,
                     values: inout [String: ScenarioValue], explicit: inout Set<String>, errors: inout [ScenarioError]) {
        guard case .mapping(let m) = node else {
            if case .scalar(let sc) = node, sc.string.isEmpty || sc.tag.rawValue.hasSuffix(":null") { return }
            errors.append(ScenarioError(file: file, line: node.mark?.line, keyPath: String(prefix.dropLast()),
                                        message: "must be a mapping of keys to values"))
            return
        }
        var seen = Set<String>()
        for (kNode, vNode) in m {
            let key = kNode.scalar?.string ?? ""
            let path = prefix + key
            if !seen.insert(key).inserted {
                errors.append(ScenarioError(file: file, line: kNode.mark?.line, keyPath: path, message: "duplicate key")); continue
            }
            if let f = section.fields.first(where: { $0.key == key }) {
                if let v = convert(vNode, f, path, &errors, file) { values[path] = v; explicit.insert(path) }
            } else if let sub = section.subsections.first(where: { $0.key == key }) {
                walk(vNode, sub, prefix: path + ".", file: file, values: &values, explicit: &explicit, errors: &errors)
            } else {
                errors.append(ScenarioError(file: file, line: kNode.mark?.line, keyPath: path,
                                            message: "unknown key" + suggestion(key, section.fields.map(\.key) + section.subsections.map(\.key))))
            }
        }
    }

    /// Reads and validates a scenario file.
    public static func load(path: String) throws -> ResolvedScenario {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScenarioErrors(errors: [ScenarioError(file: path, line: nil, keyPath: "", message: "cannot read the file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScenarioErrors(errors: [ScenarioError(file: path, line: nil, keyPath: "", message: "not UTF-8 text")])
        }
        return try parse(yaml: text, file: path)
    }

    /// The schema defaults alone.
    public static func defaults() -> ResolvedScenario {
        // A document holding only the default name yields exactly the defaults.
        (try? parse(yaml: "name: unnamed\n", file: "defaults"))!
    }

    /// Checks between keys (composition elements known, derived values possible, voltages within the holder).
    mutating func crossCheck(file: String, _ errors: inout [ScenarioError]) {
        func err(_ path: String, _ msg: String) {
            errors.append(ScenarioError(file: file, line: nil, keyPath: path, message: msg))
        }
        if let name = string("name"), let problem = ScenarioSchema.nameProblem(name) { err("name", problem) }
        if case .composition(let comp)? = values["specimen.composition_at_frac"] {
            for c in comp where PeriodicTable.element(symbol: c.symbol) == nil {
                err("specimen.composition_at_frac", "unknown element '\(c.symbol)'")
            }
            if values["specimen.lattice_constant_nm"] == nil {
                let lat = string("specimen.lattice") ?? "bcc"
                for c in comp {
                    if let z = PeriodicTable.element(symbol: c.symbol)?.z, PeriodicTable.lattice(z: z) == nil {
                        err("specimen.lattice_constant_nm", "no lattice data for \(c.symbol): give lattice_constant_nm for the \(lat) lattice")
                    }
                }
            }
            if values["reconstruction.evaporation_field_v_per_nm"] == nil {
                for c in comp {
                    if let z = PeriodicTable.element(symbol: c.symbol)?.z, PeriodicTable.evaporation(z: z) == nil {
                        err("specimen.composition_at_frac", "no evaporation data for \(c.symbol)")
                    }
                }
            }
        }
        if let pf = double("instrument.pulse_fraction"), let maxDC = double("instrument.holder_max_dc_v"),
           let maxP = double("instrument.holder_max_pulse_v"), pf * maxDC > maxP {
            notes.append("instrument.pulse_fraction × holder_max_dc_v = \(pf * maxDC) V exceeds holder_max_pulse_v = \(maxP) V: the acquisition stops when the pulse reaches it")
        }
        if let r = double("specimen.apex_radius_nm"), let l = double("specimen.length_nm"), l < r {
            err("specimen.length_nm", "is \(l) nm, shorter than apex_radius_nm = \(r) nm: the cap would not fit")
        }
    }

    static func suggestion(_ key: String, _ options: [String]) -> String {
        let best = options.min { editDistance($0, key) < editDistance($1, key) }
        if let best, editDistance(best, key) <= max(2, key.count / 3) { return " (did you mean '\(best)'?)" }
        return "; allowed keys: " + options.joined(separator: ", ")
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var prev = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(1, b.count) where !b.isEmpty {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return a.isEmpty ? b.count : prev[b.count]
    }

    static func secondOccurrenceLine(of key: String, in yaml: String) -> Int? {
        var seen = 0
        for (i, raw) in yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let t = raw.drop { $0 == " " || $0 == "\t" }
            if t.hasPrefix(key), t.dropFirst(key.count).drop(while: { $0 == " " }).first == ":" {
                seen += 1
                if seen == 2 { return i + 1 }
            }
        }
        return nil
    }

    static func line(of e: YamlError) -> Int? {
        switch e {
        case .scanner(_, _, let m, _), .parser(_, _, let m, _), .composer(_, _, let m, _): return m.line
        default: return nil
        }
    }
    static func problem(of e: YamlError) -> String {
        switch e {
        case .scanner(_, let p, _, _), .parser(_, let p, _, _), .composer(_, let p, _, _): return p
        default: return "\(e)"
        }
    }
}

/// Converts one YAML node to a value of the field's kind, reporting type and range errors.
private func convert(_ node: Node, _ f: SchemaField, _ path: String, _ errors: inout [ScenarioError],
                     _ file: String) -> ScenarioValue? {
    let line = node.mark?.line
    func fail(_ msg: String) -> ScenarioValue? {
        errors.append(ScenarioError(file: file, line: line, keyPath: path, message: msg)); return nil
    }
    func text() -> String? { if case .scalar(let s) = node { return s.string }; return nil }
    func isQuoted() -> Bool { if case .scalar(let s) = node { return s.style != .plain }; return false }
    switch f.kind {
    case .double(let r):
        guard let t = text(), !isQuoted(), let d = Double(t.replacingOccurrences(of: "_", with: "")), d.isFinite else {
            return fail("expected \(f.kind.typeName), got \(describe(node))")
        }
        guard r.contains(d) else { return fail("value \(t) is out of range; allowed \(fmt(r.lowerBound)) … \(fmt(r.upperBound))") }
        return .double(d)
    case .int(let r):
        guard let t = text(), !isQuoted(), let i = Int(t.replacingOccurrences(of: "_", with: "")) else {
            return fail("expected \(f.kind.typeName), got \(describe(node))")
        }
        guard r.contains(i) else { return fail("value \(t) is out of range; allowed \(r.lowerBound) … \(r.upperBound)") }
        return .int(i)
    case .bool:
        guard let t = text(), !isQuoted() else { return fail("expected true or false, got \(describe(node))") }
        switch t.lowercased() {
        case "true", "yes", "on": return .bool(true)
        case "false", "no", "off": return .bool(false)
        default: return fail("expected true or false, got \(describe(node))")
        }
    case .string:
        guard let t = text() else { return fail("expected a string, got \(describe(node))") }
        return .string(t)
    case .choice(let options):
        guard let t = text(), options.contains(t) else {
            return fail("expected one of \(options.joined(separator: ", ")), got \(describe(node))")
        }
        return .string(t)
    case .intList(let n, let r):
        guard case .sequence(let seq) = node else { return fail("expected \(f.kind.typeName), got \(describe(node))") }
        var out: [Int] = []
        for item in seq {
            guard case .scalar(let s) = item, let i = Int(s.string) else {
                return fail("expected \(f.kind.typeName), got an item \(describe(item))")
            }
            guard r.contains(i) else { return fail("item \(i) is out of range; allowed \(r.lowerBound) … \(r.upperBound)") }
            out.append(i)
        }
        if let n, out.count != n { return fail("expected \(n) integers, got \(out.count)") }
        return .intList(out)
    case .doubleList(let n, let r):
        guard case .sequence(let seq) = node else { return fail("expected \(f.kind.typeName), got \(describe(node))") }
        var out: [Double] = []
        for item in seq {
            guard case .scalar(let s) = item, s.style == .plain, let d = Double(s.string), d.isFinite else {
                return fail("expected \(f.kind.typeName), got an item \(describe(item))")
            }
            guard r.contains(d) else { return fail("item \(s.string) is out of range; allowed \(fmt(r.lowerBound)) … \(fmt(r.upperBound))") }
            out.append(d)
        }
        if let n, out.count != n { return fail("expected \(n) numbers, got \(out.count)") }
        return .doubleList(out)
    case .records(let fields):
        guard case .sequence(let seq) = node else { return fail("expected \(f.kind.typeName), got \(describe(node))") }
        var out: [[String: ScenarioValue]] = []
        var ok = true
        for (i, item) in seq.enumerated() {
            let itemPath = "\(path)[\(i)]"
            guard case .mapping(let m) = item else {
                errors.append(ScenarioError(file: file, line: item.mark?.line, keyPath: itemPath, message: "must be a mapping of keys to values"))
                ok = false; continue
            }
            var rec: [String: ScenarioValue] = [:]
            for g in fields { if let d = g.defaultValue { rec[g.key] = d } }
            var seen = Set<String>()
            for (k, v) in m {
                let key = k.scalar?.string ?? ""
                if !seen.insert(key).inserted {
                    errors.append(ScenarioError(file: file, line: k.mark?.line, keyPath: "\(itemPath).\(key)", message: "duplicate key"))
                    ok = false; continue
                }
                guard let g = fields.first(where: { $0.key == key }) else {
                    errors.append(ScenarioError(file: file, line: k.mark?.line, keyPath: "\(itemPath).\(key)",
                                                message: "unknown key" + ResolvedScenario.suggestion(key, fields.map(\.key))))
                    ok = false; continue
                }
                if let val = convert(v, g, "\(itemPath).\(key)", &errors, file) { rec[key] = val } else { ok = false }
            }
            for g in fields where g.required && rec[g.key] == nil {
                errors.append(ScenarioError(file: file, line: item.mark?.line, keyPath: "\(itemPath).\(g.key)", message: "missing required key"))
                ok = false
            }
            out.append(rec)
        }
        return ok ? .records(out) : nil
    case .composition:
        guard case .mapping(let m) = node else { return fail("expected \(f.kind.typeName), got \(describe(node))") }
        var out: [(symbol: String, fraction: Double)] = []
        for (k, v) in m {
            let sym = k.scalar?.string ?? ""
            guard case .scalar(let s) = v, let d = Double(s.string), d.isFinite else {
                return fail("fraction of \(sym) must be a number, got \(describe(v))")
            }
            guard d > 0 && d <= 1 else { return fail("fraction of \(sym) is \(s.string); allowed 0 (exclusive) … 1") }
            if out.contains(where: { $0.symbol == sym }) { return fail("element \(sym) listed twice") }
            out.append((sym, d))
        }
        guard !out.isEmpty else { return fail("needs at least one element") }
        let sum = out.reduce(0) { $0 + $1.fraction }
        guard abs(sum - 1) <= 1e-6 else { return fail("fractions sum to \(sum); they must sum to 1 (within 1e-6)") }
        return .composition(out)
    }
}

private func describe(_ n: Node) -> String {
    switch n {
    case .scalar(let s): return s.string.isEmpty ? "nothing" : "'\(s.string)'"
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    case .alias: return "an alias"
    }
}

func fmt(_ d: Double) -> String {
    if d == d.rounded(), abs(d) < 1e15 { return String(Int(d)) }
    return String(d)
}
