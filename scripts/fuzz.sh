#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-22 (ASan + UBSan) into build-fuzz/
# and runs each for a bounded time (default 60 s each; FSNN_FUZZ_TARGETS
# picks some of model, runtime, compile, npy, nir). Fails on any crash or sanitizer
# report. Prints each target's execution count.
#   model:   parse + validate + import + export, seeded with the zoo and the
#            hand-written test models;
#   runtime: what fsnn_model_open reads before running a library's code
#            (ELF headers, the descriptor), seeded with descriptors and a
#            small shared object;
#   compile: validated models through import and the CPU lowering
#            pipeline, seeded with the small hand-written models;
#   npy:     NumPy's .npy format as fsnn-run reads it, seeded with arrays
#            of each element type;
#   nir:     NIR files as fsnn-model import-nir reads them (HDF5 in a child
#            process) and the child's output fed to the importer, seeded
#            with small NIR graphs of every kind the tests write.
# Usage: scripts/fuzz.sh [seconds per target]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
targets="${FSNN_FUZZ_TARGETS:-model runtime compile npy nir}"
build="${FSNN_FUZZ_BUILD_DIR:-$root/build-fuzz}"
tools="${FSNN_BUILD_DIR:-$root/build}/bin"

CC=clang-22 CXX=clang++-22 cmake -G Ninja -S "$root" -B "$build" \
  -DCMAKE_BUILD_TYPE=Release -DFSNN_ENABLE_FUZZER=ON -DFSNN_ENABLE_TESTS=OFF \
  >/dev/null
for target in $targets; do
  cmake --build "$build" --target "fsnn-$target-fuzzer"
done

work="$(mktemp -d)"
trap 'rm -rf "$work" /tmp/fsnn-compile-fuzz-*.mlir' EXIT

seed_model() {
  mkdir -p "$work/model"
  for arch in fmnist-f400 mnist-64c5 nmnist-64c5; do
    "$tools/fsnn-model" create "$arch" -o "$work/model/$arch.fsnn" >/dev/null
  done
  seed_small_models "$work/model"
}
seed_small_models() { # the hand-written text models and their binary forms
  mkdir -p "$1"
  for text in "$root"/test/Target/Model/Inputs/*.fsnn.txt; do
    name="$(basename "$text" .fsnn.txt)"
    cp "$text" "$1/$name.txt"
    "$tools/fsnn-model" convert "$text" -o "$1/$name.fsnn"
  done
}
seed_runtime() {
  mkdir -p "$work/runtime"
  for seed in "$root"/test/fuzz/descriptors/*.txt; do
    { printf '\000'; cat "$seed"; } >"$work/runtime/$(basename "$seed")"
  done
  printf 'int fsnn_fuzz_seed(void) { return 1; }\n' >"$work/seed.c"
  clang-22 -shared -fPIC -O1 -s -o "$work/seed.so" "$work/seed.c"
  { printf '\001'; cat "$work/seed.so"; } >"$work/runtime/seed-elf"
}
seed_compile() { seed_small_models "$work/compile"; }
seed_npy() {
  mkdir -p "$work/npy"
  python3 - "$work/npy" <<'PY'
import struct, sys
for name, descr, shape, item in (("f4", "<f4", (2, 3), 4), ("f8", "<f8", (4,), 8),
                                  ("u1", "|u1", (2, 2, 2), 1), ("i8", "<i8", (3,), 8),
                                  ("i4", "<i4", (1, 1), 4), ("scalar", "<f4", (), 4)):
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * ((64 - (11 + len(header)) % 64) % 64) + "\n"
    count = 1
    for d in shape:
        count *= d
    with open(f"{sys.argv[1]}/{name}.npy", "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
        f.write(header.encode() + bytes(range(count * item)))
PY
}
seed_nir() {
  mkdir -p "$work/nir" "$work/nir-files"
  /usr/bin/python3 "$root/test/tools/fsnn-model/Inputs/nir_fixtures.py" \
    "$work/nir-files" --small
  cp "$work/nir-files"/*.nir "$work/nir/"
  # The same graphs in the child's wire form ('T' + the tree), as
  # runtime/nir/NirFile.cpp encodes them.
  /usr/bin/python3 - "$work/nir-files" "$work/nir" <<'PY'
import glob, os, struct, sys
import h5py, numpy as np
def u64(v): return struct.pack("<Q", v & (2**64 - 1))
def item(name, obj):
    if isinstance(obj, (h5py.Group, h5py.File)):
        out = bytes([0, 0]) + u64(len(name)) + name + u64(0)
        keys = sorted(obj.keys())
        out += u64(len(keys))
        for k in keys:
            out += item(k.encode(), obj[k])
        return out
    value = obj[()]
    arr = np.asarray(value)
    dims = b"".join(u64(d) for d in arr.shape)
    head = lambda kind, f32: bytes([kind, f32]) + u64(len(name)) + name + u64(arr.ndim) + dims
    if arr.dtype.kind == "f":
        return head(1, int(arr.dtype.itemsize == 4)) + arr.astype("<f8").tobytes()
    if arr.dtype.kind in "iu":
        return head(2, 0) + arr.astype("<i8").tobytes()
    strings = [s if isinstance(s, bytes) else str(s).encode() for s in arr.ravel()]
    return head(3, 0) + b"".join(u64(len(s)) + s for s in strings)
for path in glob.glob(os.path.join(sys.argv[1], "*.nir")):
    with h5py.File(path, "r") as f:
        tree = item(b"/", f)
    with open(os.path.join(sys.argv[2], os.path.basename(path) + ".tree"), "wb") as out:
        out.write(b"T" + tree)
PY
}

total=0
for target in $targets; do
  "seed_$target"
  log="$work/$target.log"
  echo "=== fuzzing $target for ${seconds}s ==="
  # libMLIR/libLLVM are Debian's, not instrumented, while the allocator
  # code inlined from their headers into fsnn is: slabs poisoned by one and
  # handed out by the other read as use-after-poison. Manual poisoning is
  # off; ASan still checks every heap, stack and global access.
  if ! (cd "$build" && ASAN_OPTIONS="allow_user_poisoning=0:${ASAN_OPTIONS:-}" \
    "$build/bin/fsnn-$target-fuzzer" "$work/$target" \
    -max_total_time="$seconds" -max_len=65536 -timeout=30 -rss_limit_mb=4096 \
    -print_final_stats=1 >"$log" 2>&1); then
    tail -60 "$log"
    echo "fuzz: fsnn-$target-fuzzer failed" >&2
    exit 1
  fi
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  echo "fuzz: $target: ${runs:-0} executions in ${seconds}s, no crash"
  total=$((total + ${runs:-0}))
done
echo "fuzz: ${total} executions in all, no crash"
