#!/usr/bin/env bash
# Kinetics and field-scale figures of the evaporation engine (issue 14): bursts, servo lock-out, refresh jumps,
# field scale, charge states, on the quickstart (Fe-51Cr, R = 10 nm), a pure Fe <001> R = 6 nm needle at 25 kHz
# and the 4e4-atom W <110> tip. Prints the benchmark JSON (aptwin bench kinetics).
#   Validation/kinetics/run.sh                 one seed, each case's default event count
#   Validation/kinetics/run.sh --seeds 5 --events 100000 --case fe    the lock-out check
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds=1; events=0; case_filter=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    --case) case_filter=(--kinetics-case "$2"); shift 2 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 64 ;;
  esac
done
swift build -c release --product aptwin >/dev/null
.build/release/aptwin bench kinetics --json --kinetics-seeds "$seeds" --kinetics-events "$events" "${case_filter[@]}"
