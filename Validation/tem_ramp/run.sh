#!/usr/bin/env bash
# Runs the ramp scenario and renders its BF-TEM sequence (about 10 minutes on the 2-core development machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-Output/validation_fecr_ramp}
rm -rf "$out"
.build/release/aptwin run Validation/tem_ramp/fecr_ramp.yaml --output "$out"
.build/release/aptwin tem sequence "$out" --count 8
cat "$out/tem_sequence/frames.csv"
