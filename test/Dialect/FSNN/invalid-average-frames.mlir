// Every verifier message of fsnn.average_frames.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

func.func @average_frames_rank(%x: tensor<4x30xf32>) {
  // expected-error @+1 {{'fsnn.average_frames' op input must have rank >= 3 (batch x T x ...), got 'tensor<4x30xf32>'}}
  %y = fsnn.average_frames %x leak 1.0 : tensor<4x30xf32> -> tensor<4xf32>
  return
}

// -----

func.func @average_frames_leak(%x: tensor<4x30x8xf32>) {
  // expected-error @+1 {{'fsnn.average_frames' op leak must be in (0, 1], got 1.5}}
  %y = fsnn.average_frames %x leak 1.5 : tensor<4x30x8xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @average_frames_element_type(%x: tensor<4x30x8xf32>) {
  // expected-error @+1 {{'fsnn.average_frames' op result element type 'f64' must match the input element type 'f32'}}
  %y = fsnn.average_frames %x leak 1.0 : tensor<4x30x8xf32> -> tensor<4x8xf64>
  return
}

// -----

func.func @average_frames_result(%x: tensor<4x30x2x8xf32>) {
  // expected-error @+1 {{'fsnn.average_frames' op result must be the input without its time dimension ('tensor<4x2x8xf32>'), got 'tensor<4x30x8xf32>'}}
  %y = fsnn.average_frames %x leak 1.0 : tensor<4x30x2x8xf32> -> tensor<4x30x8xf32>
  return
}
