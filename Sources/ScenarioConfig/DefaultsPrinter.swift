/// Prints the schema as a complete, commented YAML scenario holding every default.
public enum DefaultsPrinter {
    public static func yaml() -> String {
        var out = """
        # AtomProbeTwin scenario — every key with its default (`aptwin scenario --defaults`).
        # Units are part of every key name. Instrument defaults: JEOL F200 with the APT holder of
        # Da Costa et al., "Bringing Atom Probe Tomography to Transmission Electron Microscopes" (2024).
        # Keys marked (metadata) are recorded in the run manifest but not yet used by the models.

        """
        for f in ScenarioSchema.topLevel { out += line(f, indent: "") }
        for s in ScenarioSchema.sections {
            out += "\n# \(s.doc)\n\(s.key):\n"
            for f in s.fields { out += line(f, indent: "  ") }
        }
        return out
    }

    static func line(_ f: SchemaField, indent: String) -> String {
        var doc = f.doc
        switch f.kind {
        case .double(let r): doc += " [\(fmt(r.lowerBound)) … \(fmt(r.upperBound))]"
        case .int(let r): doc += " [\(r.lowerBound) … \(r.upperBound)]"
        case .choice(let c) where c.count > 1: doc += " [\(c.joined(separator: " | "))]"
        default: break
        }
        if !f.usedBySimulation { doc += " (metadata)" }
        guard let v = f.defaultValue else {
            return "\(indent)# \(f.key):   # \(doc)\n"
        }
        switch v {
        case .composition(let c):
            var s = "\(indent)# \(doc)\n\(indent)\(f.key):\n"
            for e in c { s += "\(indent)  \(e.symbol): \(e.fraction)\n" }
            return s
        default:
            return "\(indent)\(f.key): \(render(v))   # \(doc)\n"
        }
    }

    static func render(_ v: ScenarioValue) -> String {
        switch v {
        case .double(let d): return String(d)
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .string(let s): return s.contains(" ") || s.isEmpty ? "\"\(s)\"" : s
        case .intList(let l): return "[" + l.map(String.init).joined(separator: ", ") + "]"
        case .composition(let c): return "{" + c.map { "\($0.symbol): \($0.fraction)" }.joined(separator: ", ") + "}"
        }
    }
}
