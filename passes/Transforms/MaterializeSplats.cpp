//===- MaterializeSplats.cpp - large splat constants filled at run time ---===//

#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::fsnn {
#define GEN_PASS_DEF_FSNNMATERIALIZESPLATSPASS
#include "passes/Passes.h.inc"
} // namespace mlir::fsnn

using namespace mlir;

namespace {
struct MaterializeSplatsPass
    : public fsnn::impl::FSNNMaterializeSplatsPassBase<MaterializeSplatsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<arith::ConstantOp> splats;
    getOperation()->walk([&](arith::ConstantOp constant) {
      auto value = dyn_cast<SplatElementsAttr>(constant.getValue());
      auto type = dyn_cast<RankedTensorType>(constant.getType());
      if (value && type && type.hasStaticShape() &&
          type.getNumElements() > threshold)
        splats.push_back(constant);
    });
    IRRewriter rewriter(&getContext());
    for (arith::ConstantOp constant : splats) {
      auto value = cast<SplatElementsAttr>(constant.getValue());
      rewriter.setInsertionPoint(constant);
      Value scalar = arith::ConstantOp::create(
          rewriter, constant.getLoc(),
          cast<TypedAttr>(value.getSplatValue<Attribute>()));
      rewriter.replaceOpWithNewOp<tensor::SplatOp>(constant, constant.getType(),
                                                   scalar);
    }
  }
};
} // namespace
