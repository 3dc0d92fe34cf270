#!/usr/bin/env bash
# Installs what AtomProbeTwin needs on a Debian machine when it is missing: GSL, libpng, HDF5 and pkg-config
# (development packages), then checks for the Swift toolchain. Safe to run repeatedly.
set -euo pipefail
need=()
pkg-config --exists gsl 2>/dev/null || need+=(libgsl-dev)
pkg-config --exists libpng 2>/dev/null || need+=(libpng-dev)
pkg-config --exists hdf5-serial 2>/dev/null || need+=(libhdf5-dev)   # NeXus NXapm files (Debian's serial HDF5)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! command -v swift >/dev/null 2>&1; then
  echo "setup: no 'swift' on PATH; install Swift 6.x (https://www.swift.org/install/linux/) and retry" >&2
  exit 1
fi
