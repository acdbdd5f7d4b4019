// Every verifier message of fsnn.clamp_rate.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

func.func @clamp_threshold(%z: tensor<8x400xf32>) {
  // expected-error @+1 {{'fsnn.clamp_rate' op threshold must be a finite positive number, got 0.0}}
  %a = fsnn.clamp_rate %z {threshold = 0.0} : tensor<8x400xf32>
  return
}
