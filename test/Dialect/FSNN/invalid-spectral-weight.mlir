// Every verifier message of fsnn.spectral_weight.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

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
