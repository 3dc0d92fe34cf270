#!/usr/bin/env bash
# Side-by-side benchmark against the PyPI package aptrajectories 0.1.1 (Robin-Rolland charge model, Python).
# Usage: bash Validation/aptrajectories/run.sh --xyz ATOMS.csv --events N [--json] [more options: --help]
# Installs the package into a throwaway venv outside the repository (${TMPDIR:-/tmp}/aptraj-venv, or $APTRAJ_VENV)
# on first use, then runs run_aptrajectories.py. Only the result goes to stdout; pip's output goes to stderr.
# aptrajectories' declared dependencies (pyiron, nglview, jupyter, ...) do not resolve on PyPI today (pip backtracks
# into source builds of phonopy/mpi4py that fail), so it is installed with --no-deps plus the few packages that its
# charge and trajectory code imports; see README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${APTRAJ_VENV:-${TMPDIR:-/tmp}/aptraj-venv}"
if ! "$venv/bin/python" -c "import RobinRollandModel.main, structuretoolkit" >/dev/null 2>&1; then
    echo "run.sh: installing aptrajectories==0.1.1 into $venv" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --prefer-binary --no-deps --ignore-requires-python aptrajectories==0.1.1 >&2
    "$venv/bin/pip" install --quiet --prefer-binary numpy==1.26.4 scipy==1.13.0 h5io==0.2.5 "tqdm>=4.66.2,<5" \
        ase==3.22.1 structuretoolkit==0.0.22 >&2
fi
cd "${TMPDIR:-/tmp}"
args=()
while [ $# -gt 0 ]; do
    # make a relative --xyz path absolute before leaving the caller's directory
    if [ "$1" = "--xyz" ] && [ $# -gt 1 ]; then args+=("$1" "$(cd "$OLDPWD" && realpath -- "$2")"); shift 2; continue; fi
    args+=("$1"); shift
done
exec "$venv/bin/python" "$here/run_aptrajectories.py" "${args[@]}"
