// Round trip of the backward ops that fsnn-generate-backward emits.
// RUN: fsnn-opt %s | fsnn-opt | FileCheck %s
// RUN: fsnn-opt %s --mlir-print-op-generic | fsnn-opt | FileCheck %s
// RUN: fsnn-opt %s -emit-bytecode | fsnn-opt | FileCheck %s

// CHECK-LABEL: func.func @backward_ops
func.func @backward_ops(%z: tensor<8x400xf32>, %g: tensor<8x400xf32>, %gamma: tensor<400xf32>,
                        %v: tensor<400x400xf32>, %s: tensor<f32>, %u: tensor<400xf32>, %vv: tensor<400xf32>,
                        %gw: tensor<400x400xf32>, %conv: tensor<2x64x14x14xf32>, %convg: tensor<64xf32>)
    -> (tensor<8x400xf32>, tensor<8x400xf32>, tensor<400xf32>, tensor<400xf32>, tensor<400x400xf32>, tensor<f32>, tensor<2x64x14x14xf32>) {
  // CHECK: fsnn.clamp_rate_grad %{{.*}}, %{{.*}} {threshold = 2.000000e+00 : f64} : tensor<8x400xf32>
  %gz = fsnn.clamp_rate_grad %z, %g {threshold = 2.0 : f64} : tensor<8x400xf32>
  // CHECK: fsnn.batch_norm_train_grad %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 1.000000e-05 : f64} : tensor<8x400xf32>, tensor<400xf32>
  %gx, %ggamma, %gbeta = fsnn.batch_norm_train_grad %z, %gamma, %g {epsilon = 1.0e-05 : f64} : tensor<8x400xf32>, tensor<400xf32>
  // Conv activations (batch x channels x H x W) too.
  // CHECK: fsnn.batch_norm_train_grad %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 1.000000e-05 : f64} : tensor<2x64x14x14xf32>, tensor<64xf32>
  %cx, %cgamma, %cbeta = fsnn.batch_norm_train_grad %conv, %convg, %conv {epsilon = 1.0e-05 : f64} : tensor<2x64x14x14xf32>, tensor<64xf32>
  // CHECK: fsnn.spectral_weight_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<400x400xf32>, tensor<f32>, tensor<400xf32>, tensor<400xf32>
  %gv, %gs = fsnn.spectral_weight_grad %v, %s, %u, %vv, %gw : tensor<400x400xf32>, tensor<f32>, tensor<400xf32>, tensor<400xf32>
  return %gz, %gx, %ggamma, %gbeta, %gv, %gs, %cx : tensor<8x400xf32>, tensor<8x400xf32>, tensor<400xf32>, tensor<400xf32>, tensor<400x400xf32>, tensor<f32>, tensor<2x64x14x14xf32>
}

// CHECK-LABEL: func.func @linear_fixed_point
func.func @linear_fixed_point(%rhs: tensor<8x400xf32>, %z: tensor<8x400xf32>, %wt: tensor<400x400xf32>) -> (tensor<8x400xf32>, tensor<8xf32>) {
  // CHECK: fsnn.linear_fixed_point %{{.*}} solver fixed_point max_iterations 30 tolerance 0.000000e+00 : tensor<8x400xf32> -> tensor<8xf32> operator {
  // CHECK: ^bb0(%[[V:.*]]: tensor<8x400xf32>):
  // CHECK: fsnn.clamp_rate_grad %{{.*}}, %[[V]]
  %x, %res = fsnn.linear_fixed_point %rhs solver fixed_point max_iterations 30 tolerance 0.0 : tensor<8x400xf32> -> tensor<8xf32> operator {
    ^bb0(%v: tensor<8x400xf32>):
      %gz = fsnn.clamp_rate_grad %z, %v {threshold = 2.0 : f64} : tensor<8x400xf32>
      %ga = fsnn.linear %gz, %wt : tensor<8x400xf32>, tensor<400x400xf32> -> tensor<8x400xf32>
      fsnn.yield %ga : tensor<8x400xf32>
  }
  return %x, %res : tensor<8x400xf32>, tensor<8xf32>
}

// CHECK-LABEL: func.func @conv_filter_grad
func.func @conv_filter_grad(%a: tensor<2x64x14x14xf32>, %g: tensor<2x64x14x14xf32>, %x: tensor<2x1x28x28xf32>) -> (tensor<64x64x5x5xf32>, tensor<64x1x5x5xf32>) {
  // CHECK: fsnn.conv2d_filter_grad %{{.*}}, %{{.*}} strides [1, 1] padding [2, 2] : tensor<2x64x14x14xf32>, tensor<2x64x14x14xf32> -> tensor<64x64x5x5xf32>
  %w = fsnn.conv2d_filter_grad %a, %g strides [1, 1] padding [2, 2] : tensor<2x64x14x14xf32>, tensor<2x64x14x14xf32> -> tensor<64x64x5x5xf32>
  // The strided input map of 64C5s.
  // CHECK: fsnn.conv2d_filter_grad %{{.*}}, %{{.*}} strides [2, 2] padding [2, 2] : tensor<2x1x28x28xf32>, tensor<2x64x14x14xf32> -> tensor<64x1x5x5xf32>
  %f = fsnn.conv2d_filter_grad %x, %g strides [2, 2] padding [2, 2] : tensor<2x1x28x28xf32>, tensor<2x64x14x14xf32> -> tensor<64x1x5x5xf32>
  return %w, %f : tensor<64x64x5x5xf32>, tensor<64x1x5x5xf32>
}
