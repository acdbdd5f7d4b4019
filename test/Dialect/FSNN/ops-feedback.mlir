// Round trip of fsnn.feedback in its single-layer, multi-layer and
// spike-frame forms, and of the neuron attribute.
// RUN: fsnn-opt %s -split-input-file | fsnn-opt -split-input-file | FileCheck %s
// RUN: fsnn-opt %s -split-input-file --mlir-print-op-generic | fsnn-opt -split-input-file | FileCheck %s

// The F400 model in training mode: BN with batch statistics and a dropout
// mask in F, the spectral feedback weight with its own mask (docs/method.md §5.2).
// CHECK-LABEL: func.func @f400_training
func.func @f400_training(%x: tensor<128x784xf32>, %f: tensor<400x784xf32>, %fb: tensor<400xf32>, %gamma: tensor<400xf32>, %beta: tensor<400xf32>, %V: tensor<400x400xf32>, %g: tensor<f32>, %u: tensor<400xf32>, %v: tensor<400xf32>, %seed: i64) -> (tensor<128x400xf32>, tensor<128x400xi32>) {
  %mf = fsnn.dropout_mask %seed {rate = 0.2, stream = 0} : i64 -> tensor<128x400xf32>
  %mw = fsnn.dropout_mask %seed {rate = 0.2, stream = 1} : i64 -> tensor<128x400xf32>
  %u1, %v1 = fsnn.spectral_power_iteration %V, %u, %v : tensor<400x400xf32>, tensor<400xf32>, tensor<400xf32>
  %w, %sigma = fsnn.spectral_weight %V, %g, %u1, %v1 : tensor<400x400xf32>, tensor<f32>, tensor<400xf32>, tensor<400xf32> -> tensor<400x400xf32>, tensor<f32>
  // CHECK: %{{.*}}, %{{.*}} = fsnn.feedback %{{.*}} steps 5 neuron <if, threshold = 2.0> input static : tensor<128x784xf32> -> (tensor<128x400xf32>), (tensor<128x400xi32>) feedback {
  // CHECK: fsnn.dropout
  // CHECK: } layers {
  // CHECK: fsnn.batch_norm_train
  // CHECK: fsnn.yield %{{.*}} : tensor<128x400xf32>
  %rate, %count = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if, threshold = 2.0> input static : tensor<128x784xf32> -> (tensor<128x400xf32>), (tensor<128x400xi32>)
    feedback {
    ^bb0(%s: tensor<128x400xf32>):
      %ws = fsnn.linear %s, %w : tensor<128x400xf32>, tensor<400x400xf32> -> tensor<128x400xf32>
      %d = fsnn.dropout %ws, %mw : tensor<128x400xf32>
      fsnn.yield %d : tensor<128x400xf32>
    } layers {
    ^bb0(%in: tensor<128x784xf32>):
      %i = fsnn.linear %in, %f, %fb : tensor<128x784xf32>, tensor<400x784xf32>, tensor<400xf32> -> tensor<128x400xf32>
      %n, %mean, %var = fsnn.batch_norm_train %i, %gamma, %beta {epsilon = 1.0e-05} : tensor<128x400xf32>, tensor<400xf32>, tensor<400xf32> -> tensor<128x400xf32>, tensor<400xf32>, tensor<400xf32>
      %d = fsnn.dropout %n, %mf : tensor<128x400xf32>
      fsnn.yield %d : tensor<128x400xf32>
    }
  return %rate, %count : tensor<128x400xf32>, tensor<128x400xi32>
}

// -----

// A three-layer conv model with transposed-conv feedback from layer 3 to
// layer 1 (the shape of AlexNet-F, shortened): layers 2 and 3 take the same
// step's spikes of the layer before. LIF neurons with λ = 0.99.
// CHECK-LABEL: func.func @multi_layer_lif
func.func @multi_layer_lif(%x: tensor<2x3x32x32xf32>, %w1: tensor<8x3x3x3xf32>, %w2: tensor<16x8x3x3xf32>, %w3: tensor<16x16x3x3xf32>, %fbw: tensor<16x8x3x3xf32>) -> (tensor<2x16x8x8xf32>, tensor<2x8x16x16xi32>) {
  // CHECK: %[[R:.*]]:3, %[[C:.*]]:3 = fsnn.feedback %{{.*}} steps 30 neuron <lif, threshold = 2.0, leak = 0.99> input static
  // CHECK-SAME: -> (tensor<2x8x16x16xf32>, tensor<2x16x8x8xf32>, tensor<2x16x8x8xf32>), (tensor<2x8x16x16xi32>, tensor<2x16x8x8xi32>, tensor<2x16x8x8xi32>)
  // CHECK: fsnn.conv_transpose2d
  // CHECK: } layers {
  // CHECK: }, {
  // CHECK: }, {
  // CHECK: return %[[R]]#2, %[[C]]#0
  %r:3, %c:3 = fsnn.feedback %x steps 30 neuron #fsnn.neuron<lif, threshold = 2.0, leak = 0.99> input static : tensor<2x3x32x32xf32> -> (tensor<2x8x16x16xf32>, tensor<2x16x8x8xf32>, tensor<2x16x8x8xf32>), (tensor<2x8x16x16xi32>, tensor<2x16x8x8xi32>, tensor<2x16x8x8xi32>)
    feedback {
    ^bb0(%s3: tensor<2x16x8x8xf32>):
      %y = fsnn.conv_transpose2d %s3, %fbw strides [2, 2] padding [1, 1] output_padding [1, 1] : tensor<2x16x8x8xf32>, tensor<16x8x3x3xf32> -> tensor<2x8x16x16xf32>
      fsnn.yield %y : tensor<2x8x16x16xf32>
    } layers {
    ^bb0(%in: tensor<2x3x32x32xf32>):
      %y = fsnn.conv2d %in, %w1 strides [2, 2] padding [1, 1] : tensor<2x3x32x32xf32>, tensor<8x3x3x3xf32> -> tensor<2x8x16x16xf32>
      fsnn.yield %y : tensor<2x8x16x16xf32>
    }, {
    ^bb0(%s1: tensor<2x8x16x16xf32>):
      %y = fsnn.conv2d %s1, %w2 strides [2, 2] padding [1, 1] : tensor<2x8x16x16xf32>, tensor<16x8x3x3xf32> -> tensor<2x16x8x8xf32>
      fsnn.yield %y : tensor<2x16x8x8xf32>
    }, {
    ^bb0(%s2: tensor<2x16x8x8xf32>):
      %y = fsnn.conv2d %s2, %w3 strides [1, 1] padding [1, 1] : tensor<2x16x8x8xf32>, tensor<16x16x3x3xf32> -> tensor<2x16x8x8xf32>
      fsnn.yield %y : tensor<2x16x8x8xf32>
    }
  return %r#2, %c#0 : tensor<2x16x8x8xf32>, tensor<2x8x16x16xi32>
}

// -----

// N-MNIST style input: batch x time spike frames, one frame per step; the
// layer map sees one frame. Reset to zero, for compatibility with other tools.
// CHECK-LABEL: func.func @spike_frames_reset_zero
func.func @spike_frames_reset_zero(%frames: tensor<4x30x2x34x34xf32>, %w: tensor<64x2x5x5xf32>, %v: tensor<64x64x5x5xf32>) -> tensor<4x64x17x17xf32> {
  // CHECK: fsnn.feedback %{{.*}} steps 30 neuron <if, threshold = 1.0, reset = zero> input spike_frames : tensor<4x30x2x34x34xf32>
  // CHECK: ^bb0(%{{.*}}: tensor<4x2x34x34xf32>):
  %r, %c = fsnn.feedback %frames steps 30 neuron #fsnn.neuron<if, threshold = 1.0, reset = zero> input spike_frames : tensor<4x30x2x34x34xf32> -> (tensor<4x64x17x17xf32>), (tensor<4x64x17x17xi32>)
    feedback {
    ^bb0(%s: tensor<4x64x17x17xf32>):
      %y = fsnn.conv2d %s, %v strides [1, 1] padding [2, 2] : tensor<4x64x17x17xf32>, tensor<64x64x5x5xf32> -> tensor<4x64x17x17xf32>
      fsnn.yield %y : tensor<4x64x17x17xf32>
    } layers {
    ^bb0(%frame: tensor<4x2x34x34xf32>):
      %y = fsnn.conv2d %frame, %w strides [2, 2] padding [2, 2] : tensor<4x2x34x34xf32>, tensor<64x2x5x5xf32> -> tensor<4x64x17x17xf32>
      fsnn.yield %y : tensor<4x64x17x17xf32>
    }
  return %r : tensor<4x64x17x17xf32>
}

// -----

// Omitted neuron parameters take their defaults (threshold 2, reset by
// subtraction). The printer always shows the threshold, the leak only for
// lif, and the reset only when it is zero.
// CHECK-LABEL: func.func @neuron_attribute_defaults
// CHECK-SAME: fsnn.a = #fsnn.neuron<if, threshold = 2.0>
// CHECK-SAME: fsnn.b = #fsnn.neuron<lif, threshold = 0.5, leak = 0.95, reset = zero>
// CHECK-SAME: fsnn.c = #fsnn.neuron<lif, threshold = 2.0, leak = 1.0>
func.func @neuron_attribute_defaults() attributes {
    fsnn.a = #fsnn.neuron<if>,
    fsnn.b = #fsnn.neuron<lif, reset = zero, leak = 0.95, threshold = 0.5>,
    fsnn.c = #fsnn.neuron<lif, leak = 1.0>} {
  return
}
