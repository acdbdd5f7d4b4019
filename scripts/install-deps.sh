#!/usr/bin/env bash
# Installs every Debian 12 package fsnn needs to build and test. Safe to rerun:
# when everything is already installed it changes nothing.
#
# Never pipe a command into an early-exiting reader (grep -q, head) here:
# under pipefail the writer dies of SIGPIPE and the pipeline fails although
# the match succeeded. Capture the output, then test it.
# scripts/test-install-deps.sh runs this script's whole install path with
# nothing installed (dpkg-query, apt-get and sudo replaced by shims).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build python3 ccache
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22
  libeigen3-dev libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libcli11-dev libclang-rt-22-dev libomp-22-dev
  nlohmann-json3-dev zlib1g-dev dataset-fashion-mnist
  libopenmpi-dev openmpi-bin libhdf5-dev python3-h5py
  python3-dev pybind11-dev python3-numpy python3-matplotlib python3-torch
)

installed() {
  local status
  status="$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" || return 1
  [[ "$status" == *"install ok installed"* ]]
}

has_candidate() {
  local policy
  policy="$(apt-cache policy "$1" 2>/dev/null)" || return 1
  [[ "$policy" =~ Candidate:\ [0-9] ]]
}

missing=()
for package in "${PACKAGES[@]}"; do
  installed "$package" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages are installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -q

# LLVM/MLIR 22 come from bookworm-security; without that source apt would
# fail later with a vaguer message, so check first.
if ! has_candidate libmlir-22-dev; then
  echo "install-deps: the package libmlir-22-dev (LLVM/MLIR 22) is not available." >&2
  echo "  It comes from Debian 12's bookworm-security suite; add" >&2
  echo "  'deb http://deb.debian.org/debian-security bookworm-security main'" >&2
  echo "  to /etc/apt/sources.list and rerun." >&2
  exit 1
fi

$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
