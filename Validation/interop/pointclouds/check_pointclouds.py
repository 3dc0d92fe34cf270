"""Reads aptwin's .vtp/.ply/.xyz point clouds with VTK (vtkXMLPolyDataReader, vtkPLYReader), plyfile and, when
installed, OVITO, and compares them with the source data read independently here (numpy on the POS and .npy files,
a small RRNG parser for the species).

Usage: python check_pointclouds.py --pos SRC.pos --ranges R.rrng --stem OUT [--run RUN_DIR]
OUT.vtp, OUT.ply and OUT.xyz must exist. Prints one line per check and 'N passed, N failed' at the end; exits 1 on
any failure.
"""
import argparse
import os
import sys

import numpy as np

checks = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    checks["passed" if ok else "failed"] += 1
    print(f"{'PASS' if ok else 'FAIL'} {name}{(': ' + detail) if detail else ''}")


def read_rrng(path):
    """Ions in file order and ranges (low, high, ion index) of an IVAS RRNG file."""
    ions, ranges, section = [], [], None
    for raw in open(path, encoding="latin-1"):
        line = raw.strip()
        if line.startswith("["):
            section = line.strip("[]").lower()
            continue
        if "=" not in line:
            continue
        key, val = line.split("=", 1)
        if section == "ions" and key.lower().startswith("ion"):
            ions.append(val.strip())
        elif section == "ranges" and key.lower().startswith("range"):
            parts = val.replace(",", ".").split()
            lo, hi = float(parts[0]), float(parts[1])
            comp = [p for p in parts[2:] if ":" in p and not p.lower().startswith(("vol:", "color:"))]
            name = "".join(p.split(":")[0] + ("" if p.split(":")[1] == "1" else p.split(":")[1]) for p in comp)
            ranges.append((lo, hi, name))
    return ions, ranges


def species_of(mn, names, ranges):
    sp = np.zeros(len(mn), np.int32)
    for lo, hi, name in ranges:
        if name not in names:
            continue
        sel = (mn >= lo) & (mn <= hi) & (sp == 0)
        sp[sel] = names.index(name)
    return sp


def vtk_array(data, name):
    from vtk.util.numpy_support import vtk_to_numpy
    arr = data.GetPointData().GetArray(name)
    return None if arr is None else vtk_to_numpy(arr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pos", required=True)
    ap.add_argument("--ranges", required=True)
    ap.add_argument("--stem", required=True)
    ap.add_argument("--run")
    a = ap.parse_args()

    src = np.fromfile(a.pos, dtype=">f4").reshape(-1, 4)
    n = len(src)
    xyz, mn = src[:, :3].astype(np.float32), src[:, 3].astype(np.float32)
    truth = None
    if a.run:
        ev = np.load(os.path.join(a.run, "acquisition/event_index.npy")).astype(np.int64)
        atom_of_event = np.load(os.path.join(a.run, "events/atom_id.npy")).astype(np.int64)
        truth = np.where(ev >= 0, atom_of_event[np.clip(ev, 0, None)], -1)
    print(f"source {a.pos}: {n} ions")

    # --- VTP with VTK's own XML reader
    import vtk
    r = vtk.vtkXMLPolyDataReader()
    r.SetFileName(a.stem + ".vtp")
    r.Update()
    pd = r.GetOutput()
    check("vtp: vtkXMLPolyDataReader reads the file", r.GetErrorCode() == 0 and pd.GetNumberOfPoints() > 0)
    check("vtp: point count", pd.GetNumberOfPoints() == n, f"{pd.GetNumberOfPoints()} vs {n}")
    check("vtp: one vertex cell per point", pd.GetNumberOfVerts() == n and pd.GetNumberOfCells() == n,
          f"verts {pd.GetNumberOfVerts()}")
    from vtk.util.numpy_support import vtk_to_numpy
    pts = vtk_to_numpy(pd.GetPoints().GetData())
    check("vtp: positions identical to the POS", np.array_equal(pts, xyz))
    names = [pd.GetFieldData().GetAbstractArray("species_names").GetValue(i)
             for i in range(pd.GetFieldData().GetAbstractArray("species_names").GetNumberOfValues())]
    ions, ranges = read_rrng(a.ranges)
    # aptwin's ions: the [Ions] list, then molecular ions in order of their first range
    for _, _, name in ranges:
        if name not in ions:
            ions.append(name)
    check("vtp: species_names = unranged + RRNG ions", names == ["unranged"] + ions, f"{names}")
    expected_names = {"mass_to_charge_da", "species", "rgb"} | ({"truth_atom_id", "event_index"} if a.run else set())
    got_names = {pd.GetPointData().GetArrayName(i) for i in range(pd.GetPointData().GetNumberOfArrays())}
    check("vtp: point-data arrays", expected_names <= got_names, f"{sorted(got_names)}")
    check("vtp: mass_to_charge_da identical", np.array_equal(vtk_array(pd, "mass_to_charge_da"), mn))
    sp_vtp = vtk_array(pd, "species")
    sp_ref = species_of(mn, names, ranges)
    check("vtp: species = independent ranging of m/n", np.array_equal(sp_vtp, sp_ref),
          f"{int((sp_vtp != sp_ref).sum())} differ; counts {np.bincount(sp_vtp, minlength=len(names)).tolist()}")
    rgb = vtk_array(pd, "rgb")
    table = vtk_to_numpy(pd.GetFieldData().GetArray("species_rgb")).reshape(-1, 3)
    check("vtp: rgb (UInt8 x3) = species_rgb[species]", rgb.shape == (n, 3) and rgb.dtype == np.uint8
          and np.array_equal(rgb, table[sp_vtp]))
    if truth is not None:
        check("vtp: truth_atom_id = events/atom_id[event_index]", np.array_equal(vtk_array(pd, "truth_atom_id"), truth))

    # --- PLY with vtkPLYReader (positions, colours) and plyfile (every property)
    pr = vtk.vtkPLYReader()
    pr.SetFileName(a.stem + ".ply")
    pr.Update()
    pp = pr.GetOutput()
    check("ply: vtkPLYReader point count", pp.GetNumberOfPoints() == n, f"{pp.GetNumberOfPoints()}")
    check("ply: vtkPLYReader positions identical", np.array_equal(vtk_to_numpy(pp.GetPoints().GetData()), xyz))
    col = pp.GetPointData().GetArray("RGB")
    check("ply: vtkPLYReader colours = vtp rgb", col is not None and np.array_equal(vtk_to_numpy(col), rgb))
    try:
        from plyfile import PlyData
        ply = PlyData.read(a.stem + ".ply")
        v = ply["vertex"].data
        check("ply: plyfile count and m/n", len(v) == n and np.array_equal(v["mass_to_charge"], mn))
        check("ply: plyfile species", np.array_equal(v["species"], sp_ref))
        comments = [c for c in ply.comments if c.startswith("species ")]
        check("ply: species comments", [c.split()[2] for c in comments] == names, f"{comments[:3]}…")
        if truth is not None:
            check("ply: truth_atom_id", np.array_equal(v["truth_atom_id"].astype(np.int64), truth))
    except ImportError:
        print("note: plyfile not installed, PLY properties beyond position and colour not checked")

    # --- XYZ: parsed here; with OVITO when its Python module is installed
    with open(a.stem + ".xyz") as f:
        count = int(f.readline())
        header = f.readline()
        rows = [f.readline().split() for _ in range(min(count, 2000))]
    check("xyz: count line", count == n)
    check("xyz: Properties header", header.startswith("Properties=species:S:1:pos:R:3:mass_to_charge:R:1"), header[:80])
    sample = np.array([[float(t) for t in r[1:5]] for r in rows], np.float32)
    check("xyz: first 2000 rows: positions and m/n round-trip exactly",
          np.array_equal(sample, src[:len(rows)].astype(np.float32)))
    check("xyz: species names", all(r[0] == names[sp_ref[i]] for i, r in enumerate(rows)))
    try:
        from ovito.io import import_file
        data = import_file(a.stem + ".xyz").compute()
        p = data.particles
        check("xyz: OVITO particle count", p.count == n, f"{p.count}")
        check("xyz: OVITO positions (as float32) identical", np.array_equal(np.asarray(p.positions).astype(np.float32), xyz))
        type_names = {t.id: t.name for t in p.particle_types.types}
        got = [type_names[t] for t in np.asarray(p.particle_types[:50])]
        check("xyz: OVITO particle types = species names", got == [names[s] for s in sp_ref[:50]], f"{got[:5]}")
        check("xyz: OVITO colour property", "Color" in p.keys())
    except ImportError:
        print("note: ovito not installed, XYZ checked by parsing only")

    print(f"{checks['passed']} passed, {checks['failed']} failed")
    sys.exit(1 if checks["failed"] else 0)


if __name__ == "__main__":
    main()
