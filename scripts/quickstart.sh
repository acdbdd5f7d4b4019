#!/usr/bin/env bash
# The main job on an embedded default: install the dependencies, build, then
# take the paper's Fashion-MNIST F400 model from description to native code:
#   fsnn-model create  -> a model file with the paper's initialisation
#   fsnn-model info    -> architecture, shapes, parameter and neuron counts
#   fsnn-translate     -> the fsnn dialect (layer names as locations)
#   fsnn-opt           -> the inference pipeline (dropout removed, BN folded
#                         into F and hoisted out of the time loop)
#   fsnn-compile       -> a shared library
#   fsnn-run           -> the library on Debian's Fashion-MNIST test images,
#                         checked against the reference executor
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

images=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
labels=/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
case "$arch" in
  fmnist-f400) limit=10000 ;;
  mnist-64c5) limit=256 ;;  # the compiled convolutions are still slow
  *) echo "quickstart: $arch does not take 28x28 images; stopping before fsnn-run"; exit 0 ;;
esac
set -x
"$bin/fsnn-compile" "$out/$arch.fsnn" -o "$out/$arch.so"
"$bin/fsnn-run" "$out/$arch.so" --model "$out/$arch.fsnn" --images "$images" \
  --labels "$labels" --limit "$limit"
"$bin/fsnn-run" "$out/$arch.so" --model "$out/$arch.fsnn" --images "$images" \
  --limit "$limit" --compare-reference
