#!/usr/bin/env python3
"""Generate Sources/MaterialsData/IsotopeTable.swift from the `periodictable` package.

Usage (from the package root):

    python3 -m venv /tmp/venv-mat && /tmp/venv-mat/bin/pip install periodictable==2.1.0
    /tmp/venv-mat/bin/python Validation/materials/generate_isotopes.py            # writes the Swift file
    /tmp/venv-mat/bin/python Validation/materials/generate_isotopes.py --report   # also prints the
                                                      # differences to the 2001 NIST table

Data choices (all taken from tables shipped inside periodictable, nothing typed by hand):

* Isotope masses: AME2020 (Wang et al., Chinese Phys. C 45 (2021) 030003), periodictable.mass.
* Abundances: the IUPAC "representative isotopic composition", as in NIST's "Atomic Weights and
  Isotopic Compositions" table:
    - CIAAW "Isotopic compositions of the elements 2021" (periodictable.mass.isotope_abundance,
      parsed here directly from its text) for every element that CIAAW gives as a single value;
    - for the elements that CIAAW 2021 gives only as an interval of natural variation
      (H, Li, B, C, O, Mg, Si, S, Cl, Br, Tl) CIAAW has no single value, and periodictable would take
      the interval midpoint (e.g. 6Li 4.85 % instead of 7.59 %). For those we take the IUPAC 1997
      representative composition of the NIST table (Rosman & Taylor 1998; periodictable.mass_2001).
      (IUPAC 2009 revised only Si among these, by < 1e-4: 28Si 0.922297 here vs 0.92223.)
  periodictable 2.1.0 also drops the last element of its abundance table (U) when it parses it; parsing
  the text here avoids that.
* Every element's abundances are renormalised to sum to exactly 1 (they sum to 1 within rounding).
* Element names: periodictable's names, capitalised, with IUPAC spellings Aluminium and Caesium.
"""
import argparse
import os
import sys

import periodictable
from periodictable import mass as pt_mass
from periodictable import mass_2001 as pt_mass_2001
from periodictable.util import parse_uncertainty

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "..", "Sources", "MaterialsData", "IsotopeTable.swift"))
MAX_Z = 118
IUPAC_NAMES = {13: "Aluminium", 55: "Caesium"}


def ciaaw_2021():
    """{z: {a: (fraction, is_interval)}} parsed from periodictable.mass.isotope_abundance."""
    table, z = {}, None
    for line in pt_mass.isotope_abundance.split("\n"):
        if not line.strip():
            continue
        if line[0] not in " \t":
            z = int(line.split()[0])
            table[z] = {}
        else:
            parts = line.strip().split()
            a, text = int(parts[0]), parts[1]
            value, _ = parse_uncertainty(text)
            table[z][a] = (float(value), text.startswith("["))
    return table


def nist_2001():
    """{z: {a: fraction}} from periodictable.mass_2001.massdata (the NIST table, Rosman & Taylor 1998)."""
    table = {}
    for line in pt_mass_2001.massdata.split("\n"):
        iso, _m, p, _avg = line.split(",")
        if not p:
            continue
        z, _sym, a = iso.split("-")
        value, _ = parse_uncertainty(p)
        table.setdefault(int(z), {})[int(a)] = float(value) / 100.0
    return table


def build():
    ciaaw, nist = ciaaw_2021(), nist_2001()
    elements, isotopes, notes = [], [], []
    for z in range(1, MAX_Z + 1):
        el = periodictable.elements[z]
        name = IUPAC_NAMES.get(z, el.name[:1].upper() + el.name[1:])
        elements.append((z, el.symbol, name))
        comp = ciaaw.get(z, {})
        if any(interval for _, interval in comp.values()):
            if z not in nist:
                sys.exit(f"no NIST representative composition for interval element {el.symbol}")
            fractions = dict(nist[z])
            notes.append(el.symbol)
        else:
            fractions = {a: v for a, (v, _) in comp.items()}
        fractions = {a: v for a, v in fractions.items() if v > 0}
        total = sum(fractions.values())
        for a in sorted(fractions):
            iso = el[a]
            # 12 significant digits keep each element's sum within 1e-11 of 1 and the file readable.
            isotopes.append((z, a, float(iso.mass), float(f"{fractions[a] / total:.12g}")))
    return elements, isotopes, notes, nist


def check(isotopes):
    """Key values the project relies on; fail loudly if a new periodictable release changes them."""
    got = {(z, a): (m, x) for z, a, m, x in isotopes}
    expected = {(26, 54): 0.05845, (26, 56): 0.91754, (26, 57): 0.02119, (26, 58): 0.00282,
                (24, 50): 0.04345, (24, 52): 0.83789, (24, 53): 0.09501, (24, 54): 0.02365}
    for key, x in expected.items():
        assert abs(got[key][1] - x) < 1e-9, (key, got[key], x)
    assert abs(got[(26, 56)][0] - 55.934936) < 1e-6, got[(26, 56)]
    assert all((z, a) in got for z, a in [(19, 40), (90, 232), (92, 235), (92, 238)])


def swift_double(x, digits=None):
    s = repr(float(x)) if digits is None else f"{float(x):.{digits}g}"
    return s if ("." in s or "e" in s) else s + ".0"


def write_swift(path, elements, isotopes, interval_elements):
    lines = [
        "// GENERATED FILE — do not edit by hand.",
        "// Generator: Validation/materials/generate_isotopes.py (re-run it to regenerate).",
        f"// Source: Python package periodictable {periodictable.__version__} (PyPI):",
        "//   masses      AME2020 (M. Wang et al., Chinese Phys. C 45 (2021) 030003), periodictable.mass;",
        "//   abundances  CIAAW isotopic compositions 2021 (periodictable.mass), except the interval elements",
        f"//               {', '.join(interval_elements)}, which use the IUPAC 1997 representative",
        "//               composition of NIST's \"Atomic Weights and Isotopic Compositions\" table",
        "//               (periodictable.mass_2001). Each element renormalised to sum to 1.",
        f"// {len(isotopes)} naturally occurring isotopes of {len({i[0] for i in isotopes})} elements; {len(elements)} elements.",
        "",
        "/// One row of the compiled-in element list (generated).",
        "struct ElementRecord: Sendable {",
        "    let z: Int",
        "    let symbol: String",
        "    let name: String",
        "}",
        "",
        "/// One row of the compiled-in isotope list (generated): atomic number, mass number,",
        "/// atomic mass in daltons, natural abundance as an atom fraction.",
        "struct IsotopeRecord: Sendable {",
        "    let z: Int",
        "    let a: Int",
        "    let massDa: Double",
        "    let abundance: Double",
        "}",
        "",
        "/// Elements Z = 1…118 in order of Z.",
        "let elementRecords: [ElementRecord] = [",
    ]
    for z, sym, name in elements:
        lines.append(f'    ElementRecord(z: {z}, symbol: "{sym}", name: "{name}"),')
    lines += ["]", "", "/// Naturally occurring isotopes, sorted by Z then mass number.",
              "let isotopeRecords: [IsotopeRecord] = ["]
    for z, a, m, x in isotopes:
        lines.append(f"    IsotopeRecord(z: {z}, a: {a}, massDa: {swift_double(m)}, abundance: {swift_double(x, 12)}),")
    lines += ["]", ""]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--report", action="store_true", help="print differences to the 2001 NIST table")
    args = ap.parse_args()
    elements, isotopes, notes, nist = build()
    check(isotopes)
    write_swift(args.out, elements, isotopes, notes)
    print(f"wrote {args.out}: {len(isotopes)} isotopes, interval elements from NIST: {', '.join(notes)}")
    if args.report:
        ours = {}
        for z, a, _m, x in isotopes:
            ours.setdefault(z, {})[a] = x
        for z in sorted(set(ours) | set(nist)):
            o, n = ours.get(z, {}), nist.get(z, {})
            diffs = [(a, o.get(a, 0.0), n.get(a, 0.0)) for a in sorted(set(o) | set(n))
                     if abs(o.get(a, 0.0) - n.get(a, 0.0)) > 5e-4]
            if diffs:
                sym = periodictable.elements[z].symbol
                print(f"{sym:3s}", "  ".join(f"{a}: {x:.6f} (NIST2001 {y:.6f})" for a, x, y in diffs))


if __name__ == "__main__":
    main()
