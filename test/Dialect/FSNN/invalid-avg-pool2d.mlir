// Every verifier message of fsnn.avg_pool2d.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

func.func @pool_rank(%x: tensor<8x64xf32>) {
  // expected-error @+1 {{'fsnn.avg_pool2d' op input must have rank 4 (NCHW), got 'tensor<8x64xf32>'}}
  %y = fsnn.avg_pool2d %x kernel [2, 2] strides [2, 2] : tensor<8x64xf32> -> tensor<8x32xf32>
  return
}

// -----

func.func @pool_kernel(%x: tensor<8x64x14x14xf32>) {
  // expected-error @+1 {{kernel must have 2 elements that are >= 1, got [0, 2]}}
  %y = fsnn.avg_pool2d %x kernel [0, 2] strides [2, 2] : tensor<8x64x14x14xf32> -> tensor<8x64x7x7xf32>
  return
}

// -----

func.func @pool_strides(%x: tensor<8x64x14x14xf32>) {
  // expected-error @+1 {{strides must have 2 elements that are >= 1, got [2]}}
  %y = fsnn.avg_pool2d %x kernel [2, 2] strides [2] : tensor<8x64x14x14xf32> -> tensor<8x64x7x7xf32>
  return
}

// -----

func.func @pool_kernel_too_large(%x: tensor<8x64x1x1xf32>) {
  // expected-error @+1 {{kernel 2x2 does not fit the input 1x1}}
  %y = fsnn.avg_pool2d %x kernel [2, 2] strides [2, 2] : tensor<8x64x1x1xf32> -> tensor<8x64x1x1xf32>
  return
}

// -----

func.func @pool_result(%x: tensor<8x64x14x14xf32>) {
  // expected-error @+1 {{result type 'tensor<8x64x14x14xf32>' does not match the expected shape 8x64x7x7}}
  %y = fsnn.avg_pool2d %x kernel [2, 2] strides [2, 2] : tensor<8x64x14x14xf32> -> tensor<8x64x14x14xf32>
  return
}

// -----

func.func @pool_element_type(%x: tensor<8x64x14x14xf32>) {
  // expected-error @+1 {{result element type 'f64' must match the input element type 'f32'}}
  %y = fsnn.avg_pool2d %x kernel [2, 2] strides [2, 2] : tensor<8x64x14x14xf32> -> tensor<8x64x7x7xf64>
  return
}
