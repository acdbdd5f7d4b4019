#!/usr/bin/env bash
# Writes everything a behaviour-preserving compiler change must leave
# byte-identical into OUTDIR: the pass pipelines, the LLVM IR of every zoo
# model (inference and, where supported, the training step; CPU and CUDA), the
# compiled F400 and 64C5s logits on 512 test images, and the models after
# compiled training steps. Compare two snapshots with `diff -r A B`.
#   scripts/snapshot-outputs.sh OUTDIR [BUILD_DIR]
set -euo pipefail
out=${1:?usage: scripts/snapshot-outputs.sh OUTDIR [BUILD_DIR]}
bin=$(cd "${2:-$(dirname "$0")/../build}" && pwd)/bin
data=/usr/share/datasets/fashion-mnist
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin/fsnn-model" create fmnist-f400 --seed 3 -o "$work/p.fsnn"
for flags in "" "--target cuda --chip sm_90" "--train" "--train --target cuda --chip sm_90" "--O0"; do
  name=pipeline$(echo "$flags" | tr ' ' '_')
  "$bin/fsnn-compile" "$work/p.fsnn" --batch 4 --emit=mlir -o "$work/p.mlir" \
    --dump-pipeline $flags >"$out/$name.txt" 2>&1
done

archs="fmnist-f400 mnist-64c5 nmnist-64c5 cifar10-alexnet-f cifar10-cifarnet-f"
for arch in $archs; do
  for neuron in if lif; do
    m=$work/$arch-$neuron.fsnn
    "$bin/fsnn-model" create "$arch" --neuron "$neuron" --seed 3 -o "$m"
    "$bin/fsnn-compile" "$m" --batch 4 --emit=llvm -o "$out/$arch-$neuron.cpu.ll"
    "$bin/fsnn-compile" "$m" --batch 4 --emit=mlir --target cuda --chip sm_90 \
      -o "$out/$arch-$neuron.cuda.mlir" 2>"$out/$arch-$neuron.cuda.err" || true
    for target in cpu cuda; do
      "$bin/fsnn-compile" "$m" --batch 4 --train --emit=mlir --target $target \
        --chip sm_90 -o "$out/$arch-$neuron.train.$target.mlir" \
        2>"$out/$arch-$neuron.train.$target.err" || true
    done
  done
done

"$bin/fsnn-model" create fmnist-f400 --seed 1 -o "$work/f400.fsnn"
"$bin/fsnn-model" create mnist-64c5 --seed 2 -o "$work/c5.fsnn"
for m in f400 c5; do
  "$bin/fsnn-compile" "$work/$m.fsnn" --batch 64 -o "$work/$m.so"
  "$bin/fsnn-run" "$work/$m.so" "$work/$m.fsnn" --images "$data/t10k-images-idx3-ubyte.gz" \
    --limit 512 --threads 2 --dump-logits "$out/$m.logits.bin" >/dev/null
  "$bin/fsnn-compile" "$work/$m.fsnn" --train --batch 16 -o "$work/$m.train.so"
  "$bin/fsnn-train" "$work/$m.fsnn" --dataset fashion-mnist --data-dir "$data" \
    --backend compiled --library "$work/$m.train.so" --batch 16 --epochs 1 \
    --max-steps 3 --train-limit 48 --test-limit 32 -o "$out/$m.trained.fsnn" >/dev/null 2>&1
done
rm -f "$out"/*.ckpt.fsnn
# What differs from run to run: the temporary directory in messages and the
# ptxas timings that MLIR records next to each CUDA binary.
sed -i "s|$work/||g" "$out"/*.err
sed -i 's/properties = {[^}]*}//' "$out"/*.cuda.mlir
echo "snapshot in $out: $(ls "$out" | wc -l) files"
