#!/usr/bin/env bash
# Runs every test: installs the dependencies if needed, builds, then runs the
# install path with nothing installed (shims), lit (FileCheck tests) and
# ctest (GoogleTest), the README's walk-through as written, the runtime-only
# build that proves the runtime needs no LLVM/MLIR, the runtime side's unit
# tests under ASan + UBSan, and the fuzzers for a bounded time
# (FSNN_FUZZ_SECONDS per target, default 30). Fails if any test fails or if a
# suite ran no test at all.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${FSNN_BUILD_DIR:-$root/build}"
lit=/usr/lib/llvm-22/bin/lit

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"

echo "=== install path (nothing installed, shims for dpkg-query/apt-get/sudo) ==="
"$root/scripts/test-install-deps.sh"

echo "=== lit ==="
lit_log="$(mktemp)"
trap 'rm -f "$lit_log"' EXIT
status=0
"$lit" -sv "$build/test" 2>&1 | tee "$lit_log" || status=$?
lit_passed="$(sed -n 's/^ *Passed *: *\([0-9]*\).*/\1/p' "$lit_log" | tail -1)"
if [ "$status" -ne 0 ]; then
  echo "test: lit failed" >&2
  exit 1
fi
if [ -z "$lit_passed" ] || [ "$lit_passed" -eq 0 ]; then
  echo "test: lit ran no test" >&2
  exit 1
fi

echo "=== ctest (GoogleTest) ==="
ctest --test-dir "$build" --output-on-failure --no-tests=error -E '^lit$' -j2

echo "=== README walk-through, as written ==="
"$root/scripts/test-readme.sh"

echo "=== runtime without MLIR ==="
# A separate configuration with the compiler off: if anything on the runtime
# side of the wall needed LLVM or MLIR, this build would fail.
wall=("$root/runtime" "$root/training" "$root/tools/fsnn-model" "$root/tools/fsnn-run")
if grep -rnE '#include *[<"](mlir|llvm)/' "${wall[@]}"; then
  echo "test: the runtime side (runtime/, training/, fsnn-model, fsnn-run) includes MLIR or LLVM headers" >&2
  exit 1
fi
runtime_build="${build}-runtime"
cmake -G Ninja -S "$root" -B "$runtime_build" -DFSNN_ENABLE_COMPILER=OFF \
  -DFSNN_ENABLE_MPI=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$runtime_build"
ctest --test-dir "$runtime_build" --output-on-failure --no-tests=error -j2
# Built without MPI (as here), fsnn-train started as one of several ranks
# refuses instead of training alone and writing what the others write.
no_mpi_log="$(mktemp)"
if OMPI_COMM_WORLD_SIZE=2 "$runtime_build/bin/fsnn-train" model.fsnn \
  --dataset mnist --data-dir . -o out.fsnn >"$no_mpi_log" 2>&1; then
  echo "test: fsnn-train without MPI ran as one of 2 ranks" >&2
  exit 1
fi
if ! grep -q "this fsnn was built without MPI" "$no_mpi_log"; then
  cat "$no_mpi_log" >&2
  echo "test: fsnn-train without MPI did not say why it refused 2 ranks" >&2
  exit 1
fi
rm -f "$no_mpi_log"

echo "=== sanitizers: the runtime side's unit tests under ASan + UBSan ==="
# The loader, the descriptor, the C API, the model format, the reference
# executor, the data loaders and the trainer, built with clang-22.
asan_build="${build}-asan"
CC=clang-22 CXX=clang++-22 cmake -G Ninja -S "$root" -B "$asan_build" \
  -DFSNN_ENABLE_COMPILER=OFF -DFSNN_ENABLE_SANITIZERS=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$asan_build"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$asan_build" --output-on-failure --no-tests=error -j2

echo "=== fuzzing (model format, runtime loader, compiler; ASan/UBSan) ==="
fuzz_log="$build/fuzz.log"
if ! "$root/scripts/fuzz.sh" "${FSNN_FUZZ_SECONDS:-30}" >"$fuzz_log" 2>&1; then
  tail -60 "$fuzz_log"
  echo "test: a fuzzer failed (full log: $fuzz_log)" >&2
  exit 1
fi
grep '^fuzz:' "$fuzz_log"

echo "=== summary ==="
echo "lit: $lit_passed tests passed"
echo "ctest: all GoogleTest tests passed (compiler build and runtime-only build)"
echo "sanitizers: the runtime side's unit tests passed under ASan + UBSan"
echo "fuzz: ${FSNN_FUZZ_SECONDS:-30}s per target without a crash"
