// CIFAR-10 AlexNet-F (docs/method.md §5.4) at inference: five spiking conv layers,
// 96C3s-256C3-384C3s-384C3-256C3, with a transposed-conv feedback F96C3u from
// layer 5 to layer 1, IF neurons, T = 30, readout on layer 5's rates.
// BN is in inference mode everywhere; fsnn-prepare-inference folds all five
// into their convs and hoists the folds out of the time loop.
//
// Try: fsnn-opt examples/cifar10-alexnet-f.mlir -fsnn-prepare-inference
func.func @cifar10_alexnet_f(
    %images: tensor<32x3x32x32xf32>,
    %w1: tensor<96x3x3x3xf32>,
    %b1: tensor<96xf32>,
    %bn1_gamma: tensor<96xf32>,
    %bn1_beta: tensor<96xf32>,
    %bn1_mean: tensor<96xf32>,
    %bn1_var: tensor<96xf32>,
    %w2: tensor<256x96x3x3xf32>,
    %b2: tensor<256xf32>,
    %bn2_gamma: tensor<256xf32>,
    %bn2_beta: tensor<256xf32>,
    %bn2_mean: tensor<256xf32>,
    %bn2_var: tensor<256xf32>,
    %w3: tensor<384x256x3x3xf32>,
    %b3: tensor<384xf32>,
    %bn3_gamma: tensor<384xf32>,
    %bn3_beta: tensor<384xf32>,
    %bn3_mean: tensor<384xf32>,
    %bn3_var: tensor<384xf32>,
    %w4: tensor<384x384x3x3xf32>,
    %b4: tensor<384xf32>,
    %bn4_gamma: tensor<384xf32>,
    %bn4_beta: tensor<384xf32>,
    %bn4_mean: tensor<384xf32>,
    %bn4_var: tensor<384xf32>,
    %w5: tensor<256x384x3x3xf32>,
    %b5: tensor<256xf32>,
    %bn5_gamma: tensor<256xf32>,
    %bn5_beta: tensor<256xf32>,
    %bn5_mean: tensor<256xf32>,
    %bn5_var: tensor<256xf32>,
    %fb_weight: tensor<256x96x3x3xf32>,
    %readout_weight: tensor<10x16384xf32>,
    %readout_bias: tensor<10xf32>)
    -> (tensor<32x10xf32>, tensor<32x256x8x8xi32>) {
  %rates:5, %counts:5 = fsnn.feedback %images steps 30
      neuron #fsnn.neuron<if, threshold = 2.0> input static
      : tensor<32x3x32x32xf32>
      -> (tensor<32x96x16x16xf32>, tensor<32x256x16x16xf32>, tensor<32x384x8x8xf32>, tensor<32x384x8x8xf32>, tensor<32x256x8x8xf32>),
         (tensor<32x96x16x16xi32>, tensor<32x256x16x16xi32>, tensor<32x384x8x8xi32>, tensor<32x384x8x8xi32>, tensor<32x256x8x8xi32>)
    feedback {
    ^bb0(%s5: tensor<32x256x8x8xf32>):
      %fb = fsnn.conv_transpose2d %s5, %fb_weight strides [2, 2] padding [1, 1]
          output_padding [1, 1] : tensor<32x256x8x8xf32>, tensor<256x96x3x3xf32>
          -> tensor<32x96x16x16xf32>
      fsnn.yield %fb : tensor<32x96x16x16xf32>
    } layers {
    ^bb0(%in: tensor<32x3x32x32xf32>):
      %c = fsnn.conv2d %in, %w1, %b1 strides [2, 2] padding [1, 1]
          : tensor<32x3x32x32xf32>, tensor<96x3x3x3xf32>, tensor<96xf32>
          -> tensor<32x96x16x16xf32>
      %n = fsnn.batch_norm %c, %bn1_gamma, %bn1_beta, %bn1_mean, %bn1_var
          {epsilon = 1.0e-05} : tensor<32x96x16x16xf32>, tensor<96xf32>,
          tensor<96xf32>, tensor<96xf32>, tensor<96xf32>
      fsnn.yield %n : tensor<32x96x16x16xf32>
    }, {
    ^bb0(%in: tensor<32x96x16x16xf32>):
      %c = fsnn.conv2d %in, %w2, %b2 strides [1, 1] padding [1, 1]
          : tensor<32x96x16x16xf32>, tensor<256x96x3x3xf32>, tensor<256xf32>
          -> tensor<32x256x16x16xf32>
      %n = fsnn.batch_norm %c, %bn2_gamma, %bn2_beta, %bn2_mean, %bn2_var
          {epsilon = 1.0e-05} : tensor<32x256x16x16xf32>, tensor<256xf32>,
          tensor<256xf32>, tensor<256xf32>, tensor<256xf32>
      fsnn.yield %n : tensor<32x256x16x16xf32>
    }, {
    ^bb0(%in: tensor<32x256x16x16xf32>):
      %c = fsnn.conv2d %in, %w3, %b3 strides [2, 2] padding [1, 1]
          : tensor<32x256x16x16xf32>, tensor<384x256x3x3xf32>, tensor<384xf32>
          -> tensor<32x384x8x8xf32>
      %n = fsnn.batch_norm %c, %bn3_gamma, %bn3_beta, %bn3_mean, %bn3_var
          {epsilon = 1.0e-05} : tensor<32x384x8x8xf32>, tensor<384xf32>,
          tensor<384xf32>, tensor<384xf32>, tensor<384xf32>
      fsnn.yield %n : tensor<32x384x8x8xf32>
    }, {
    ^bb0(%in: tensor<32x384x8x8xf32>):
      %c = fsnn.conv2d %in, %w4, %b4 strides [1, 1] padding [1, 1]
          : tensor<32x384x8x8xf32>, tensor<384x384x3x3xf32>, tensor<384xf32>
          -> tensor<32x384x8x8xf32>
      %n = fsnn.batch_norm %c, %bn4_gamma, %bn4_beta, %bn4_mean, %bn4_var
          {epsilon = 1.0e-05} : tensor<32x384x8x8xf32>, tensor<384xf32>,
          tensor<384xf32>, tensor<384xf32>, tensor<384xf32>
      fsnn.yield %n : tensor<32x384x8x8xf32>
    }, {
    ^bb0(%in: tensor<32x384x8x8xf32>):
      %c = fsnn.conv2d %in, %w5, %b5 strides [1, 1] padding [1, 1]
          : tensor<32x384x8x8xf32>, tensor<256x384x3x3xf32>, tensor<256xf32>
          -> tensor<32x256x8x8xf32>
      %n = fsnn.batch_norm %c, %bn5_gamma, %bn5_beta, %bn5_mean, %bn5_var
          {epsilon = 1.0e-05} : tensor<32x256x8x8xf32>, tensor<256xf32>,
          tensor<256xf32>, tensor<256xf32>, tensor<256xf32>
      fsnn.yield %n : tensor<32x256x8x8xf32>
    }
  %flat = fsnn.flatten %rates#4 : tensor<32x256x8x8xf32> -> tensor<32x16384xf32>
  %logits = fsnn.linear %flat, %readout_weight, %readout_bias
      : tensor<32x16384xf32>, tensor<10x16384xf32>, tensor<10xf32>
      -> tensor<32x10xf32>
  return %logits, %counts#4 : tensor<32x10xf32>, tensor<32x256x8x8xi32>
}
