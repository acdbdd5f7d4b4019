// Every verifier message of fsnn.batch_norm_train.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

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
