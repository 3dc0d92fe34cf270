/// Prints the schema as a complete, commented YAML scenario holding every default.
public enum DefaultsPrinter {
    public static func yaml() -> String {
        var out = """
        # AtomProbeTwin scenario — every key with its default (`aptwin scenario --defaults`).
        # Units are part of every key name. Instrument defaults: JEOL F200 with the APT holder of
        # Da Costa et al., "Bringing Atom Probe Tomography to Transmission Electron Microscopes" (2024).
        # Keys shown commented out have no fixed default (derived, or required only when a feature is used).
        # Keys marked (metadata) are recorded in the run manifest but not yet used by the models.

        """
        for f in ScenarioSchema.topLevel { out += line(f, indent: "") }
        for s in ScenarioSchema.sections { out += section(s, indent: "") }
        return out
    }

    static func section(_ s: SchemaSection, indent: String) -> String {
        var out = "\n\(indent)# \(s.doc)\n\(indent)\(s.key):\n"
        for f in s.fields { out += line(f, indent: indent + "  ") }
        for sub in s.subsections { out += section(sub, indent: indent + "  ") }
        return out
    }

    static func describe(_ f: SchemaField) -> String {
        var doc = f.doc
        switch f.kind {
        case .double(let r): doc += " [\(fmt(r.lowerBound)) … \(fmt(r.upperBound))]"
        case .int(let r): doc += " [\(r.lowerBound) … \(r.upperBound)]"
        case .choice(let c) where c.count > 1: doc += " [\(c.joined(separator: " | "))]"
        default: break
        }
        if !f.usedBySimulation { doc += " (metadata)" }
        return doc
    }

    static func line(_ f: SchemaField, indent: String) -> String {
        let doc = describe(f)
        guard let v = f.defaultValue else {
            return "\(indent)# \(f.key):   # \(doc)\n"
        }
        switch v {
        case .composition(let c):
            var s = "\(indent)# \(doc)\n\(indent)\(f.key):\n"
            for e in c { s += "\(indent)  \(e.symbol): \(e.fraction)\n" }
            return s
        case .records(let recs) where recs.isEmpty:
            var s = "\(indent)# \(doc)\n\(indent)\(f.key): []\n"
            if case .records(let fields) = f.kind {
                s += "\(indent)# e.g.\n\(indent)# \(f.key):\n"
                for (i, g) in fields.enumerated() {
                    s += "\(indent)#   \(i == 0 ? "- " : "  ")\(g.key): …   # \(describe(g))\(g.required ? " (required)" : "")\n"
                }
            }
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
        case .doubleList(let l): return "[" + l.map { String($0) }.joined(separator: ", ") + "]"
        case .composition(let c): return "{" + c.map { "\($0.symbol): \($0.fraction)" }.joined(separator: ", ") + "}"
        case .records(let r):
            return "[" + r.map { rec in "{" + rec.keys.sorted().map { "\($0): \(render(rec[$0]!))" }.joined(separator: ", ") + "}" }
                .joined(separator: ", ") + "]"
        }
    }
}
