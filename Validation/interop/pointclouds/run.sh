#!/usr/bin/env bash
# Reads aptwin's point clouds (.vtp, .ply, .xyz) with VTK, plyfile and OVITO and checks them against the source.
# Usage: bash Validation/interop/pointclouds/run.sh        (from anywhere; needs PyPI the first time)
# Makes a throwaway venv in <repo>/.venv-interop (git-ignored; $INTEROP_VENV overrides) with vtk, plyfile, numpy
# and ovito, builds aptwin in release if needed, then
#   1. runs Scenarios/tiny.yaml (about 20 s) and converts the run directory (truth ids included),
#   2. converts the real Si dataset (apav 1.2.2 wheel, fetched into <repo>/.testdata/apav-1.2.2 and hash-checked)
#      with its Si.RRNG,
# and runs check_pointclouds.py on both. Output goes to ${TMPDIR:-/tmp}/aptwin-interop-pointclouds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
venv="${INTEROP_VENV:-$repo/.venv-interop}"
out="${TMPDIR:-/tmp}/aptwin-interop-pointclouds"
if ! "$venv/bin/python" -c "import vtk, plyfile, numpy" >/dev/null 2>&1; then
    echo "run.sh: installing vtk, plyfile, numpy, ovito into $venv" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check vtk plyfile numpy >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check ovito >&2 || echo "run.sh: ovito not installed; XYZ parsed only" >&2
fi
aptwin="${APTWIN:-$repo/.build/release/aptwin}"
[ -x "$aptwin" ] || (cd "$repo" && swift build -c release --product aptwin >&2)
rm -rf "$out"; mkdir -p "$out"

si="$repo/.testdata/apav-1.2.2"
if ! (cd "$si" 2>/dev/null && sha256sum -c --quiet <<SUMS
dff134cc5015f56963763bee664b56f04bcace5cd6e45b63b762c722f547d98a  Si.pos
38a2473ab2700eac8fdce590143bc5231c76239675adfcbe2b7f3d493e8225ff  Si.RRNG
SUMS
); then
    mkdir -p "$si"
    python3 -m pip download --quiet --no-deps --only-binary :all: --disable-pip-version-check apav==1.2.2 -d "$si" >&2
    python3 - "$si" <<'PY'
import glob, os, sys, zipfile
d = sys.argv[1]
z = zipfile.ZipFile(sorted(glob.glob(os.path.join(d, "*.whl")))[0])
for n in ["Si.pos", "Si.epos", "Si.apt", "Si.RRNG", "Si.RNG"]:
    open(os.path.join(d, n), "wb").write(z.read("apav/resources/testdata/" + n))
PY
fi

status=0
echo "== run directory (Scenarios/tiny.yaml)"
"$aptwin" run "$repo/Scenarios/tiny.yaml" --output "$out/run" --seed 7 >"$out/run.log" 2>&1
for ext in vtp ply xyz; do "$aptwin" convert "$out/run" "$out/run.$ext"; done
"$venv/bin/python" "$here/check_pointclouds.py" --pos "$out/run/reconstruction/reconstruction.pos" \
    --ranges "$out/run/spectrum/ranges.rrng" --run "$out/run" --stem "$out/run" || status=1

echo "== Si dataset (apav 1.2.2 Si.pos + Si.RRNG)"
for ext in vtp ply xyz; do "$aptwin" convert "$si/Si.pos" "$out/si.$ext" --ranges "$si/Si.RRNG"; done
"$venv/bin/python" "$here/check_pointclouds.py" --pos "$si/Si.pos" --ranges "$si/Si.RRNG" --stem "$out/si" || status=1
exit $status
