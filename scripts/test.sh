#!/usr/bin/env bash
# The test command (README, CI): install what is missing, then run every test in a release build
# (numerical code runs 50-200x slower in debug builds). The suite is XCTest only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
swift test -c release --disable-swift-testing "$@" 2>&1 | tee "$log" || status=$?
# A plain closing line, read by CI: "N passed, N failed".
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with" "$log" | tail -n 1 || true)
if [ -n "$summary" ]; then
  total=$(echo "$summary" | sed -E 's/^[[:space:]]*Executed ([0-9]+) tests?.*/\1/')
  failed=$(echo "$summary" | sed -E 's/.* ([0-9]+) failures?.*/\1/')
  skipped=0
  if echo "$summary" | grep -qE "[0-9]+ tests? skipped"; then
    skipped=$(echo "$summary" | sed -E 's/.* ([0-9]+) tests? skipped.*/\1/')
  fi
  echo "$((total - failed - skipped)) passed, $failed failed, $skipped skipped"
fi
exit "$status"
