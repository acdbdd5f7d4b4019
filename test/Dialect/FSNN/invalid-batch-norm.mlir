// Every verifier message of fsnn.batch_norm and fsnn.batch_norm_train.
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

// -----

func.func @train_beta_size(%x: tensor<8x64xf32>, %g: tensor<64xf32>, %b: tensor<32xf32>) {
  // expected-error @+1 {{'fsnn.batch_norm_train' op beta size (32) must equal channels (64)}}
  %y, %m, %v = fsnn.batch_norm_train %x, %g, %b {epsilon = 1.0e-05} : tensor<8x64xf32>, tensor<64xf32>, tensor<32xf32> -> tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>
  return
}

// -----

func.func @train_mean_size(%x: tensor<8x64xf32>, %g: tensor<64xf32>) {
  // expected-error @+1 {{batch_mean size (8) must equal channels (64)}}
  %y, %m, %v = fsnn.batch_norm_train %x, %g, %g {epsilon = 1.0e-05} : tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<8x64xf32>, tensor<8xf32>, tensor<64xf32>
  return
}

// -----

func.func @train_result_type(%x: tensor<8x64xf32>, %g: tensor<64xf32>) {
  // expected-error @+1 {{result type 'tensor<64x8xf32>' must equal the input type 'tensor<8x64xf32>'}}
  %y, %m, %v = fsnn.batch_norm_train %x, %g, %g {epsilon = 1.0e-05} : tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<64x8xf32>, tensor<64xf32>, tensor<64xf32>
  return
}

// -----

func.func @train_epsilon(%x: tensor<8x64xf32>, %g: tensor<64xf32>) {
  // expected-error @+1 {{epsilon must be a finite positive number, got -1e-05}}
  %y, %m, %v = fsnn.batch_norm_train %x, %g, %g {epsilon = -1.0e-05} : tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>
  return
}
