// Every verifier message of fsnn.fold_batch_norm.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

func.func @fold_weight_rank(%w: tensor<64x1x25xf32>, %p: tensor<64xf32>) {
  // expected-error @+1 {{'fsnn.fold_batch_norm' op weight must have rank 2 (out x in) or 4 (OIHW), got 'tensor<64x1x25xf32>'}}
  %w1, %b1 = fsnn.fold_batch_norm %w, %p, %p, %p, %p {epsilon = 1.0e-05} : tensor<64x1x25xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<64x1x25xf32>, tensor<64xf32>
  return
}

// -----

func.func @fold_bias_size(%w: tensor<64x1x5x5xf32>, %p: tensor<64xf32>, %b: tensor<1xf32>) {
  // expected-error @+1 {{bias size (1) must equal channels (64)}}
  %w1, %b1 = fsnn.fold_batch_norm %w, %p, %p, %p, %p bias %b {epsilon = 1.0e-05} : tensor<64x1x5x5xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<1xf32> -> tensor<64x1x5x5xf32>, tensor<64xf32>
  return
}

// -----

func.func @fold_gamma_rank(%w: tensor<400x784xf32>, %g: tensor<400x1xf32>, %p: tensor<400xf32>) {
  // expected-error @+1 {{gamma must have rank 1 (channels), got 'tensor<400x1xf32>'}}
  %w1, %b1 = fsnn.fold_batch_norm %w, %g, %p, %p, %p {epsilon = 1.0e-05} : tensor<400x784xf32>, tensor<400x1xf32>, tensor<400xf32>, tensor<400xf32>, tensor<400xf32> -> tensor<400x784xf32>, tensor<400xf32>
  return
}

// -----

func.func @fold_folded_bias_size(%w: tensor<400x784xf32>, %p: tensor<400xf32>) {
  // expected-error @+1 {{folded_bias size (784) must equal channels (400)}}
  %w1, %b1 = fsnn.fold_batch_norm %w, %p, %p, %p, %p {epsilon = 1.0e-05} : tensor<400x784xf32>, tensor<400xf32>, tensor<400xf32>, tensor<400xf32>, tensor<400xf32> -> tensor<400x784xf32>, tensor<784xf32>
  return
}

// -----

func.func @fold_element_type(%w: tensor<400x784xf32>, %p: tensor<400xf32>, %v: tensor<400xf64>) {
  // expected-error @+1 {{variance element type 'f64' must match the weight element type 'f32'}}
  %w1, %b1 = fsnn.fold_batch_norm %w, %p, %p, %p, %v {epsilon = 1.0e-05} : tensor<400x784xf32>, tensor<400xf32>, tensor<400xf32>, tensor<400xf32>, tensor<400xf64> -> tensor<400x784xf32>, tensor<400xf32>
  return
}

// -----

func.func @fold_weight_type(%w: tensor<400x784xf32>, %p: tensor<400xf32>) {
  // expected-error @+1 {{folded_weight type 'tensor<784x400xf32>' must equal the weight type 'tensor<400x784xf32>'}}
  %w1, %b1 = fsnn.fold_batch_norm %w, %p, %p, %p, %p {epsilon = 1.0e-05} : tensor<400x784xf32>, tensor<400xf32>, tensor<400xf32>, tensor<400xf32>, tensor<400xf32> -> tensor<784x400xf32>, tensor<400xf32>
  return
}

// -----

func.func @fold_epsilon(%w: tensor<400x784xf32>, %p: tensor<400xf32>) {
  // expected-error @+1 {{epsilon must be a finite positive number, got 0.0}}
  %w1, %b1 = fsnn.fold_batch_norm %w, %p, %p, %p, %p {epsilon = 0.0} : tensor<400x784xf32>, tensor<400xf32>, tensor<400xf32>, tensor<400xf32>, tensor<400xf32> -> tensor<400x784xf32>, tensor<400xf32>
  return
}
