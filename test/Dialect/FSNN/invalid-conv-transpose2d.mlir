// Every verifier message of fsnn.conv_transpose2d.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

func.func @transposed_weight_rank(%s: tensor<4x256x8x8xf32>, %w: tensor<256x96x9xf32>) {
  // expected-error @+1 {{'fsnn.conv_transpose2d' op weight must have rank 4 (IOHW), got 'tensor<256x96x9xf32>'}}
  %y = fsnn.conv_transpose2d %s, %w strides [2, 2] padding [1, 1] output_padding [1, 1] : tensor<4x256x8x8xf32>, tensor<256x96x9xf32> -> tensor<4x96x16x16xf32>
  return
}

// -----

// The transposed-conv weight is in x out x k x k: an OIHW weight is caught.
func.func @transposed_input_channels(%s: tensor<4x256x8x8xf32>, %w: tensor<96x256x3x3xf32>) {
  // expected-error @+1 {{weight input channels (96) must equal input channels (256)}}
  %y = fsnn.conv_transpose2d %s, %w strides [2, 2] padding [1, 1] output_padding [1, 1] : tensor<4x256x8x8xf32>, tensor<96x256x3x3xf32> -> tensor<4x96x16x16xf32>
  return
}

// -----

func.func @transposed_bias_size(%s: tensor<4x256x8x8xf32>, %w: tensor<256x96x3x3xf32>, %b: tensor<256xf32>) {
  // expected-error @+1 {{bias size (256) must equal weight output channels (96)}}
  %y = fsnn.conv_transpose2d %s, %w, %b strides [2, 2] padding [1, 1] output_padding [1, 1] : tensor<4x256x8x8xf32>, tensor<256x96x3x3xf32>, tensor<256xf32> -> tensor<4x96x16x16xf32>
  return
}

// -----

func.func @output_padding_length(%s: tensor<4x256x8x8xf32>, %w: tensor<256x96x3x3xf32>) {
  // expected-error @+1 {{output_padding must have 2 elements that are >= 0, got [1]}}
  %y = fsnn.conv_transpose2d %s, %w strides [2, 2] padding [1, 1] output_padding [1] : tensor<4x256x8x8xf32>, tensor<256x96x3x3xf32> -> tensor<4x96x16x16xf32>
  return
}

// -----

func.func @output_padding_not_below_stride(%s: tensor<4x256x8x8xf32>, %w: tensor<256x96x3x3xf32>) {
  // expected-error @+1 {{output_padding (2) must be smaller than the stride (2) in dimension 1}}
  %y = fsnn.conv_transpose2d %s, %w strides [2, 2] padding [1, 1] output_padding [1, 2] : tensor<4x256x8x8xf32>, tensor<256x96x3x3xf32> -> tensor<4x96x16x17xf32>
  return
}

// -----

func.func @padding_leaves_nothing(%s: tensor<4x256x1x1xf32>, %w: tensor<256x96x1x1xf32>) {
  // expected-error @+1 {{padding 1 leaves no output in dimension 0}}
  %y = fsnn.conv_transpose2d %s, %w strides [1, 1] padding [1, 1] output_padding [0, 0] : tensor<4x256x1x1xf32>, tensor<256x96x1x1xf32> -> tensor<4x96x1x1xf32>
  return
}

// -----

// (8 - 1) * 2 - 2 + 3 + 1 = 16; without output_padding it would be 15.
func.func @transposed_result_shape(%s: tensor<4x256x8x8xf32>, %w: tensor<256x96x3x3xf32>) {
  // expected-error @+1 {{result type 'tensor<4x96x15x15xf32>' does not match the expected shape 4x96x16x16}}
  %y = fsnn.conv_transpose2d %s, %w strides [2, 2] padding [1, 1] output_padding [1, 1] : tensor<4x256x8x8xf32>, tensor<256x96x3x3xf32> -> tensor<4x96x15x15xf32>
  return
}
