// Every verifier message of the spectral reparameterisation ops and of
// fsnn.fold_batch_norm.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

func.func @weight_rank(%V: tensor<400xf32>, %u: tensor<400xf32>, %v: tensor<1xf32>) {
  // expected-error @+1 {{'fsnn.spectral_power_iteration' op weight must have rank >= 2, got 'tensor<400xf32>'}}
  %u1, %v1 = fsnn.spectral_power_iteration %V, %u, %v : tensor<400xf32>, tensor<400xf32>, tensor<1xf32>
  return
}

// -----

func.func @dynamic_weight(%V: tensor<?x400xf32>, %u: tensor<400xf32>, %v: tensor<400xf32>) {
  // expected-error @+1 {{weight must have a static shape, got 'tensor<?x400xf32>'}}
  %u1, %v1 = fsnn.spectral_power_iteration %V, %u, %v : tensor<?x400xf32>, tensor<400xf32>, tensor<400xf32>
  return
}

// -----

func.func @u_rank(%V: tensor<64x64x5x5xf32>, %u: tensor<64x1xf32>, %v: tensor<1600xf32>) {
  // expected-error @+1 {{u must have rank 1 (weight dim 0), got 'tensor<64x1xf32>'}}
  %u1, %v1 = fsnn.spectral_power_iteration %V, %u, %v : tensor<64x64x5x5xf32>, tensor<64x1xf32>, tensor<1600xf32>
  return
}

// -----

func.func @u_size(%V: tensor<64x64x5x5xf32>, %u: tensor<1600xf32>, %v: tensor<1600xf32>) {
  // expected-error @+1 {{u size (1600) must equal weight dim 0 (64)}}
  %u1, %v1 = fsnn.spectral_power_iteration %V, %u, %v : tensor<64x64x5x5xf32>, tensor<1600xf32>, tensor<1600xf32>
  return
}

// -----

func.func @v_rank(%V: tensor<64x64x5x5xf32>, %u: tensor<64xf32>, %v: tensor<64x25xf32>) {
  // expected-error @+1 {{v must have rank 1 (product of the weight dims after the first), got 'tensor<64x25xf32>'}}
  %u1, %v1 = fsnn.spectral_power_iteration %V, %u, %v : tensor<64x64x5x5xf32>, tensor<64xf32>, tensor<64x25xf32>
  return
}

// -----

// The conv weight is reshaped to out x (in*k*k) = 64 x 1600, not 64 x 64.
func.func @v_size(%V: tensor<64x64x5x5xf32>, %u: tensor<64xf32>, %v: tensor<64xf32>) {
  // expected-error @+1 {{v size (64) must equal product of the weight dims after the first (1600)}}
  %u1, %v1 = fsnn.spectral_power_iteration %V, %u, %v : tensor<64x64x5x5xf32>, tensor<64xf32>, tensor<64xf32>
  return
}

// -----

func.func @vector_element_type(%V: tensor<4x4xf64>, %u: tensor<4xf32>, %v: tensor<4xf64>) {
  // expected-error @+1 {{u element type 'f32' must match the weight element type 'f64'}}
  %u1, %v1 = fsnn.spectral_power_iteration %V, %u, %v : tensor<4x4xf64>, tensor<4xf32>, tensor<4xf64>
  return
}

// -----

func.func @scale_rank(%V: tensor<4x4xf32>, %g: tensor<1xf32>, %u: tensor<4xf32>, %v: tensor<4xf32>) {
  // expected-error @+1 {{'fsnn.spectral_weight' op scale must have rank 0 (a scalar), got 'tensor<1xf32>'}}
  %w, %s = fsnn.spectral_weight %V, %g, %u, %v : tensor<4x4xf32>, tensor<1xf32>, tensor<4xf32>, tensor<4xf32> -> tensor<4x4xf32>, tensor<f32>
  return
}

// -----

func.func @sigma_rank(%V: tensor<4x4xf32>, %g: tensor<f32>, %u: tensor<4xf32>, %v: tensor<4xf32>) {
  // expected-error @+1 {{sigma must have rank 0 (a scalar), got 'tensor<4xf32>'}}
  %w, %s = fsnn.spectral_weight %V, %g, %u, %v : tensor<4x4xf32>, tensor<f32>, tensor<4xf32>, tensor<4xf32> -> tensor<4x4xf32>, tensor<4xf32>
  return
}

// -----

func.func @scale_element_type(%V: tensor<4x4xf32>, %g: tensor<f64>, %u: tensor<4xf32>, %v: tensor<4xf32>) {
  // expected-error @+1 {{scale element type 'f64' must match the weight element type 'f32'}}
  %w, %s = fsnn.spectral_weight %V, %g, %u, %v : tensor<4x4xf32>, tensor<f64>, tensor<4xf32>, tensor<4xf32> -> tensor<4x4xf32>, tensor<f32>
  return
}

// -----

func.func @spectral_result_type(%V: tensor<4x4xf32>, %g: tensor<f32>, %u: tensor<4xf32>, %v: tensor<4xf32>) {
  // expected-error @+1 {{result type 'tensor<16xf32>' must equal the weight type 'tensor<4x4xf32>'}}
  %w, %s = fsnn.spectral_weight %V, %g, %u, %v : tensor<4x4xf32>, tensor<f32>, tensor<4xf32>, tensor<4xf32> -> tensor<16xf32>, tensor<f32>
  return
}

// -----

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
