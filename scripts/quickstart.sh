#!/usr/bin/env bash
# One command from a fresh Debian machine: install what is missing, build in release, run the default scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product aptwin
.build/release/aptwin run Scenarios/quickstart.yaml "$@"
