// Every verifier message of fsnn.equilibrium_solve.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

func.func @max_iterations(%a0: tensor<8x4xf32>) {
  // expected-error @+1 {{'fsnn.equilibrium_solve' op max_iterations must be >= 1, got 0}}
  %a, %r = fsnn.equilibrium_solve %a0 solver broyden max_iterations 0 tolerance 1.0e-06 : tensor<8x4xf32> -> tensor<8xf32> map {
    ^bb0(%x: tensor<8x4xf32>):
      fsnn.yield %x : tensor<8x4xf32>
  }
  return
}

// -----

func.func @negative_tolerance(%a0: tensor<8x4xf32>) {
  // expected-error @+1 {{tolerance must be a finite non-negative number, got -1.0}}
  %a, %r = fsnn.equilibrium_solve %a0 solver anderson max_iterations 30 tolerance -1.0 : tensor<8x4xf32> -> tensor<8xf32> map {
    ^bb0(%x: tensor<8x4xf32>):
      fsnn.yield %x : tensor<8x4xf32>
  }
  return
}

// -----

func.func @no_batch(%a0: tensor<f32>) {
  // expected-error @+1 {{the fixed-point variable must have a batch dimension, got 'tensor<f32>'}}
  %a, %r = fsnn.equilibrium_solve %a0 solver fixed_point max_iterations 30 tolerance 0.0 : tensor<f32> -> tensor<1xf32> map {
    ^bb0(%x: tensor<f32>):
      fsnn.yield %x : tensor<f32>
  }
  return
}

// -----

func.func @residual_rank(%a0: tensor<8x4xf32>) {
  // expected-error @+1 {{residual must have rank 1 (batch), got 'tensor<8x4xf32>'}}
  %a, %r = fsnn.equilibrium_solve %a0 solver broyden max_iterations 30 tolerance 0.0 : tensor<8x4xf32> -> tensor<8x4xf32> map {
    ^bb0(%x: tensor<8x4xf32>):
      fsnn.yield %x : tensor<8x4xf32>
  }
  return
}

// -----

func.func @residual_element_type(%a0: tensor<8x4xf32>) {
  // expected-error @+1 {{residual element type 'f64' must match the fixed-point variable element type 'f32'}}
  %a, %r = fsnn.equilibrium_solve %a0 solver broyden max_iterations 30 tolerance 0.0 : tensor<8x4xf32> -> tensor<8xf64> map {
    ^bb0(%x: tensor<8x4xf32>):
      fsnn.yield %x : tensor<8x4xf32>
  }
  return
}

// -----

// The residual is one norm per sample, not one per neuron.
func.func @residual_size(%a0: tensor<8x4xf32>) {
  // expected-error @+1 {{residual size (4) must equal batch size (8)}}
  %a, %r = fsnn.equilibrium_solve %a0 solver broyden max_iterations 30 tolerance 0.0 : tensor<8x4xf32> -> tensor<4xf32> map {
    ^bb0(%x: tensor<8x4xf32>):
      fsnn.yield %x : tensor<8x4xf32>
  }
  return
}

// -----

func.func @map_argument_type(%a0: tensor<8x4xf32>) {
  // expected-error @+1 {{map argument must have type 'tensor<8x4xf32>', got 'tensor<8x4xf64>'}}
  %a, %r = fsnn.equilibrium_solve %a0 solver broyden max_iterations 30 tolerance 0.0 : tensor<8x4xf32> -> tensor<8xf32> map {
    ^bb0(%x: tensor<8x4xf64>):
      %z = arith.constant dense<0.0> : tensor<8x4xf32>
      fsnn.yield %z : tensor<8x4xf32>
  }
  return
}

// -----

// A map that changes the shape cannot have a fixed point.
func.func @map_yield_type(%a0: tensor<8x4xf32>, %w: tensor<3x4xf32>) {
  // expected-error @+1 {{map must yield type 'tensor<8x4xf32>', got 'tensor<8x3xf32>'}}
  %a, %r = fsnn.equilibrium_solve %a0 solver broyden max_iterations 30 tolerance 0.0 : tensor<8x4xf32> -> tensor<8xf32> map {
    ^bb0(%x: tensor<8x4xf32>):
      %y = fsnn.linear %x, %w : tensor<8x4xf32>, tensor<3x4xf32> -> tensor<8x3xf32>
      fsnn.yield %y : tensor<8x3xf32>
  }
  return
}

// -----

func.func @map_yield_count(%a0: tensor<8x4xf32>) {
  // expected-error @+1 {{map must yield exactly one value, got 0}}
  %a, %r = fsnn.equilibrium_solve %a0 solver broyden max_iterations 30 tolerance 0.0 : tensor<8x4xf32> -> tensor<8xf32> map {
    ^bb0(%x: tensor<8x4xf32>):
      fsnn.yield
  }
  return
}

// -----

func.func @map_argument_count(%a0: tensor<8x4xf32>) {
  // expected-error @+1 {{map must have exactly one argument, got 0}}
  %a, %r = fsnn.equilibrium_solve %a0 solver broyden max_iterations 30 tolerance 0.0 : tensor<8x4xf32> -> tensor<8xf32> map {
      %z = arith.constant dense<0.0> : tensor<8x4xf32>
      fsnn.yield %z : tensor<8x4xf32>
  }
  return
}

// -----

func.func @map_terminator(%a0: tensor<8x4xf32>) {
  // expected-error @+1 {{map must be terminated by fsnn.yield}}
  %a, %r = fsnn.equilibrium_solve %a0 solver broyden max_iterations 30 tolerance 0.0 : tensor<8x4xf32> -> tensor<8xf32> map {
    ^bb0(%x: tensor<8x4xf32>):
      llvm.unreachable
  }
  return
}

// -----

func.func @unknown_solver(%a0: tensor<8x4xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'solver' [broyden, fixed_point, anderson]}}
  %a, %r = fsnn.equilibrium_solve %a0 solver newton max_iterations 30 tolerance 0.0 : tensor<8x4xf32> -> tensor<8xf32> map {
    ^bb0(%x: tensor<8x4xf32>):
      fsnn.yield %x : tensor<8x4xf32>
  }
  return
}
