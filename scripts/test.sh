#!/usr/bin/env bash
# The test command (README, CI): install what is missing, then run every test in a release build
# (numerical code runs 50-200x slower in debug builds).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
swift test -c release "$@"
