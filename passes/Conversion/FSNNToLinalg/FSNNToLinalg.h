//===- FSNNToLinalg.h - the fsnn ops to linalg, tensor and scf --*- C++ -*-===//
//
// convert-fsnn-to-linalg as reusable pieces: the patterns (one family per
// file of this folder), the conversion target, and the check that says
// precisely why an op cannot be lowered before anything is rewritten.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_PASSES_CONVERSION_FSNNTOLINALG_FSNNTOLINALG_H
#define FSNN_PASSES_CONVERSION_FSNNTOLINALG_FSNNTOLINALG_H

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::fsnn {

/// Which machine the lowered code is for. The CPU set adds event-driven and
/// register-tiled patterns; the GPU set puts every parallel loop of a
/// contraction outermost (one thread per output) and fuses a simulation
/// that one kernel can run.
enum class LoweringTarget { CPU, GPU };

/// What every lowering pattern is built for.
struct LoweringOptions {
  LoweringTarget target = LoweringTarget::CPU;
  /// The width of the CPU's vector registers, which register tiles are sized
  /// for: 512 (AVX-512) or 256 (AVX2).
  unsigned vectorBits = 512;
  /// CPU: simulations propagate the maps of spikes by change
  /// (docs/compiler.md).
  bool propagateByChange = true;
  /// CPU: mark the loops over the batch whose iterations write disjoint
  /// rows of their results (passes/Passes.h's kParallelLoopAttr), for
  /// fsnn-parallelize-batch-loops to run them on threads after bufferization.
  bool parallelBatch = false;
};

/// Adds the patterns that lower every fsnn op the pass lowers.
void populateFSNNToLinalgPatterns(RewritePatternSet &patterns,
                                  const LoweringOptions &options);

/// fsnn illegal, what the patterns emit legal.
void configureFSNNToLinalgTarget(ConversionTarget &target);

/// Emits a diagnostic naming the op and the reason, and fails, if some op
/// under `root` would not be lowered by `patterns`.
LogicalResult checkFSNNToLinalgSupport(Operation *root,
                                       const FrozenRewritePatternSet &patterns);

} // namespace mlir::fsnn

#endif // FSNN_PASSES_CONVERSION_FSNNTOLINALG_FSNNTOLINALG_H
