// Every verifier message of fsnn.flatten.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

func.func @flatten_rank(%x: tensor<8xf32>) {
  // expected-error @+1 {{'fsnn.flatten' op input must have rank >= 2 (batch x features...), got 'tensor<8xf32>'}}
  %y = fsnn.flatten %x : tensor<8xf32> -> tensor<8x1xf32>
  return
}

// -----

func.func @flatten_result(%x: tensor<8x64x14x14xf32>) {
  // expected-error @+1 {{result type 'tensor<8x12545xf32>' does not match the expected shape 8x12544}}
  %y = fsnn.flatten %x : tensor<8x64x14x14xf32> -> tensor<8x12545xf32>
  return
}

// -----

func.func @flatten_element_type(%x: tensor<8x64x14x14xf32>) {
  // expected-error @+1 {{result element type 'f64' must match the input element type 'f32'}}
  %y = fsnn.flatten %x : tensor<8x64x14x14xf32> -> tensor<8x12544xf64>
  return
}
