//===- ConvertFSNNToLinalg.cpp - the convert-fsnn-to-linalg pass
//-----------===//
//
// The pass: a support check that names what cannot be lowered, then one
// partial conversion with the target's pattern set. fsnn.feedback and
// fsnn.linear_fixed_point inline their regions' fsnn ops, which the
// conversion then lowers where they have landed.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/FSNNToLinalg/FSNNToLinalg.h"
#include "passes/Conversion/FSNNToLinalg/LoweringBuilders.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::fsnn {
#define GEN_PASS_DEF_CONVERTFSNNTOLINALGPASS
#include "passes/Passes.h.inc"
} // namespace mlir::fsnn

using namespace mlir;
using namespace mlir::fsnn;
using namespace mlir::fsnn::lowering;

void mlir::fsnn::populateFSNNToLinalgPatterns(RewritePatternSet &patterns,
                                              const LoweringOptions &options) {
  populateLinearPatterns(patterns, options);
  populateConvolutionPatterns(patterns, options);
  populateElementwisePatterns(patterns, options);
  populateFeedbackPatterns(patterns, options);
  populateTrainingPatterns(patterns, options);
  populateLinearFixedPointPatterns(patterns, options);
}

void mlir::fsnn::configureFSNNToLinalgTarget(ConversionTarget &target) {
  target.addIllegalDialect<FSNNDialect>();
  target.addLegalDialect<
      arith::ArithDialect, bufferization::BufferizationDialect, gpu::GPUDialect,
      linalg::LinalgDialect, math::MathDialect, memref::MemRefDialect,
      scf::SCFDialect, tensor::TensorDialect, vector::VectorDialect>();
}

LogicalResult
mlir::fsnn::checkFSNNToLinalgSupport(Operation *root,
                                     const FrozenRewritePatternSet &patterns) {
  llvm::DenseSet<OperationName> lowered;
  for (const auto &[name, list] : patterns.getOpSpecificNativePatterns())
    if (!list.empty())
      lowered.insert(name);
  // The regions of solves are maps for other passes to read, not code; the
  // regions of simulations and fixed points are lowered where they are
  // inlined (their terminators are not).
  WalkResult result = root->walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (!isa<FSNNDialect>(op->getDialect()) || isa<YieldOp>(op))
      return WalkResult::advance();
    if (!lowered.contains(op->getName())) {
      InFlightDiagnostic error = op->emitOpError()
                                 << "is not lowered by convert-fsnn-to-linalg";
      if (isa<AdjointSolveOp>(op))
        error << ": fsnn-generate-backward turns it into the adjoint's "
                 "linear fixed point first";
      return WalkResult::interrupt();
    }
    LogicalResult supported =
        TypeSwitch<Operation *, LogicalResult>(op)
            .Case<ConvTranspose2DOp>(checkConvTranspose2DSupported)
            .Case<FeedbackOp>(checkFeedbackSupported)
            .Default([](Operation *) { return success(); });
    return failed(supported) ? WalkResult::interrupt() : WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

namespace {

/// gpu.barrier declares no memory effects, and the ownership-based buffer
/// deallocation refuses ops whose effects it cannot know. A barrier orders
/// the block's reads and writes: it is said to read and write memory, which
/// keeps it in place and lets deallocation go on.
struct BarrierMemoryEffects
    : public MemoryEffectOpInterface::ExternalModel<BarrierMemoryEffects,
                                                    gpu::BarrierOp> {
  void
  getEffects(Operation *,
             SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
                 &effects) const {
    effects.emplace_back(MemoryEffects::Read::get());
    effects.emplace_back(MemoryEffects::Write::get());
  }
};

struct ConvertFSNNToLinalgPass
    : public fsnn::impl::ConvertFSNNToLinalgPassBase<ConvertFSNNToLinalgPass> {
  using Base::Base;

  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    registry.addExtension(+[](MLIRContext *ctx, gpu::GPUDialect *) {
      gpu::BarrierOp::attachInterface<BarrierMemoryEffects>(*ctx);
    });
  }

  LogicalResult initialize(MLIRContext *context) override {
    // Bad options are reported by runOnOperation, on the op.
    if (!optionProblem().empty())
      return success();
    LoweringOptions options;
    options.target =
        target == "gpu" ? LoweringTarget::GPU : LoweringTarget::CPU;
    options.vectorBits = vectorBits;
    options.propagateByChange = propagateByChange;
    options.parallelBatch = parallelBatch;
    RewritePatternSet set(context);
    populateFSNNToLinalgPatterns(set, options);
    patterns = FrozenRewritePatternSet(std::move(set));
    return success();
  }

  void runOnOperation() override {
    if (std::string problem = optionProblem(); !problem.empty()) {
      getOperation()->emitError() << "convert-fsnn-to-linalg: " << problem;
      return signalPassFailure();
    }
    if (failed(checkFSNNToLinalgSupport(getOperation(), patterns)))
      return signalPassFailure();
    ConversionTarget conversionTarget(getContext());
    configureFSNNToLinalgTarget(conversionTarget);
    if (failed(
            applyPartialConversion(getOperation(), conversionTarget, patterns)))
      return signalPassFailure();
    // An op a pattern built with a builder the conversion did not hear
    // about would be left behind unconverted: say so here, not as a
    // bufferization failure later.
    WalkResult leftOver = getOperation()->walk([](Operation *op) {
      if (!isa<FSNNDialect>(op->getDialect()))
        return WalkResult::advance();
      op->emitOpError() << "was left unlowered by convert-fsnn-to-linalg "
                           "(a lowering pattern built it untracked)";
      return WalkResult::interrupt();
    });
    if (leftOver.wasInterrupted())
      return signalPassFailure();
  }

private:
  /// What is wrong with the options, or "".
  std::string optionProblem() const {
    if (target != "cpu" && target != "gpu")
      return "target must be cpu or gpu, not '" + target + "'";
    if (vectorBits != 256 && vectorBits != 512)
      return "vector-bits must be 256 or 512, not " +
             std::to_string(static_cast<unsigned>(vectorBits));
    return "";
  }

  FrozenRewritePatternSet patterns;
};

} // namespace
