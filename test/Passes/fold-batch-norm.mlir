// RUN: fsnn-opt %s -split-input-file -fsnn-fold-batch-norm | FileCheck %s

// CHECK-LABEL: func.func @linear_then_batch_norm
// CHECK-SAME: (%[[X:.*]]: tensor<8x784xf32>, %[[W:.*]]: tensor<400x784xf32>, %[[B:.*]]: tensor<400xf32>, %[[G:.*]]: tensor<400xf32>, %[[BE:.*]]: tensor<400xf32>, %[[M:.*]]: tensor<400xf32>, %[[V:.*]]: tensor<400xf32>)
func.func @linear_then_batch_norm(%x: tensor<8x784xf32>, %w: tensor<400x784xf32>, %b: tensor<400xf32>, %g: tensor<400xf32>, %be: tensor<400xf32>, %m: tensor<400xf32>, %v: tensor<400xf32>) -> tensor<8x400xf32> {
  // CHECK: %[[FW:.*]], %[[FB:.*]] = fsnn.fold_batch_norm %[[W]], %[[G]], %[[BE]], %[[M]], %[[V]] bias %[[B]] {epsilon = 1.000000e-05 : f64}
  // CHECK: %[[Y:.*]] = fsnn.linear %[[X]], %[[FW]], %[[FB]]
  // CHECK-NOT: fsnn.batch_norm
  // CHECK: return %[[Y]]
  %i = fsnn.linear %x, %w, %b : tensor<8x784xf32>, tensor<400x784xf32>, tensor<400xf32> -> tensor<8x400xf32>
  %y = fsnn.batch_norm %i, %g, %be, %m, %v {epsilon = 1.0e-05} : tensor<8x400xf32>, tensor<400xf32>, tensor<400xf32>, tensor<400xf32>, tensor<400xf32>
  return %y : tensor<8x400xf32>
}

// -----

// A conv without bias gets the folded bias as a new operand.
// CHECK-LABEL: func.func @conv_without_bias
func.func @conv_without_bias(%x: tensor<8x1x28x28xf32>, %w: tensor<64x1x5x5xf32>, %p: tensor<64xf32>) -> tensor<8x64x14x14xf32> {
  // CHECK: %[[FW:.*]], %[[FB:.*]] = fsnn.fold_batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {epsilon
  // CHECK-SAME: -> tensor<64x1x5x5xf32>, tensor<64xf32>
  // CHECK: fsnn.conv2d %{{.*}}, %[[FW]], %[[FB]] strides [2, 2] padding [2, 2]
  // CHECK-NOT: fsnn.batch_norm
  %i = fsnn.conv2d %x, %w strides [2, 2] padding [2, 2] : tensor<8x1x28x28xf32>, tensor<64x1x5x5xf32> -> tensor<8x64x14x14xf32>
  %y = fsnn.batch_norm %i, %p, %p, %p, %p {epsilon = 1.0e-05} : tensor<8x64x14x14xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>
  return %y : tensor<8x64x14x14xf32>
}

// -----

// Inside the layer map of fsnn.feedback the fold depends only on parameters
// defined outside, so it is computed once before the simulation instead of
// at every time step.
// CHECK-LABEL: func.func @hoisted_out_of_the_time_loop
func.func @hoisted_out_of_the_time_loop(%x: tensor<8x784xf32>, %f: tensor<400x784xf32>, %p: tensor<400xf32>, %w: tensor<400x400xf32>) -> tensor<8x400xf32> {
  // CHECK: %[[FW:.*]], %[[FB:.*]] = fsnn.fold_batch_norm
  // CHECK-NEXT: fsnn.feedback
  // CHECK: } layers {
  // CHECK-NEXT: ^bb0(%[[IN:.*]]: tensor<8x784xf32>):
  // CHECK-NEXT: %[[I:.*]] = fsnn.linear %[[IN]], %[[FW]], %[[FB]]
  // CHECK-NEXT: fsnn.yield %[[I]]
  %r, %c = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if> input static : tensor<8x784xf32> -> (tensor<8x400xf32>), (tensor<8x400xi32>)
    feedback {
    ^bb0(%s: tensor<8x400xf32>):
      %ws = fsnn.linear %s, %w : tensor<8x400xf32>, tensor<400x400xf32> -> tensor<8x400xf32>
      fsnn.yield %ws : tensor<8x400xf32>
    } layers {
    ^bb0(%in: tensor<8x784xf32>):
      %i = fsnn.linear %in, %f, %p : tensor<8x784xf32>, tensor<400x784xf32>, tensor<400xf32> -> tensor<8x400xf32>
      %n = fsnn.batch_norm %i, %p, %p, %p, %p {epsilon = 1.0e-05} : tensor<8x400xf32>, tensor<400xf32>, tensor<400xf32>, tensor<400xf32>, tensor<400xf32>
      fsnn.yield %n : tensor<8x400xf32>
    }
  return %r : tensor<8x400xf32>
}

// -----

// A statistic computed inside the region keeps the fold inside as well.
// CHECK-LABEL: func.func @stays_inside_when_a_parameter_is_local
func.func @stays_inside_when_a_parameter_is_local(%x: tensor<8x4xf32>, %f: tensor<4x4xf32>, %p: tensor<4xf32>) -> tensor<8x4xf32> {
  // CHECK: fsnn.feedback
  // CHECK: } layers {
  // CHECK: %[[MEAN:.*]] = arith.constant
  // CHECK-NEXT: fsnn.fold_batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %[[MEAN]]
  %r, %c = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if> input static : tensor<8x4xf32> -> (tensor<8x4xf32>), (tensor<8x4xi32>)
    feedback {
    ^bb0(%s: tensor<8x4xf32>):
      fsnn.yield %s : tensor<8x4xf32>
    } layers {
    ^bb0(%in: tensor<8x4xf32>):
      %i = fsnn.linear %in, %f : tensor<8x4xf32>, tensor<4x4xf32> -> tensor<8x4xf32>
      %mean = arith.constant dense<0.5> : tensor<4xf32>
      %n = fsnn.batch_norm %i, %p, %p, %mean, %p {epsilon = 1.0e-05} : tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
      fsnn.yield %n : tensor<8x4xf32>
    }
  return %r : tensor<8x4xf32>
}

// -----

// The unnormalised current has another user, which still needs it.
// CHECK-LABEL: func.func @negative_linear_with_other_users
func.func @negative_linear_with_other_users(%x: tensor<8x4xf32>, %w: tensor<4x4xf32>, %p: tensor<4xf32>) -> (tensor<8x4xf32>, tensor<8x4xf32>) {
  // CHECK-NOT: fsnn.fold_batch_norm
  // CHECK: fsnn.batch_norm
  %i = fsnn.linear %x, %w : tensor<8x4xf32>, tensor<4x4xf32> -> tensor<8x4xf32>
  %y = fsnn.batch_norm %i, %p, %p, %p, %p {epsilon = 1.0e-05} : tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return %i, %y : tensor<8x4xf32>, tensor<8x4xf32>
}

// -----

// Nothing to fold into: the input is an argument, not a linear or conv.
// CHECK-LABEL: func.func @negative_batch_norm_of_an_argument
func.func @negative_batch_norm_of_an_argument(%x: tensor<8x4xf32>, %p: tensor<4xf32>) -> tensor<8x4xf32> {
  // CHECK-NOT: fsnn.fold_batch_norm
  // CHECK: fsnn.batch_norm
  %y = fsnn.batch_norm %x, %p, %p, %p, %p {epsilon = 1.0e-05} : tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return %y : tensor<8x4xf32>
}

// -----

// Training-mode batch norm is not affine in its input: it is never folded.
// CHECK-LABEL: func.func @negative_training_batch_norm
func.func @negative_training_batch_norm(%x: tensor<8x4xf32>, %w: tensor<4x4xf32>, %p: tensor<4xf32>) -> tensor<8x4xf32> {
  // CHECK-NOT: fsnn.fold_batch_norm
  // CHECK: fsnn.batch_norm_train
  %i = fsnn.linear %x, %w : tensor<8x4xf32>, tensor<4x4xf32> -> tensor<8x4xf32>
  %y, %m, %v = fsnn.batch_norm_train %i, %p, %p {epsilon = 1.0e-05} : tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32> -> tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>
  return %y : tensor<8x4xf32>
}

// -----

// A parameter defined after the linear: the fold must come after it.
// CHECK-LABEL: func.func @parameter_defined_after_the_linear
func.func @parameter_defined_after_the_linear(%x: tensor<8x4xf32>, %w: tensor<4x4xf32>, %p: tensor<4xf32>) -> tensor<8x4xf32> {
  // CHECK: %[[G:.*]] = arith.constant
  // CHECK-NEXT: %[[FW:.*]], %[[FB:.*]] = fsnn.fold_batch_norm %{{.*}}, %[[G]]
  // CHECK-NEXT: fsnn.linear %{{.*}}, %[[FW]], %[[FB]]
  %i = fsnn.linear %x, %w : tensor<8x4xf32>, tensor<4x4xf32> -> tensor<8x4xf32>
  %g = arith.constant dense<2.0> : tensor<4xf32>
  %y = fsnn.batch_norm %i, %g, %p, %p, %p {epsilon = 1.0e-05} : tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  return %y : tensor<8x4xf32>
}
