#!/usr/bin/env bash
# The main job on the embedded default: install the dependencies, build, then
# compile the shipped F400 model (examples/fmnist-f400.mlir) through the
# inference-preparation pipeline and print the result.
# Usage: scripts/quickstart.sh [model.mlir]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model="${1:-$root/examples/fmnist-f400.mlir}"
if [ ! -f "$model" ]; then
  echo "quickstart: model file '$model' does not exist" >&2
  exit 1
fi
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" >/dev/null
echo "quickstart: fsnn-opt -fsnn-prepare-inference $model"
"${FSNN_BUILD_DIR:-$root/build}/bin/fsnn-opt" -fsnn-prepare-inference "$model"
