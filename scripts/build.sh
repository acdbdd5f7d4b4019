#!/usr/bin/env bash
# Configures and builds fsnn into build/ (or $FSNN_BUILD_DIR). Extra arguments
# go to CMake, e.g. scripts/build.sh -DCMAKE_BUILD_TYPE=Debug.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${FSNN_BUILD_DIR:-$root/build}"
cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="${FSNN_BUILD_TYPE:-Release}" "$@"
cmake --build "$build"
