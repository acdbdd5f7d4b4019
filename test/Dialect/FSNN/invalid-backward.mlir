// Every verifier message of the backward ops (fsnn.clamp_rate_grad,
// fsnn.batch_norm_train_grad, fsnn.spectral_weight_grad,
// fsnn.conv2d_filter_grad, fsnn.linear_fixed_point).
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

func.func @clamp_grad_threshold(%z: tensor<8x4xf32>) {
  // expected-error @+1 {{'fsnn.clamp_rate_grad' op threshold must be a finite positive number, got -1.0}}
  %g = fsnn.clamp_rate_grad %z, %z {threshold = -1.0 : f64} : tensor<8x4xf32>
  return
}

// -----

func.func @bn_grad_rank(%x: tensor<8xf32>, %gamma: tensor<8xf32>) {
  // expected-error @+1 {{'fsnn.batch_norm_train_grad' op input must have rank 2 (batch x channels) or 4}}
  %a, %b, %c = fsnn.batch_norm_train_grad %x, %gamma, %x {epsilon = 1.0e-05 : f64} : tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @bn_grad_gamma(%x: tensor<8x4xf32>, %gamma: tensor<5xf32>) {
  // expected-error @+1 {{'fsnn.batch_norm_train_grad' op gamma size (5) must equal channels (4)}}
  %a, %b, %c = fsnn.batch_norm_train_grad %x, %gamma, %x {epsilon = 1.0e-05 : f64} : tensor<8x4xf32>, tensor<5xf32>
  return
}

// -----

func.func @bn_grad_element(%x: tensor<8x4xf32>, %gamma: tensor<4xf64>) {
  // expected-error @+1 {{'fsnn.batch_norm_train_grad' op gamma element type 'f64' must match the input element type 'f32'}}
  %a, %b, %c = fsnn.batch_norm_train_grad %x, %gamma, %x {epsilon = 1.0e-05 : f64} : tensor<8x4xf32>, tensor<4xf64>
  return
}

// -----

func.func @bn_grad_epsilon(%x: tensor<8x4xf32>, %gamma: tensor<4xf32>) {
  // expected-error @+1 {{'fsnn.batch_norm_train_grad' op epsilon must be a finite positive number, got 0.0}}
  %a, %b, %c = fsnn.batch_norm_train_grad %x, %gamma, %x {epsilon = 0.0 : f64} : tensor<8x4xf32>, tensor<4xf32>
  return
}

// -----

func.func @spectral_grad_u(%v: tensor<4x3xf32>, %s: tensor<f32>, %u: tensor<5xf32>, %vv: tensor<3xf32>) {
  // expected-error @+1 {{'fsnn.spectral_weight_grad' op u size (5) must equal weight dim 0 (4)}}
  %a, %b = fsnn.spectral_weight_grad %v, %s, %u, %vv, %v : tensor<4x3xf32>, tensor<f32>, tensor<5xf32>, tensor<3xf32>
  return
}

// -----

func.func @spectral_grad_scale(%v: tensor<4x3xf32>, %s: tensor<1xf32>, %u: tensor<4xf32>, %vv: tensor<3xf32>) {
  // expected-error @+1 {{'fsnn.spectral_weight_grad' op scale must have rank 0 (a scalar), got 'tensor<1xf32>'}}
  %a, %b = fsnn.spectral_weight_grad %v, %s, %u, %vv, %v : tensor<4x3xf32>, tensor<1xf32>, tensor<4xf32>, tensor<3xf32>
  return
}

// -----

func.func @spectral_grad_element(%v: tensor<4x3xf32>, %s: tensor<f64>, %u: tensor<4xf32>, %vv: tensor<3xf32>) {
  // expected-error @+1 {{'fsnn.spectral_weight_grad' op scale element type 'f64' must match the weight element type 'f32'}}
  %a, %b = fsnn.spectral_weight_grad %v, %s, %u, %vv, %v : tensor<4x3xf32>, tensor<f64>, tensor<4xf32>, tensor<3xf32>
  return
}

// -----

func.func @fixed_point_region(%rhs: tensor<8x4xf32>) {
  // expected-error @+1 {{'fsnn.linear_fixed_point' op operator must yield type 'tensor<8x4xf32>', got 'tensor<8x4xf64>'}}
  %x, %r = fsnn.linear_fixed_point %rhs solver broyden max_iterations 3 tolerance 0.0 : tensor<8x4xf32> -> tensor<8xf32> operator {
    ^bb0(%v: tensor<8x4xf32>):
      %w = arith.extf %v : tensor<8x4xf32> to tensor<8x4xf64>
      fsnn.yield %w : tensor<8x4xf64>
  }
  return
}

// -----

func.func @fixed_point_iterations(%rhs: tensor<8x4xf32>) {
  // expected-error @+1 {{'fsnn.linear_fixed_point' op max_iterations must be >= 1, got 0}}
  %x, %r = fsnn.linear_fixed_point %rhs solver broyden max_iterations 0 tolerance 0.0 : tensor<8x4xf32> -> tensor<8xf32> operator {
    ^bb0(%v: tensor<8x4xf32>):
      fsnn.yield %v : tensor<8x4xf32>
  }
  return
}

// -----

func.func @filter_rank(%x: tensor<2x4x8xf32>, %g: tensor<2x4x8x8xf32>) {
  // expected-error @+1 {{'fsnn.conv2d_filter_grad' op input must have rank 4 (NCHW), got 'tensor<2x4x8xf32>'}}
  %w = fsnn.conv2d_filter_grad %x, %g strides [1, 1] padding [1, 1] : tensor<2x4x8xf32>, tensor<2x4x8x8xf32> -> tensor<4x4x3x3xf32>
  return
}

// -----

func.func @filter_strides(%x: tensor<2x4x8x8xf32>, %g: tensor<2x4x8x8xf32>) {
  // expected-error @+1 {{'fsnn.conv2d_filter_grad' op strides must have 2 elements that are >= 1, got [0, 1]}}
  %w = fsnn.conv2d_filter_grad %x, %g strides [0, 1] padding [1, 1] : tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32> -> tensor<4x4x3x3xf32>
  return
}

// -----

func.func @filter_padding(%x: tensor<2x4x8x8xf32>, %g: tensor<2x4x8x8xf32>) {
  // expected-error @+1 {{'fsnn.conv2d_filter_grad' op padding must have 2 elements that are >= 0, got [-1, 1]}}
  %w = fsnn.conv2d_filter_grad %x, %g strides [1, 1] padding [-1, 1] : tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32> -> tensor<4x4x3x3xf32>
  return
}

// -----

func.func @filter_element(%x: tensor<2x4x8x8xf32>, %g: tensor<2x4x8x8xf64>) {
  // expected-error @+1 {{'fsnn.conv2d_filter_grad' op grad element type 'f64' must match the input element type 'f32'}}
  %w = fsnn.conv2d_filter_grad %x, %g strides [1, 1] padding [1, 1] : tensor<2x4x8x8xf32>, tensor<2x4x8x8xf64> -> tensor<4x4x3x3xf32>
  return
}

// -----

func.func @filter_batch(%x: tensor<2x4x8x8xf32>, %g: tensor<3x4x8x8xf32>) {
  // expected-error @+1 {{'fsnn.conv2d_filter_grad' op grad batch (3) must equal input batch (2)}}
  %w = fsnn.conv2d_filter_grad %x, %g strides [1, 1] padding [1, 1] : tensor<2x4x8x8xf32>, tensor<3x4x8x8xf32> -> tensor<4x4x3x3xf32>
  return
}

// -----

func.func @filter_out_channels(%x: tensor<2x4x8x8xf32>, %g: tensor<2x4x8x8xf32>) {
  // expected-error @+1 {{'fsnn.conv2d_filter_grad' op result out-channels (5) must equal grad channels (4)}}
  %w = fsnn.conv2d_filter_grad %x, %g strides [1, 1] padding [1, 1] : tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32> -> tensor<5x4x3x3xf32>
  return
}

// -----

func.func @filter_in_channels(%x: tensor<2x4x8x8xf32>, %g: tensor<2x4x8x8xf32>) {
  // expected-error @+1 {{'fsnn.conv2d_filter_grad' op result in-channels (3) must equal input channels (4)}}
  %w = fsnn.conv2d_filter_grad %x, %g strides [1, 1] padding [1, 1] : tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32> -> tensor<4x3x3x3xf32>
  return
}

// -----

func.func @filter_height(%x: tensor<2x4x8x8xf32>, %g: tensor<2x4x7x8xf32>) {
  // expected-error @+1 {{'fsnn.conv2d_filter_grad' op grad height (7) must equal the conv's output size (8)}}
  %w = fsnn.conv2d_filter_grad %x, %g strides [1, 1] padding [1, 1] : tensor<2x4x8x8xf32>, tensor<2x4x7x8xf32> -> tensor<4x4x3x3xf32>
  return
}
