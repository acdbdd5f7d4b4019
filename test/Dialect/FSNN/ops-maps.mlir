// Round trip of the map ops, in the custom and in the generic form.
// RUN: fsnn-opt %s | fsnn-opt | FileCheck %s
// RUN: fsnn-opt %s --mlir-print-op-generic | fsnn-opt | FileCheck %s
// RUN: fsnn-opt %s -emit-bytecode | fsnn-opt | FileCheck %s

// CHECK-LABEL: func.func @linear_with_and_without_bias
func.func @linear_with_and_without_bias(%x: tensor<128x784xf32>, %w: tensor<400x784xf32>, %b: tensor<400xf32>, %v: tensor<400x400xf32>) -> tensor<128x400xf32> {
  // CHECK: %[[Y:.*]] = fsnn.linear %{{.*}}, %{{.*}}, %{{.*}} : tensor<128x784xf32>, tensor<400x784xf32>, tensor<400xf32> -> tensor<128x400xf32>
  %y = fsnn.linear %x, %w, %b : tensor<128x784xf32>, tensor<400x784xf32>, tensor<400xf32> -> tensor<128x400xf32>
  // CHECK: fsnn.linear %[[Y]], %{{.*}} : tensor<128x400xf32>, tensor<400x400xf32> -> tensor<128x400xf32>
  %z = fsnn.linear %y, %v : tensor<128x400xf32>, tensor<400x400xf32> -> tensor<128x400xf32>
  return %z : tensor<128x400xf32>
}

// A dynamic batch passes the verifier: only static dimensions are compared.
// CHECK-LABEL: func.func @linear_dynamic_batch
func.func @linear_dynamic_batch(%x: tensor<?x784xf64>, %w: tensor<10x784xf64>) -> tensor<?x10xf64> {
  // CHECK: fsnn.linear {{.*}} -> tensor<?x10xf64>
  %y = fsnn.linear %x, %w : tensor<?x784xf64>, tensor<10x784xf64> -> tensor<?x10xf64>
  return %y : tensor<?x10xf64>
}

// The MNIST 64C5s input map and its 64C5 feedback.
// CHECK-LABEL: func.func @conv2d_stride_and_padding
func.func @conv2d_stride_and_padding(%x: tensor<8x1x28x28xf32>, %w: tensor<64x1x5x5xf32>, %b: tensor<64xf32>, %v: tensor<64x64x5x5xf32>) -> tensor<8x64x14x14xf32> {
  // CHECK: fsnn.conv2d %{{.*}}, %{{.*}}, %{{.*}} strides [2, 2] padding [2, 2] : tensor<8x1x28x28xf32>, tensor<64x1x5x5xf32>, tensor<64xf32> -> tensor<8x64x14x14xf32>
  %y = fsnn.conv2d %x, %w, %b strides [2, 2] padding [2, 2] : tensor<8x1x28x28xf32>, tensor<64x1x5x5xf32>, tensor<64xf32> -> tensor<8x64x14x14xf32>
  // CHECK: fsnn.conv2d %{{.*}}, %{{.*}} strides [1, 1] padding [2, 2] : tensor<8x64x14x14xf32>, tensor<64x64x5x5xf32> -> tensor<8x64x14x14xf32>
  %z = fsnn.conv2d %y, %v strides [1, 1] padding [2, 2] : tensor<8x64x14x14xf32>, tensor<64x64x5x5xf32> -> tensor<8x64x14x14xf32>
  return %z : tensor<8x64x14x14xf32>
}

// The AlexNet-F feedback: 256C at 8x8 back to 96C at 16x16.
// CHECK-LABEL: func.func @conv_transpose2d_upsampling
func.func @conv_transpose2d_upsampling(%s: tensor<4x256x8x8xf32>, %w: tensor<256x96x3x3xf32>, %b: tensor<96xf32>) -> (tensor<4x96x16x16xf32>, tensor<4x96x16x16xf32>) {
  // CHECK: fsnn.conv_transpose2d %{{.*}}, %{{.*}} strides [2, 2] padding [1, 1] output_padding [1, 1] : tensor<4x256x8x8xf32>, tensor<256x96x3x3xf32> -> tensor<4x96x16x16xf32>
  %y = fsnn.conv_transpose2d %s, %w strides [2, 2] padding [1, 1] output_padding [1, 1] : tensor<4x256x8x8xf32>, tensor<256x96x3x3xf32> -> tensor<4x96x16x16xf32>
  // CHECK: fsnn.conv_transpose2d %{{.*}}, %{{.*}}, %{{.*}} strides
  %z = fsnn.conv_transpose2d %s, %w, %b strides [2, 2] padding [1, 1] output_padding [1, 1] : tensor<4x256x8x8xf32>, tensor<256x96x3x3xf32>, tensor<96xf32> -> tensor<4x96x16x16xf32>
  return %y, %z : tensor<4x96x16x16xf32>, tensor<4x96x16x16xf32>
}

// CHECK-LABEL: func.func @batch_norm_both_modes
func.func @batch_norm_both_modes(%x: tensor<8x64x14x14xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>, %m: tensor<64xf32>, %v: tensor<64xf32>) -> (tensor<8x64x14x14xf32>, tensor<8x64x14x14xf32>, tensor<64xf32>, tensor<64xf32>) {
  // CHECK: fsnn.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 1.000000e-05 : f64} : tensor<8x64x14x14xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>
  %y = fsnn.batch_norm %x, %g, %b, %m, %v {epsilon = 1.0e-05} : tensor<8x64x14x14xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>
  // CHECK: %{{.*}}, %{{.*}}, %{{.*}} = fsnn.batch_norm_train %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 1.000000e-05 : f64} : tensor<8x64x14x14xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<8x64x14x14xf32>, tensor<64xf32>, tensor<64xf32>
  %t, %mean, %var = fsnn.batch_norm_train %x, %g, %b {epsilon = 1.0e-05} : tensor<8x64x14x14xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<8x64x14x14xf32>, tensor<64xf32>, tensor<64xf32>
  return %y, %t, %mean, %var : tensor<8x64x14x14xf32>, tensor<8x64x14x14xf32>, tensor<64xf32>, tensor<64xf32>
}

// CHECK-LABEL: func.func @dropout_mask_and_apply
func.func @dropout_mask_and_apply(%seed: i64, %x: tensor<128x400xf32>) -> tensor<128x400xf32> {
  // CHECK: %[[M:.*]] = fsnn.dropout_mask %{{.*}} {rate = 2.000000e-01 : f64, stream = 3 : i64} : i64 -> tensor<128x400xf32>
  %m = fsnn.dropout_mask %seed {rate = 0.2, stream = 3} : i64 -> tensor<128x400xf32>
  // CHECK: fsnn.dropout %{{.*}}, %[[M]] : tensor<128x400xf32>
  %y = fsnn.dropout %x, %m : tensor<128x400xf32>
  return %y : tensor<128x400xf32>
}

// CHECK-LABEL: func.func @flatten_pool_and_readout
func.func @flatten_pool_and_readout(%a: tensor<8x64x14x14xf32>, %c: tensor<10x3136xf32>, %cb: tensor<10xf32>, %labels: tensor<8xi64>) -> (tensor<f32>, tensor<8x10xf32>) {
  // CHECK: fsnn.avg_pool2d %{{.*}} kernel [2, 2] strides [2, 2] : tensor<8x64x14x14xf32> -> tensor<8x64x7x7xf32>
  %p = fsnn.avg_pool2d %a kernel [2, 2] strides [2, 2] : tensor<8x64x14x14xf32> -> tensor<8x64x7x7xf32>
  // CHECK: fsnn.flatten %{{.*}} : tensor<8x64x7x7xf32> -> tensor<8x3136xf32>
  %f = fsnn.flatten %p : tensor<8x64x7x7xf32> -> tensor<8x3136xf32>
  %o = fsnn.linear %f, %c, %cb : tensor<8x3136xf32>, tensor<10x3136xf32>, tensor<10xf32> -> tensor<8x10xf32>
  // CHECK: fsnn.softmax_cross_entropy %{{.*}}, %{{.*}} : tensor<8x10xf32>, tensor<8xi64> -> tensor<f32>, tensor<8x10xf32>
  %loss, %grad = fsnn.softmax_cross_entropy %o, %labels : tensor<8x10xf32>, tensor<8xi64> -> tensor<f32>, tensor<8x10xf32>
  return %loss, %grad : tensor<f32>, tensor<8x10xf32>
}

// CHECK-LABEL: func.func @clamp_rate
func.func @clamp_rate(%z: tensor<4x400xf64>) -> tensor<4x400xf64> {
  // CHECK: fsnn.clamp_rate %{{.*}} {threshold = 2.000000e+00 : f64} : tensor<4x400xf64>
  %a = fsnn.clamp_rate %z {threshold = 2.0} : tensor<4x400xf64>
  return %a : tensor<4x400xf64>
}

// CHECK-LABEL: func.func @average_frames
func.func @average_frames(%frames: tensor<4x30x2x34x34xf32>) -> tensor<4x2x34x34xf32> {
  // CHECK: fsnn.average_frames %{{.*}} leak 5.000000e-01 : tensor<4x30x2x34x34xf32> -> tensor<4x2x34x34xf32>
  %a = fsnn.average_frames %frames leak 0.5 : tensor<4x30x2x34x34xf32> -> tensor<4x2x34x34xf32>
  return %a : tensor<4x2x34x34xf32>
}
