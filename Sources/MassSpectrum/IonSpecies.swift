import Foundation
import MaterialsData

/// An ion species that can appear in an atom-probe spectrum: an atom or a molecule at one charge state, with its
/// isotope pattern (the lines it gives, m/n and relative abundance).
public struct IonSpecies: Sendable, Equatable {
    /// Atoms by Z with their counts, in formula order (metal first, then C, N, O, H).
    public var atoms: [(z: Int, count: Int)]
    public var charge: Int
    /// Lines: m/n (Da, neutral masses / charge, as range files and IVAS) and fraction of the species' ions,
    /// summing to ≈ 1 (lines below 10⁻⁵ dropped, lines within 2 mDa merged).
    public var lines: [(mnDa: Double, abundance: Double)]

    public static func == (a: IonSpecies, b: IonSpecies) -> Bool {
        a.charge == b.charge && a.atoms.map(\.z) == b.atoms.map(\.z) && a.atoms.map(\.count) == b.atoms.map(\.count)
    }

    /// Formula without charge, as a range file names the ion: `Si`, `CrO`, `Cr2O`, `H2`.
    public var formula: String {
        atoms.map { "\(PeriodicTable.symbol(z: $0.z))\($0.count == 1 ? "" : String($0.count))" }.joined()
    }
    /// Formula with charge, molecules in parentheses so that H₂⁺ and H²⁺ differ: `Si2+`, `(CrO)+`, `(H2)+`.
    public var label: String { "\(atomCount > 1 ? "(\(formula))" : formula)\(charge == 1 ? "" : String(charge))+" }
    /// Label of one of the species' lines: the nominal mass (m/n × charge, rounded) before the formula, e.g.
    /// `54Fe2+`, `(68CrO)+`.
    public func isotopeLabel(mnDa: Double) -> String {
        let body = "\(Int((mnDa * Double(charge)).rounded()))\(formula)"
        return "\(atomCount > 1 ? "(\(body))" : body)\(charge == 1 ? "" : String(charge))+"
    }
    /// Atoms in the ion.
    public var atomCount: Int { atoms.reduce(0) { $0 + $1.count } }
    /// The most abundant line.
    public var mainLine: (mnDa: Double, abundance: Double) { lines.max { $0.abundance < $1.abundance }! }

    /// Builds a species from atoms and charge; nil if an element has no natural isotope.
    public init?(atoms: [(z: Int, count: Int)], charge: Int) {
        precondition(charge > 0)
        self.atoms = atoms; self.charge = charge
        var pattern: [(m: Double, a: Double)] = [(0, 1)]
        for (z, n) in atoms {
            guard let el = PeriodicTable.element(z: z) else { return nil }
            let isos = el.isotopes.filter { $0.abundance > 0 }
            guard !isos.isEmpty else { return nil }
            for _ in 0..<n {
                var next: [(m: Double, a: Double)] = []
                for p in pattern { for i in isos { next.append((p.m + i.massDa, p.a * i.abundance)) } }
                pattern = IonSpecies.merge(next)
            }
        }
        lines = pattern.filter { $0.a >= 1e-5 }.map { (mnDa: $0.m / Double(charge), abundance: $0.a) }
        if lines.isEmpty { return nil }
    }

    static func merge(_ p: [(m: Double, a: Double)]) -> [(m: Double, a: Double)] {
        var out: [(m: Double, a: Double)] = []
        for x in p.sorted(by: { $0.m < $1.m }) where x.a >= 1e-7 {
            if let last = out.last, x.m - last.m < 0.002 {
                let a = last.a + x.a
                out[out.count - 1] = ((last.m * last.a + x.m * x.a) / a, a)
            } else { out.append(x) }
        }
        return out
    }

    /// The species that chemistry allows from a list of elements (the candidates of automatic ranging):
    /// - every element at charge 1…`maxCharge` (H only 1+, Z ≤ 10 at most 2+);
    /// - with `molecules`: hydrogen H₂⁺, H₃⁺ (when H is given); hydrides XH (1+, 2+) and XH₂⁺; oxides XO, XO₂, X₂O
    ///   (1+, 2+) and O₂ (1+, 2+) when O is given, with OH⁺, H₂O⁺, H₃O⁺ when H is too; carbides XC (1+, 2+) and
    ///   carbon clusters C₂, C₃ (1+, 2+) when C is given, CO⁺, CO₂⁺ with O; nitrides XN and N₂ when N is given;
    ///   metal dimers X₂ (1+, 2+). These are the molecular ions APT spectra commonly show (hydrogen and hydrides
    ///   from residual gas; oxides and carbides of the specimen; Miller & Forbes, *Atom-Probe Tomography*, 2014,
    ///   ch. 3; the Si dataset of the `apav` wheel ranges CrO, CrO₂ and Cr₂O).
    public static func candidates(elements: [Int], maxCharge: Int = 3, molecules: Bool = true) -> [IonSpecies] {
        let zs = elements.reduce(into: [Int]()) { if !$0.contains($1) { $0.append($1) } }
        var out: [IonSpecies] = []
        func add(_ atoms: [(Int, Int)], _ charges: ClosedRange<Int>) {
            for q in charges where q <= maxCharge {
                if let s = IonSpecies(atoms: atoms.map { (z: $0.0, count: $0.1) }, charge: q), !out.contains(s) { out.append(s) }
            }
        }
        // Atomic ions: hydrogen only as H⁺, light elements (Z ≤ 10: C, N, O, …) at most 2+ (their third
        // ionisation energies, 46–55 eV, put 3+ beyond post-ionisation at APT fields; Kingham 1982).
        for z in zs { add([(z, 1)], 1...(z == 1 ? 1 : z <= 10 ? 2 : maxCharge)) }
        guard molecules else { return out }
        let h = 1, c = 6, n = 7, o = 8
        let metals = zs.filter { ![h, c, n, o].contains($0) }
        if zs.contains(h) {
            add([(h, 2)], 1...1); add([(h, 3)], 1...1)
            for x in zs where x != h { add([(x, 1), (h, 1)], 1...2); add([(x, 1), (h, 2)], 1...1) }
        }
        if zs.contains(o) {
            add([(o, 2)], 1...2)
            for x in metals + (zs.contains(c) ? [c] : []) {
                add([(x, 1), (o, 1)], 1...2); add([(x, 1), (o, 2)], 1...2)
                if x != c { add([(x, 2), (o, 1)], 1...2) }
            }
            if zs.contains(h) { add([(h, 2), (o, 1)], 1...1); add([(h, 3), (o, 1)], 1...1) }
        }
        if zs.contains(c) {
            add([(c, 2)], 1...2); add([(c, 3)], 1...2)
            for x in metals { add([(x, 1), (c, 1)], 1...2) }
        }
        if zs.contains(n) {
            add([(n, 2)], 1...2)
            for x in metals { add([(x, 1), (n, 1)], 1...2) }
        }
        for x in metals { add([(x, 2)], 1...2) }
        return out
    }
}
