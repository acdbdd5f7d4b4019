#!/usr/bin/env bash
# Runs the README's walk-through ("The tools one by one") exactly as written,
# in a scratch directory whose build/ is this checkout's build, so that no
# line of it can go stale. The GPU block runs too: its compile lines always,
# its --device cuda line on a machine with a GPU, and elsewhere it must stop
# with the clear "no CUDA driver/device" message.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${FSNN_BUILD_DIR:-$root/build}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ln -s "$build" "$work/build"
ln -s "$root/bench" "$work/bench"

# The fenced ```sh block right after a line starting with $1.
block_after() {
  awk -v start="$1" '
    index($0, start) == 1 { found = 1; next }
    found && /^```sh$/ { inside = 1; next }
    inside && /^```$/ { exit }
    inside { print }
  ' "$root/README.md"
}

cpu_block="$(block_after "The tools one by one")"
gpu_block="$(block_after "For NVIDIA GPUs")"
[ -n "$cpu_block" ] || { echo "test-readme: no walk-through block in README.md" >&2; exit 1; }
[ -n "$gpu_block" ] || { echo "test-readme: no GPU block in README.md" >&2; exit 1; }

cd "$work"
# The walk-through's mpirun line, as root here (Open MPI refuses root
# unless told).
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
echo "=== README walk-through (CPU) ==="
bash -euo pipefail -x -c "$cpu_block"

# What the walk-through promises, checked.
cmp m.fsnn back.fsnn
[ -s metrics.svg ] && [ -s trained.fsnn ] && [ -s weights/manifest.json ]
[ -s info.json ] && [ -s logits.npy ] && [ -s counts.npy ] && [ -s figures/training.png ]
[ -s parallel.fsnn ] && [ -s installed/lib/libfsnnrt.so ]
if grep -q '[0-9a-f]\{64\}' m.inference.mlir; then
  echo "test-readme: m.inference.mlir holds the weights in hex; the elision flag did nothing" >&2
  exit 1
fi

echo "=== README walk-through (GPU) ==="
if [ ! -x /usr/local/cuda/bin/ptxas ]; then
  echo "test-readme: no CUDA toolkit at /usr/local/cuda; GPU block skipped"
  exit 0
fi
data=/usr/share/datasets/fashion-mnist
while IFS= read -r line; do
  [ -n "$line" ] || continue
  if [[ "$line" == *"--device cuda"* ]] && ! nvidia-smi -L >/dev/null 2>&1; then
    if (eval "$line") >gpu.out 2>&1; then
      echo "test-readme: '$line' succeeded without a GPU" >&2
      exit 1
    fi
    grep -q "no CUDA driver\|no CUDA device" gpu.out || {
      cat gpu.out >&2
      echo "test-readme: without a GPU, '$line' must say there is none" >&2
      exit 1
    }
    echo "(no GPU here: the --device cuda line stopped with: $(tail -1 gpu.out))"
    continue
  fi
  (set -x; eval "$line")
done <<<"$gpu_block"
echo "test-readme: the README's walk-through ran as written"
