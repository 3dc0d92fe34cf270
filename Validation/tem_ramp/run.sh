#!/usr/bin/env bash
# Runs the ramp scenario and renders its BF-TEM sequence (about 25 minutes on the busy 2-core development machine,
# 20 s for the frames).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-Output/validation_fecr_ramp}
rm -rf "$out"
.build/release/aptwin run Validation/tem_ramp/fecr_ramp.yaml --output "$out"
.build/release/aptwin tem sequence "$out" --count 8
.build/release/aptwin tem sequence "$out" --at-voltages-v 4000,4500,5010 --output "$out/tem_at_voltages"
cat "$out/tem_sequence/frames.csv" "$out/tem_at_voltages/frames.csv"
