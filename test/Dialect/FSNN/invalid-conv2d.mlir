// Every verifier message of fsnn.conv2d.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

func.func @input_rank(%x: tensor<8x784xf32>, %w: tensor<64x1x5x5xf32>) {
  // expected-error @+1 {{'fsnn.conv2d' op input must have rank 4 (NCHW), got 'tensor<8x784xf32>'}}
  %y = fsnn.conv2d %x, %w strides [2, 2] padding [2, 2] : tensor<8x784xf32>, tensor<64x1x5x5xf32> -> tensor<8x64x14x14xf32>
  return
}

// -----

func.func @weight_rank(%x: tensor<8x1x28x28xf32>, %w: tensor<64x25xf32>) {
  // expected-error @+1 {{weight must have rank 4 (OIHW), got 'tensor<64x25xf32>'}}
  %y = fsnn.conv2d %x, %w strides [2, 2] padding [2, 2] : tensor<8x1x28x28xf32>, tensor<64x25xf32> -> tensor<8x64x14x14xf32>
  return
}

// -----

func.func @zero_stride(%x: tensor<8x1x28x28xf32>, %w: tensor<64x1x5x5xf32>) {
  // expected-error @+1 {{strides must have 2 elements that are >= 1, got [0, 2]}}
  %y = fsnn.conv2d %x, %w strides [0, 2] padding [2, 2] : tensor<8x1x28x28xf32>, tensor<64x1x5x5xf32> -> tensor<8x64x14x14xf32>
  return
}

// -----

func.func @padding_length(%x: tensor<8x1x28x28xf32>, %w: tensor<64x1x5x5xf32>) {
  // expected-error @+1 {{padding must have 2 elements that are >= 0, got [2, 2, 2]}}
  %y = fsnn.conv2d %x, %w strides [2, 2] padding [2, 2, 2] : tensor<8x1x28x28xf32>, tensor<64x1x5x5xf32> -> tensor<8x64x14x14xf32>
  return
}

// -----

func.func @input_channels(%x: tensor<8x3x28x28xf32>, %w: tensor<64x1x5x5xf32>) {
  // expected-error @+1 {{weight input channels (1) must equal input channels (3)}}
  %y = fsnn.conv2d %x, %w strides [2, 2] padding [2, 2] : tensor<8x3x28x28xf32>, tensor<64x1x5x5xf32> -> tensor<8x64x14x14xf32>
  return
}

// -----

func.func @bias_rank(%x: tensor<8x1x28x28xf32>, %w: tensor<64x1x5x5xf32>, %b: tensor<64x1xf32>) {
  // expected-error @+1 {{bias must have rank 1 (out_channels), got 'tensor<64x1xf32>'}}
  %y = fsnn.conv2d %x, %w, %b strides [2, 2] padding [2, 2] : tensor<8x1x28x28xf32>, tensor<64x1x5x5xf32>, tensor<64x1xf32> -> tensor<8x64x14x14xf32>
  return
}

// -----

func.func @bias_size(%x: tensor<8x1x28x28xf32>, %w: tensor<64x1x5x5xf32>, %b: tensor<32xf32>) {
  // expected-error @+1 {{bias size (32) must equal weight output channels (64)}}
  %y = fsnn.conv2d %x, %w, %b strides [2, 2] padding [2, 2] : tensor<8x1x28x28xf32>, tensor<64x1x5x5xf32>, tensor<32xf32> -> tensor<8x64x14x14xf32>
  return
}

// -----

func.func @element_types(%x: tensor<8x1x28x28xf32>, %w: tensor<64x1x5x5xf32>) {
  // expected-error @+1 {{result element type 'f64' must match the input element type 'f32'}}
  %y = fsnn.conv2d %x, %w strides [2, 2] padding [2, 2] : tensor<8x1x28x28xf32>, tensor<64x1x5x5xf32> -> tensor<8x64x14x14xf64>
  return
}

// -----

func.func @kernel_too_large(%x: tensor<8x1x3x3xf32>, %w: tensor<64x1x5x5xf32>) {
  // expected-error @+1 {{kernel 5x5 does not fit the padded input 3x3 (padding 0x0)}}
  %y = fsnn.conv2d %x, %w strides [1, 1] padding [0, 0] : tensor<8x1x3x3xf32>, tensor<64x1x5x5xf32> -> tensor<8x64x1x1xf32>
  return
}

// -----

// (28 + 2*2 - 5) / 2 + 1 = 14, not 28: the stride was forgotten.
func.func @result_shape(%x: tensor<8x1x28x28xf32>, %w: tensor<64x1x5x5xf32>) {
  // expected-error @+1 {{result type 'tensor<8x64x28x28xf32>' does not match the expected shape 8x64x14x14}}
  %y = fsnn.conv2d %x, %w strides [2, 2] padding [2, 2] : tensor<8x1x28x28xf32>, tensor<64x1x5x5xf32> -> tensor<8x64x28x28xf32>
  return
}

// -----

// With stride 2 a span of -2 must not round to an output of size 1.
func.func @kernel_too_large_strided(%x: tensor<8x1x3x3xf32>, %w: tensor<64x1x5x5xf32>) {
  // expected-error @+1 {{kernel 5x5 does not fit the padded input 3x3 (padding 0x0)}}
  %y = fsnn.conv2d %x, %w strides [2, 2] padding [0, 0] : tensor<8x1x3x3xf32>, tensor<64x1x5x5xf32> -> tensor<8x64x1x1xf32>
  return
}
