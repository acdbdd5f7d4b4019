// RUN: fsnn-opt %s -split-input-file -convert-fsnn-to-linalg | FileCheck %s
// RUN: fsnn-opt %s -split-input-file -convert-fsnn-to-linalg -loop-invariant-code-motion | FileCheck %s --check-prefix=HOIST
// RUN: fsnn-opt %s -split-input-file -convert-fsnn-to-linalg=propagate-by-change=false | FileCheck %s --check-prefix=DENSE

// As in the CPU pipeline, loop-invariant code motion takes the feedback
// weight's transpose out of the time loop: it is computed once per call.
// HOIST-LABEL: func.func @static_if
// HOIST: linalg.generic {{.*}} ins(%arg2 : tensor<3x3xf32>)
// HOIST: scf.for
// HOIST-NOT: ins(%arg2
// HOIST: scf.yield

// Static input, one IF layer: F(x) is computed once before the time loop,
// the loop carries u, s, acc, the change of s and the feedback map's output
// R, the feedback is skipped at step 1, the rate is the accumulator times
// 1/T, and the spike count is the accumulator as an integer (an IF neuron's
// accumulator counts its spikes exactly; no count is carried).
// CHECK-LABEL: func.func @static_if
// The linear map: Fᵀ, then loops (b, i, o) with the outputs innermost.
// CHECK: %[[FT:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%arg1 : tensor<3x4xf32>) outs(%{{.*}} : tensor<4x3xf32>)
// CHECK: %[[F:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%arg0, %[[FT]]
// R starts as the map of no spikes: its bias, here none (zeros), without
// running the map.
// CHECK-NOT: scf.for
// CHECK: %[[LOOP:.*]]:5 = scf.for %[[T:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[U:.*]] = %{{.*}}, %[[S:.*]] = %{{.*}}, %[[ACC:.*]] = %{{.*}}, %[[DS:.*]] = %{{.*}}, %[[R:.*]] = %{{.*}})
// CHECK-NOT: ins(%arg0
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[T]]
// Propagation by change: the feedback map (without its bias) of the last
// step's change of s, event-driven and added into R itself: per sample, the
// neurons whose spike changed are compacted without branches, then each
// adds ±(its row of Wᵀ) to R.
// CHECK: %[[WT:.*]] = linalg.generic {{.*}} ins(%arg2
// CHECK: %[[MAP:.*]]:2 = scf.for %[[B:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[R]],
// CHECK: %[[LIST:.*]]:2 = scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step
// CHECK: tensor.extract %[[DS]][%[[B]], %[[I]]]
// CHECK: arith.cmpf une
// CHECK: arith.select
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %[[LIST]]#1
// CHECK: %[[LISTED:.*]] = tensor.extract %[[LIST]]#0[%[[K]]]
// CHECK: %[[J:.*]] = arith.index_castui %[[LISTED]] : i32 to index
// CHECK: %[[CHANGE:.*]] = tensor.extract %[[DS]][%[[B]], %[[J]]]
// CHECK: tensor.extract_slice %[[WT]][%[[J]], 0] [1, 3] [1, 1]
// CHECK: math.fma %[[CHANGE]]
// CHECK: tensor.insert_slice
// The neuron update is one elementwise pass over the flattened tensors that
// reads the current's terms (F(x), then the feedback, dropped at step 1) and
// updates u, s, acc and the change of s in place (no temporaries per step).
// CHECK: %[[STEP:.*]]:4 = linalg.generic {{.*}} iterator_types = ["parallel"]} ins(%{{.*}}, %{{.*}} : tensor<6xf32>, tensor<6xf32>) outs(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>)
// CHECK: ^bb0(%[[INF:.*]]: f32, %[[INFB:.*]]: f32, %[[UO:.*]]: f32, %[[SO:.*]]: f32, %[[ACCO:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[GATED:.*]] = arith.select %[[FIRST]], %{{.*}}, %[[INFB]]
// CHECK: %[[CUR:.*]] = arith.addf %[[INF]], %[[GATED]]
// CHECK: %[[V:.*]] = arith.addf %[[UO]], %[[CUR]]
// CHECK: %[[FIRED:.*]] = arith.cmpf oge, %[[V]]
// CHECK: %[[SPK:.*]] = arith.uitofp %[[FIRED]]
// CHECK: %[[UN:.*]] = arith.subf %[[V]]
// CHECK: %[[ACCN:.*]] = arith.addf %[[ACCO]], %[[SPK]]
// CHECK: %[[DSN:.*]] = arith.subf %[[SPK]], %[[SO]]
// CHECK: linalg.yield %[[UN]], %[[SPK]], %[[ACCN]], %[[DSN]]
// CHECK: scf.yield %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[MAP]]#0
// CHECK: %[[RATE:.*]] = arith.mulf %[[LOOP]]#2, %{{.*}} : tensor<2x3xf32>
// CHECK: %[[COUNT:.*]] = arith.fptosi %[[LOOP]]#2 : tensor<2x3xf32> to tensor<2x3xi32>
// CHECK: return %[[RATE]], %[[COUNT]]

// Without propagation by change, the map runs on s at every step, and the
// loop carries u, s and acc only.
// DENSE-LABEL: func.func @static_if
// DENSE: %[[LOOP:.*]]:3 = scf.for %[[T:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[U:.*]] = %{{.*}}, %[[S:.*]] = %{{.*}}, %[[ACC:.*]] = %{{.*}})
// DENSE: tensor.extract %[[S]]
// DENSE: %[[STEP:.*]]:3 = linalg.generic
// DENSE: scf.yield %{{.*}}, %{{.*}}, %{{.*}} :
func.func @static_if(%x: tensor<2x4xf32>, %f: tensor<3x4xf32>, %w: tensor<3x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xi32>) {
  %r, %c = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if> input static : tensor<2x4xf32> -> (tensor<2x3xf32>), (tensor<2x3xi32>)
    feedback {
    ^bb0(%s: tensor<2x3xf32>):
      %y = fsnn.linear %s, %w : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
      fsnn.yield %y : tensor<2x3xf32>
    } layers {
    ^bb0(%in: tensor<2x4xf32>):
      %y = fsnn.linear %in, %f : tensor<2x4xf32>, tensor<3x4xf32> -> tensor<2x3xf32>
      fsnn.yield %y : tensor<2x3xf32>
    }
  return %r, %c : tensor<2x3xf32>, tensor<2x3xi32>
}

// -----

// LIF with reset to zero: the reset multiplies by 1 - s, the leak multiplies
// the potential and the accumulator, and the rate divides by Σ λ^k.
// CHECK-LABEL: func.func @lif_reset_zero
// CHECK: scf.for
// CHECK: %[[STEP:.*]]:5 = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<2xf32>, tensor<2xf32>)
// CHECK: ^bb0(%{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32, %[[ACCO:.*]]: f32, %{{.*}}: i32, %{{.*}}: f32):
// CHECK: arith.select
// CHECK: %[[CUR:.*]] = arith.addf
// CHECK: %[[V:.*]] = arith.addf %{{.*}}, %[[CUR]]
// CHECK: %[[FIRED:.*]] = arith.cmpf oge, %[[V]]
// CHECK: %[[S:.*]] = arith.uitofp %[[FIRED]]
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[KEEP:.*]] = arith.subf %[[ONE]], %[[S]]
// CHECK: %[[RESET:.*]] = arith.mulf %[[V]], %[[KEEP]]
// CHECK: %[[LEAK:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[UNEXT:.*]] = arith.mulf %[[RESET]], %[[LEAK]] :
// CHECK: %[[DECAYED:.*]] = arith.mulf %[[ACCO]], %{{.*}} :
// CHECK: %[[ACC:.*]] = arith.addf %[[DECAYED]], %[[S]]
// CHECK: linalg.yield %[[UNEXT]], %[[S]], %[[ACC]]
// CHECK: tensor.expand_shape %[[STEP]]#0
// CHECK: scf.yield
// 1 / (1 + 0.5 + 0.25) = 0.571428...
// CHECK: arith.constant dense<0.571428{{[0-9]*}}> : tensor<1x2xf32>
func.func @lif_reset_zero(%x: tensor<1x2xf32>, %w: tensor<2x2xf32>) -> tensor<1x2xf32> {
  %r, %c = fsnn.feedback %x steps 3 neuron #fsnn.neuron<lif, leak = 0.5, reset = zero> input static : tensor<1x2xf32> -> (tensor<1x2xf32>), (tensor<1x2xi32>)
    feedback {
    ^bb0(%s: tensor<1x2xf32>):
      %y = fsnn.linear %s, %w : tensor<1x2xf32>, tensor<2x2xf32> -> tensor<1x2xf32>
      fsnn.yield %y : tensor<1x2xf32>
    } layers {
    ^bb0(%in: tensor<1x2xf32>):
      fsnn.yield %in : tensor<1x2xf32>
    }
  return %r : tensor<1x2xf32>
}

// -----

// Spike frames: frame t is sliced out of the batch x T input inside the loop
// and the input map runs on it at every step.
// CHECK-LABEL: func.func @spike_frames
// CHECK: scf.for %[[T:.*]] = %{{.*}} to %{{.*}} step
// CHECK: %[[FRAME:.*]] = tensor.extract_slice %arg0[0, %[[T]], 0] [2, 1, 4] [1, 1, 1] : tensor<2x6x4xf32> to tensor<2x4xf32>
// CHECK: linalg.generic {{.*}} ins(%[[FRAME]], %{{.*}} : tensor<2x4xf32>, tensor<4x3xf32>)
func.func @spike_frames(%x: tensor<2x6x4xf32>, %f: tensor<3x4xf32>) -> tensor<2x3xf32> {
  %r, %c = fsnn.feedback %x steps 6 neuron #fsnn.neuron<if> input spike_frames : tensor<2x6x4xf32> -> (tensor<2x3xf32>), (tensor<2x3xi32>)
    feedback {
    ^bb0(%s: tensor<2x3xf32>):
      fsnn.yield %s : tensor<2x3xf32>
    } layers {
    ^bb0(%in: tensor<2x4xf32>):
      %y = fsnn.linear %in, %f : tensor<2x4xf32>, tensor<3x4xf32> -> tensor<2x3xf32>
      fsnn.yield %y : tensor<2x3xf32>
    }
  return %r : tensor<2x3xf32>
}

// -----

// Two layers: layer 2 reads the change of layer 1's spikes at the same step
// (the value computed in this iteration), propagated by change like the
// feedback, which reads the change of layer 2's spikes at the last step. The
// loop carries u, s, acc and the change of s per layer, then the outputs of
// the feedback and of layer 2's map.
// CHECK-LABEL: func.func @two_layers
// CHECK: scf.for {{.*}} iter_args(%[[U1:.*]] = %{{.*}}, %[[S1:.*]] = %{{.*}}, %{{.*}} = %{{.*}}, %[[D1:.*]] = %{{.*}}, %{{.*}} = %{{.*}}, %[[S2:.*]] = %{{.*}}, %{{.*}} = %{{.*}}, %[[D2:.*]] = %{{.*}}, %[[RFB:.*]] = %{{.*}}, %[[R2:.*]] = %{{.*}})
// CHECK: tensor.extract %[[D2]]
// CHECK: %[[STEP1:.*]]:4 = linalg.generic
// CHECK: arith.select
// CHECK: arith.uitofp
// CHECK: %[[D1NEXT:.*]] = tensor.expand_shape %[[STEP1]]#3
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[R2]],
// CHECK: tensor.extract %[[D1NEXT]]
// CHECK: %[[STEP2:.*]]:4 = linalg.generic
// CHECK: scf.yield
func.func @two_layers(%x: tensor<1x2xf32>, %w1: tensor<3x2xf32>, %w2: tensor<2x3xf32>) -> tensor<1x2xf32> {
  %r:2, %c:2 = fsnn.feedback %x steps 4 neuron #fsnn.neuron<if> input static : tensor<1x2xf32> -> (tensor<1x3xf32>, tensor<1x2xf32>), (tensor<1x3xi32>, tensor<1x2xi32>)
    feedback {
    ^bb0(%s: tensor<1x2xf32>):
      %y = fsnn.linear %s, %w1 : tensor<1x2xf32>, tensor<3x2xf32> -> tensor<1x3xf32>
      fsnn.yield %y : tensor<1x3xf32>
    } layers {
    ^bb0(%in: tensor<1x2xf32>):
      %y = fsnn.linear %in, %w1 : tensor<1x2xf32>, tensor<3x2xf32> -> tensor<1x3xf32>
      fsnn.yield %y : tensor<1x3xf32>
    }, {
    ^bb0(%s1: tensor<1x3xf32>):
      %y = fsnn.linear %s1, %w2 : tensor<1x3xf32>, tensor<2x3xf32> -> tensor<1x2xf32>
      fsnn.yield %y : tensor<1x2xf32>
    }
  return %r#1 : tensor<1x2xf32>
}

// -----

// A conv on spikes (the feedback map) is event-driven: per sample, the
// neurons (c, h, w) whose spike changed are compacted in that order without
// branches, then each adds ± its channel's flipped kernel (built from the
// weight by index: per stride phase, zeros past the kernel), channels last,
// into the window at its padded position (h + 1, w + 1) of an accumulator
// whose row R is output row R - 2; the accumulator is then cropped and
// turned back to NCHW.
// CHECK-LABEL: func.func @event_driven_conv_feedback
// CHECK: scf.for
// CHECK: %[[FLIPPED:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4x3x3x4xf32>)
// CHECK: tensor.extract %arg2
// CHECK: arith.select
// CHECK: %[[ROWS:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2, 3]] : tensor<1x4x5x5xf32> into tensor<1x100xf32>
// CHECK: scf.for %[[N:[a-z0-9_]+]] =
// CHECK: %[[LIST:.*]]:2 = scf.for %[[F:[a-z0-9_]+]] =
// CHECK: tensor.extract %[[ROWS]][%[[N]], %[[F]]]
// CHECK: arith.cmpf une
// CHECK: scf.for %[[K:[a-z0-9_]+]] = %{{.*}} to %[[LIST]]#1
// CHECK: %[[LISTED:.*]] = tensor.extract %[[LIST]]#0[%[[K]]]
// CHECK: %[[J:.*]] = arith.index_castui %[[LISTED]] : i32 to index
// CHECK: %[[SPIKE:.*]] = tensor.extract %[[ROWS]][%[[N]], %[[J]]]
// CHECK: %[[W:.*]] = arith.remui %[[J]], %c5
// CHECK: %[[CH:.*]] = arith.divui %[[J]], %c5
// CHECK: %[[H:.*]] = arith.remui %[[CH]]
// CHECK: %[[C:.*]] = arith.divui %[[CH]]
// CHECK: tensor.extract_slice %{{.*}}[%[[N]], %{{.*}}, %{{.*}}, 0] [1, 3, 3, 4] [1, 1, 1, 1] : tensor<1x8x8x4xf32> to tensor<1x3x3x4xf32>
// CHECK: tensor.extract_slice %[[FLIPPED]][%{{.*}}, 0, 0, 0] [1, 3, 3, 4]
// CHECK: math.fma %[[SPIKE]]
// CHECK: tensor.insert_slice
// CHECK: tensor.extract_slice %{{.*}}[0, 2, 2, 0] [1, 5, 5, 4] [1, 1, 1, 1] : tensor<1x8x8x4xf32> to tensor<1x5x5x4xf32>
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x4x5x5xf32>)
func.func @event_driven_conv_feedback(%x: tensor<1x4x5x5xf32>, %k: tensor<4x4x1x1xf32>, %w: tensor<4x4x3x3xf32>) -> tensor<1x4x5x5xf32> {
  %r, %c = fsnn.feedback %x steps 3 neuron #fsnn.neuron<if> input static : tensor<1x4x5x5xf32> -> (tensor<1x4x5x5xf32>), (tensor<1x4x5x5xi32>)
    feedback {
    ^bb0(%s: tensor<1x4x5x5xf32>):
      %y = fsnn.conv2d %s, %w strides [1, 1] padding [1, 1] : tensor<1x4x5x5xf32>, tensor<4x4x3x3xf32> -> tensor<1x4x5x5xf32>
      fsnn.yield %y : tensor<1x4x5x5xf32>
    } layers {
    ^bb0(%in: tensor<1x4x5x5xf32>):
      %y = fsnn.conv2d %in, %k strides [1, 1] padding [0, 0] : tensor<1x4x5x5xf32>, tensor<4x4x1x1xf32> -> tensor<1x4x5x5xf32>
      fsnn.yield %y : tensor<1x4x5x5xf32>
    }
  return %r : tensor<1x4x5x5xf32>
}

// -----

// A linear map on spikes whose width is a multiple of 16 is register-tiled:
// per sample, the indices of the neurons that fired are compacted without a
// branch, 8 lanes at a time: the lanes' mask of non-zeros picks the row of a
// table of lane positions, stored whole at the list's end, which moves by the
// mask's population count; then each output tile (here one of 32 = two
// 16-lane vectors) is carried in vector registers over that list, and
// written back once.
// CHECK-LABEL: func.func @register_tiled_feedback
// CHECK: scf.for
// CHECK: scf.for %[[N:[a-z0-9_]+]] = {{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<2x32xf32>, tensor<32xi32>)
// CHECK: %[[TABLE:.*]] = arith.constant dense<"0x{{[0-9A-F]+}}"> : tensor<256x8xi32>
// CHECK: %[[LIST:.*]]:2 = scf.for %[[I:[a-z0-9_]+]] = %{{.*}} to %{{.*}} step %c8 iter_args(%{{.*}} = %{{.*}}, %[[END:.*]] = %{{.*}}) -> (tensor<32xi32>, index)
// CHECK: vector.transfer_read {{.*}} : tensor<2x32xf32>, vector<8xf32>
// CHECK: %[[NONZERO:.*]] = arith.cmpf une, {{.*}} : vector<8xf32>
// CHECK: %[[BITS:.*]] = vector.bitcast %[[NONZERO]] : vector<8xi1> to vector<1xi8>
// CHECK: %[[MASK8:.*]] = vector.extract %[[BITS]][0]
// CHECK: %[[MASK:.*]] = arith.extui %[[MASK8]] : i8 to i32
// CHECK: %[[ROW:.*]] = arith.index_castui %[[MASK]] : i32 to index
// CHECK: %[[LANES:.*]] = vector.transfer_read %[[TABLE]][%[[ROW]], %{{.*}}]{{.*}} : tensor<256x8xi32>, vector<8xi32>
// CHECK: %[[FROM:.*]] = arith.index_castui %[[I]] : index to i32
// CHECK: %[[SPLAT:.*]] = vector.broadcast %[[FROM]] : i32 to vector<8xi32>
// CHECK: %[[POS:.*]] = arith.addi %[[LANES]], %[[SPLAT]]
// CHECK: vector.transfer_write %[[POS]], %{{.*}}[%[[END]]]
// CHECK: %[[ADDED:.*]] = math.ctpop %[[MASK]]
// CHECK: %[[STEP:.*]] = arith.index_castui %[[ADDED]]
// CHECK: arith.addi %[[END]], %[[STEP]]
// CHECK: scf.for %[[O:[a-z0-9_]+]] = %{{.*}} to %{{.*}} step %c32
// CHECK-COUNT-2: vector.transfer_read {{.*}} : tensor<2x32xf32>, vector<16xf32>
// CHECK: scf.for %[[K:[a-z0-9_]+]] = %{{.*}} to %[[LIST]]#1 {{.*}} -> (vector<16xf32>, vector<16xf32>)
// CHECK: %[[LISTED:.*]] = tensor.extract %[[LIST]]#0[%[[K]]]
// CHECK: %[[IDX:.*]] = arith.index_castui %[[LISTED]] : i32 to index
// CHECK: vector.transfer_read %{{.*}}[%[[IDX]], %{{.*}}]{{.*}}: tensor<32x32xf32>, vector<16xf32>
// CHECK: vector.fma {{.*}} : vector<16xf32>
// CHECK: scf.yield {{.*}} : vector<16xf32>, vector<16xf32>
// CHECK-COUNT-2: vector.transfer_write {{.*}} : vector<16xf32>, tensor<2x32xf32>
func.func @register_tiled_feedback(%x: tensor<2x4xf32>, %f: tensor<32x4xf32>, %w: tensor<32x32xf32>) -> tensor<2x32xf32> {
  %r, %c = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if> input static : tensor<2x4xf32> -> (tensor<2x32xf32>), (tensor<2x32xi32>)
    feedback {
    ^bb0(%s: tensor<2x32xf32>):
      %y = fsnn.linear %s, %w : tensor<2x32xf32>, tensor<32x32xf32> -> tensor<2x32xf32>
      fsnn.yield %y : tensor<2x32xf32>
    } layers {
    ^bb0(%in: tensor<2x4xf32>):
      %y = fsnn.linear %in, %f : tensor<2x4xf32>, tensor<32x4xf32> -> tensor<2x32xf32>
      fsnn.yield %y : tensor<2x32xf32>
    }
  return %r : tensor<2x32xf32>
}
