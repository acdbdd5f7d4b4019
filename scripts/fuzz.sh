#!/usr/bin/env bash
# Builds the model fuzzer with clang-22 (ASan + UBSan) into build-fuzz/ and
# runs it for a bounded time (default 60 s), seeded with the zoo models and
# the hand-written test models. Fails on any crash or sanitizer report.
# Usage: scripts/fuzz.sh [seconds]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
build="${FSNN_FUZZ_BUILD_DIR:-$root/build-fuzz}"
tools="${FSNN_BUILD_DIR:-$root/build}/bin"

CC=clang-22 CXX=clang++-22 cmake -G Ninja -S "$root" -B "$build" \
  -DCMAKE_BUILD_TYPE=Release -DFSNN_ENABLE_FUZZER=ON -DFSNN_ENABLE_TESTS=OFF \
  >/dev/null
cmake --build "$build" --target fsnn-model-fuzzer

corpus="$(mktemp -d)"
trap 'rm -rf "$corpus"' EXIT
# Seeds: the small zoo models (binary), the hand-written text models and
# their binary forms.
for arch in fmnist-f400 mnist-64c5 nmnist-64c5; do
  "$tools/fsnn-model" create "$arch" -o "$corpus/$arch.fsnn" >/dev/null
done
for text in "$root"/test/Target/Model/Inputs/*.fsnn.txt; do
  name="$(basename "$text" .fsnn.txt)"
  cp "$text" "$corpus/$name.txt"
  "$tools/fsnn-model" convert "$text" -o "$corpus/$name.fsnn"
done

cd "$build"
"$build/bin/fsnn-model-fuzzer" "$corpus" -max_total_time="$seconds" \
  -max_len=65536 -timeout=20 -rss_limit_mb=4096 -print_final_stats=1
echo "fuzz: ran ${seconds}s without a crash"
