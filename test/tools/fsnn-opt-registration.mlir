// fsnn-opt registers the fsnn passes and pipelines, and the upstream passes
// the lowering pipelines are built from.
// RUN: fsnn-opt --help | FileCheck %s

// CHECK-DAG: --fsnn-fold-batch-norm
// CHECK-DAG: --fsnn-prepare-inference
// CHECK-DAG: --one-shot-bufferize
// CHECK-DAG: --convert-linalg-to-loops
// CHECK-DAG: --convert-to-llvm
// CHECK-DAG: --gpu-kernel-outlining
