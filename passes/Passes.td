//===- Passes.td - fsnn transformation passes -------------*- tablegen -*-===//

#ifndef FSNN_PASSES_PASSES_TD
#define FSNN_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

def FSNNFoldBatchNormPass : Pass<"fsnn-fold-batch-norm"> {
  let summary = "Fold inference batch norm into the preceding linear or conv";
  let description = [{
    Rewrites `fsnn.batch_norm(fsnn.linear(x, W, b))` (and the same with
    `fsnn.conv2d`) into `fsnn.linear(x, W', b')`, where W' and b' come from a
    `fsnn.fold_batch_norm` of the parameters. BN at inference is affine, so
    the result is the same up to rounding, and the time loop no longer pays for
    a normalisation per step.

    The fold op is placed as far out as its operands allow: when the linear
    sits in a map region of `fsnn.feedback` and its parameters come from
    outside, the fold is computed once, before the simulation, not once per
    time step. When all parameters are constants, the canonicalizer folds it
    into constants.

    Before:
    ```mlir
    %i = fsnn.linear %x, %w, %b : ... -> tensor<128x400xf32>
    %y = fsnn.batch_norm %i, %gamma, %beta, %mean, %var {epsilon = 1.0e-05} : ...
    ```
    After:
    ```mlir
    %w2, %b2 = fsnn.fold_batch_norm %w, %gamma, %beta, %mean, %var bias %b
        {epsilon = 1.0e-05} : ...
    %y = fsnn.linear %x, %w2, %b2 : ... -> tensor<128x400xf32>
    ```

    Not folded (left as they are): batch norm whose input is not a linear or
    conv2d result, and a linear or conv2d whose result has other users, since
    those users need the unnormalised value.
  }];
  let dependentDialects = ["::mlir::fsnn::FSNNDialect"];
}

def FSNNStripDropoutPass : Pass<"fsnn-strip-dropout"> {
  let summary = "Remove dropout for inference";
  let description = [{
    Dropout is active only in training (IDE_SPEC §1.7). This pass replaces
    every `fsnn.dropout` by its input and erases the `fsnn.dropout_mask` ops
    left without users, so that an imported model (which carries its dropout
    layers) compiles to the inference network.

    Before:
    ```mlir
    %m = fsnn.dropout_mask %seed {rate = 2.0e-01, stream = 0 : i64} : i64 -> tensor<8x400xf32>
    %y = fsnn.dropout %x, %m : tensor<8x400xf32>
    ```
    After: uses of `%y` use `%x`.
  }];
  let dependentDialects = ["::mlir::fsnn::FSNNDialect"];
}

def ConvertFSNNToLinalgPass : Pass<"convert-fsnn-to-linalg"> {
  let summary = "Lower the fsnn inference ops to linalg, tensor, scf and arith";
  let description = [{
    The first lowering stage of the CPU pipeline, on value-semantic tensors:

    * `fsnn.feedback` becomes one `scf.for` over the T steps whose iteration
      arguments are every layer's potential, spikes, rate accumulator and
      spike count; the maps' regions are inlined into the loop body (map 1
      before the loop for static input, so F(x) is computed once; for spike
      frames, on `input[:, t]` inside it). The neuron update (spike at
      `v >= V_th`, reset, leak, accumulation) is elementwise arith on tensors.
      The feedback map's contribution is dropped at step 1 (`arith.select`),
      as IDE_SPEC §1.3 says. Linear maps and stride-1 convolutions whose input
      is spikes (the feedback map and layers 2..N) are event-driven: only the
      neurons that fired add their weights, in the dense summation order, so
      the result equals the dense one bit for bit.
    * linear, conv2d and conv_transpose2d become `linalg.generic` contractions
      (a transposed conv as a stride-1 conv with the flipped kernel over the
      input dilated by the stride); padding is an insert into a zero tensor.
    * batch norm, clamp_rate, fold_batch_norm and the spectral weight become
      elementwise and reduction `linalg.generic`s; flatten a
      `tensor.collapse_shape`; average pooling a windowed `linalg.generic`.

    Shapes must be static (import with a batch size). Training-step ops
    (dropout, training batch norm, the solves, the loss) are not lowered
    here: the pass reports them, naming the op, and fails.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect", "::mlir::vector::VectorDialect"
  ];
}

#endif // FSNN_PASSES_PASSES_TD
