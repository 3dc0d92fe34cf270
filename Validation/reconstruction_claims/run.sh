#!/usr/bin/env bash
# The evolving-shape cases of the reconstruction claim: runs each scenario (the run renders its TEM frames and scores
# every protocol into report.md), then prints the score tables. About 3 minutes per case on the 2-core development
# machine. Usage: run.sh [OUTPUT_DIR] [CASE...]; APTWIN=path overrides the binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${APTWIN:-.build/release/aptwin}
out=${1:-Output/reconstruction_claims}
shift || true
cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=(fecr_blunting alag_precipitates fecr_grain_boundary)
mkdir -p "$out"
for c in "${cases[@]}"; do
  rm -rf "${out:?}/$c"
  "$bin" run "Validation/reconstruction_claims/$c.yaml" --output "$out/$c"
  "$bin" score "$out/$c" --json > "$out/$c/scores.json"
  echo "== $c"
  sed -n '/## Reconstruction scores/,$p' "$out/$c/report.md"
done
