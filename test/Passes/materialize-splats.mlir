// RUN: fsnn-opt %s -fsnn-materialize-splats | FileCheck %s
// RUN: fsnn-opt %s -fsnn-materialize-splats=threshold=100000 | FileCheck %s --check-prefix=HIGH

// A batch-sized splat becomes a scalar filled at run time; small constants
// and non-splats stay constants (globals after bufferization).
// CHECK-LABEL: func.func @splats
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[BIG:.*]] = tensor.splat %[[ZERO]] : tensor<64x400xf32>
// CHECK-DAG: arith.constant dense<1.000000e+00> : tensor<4xf32>
// CHECK-DAG: arith.constant dense<[1, 2]> : tensor<2xi32>
// CHECK-DAG: %[[SEVEN:.*]] = arith.constant 7 : i32
// CHECK-DAG: tensor.splat %[[SEVEN]] : tensor<2048xi32>
// HIGH-LABEL: func.func @splats
// HIGH-NOT: tensor.splat
func.func @splats() -> (tensor<64x400xf32>, tensor<4xf32>, tensor<2xi32>, tensor<2048xi32>) {
  %big = arith.constant dense<0.0> : tensor<64x400xf32>
  %small = arith.constant dense<1.0> : tensor<4xf32>
  %pair = arith.constant dense<[1, 2]> : tensor<2xi32>
  %ints = arith.constant dense<7> : tensor<2048xi32>
  return %big, %small, %pair, %ints : tensor<64x400xf32>, tensor<4xf32>, tensor<2xi32>, tensor<2048xi32>
}
