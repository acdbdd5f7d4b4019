// The named inference pipeline folds BN into constant weights at compile
// time. Worked by hand: var + eps = [4, 1] so scale = gamma / 2 and gamma / 1
// = [1, 0.5]; W' = [[1, 2], [1.5, 2]]; b' = scale * (b - mean) + beta
// = [1 * (1 - 1) + 0.5, 0.5 * (-1 - 1) + 0] = [0.5, -1].
// RUN: fsnn-opt %s -fsnn-prepare-inference | FileCheck %s
// RUN: fsnn-opt %s -pass-pipeline='builtin.module(fsnn-prepare-inference)' | FileCheck %s

// CHECK-LABEL: func.func @constant_parameters
func.func @constant_parameters(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  // CHECK-DAG: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [1.500000e+00, 2.000000e+00]]> : tensor<2x2xf32>
  // CHECK-DAG: arith.constant dense<[5.000000e-01, -1.000000e+00]> : tensor<2xf32>
  // CHECK-NOT: fsnn.fold_batch_norm
  // CHECK-NOT: fsnn.batch_norm
  // CHECK: fsnn.linear
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %b = arith.constant dense<[1.0, -1.0]> : tensor<2xf32>
  %gamma = arith.constant dense<[2.0, 0.5]> : tensor<2xf32>
  %beta = arith.constant dense<[0.5, 0.0]> : tensor<2xf32>
  %mean = arith.constant dense<1.0> : tensor<2xf32>
  %var = arith.constant dense<[3.25, 0.25]> : tensor<2xf32>
  %i = fsnn.linear %x, %w, %b : tensor<3x2xf32>, tensor<2x2xf32>, tensor<2xf32> -> tensor<3x2xf32>
  %y = fsnn.batch_norm %i, %gamma, %beta, %mean, %var {epsilon = 0.75} : tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>
  return %y : tensor<3x2xf32>
}

// Runtime parameters stay operands: the fold remains, to be computed by the
// compiled program once per call.
// CHECK-LABEL: func.func @runtime_parameters
func.func @runtime_parameters(%x: tensor<3x2xf32>, %w: tensor<2x2xf32>, %p: tensor<2xf32>) -> tensor<3x2xf32> {
  // CHECK: fsnn.fold_batch_norm
  // CHECK: fsnn.linear
  %i = fsnn.linear %x, %w : tensor<3x2xf32>, tensor<2x2xf32> -> tensor<3x2xf32>
  %y = fsnn.batch_norm %i, %p, %p, %p, %p {epsilon = 1.0e-05} : tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>
  return %y : tensor<3x2xf32>
}
