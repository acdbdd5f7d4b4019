//===- ScatterSpikes.cpp - the event-driven core of maps on spikes
//----------===//
//
// Shared by the event-driven linear map (when no register tile fits) and the
// event-driven convolution.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/FSNNToLinalg/LoweringBuilders.h"

using namespace mlir;
using namespace mlir::fsnn;
using namespace mlir::fsnn::lowering;

Value mlir::fsnn::lowering::scatterSpikes(
    Lowering &l, Value spikes, Value weights, Value acc,
    RankedTensorType windowType,
    function_ref<SmallVector<OpFoldResult>(OpBuilder &, ValueRange)> accAt,
    function_ref<SmallVector<OpFoldResult>(OpBuilder &, ValueRange)> weightAt) {
  Location loc = l.loc;
  RankedTensorType accType = l.typeOf(acc);
  Type element = accType.getElementType();
  ArrayRef<int64_t> bounds = l.typeOf(spikes).getShape();
  unsigned rank = windowType.getRank();
  return carriedLoopNest(
      l.b, loc, bounds, acc,
      [&](OpBuilder &nb, ValueRange ivs, Value state) -> Value {
        Value spike = tensor::ExtractOp::create(nb, loc, spikes, ivs);
        Value fired =
            arith::CmpFOp::create(nb, loc, arith::CmpFPredicate::UNE, spike,
                                  floatConstant(nb, loc, element, 0.0));
        auto guard = scf::IfOp::create(nb, loc, TypeRange{accType}, fired,
                                       /*withElseRegion=*/true);
        OpBuilder::InsertionGuard g(nb);
        nb.setInsertionPointToStart(&guard.getThenRegion().front());
        Lowering tl{nb, loc};
        SmallVector<OpFoldResult> ones(rank, nb.getIndexAttr(1)), sizes;
        for (int64_t d : windowType.getShape())
          sizes.push_back(nb.getIndexAttr(d));
        SmallVector<OpFoldResult> at = accAt(nb, ivs);
        Value window = tensor::ExtractSliceOp::create(nb, loc, windowType,
                                                      state, at, sizes, ones);
        Value kernel = tensor::ExtractSliceOp::create(
            nb, loc, windowType, weights, weightAt(nb, ivs), sizes, ones);
        SmallVector<IteratorType> parallel(rank, kPar);
        Value updated = tl.generic(
            windowType, ValueRange{kernel}, window,
            {tl.identity(rank), tl.identity(rank)}, parallel,
            [&](OpBuilder &bb, Location bl, ValueRange a) {
              return (Value)arith::AddFOp::create(
                  bb, bl, a[1], arith::MulFOp::create(bb, bl, spike, a[0]));
            });
        scf::YieldOp::create(nb, loc,
                             tensor::InsertSliceOp::create(
                                 nb, loc, updated, state, at, sizes, ones)
                                 .getResult());
        nb.setInsertionPointToStart(&guard.getElseRegion().front());
        scf::YieldOp::create(nb, loc, state);
        return guard.getResult(0);
      });
}
