#!/usr/bin/env bash
# The main job on an embedded default: install the dependencies, build, then
# take the paper's Fashion-MNIST F400 model from description to optimised IR:
#   fsnn-model create  -> a model file with the paper's initialisation
#   fsnn-model info    -> architecture, shapes, parameter and neuron counts
#   fsnn-translate     -> the fsnn dialect (layer names as locations)
#   fsnn-opt           -> the inference pipeline (dropout removed, BN folded
#                         into F and hoisted out of the time loop)
# Usage: scripts/quickstart.sh [ARCH]   (default fmnist-f400; see fsnn-model create --help)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
arch="${1:-fmnist-f400}"
build="${FSNN_BUILD_DIR:-$root/build}"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" >/dev/null
out="$build/quickstart"
mkdir -p "$out"
bin="$build/bin"
set -x
"$bin/fsnn-model" create "$arch" -o "$out/$arch.fsnn"
"$bin/fsnn-model" info "$out/$arch.fsnn"
"$bin/fsnn-translate" --import "$out/$arch.fsnn" --batch 128 -o "$out/$arch.mlir"
"$bin/fsnn-opt" -fsnn-prepare-inference "$out/$arch.mlir" \
  --mlir-elide-resource-strings-if-larger=32 -o "$out/$arch.inference.mlir"
set +x
grep -v "^#loc" "$out/$arch.inference.mlir" | sed -e 's/ loc([^)]*)//g' | head -40
echo "quickstart: wrote $out/$arch.fsnn, $arch.mlir and $arch.inference.mlir"
