// Every verifier message of fsnn.dropout_mask and fsnn.dropout.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

func.func @rate_one(%seed: i64) {
  // expected-error @+1 {{'fsnn.dropout_mask' op rate must be in [0, 1), got 1.0}}
  %m = fsnn.dropout_mask %seed {rate = 1.0, stream = 0} : i64 -> tensor<8x400xf32>
  return
}

// -----

func.func @negative_rate(%seed: i64) {
  // expected-error @+1 {{rate must be in [0, 1), got -0.2}}
  %m = fsnn.dropout_mask %seed {rate = -0.2, stream = 0} : i64 -> tensor<8x400xf32>
  return
}

// -----

func.func @dynamic_mask(%seed: i64) {
  // expected-error @+1 {{mask must have a static shape, got 'tensor<?x400xf32>'}}
  %m = fsnn.dropout_mask %seed {rate = 0.2, stream = 0} : i64 -> tensor<?x400xf32>
  return
}

// -----

// The mask has the full shape of the current it multiplies (IDE_SPEC §1.7).
func.func @mask_shape(%x: tensor<8x400xf32>, %m: tensor<1x400xf32>) {
  // expected-error @+1 {{'fsnn.dropout' op failed to verify that all of {input, mask, result} have same type}}
  %y = "fsnn.dropout"(%x, %m) : (tensor<8x400xf32>, tensor<1x400xf32>) -> tensor<8x400xf32>
  return
}
