#!/usr/bin/env bash
# Cross-checks aptwin's DM3/DM4 and MRC readers against ncempy and mrcfile on real files, and `tem measure` on a
# simulated frame stored as PNG and as MRC.
# Usage: bash Validation/interop/images/run.sh        (needs PyPI the first time)
# Throwaway venv in <repo>/.venv-interop (git-ignored; $INTEROP_VENV overrides) with ncempy, mrcfile, numpy,
# pillow. The real files are the ones the Swift tests use (Tests/TestDatasets/RealImages.swift): fetched from the
# hyperspy 1.7.5 wheel and the mrcfile 1.5.4 sdist into <repo>/.testdata/images (git-ignored), hash-checked.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
venv="${INTEROP_VENV:-$repo/.venv-interop}"
work="${TMPDIR:-/tmp}/aptwin-interop-images"
img="$repo/.testdata/images"
if ! "$venv/bin/python" -c "import ncempy, mrcfile, numpy, PIL" >/dev/null 2>&1; then
    echo "run.sh: installing ncempy, mrcfile, numpy, pillow into $venv" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check ncempy mrcfile numpy pillow >&2
fi
aptwin="${APTWIN:-$repo/.build/release/aptwin}"
[ -x "$aptwin" ] || (cd "$repo" && swift build -c release --product aptwin >&2)
mkdir -p "$img" "$work"
fetch() {  # archive-spec pip-flag member local-name sha256
    [ -f "$img/$4" ] && echo "$5  $img/$4" | sha256sum -c --quiet 2>/dev/null && return 0
    ls "$img"/"${1/==/-}"* >/dev/null 2>&1 || python3 -m pip download --quiet --no-deps "$2" :all: \
        --disable-pip-version-check "$1" -d "$img" >&2
    python3 - "$(ls "$img"/"${1/==/-}"* | head -1)" "$3" "$img/$4" <<'PY'
import sys, tarfile, zipfile
src, member, dest = sys.argv[1:4]
data = zipfile.ZipFile(src).read(member) if src.endswith(".whl") else tarfile.open(src).extractfile(member).read()
open(dest, "wb").write(data)
PY
    echo "$5  $img/$4" | sha256sum -c --quiet
}
H=hyperspy/tests/io
fetch hyperspy==1.7.5 --only-binary $H/dm3_2D_data/test_STEM_image.dm3 test_STEM_image.dm3 fcba806af75bc3c2e50e7d7b0626cba545c1464f39e99c8922b225b0b0b0224c
fetch hyperspy==1.7.5 --only-binary $H/tiff_files/test_dm_image_um_unit.dm3 test_dm_image_um_unit.dm3 a365d8d19ab6df41c2d8152290541ec393ad2af55228e0580cb727b1d81c80c1
fetch hyperspy==1.7.5 --only-binary $H/dm4_2D_data/test-MonarcCL_mono-image.dm4 test-MonarcCL_mono-image.dm4 4ea04a10ad46595de79a20c283555f299dd07b4667f6112b44db1699f28993b6
fetch hyperspy==1.7.5 --only-binary $H/dm3_2D_data/test-2.dm3 dm3-test-2.dm3 f40485142df39dbdc06d7225983f3e0676c8a3a1caa614fbe5c1918c8a33b1c7
fetch hyperspy==1.7.5 --only-binary $H/dm4_2D_data/test-1.dm4 dm4-test-1.dm4 c02359ad86d741d90e7ec981ef0a38a682f38f5156a196d95992c419f490255f
fetch mrcfile==1.5.4 --no-binary mrcfile-1.5.4/tests/test_data/EMD-3197.map EMD-3197.mrc 351d5090d4c56eb5fc41796842ad64abecc238b8da6181f8857be5844dbbc262
fetch mrcfile==1.5.4 --no-binary mrcfile-1.5.4/tests/test_data/fei-extended.mrc fei-extended.mrc e9f168012031b3a6ea47fbed8eca8b9c8a040b4d1f4fbb2e3326bdb6d9307efe
exec "$venv/bin/python" "$here/check_images.py" --aptwin "$aptwin" --images "$img" --work "$work" --scenario "$repo/Scenarios/tiny.yaml"
