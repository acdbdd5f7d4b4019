//===- StripDropout.cpp - remove dropout for inference --------------------===//

#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"

namespace mlir::fsnn {
#define GEN_PASS_DEF_FSNNSTRIPDROPOUTPASS
#include "passes/Passes.h.inc"
} // namespace mlir::fsnn

using namespace mlir;
using namespace mlir::fsnn;

namespace {
struct StripDropoutPass
    : public fsnn::impl::FSNNStripDropoutPassBase<StripDropoutPass> {
  void runOnOperation() override {
    SmallVector<DropoutOp> dropouts;
    getOperation()->walk([&](DropoutOp op) { dropouts.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (DropoutOp dropout : dropouts)
      rewriter.replaceOp(dropout, dropout.getInput());
    getOperation()->walk([&](DropoutMaskOp mask) {
      if (mask->use_empty())
        rewriter.eraseOp(mask);
    });
  }
};
} // namespace
