// The adjoint's linear fixed point as a loop over its iterations.
// RUN: fsnn-opt %s -split-input-file -convert-fsnn-to-linalg | FileCheck %s
// The CPU pipeline takes it down to the LLVM dialect.
// RUN: fsnn-opt %s -split-input-file -fsnn-lower-to-llvm | FileCheck %s --check-prefix=LLVM

// Anderson, memory 5: per sample a history of the residuals r and the map
// values x + r (B x 5 x D, written at slot it mod 5), the Gram matrix of the
// residuals in f64 (the new residual's dots fill its row and column), the
// weights from the regularised normal equations, and the next iterate the
// weighted sum of the map values.
// CHECK-LABEL: func.func @anderson
// CHECK: %[[GRAM0:.*]] = linalg.fill ins(%{{.*}} : f64) outs(%{{.*}} : tensor<2x5x5xf64>)
// CHECK: scf.for %[[IT:.*]] = %{{.*}} to %c7 step
// CHECK-SAME: tensor<2x5x8xf32>, tensor<2x5x8xf32>, tensor<2x5x5xf64>, i1
// CHECK: %[[SLOT:.*]] = arith.remui %{{.*}}, %c5
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, %[[SLOT]], 0] [2, 1, 8]
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, %[[SLOT]], 0] [2, 1, 8]
// CHECK: %[[GRAM:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<2x5xf32>) outs(%{{.*}} : tensor<2x5x5xf64>)
// CHECK: arith.extf
// CHECK: %[[W:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2x5xf32>)
// CHECK: tensor.extract %[[GRAM]]
// CHECK: arith.divf {{.*}} : f64
// CHECK: arith.truncf {{.*}} : f64 to f32
// The mixed iterate: the weights times the map values kept.
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.*}}, %{{.*}} : tensor<?x?x?xf32>, tensor<?x?xf32>)
// LLVM-LABEL: llvm.func @anderson
// LLVM-NOT: fsnn.
func.func @anderson(%rhs: tensor<2x8xf32>, %z: tensor<2x8xf32>, %wt: tensor<8x8xf32>) -> (tensor<2x8xf32>, tensor<2xf32>) {
  %x, %res = fsnn.linear_fixed_point %rhs solver anderson max_iterations 7 tolerance 0.0 : tensor<2x8xf32> -> tensor<2xf32> operator {
    ^bb0(%v: tensor<2x8xf32>):
      %gz = fsnn.clamp_rate_grad %z, %v {threshold = 2.0 : f64} : tensor<2x8xf32>
      %ga = fsnn.linear %gz, %wt : tensor<2x8xf32>, tensor<8x8xf32> -> tensor<2x8xf32>
      fsnn.yield %ga : tensor<2x8xf32>
  }
  return %x, %res : tensor<2x8xf32>, tensor<2xf32>
}

// -----

// Broyden keeps min(27, max_iterations) rank-one updates, u and w.
// CHECK-LABEL: func.func @broyden
// CHECK: scf.for %{{.*}} = %{{.*}} to %c4 step
// CHECK-SAME: tensor<2x4x8xf32>, tensor<2x4x8xf32>, i1
// CHECK-NOT: tensor<2x5x5xf64>
// LLVM-LABEL: llvm.func @broyden
func.func @broyden(%rhs: tensor<2x8xf32>, %z: tensor<2x8xf32>, %wt: tensor<8x8xf32>) -> (tensor<2x8xf32>, tensor<2xf32>) {
  %x, %res = fsnn.linear_fixed_point %rhs solver broyden max_iterations 4 tolerance 0.0 : tensor<2x8xf32> -> tensor<2xf32> operator {
    ^bb0(%v: tensor<2x8xf32>):
      %gz = fsnn.clamp_rate_grad %z, %v {threshold = 2.0 : f64} : tensor<2x8xf32>
      %ga = fsnn.linear %gz, %wt : tensor<2x8xf32>, tensor<8x8xf32> -> tensor<2x8xf32>
      fsnn.yield %ga : tensor<2x8xf32>
  }
  return %x, %res : tensor<2x8xf32>, tensor<2xf32>
}
