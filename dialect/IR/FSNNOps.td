//===- FSNNOps.td - fsnn dialect operations ---------------*- tablegen -*-===//
//
// Conventions shared by every op:
//   * tensors are ranked, f32 or f64, and the leading dimension is the batch;
//   * feature maps are NCHW, conv weights OIHW, transposed-conv weights IOHW
//     (PyTorch's layouts, so that model files map 1:1);
//   * verifiers check only what is visible on the op itself.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_DIALECT_FSNNOPS_TD
#define FSNN_DIALECT_FSNNOPS_TD

include "dialect/IR/FSNNBase.td"
include "dialect/IR/FSNNInterfaces.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class FSNN_Op<string mnemonic, list<Trait> traits = []>
    : Op<FSNN_Dialect, mnemonic, traits>;

def FSNN_FloatTensor : RankedTensorOf<[F32, F64]>;
def FSNN_CountTensor : RankedTensorOf<[I32]>;
def FSNN_LabelTensor : RankedTensorOf<[I32, I64]>;

//===----------------------------------------------------------------------===//
// Maps
//===----------------------------------------------------------------------===//

def FSNN_LinearOp : FSNN_Op<"linear", [Pure, FSNN_SynapticMapOpInterface]> {
  let summary = "fully connected map: result = input · weightᵀ + bias";
  let description = [{
    `input` is `batch x in`, `weight` is `out x in` and the optional `bias` is
    `out`. The result is `batch x out`. Used for the feed-forward map F of an
    FC layer, the FC feedback map W (no bias) and the readout.

    Example:
    ```mlir
    %y = fsnn.linear %x, %w, %b
        : tensor<128x784xf32>, tensor<400x784xf32>, tensor<400xf32>
        -> tensor<128x400xf32>
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$input, FSNN_FloatTensor:$weight,
                       Optional<FSNN_FloatTensor>:$bias);
  let results = (outs FSNN_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,`
    type($weight) (`,` type($bias)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def FSNN_Conv2DOp : FSNN_Op<"conv2d", [Pure, FSNN_SynapticMapOpInterface]> {
  let summary = "2-D convolution (NCHW input, OIHW weight) with optional bias";
  let description = [{
    Cross-correlation as in PyTorch's `Conv2d` with zero padding. For each
    spatial dimension, `out = (in + 2 * padding - kernel) / stride + 1`.

    Example (the 64C5s input map of the MNIST model):
    ```mlir
    %y = fsnn.conv2d %x, %w, %b strides [2, 2] padding [2, 2]
        : tensor<128x1x28x28xf32>, tensor<64x1x5x5xf32>, tensor<64xf32>
        -> tensor<128x64x14x14xf32>
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$input, FSNN_FloatTensor:$weight,
                       Optional<FSNN_FloatTensor>:$bias,
                       DenseI64ArrayAttr:$strides,
                       DenseI64ArrayAttr:$padding);
  let results = (outs FSNN_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? `strides` $strides `padding` $padding
    attr-dict `:` type($input) `,` type($weight) (`,` type($bias)^)? `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def FSNN_ConvTranspose2DOp : FSNN_Op<"conv_transpose2d",
    [Pure, FSNN_SynapticMapOpInterface]> {
  let summary = "2-D transposed convolution (NCHW input, IOHW weight)";
  let description = [{
    The adjoint of `fsnn.conv2d` as in PyTorch's `ConvTranspose2d`. For each
    spatial dimension,
    `out = (in - 1) * stride - 2 * padding + kernel + output_padding`, with
    `output_padding < stride`. It is the feedback map of the multi-layer CIFAR
    models (docs/method.md §5.4: "F96C3u").

    Example:
    ```mlir
    %y = fsnn.conv_transpose2d %s, %w strides [2, 2] padding [1, 1]
        output_padding [1, 1]
        : tensor<128x256x8x8xf32>, tensor<256x96x3x3xf32>
        -> tensor<128x96x16x16xf32>
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$input, FSNN_FloatTensor:$weight,
                       Optional<FSNN_FloatTensor>:$bias,
                       DenseI64ArrayAttr:$strides,
                       DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$output_padding);
  let results = (outs FSNN_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? `strides` $strides `padding` $padding
    `output_padding` $output_padding attr-dict `:` type($input) `,`
    type($weight) (`,` type($bias)^)? `->` type($result)
  }];
  let extraClassDeclaration = [{
    /// IOHW: the output features are the weight's dimension 1.
    int64_t getWeightOutputDim() { return 1; }
  }];
  let hasVerifier = 1;
}

def FSNN_BatchNormOp : FSNN_Op<"batch_norm", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "batch normalisation with given statistics (an affine map)";
  let description = [{
    `result = gamma * (input - mean) / sqrt(variance + epsilon) + beta`, per
    channel (dimension 1). `input` is `batch x C` or `batch x C x H x W`; the
    four parameter vectors have C elements.

    This is batch norm at inference (running statistics), inside the time loop
    of the multi-layer model even in training (docs/method.md §1.7), and, for spike
    input, with statistics computed once per batch from the time-averaged
    input. `fsnn-fold-batch-norm` folds it into a preceding linear or conv.

    Example:
    ```mlir
    %y = fsnn.batch_norm %x, %gamma, %beta, %mean, %var {epsilon = 1.0e-05}
        : tensor<128x400xf32>, tensor<400xf32>, tensor<400xf32>,
          tensor<400xf32>, tensor<400xf32>
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$input, FSNN_FloatTensor:$gamma,
                       FSNN_FloatTensor:$beta, FSNN_FloatTensor:$mean,
                       FSNN_FloatTensor:$variance, F64Attr:$epsilon);
  let results = (outs FSNN_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $gamma `,` $beta `,` $mean `,` $variance attr-dict `:`
    type($input) `,` type($gamma) `,` type($beta) `,` type($mean) `,`
    type($variance)
  }];
  let hasVerifier = 1;
}

def FSNN_BatchNormTrainOp : FSNN_Op<"batch_norm_train", [Pure]> {
  let summary = "batch normalisation with the statistics of this batch";
  let description = [{
    Training-mode batch norm: normalises `input` per channel with the mean and
    the biased variance over the batch (and the spatial dimensions), then
    applies `gamma` and `beta`. It also returns the batch mean and the
    *unbiased* batch variance, which is what a running-statistics update
    (momentum 0.1 in the paper) consumes.

    Example:
    ```mlir
    %y, %mean, %var = fsnn.batch_norm_train %x, %gamma, %beta
        {epsilon = 1.0e-05}
        : tensor<128x64x14x14xf32>, tensor<64xf32>, tensor<64xf32>
        -> tensor<128x64x14x14xf32>, tensor<64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$input, FSNN_FloatTensor:$gamma,
                       FSNN_FloatTensor:$beta, F64Attr:$epsilon);
  let results = (outs FSNN_FloatTensor:$result, FSNN_FloatTensor:$batch_mean,
                      FSNN_FloatTensor:$batch_variance);
  let assemblyFormat = [{
    $input `,` $gamma `,` $beta attr-dict `:` type($input) `,` type($gamma)
    `,` type($beta) `->` type($result) `,` type($batch_mean) `,`
    type($batch_variance)
  }];
  let hasVerifier = 1;
}

def FSNN_DropoutMaskOp : FSNN_Op<"dropout_mask", [Pure]> {
  let summary = "a seeded Bernoulli keep-mask scaled by 1 / (1 - rate)";
  let description = [{
    Draws a mask whose elements are `1 / (1 - rate)` with probability
    `1 - rate` and 0 otherwise, from a counter-based generator keyed by
    `seed` and `stream`. The same `(seed, stream)` always gives the same mask,
    which is what makes the mask of a batch reusable at every time step and in
    the equilibrium map of the backward pass (docs/method.md §1.7). Every map has its
    own `stream`.

    Example:
    ```mlir
    %m = fsnn.dropout_mask %seed {rate = 2.0e-01, stream = 1 : i64}
        : i64 -> tensor<128x400xf32>
    ```
  }];
  let arguments = (ins I64:$seed, F64Attr:$rate, I64Attr:$stream);
  let results = (outs FSNN_FloatTensor:$mask);
  let assemblyFormat = "$seed attr-dict `:` type($seed) `->` type($mask)";
  let hasVerifier = 1;
}

def FSNN_DropoutOp : FSNN_Op<"dropout", [Pure,
    AllTypesMatch<["input", "mask", "result"]>]> {
  let summary = "apply a dropout mask: result = input * mask";
  let description = [{
    Multiplies `input` elementwise by a mask made by `fsnn.dropout_mask`. At
    inference no mask is drawn and no `fsnn.dropout` is emitted.

    Example:
    ```mlir
    %y = fsnn.dropout %x, %m : tensor<128x400xf32>
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$input, FSNN_FloatTensor:$mask);
  let results = (outs FSNN_FloatTensor:$result);
  let assemblyFormat = "$input `,` $mask attr-dict `:` type($input)";
}

def FSNN_FlattenOp : FSNN_Op<"flatten", [Pure]> {
  let summary = "flatten every dimension but the batch";
  let description = [{
    Reshapes `batch x d1 x ... x dn` to `batch x (d1 * ... * dn)` in row-major
    order (PyTorch's `flatten(1)`), e.g. before the readout of a conv model.

    Example:
    ```mlir
    %y = fsnn.flatten %a : tensor<128x64x14x14xf32> -> tensor<128x12544xf32>
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$input);
  let results = (outs FSNN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def FSNN_AverageFramesOp : FSNN_Op<"average_frames", [Pure]> {
  let summary = "the (λ-weighted) time average of spike frames";
  let description = [{
    `input` is `batch x T x ...` (spike frames, batch first); the result,
    `batch x ...`, is `Σ_t λ^(T-1-t) input[:, t] / Σ_t λ^(T-1-t)`: the input
    x* of the equilibrium map for spike-frame input (docs/method.md §2.4;
    the plain mean for IF, λ = 1, and the λ-weighted mean of §1.4 for LIF).
    Training uses it for the input layer's batch statistics (§1.7). The terms
    are summed from t = T - 1 down to 0, with each weight the previous one
    times λ in the element type, as the reference executor sums them.

    Example:
    ```mlir
    %avg = fsnn.average_frames %frames leak 0.95
        : tensor<128x30x2x34x34xf32> -> tensor<128x2x34x34xf32>
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$input, F64Attr:$leak);
  let results = (outs FSNN_FloatTensor:$result);
  let assemblyFormat =
      "$input `leak` $leak attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def FSNN_AvgPool2DOp : FSNN_Op<"avg_pool2d", [Pure]> {
  let summary = "2-D average pooling without padding";
  let description = [{
    Averages `kernel` windows moved by `strides` over an NCHW tensor:
    `out = (in - kernel) / stride + 1`. docs/method.md §1.1 allows 2x2 average
    pooling after F.

    Example:
    ```mlir
    %y = fsnn.avg_pool2d %x kernel [2, 2] strides [2, 2]
        : tensor<128x64x14x14xf32> -> tensor<128x64x7x7xf32>
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$input, DenseI64ArrayAttr:$kernel,
                       DenseI64ArrayAttr:$strides);
  let results = (outs FSNN_FloatTensor:$result);
  let assemblyFormat = [{
    $input `kernel` $kernel `strides` $strides attr-dict `:` type($input)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

def FSNN_SoftmaxCrossEntropyOp : FSNN_Op<"softmax_cross_entropy", [Pure]> {
  let summary = "mean softmax cross-entropy and its gradient";
  let description = [{
    `loss = mean_b(-log softmax(logits_b)[labels_b])`, a 0-d tensor, and
    `grad = (softmax(logits) - onehot(labels)) / batch`, the gradient of the
    loss with respect to `logits`. The gradient is where the implicit backward
    starts (docs/method.md §3.1).

    Example:
    ```mlir
    %loss, %grad = fsnn.softmax_cross_entropy %logits, %labels
        : tensor<128x10xf32>, tensor<128xi64> -> tensor<f32>, tensor<128x10xf32>
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$logits, FSNN_LabelTensor:$labels);
  let results = (outs FSNN_FloatTensor:$loss, FSNN_FloatTensor:$grad);
  let assemblyFormat = [{
    $logits `,` $labels attr-dict `:` type($logits) `,` type($labels) `->`
    type($loss) `,` type($grad)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Spectral reparameterisation and batch-norm folding
//===----------------------------------------------------------------------===//

def FSNN_SpectralPowerIterationOp
    : FSNN_Op<"spectral_power_iteration", [Pure,
        AllTypesMatch<["u", "u_next"]>, AllTypesMatch<["v", "v_next"]>]> {
  let summary = "one power iteration for the spectral norm of a weight";
  let description = [{
    With `V_mat` the weight reshaped to `dim0 x (product of the rest)` (out x in
    for FC, out x in*k*k for conv, in x out*k*k for transposed conv):
    `v_next = normalise(V_matᵀ u)`, then `u_next = normalise(V_mat v_next)`.
    Run once per training forward pass, before the simulation (docs/method.md §4.1).

    Example:
    ```mlir
    %u1, %v1 = fsnn.spectral_power_iteration %V, %u, %v
        : tensor<400x400xf32>, tensor<400xf32>, tensor<400xf32>
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$weight, FSNN_FloatTensor:$u,
                       FSNN_FloatTensor:$v);
  let results = (outs FSNN_FloatTensor:$u_next, FSNN_FloatTensor:$v_next);
  let assemblyFormat = [{
    $weight `,` $u `,` $v attr-dict `:` type($weight) `,` type($u) `,` type($v)
  }];
  let hasVerifier = 1;
}

def FSNN_SpectralWeightOp : FSNN_Op<"spectral_weight", [Pure]> {
  let summary = "effective feedback weight clamp(g, -1, 1) * V / σ̂(V)";
  let description = [{
    The spectral reparameterisation of docs/method.md §4.1:
    `sigma = uᵀ V_mat v` and `result = clamp(g, -1, 1) * weight / sigma`, with
    `V_mat` as in `fsnn.spectral_power_iteration`. `u` and `v` are constants
    for the gradient; `g` is a 0-d tensor. Both W_eff and σ̂ are returned.

    Example:
    ```mlir
    %w, %sigma = fsnn.spectral_weight %V, %g, %u, %v
        : tensor<400x400xf32>, tensor<f32>, tensor<400xf32>, tensor<400xf32>
        -> tensor<400x400xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$weight, FSNN_FloatTensor:$scale,
                       FSNN_FloatTensor:$u, FSNN_FloatTensor:$v);
  let results = (outs FSNN_FloatTensor:$result, FSNN_FloatTensor:$sigma);
  let assemblyFormat = [{
    $weight `,` $scale `,` $u `,` $v attr-dict `:` type($weight) `,`
    type($scale) `,` type($u) `,` type($v) `->` type($result) `,` type($sigma)
  }];
  let hasVerifier = 1;
}

def FSNN_FoldBatchNormOp : FSNN_Op<"fold_batch_norm", [Pure]> {
  let summary = "fold inference batch norm into an output-channel-major weight";
  let description = [{
    With `s = gamma / sqrt(variance + epsilon)` per output channel:
    `folded_weight[o, ...] = s[o] * weight[o, ...]` and
    `folded_bias = s * (bias - mean) + beta` (a missing bias counts as 0).
    `weight` is `out x in` (linear) or OIHW (conv2d). Emitted by
    `fsnn-fold-batch-norm`; because parameters are passed at run time, the
    fold is computed by the program, once per call, outside the time loop.

    Example:
    ```mlir
    %w2, %b2 = fsnn.fold_batch_norm %w, %gamma, %beta, %mean, %var bias %b
        {epsilon = 1.0e-05}
        : tensor<400x784xf32>, tensor<400xf32>, tensor<400xf32>,
          tensor<400xf32>, tensor<400xf32>, tensor<400xf32>
        -> tensor<400x784xf32>, tensor<400xf32>
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$weight,
                       FSNN_FloatTensor:$gamma, FSNN_FloatTensor:$beta,
                       FSNN_FloatTensor:$mean, FSNN_FloatTensor:$variance,
                       Optional<FSNN_FloatTensor>:$bias, F64Attr:$epsilon);
  let results = (outs FSNN_FloatTensor:$folded_weight,
                      FSNN_FloatTensor:$folded_bias);
  let assemblyFormat = [{
    $weight `,` $gamma `,` $beta `,` $mean `,` $variance (`bias` $bias^)?
    attr-dict `:` type($weight) `,` type($gamma) `,` type($beta) `,`
    type($mean) `,` type($variance) (`,` type($bias)^)? `->`
    type($folded_weight) `,` type($folded_bias)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Spiking dynamics and the equilibrium view
//===----------------------------------------------------------------------===//

def FSNN_ClampRateOp : FSNN_Op<"clamp_rate", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "the equilibrium firing-rate response σ(current / V_th)";
  let description = [{
    `result = min(max(input / threshold, 0), 1)`: the rate a neuron settles to
    under a constant input current (docs/method.md §2.1). The equilibrium map of a
    layer is `clamp_rate(W a + F x)`. Its derivative, used by the implicit
    backward, is `1 / threshold` where `0 <= input / threshold <= 1` (both ends
    included, §3.6) and 0 elsewhere.

    Example:
    ```mlir
    %a = fsnn.clamp_rate %z {threshold = 2.0 : f64} : tensor<128x400xf32>
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$input, F64Attr:$threshold);
  let results = (outs FSNN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def FSNN_FeedbackOp : FSNN_Op<"feedback", [
    RecursiveMemoryEffects, SameVariadicResultSize]> {
  let summary = "simulate T steps of a (multi-layer) feedback spiking network";
  let description = [{
    Simulates N >= 1 spiking layers for `time_steps` steps with the exact
    per-step order of docs/method.md §1.3–§1.5, starting from zero potentials and no
    spikes, and returns each layer's firing rate and spike count.

    Regions (each one block with one argument, ending in `fsnn.yield` of one
    tensor):
    * `layers` holds N maps. Map 1 is the feed-forward map F: it takes the
      network input (for `static` input the whole `input`; for
      `spike_frames` one frame: `input` is `batch x T x ...`, batch first
      like every tensor, and step t uses `input[:, t]`)
      and yields layer 1's input current. Map l (l >= 2) takes the spikes of
      layer l-1 *of the same step* and yields layer l's input current.
    * `feedback` takes the spikes of layer N *of the previous step* and yields
      a current for layer 1 (no feedback at step 1).

    At each step t and for each layer in order, with `v` the potential before
    the spike: `v = u[t-1] + input current (+ feedback for layer 1, t >= 2)`,
    `s[t] = v >= V_th`, then the reset (`subtract`: `u = v - V_th s`; `zero`:
    `u = v (1 - s)`), then for LIF `u *= λ`. Results: the rates
    (IF: count / T; LIF: `Σ λ^(T-t) s[t] / Σ λ^(T-t)`) and the spike counts
    (i32), one of each per layer, in layer order. For static input a lowering
    may compute map 1 once; the semantics are the same.

    Example (the F400 model of docs/method.md §5.2 at inference, BN folded):
    ```mlir
    %rate, %count = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if, threshold = 2.0>
        input static : tensor<128x784xf32>
        -> (tensor<128x400xf32>), (tensor<128x400xi32>)
      feedback {
      ^bb0(%s: tensor<128x400xf32>):
        %fb = fsnn.linear %s, %w : tensor<128x400xf32>, tensor<400x400xf32>
            -> tensor<128x400xf32>
        fsnn.yield %fb : tensor<128x400xf32>
      } layers {
      ^bb0(%in: tensor<128x784xf32>):
        %i = fsnn.linear %in, %f, %b : tensor<128x784xf32>,
            tensor<400x784xf32>, tensor<400xf32> -> tensor<128x400xf32>
        fsnn.yield %i : tensor<128x400xf32>
      }
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$input, I64Attr:$time_steps,
                       FSNN_NeuronAttr:$neuron,
                       FSNN_InputKindAttr:$input_kind);
  let results = (outs Variadic<FSNN_FloatTensor>:$rates,
                      Variadic<FSNN_CountTensor>:$spike_counts);
  let regions = (region SizedRegion<1>:$feedback,
                        VariadicRegion<SizedRegion<1>>:$layers);
  let assemblyFormat = [{
    $input `steps` $time_steps `neuron` $neuron `input` $input_kind attr-dict
    `:` type($input) `->` `(` type($rates) `)` `,` `(` type($spike_counts) `)`
    `feedback` $feedback `layers` $layers
  }];
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// The number of spiking layers N.
    unsigned getNumLayers() { return getLayers().size(); }
  }];
}

class FSNN_SolveOp<string mnemonic, list<Trait> traits = []>
    : FSNN_Op<mnemonic, !listconcat(traits, [RecursiveMemoryEffects])> {
  let hasRegionVerifier = 1;
}

def FSNN_EquilibriumSolveOp : FSNN_SolveOp<"equilibrium_solve",
    [AllTypesMatch<["initial", "solution"]>]> {
  let summary = "solve the rate equation a = f(a) by an iterative solver";
  let description = [{
    Finds the fixed point `a* = f(a*)` of the map in `map` (one block, one
    argument of the type of `initial`, yielding one value of that type),
    starting from `initial`, per sample: with `broyden` (keeping the best
    iterate), `fixed_point` iteration or `anderson` acceleration, for at most
    `max_iterations` iterations or until the per-sample residual norm
    `|f(a) - a|` is below `tolerance`. Returns the solution and the final
    per-sample residual norms (a `batch` vector). This is the exact
    equilibrium used by gradient checks, and an alternative to simulating.

    Example (`map` is the equilibrium map of the F400 layer):
    ```mlir
    %a, %res = fsnn.equilibrium_solve %a0 solver broyden max_iterations 30
        tolerance 1.0e-06 : tensor<128x400xf32> -> tensor<128xf32> map {
      ^bb0(%a: tensor<128x400xf32>):
        %wa = fsnn.linear %a, %w : tensor<128x400xf32>, tensor<400x400xf32>
            -> tensor<128x400xf32>
        %z = arith.addf %wa, %current : tensor<128x400xf32>
        %fa = fsnn.clamp_rate %z {threshold = 2.0 : f64} : tensor<128x400xf32>
        fsnn.yield %fa : tensor<128x400xf32>
    }
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$initial,
                       FSNN_SolverKindAttr:$solver, I64Attr:$max_iterations,
                       F64Attr:$tolerance);
  let results = (outs FSNN_FloatTensor:$solution, FSNN_FloatTensor:$residual);
  let regions = (region SizedRegion<1>:$map);
  let assemblyFormat = [{
    $initial `solver` $solver `max_iterations` $max_iterations `tolerance`
    $tolerance attr-dict `:` type($initial) `->` type($residual) `map` $map
  }];
}

def FSNN_AdjointSolveOp : FSNN_SolveOp<"adjoint_solve",
    [AllTypesMatch<["rhs", "adjoint"]>]> {
  let summary = "solve β = J_fᵀ β + rhs, the adjoint of an equilibrium";
  let description = [{
    The implicit backward of docs/method.md §3: with `J_f` the Jacobian of the map in
    `map` at `point`, finds `β = (I - J_fᵀ)⁻¹ rhs` per sample, where `rhs` is
    `∂L/∂a`. `broyden` is the paper's solver (v0 = 0, the code's first step
    -rhs, a 27-slot low-rank inverse estimate, best iterate kept),
    `fixed_point` iterates `β ← J_fᵀβ + rhs`, `anderson` accelerates that
    iteration. At most `max_iterations` iterations; a sample stops when its
    residual norm `|J_fᵀβ + rhs - β|` is below `tolerance`. Returns β and the
    per-sample residual norms, so that a non-converged solve can be reported.
    Parameter gradients then come from one backward pass of β through `map`.

    Example:
    ```mlir
    %beta, %res = fsnn.adjoint_solve %a, %dloss solver broyden
        max_iterations 30 tolerance 1.0e-08
        : tensor<128x400xf32>, tensor<128x400xf32> -> tensor<128xf32> map {
      ^bb0(%x: tensor<128x400xf32>):
        %wa = fsnn.linear %x, %w : tensor<128x400xf32>, tensor<400x400xf32>
            -> tensor<128x400xf32>
        %z = arith.addf %wa, %current : tensor<128x400xf32>
        %fa = fsnn.clamp_rate %z {threshold = 2.0 : f64} : tensor<128x400xf32>
        fsnn.yield %fa : tensor<128x400xf32>
    }
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$point, FSNN_FloatTensor:$rhs,
                       FSNN_SolverKindAttr:$solver, I64Attr:$max_iterations,
                       F64Attr:$tolerance);
  let results = (outs FSNN_FloatTensor:$adjoint, FSNN_FloatTensor:$residual);
  let regions = (region SizedRegion<1>:$map);
  let assemblyFormat = [{
    $point `,` $rhs `solver` $solver `max_iterations` $max_iterations
    `tolerance` $tolerance attr-dict `:` type($point) `,` type($rhs) `->`
    type($residual) `map` $map
  }];
}

//===----------------------------------------------------------------------===//
// Backward ops (emitted by fsnn-generate-backward)
//===----------------------------------------------------------------------===//

def FSNN_ClampRateGradOp : FSNN_Op<"clamp_rate_grad", [Pure,
    AllTypesMatch<["input", "grad", "result"]>]> {
  let summary = "vector-Jacobian product of fsnn.clamp_rate";
  let description = [{
    The gradient of `clamp_rate(input)` with respect to `input`, given the
    gradient `grad` of its result: `grad / V_th` where `0 <= input / V_th <= 1`
    (both ends included, as autodiff of the clamp gives, docs/method.md §3.6), else 0.

    Example:
    ```mlir
    %gz = fsnn.clamp_rate_grad %z, %ga {threshold = 2.0 : f64}
        : tensor<128x400xf32>
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$input, FSNN_FloatTensor:$grad,
                       F64Attr:$threshold);
  let results = (outs FSNN_FloatTensor:$result);
  let assemblyFormat = "$input `,` $grad attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def FSNN_BatchNormTrainGradOp : FSNN_Op<"batch_norm_train_grad", [Pure,
    AllTypesMatch<["input", "grad", "input_grad"]>,
    AllTypesMatch<["gamma", "gamma_grad", "beta_grad"]>]> {
  let summary = "backward of fsnn.batch_norm_train";
  let description = [{
    Given the gradient `grad` of the result of
    `fsnn.batch_norm_train %input, %gamma, %beta {epsilon}`, returns the
    gradients of `input`, `gamma` and `beta`. The batch statistics depend on
    the input, so the input gradient is the full training-mode one:
    `γ/σ (g - mean(g) - x̂ mean(g x̂))` per channel, with `x̂` the normalised
    input and the means over the batch and spatial dimensions.

    Example:
    ```mlir
    %gx, %ggamma, %gbeta = fsnn.batch_norm_train_grad %x, %gamma, %gy
        {epsilon = 1.0e-05}
        : tensor<128x400xf32>, tensor<400xf32>
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$input, FSNN_FloatTensor:$gamma,
                       FSNN_FloatTensor:$grad, F64Attr:$epsilon);
  let results = (outs FSNN_FloatTensor:$input_grad,
                      FSNN_FloatTensor:$gamma_grad,
                      FSNN_FloatTensor:$beta_grad);
  let assemblyFormat = [{
    $input `,` $gamma `,` $grad attr-dict `:` type($input) `,` type($gamma)
  }];
  let hasVerifier = 1;
}

def FSNN_SpectralWeightGradOp : FSNN_Op<"spectral_weight_grad", [Pure,
    AllTypesMatch<["weight", "grad", "weight_grad"]>,
    AllTypesMatch<["scale", "scale_grad"]>]> {
  let summary = "backward of fsnn.spectral_weight";
  let description = [{
    Given the gradient `grad` of the effective weight
    `W = clamp(g, -1, 1) V / σ̂` with `σ̂ = uᵀ V_mat v` (u and v constants, as in
    spectral normalisation, docs/method.md §4.1), returns the gradients of `V` and of
    the scalar `g`: with `c = clamp(g, -1, 1)` and `G = Σ grad ⊙ V`,
    `∂V = c/σ̂ grad - c G/σ̂² u vᵀ` and `∂g = G/σ̂` inside `[-1, 1]`, else 0.

    Example:
    ```mlir
    %gv, %gg = fsnn.spectral_weight_grad %V, %g, %u, %v, %gw
        : tensor<400x400xf32>, tensor<f32>, tensor<400xf32>, tensor<400xf32>
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$weight, FSNN_FloatTensor:$scale,
                       FSNN_FloatTensor:$u, FSNN_FloatTensor:$v,
                       FSNN_FloatTensor:$grad);
  let results = (outs FSNN_FloatTensor:$weight_grad,
                      FSNN_FloatTensor:$scale_grad);
  let assemblyFormat = [{
    $weight `,` $scale `,` $u `,` $v `,` $grad attr-dict `:` type($weight) `,`
    type($scale) `,` type($u) `,` type($v)
  }];
  let hasVerifier = 1;
}

def FSNN_Conv2DFilterGradOp : FSNN_Op<"conv2d_filter_grad", [Pure]> {
  let summary = "gradient of fsnn.conv2d with respect to its weight";
  let description = [{
    Given the input of `fsnn.conv2d %input, %w strides S padding P` and the
    gradient `grad` of its result, returns the gradient of the OIHW weight:
    `result[o, c, kh, kw] = Σ_{n, oh, ow} grad[n, o, oh, ow] ·
    input_padded[n, c, oh·S + kh, ow·S + kw]`, summed over the batch. The
    kernel size comes from the result type.

    Example (the 64C5s feedback weight):
    ```mlir
    %gw = fsnn.conv2d_filter_grad %a, %g strides [1, 1] padding [2, 2]
        : tensor<128x64x14x14xf32>, tensor<128x64x14x14xf32>
        -> tensor<64x64x5x5xf32>
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$input, FSNN_FloatTensor:$grad,
                       DenseI64ArrayAttr:$strides,
                       DenseI64ArrayAttr:$padding);
  let results = (outs FSNN_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $grad `strides` $strides `padding` $padding attr-dict `:`
    type($input) `,` type($grad) `->` type($result)
  }];
  let hasVerifier = 1;
}

def FSNN_LinearFixedPointOp : FSNN_SolveOp<"linear_fixed_point",
    [AllTypesMatch<["rhs", "solution"]>]> {
  let summary = "solve x = A x + rhs for the linear operator in a region";
  let description = [{
    The adjoint solve after differentiation: `operator` (one block, one
    argument of the type of `rhs`, yielding one value of that type) applies a
    linear map A, in fsnn-generate-backward's output the vector-Jacobian
    product `v ↦ J_fᵀ v` of an equilibrium map at its point. Finds
    `x = (I - A)⁻¹ rhs` per sample with the same solvers and settings as
    `fsnn.adjoint_solve`: `broyden` (x0 = 0, first step -rhs as the paper's
    code, 27 low-rank updates, best iterate), `fixed_point` (the paper's
    N-MNIST iteration from x0 = rhs: `x ← (A x + rhs) / 2`, docs/method.md §3.4) or
    `anderson`. Returns x and the per-sample residual norms
    `|A x + rhs - x|`.

    Example:
    ```mlir
    %beta, %res = fsnn.linear_fixed_point %dloss solver broyden
        max_iterations 30 tolerance 0.0
        : tensor<128x400xf32> -> tensor<128xf32> operator {
      ^bb0(%v: tensor<128x400xf32>):
        %gz = fsnn.clamp_rate_grad %z, %v {threshold = 2.0 : f64}
            : tensor<128x400xf32>
        %gs = fsnn.dropout %gz, %mask : tensor<128x400xf32>
        %ga = fsnn.linear %gs, %wt
            : tensor<128x400xf32>, tensor<400x400xf32> -> tensor<128x400xf32>
        fsnn.yield %ga : tensor<128x400xf32>
    }
    ```
  }];
  let arguments = (ins FSNN_FloatTensor:$rhs, FSNN_SolverKindAttr:$solver,
                       I64Attr:$max_iterations, F64Attr:$tolerance);
  let results = (outs FSNN_FloatTensor:$solution, FSNN_FloatTensor:$residual);
  let regions = (region SizedRegion<1>:$operator);
  let assemblyFormat = [{
    $rhs `solver` $solver `max_iterations` $max_iterations `tolerance`
    $tolerance attr-dict `:` type($rhs) `->` type($residual) `operator`
    $operator
  }];
}

def FSNN_YieldOp : FSNN_Op<"yield", [Pure, Terminator, ReturnLike,
    ParentOneOf<["FeedbackOp", "EquilibriumSolveOp", "AdjointSolveOp",
                "LinearFixedPointOp"]>]> {
  let summary = "yield the value a region of an fsnn op computes";
  let description = [{
    Terminates the map regions of `fsnn.feedback`, `fsnn.equilibrium_solve`,
    `fsnn.adjoint_solve` and `fsnn.linear_fixed_point`.

    Example:
    ```mlir
    fsnn.yield %current : tensor<128x400xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "attr-dict ($values^ `:` type($values))?";
}

#endif // FSNN_DIALECT_FSNNOPS_TD
