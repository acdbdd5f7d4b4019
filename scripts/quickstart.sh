#!/usr/bin/env bash
# The main job on an embedded default: install the dependencies, build, then
# take the paper's Fashion-MNIST F400 model from description to a trained,
# compiled, evaluated model:
#   fsnn-model create     -> a model file with the paper's initialisation
#   fsnn-model info       -> architecture, shapes, parameter and neuron counts
#   fsnn-translate        -> the fsnn dialect, for inference and for training
#   fsnn-opt              -> the inference pipeline, and the implicit backward
#                            (fsnn-generate-backward) of the training step
#   fsnn-compile --train  -> the training step as a shared library
#   fsnn-compile          -> inference as a shared library
#   fsnn-train            -> trains through the compiled step on Debian's
#                            Fashion-MNIST (the paper's protocol, for
#                            FSNN_EPOCHS epochs; default 1), test accuracy
#                            after each epoch, a metrics log and its plot
#   fsnn-run              -> the trained model on the 10,000 test images,
#                            checked against the reference executor
# Usage: scripts/quickstart.sh [ARCH]   (default fmnist-f400; see fsnn-model create --help)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
arch="${1:-fmnist-f400}"
epochs="${FSNN_EPOCHS:-1}"
build="${FSNN_BUILD_DIR:-$root/build}"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" >/dev/null
out="$build/quickstart"
mkdir -p "$out"
bin="$build/bin"
data=/usr/share/datasets/fashion-mnist
set -x
"$bin/fsnn-model" create "$arch" --seed 1 -o "$out/$arch.fsnn"
"$bin/fsnn-model" info "$out/$arch.fsnn"
"$bin/fsnn-translate" --import "$out/$arch.fsnn" --batch 128 -o "$out/$arch.mlir"
"$bin/fsnn-opt" -fsnn-prepare-inference "$out/$arch.mlir" \
  --mlir-elide-resource-strings-if-larger=32 -o "$out/$arch.inference.mlir"
"$bin/fsnn-translate" --import --training "$out/$arch.fsnn" --batch 128 |
  "$bin/fsnn-opt" -fsnn-generate-backward --mlir-elide-resource-strings-if-larger=32 \
    -o "$out/$arch.train-step.mlir"
set +x
echo "quickstart: wrote $out/$arch.fsnn, $arch.mlir, $arch.inference.mlir and $arch.train-step.mlir"

case "$arch" in
  fmnist-f400 | mnist-64c5) ;;
  *) echo "quickstart: $arch does not take 28x28 images; stopping before training"; exit 0 ;;
esac
set -x
"$bin/fsnn-compile" "$out/$arch.fsnn" --train --batch 128 -o "$out/$arch.train.so"
"$bin/fsnn-compile" "$out/$arch.fsnn" --batch 100 -o "$out/$arch.so"
set +x
if [ "$arch" = mnist-64c5 ]; then
  # The compiled convolutions train at about 20 images/s on 2 cores: a short
  # run on the first 2,560 training images.
  limits=(--train-limit 2560 --test-limit 1000)
  echo "quickstart: note: Debian packages no MNIST, so mnist-64c5 trains here on Fashion-MNIST" \
    "(the same 28x28 format), briefly: 2,560 training and 1,000 test images"
else
  limits=()
fi
set -x
"$bin/fsnn-train" "$out/$arch.fsnn" --dataset fashion-mnist --data-dir "$data" \
  --backend compiled --library "$out/$arch.train.so" --eval-library "$out/$arch.so" \
  --epochs "$epochs" "${limits[@]}" --seed 1 -o "$out/$arch.trained.fsnn" --log "$out/$arch.metrics.jsonl"
"$bin/fsnn-run" "$out/$arch.so" "$out/$arch.trained.fsnn" --images "$data/t10k-images-idx3-ubyte.gz" \
  --labels "$data/t10k-labels-idx1-ubyte.gz"
"$bin/fsnn-run" "$out/$arch.so" "$out/$arch.trained.fsnn" --images "$data/t10k-images-idx3-ubyte.gz" \
  --limit 1000 --compare-reference
set +x
echo "quickstart: trained model $out/$arch.trained.fsnn, metrics $out/$arch.metrics.jsonl and plot $out/$arch.metrics.svg"
