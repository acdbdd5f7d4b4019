// One IDE training iteration of F400 (docs/method.md §10) up to the adjoint:
// power iteration and W_eff, dropout masks drawn once per batch, T = 5 steps
// with batch statistics in F, readout, loss, ∂L/∂a, and the adjoint solve
// β = J_fᵀβ + ∂L/∂a by Broyden (30 iterations) at the simulated rate a[T].
// The parameter gradients are one backward pass of β through the same map.
// Written by hand to show the method in the dialect; the compiler derives the
// training step from a model file instead: fsnn-translate --import --training
// m.fsnn | fsnn-opt -fsnn-generate-backward (docs/training.md).
func.func @fmnist_f400_train_step(
    %images: tensor<128x784xf32>, %labels: tensor<128xi64>, %seed: i64,
    %f_weight: tensor<400x784xf32>, %f_bias: tensor<400xf32>,
    %bn_gamma: tensor<400xf32>, %bn_beta: tensor<400xf32>,
    %fb_v: tensor<400x400xf32>, %fb_g: tensor<f32>,
    %fb_u: tensor<400xf32>, %fb_vvec: tensor<400xf32>,
    %readout_weight: tensor<10x400xf32>, %readout_bias: tensor<10xf32>)
    -> (tensor<f32>, tensor<128x400xf32>, tensor<128xf32>) {
  %u, %v = fsnn.spectral_power_iteration %fb_v, %fb_u, %fb_vvec
      : tensor<400x400xf32>, tensor<400xf32>, tensor<400xf32>
  %w, %sigma = fsnn.spectral_weight %fb_v, %fb_g, %u, %v
      : tensor<400x400xf32>, tensor<f32>, tensor<400xf32>, tensor<400xf32>
      -> tensor<400x400xf32>, tensor<f32>
  %mask_f = fsnn.dropout_mask %seed {rate = 0.2, stream = 0}
      : i64 -> tensor<128x400xf32>
  %mask_w = fsnn.dropout_mask %seed {rate = 0.2, stream = 1}
      : i64 -> tensor<128x400xf32>

  // Static input: the current F(x) is the same at every step and in the
  // equilibrium map, so it is computed once here.
  %i = fsnn.linear %images, %f_weight, %f_bias
      : tensor<128x784xf32>, tensor<400x784xf32>, tensor<400xf32>
      -> tensor<128x400xf32>
  %n, %batch_mean, %batch_var = fsnn.batch_norm_train %i, %bn_gamma, %bn_beta
      {epsilon = 1.0e-05}
      : tensor<128x400xf32>, tensor<400xf32>, tensor<400xf32>
      -> tensor<128x400xf32>, tensor<400xf32>, tensor<400xf32>
  %current = fsnn.dropout %n, %mask_f : tensor<128x400xf32>

  %rates, %counts = fsnn.feedback %current steps 5
      neuron #fsnn.neuron<if, threshold = 2.0> input static
      : tensor<128x400xf32> -> (tensor<128x400xf32>), (tensor<128x400xi32>)
    feedback {
    ^bb0(%spikes: tensor<128x400xf32>):
      %fb = fsnn.linear %spikes, %w
          : tensor<128x400xf32>, tensor<400x400xf32> -> tensor<128x400xf32>
      %d = fsnn.dropout %fb, %mask_w : tensor<128x400xf32>
      fsnn.yield %d : tensor<128x400xf32>
    } layers {
    ^bb0(%c: tensor<128x400xf32>):
      fsnn.yield %c : tensor<128x400xf32>
    }

  %logits = fsnn.linear %rates, %readout_weight, %readout_bias
      : tensor<128x400xf32>, tensor<10x400xf32>, tensor<10xf32>
      -> tensor<128x10xf32>
  %loss, %dlogits = fsnn.softmax_cross_entropy %logits, %labels
      : tensor<128x10xf32>, tensor<128xi64> -> tensor<f32>, tensor<128x10xf32>
  // ∂L/∂a = ∂L/∂o · C, an upstream linalg op on tensors.
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<128x400xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<128x400xf32>)
      -> tensor<128x400xf32>
  %dloss_da = linalg.matmul
      ins(%dlogits, %readout_weight : tensor<128x10xf32>, tensor<10x400xf32>)
      outs(%init : tensor<128x400xf32>) -> tensor<128x400xf32>

  %beta, %residual = fsnn.adjoint_solve %rates, %dloss_da solver broyden
      max_iterations 30 tolerance 0.0
      : tensor<128x400xf32>, tensor<128x400xf32> -> tensor<128xf32> map {
    ^bb0(%a: tensor<128x400xf32>):
      %wa = fsnn.linear %a, %w
          : tensor<128x400xf32>, tensor<400x400xf32> -> tensor<128x400xf32>
      %d = fsnn.dropout %wa, %mask_w : tensor<128x400xf32>
      %z = arith.addf %d, %current : tensor<128x400xf32>
      %fa = fsnn.clamp_rate %z {threshold = 2.0} : tensor<128x400xf32>
      fsnn.yield %fa : tensor<128x400xf32>
  }
  return %loss, %beta, %residual
      : tensor<f32>, tensor<128x400xf32>, tensor<128xf32>
}
