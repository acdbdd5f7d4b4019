// Every verifier message of fsnn.spectral_power_iteration.
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
