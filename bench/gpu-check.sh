#!/usr/bin/env bash
# The GPU check, in two halves, because the GPU machine has CUDA
# and a driver but no LLVM/MLIR and nothing can be installed there:
#
#   bench/gpu-check.sh prepare [DIR]   here, with fsnn built (build/): makes
#       the models (F400 trained for one epoch through the compiled CPU
#       step, 64C5s-F64C5 at its initialisation), compiles each for CUDA
#       (sm_90, the H200) and for a portable CPU (x86-64-v3), and gathers
#       fsnn-run (runtime only: no MLIR), the shared libraries it needs and
#       the Fashion-MNIST test set into DIR (default .gpucheck, ignored by
#       git) to copy to the GPU machine. The F400 training step is
#       compiled for both too.
#   bench/gpu-check.sh run [DIR]       on the GPU machine: per model, the GPU
#       run compared with the reference executor (spike counts and logits,
#       the tolerances of fsnn-run --compare-reference, as for the CPU
#       compiler), then images/s on the GPU next to the CPU library on all
#       cores, in one run; then 40 F400 training steps through the GPU step
#       and the CPU step from the same start, their losses compared step by
#       step and their images/s side by side. Prints a table, also to
#       $OUT/gpu-check.txt when OUT is set. Exits non-zero if a comparison
#       fails.
#
# bench/gpu-check.sh prepare here, copy .gpucheck/ over, then
#   bench/gpu-check.sh run there (about 5 minutes on an H200).
# Without a GPU, FSNN_CUDA_DRIVER=<build>/lib/libfsnn_fake_cuda.so runs the
# plumbing (the fake driver computes nothing, so the comparisons fail).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mode="${1:-}"
dir="${2:-$root/.gpucheck}"
data=/usr/share/datasets/fashion-mnist
models=(fmnist-f400 mnist-64c5)

prepare() {
  local build="${FSNN_BUILD_DIR:-$root/build}" bin
  bin="$build/bin"
  for tool in fsnn-model fsnn-compile fsnn-train fsnn-run; do
    [ -x "$bin/$tool" ] || { echo "gpu-check: $bin/$tool is missing; run scripts/build.sh" >&2; exit 1; }
  done
  [ -f "$data/t10k-images-idx3-ubyte.gz" ] ||
    { echo "gpu-check: $data has no Fashion-MNIST (scripts/install-deps.sh installs it)" >&2; exit 1; }
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/lib" "$dir.tmp/data"
  local work="$dir.tmp/work"
  mkdir -p "$work"
  "$bin/fsnn-model" create fmnist-f400 --seed 1 -o "$dir.tmp/fmnist-f400.init.fsnn"
  "$bin/fsnn-compile" "$dir.tmp/fmnist-f400.init.fsnn" --train --batch 128 -o "$work/f400.train.so"
  "$bin/fsnn-compile" "$dir.tmp/fmnist-f400.init.fsnn" --batch 100 -o "$work/f400.eval.so"
  "$bin/fsnn-train" "$dir.tmp/fmnist-f400.init.fsnn" --dataset fashion-mnist --data-dir "$data" \
    --backend compiled --library "$work/f400.train.so" --eval-library "$work/f400.eval.so" \
    --epochs 1 --seed 1 -o "$dir.tmp/fmnist-f400.fsnn" --log "$work/f400.jsonl"
  "$bin/fsnn-model" create mnist-64c5 --seed 1 -o "$dir.tmp/mnist-64c5.fsnn"
  for m in "${models[@]}"; do
    "$bin/fsnn-compile" "$dir.tmp/$m.fsnn" --target cuda --chip sm_90 --batch 256 -o "$dir.tmp/$m.cuda.so"
    # 16 cores there: chunks of 16 of a 256 batch.
    "$bin/fsnn-compile" "$dir.tmp/$m.fsnn" --cpu x86-64-v3 --batch 16 -o "$dir.tmp/$m.cpu.so"
  done
  # The training step (the F400 after one epoch goes on training).
  "$bin/fsnn-compile" "$dir.tmp/fmnist-f400.fsnn" --train --target cuda --chip sm_90 --batch 128 \
    -o "$dir.tmp/fmnist-f400.train.cuda.so"
  "$bin/fsnn-compile" "$dir.tmp/fmnist-f400.fsnn" --train --cpu x86-64-v3 --batch 128 \
    -o "$dir.tmp/fmnist-f400.train.cpu.so"
  cp "$bin/fsnn-run" "$bin/fsnn-train" "$dir.tmp/"
  # What the tools link beyond the C and C++ runtimes.
  ldd "$bin/fsnn-run" "$bin/fsnn-train" | awk '/=> \// {print $3}' | grep -E 'libprotobuf|libz\.' |
    sort -u | while read -r lib; do cp -L "$lib" "$dir.tmp/lib/"; done
  cp "$data"/t10k-*.gz "$dir.tmp/data/"
  # Training reads train-*; the test set stands in for it (the check
  # compares the two backends, not the accuracy).
  ln -s t10k-images-idx3-ubyte.gz "$dir.tmp/data/train-images-idx3-ubyte.gz"
  ln -s t10k-labels-idx1-ubyte.gz "$dir.tmp/data/train-labels-idx1-ubyte.gz"
  rm -rf "$work" "$dir" "$dir.tmp"/*.ckpt.fsnn
  mv "$dir.tmp" "$dir"
  du -sh "$dir"
  echo "gpu-check: prepared $dir; on the GPU machine: bench/gpu-check.sh run"
}

field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

run() {
  [ -x "$dir/fsnn-run" ] || { echo "gpu-check: $dir/fsnn-run is missing; run bench/gpu-check.sh prepare first" >&2; exit 1; }
  export LD_LIBRARY_PATH="$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  local report="${OUT:-$dir}/gpu-check.txt" cores status=0
  cores="$(nproc)"
  local images="$dir/data/t10k-images-idx3-ubyte.gz" labels="$dir/data/t10k-labels-idx1-ubyte.gz"
  {
    echo "gpu-check $(date -u +%FT%TZ) on $(hostname)"
    nvidia-smi -L 2>/dev/null || echo "nvidia-smi: not available"
    echo "CPU: $cores cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  } | tee "$report"
  for m in "${models[@]}"; do
    local model="$dir/$m.fsnn" compare_limit speed_limit
    if [ "$m" = mnist-64c5 ]; then compare_limit=256; speed_limit=2048; else compare_limit=2000; speed_limit=10000; fi
    echo "== $m" | tee -a "$report"
    # The GPU's counts and logits against the reference executor (float32,
    # float64 for threshold ties): the tolerances of the CPU compiler's
    # check (>= 99.9% identical counts outside ties, logits within 1e-4).
    if ! "$dir/fsnn-run" "$dir/$m.cuda.so" --model "$model" --device cuda --images "$images" \
      --limit "$compare_limit" --batch 256 --threads "$cores" --compare-reference 2>&1 | tee -a "$report"; then
      echo "$m: FAILED: the GPU results disagree with the reference (or did not run)" | tee -a "$report"
      status=1
    fi
    # Throughput, side by side in one run: the GPU library (chunks of 256
    # from 4 host threads, each on its own stream), then the CPU library on
    # every core, on the same images.
    local gpu cpu accuracy
    gpu="$("$dir/fsnn-run" "$dir/$m.cuda.so" --model "$model" --device cuda --images "$images" \
      --labels "$labels" --limit "$speed_limit" --batch 256 --threads 4 --json)" || { status=1; gpu='{"images_per_second": 0, "accuracy": 0}'; }
    cpu="$("$dir/fsnn-run" "$dir/$m.cpu.so" --model "$model" --images "$images" \
      --labels "$labels" --limit "$speed_limit" --batch 256 --threads "$cores" --json)" || { status=1; cpu='{"images_per_second": 0, "accuracy": 0}'; }
    local gpu_ips cpu_ips
    gpu_ips="$(echo "$gpu" | field images_per_second)"
    cpu_ips="$(echo "$cpu" | field images_per_second)"
    accuracy="$(echo "$gpu" | field accuracy)"
    python3 - "$m" "$gpu_ips" "$cpu_ips" "$cores" "$accuracy" "$speed_limit" <<'EOF' | tee -a "$report"
import sys
m, gpu, cpu, cores, accuracy, n = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], float(sys.argv[5]), sys.argv[6]
ratio = gpu / cpu if cpu > 0 else float("nan")
print(f"{m}: inference on {n} images, batch 256: GPU {gpu:,.0f} images/s, "
      f"CPU ({cores} threads, x86-64-v3) {cpu:,.0f} images/s, GPU/CPU {ratio:.2f}x; "
      f"GPU accuracy {100 * accuracy:.2f}%")
EOF
  done
  train || status=1
  echo "gpu-check: $( [ $status = 0 ] && echo passed || echo FAILED ); report in $report"
  return $status
}

# 40 steps of batch 128 from the same initial model, seed and data order
# through the
# GPU step and the CPU step (one thread: the compiled step is serial).
train() {
  local model="$dir/fmnist-f400.init.fsnn" work="${OUT:-$dir}"
  local common=(--dataset fashion-mnist --data-dir "$dir/data" --backend compiled --epochs 1
    --train-limit 5120 --test-limit 1000 --log-every 1 --seed 1)
  echo "== fmnist-f400 training" | tee -a "$report"
  "$dir/fsnn-train" "$model" "${common[@]}" --library "$dir/fmnist-f400.train.cuda.so" \
    --eval-library "$dir/fmnist-f400.cuda.so" -o "$work/train-gpu.fsnn" --log "$work/train-gpu.jsonl" \
    2>&1 | tail -2 | tee -a "$report" || return 1
  "$dir/fsnn-train" "$model" "${common[@]}" --library "$dir/fmnist-f400.train.cpu.so" \
    --eval-library "$dir/fmnist-f400.cpu.so" -o "$work/train-cpu.fsnn" --log "$work/train-cpu.jsonl" \
    2>&1 | tail -2 | tee -a "$report" || return 1
  python3 - "$work/train-gpu.jsonl" "$work/train-cpu.jsonl" <<'EOF' | tee -a "$report"
import json, sys
def read(path):
    steps, epoch = {}, {}
    for line in open(path):
        r = json.loads(line)
        if r.get("type") == "step":
            steps[r["step"]] = r["loss"]
        elif r.get("type") == "epoch":
            epoch = r
    return steps, epoch
gpu, gpu_epoch = read(sys.argv[1])
cpu, cpu_epoch = read(sys.argv[2])
common = sorted(set(gpu) & set(cpu))
if not common:
    print("fmnist-f400 training: no steps logged -> DISAGREE")
    sys.exit(1)
first = common[0]
worst = max(abs(gpu[s] - cpu[s]) / max(abs(cpu[s]), 1e-12) for s in common)
first_diff = abs(gpu[first] - cpu[first]) / max(abs(cpu[first]), 1e-12)
ok = first_diff < 1e-3 and worst < 0.05 and len(common) >= 40
g, c = gpu_epoch.get("images_per_second", 0), cpu_epoch.get("images_per_second", 0)
print(f"fmnist-f400 training: {len(common)} steps; loss at step {first}: GPU {gpu[first]:.6f}, "
      f"CPU {cpu[first]:.6f} (relative difference {first_diff:.1e}); largest relative loss "
      f"difference over the steps {worst:.1e}; test accuracy GPU {100 * gpu_epoch.get('test_accuracy', 0):.2f}%, "
      f"CPU {100 * cpu_epoch.get('test_accuracy', 0):.2f}%")
print(f"fmnist-f400 training: GPU {g:,.0f} images/s, CPU (1 thread, x86-64-v3) {c:,.0f} images/s, "
      f"GPU/CPU {g / c if c else float('nan'):.2f}x -> {'agree' if ok else 'DISAGREE'}")
sys.exit(0 if ok else 1)
EOF
}

case "$mode" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: bench/gpu-check.sh prepare|run [DIR]" >&2; exit 2 ;;
esac
