#!/usr/bin/env bash
# APAV (PyPI apav==1.2.2) opens every .apt aptwin writes, with xyz, mass and multiplicity identical to the source,
# and Si.apt -> .apt is byte-identical. Needs PyPI (a throwaway venv under .venv-interop/, git-ignored).
# Usage: bash Validation/interop/apav/validate.sh   (from the repository root; prints one line per file)
set -euo pipefail
cd "$(dirname "$0")/../../.."
root=$PWD
venv=$root/.venv-interop/apav
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -x .build/release/aptwin ] || swift build -c release >/dev/null
B=$root/.build/release/aptwin
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check apav==1.2.2
fi
data=$root/.testdata/apav-1.2.2
if [ ! -f "$data/Si.apt" ]; then
  mkdir -p "$data"
  python3 -m pip download -q --no-deps --only-binary :all: apav==1.2.2 -d "$work/whl"
  python3 - "$work"/whl/*.whl "$data" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for n in ("Si.pos", "Si.epos", "Si.apt", "Si.RRNG", "Si.RNG"):
    open(sys.argv[2] + "/" + n, "wb").write(z.read("apav/resources/testdata/" + n))
PY
fi
"$B" convert "$data/Si.epos" "$work/si-from-epos.apt" >/dev/null 2>&1
"$B" convert "$data/Si.apt" "$work/si-from-apt.apt" >/dev/null 2>&1
"$B" convert "$data/Si.pos" "$work/si-from-pos.apt" >/dev/null 2>&1
cmp -s "$data/Si.apt" "$work/si-from-apt.apt" && echo "Si.apt -> .apt: byte-identical" || echo "Si.apt -> .apt: DIFFERS"
# A simulated run: its acquisition (EPOS, every column) and its reconstruction as APT.
"$B" run Scenarios/tiny.yaml --output "$work/run" >/dev/null 2>&1
"$B" convert "$work/run/acquisition/acquisition.epos" "$work/run-acq.apt" >/dev/null 2>&1
QT_QPA_PLATFORM=offscreen "$venv/bin/python" - "$data" "$work" <<'PY'
import sys, warnings
warnings.simplefilter("ignore")
import numpy as n, apav
data, work = sys.argv[1], sys.argv[2]
cases = [("si-from-epos.apt", apav.Roi.from_epos(data + "/Si.epos")),
         ("si-from-apt.apt", apav.Roi.from_apt(data + "/Si.apt")),
         ("si-from-pos.apt", apav.Roi.from_pos(data + "/Si.pos")),
         ("run-acq.apt", apav.Roi.from_epos(work + "/run/acquisition/acquisition.epos"))]
bad = 0
for f, src in cases:
    r = apav.Roi.from_apt(work + "/" + f)
    same = [bool(n.array_equal(r.xyz, src.xyz)), bool(n.array_equal(r.mass, src.mass))]
    if "ipp" in src.misc: same.append(bool(n.array_equal(r.misc["ipp"], src.misc["ipp"])))
    bad += not all(same)
    print(f"{f}: APAV {apav.__version__} opens it, {r.counts} ions, xyz/mass{'/multiplicity' if len(same) == 3 else ''} identical: {all(same)}; sections: {', '.join(sorted(r.misc))}")
sys.exit(1 if bad else 0)
PY
