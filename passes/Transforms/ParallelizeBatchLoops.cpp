//===- ParallelizeBatchLoops.cpp - independent loops to scf.parallel ------===//

#include "passes/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::fsnn {
#define GEN_PASS_DEF_FSNNPARALLELIZEBATCHLOOPSPASS
#include "passes/Passes.h.inc"
} // namespace mlir::fsnn

using namespace mlir;

namespace {
struct ParallelizeBatchLoopsPass
    : public fsnn::impl::FSNNParallelizeBatchLoopsPassBase<
          ParallelizeBatchLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<scf::ForOp> marked;
    bool failedLoop = false;
    getOperation()->walk<WalkOrder::PreOrder>([&](scf::ForOp loop) {
      if (!loop->hasAttr(fsnn::kParallelLoopAttr))
        return WalkResult::advance();
      if (loop.getNumResults() != 0) {
        loop.emitError() << "a loop marked " << fsnn::kParallelLoopAttr
                         << " still carries " << loop.getNumResults()
                         << " value(s) after bufferization; its iterations "
                            "would race on threads";
        failedLoop = true;
        return WalkResult::interrupt();
      }
      marked.push_back(loop);
      // One level of threads: marked loops inside stay sequential.
      return WalkResult::skip();
    });
    if (failedLoop)
      return signalPassFailure();
    IRRewriter rewriter(&getContext());
    for (scf::ForOp loop : marked) {
      rewriter.setInsertionPoint(loop);
      auto parallel = scf::ParallelOp::create(
          rewriter, loop.getLoc(), ValueRange{loop.getLowerBound()},
          ValueRange{loop.getUpperBound()}, ValueRange{loop.getStep()});
      Block *body = parallel.getBody();
      // The new body ends in scf.reduce; the loop's ops go before it.
      rewriter.eraseOp(loop.getBody()->getTerminator());
      rewriter.inlineBlockBefore(loop.getBody(), body->getTerminator(),
                                 parallel.getInductionVars());
      rewriter.eraseOp(loop);
    }
    // Nested marks are meaningless from here on.
    getOperation()->walk(
        [](scf::ForOp loop) { loop->removeAttr(fsnn::kParallelLoopAttr); });
  }
};
} // namespace
