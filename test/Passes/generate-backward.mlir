// fsnn-generate-backward on the F400 training forward function (small shapes):
// the readout gradients, the equilibrium map evaluated once at the simulated
// rate, the adjoint as a linear fixed point over its vector-Jacobian product,
// and β backpropagated through one application of the map to every
// trainable argument.
// RUN: fsnn-opt %s -fsnn-generate-backward | FileCheck %s
// RUN: fsnn-opt %s -fsnn-generate-backward | fsnn-opt | FileCheck %s
// A second run leaves the differentiated function alone.
// RUN: fsnn-opt %s -fsnn-generate-backward -fsnn-generate-backward | FileCheck %s
// RUN: fsnn-opt %s -fsnn-generate-backward | FileCheck %s --check-prefix=LIF

// CHECK-LABEL: func.func @train_step
// CHECK-SAME: -> (tensor<f32>, tensor<4x3xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>,
// CHECK-SAME: tensor<5x6xf32> {fsnn.name = "grad:f.weight"}, tensor<5xf32> {fsnn.name = "grad:f.bias"},
// CHECK-SAME: tensor<5xf32> {fsnn.name = "grad:bn.gamma"}, tensor<5xf32> {fsnn.name = "grad:bn.beta"},
// CHECK-SAME: tensor<5x5xf32> {fsnn.name = "grad:fb.V"}, tensor<f32> {fsnn.name = "grad:fb.g"},
// CHECK-SAME: tensor<3x5xf32> {fsnn.name = "grad:readout.weight"}, tensor<3xf32> {fsnn.name = "grad:readout.bias"},
// CHECK-SAME: tensor<4xf32> {fsnn.name = "adjoint_residual"}, tensor<4xf32> {fsnn.name = "adjoint_rhs_norm"})
// CHECK: %[[U:.*]], %[[V:.*]] = fsnn.spectral_power_iteration
// CHECK: %[[W:.*]], %{{.*}} = fsnn.spectral_weight
// CHECK: %[[MW:.*]] = fsnn.dropout_mask %{{.*}} {rate = 2.000000e-01 : f64, stream = 1 : i64}
// CHECK: %[[CUR:.*]] = fsnn.dropout
// CHECK: %[[RATES:.*]], %{{.*}} = fsnn.feedback %[[CUR]]
// CHECK: %[[LOSS:.*]], %[[GL:.*]] = fsnn.softmax_cross_entropy
// ∂L/∂a = ∂L/∂o · C, and the readout's own gradients.
// CHECK: %[[CT:.*]] = linalg.transpose ins(%{{.*}} : tensor<3x5xf32>)
// CHECK: %[[DLDA:.*]] = fsnn.linear %[[GL]], %[[CT]]
// ∂C = Σ_b ∂L/∂o[b]ᵀ a[b]: the linear map of (∂L/∂o)ᵀ by aᵀ.
// CHECK: %[[GLT:.*]] = linalg.transpose ins(%[[GL]]
// CHECK: %[[RT:.*]] = linalg.transpose ins(%[[RATES]]
// CHECK: fsnn.linear %[[GLT]], %[[RT]] : tensor<3x4xf32>, tensor<5x4xf32> -> tensor<3x5xf32>
// CHECK: linalg.reduce ins(%[[GL]]
// The map at the point a = a[T]: z = mask ⊙ (W a) + I.
// CHECK: %[[WA:.*]] = fsnn.linear %[[RATES]], %[[W]]
// CHECK: %[[D:.*]] = fsnn.dropout %[[WA]], %[[MW]]
// CHECK: %[[Z:.*]] = arith.addf %[[D]], %[[CUR]]
// CHECK: %[[BETA:.*]], %[[RES:.*]] = fsnn.linear_fixed_point %[[DLDA]] solver broyden max_iterations 30 tolerance 0.000000e+00 : tensor<4x5xf32> -> tensor<4xf32> operator {
// CHECK: ^bb0(%[[ARG:.*]]: tensor<4x5xf32>):
// CHECK: %[[GZ:.*]] = fsnn.clamp_rate_grad %[[Z]], %[[ARG]] {threshold = 2.000000e+00 : f64}
// CHECK: %[[GD:.*]] = fsnn.dropout %[[GZ]], %[[MW]]
// CHECK: %[[WT:.*]] = linalg.transpose ins(%[[W]]
// CHECK: %[[VJP:.*]] = fsnn.linear %[[GD]], %[[WT]]
// CHECK: fsnn.yield %[[VJP]]
// CHECK: }
// β through one application of f.
// CHECK: %[[GZB:.*]] = fsnn.clamp_rate_grad %[[Z]], %[[BETA]]
// CHECK: %[[GDB:.*]] = fsnn.dropout %[[GZB]], %[[MW]]
// ∂W = Σ_b (mask ⊙ δ)[b]ᵀ a[b], as a linear map too.
// CHECK: %[[GDBT:.*]] = linalg.transpose ins(%[[GDB]]
// CHECK: linalg.transpose ins(%[[RATES]]
// CHECK: %[[GW:.*]] = fsnn.linear %[[GDBT]], %{{.*}} : tensor<5x4xf32>, tensor<5x4xf32> -> tensor<5x5xf32>
// CHECK: fsnn.batch_norm_train_grad
// CHECK: %{{.*}}, %{{.*}} = fsnn.spectral_weight_grad %{{.*}}, %{{.*}}, %[[U]], %[[V]], %[[GW]]
// |∂L/∂a| per sample, where the solve starts.
// CHECK: %[[SQ:.*]] = arith.mulf %[[DLDA]], %[[DLDA]]
// CHECK: %[[SUM:.*]] = linalg.reduce ins(%[[SQ]]
// CHECK: %[[NORM:.*]] = math.sqrt %[[SUM]]
// CHECK: return %[[LOSS]],
// CHECK-SAME: %[[RES]], %[[NORM]] :

func.func @train_step(%x: tensor<4x6xf32> {fsnn.name = "images"}, %labels: tensor<4xi64> {fsnn.name = "labels"},
    %fw: tensor<5x6xf32> {fsnn.name = "f.weight", fsnn.trainable}, %fb: tensor<5xf32> {fsnn.name = "f.bias", fsnn.trainable},
    %gamma: tensor<5xf32> {fsnn.name = "bn.gamma", fsnn.trainable}, %beta: tensor<5xf32> {fsnn.name = "bn.beta", fsnn.trainable},
    %V: tensor<5x5xf32> {fsnn.name = "fb.V", fsnn.trainable}, %g: tensor<f32> {fsnn.name = "fb.g", fsnn.trainable},
    %u: tensor<5xf32> {fsnn.name = "fb.u"}, %v: tensor<5xf32> {fsnn.name = "fb.v"},
    %C: tensor<3x5xf32> {fsnn.name = "readout.weight", fsnn.trainable}, %c: tensor<3xf32> {fsnn.name = "readout.bias", fsnn.trainable},
    %seed: i64 {fsnn.name = "dropout_seed"})
    -> (tensor<f32>, tensor<4x3xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>) {
  %u1, %v1 = fsnn.spectral_power_iteration %V, %u, %v : tensor<5x5xf32>, tensor<5xf32>, tensor<5xf32>
  %w, %sigma = fsnn.spectral_weight %V, %g, %u1, %v1 : tensor<5x5xf32>, tensor<f32>, tensor<5xf32>, tensor<5xf32> -> tensor<5x5xf32>, tensor<f32>
  %mf = fsnn.dropout_mask %seed {rate = 0.2, stream = 0} : i64 -> tensor<4x5xf32>
  %mw = fsnn.dropout_mask %seed {rate = 0.2, stream = 1} : i64 -> tensor<4x5xf32>
  %i = fsnn.linear %x, %fw, %fb : tensor<4x6xf32>, tensor<5x6xf32>, tensor<5xf32> -> tensor<4x5xf32>
  %n, %mean, %var = fsnn.batch_norm_train %i, %gamma, %beta {epsilon = 1.0e-05} : tensor<4x5xf32>, tensor<5xf32>, tensor<5xf32> -> tensor<4x5xf32>, tensor<5xf32>, tensor<5xf32>
  %cur = fsnn.dropout %n, %mf : tensor<4x5xf32>
  %rates, %counts = fsnn.feedback %cur steps 5 neuron #fsnn.neuron<if, threshold = 2.0> input static
      : tensor<4x5xf32> -> (tensor<4x5xf32>), (tensor<4x5xi32>)
    feedback {
    ^bb0(%s: tensor<4x5xf32>):
      %fbk = fsnn.linear %s, %w : tensor<4x5xf32>, tensor<5x5xf32> -> tensor<4x5xf32>
      %d = fsnn.dropout %fbk, %mw : tensor<4x5xf32>
      fsnn.yield %d : tensor<4x5xf32>
    } layers {
    ^bb0(%in: tensor<4x5xf32>):
      fsnn.yield %in : tensor<4x5xf32>
    }
  %logits = fsnn.linear %rates, %C, %c : tensor<4x5xf32>, tensor<3x5xf32>, tensor<3xf32> -> tensor<4x3xf32>
  %loss, %gl = fsnn.softmax_cross_entropy %logits, %labels : tensor<4x3xf32>, tensor<4xi64> -> tensor<f32>, tensor<4x3xf32>
  return %loss, %logits, %u1, %v1, %mean, %var : tensor<f32>, tensor<4x3xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>
}

// LIF neurons: the simulation's rates are λ-weighted, and the backward is the
// IF one (docs/method.md §2.2): the same equilibrium map at the rate, the same
// adjoint.
// LIF-LABEL: func.func @lif_step
// LIF-SAME: {fsnn.name = "grad:w"}
// LIF: %[[RATES:.*]], %{{.*}} = fsnn.feedback %{{.*}} steps 3 neuron <lif, threshold = 2.0, leak = 0.9>
// LIF: %[[WA:.*]] = fsnn.linear %[[RATES]], %{{.*}}
// LIF: %[[Z:.*]] = arith.addf %[[WA]]
// LIF: fsnn.linear_fixed_point
// LIF: fsnn.clamp_rate_grad %[[Z]]
func.func @lif_step(%x: tensor<2x3xf32> {fsnn.name = "images"}, %labels: tensor<2xi64> {fsnn.name = "labels"}, %w: tensor<3x3xf32> {fsnn.trainable, fsnn.name = "w"}) -> (tensor<f32> {fsnn.name = "loss"}) {
  %r, %c = fsnn.feedback %x steps 3 neuron #fsnn.neuron<lif, threshold = 2.0, leak = 0.9> input static : tensor<2x3xf32> -> (tensor<2x3xf32>), (tensor<2x3xi32>)
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
