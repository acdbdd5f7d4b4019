//===- ParallelizeBatchLoops.cpp - independent loops to scf.parallel ------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
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
    IRRewriter rewriter(&getContext());
    // A marked linalg op outside the marked loops becomes loops whose
    // outermost (parallel, over the output's first dimension) is marked.
    SmallVector<linalg::LinalgOp> markedOps;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (!op->hasAttr(fsnn::kParallelLoopAttr))
        return;
      op->removeAttr(fsnn::kParallelLoopAttr);
      Operation *ancestor = op->getParentOp();
      while (ancestor && !ancestor->hasAttr(fsnn::kParallelLoopAttr))
        ancestor = ancestor->getParentOp();
      if (!ancestor && op.hasPureBufferSemantics())
        markedOps.push_back(op);
    });
    for (linalg::LinalgOp op : markedOps) {
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::LinalgLoops> loops =
          linalg::linalgOpToLoops(rewriter, op);
      if (failed(loops) || loops->empty()) {
        op.emitError() << "cannot lower the op marked "
                       << fsnn::kParallelLoopAttr << " to loops";
        return signalPassFailure();
      }
      (*loops)[0]->setAttr(fsnn::kParallelLoopAttr,
                           UnitAttr::get(&getContext()));
      rewriter.eraseOp(op);
    }
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
