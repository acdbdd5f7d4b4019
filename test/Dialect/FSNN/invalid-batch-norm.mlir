// Every verifier message of fsnn.batch_norm.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

func.func @input_rank(%x: tensor<8x64x196xf32>, %p: tensor<64xf32>) {
  // expected-error @+1 {{'fsnn.batch_norm' op input must have rank 2 (batch x channels) or 4 (NCHW), got 'tensor<8x64x196xf32>'}}
  %y = fsnn.batch_norm %x, %p, %p, %p, %p {epsilon = 1.0e-05} : tensor<8x64x196xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>
  return
}

// -----

func.func @gamma_rank(%x: tensor<8x64xf32>, %g: tensor<1x64xf32>, %p: tensor<64xf32>) {
  // expected-error @+1 {{gamma must have rank 1 (channels), got 'tensor<1x64xf32>'}}
  %y = fsnn.batch_norm %x, %g, %p, %p, %p {epsilon = 1.0e-05} : tensor<8x64xf32>, tensor<1x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>
  return
}

// -----

func.func @variance_size(%x: tensor<8x64x14x14xf32>, %p: tensor<64xf32>, %v: tensor<14xf32>) {
  // expected-error @+1 {{variance size (14) must equal channels (64)}}
  %y = fsnn.batch_norm %x, %p, %p, %p, %v {epsilon = 1.0e-05} : tensor<8x64x14x14xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<14xf32>
  return
}

// -----

func.func @element_types(%x: tensor<8x64xf32>, %p: tensor<64xf32>, %m: tensor<64xf64>) {
  // expected-error @+1 {{mean element type 'f64' must match the input element type 'f32'}}
  %y = fsnn.batch_norm %x, %p, %p, %m, %p {epsilon = 1.0e-05} : tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf64>, tensor<64xf32>
  return
}

// -----

func.func @epsilon(%x: tensor<8x64xf32>, %p: tensor<64xf32>) {
  // expected-error @+1 {{epsilon must be a finite positive number, got 0.0}}
  %y = fsnn.batch_norm %x, %p, %p, %p, %p {epsilon = 0.0} : tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>
  return
}
