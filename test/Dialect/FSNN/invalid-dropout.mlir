// Every verifier message of fsnn.dropout.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

// The mask has the full shape of the current it multiplies (docs/method.md §1.7).
func.func @mask_shape(%x: tensor<8x400xf32>, %m: tensor<1x400xf32>) {
  // expected-error @+1 {{'fsnn.dropout' op failed to verify that all of {input, mask, result} have same type}}
  %y = "fsnn.dropout"(%x, %m) : (tensor<8x400xf32>, tensor<1x400xf32>) -> tensor<8x400xf32>
  return
}
