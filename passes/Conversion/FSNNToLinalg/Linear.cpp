//===- Linear.cpp - fsnn.linear patterns
//------------------------------------===//
//
// y = x Wᵀ + b. CPU: event-driven on spikes, register-tiled when the shape
// allows, else a linalg contraction; GPU: the contraction, one thread per
// output.
//
//===----------------------------------------------------------------------===//

#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "passes/Conversion/FSNNToLinalg/LoweringBuilders.h"

using namespace mlir;
using namespace mlir::fsnn;
using namespace mlir::fsnn::lowering;

namespace {

using utils::IteratorType;

/// The widest output tile (at most 8 vector registers of `lanes` floats,
/// a multiple of `lanes`, dividing `out`) whose accumulator fits in vector
/// registers, or 0.
int64_t registerTile(int64_t out, int64_t lanes) {
  for (int64_t tile = 8 * lanes; tile >= lanes; tile -= lanes)
    if (out % tile == 0)
      return tile;
  return 0;
}

/// The register-tiled form of the event-driven linear map: for every sample,
/// the indices of the neurons that fired are first compacted (branch-free),
/// then every output tile loops over them, so that the tile's accumulator is
/// loaded and stored once per tile, not once per fired neuron. Each output
/// still receives its contributions in input order: bit for bit the dense
/// result.
Value lowerSpikeLinearTiled(Lowering &l, Value spikes, Value transposed,
                            Value init, int64_t tile) {
  Location loc = l.loc;
  Type element = l.typeOf(spikes).getElementType();
  int64_t out = l.typeOf(transposed).getDimSize(1);
  auto index = [&](OpBuilder &nb, int64_t v) {
    return indexConstant(nb, loc, v);
  };
  int64_t kLanes = l.lanes();
  auto laneType = VectorType::get({kLanes}, element);
  return forEachSampleNonZero(
      l, spikes, init,
      [&](OpBuilder &sb, Value n, Value sampleAcc, Value firedList,
          Value count) -> Value {
        Value zero = floatConstant(sb, loc, element, 0.0);
        auto tiles = scf::ForOp::create(
            sb, loc, index(sb, 0), index(sb, out), index(sb, tile),
            ValueRange{sampleAcc},
            [&](OpBuilder &tb, Location, Value o, ValueRange accState) {
              // The tile is carried by the loop as several register-wide
              // vectors, so that it lives in registers: a memory window
              // would be loaded and stored around every addition, and one
              // vector of the whole tile's width is split badly by LLVM.
              SmallVector<bool> inBounds{true};
              int64_t parts = tile / kLanes;
              auto column = [&](OpBuilder &pb, Value o, int64_t part) {
                return arith::AddIOp::create(pb, loc, o,
                                             index(pb, part * kLanes))
                    .getResult();
              };
              SmallVector<Value> tileInit;
              for (int64_t p = 0; p < parts; ++p)
                tileInit.push_back(vector::TransferReadOp::create(
                    tb, loc, laneType, accState[0],
                    ValueRange{n, column(tb, o, p)}, zero,
                    ArrayRef<bool>(inBounds)));
              auto sum = scf::ForOp::create(
                  tb, loc, index(tb, 0), count, index(tb, 1), tileInit,
                  [&](OpBuilder &kb, Location, Value k, ValueRange partial) {
                    Value i = tensor::ExtractOp::create(kb, loc, firedList,
                                                        ValueRange{k});
                    Value spike = tensor::ExtractOp::create(kb, loc, spikes,
                                                            ValueRange{n, i});
                    Value spikeLanes =
                        vector::BroadcastOp::create(kb, loc, laneType, spike);
                    SmallVector<Value> updated;
                    for (int64_t p = 0; p < parts; ++p) {
                      Value row = vector::TransferReadOp::create(
                          kb, loc, laneType, transposed,
                          ValueRange{i, column(kb, o, p)}, zero,
                          ArrayRef<bool>(inBounds));
                      // Exact products (spikes and their changes are 0 or
                      // +-1): fusing them rounds as separate ops would.
                      updated.push_back(vector::FMAOp::create(
                          kb, loc, spikeLanes, row, partial[p]));
                    }
                    scf::YieldOp::create(kb, loc, updated);
                  });
              Value acc = accState[0];
              for (int64_t p = 0; p < parts; ++p)
                acc = vector::TransferWriteOp::create(
                          tb, loc, sum.getResult(p), acc,
                          ValueRange{n, column(tb, o, p)},
                          ArrayRef<bool>(inBounds))
                          .getResult();
              scf::YieldOp::create(tb, loc, acc);
            });
        return tiles.getResult(0);
      });
}

/// y = x Wᵀ + b for dense x, register-blocked: every block of kSamples
/// samples and `tile` outputs is carried in kSamples x tile/lanes vector
/// registers over all inputs, so each row of Wᵀ read is used by kSamples
/// samples instead of one, and the output is written once. Per output the
/// terms still arrive in input order after the bias: the result is the
/// generic contraction's, bit for bit.
Value lowerDenseLinearTiled(Lowering &l, LinearOp op, Value transposed,
                            Value init, int64_t tile) {
  constexpr int64_t kSamples = 4;
  OpBuilder &b = l.b;
  Location loc = l.loc;
  Value x = op.getInput();
  RankedTensorType xType = l.typeOf(x);
  Type element = xType.getElementType();
  int64_t batch = xType.getDimSize(0), in = xType.getDimSize(1),
          out = l.typeOf(transposed).getDimSize(1);
  int64_t kLanes = l.lanes();
  int64_t parts = tile / kLanes;
  auto index = [&](OpBuilder &nb, int64_t v) {
    return indexConstant(nb, loc, v);
  };
  auto laneType = VectorType::get({kLanes}, element);
  SmallVector<bool> inBounds{true};
  auto offset = [&](OpBuilder &nb, Value base, int64_t by) {
    return arith::AddIOp::create(nb, loc, base, index(nb, by)).getResult();
  };
  auto blocks = scf::ForOp::create(
      b, loc, index(b, 0), index(b, batch), index(b, kSamples),
      ValueRange{init},
      [&](OpBuilder &bb, Location, Value n0, ValueRange blockState) {
        auto tiles = scf::ForOp::create(
            bb, loc, index(bb, 0), index(bb, out), index(bb, tile),
            ValueRange{blockState[0]},
            [&](OpBuilder &tb, Location, Value o, ValueRange accState) {
              Value zero = floatConstant(tb, loc, element, 0.0);
              SmallVector<Value> tileInit;
              for (int64_t s = 0; s < kSamples; ++s)
                for (int64_t p = 0; p < parts; ++p)
                  tileInit.push_back(vector::TransferReadOp::create(
                      tb, loc, laneType, accState[0],
                      ValueRange{offset(tb, n0, s), offset(tb, o, p * kLanes)},
                      zero, ArrayRef<bool>(inBounds)));
              auto sum = scf::ForOp::create(
                  tb, loc, index(tb, 0), index(tb, in), index(tb, 1), tileInit,
                  [&](OpBuilder &kb, Location, Value i, ValueRange partial) {
                    SmallVector<Value> rows;
                    for (int64_t p = 0; p < parts; ++p)
                      rows.push_back(vector::TransferReadOp::create(
                          kb, loc, laneType, transposed,
                          ValueRange{i, offset(kb, o, p * kLanes)}, zero,
                          ArrayRef<bool>(inBounds)));
                    SmallVector<Value> updated;
                    for (int64_t s = 0; s < kSamples; ++s) {
                      Value xv = tensor::ExtractOp::create(
                          kb, loc, x, ValueRange{offset(kb, n0, s), i});
                      Value lanes =
                          vector::BroadcastOp::create(kb, loc, laneType, xv);
                      for (int64_t p = 0; p < parts; ++p)
                        updated.push_back(arith::AddFOp::create(
                            kb, loc, partial[s * parts + p],
                            arith::MulFOp::create(kb, loc, lanes, rows[p])));
                    }
                    scf::YieldOp::create(kb, loc, updated);
                  });
              Value acc = accState[0];
              for (int64_t s = 0; s < kSamples; ++s)
                for (int64_t p = 0; p < parts; ++p)
                  acc = vector::TransferWriteOp::create(
                            tb, loc, sum.getResult(s * parts + p), acc,
                            ValueRange{offset(tb, n0, s),
                                       offset(tb, o, p * kLanes)},
                            ArrayRef<bool>(inBounds))
                            .getResult();
              scf::YieldOp::create(tb, loc, acc);
            });
        scf::YieldOp::create(bb, loc, tiles.getResult(0));
      });
  l.markParallel(blocks);
  return blocks.getResult(0);
}

/// y = s Wᵀ + b for spikes s: for every sample, the rows of Wᵀ of the
/// neurons that fired are added to the output row.
Value lowerSpikeLinear(Lowering &l, Value spikes, Value transposed,
                       Value init) {
  int64_t out = l.typeOf(transposed).getDimSize(1);
  if (int64_t tile = registerTile(out, l.lanes()))
    return lowerSpikeLinearTiled(l, spikes, transposed, init, tile);
  auto rowType =
      RankedTensorType::get({1, out}, l.typeOf(init).getElementType());
  return scatterSpikes(
      l, spikes, transposed, init, rowType,
      [](OpBuilder &b, ValueRange ivs) {
        return SmallVector<OpFoldResult>{ivs[0], b.getIndexAttr(0)};
      },
      [](OpBuilder &b, ValueRange ivs) {
        return SmallVector<OpFoldResult>{ivs[1], b.getIndexAttr(0)};
      });
}

/// The bias-initialised output and Wᵀ, which every form of the linear map
/// starts from: Wᵀ so that the innermost loop runs over contiguous outputs
/// and weights (and vectorizes without reassociating a sum). It depends only
/// on the weight, so loop-invariant code motion takes it out of the time
/// loop.
struct LinearOperands {
  Value init, transposed;
};
LinearOperands linearOperands(Lowering &l, LinearOp op) {
  Value init = l.initWithBias(op.getType(), op.getBias(), 1);
  return {init, l.transposed(op.getWeight())};
}

/// The general form, a linalg contraction. CPU loops (b, i, o): y[b, o] +=
/// x[b, i] * Wᵀ[i, o], each output summed in the order of i, as the
/// reference does. GPU loops (b, o, i): one thread per output, summing in
/// the same order.
Value lowerLinearContraction(Lowering &l, LinearOp op) {
  auto [init, transposed] = linearOperands(l, op);
  if (l.gpu)
    return l.generic(op.getType(), ValueRange{op.getInput(), transposed}, init,
                     {l.pick(3, {0, 2}), l.pick(3, {2, 1}), l.pick(3, {0, 1})},
                     {kPar, kPar, kRed}, multiplyAdd);
  return l.generic(op.getType(), ValueRange{op.getInput(), transposed}, init,
                   {l.pick(3, {0, 1}), l.pick(3, {1, 2}), l.pick(3, {0, 2})},
                   {kPar, kRed, kPar}, multiplyAdd);
}

Value lowerSpikeLinearOp(Lowering &l, LinearOp op) {
  auto [init, transposed] = linearOperands(l, op);
  return lowerSpikeLinear(l, op.getInput(), transposed, init);
}

/// y = x Wᵀ + b for a few dense samples, on W itself: for every sample and
/// block of four outputs, one vector of partial sums per output runs over
/// the inputs (each x vector loaded serves the four rows of W), and the
/// lanes are summed at the end. Wᵀ would cost as much to form, per call, as
/// the product itself at batch 1. The sums are blocked (lanes partial sums
/// over every lanes-th input, then a tree), not the contraction's running
/// order: closer to float64, not bit for bit.
Value lowerDenseLinearDot(Lowering &l, LinearOp op) {
  OpBuilder &b = l.b;
  Location loc = l.loc;
  Value x = op.getInput(), weight = op.getWeight();
  RankedTensorType xType = l.typeOf(x);
  Type element = xType.getElementType();
  int64_t batch = xType.getDimSize(0), in = xType.getDimSize(1),
          out = op.getType().getDimSize(1);
  int64_t kLanes = l.lanes();
  int64_t rowsPerBlock = out % 4 == 0 ? 4 : 1;
  auto index = [&](OpBuilder &nb, int64_t v) {
    return indexConstant(nb, loc, v);
  };
  auto laneType = VectorType::get({kLanes}, element);
  SmallVector<bool> inBounds{true};
  Value init = l.initWithBias(op.getType(), op.getBias(), 1);
  return carriedLoopNest(
      b, loc, {batch, out / rowsPerBlock}, init,
      [&](OpBuilder &nb, ValueRange ivs, Value state) -> Value {
        Value sample = ivs[0];
        Value o0 =
            arith::MulIOp::create(nb, loc, ivs[1], index(nb, rowsPerBlock));
        auto row = [&](OpBuilder &rb, int64_t s) {
          return arith::AddIOp::create(rb, loc, o0, index(rb, s)).getResult();
        };
        Value zeros = arith::ConstantOp::create(
            nb, loc, laneType,
            DenseElementsAttr::get(laneType, nb.getFloatAttr(element, 0.0)));
        auto sums = scf::ForOp::create(
            nb, loc, index(nb, 0), index(nb, in), index(nb, kLanes),
            SmallVector<Value>(rowsPerBlock, zeros),
            [&](OpBuilder &kb, Location, Value i, ValueRange partial) {
              Value zero = floatConstant(kb, loc, element, 0.0);
              Value xv = vector::TransferReadOp::create(
                  kb, loc, laneType, x, ValueRange{sample, i}, zero,
                  ArrayRef<bool>(inBounds));
              SmallVector<Value> updated;
              for (int64_t s = 0; s < rowsPerBlock; ++s) {
                Value wv = vector::TransferReadOp::create(
                    kb, loc, laneType, weight, ValueRange{row(kb, s), i}, zero,
                    ArrayRef<bool>(inBounds));
                updated.push_back(
                    vector::FMAOp::create(kb, loc, wv, xv, partial[s]));
              }
              scf::YieldOp::create(kb, loc, updated);
            });
        Value result = state;
        for (int64_t s = 0; s < rowsPerBlock; ++s) {
          Value at = row(nb, s);
          Value bias =
              tensor::ExtractOp::create(nb, loc, state, ValueRange{sample, at});
          Value total = vector::ReductionOp::create(
              nb, loc, vector::CombiningKind::ADD, sums.getResult(s));
          result = tensor::InsertOp::create(
              nb, loc, arith::AddFOp::create(nb, loc, bias, total), result,
              ValueRange{sample, at});
        }
        return result;
      });
}

/// The dot form applies where the register-blocked one does not (batch not
/// a multiple of 4), to dense inputs whose width is whole vectors.
bool fitsDenseDot(LinearOp op, unsigned vectorBits) {
  return op.getType().getDimSize(0) % 4 != 0 &&
         op.getInput().getType().getDimSize(1) % (vectorBits / 32) == 0;
}

/// Four samples x up to five vectors of outputs with AVX-512 (20
/// accumulators and 5 weight vectors in its 32 registers), up to three with
/// AVX2 (12 and 3 in its 16).
int64_t maxDenseParts(unsigned vectorBits) { return vectorBits >= 512 ? 5 : 3; }

bool fitsDenseTile(LinearOp op, unsigned vectorBits) {
  return op.getType().getDimSize(0) % 4 == 0 &&
         op.getType().getDimSize(1) % (vectorBits / 32) == 0;
}

Value lowerDenseLinearOp(Lowering &l, LinearOp op) {
  auto [init, transposed] = linearOperands(l, op);
  int64_t vectors = op.getType().getDimSize(1) / l.lanes();
  int64_t parts = 1;
  for (int64_t candidate = maxDenseParts(l.vectorBits); candidate >= 2;
       --candidate)
    if (vectors % candidate == 0) {
      parts = candidate;
      break;
    }
  return lowerDenseLinearTiled(l, op, transposed, init, parts * l.lanes());
}

} // namespace

Value mlir::fsnn::lowering::accumulateSpikeLinear(Lowering &l, Value spikes,
                                                  Value weight, Value acc) {
  return lowerSpikeLinear(l, spikes, l.transposed(weight), acc);
}

void mlir::fsnn::lowering::populateLinearPatterns(
    RewritePatternSet &patterns, const LoweringOptions &options) {
  addLowering<LinearOp>(patterns, options, single(lowerLinearContraction));
  if (options.target != LoweringTarget::CPU)
    return;
  addLowering<LinearOp>(
      patterns, options, single(lowerDenseLinearOp),
      [vectorBits = options.vectorBits](LinearOp op) {
        return fitsDenseTile(op, vectorBits);
      },
      /*benefit=*/2);
  addLowering<LinearOp>(
      patterns, options, single(lowerDenseLinearDot),
      [vectorBits = options.vectorBits](LinearOp op) {
        return fitsDenseDot(op, vectorBits);
      },
      /*benefit=*/2);
  addLowering<LinearOp>(
      patterns, options, single(lowerSpikeLinearOp),
      [](LinearOp op) { return op->hasAttr(kSpikeInput); }, /*benefit=*/3);
}
