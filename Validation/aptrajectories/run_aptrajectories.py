#!/usr/bin/env python3
"""Times the PyPI package `aptrajectories` (module RobinRollandModel) on a needle given as a CSV of atom positions.

Usage: python run_aptrajectories.py --xyz ATOMS.csv --events N [--json]

ATOMS.csv has the header x_nm,y_nm,z_nm and describes a needle whose axis is z and whose apex is at max z.
The package is only called, never copied: this file drives its public static methods
`RRModel.charge_distribution_z` (the dense O(Ns^2) Robin-Rolland charge sweep over the surface atoms, followed by
the Maxwell stress q^2/2s^2) and, optionally, `RRModel.evaporation_trajectory` / `RRModel.run_evaporation`.
Run it through run.sh, which installs the package into a throwaway virtual environment outside the repository.
Only the JSON result goes to stdout (one line with --json); everything the package prints goes to stderr.
"""
import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
import types

import numpy as np


class _CountingNumpy:
    """Stands in for the `np` name inside RobinRollandModel.main to count its `np.dot` calls.

    `charge_distribution_z` calls `np.dot` exactly once per charged surface atom per sweep, so
    dot calls / charged surface atoms = sweeps (iterations) of that call. Every other attribute is numpy's own."""

    def __init__(self, module):
        self._np = module
        self.dot_calls = 0

    def __getattr__(self, name):
        return getattr(self._np, name)

    def dot(self, *args, **kwargs):
        self.dot_calls += 1
        return self._np.dot(*args, **kwargs)


def make_structure(positions_angstrom):
    """A structure object with the interface RRModel needs: `positions`, `len`, fancy indexing, `del`, `copy` and
    `get_neighbors(num_neighbors=...)` returning `.shells` and `.vecs`.

    aptrajectories 0.1.1 expects a pyiron_atomistics `Atoms`; that is used when importable. Otherwise (the usual case:
    aptrajectories' full dependency set does not install, see README.md) an `ase.Atoms` whose `get_neighbors` is
    `structuretoolkit.get_neighbors`, which is the neighbour search that pyiron_atomistics' `Atoms.get_neighbors`
    itself calls."""
    n = len(positions_angstrom)
    cell = np.ptp(positions_angstrom, axis=0) + 40.0
    try:
        from pyiron_atomistics.atomistics.structure.atoms import Atoms as PyironAtoms  # noqa: F401

        return PyironAtoms(symbols=["W"] * n, positions=positions_angstrom, cell=cell, pbc=False), "pyiron_atomistics.Atoms"
    except Exception:
        pass
    import ase
    import structuretoolkit

    class NeedleAtoms(ase.Atoms):
        def get_neighbors(self, num_neighbors=12, **kwargs):
            return structuretoolkit.get_neighbors(self, num_neighbors=num_neighbors, **kwargs)

    return NeedleAtoms(symbols=["W"] * n, positions=positions_angstrom, cell=cell, pbc=False), \
        "ase.Atoms + structuretoolkit.get_neighbors (pyiron_atomistics not installed)"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--xyz", required=True, help="CSV with header x_nm,y_nm,z_nm (apex at max z)")
    ap.add_argument("--events", type=int, default=20, help="evaporation events to run (default 20)")
    ap.add_argument("--json", action="store_true", help="print the result as one JSON line")
    ap.add_argument("--mode", choices=["charge", "charge+trajectory", "run_evaporation"], default="charge",
                    help="charge: time only the charge/field step per event (default); charge+trajectory: also the "
                         "package's 200-step trajectory per event, timed separately; run_evaporation: the package's "
                         "own loop RRModel.run_evaporation (trajectories, h5 output to a temp dir, nn_n fixed at 12)")
    ap.add_argument("--seed", type=int, default=1, help="numpy seed (the package starts from random charges)")
    ap.add_argument("--e-field", type=float, default=4.0, help="applied field in V/Å (package default 4)")
    ap.add_argument("--radius-nm", type=float, default=5.0,
                    help="apex radius; the package uses it only to normalise the total charge (default 5)")
    ap.add_argument("--neutral-below-nm", type=float, default=None,
                    help="the package's `zheight`: surface atoms below this z carry no charge "
                         "(default: 0.5 nm above the lowest atom, i.e. only the cut base of the needle)")
    ap.add_argument("--nn-n", type=int, default=0,
                    help="surface = first-shell coordination < nn_n (package default 12 is for fcc); "
                         "0 (default) = the most common first-shell coordination of the tip (8 for bcc)")
    ap.add_argument("--steps", type=int, default=1000, help="max sweeps per charge solve (package default 1000)")
    ap.add_argument("--epsilon", type=float, default=1e-9, help="convergence threshold (package default 1e-9)")
    args = ap.parse_args()

    xyz = os.path.abspath(args.xyz)
    workdir = tempfile.mkdtemp(prefix="aptraj-run-")
    os.chdir(workdir)  # nothing the package or its dependencies write can land in the caller's directory
    try:
        with contextlib.redirect_stdout(sys.stderr):
            result = run(args, xyz, workdir)
    finally:
        os.chdir(tempfile.gettempdir())
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2), flush=True)


def run(args, xyz, workdir):
    from importlib.metadata import version

    import RobinRollandModel.main as rrmain
    from RobinRollandModel.main import RRModel

    counter = _CountingNumpy(rrmain.np)
    rrmain.np = counter

    t_setup = time.perf_counter()
    pos_nm = np.loadtxt(xyz, delimiter=",", skiprows=1, ndmin=2)[:, :3]
    pos = pos_nm * 10.0  # the package works in Å
    structure, structure_kind = make_structure(pos)
    zmin, zmax = float(pos[:, 2].min()), float(pos[:, 2].max())
    zheight = (zmin + 5.0) if args.neutral_below_nm is None else args.neutral_below_nm * 10.0
    radius = args.radius_nm * 10.0
    nn_n = args.nn_n
    if nn_n <= 0:
        nn = structure.get_neighbors(num_neighbors=24)
        coordination = np.apply_along_axis(RRModel.nunique, 1, nn.shells)
        nn_n = int(np.bincount(coordination).argmax())
    np.random.seed(args.seed)
    notes = [f"structure: {structure_kind}",
             f"atoms below z={zheight / 10:.3f} nm (bottom cut) carry no charge",
             f"E={args.e_field} V/Å, R={args.radius_nm} nm, steps={args.steps}, epsilon={args.epsilon}, seed={args.seed}"]
    iterations = []
    evaporated_depth_nm = []
    traj_wall = 0.0
    n_events = args.events

    def charge(struct):
        before = counter.dot_calls
        out = RRModel.charge_distribution_z(structure=struct, e_field=args.e_field, radius=radius, steps=args.steps,
                                            epsilon=args.epsilon, zheight=zheight, nn_n=nn_n)
        charged = len(out["surface_indices"]) - len(out["surface_neutral_indices"][0])
        iterations.append((counter.dot_calls - before) / max(1, charged))
        return out

    if args.mode == "run_evaporation":
        setup_wall = time.perf_counter() - t_setup
        nn_n = 12  # run_evaporation calls charge_distribution_z without nn_n, i.e. with the package default 12
        first = charge(structure.copy())  # only to report the surface size; not part of the timed loop
        iterations.clear()
        surface_atoms = len(first["surface_indices"])
        charged_atoms = surface_atoms - len(first["surface_neutral_indices"][0])
        # run_evaporation uses tip_generator only for .ah (radius) and .zheight
        model = RRModel(tip_generator=types.SimpleNamespace(ah=radius, zheight=zheight), structure=structure,
                        e_field=args.e_field)
        dots0 = counter.dot_calls
        t0, c0 = time.perf_counter(), time.process_time()
        model.run_evaporation(num_atoms=n_events, path=workdir, steps=args.steps, epsilon=args.epsilon)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        iterations = [(counter.dot_calls - dots0) / (n_events + 1) / max(1, charged_atoms)]
        notes.append("timed: the package's own RRModel.run_evaporation (N+1 charge solves with nn_n=12, N 200-step "
                     "trajectories, h5 output to a temp dir); its initial solve is inside wall_s")
        if surface_atoms == len(pos):
            notes.append("with nn_n=12 every atom of this tip counts as surface (bulk bcc has 8 first neighbours), "
                         "so the O(Ns^2) sweep runs over all atoms")
    else:
        first = charge(structure)
        setup_wall = time.perf_counter() - t_setup
        surface_atoms = len(first["surface_indices"])
        charged_atoms = surface_atoms - len(first["surface_neutral_indices"][0])
        out = first
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n_events):
            k = int(np.argmax(out["maxwell_stress"]))
            atom = int(out["surface_indices"][k])
            evaporated_depth_nm.append((zmax - float(structure.positions[atom, 2])) / 10.0)
            if args.mode == "charge+trajectory":
                tt = time.perf_counter()
                RRModel.evaporation_trajectory(structure=structure, surf_indices=out["surface_indices"],
                                               new_charge=out["final_charge"], evap_ind=k, num_steps=200, dt=1.5)
                traj_wall += time.perf_counter() - tt
            del structure[atom]
            out = charge(structure)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        notes.append(f"surface = first-shell coordination < nn_n={nn_n}")
        notes.append("timed per event: argmax of the package's maxwell_stress, removal of that atom, and a full "
                     "RRModel.charge_distribution_z on the new tip (neighbour search + surface detection + charge "
                     "sweep); the first solve is in setup_wall_s"
                     + ("; trajectories (RRModel.evaporation_trajectory, 200 steps, dt 1.5) included, also given "
                        "as trajectory_wall_s" if args.mode == "charge+trajectory" else "; no trajectories"))

    it_mean = float(np.mean(iterations)) if iterations else None
    if it_mean is not None and it_mean <= 1.0 + 1e-9:
        notes.append("the package's convergence test compares the new charges with themselves (always 0 < epsilon), "
                     "so every charge solve stops after one sweep from random initial charges")
    result = {
        "tool": "aptrajectories",
        "version": version("aptrajectories"),
        "atoms": int(len(pos)),
        "surface_atoms": int(surface_atoms),
        "charged_surface_atoms": int(charged_atoms),
        "events": int(n_events),
        "wall_s": wall,
        "cpu_s": cpu,
        "events_per_s": n_events / wall if wall > 0 else None,
        "s_per_event": wall / n_events if n_events else None,
        "iterations_per_event": it_mean,
        "setup_wall_s": setup_wall,
        "mode": args.mode,
        "nn_n": nn_n,
        "notes": "; ".join(notes),
    }
    if args.mode == "charge+trajectory":
        result["trajectory_wall_s"] = traj_wall
    if evaporated_depth_nm:
        result["max_evaporated_depth_below_apex_nm"] = max(evaporated_depth_nm)
    return result


if __name__ == "__main__":
    main()
