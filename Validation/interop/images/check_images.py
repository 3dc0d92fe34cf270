"""Compares aptwin's DM3/DM4/MRC readers with ncempy (DM) and mrcfile (MRC), pixel for pixel, and checks that
`aptwin tem measure` gives the same answer on a simulated frame stored as PNG and as MRC (pixel size from the file).

Usage: python check_images.py --aptwin PATH --images DIR --work DIR [--scenario Scenarios/tiny.yaml]
Prints one line per check and 'N passed, N failed'; exits 1 on any failure.
"""
import argparse, glob, hashlib, json, os, subprocess, sys
import numpy as np
from importlib.metadata import version

checks = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    checks["passed" if ok else "failed"] += 1
    print(f"{'PASS' if ok else 'FAIL'} {name}{(': ' + detail) if detail else ''}")


NM_PER = {"nm": 1.0, "µm": 1000.0, "um": 1000.0, "Å": 0.1, "A": 0.1, "pm": 0.001}


def python_view(path):
    """(width, height, pixel size nm or None, sha256 of the first plane as little-endian float32, reader)."""
    if path.endswith(".mrc"):
        import mrcfile
        with mrcfile.open(path, permissive=True) as m:
            a = np.asarray(m.data)
            px = float(m.voxel_size.x) / 10 if float(m.voxel_size.x) > 0 else None
        reader = f"mrcfile {version('mrcfile')}"
    else:
        import ncempy
        import ncempy.io.dm as dm
        d = dm.dmReader(path)
        a = np.asarray(d["data"])
        unit = d["pixelUnit"][-1]
        px = float(d["pixelSize"][-1]) * NM_PER[unit] if unit in NM_PER else None
        reader = f"ncempy {version('ncempy')}"
    plane = a if a.ndim == 2 else a[0]
    return plane.shape[1], plane.shape[0], px, hashlib.sha256(plane.astype("<f4").tobytes()).hexdigest(), reader


def aptwin_json(aptwin, *args):
    r = subprocess.run([aptwin, *args, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    return json.loads(r.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--aptwin", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--scenario")
    a = ap.parse_args()

    for path in sorted(glob.glob(os.path.join(a.images, "*"))):
        if not path.endswith((".dm3", ".dm4", ".mrc")):
            continue
        name = os.path.basename(path)
        w, h, px, sha, reader = python_view(path)
        ours = aptwin_json(a.aptwin, "info", path)
        check(f"{name}: size {w}×{h} as {reader}", (ours["width"], ours["height"]) == (w, h), f"aptwin {ours['width']}×{ours['height']}")
        check(f"{name}: pixels identical (sha256 of float32)", ours["pixels_f32le_sha256"] == sha)
        theirs = "none" if px is None else f"{px:.9g} nm"
        mine = "none" if ours["pixel_nm"] is None else f"{ours['pixel_nm']:.9g} nm"
        same = (px is None and ours["pixel_nm"] is None) or (px is not None and ours["pixel_nm"] is not None
                                                             and abs(px - ours["pixel_nm"]) <= 1e-6 * px)
        check(f"{name}: pixel size {theirs}", same, f"aptwin {mine}")

    if a.scenario:
        import mrcfile
        from PIL import Image
        png = os.path.join(a.work, "frame.png")
        subprocess.run([a.aptwin, "tem", "frame", a.scenario, "--output", png], check=True, capture_output=True)
        img = np.asarray(Image.open(png)).astype(np.uint16)
        mrc = os.path.join(a.work, "frame.mrc")
        with mrcfile.new(mrc, overwrite=True) as m:
            m.set_data(img)          # mode 6 (uint16), rows in PNG order
            m.voxel_size = 2.4       # Å = 0.24 nm, the twin's frame pixel
        ref = aptwin_json(a.aptwin, "tem", "measure", png, "--pixel-nm", "0.24", "--dark-level", "100")
        got = aptwin_json(a.aptwin, "tem", "measure", mrc, "--dark-level", "100")
        check("tem measure: MRC pixel size taken from the file", got["pixel_nm_source"] == "file"
              and abs(got["pixel_nm"] - 0.24) < 1e-7, f"{got['pixel_nm']} ({got['pixel_nm_source']})")
        keys = ["apex_radius_nm", "apex_x_nm", "apex_y_nm", "shank_half_angle_deg", "edge_apex_radius_nm"]
        check("tem measure: MRC and PNG of one frame measure the same", all(
            (ref[k] is None and got[k] is None) or abs(ref[k] - got[k]) <= 1e-6 * max(1, abs(ref[k])) for k in keys),
            ", ".join(f"{k} {ref[k]:.4f}/{got[k]:.4f}" for k in keys if ref[k] is not None))

    print(f"{checks['passed']} passed, {checks['failed']} failed")
    sys.exit(1 if checks["failed"] else 0)


if __name__ == "__main__":
    main()
