// What fsnn-generate-backward does not differentiate gets a diagnostic that
// names it.
// RUN: fsnn-opt %s -split-input-file -fsnn-generate-backward -verify-diagnostics

func.func @reset_to_zero(%x: tensor<2x3xf32>, %labels: tensor<2xi64>, %w: tensor<3x3xf32> {fsnn.trainable}) -> tensor<f32> {
  // expected-error @+1 {{'fsnn.feedback' op resets to zero; the implicit backward needs the equilibrium map a = clamp((W a + F x) / V_th), which only reset by subtraction gives (docs/method.md §2)}}
  %r, %c = fsnn.feedback %x steps 3 neuron #fsnn.neuron<lif, threshold = 2.0, leak = 0.9, reset = zero> input static : tensor<2x3xf32> -> (tensor<2x3xf32>), (tensor<2x3xi32>)
    feedback {
    ^bb0(%s: tensor<2x3xf32>):
      %f = fsnn.linear %s, %w : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
      fsnn.yield %f : tensor<2x3xf32>
    } layers {
    ^bb0(%in: tensor<2x3xf32>):
      fsnn.yield %in : tensor<2x3xf32>
    }
  %loss, %g = fsnn.softmax_cross_entropy %r, %labels : tensor<2x3xf32>, tensor<2xi64> -> tensor<f32>, tensor<2x3xf32>
  return %loss : tensor<f32>
}

// -----

func.func @current_in_layer_map(%x: tensor<2x4xf32>, %labels: tensor<2xi64>, %f: tensor<3x4xf32> {fsnn.trainable}, %w: tensor<3x3xf32>) -> tensor<f32> {
  // expected-error @+1 {{'fsnn.feedback' op computes its input current inside the layer map; import the model for training (fsnn-translate --import --training), which computes it before the simulation}}
  %r, %c = fsnn.feedback %x steps 3 neuron #fsnn.neuron<if> input static : tensor<2x4xf32> -> (tensor<2x3xf32>), (tensor<2x3xi32>)
    feedback {
    ^bb0(%s: tensor<2x3xf32>):
      %fb = fsnn.linear %s, %w : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
      fsnn.yield %fb : tensor<2x3xf32>
    } layers {
    ^bb0(%in: tensor<2x4xf32>):
      %i = fsnn.linear %in, %f : tensor<2x4xf32>, tensor<3x4xf32> -> tensor<2x3xf32>
      fsnn.yield %i : tensor<2x3xf32>
    }
  %loss, %g = fsnn.softmax_cross_entropy %r, %labels : tensor<2x3xf32>, tensor<2xi64> -> tensor<f32>, tensor<2x3xf32>
  return %loss : tensor<f32>
}

// -----

func.func @no_rule(%x: tensor<2x3xf32>, %labels: tensor<2xi64>, %w: tensor<3x3xf32> {fsnn.trainable}) -> tensor<f32> {
  %r, %c = fsnn.feedback %x steps 3 neuron #fsnn.neuron<if> input static : tensor<2x3xf32> -> (tensor<2x3xf32>), (tensor<2x3xi32>)
    feedback {
    ^bb0(%s: tensor<2x3xf32>):
      %f = fsnn.linear %s, %w : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
      fsnn.yield %f : tensor<2x3xf32>
    } layers {
    ^bb0(%in: tensor<2x3xf32>):
      fsnn.yield %in : tensor<2x3xf32>
    }
  // expected-error @+1 {{'arith.mulf' op has no derivative rule in fsnn-generate-backward}}
  %sq = arith.mulf %r, %r : tensor<2x3xf32>
  %loss, %g = fsnn.softmax_cross_entropy %sq, %labels : tensor<2x3xf32>, tensor<2xi64> -> tensor<f32>, tensor<2x3xf32>
  return %loss : tensor<f32>
}

// -----

// expected-error @+1 {{'func.func' op is not a training forward function: it needs one fsnn.feedback and one fsnn.softmax_cross_entropy}}
func.func @no_simulation(%x: tensor<2x3xf32>, %labels: tensor<2xi64>) -> tensor<f32> {
  %loss, %g = fsnn.softmax_cross_entropy %x, %labels : tensor<2x3xf32>, tensor<2xi64> -> tensor<f32>, tensor<2x3xf32>
  return %loss : tensor<f32>
}

// -----

func.func @trainable_batch_norm_statistics(%x: tensor<2x3xf32>, %labels: tensor<2xi64>, %w: tensor<3x3xf32>, %gamma: tensor<3xf32>, %beta: tensor<3xf32>, %mean: tensor<3xf32> {fsnn.trainable}, %var: tensor<3xf32>) -> tensor<f32> {
  %r, %c = fsnn.feedback %x steps 3 neuron #fsnn.neuron<if> input static : tensor<2x3xf32> -> (tensor<2x3xf32>), (tensor<2x3xi32>)
    feedback {
    ^bb0(%s: tensor<2x3xf32>):
      %f = fsnn.linear %s, %w : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
      fsnn.yield %f : tensor<2x3xf32>
    } layers {
    ^bb0(%in: tensor<2x3xf32>):
      fsnn.yield %in : tensor<2x3xf32>
    }
  // expected-error @+1 {{'fsnn.batch_norm' op has trainable statistics; fsnn-generate-backward differentiates batch norm on given statistics in its input, γ and β}}
  %n = fsnn.batch_norm %r, %gamma, %beta, %mean, %var {epsilon = 1.0e-5 : f64} : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  %loss, %g = fsnn.softmax_cross_entropy %n, %labels : tensor<2x3xf32>, tensor<2xi64> -> tensor<f32>, tensor<2x3xf32>
  return %loss : tensor<f32>
}

// -----

func.func @running_statistics_not_arguments(%x: tensor<2x3xf32>, %labels: tensor<2xi64>, %w: tensor<3x3xf32> {fsnn.trainable}, %w2: tensor<3x3xf32> {fsnn.trainable}, %gamma: tensor<3xf32>, %beta: tensor<3xf32>) -> tensor<f32> {
  %mean = arith.constant dense<0.0> : tensor<3xf32>
  %var = arith.constant dense<1.0> : tensor<3xf32>
  %r:2, %c:2 = fsnn.feedback %x steps 3 neuron #fsnn.neuron<if> input static : tensor<2x3xf32> -> (tensor<2x3xf32>, tensor<2x3xf32>), (tensor<2x3xi32>, tensor<2x3xi32>)
    feedback {
    ^bb0(%s: tensor<2x3xf32>):
      %f = fsnn.linear %s, %w : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
      fsnn.yield %f : tensor<2x3xf32>
    } layers {
    ^bb0(%in: tensor<2x3xf32>):
      fsnn.yield %in : tensor<2x3xf32>
    }, {
    ^bb0(%s1: tensor<2x3xf32>):
      %i = fsnn.linear %s1, %w2 : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
      // expected-error @+1 {{'fsnn.batch_norm_train' op normalises with running statistics that are not arguments of the function; the trainer could not update them}}
      %n = fsnn.batch_norm %i, %gamma, %beta, %mean, %var {epsilon = 1.0e-5 : f64} : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
      fsnn.yield %n : tensor<2x3xf32>
    }
  %loss, %g = fsnn.softmax_cross_entropy %r#1, %labels : tensor<2x3xf32>, tensor<2xi64> -> tensor<f32>, tensor<2x3xf32>
  return %loss : tensor<f32>
}

// -----

func.func @frames_without_current(%x: tensor<2x3x4xf32>, %labels: tensor<2xi64>, %f: tensor<3x4xf32> {fsnn.trainable}, %w: tensor<3x3xf32>) -> tensor<f32> {
  // expected-error @+1 {{'fsnn.feedback' op takes spike frames, and no op of layer 1's shape is marked as the current of the time-averaged input (fsnn.equilibrium_current); import the model for training (fsnn-translate --import --training), which computes it}}
  %r, %c = fsnn.feedback %x steps 3 neuron #fsnn.neuron<if> input spike_frames : tensor<2x3x4xf32> -> (tensor<2x3xf32>), (tensor<2x3xi32>)
    feedback {
    ^bb0(%s: tensor<2x3xf32>):
      %fb = fsnn.linear %s, %w : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
      fsnn.yield %fb : tensor<2x3xf32>
    } layers {
    ^bb0(%in: tensor<2x4xf32>):
      %i = fsnn.linear %in, %f : tensor<2x4xf32>, tensor<3x4xf32> -> tensor<2x3xf32>
      fsnn.yield %i : tensor<2x3xf32>
    }
  %loss, %g = fsnn.softmax_cross_entropy %r, %labels : tensor<2x3xf32>, tensor<2xi64> -> tensor<f32>, tensor<2x3xf32>
  return %loss : tensor<f32>
}
