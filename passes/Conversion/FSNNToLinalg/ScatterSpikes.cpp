//===- ScatterSpikes.cpp - the event-driven core of maps on spikes
//----------===//
//
// Shared by the event-driven linear map (when no register tile fits) and the
// event-driven convolution.
//
//===----------------------------------------------------------------------===//

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "passes/Conversion/FSNNToLinalg/LoweringBuilders.h"

using namespace mlir;
using namespace mlir::fsnn;
using namespace mlir::fsnn::lowering;

std::pair<Value, Value>
mlir::fsnn::lowering::compactNonZero(Lowering &l, OpBuilder &b, Value rows,
                                     Value sample, Value list, Value base) {
  Location loc = l.loc;
  RankedTensorType type = l.typeOf(rows);
  Type element = type.getElementType();
  int64_t size = type.getDimSize(1);
  int64_t kLanes = l.lanes();
  auto index = [&](OpBuilder &nb, int64_t v) {
    return indexConstant(nb, loc, v);
  };
  // Appends i to the list, and counts it if rows[sample, i] is not 0.
  auto append = [&](OpBuilder &cb, Value i, Value listValue, Value count) {
    Value value =
        tensor::ExtractOp::create(cb, loc, rows, ValueRange{sample, i});
    Value at =
        base ? (Value)arith::AddIOp::create(cb, loc, base, count) : count;
    Value stored =
        tensor::InsertOp::create(cb, loc, i, listValue, ValueRange{at});
    Value nonZero =
        arith::CmpFOp::create(cb, loc, arith::CmpFPredicate::UNE, value,
                              floatConstant(cb, loc, element, 0.0));
    Value next = arith::SelectOp::create(
        cb, loc, nonZero, arith::AddIOp::create(cb, loc, count, index(cb, 1)),
        count);
    return SmallVector<Value>{stored, next};
  };
  bool byVectors = size % kLanes == 0;
  auto loop = scf::ForOp::create(
      b, loc, index(b, 0), index(b, size), index(b, byVectors ? kLanes : 1),
      ValueRange{list, index(b, 0)},
      [&](OpBuilder &cb, Location, Value i, ValueRange state) {
        if (!byVectors) {
          scf::YieldOp::create(cb, loc, append(cb, i, state[0], state[1]));
          return;
        }
        // A vector of zeros (most of them, where few neurons change) is
        // skipped with one test.
        auto laneType = VectorType::get({kLanes}, element);
        Value lanes = vector::TransferReadOp::create(
            cb, loc, laneType, rows, ValueRange{sample, i},
            floatConstant(cb, loc, element, 0.0), ArrayRef<bool>{true});
        Value zeros = arith::ConstantOp::create(
            cb, loc, laneType,
            DenseElementsAttr::get(laneType, cb.getFloatAttr(element, 0.0)));
        Value nonZero = arith::CmpFOp::create(
            cb, loc, arith::CmpFPredicate::UNE, lanes, zeros);
        Value any = vector::ReductionOp::create(
            cb, loc, vector::CombiningKind::OR, nonZero);
        auto test = scf::IfOp::create(cb, loc, ValueRange(state).getTypes(),
                                      any, /*withElseRegion=*/true);
        OpBuilder tb = OpBuilder::atBlockBegin(&test.getThenRegion().front(),
                                               cb.getListener());
        auto each = scf::ForOp::create(
            tb, loc, index(tb, 0), index(tb, kLanes), index(tb, 1), state,
            [&](OpBuilder &eb, Location, Value k, ValueRange inner) {
              scf::YieldOp::create(eb, loc,
                                   append(eb,
                                          arith::AddIOp::create(eb, loc, i, k),
                                          inner[0], inner[1]));
            });
        scf::YieldOp::create(tb, loc, each.getResults());
        OpBuilder fb = OpBuilder::atBlockBegin(&test.getElseRegion().front(),
                                               cb.getListener());
        scf::YieldOp::create(fb, loc, state);
        scf::YieldOp::create(cb, loc, test.getResults());
      });
  return {loop.getResult(0), loop.getResult(1)};
}

Value mlir::fsnn::lowering::forEachSampleNonZero(
    Lowering &l, Value rows, Value acc,
    function_ref<Value(OpBuilder &, Value, Value, Value, Value)> body) {
  Location loc = l.loc;
  RankedTensorType type = l.typeOf(rows);
  int64_t batch = type.getDimSize(0);
  auto listType =
      RankedTensorType::get({type.getDimSize(1)}, l.b.getIndexType());
  bool threaded = l.parallelBatch && !l.gpu;
  // Samples [from, to) with a list of their own.
  auto samples = [&](OpBuilder &nb, Value from, Value to, Value init) {
    // In a chunk that runs on a thread, a bufferization.alloc_tensor stays
    // there; loop-invariant code motion would hoist a tensor.empty out of
    // the loops, and the threads would share one list.
    Value list =
        threaded ? (Value)bufferization::AllocTensorOp::create(
                       nb, loc, listType, ValueRange{})
                 : (Value)tensor::EmptyOp::create(nb, loc, listType.getShape(),
                                                  listType.getElementType());
    auto loop = scf::ForOp::create(
        nb, loc, from, to, indexConstant(nb, loc, 1), ValueRange{init, list},
        [&](OpBuilder &sb, Location, Value n, ValueRange state) {
          // Without a branch per neuron: one is mispredicted at every few
          // spikes.
          auto [fired, count] = compactNonZero(l, sb, rows, n, state[1]);
          scf::YieldOp::create(
              sb, loc, ValueRange{body(sb, n, state[0], fired, count), fired});
        });
    return loop.getResult(0);
  };
  // Enough chunks for the threads of a large machine.
  constexpr int64_t kChunks = 32;
  int64_t chunk = (batch + kChunks - 1) / kChunks;
  int64_t chunks = (batch + chunk - 1) / chunk;
  if (!threaded || chunks < 2)
    return samples(l.b, indexConstant(l.b, loc, 0),
                   indexConstant(l.b, loc, batch), acc);
  auto outer = scf::ForOp::create(
      l.b, loc, indexConstant(l.b, loc, 0), indexConstant(l.b, loc, chunks),
      indexConstant(l.b, loc, 1), ValueRange{acc},
      [&](OpBuilder &cb, Location, Value c, ValueRange state) {
        Value from =
            arith::MulIOp::create(cb, loc, c, indexConstant(cb, loc, chunk));
        Value to = arith::MinUIOp::create(
            cb, loc,
            arith::AddIOp::create(cb, loc, from, indexConstant(cb, loc, chunk)),
            indexConstant(cb, loc, batch));
        scf::YieldOp::create(cb, loc, samples(cb, from, to, state[0]));
      });
  l.markParallel(outer);
  return outer.getResult(0);
}

Value mlir::fsnn::lowering::scatterSpikes(
    Lowering &l, Value spikes, Value weights, Value acc,
    RankedTensorType windowType,
    function_ref<SmallVector<OpFoldResult>(OpBuilder &, ValueRange)> accAt,
    function_ref<SmallVector<OpFoldResult>(OpBuilder &, ValueRange)> weightAt,
    bool spikeValues) {
  Location loc = l.loc;
  ArrayRef<int64_t> shape = l.typeOf(spikes).getShape();
  unsigned rank = windowType.getRank();
  auto index = [&](OpBuilder &nb, int64_t v) {
    return indexConstant(nb, loc, v);
  };
  // One sample's spikes as a row, so that finding the ones that fired is one
  // loop over contiguous floats.
  Value rows = l.matrixOf(spikes);
  return forEachSampleNonZero(
      l, rows, acc,
      [&](OpBuilder &sb, Value n, Value sampleAcc, Value firedList,
          Value count) -> Value {
        auto events = scf::ForOp::create(
            sb, loc, index(sb, 0), count, index(sb, 1), ValueRange{sampleAcc},
            [&](OpBuilder &eb, Location, Value k, ValueRange state) {
              Value f =
                  tensor::ExtractOp::create(eb, loc, firedList, ValueRange{k});
              Value spike =
                  tensor::ExtractOp::create(eb, loc, rows, ValueRange{n, f});
              // (n, the neuron's position in the spike tensor).
              SmallVector<Value> ivs(shape.size());
              ivs[0] = n;
              Value rest = f;
              for (size_t d = shape.size() - 1; d >= 1; --d) {
                Value size = index(eb, shape[d]);
                ivs[d] =
                    d == 1 ? rest
                           : (Value)arith::RemUIOp::create(eb, loc, rest, size);
                if (d > 1)
                  rest = arith::DivUIOp::create(eb, loc, rest, size);
              }
              Lowering tl = l.at(eb, loc);
              SmallVector<OpFoldResult> ones(rank, eb.getIndexAttr(1)), sizes;
              for (int64_t d : windowType.getShape())
                sizes.push_back(eb.getIndexAttr(d));
              SmallVector<OpFoldResult> at = accAt(eb, ivs);
              Value window = tensor::ExtractSliceOp::create(
                  eb, loc, windowType, state[0], at, sizes, ones);
              Value kernel = tensor::ExtractSliceOp::create(
                  eb, loc, windowType, weights, weightAt(eb, ivs), sizes, ones);
              // spike x w is exact for spikes and their changes (0, +-1), so
              // the fused multiply-add rounds as the separate ones would.
              Value updated =
                  tl.generic(windowType, ValueRange{kernel}, window,
                             {tl.identity(rank), tl.identity(rank)},
                             SmallVector<utils::IteratorType>(rank, kPar),
                             [&](OpBuilder &bb, Location bl, ValueRange a) {
                               if (spikeValues)
                                 return (Value)math::FmaOp::create(
                                     bb, bl, spike, a[0], a[1]);
                               return (Value)arith::AddFOp::create(
                                   bb, bl, a[1],
                                   arith::MulFOp::create(bb, bl, spike, a[0]));
                             });
              scf::YieldOp::create(
                  eb, loc,
                  tensor::InsertSliceOp::create(eb, loc, updated, state[0], at,
                                                sizes, ones)
                      .getResult());
            });
        return events.getResult(0);
      });
}
