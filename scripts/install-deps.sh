#!/usr/bin/env bash
# Installs every Debian 12 package fsnn needs to build and test. Safe to rerun:
# when everything is already installed it changes nothing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build python3 ccache
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22
  libeigen3-dev libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libcli11-dev libclang-rt-22-dev
  nlohmann-json3-dev zlib1g-dev dataset-fashion-mnist
)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
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
if ! apt-cache policy libmlir-22-dev | grep -q "Candidate: [0-9]"; then
  echo "install-deps: the package libmlir-22-dev (LLVM/MLIR 22) is not available." >&2
  echo "  It comes from Debian 12's bookworm-security suite; add" >&2
  echo "  'deb http://deb.debian.org/debian-security bookworm-security main'" >&2
  echo "  to /etc/apt/sources.list and rerun." >&2
  exit 1
fi

$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
