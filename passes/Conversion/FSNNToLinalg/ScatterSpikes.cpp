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

Value mlir::fsnn::lowering::listedPosition(OpBuilder &b, Location loc,
                                           Value list, Value at) {
  return arith::IndexCastUIOp::create(
      b, loc, b.getIndexType(),
      tensor::ExtractOp::create(b, loc, list, ValueRange{at}));
}

/// The lane positions of the set bits of every `lanes`-bit mask, in
/// ascending order (then zeros): row m lists the lanes set in m.
static Value laneTable(OpBuilder &b, Location loc, int64_t lanes) {
  int64_t masks = int64_t{1} << lanes;
  SmallVector<int32_t> entries(masks * lanes, 0);
  for (int64_t m = 0; m < masks; ++m) {
    int64_t k = 0;
    for (int64_t lane = 0; lane < lanes; ++lane)
      if (m & (int64_t{1} << lane))
        entries[m * lanes + k++] = lane;
  }
  auto type = RankedTensorType::get({masks, lanes}, b.getI32Type());
  return arith::ConstantOp::create(
      b, loc, type, DenseElementsAttr::get(type, ArrayRef<int32_t>(entries)));
}

std::pair<Value, Value>
mlir::fsnn::lowering::compactNonZero(Lowering &l, OpBuilder &b, Value rows,
                                     Value sample, Value list, Value base) {
  Location loc = l.loc;
  RankedTensorType type = l.typeOf(rows);
  Type element = type.getElementType();
  Type listElement = b.getI32Type();
  int64_t size = type.getDimSize(1);
  // Lanes per table lookup: a table of 2^8 rows of 8 positions is 8 KiB.
  int64_t group = std::min<int64_t>(l.lanes(), 8);
  auto index = [&](OpBuilder &nb, int64_t v) {
    return indexConstant(nb, loc, v);
  };
  auto position = [&](OpBuilder &nb, Value count) {
    return base ? (Value)arith::AddIOp::create(nb, loc, base, count) : count;
  };
  if (size % group != 0) {
    // Appends i to the list, and counts it if rows[sample, i] is not 0.
    auto loop = scf::ForOp::create(
        b, loc, index(b, 0), index(b, size), index(b, 1),
        ValueRange{list, index(b, 0)},
        [&](OpBuilder &cb, Location, Value i, ValueRange state) {
          Value value =
              tensor::ExtractOp::create(cb, loc, rows, ValueRange{sample, i});
          Value stored = tensor::InsertOp::create(
              cb, loc, arith::IndexCastUIOp::create(cb, loc, listElement, i),
              state[0], ValueRange{position(cb, state[1])});
          Value nonZero =
              arith::CmpFOp::create(cb, loc, arith::CmpFPredicate::UNE, value,
                                    floatConstant(cb, loc, element, 0.0));
          Value next = arith::SelectOp::create(
              cb, loc, nonZero,
              arith::AddIOp::create(cb, loc, state[1], index(cb, 1)), state[1]);
          scf::YieldOp::create(cb, loc, ValueRange{stored, next});
        });
    return {loop.getResult(0), loop.getResult(1)};
  }
  // Per group of lanes, without a branch: the non-zero lanes' bit mask picks
  // the row of a table that lists their positions, which is stored whole at
  // the list's end (the positions past the new end are overwritten by the
  // next group, or never read), and the end moves by the mask's population
  // count. A group's store ends at most at its own position plus the group,
  // so it stays within the list's part for these rows.
  Value table = laneTable(b, loc, group);
  auto valueType = VectorType::get({group}, element);
  auto positionType = VectorType::get({group}, listElement);
  Type maskInteger = b.getIntegerType(group);
  auto loop = scf::ForOp::create(
      b, loc, index(b, 0), index(b, size), index(b, group),
      ValueRange{list, index(b, 0)},
      [&](OpBuilder &cb, Location, Value i, ValueRange state) {
        Value values = vector::TransferReadOp::create(
            cb, loc, valueType, rows, ValueRange{sample, i},
            floatConstant(cb, loc, element, 0.0), ArrayRef<bool>{true});
        Value zeros = arith::ConstantOp::create(
            cb, loc, valueType,
            DenseElementsAttr::get(valueType, cb.getFloatAttr(element, 0.0)));
        Value nonZero = arith::CmpFOp::create(
            cb, loc, arith::CmpFPredicate::UNE, values, zeros);
        Value bits = vector::ExtractOp::create(
            cb, loc,
            vector::BitCastOp::create(
                cb, loc, VectorType::get({1}, maskInteger), nonZero),
            ArrayRef<int64_t>{0});
        Value mask = arith::ExtUIOp::create(cb, loc, b.getI32Type(), bits);
        Value lanes = vector::TransferReadOp::create(
            cb, loc, positionType, table,
            ValueRange{
                arith::IndexCastUIOp::create(cb, loc, b.getIndexType(), mask),
                index(cb, 0)},
            arith::ConstantOp::create(cb, loc, cb.getI32IntegerAttr(0)),
            ArrayRef<bool>{true});
        Value positions = arith::AddIOp::create(
            cb, loc, lanes,
            vector::BroadcastOp::create(
                cb, loc, positionType,
                arith::IndexCastUIOp::create(cb, loc, listElement, i)));
        Value stored =
            vector::TransferWriteOp::create(cb, loc, positions, state[0],
                                            ValueRange{position(cb, state[1])},
                                            ArrayRef<bool>{true})
                .getResult();
        Value added = arith::IndexCastUIOp::create(
            cb, loc, b.getIndexType(), math::CtPopOp::create(cb, loc, mask));
        scf::YieldOp::create(cb, loc,
                             ValueRange{stored, arith::AddIOp::create(
                                                    cb, loc, state[1], added)});
      });
  return {loop.getResult(0), loop.getResult(1)};
}

Value mlir::fsnn::lowering::forEachSampleNonZero(
    Lowering &l, Value rows, Value acc,
    function_ref<Value(OpBuilder &, Value, Value, Value, Value)> body) {
  Location loc = l.loc;
  RankedTensorType type = l.typeOf(rows);
  int64_t batch = type.getDimSize(0);
  auto listType = RankedTensorType::get({type.getDimSize(1)}, l.b.getI32Type());
  bool threaded = l.parallelBatch && !l.gpu;
  // Samples [from, to) with a list of their own (per chunk on a thread).
  auto samples = [&](OpBuilder &nb, Value from, Value to, Value init) {
    Value list = l.threadLocalTensor(nb, listType);
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
              Value f = listedPosition(eb, loc, firedList, k);
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
