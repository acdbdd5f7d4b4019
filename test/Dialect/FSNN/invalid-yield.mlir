// Every verifier message of fsnn.yield.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

// fsnn.yield belongs to the fsnn region ops only.
func.func @yield_outside() {
  %z = arith.constant dense<0.0> : tensor<4xf32>
  // expected-error @+1 {{'fsnn.yield' op expects parent op to be one of 'fsnn.feedback, fsnn.equilibrium_solve, fsnn.adjoint_solve, fsnn.linear_fixed_point'}}
  fsnn.yield %z : tensor<4xf32>
}
