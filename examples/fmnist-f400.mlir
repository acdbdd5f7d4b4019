// The paper's Fashion-MNIST model "400 (F400)" (docs/method.md §5.2) at inference:
// 784 inputs, F = Linear(784 -> 400) + BN, 400 IF neurons with V_th = 2 and
// a spectrally reparameterised 400x400 feedback, T = 5, readout Linear(400 ->
// 10) on the firing rates. Parameters are function arguments: the compiled
// model takes them at run time.
//
// Try: fsnn-opt examples/fmnist-f400.mlir -fsnn-prepare-inference
func.func @fmnist_f400(%images: tensor<128x784xf32>,
                       %f_weight: tensor<400x784xf32>, %f_bias: tensor<400xf32>,
                       %bn_gamma: tensor<400xf32>, %bn_beta: tensor<400xf32>,
                       %bn_mean: tensor<400xf32>, %bn_var: tensor<400xf32>,
                       %fb_v: tensor<400x400xf32>, %fb_g: tensor<f32>,
                       %fb_u: tensor<400xf32>, %fb_vvec: tensor<400xf32>,
                       %readout_weight: tensor<10x400xf32>,
                       %readout_bias: tensor<10xf32>)
    -> (tensor<128x10xf32>, tensor<128x400xi32>) {
  // W_eff = clamp(g, -1, 1) V / σ̂(V), with u, v from training.
  %w, %sigma = fsnn.spectral_weight %fb_v, %fb_g, %fb_u, %fb_vvec
      : tensor<400x400xf32>, tensor<f32>, tensor<400xf32>, tensor<400xf32>
      -> tensor<400x400xf32>, tensor<f32>
  %rates, %counts = fsnn.feedback %images steps 5
      neuron #fsnn.neuron<if, threshold = 2.0> input static
      : tensor<128x784xf32> -> (tensor<128x400xf32>), (tensor<128x400xi32>)
    feedback {
    ^bb0(%spikes: tensor<128x400xf32>):
      %fb = fsnn.linear %spikes, %w
          : tensor<128x400xf32>, tensor<400x400xf32> -> tensor<128x400xf32>
      fsnn.yield %fb : tensor<128x400xf32>
    } layers {
    ^bb0(%x: tensor<128x784xf32>):
      %i = fsnn.linear %x, %f_weight, %f_bias
          : tensor<128x784xf32>, tensor<400x784xf32>, tensor<400xf32>
          -> tensor<128x400xf32>
      %n = fsnn.batch_norm %i, %bn_gamma, %bn_beta, %bn_mean, %bn_var
          {epsilon = 1.0e-05}
          : tensor<128x400xf32>, tensor<400xf32>, tensor<400xf32>,
            tensor<400xf32>, tensor<400xf32>
      fsnn.yield %n : tensor<128x400xf32>
    }
  %logits = fsnn.linear %rates, %readout_weight, %readout_bias
      : tensor<128x400xf32>, tensor<10x400xf32>, tensor<10xf32>
      -> tensor<128x10xf32>
  return %logits, %counts : tensor<128x10xf32>, tensor<128x400xi32>
}
