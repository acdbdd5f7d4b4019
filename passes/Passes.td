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
    Dropout is active only in training (docs/method.md §1.7). This pass replaces
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

def FSNNMaterializeSplatsPass : Pass<"fsnn-materialize-splats"> {
  let summary = "Fill large splat tensor constants at run time";
  let description = [{
    Bufferization turns every tensor constant into a global of the compiled
    library, so a `[batch, neurons]` splat (the zero potentials at the start
    of a simulation) was baked into `.rodata` at its full size: F400's library
    was 6.6 MB at batch 4096, and a model with 249.5 M neurons per sample
    wrote a 998 MB library at batch 1. This pass rewrites each
    `arith.constant` whose value is a splat of more than `threshold`
    elements into a `tensor.splat` of a scalar constant, which bufferizes to
    an allocation filled when the function runs. Small constants stay
    globals.

    Before:
    ```mlir
    %z = arith.constant dense<0.0> : tensor<4096x400xf32>
    ```
    After:
    ```mlir
    %c = arith.constant 0.0 : f32
    %z = tensor.splat %c : tensor<4096x400xf32>
    ```
  }];
  let options = [
    Option<"threshold", "threshold", "int64_t", /*default=*/"1024",
           "Splat constants of more elements than this are filled at run time">,
  ];
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def FSNNGenerateBackwardPass : Pass<"fsnn-generate-backward",
                                    "::mlir::func::FuncOp"> {
  let summary = "Derive the implicit backward of a training forward function";
  let description = [{
    Turns a training forward function (what `fsnn-translate --import
    --training` makes: the spectral power iteration, dropout masks, batch norm
    on batch statistics, the simulation, the readout and
    `fsnn.softmax_cross_entropy`) into a training step that also returns the
    gradient of the loss for every argument marked `fsnn.trainable`, by
    IDE's implicit differentiation (docs/method.md §3):

    1. Reverse mode from the loss through the readout gives ∂L/∂a at the
       simulated rate a = a[T].
    2. The equilibrium map of the simulation, `f(a) = σ((W(a) + I) / V_th)`
       with I the hoisted input current, is evaluated once at a, and the
       adjoint equation β = J_fᵀβ + ∂L/∂a becomes an `fsnn.linear_fixed_point`
       whose operator region is the vector-Jacobian product of f at a (the
       solver settings come from the simulation's `fsnn.adjoint_*`
       attributes).
    3. β is backpropagated through that one application of f to the feedback
       weight and the current, and on through the ops before the simulation
       (dropout, batch norm, the input map, the spectral reparameterisation)
       to the arguments.

    Gradients are appended to the results (named `grad:<argument>`), then
    the per-sample adjoint residual norms (`adjoint_residual`) and the norms
    of ∂L/∂a the solve started from (`adjoint_rhs_norm`). Rules exist
    for linear maps, dropout, addition, the clamp, training-mode batch norm,
    the spectral weight and flatten; a single spiking layer of IF or LIF
    neurons with static input and reset by subtraction is what the pass
    differentiates (a LIF layer's λ-weighted rate through the same
    equilibrium map, docs/method.md §2.2), and anything else gets a
    diagnostic that names what is not supported.

    Example, on the simulation: `%r, %c = fsnn.feedback %current ...` and
    `%logits = fsnn.linear %r, %C, %c` become, after the readout's gradients,
    `%beta, %res = fsnn.linear_fixed_point %dl_da solver broyden ... operator
    { ^bb0(%v): fsnn.clamp_rate_grad %z, %v ... }` followed by the weight
    gradients of one application of f.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect",
    "::mlir::fsnn::FSNNDialect"
  ];
}

def FSNNLegalizeKernelNamesPass : Pass<"fsnn-legalize-kernel-names",
                                       "::mlir::ModuleOp"> {
  let summary = "Rename functions whose names are not PTX identifiers";
  let description = [{
    Kernel outlining names each kernel after its function, and PTX accepts
    only `[A-Za-z0-9_$]` in symbols, while model names are free text
    (`fmnist-f400`). Every function whose name has another character is
    renamed, that character becoming `_` (with a numeric suffix if the name
    is taken), and its uses follow.
  }];
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
      as docs/method.md §1.3 says. Linear maps and stride-1 convolutions whose input
      is spikes (the feedback map and layers 2..N) are event-driven: only the
      neurons that fired add their weights, in the dense summation order, so
      the result equals the dense one bit for bit.
    * linear, conv2d and conv_transpose2d become `linalg.generic` contractions
      (a transposed conv as a stride-1 conv with the flipped kernel over the
      input dilated by the stride); padding is an insert into a zero tensor.
    * batch norm, clamp_rate, fold_batch_norm and the spectral weight become
      elementwise and reduction `linalg.generic`s; flatten a
      `tensor.collapse_shape`; average pooling a windowed `linalg.generic`.

    * The training step's ops: dropout masks (the counter-based hash of
      `fsnnrt/dropout.h`), dropout, training-mode batch norm, the power
      iteration, the softmax cross-entropy, the backward ops, and
      `fsnn.linear_fixed_point` as an `scf.for` over its solver's iterations
      with the operator region inlined in the body.

    Shapes must be static (import with a batch size). `fsnn.adjoint_solve`
    and `fsnn.equilibrium_solve` are not lowered here (fsnn-generate-backward
    turns the adjoint into a linear fixed point): the pass reports them,
    naming the op, and fails.

    With `target=gpu` every contraction (linear, convolution, pooling) is a
    `linalg.generic` whose parallel loops come first, so that parallel-loop
    conversion gives one thread per output and a sequential sum inside it;
    the CPU's register tiles and event-driven scatters are not used. A
    simulation with one layer, static input and a linear feedback map (F400;
    in the training step followed by dropout) becomes one `gpu.launch` for
    all T steps: one block per sample, threads
    over its neurons, each step's spikes in a per-sample row and a barrier
    between steps, on buffers from `bufferization.to_buffer`.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "cpu, or gpu (contractions as thread-per-output loop nests)">,
    Option<"vectorBits", "vector-bits", "unsigned", /*default=*/"512",
           "Width of the CPU's vector registers, which register tiles are "
           "sized for: 512 (AVX-512) or 256 (AVX2)">,
    Option<"propagateByChange", "propagate-by-change", "bool",
           /*default=*/"true",
           "CPU: carry the output of each affine map of spikes from step to "
           "step and add the map of the spikes' change, so that only the "
           "neurons whose spike changed are visited (sums in another order "
           "than the dense map's)">,
    Option<"parallelBatch", "parallel-batch", "bool", /*default=*/"false",
           "CPU: mark the loops over the batch whose iterations are "
           "independent (fsnn.parallel), for fsnn-parallelize-batch-loops">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect", "::mlir::memref::MemRefDialect",
    "::mlir::tensor::TensorDialect", "::mlir::vector::VectorDialect"
  ];
}

def FSNNParallelizeBatchLoopsPass : Pass<"fsnn-parallelize-batch-loops",
                                         "::mlir::func::FuncOp"> {
  let summary = "Run the loops marked independent on threads (scf.parallel)";
  let description = [{
    After bufferization, every `scf.for` that convert-fsnn-to-linalg marked
    `fsnn.parallel` (its iterations write disjoint rows of its buffers and
    read nothing another iteration writes: a block of samples of a register
    tiled map, a chunk of samples of an event-driven scatter, a block of rows
    of a weight gradient) becomes an `scf.parallel` with the same body,
    and so does the outermost loop of every marked linalg op (a large
    elementwise map or contraction whose outermost loop is parallel and
    indexes its output's first dimension), lowered to loops here,
    which `convert-scf-to-openmp` runs on the threads of the OpenMP runtime.
    Each iteration computes exactly what it computed in order, so the results
    are bit for bit those of the sequential loop, whatever the number of
    threads.

    A marked loop nested in another marked loop stays sequential (one level
    of threads). A marked loop that still carries values after bufferization
    (a buffer that was not updated in place) is left sequential and the pass
    fails with a diagnostic: running it on threads would race.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect"];
}

def FSNNParallelLoopsToGPUPass : Pass<"fsnn-parallel-loops-to-gpu",
                                      "::mlir::func::FuncOp"> {
  let summary = "Turn each outermost scf.parallel into a gpu.launch";
  let description = [{
    Every `scf.parallel` that is not nested in another one (nor in a
    `gpu.launch`) becomes a one-dimensional launch: its iteration space is
    linearised, `block-size` threads per block, as many blocks as it takes,
    and each thread delinearises its index back into the loop's induction
    variables and runs the body if it is inside the space. Sequential loops
    in the body (a contraction's reduction, a nested `scf.parallel`) stay
    loops inside the thread.

    Upstream's `gpu-map-parallel-loops` maps a single-level nest to one
    thread per block (every dimension to the grid), which leaves 31 of 32
    lanes of a warp idle; a linearised space fills whole blocks whatever the
    loop's shape.

    Loops with reductions (`scf.reduce` operands) are reported and the pass
    fails; convert-linalg-to-parallel-loops does not produce them.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "threads per block">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def FSNNPlaceOnDevicePass : Pass<"fsnn-place-on-device",
                                 "::mlir::func::FuncOp"> {
  let summary = "Move a host function's buffers to device memory";
  let description = [{
    After `fsnn-parallel-loops-to-gpu`, the kernels of a function still read
    and write host buffers: its memref arguments, its `memref.alloc`s and the
    constants of `memref.get_global`. This pass gives each of them a device
    buffer (`gpu.alloc`, plain device memory, not managed):

    * a memref argument is copied to its device buffer at entry if anything
      reads it, and back before every return if anything writes it (found
      through its views); the body uses the device buffer;
    * `memref.alloc` / `memref.dealloc` on the host become `gpu.alloc` /
      `gpu.dealloc`;
    * a `memref.get_global` gets a device buffer where it stands, set with
      `gpu.memset` if the constant is a 32-bit splat (zeros, a threshold),
      else copied from the host;
    * `memref.copy` on the host between contiguous buffers becomes
      `gpu.memcpy`.

    Anything left on the host that reads or writes a buffer (a load, a store,
    a linalg op, a strided copy) would dereference device memory there: the
    pass reports the op and fails, rather than emit code that would crash.
  }];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::memref::MemRefDialect"
  ];
}

def FSNNGPUToHostLoopsPass : Pass<"fsnn-gpu-to-host-loops",
                                  "::mlir::func::FuncOp"> {
  let summary = "Run kernels as host loops (the GPU lowering's CPU oracle)";
  let description = [{
    For testing the GPU lowering where there is no GPU: every `gpu.launch`
    becomes loops over its grid and block (z, y, x of the blocks, then of
    the threads) around its body, and `gpu.alloc`, `gpu.dealloc` and
    `gpu.memcpy` become their memref counterparts. The result lowers through
    the CPU stages and runs, so the kernels' index arithmetic, the placement
    of buffers and the copies at the boundary are checked against the
    reference executor (test/unit/compiler).

    Valid for kernels whose threads are independent, as those of
    fsnn-parallel-loops-to-gpu are: a `gpu.barrier` is reported, as are
    async ops (run it before gpu-async-region) and kernels with several
    blocks.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect"
  ];
}

#endif // FSNN_PASSES_PASSES_TD
