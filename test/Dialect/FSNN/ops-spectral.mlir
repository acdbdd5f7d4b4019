// Round trip of the spectral reparameterisation and batch-norm folding ops.
// RUN: fsnn-opt %s | fsnn-opt | FileCheck %s
// RUN: fsnn-opt %s --mlir-print-op-generic | fsnn-opt | FileCheck %s
// RUN: fsnn-opt %s -emit-bytecode | fsnn-opt | FileCheck %s

// CHECK-LABEL: func.func @spectral_fc
func.func @spectral_fc(%V: tensor<400x400xf32>, %g: tensor<f32>, %u: tensor<400xf32>, %v: tensor<400xf32>) -> (tensor<400x400xf32>, tensor<f32>) {
  // CHECK: %[[U:.*]], %[[V:.*]] = fsnn.spectral_power_iteration %{{.*}}, %{{.*}}, %{{.*}} : tensor<400x400xf32>, tensor<400xf32>, tensor<400xf32>
  %u1, %v1 = fsnn.spectral_power_iteration %V, %u, %v : tensor<400x400xf32>, tensor<400xf32>, tensor<400xf32>
  // CHECK: fsnn.spectral_weight %{{.*}}, %{{.*}}, %[[U]], %[[V]] : tensor<400x400xf32>, tensor<f32>, tensor<400xf32>, tensor<400xf32> -> tensor<400x400xf32>, tensor<f32>
  %w, %sigma = fsnn.spectral_weight %V, %g, %u1, %v1 : tensor<400x400xf32>, tensor<f32>, tensor<400xf32>, tensor<400xf32> -> tensor<400x400xf32>, tensor<f32>
  return %w, %sigma : tensor<400x400xf32>, tensor<f32>
}

// A transposed-conv weight (in x out x k x k) is reshaped to in x (out*k*k):
// v has 96*3*3 = 864 elements.
// CHECK-LABEL: func.func @spectral_conv_transpose
func.func @spectral_conv_transpose(%V: tensor<256x96x3x3xf32>, %u: tensor<256xf32>, %v: tensor<864xf32>) -> (tensor<256xf32>, tensor<864xf32>) {
  // CHECK: fsnn.spectral_power_iteration {{.*}} : tensor<256x96x3x3xf32>, tensor<256xf32>, tensor<864xf32>
  %u1, %v1 = fsnn.spectral_power_iteration %V, %u, %v : tensor<256x96x3x3xf32>, tensor<256xf32>, tensor<864xf32>
  return %u1, %v1 : tensor<256xf32>, tensor<864xf32>
}

// CHECK-LABEL: func.func @fold_batch_norm_with_and_without_bias
func.func @fold_batch_norm_with_and_without_bias(%w: tensor<64x1x5x5xf32>, %b: tensor<64xf32>, %g: tensor<64xf32>, %be: tensor<64xf32>, %m: tensor<64xf32>, %v: tensor<64xf32>) -> (tensor<64x1x5x5xf32>, tensor<64xf32>, tensor<64x1x5x5xf32>, tensor<64xf32>) {
  // CHECK: fsnn.fold_batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} bias %{{.*}} {epsilon = 1.000000e-05 : f64} : tensor<64x1x5x5xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<64x1x5x5xf32>, tensor<64xf32>
  %w1, %b1 = fsnn.fold_batch_norm %w, %g, %be, %m, %v bias %b {epsilon = 1.0e-05} : tensor<64x1x5x5xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<64x1x5x5xf32>, tensor<64xf32>
  // CHECK: fsnn.fold_batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 1.000000e-03 : f64} : tensor<64x1x5x5xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<64x1x5x5xf32>, tensor<64xf32>
  %w2, %b2 = fsnn.fold_batch_norm %w, %g, %be, %m, %v {epsilon = 1.0e-03} : tensor<64x1x5x5xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<64x1x5x5xf32>, tensor<64xf32>
  return %w1, %b1, %w2, %b2 : tensor<64x1x5x5xf32>, tensor<64xf32>, tensor<64x1x5x5xf32>, tensor<64xf32>
}
