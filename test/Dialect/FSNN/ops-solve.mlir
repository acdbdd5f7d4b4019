// Round trip of the equilibrium and adjoint solves.
// RUN: fsnn-opt %s | fsnn-opt | FileCheck %s
// RUN: fsnn-opt %s --mlir-print-op-generic | fsnn-opt | FileCheck %s
// RUN: fsnn-opt %s -emit-bytecode | fsnn-opt | FileCheck %s

// The equilibrium map of the worked case of docs/method.md §8: a = σ((W a + I)/2).
// CHECK-LABEL: func.func @equilibrium_of_single_layer
func.func @equilibrium_of_single_layer(%a0: tensor<1x4xf64>, %w: tensor<4x4xf64>, %current: tensor<1x4xf64>) -> (tensor<1x4xf64>, tensor<1xf64>) {
  // CHECK: %{{.*}}, %{{.*}} = fsnn.equilibrium_solve %{{.*}} solver broyden max_iterations 30 tolerance 1.000000e-10 : tensor<1x4xf64> -> tensor<1xf64> map {
  // CHECK: ^bb0(%[[A:.*]]: tensor<1x4xf64>):
  // CHECK: fsnn.linear %[[A]]
  // CHECK: fsnn.clamp_rate
  %a, %res = fsnn.equilibrium_solve %a0 solver broyden max_iterations 30 tolerance 1.0e-10 : tensor<1x4xf64> -> tensor<1xf64> map {
    ^bb0(%a: tensor<1x4xf64>):
      %wa = fsnn.linear %a, %w : tensor<1x4xf64>, tensor<4x4xf64> -> tensor<1x4xf64>
      %z = arith.addf %wa, %current : tensor<1x4xf64>
      %fa = fsnn.clamp_rate %z {threshold = 2.0} : tensor<1x4xf64>
      fsnn.yield %fa : tensor<1x4xf64>
  }
  return %a, %res : tensor<1x4xf64>, tensor<1xf64>
}

// All three solver kinds on the adjoint of the same map.
// CHECK-LABEL: func.func @adjoint_solver_kinds
func.func @adjoint_solver_kinds(%a: tensor<8x400xf32>, %dl: tensor<8x400xf32>, %w: tensor<400x400xf32>, %current: tensor<8x400xf32>) -> (tensor<8x400xf32>, tensor<8x400xf32>, tensor<8x400xf32>) {
  // CHECK: fsnn.adjoint_solve %{{.*}}, %{{.*}} solver broyden max_iterations 30 tolerance 0.000000e+00 : tensor<8x400xf32>, tensor<8x400xf32> -> tensor<8xf32> map {
  %b1, %r1 = fsnn.adjoint_solve %a, %dl solver broyden max_iterations 30 tolerance 0.0 : tensor<8x400xf32>, tensor<8x400xf32> -> tensor<8xf32> map {
    ^bb0(%x: tensor<8x400xf32>):
      %wa = fsnn.linear %x, %w : tensor<8x400xf32>, tensor<400x400xf32> -> tensor<8x400xf32>
      %z = arith.addf %wa, %current : tensor<8x400xf32>
      %fa = fsnn.clamp_rate %z {threshold = 2.0} : tensor<8x400xf32>
      fsnn.yield %fa : tensor<8x400xf32>
  }
  // CHECK: fsnn.adjoint_solve {{.*}} solver fixed_point max_iterations 100
  %b2, %r2 = fsnn.adjoint_solve %a, %dl solver fixed_point max_iterations 100 tolerance 1.0e-06 : tensor<8x400xf32>, tensor<8x400xf32> -> tensor<8xf32> map {
    ^bb0(%x: tensor<8x400xf32>):
      %fa = fsnn.clamp_rate %x {threshold = 2.0} : tensor<8x400xf32>
      fsnn.yield %fa : tensor<8x400xf32>
  }
  // CHECK: fsnn.adjoint_solve {{.*}} solver anderson max_iterations 20
  %b3, %r3 = fsnn.adjoint_solve %a, %dl solver anderson max_iterations 20 tolerance 1.0e-06 : tensor<8x400xf32>, tensor<8x400xf32> -> tensor<8xf32> map {
    ^bb0(%x: tensor<8x400xf32>):
      %fa = fsnn.clamp_rate %x {threshold = 2.0} : tensor<8x400xf32>
      fsnn.yield %fa : tensor<8x400xf32>
  }
  return %b1, %b2, %b3 : tensor<8x400xf32>, tensor<8x400xf32>, tensor<8x400xf32>
}
