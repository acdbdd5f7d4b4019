// Every verifier message of fsnn.dropout_mask.
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
