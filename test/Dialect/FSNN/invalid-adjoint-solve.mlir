// Every verifier message of fsnn.adjoint_solve.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

func.func @adjoint_rhs_type(%a: tensor<8x4xf32>, %dl: tensor<8x3xf32>) {
  // expected-error @+1 {{'fsnn.adjoint_solve' op rhs type 'tensor<8x3xf32>' must equal the point type 'tensor<8x4xf32>'}}
  %b, %r = fsnn.adjoint_solve %a, %dl solver broyden max_iterations 30 tolerance 0.0 : tensor<8x4xf32>, tensor<8x3xf32> -> tensor<8xf32> map {
    ^bb0(%x: tensor<8x4xf32>):
      fsnn.yield %x : tensor<8x4xf32>
  }
  return
}

// -----

func.func @adjoint_max_iterations(%a: tensor<8x4xf32>, %dl: tensor<8x4xf32>) {
  // expected-error @+1 {{'fsnn.adjoint_solve' op max_iterations must be >= 1, got -3}}
  %b, %r = fsnn.adjoint_solve %a, %dl solver fixed_point max_iterations -3 tolerance 0.0 : tensor<8x4xf32>, tensor<8x4xf32> -> tensor<8xf32> map {
    ^bb0(%x: tensor<8x4xf32>):
      fsnn.yield %x : tensor<8x4xf32>
  }
  return
}

// -----

func.func @adjoint_map_yield(%a: tensor<8x4xf32>, %dl: tensor<8x4xf32>) {
  // expected-error @+1 {{map must yield type 'tensor<8x4xf32>', got 'tensor<4xf32>'}}
  %b, %r = fsnn.adjoint_solve %a, %dl solver broyden max_iterations 30 tolerance 0.0 : tensor<8x4xf32>, tensor<8x4xf32> -> tensor<8xf32> map {
    ^bb0(%x: tensor<8x4xf32>):
      %z = arith.constant dense<0.0> : tensor<4xf32>
      fsnn.yield %z : tensor<4xf32>
  }
  return
}
