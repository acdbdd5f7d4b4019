// The whole CPU pipeline leaves nothing but the LLVM dialect: the imported
// F400-style model (with dropout and BN, which inference removes and folds)
// becomes one LLVM function whose results are out-parameters.
// RUN: fsnn-opt %fsnn_src_root/examples/fmnist-f400.mlir -fsnn-lower-to-llvm | FileCheck %s
// RUN: fsnn-opt %fsnn_src_root/examples/cifar10-alexnet-f.mlir -fsnn-lower-to-llvm | FileCheck %s --check-prefix=CIFAR

// CHECK: llvm.func @fmnist_f400(
// CHECK-NOT: fsnn.
// CHECK-NOT: linalg.
// CHECK-NOT: scf.
// CHECK-NOT: memref.
// CHECK-NOT: tensor.
// CHECK: llvm.return

// CIFAR: llvm.func @cifar10_alexnet_f(
// CIFAR-NOT: {{(fsnn|linalg|scf|memref|tensor)\.}}
