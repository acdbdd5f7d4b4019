// What the inference lowering refuses, with a diagnostic naming the op.
// RUN: fsnn-opt %s -split-input-file -convert-fsnn-to-linalg -verify-diagnostics

// The adjoint solve is differentiated by fsnn-generate-backward first.
func.func @negative_adjoint_left(%a: tensor<2x3xf32>, %g: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'fsnn.adjoint_solve' op is not lowered by convert-fsnn-to-linalg: fsnn-generate-backward turns it into the adjoint's linear fixed point first}}
  %beta, %res = fsnn.adjoint_solve %a, %g solver broyden max_iterations 30 tolerance 0.0
      : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2xf32> map {
    ^bb0(%x: tensor<2x3xf32>):
      %f = fsnn.clamp_rate %x {threshold = 2.0} : tensor<2x3xf32>
      fsnn.yield %f : tensor<2x3xf32>
  }
  return %beta : tensor<2x3xf32>
}

// -----

func.func @negative_dynamic_batch(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{the CPU lowering needs static shapes; import the model with a batch size}}
  %r, %c = fsnn.feedback %x steps 3 neuron #fsnn.neuron<if> input static : tensor<?x2xf32> -> (tensor<?x2xf32>), (tensor<?x2xi32>)
    feedback {
    ^bb0(%s: tensor<?x2xf32>):
      fsnn.yield %s : tensor<?x2xf32>
    } layers {
    ^bb0(%in: tensor<?x2xf32>):
      fsnn.yield %in : tensor<?x2xf32>
    }
  return %r : tensor<?x2xf32>
}

// -----

// Valid (the output is 2x2) but padding 2 > kernel 2 - 1 would need a crop.
func.func @negative_large_padding(%s: tensor<1x1x5x5xf32>, %w: tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32> {
  // expected-error @+1 {{padding larger than kernel - 1 is not supported by the CPU lowering yet}}
  %y = fsnn.conv_transpose2d %s, %w strides [1, 1] padding [2, 2] output_padding [0, 0] : tensor<1x1x5x5xf32>, tensor<1x1x2x2xf32> -> tensor<1x1x2x2xf32>
  return %y : tensor<1x1x2x2xf32>
}
