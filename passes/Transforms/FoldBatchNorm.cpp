//===- FoldBatchNorm.cpp - fold inference BN into linear/conv -------------===//

#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"

namespace mlir::fsnn {
#define GEN_PASS_DEF_FSNNFOLDBATCHNORMPASS
#include "passes/Passes.h.inc"
} // namespace mlir::fsnn

using namespace mlir;
using namespace mlir::fsnn;

namespace {

/// True if `value` is defined inside `op` (in one of its regions, at any
/// depth, including as a block argument of its own regions).
bool isDefinedInside(Value value, Operation *op) {
  Operation *definingScope = value.getParentRegion()->getParentOp();
  return op->isAncestor(definingScope);
}

/// The outermost ancestor of `start` (itself included) below `root` that
/// defines none of `operands`; all of them are available before it. Moving the
/// fold there hoists it out of the time loop of an enclosing fsnn.feedback.
/// Isolated ops are never crossed.
Operation *hoistingPoint(Operation *start, Operation *root,
                         ValueRange operands) {
  Operation *point = start;
  while (Operation *parent = point->getParentOp()) {
    if (parent == root || parent->hasTrait<OpTrait::IsIsolatedFromAbove>())
      break;
    if (llvm::any_of(operands,
                     [&](Value v) { return isDefinedInside(v, parent); }))
      break;
    point = parent;
  }
  return point;
}

/// Replaces `bn(producer(x, W, b))` by `producer(x, W', b')`.
bool foldInto(IRRewriter &rewriter, BatchNormOp batchNorm,
              SynapticMapOpInterface producer, Operation *root) {
  if (!producer->hasOneUse())
    return false;
  SmallVector<Value> foldOperands = {producer.getWeight(), batchNorm.getGamma(),
                                     batchNorm.getBeta(), batchNorm.getMean(),
                                     batchNorm.getVariance()};
  if (producer.getBias())
    foldOperands.push_back(producer.getBias());
  // Start from the batch norm: it comes after every operand's definition.
  rewriter.setInsertionPoint(hoistingPoint(batchNorm, root, foldOperands));

  Type biasType = batchNorm.getGamma().getType();
  auto fold = FoldBatchNormOp::create(
      rewriter, batchNorm.getLoc(), producer.getWeight().getType(), biasType,
      producer.getWeight(), batchNorm.getGamma(), batchNorm.getBeta(),
      batchNorm.getMean(), batchNorm.getVariance(), producer.getBias(),
      batchNorm.getEpsilonAttr());

  rewriter.setInsertionPoint(batchNorm);
  rewriter.modifyOpInPlace(producer, [&] {
    producer.getWeightMutable().assign(fold.getFoldedWeight());
    if (producer.getBias())
      producer.getBiasMutable().assign(fold.getFoldedBias());
    else
      producer.getBiasMutable().append(fold.getFoldedBias());
  });
  // The producer now computes the batch norm's value; keep it where the
  // batch norm was so every user stays dominated.
  rewriter.moveOpBefore(producer, batchNorm);
  rewriter.replaceOp(batchNorm, producer->getResults());
  return true;
}

struct FoldBatchNormPass
    : public fsnn::impl::FSNNFoldBatchNormPassBase<FoldBatchNormPass> {
  void runOnOperation() override {
    Operation *root = getOperation();
    SmallVector<BatchNormOp> candidates;
    root->walk([&](BatchNormOp op) { candidates.push_back(op); });

    IRRewriter rewriter(&getContext());
    for (BatchNormOp batchNorm : candidates) {
      // fsnn.fold_batch_norm scales the weight's dimension 0.
      auto producer = dyn_cast_or_null<SynapticMapOpInterface>(
          batchNorm.getInput().getDefiningOp());
      if (producer && producer.getWeightOutputDim() == 0)
        foldInto(rewriter, batchNorm, producer, root);
    }
  }
};

} // namespace
