//===- Linear.cpp - fsnn.linear patterns
//------------------------------------===//
//
// y = x Wᵀ + b. CPU: event-driven on spikes, register-tiled when the shape
// allows, else a linalg contraction; GPU: the contraction, one thread per
// output.
//
//===----------------------------------------------------------------------===//

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "passes/Conversion/FSNNToLinalg/LoweringBuilders.h"

using namespace mlir;
using namespace mlir::fsnn;
using namespace mlir::fsnn::lowering;

namespace {

using utils::IteratorType;

/// The output tile of the event-driven and masked linear maps, or 0 if none
/// fits: each of its vectors is a chain of dependent additions, one per
/// listed input, so it takes as many vectors as leave room for the broadcast
/// input and a product (10 of AVX2's 16 registers, 16 of AVX-512's 32) to
/// hide the additions' latency. (At most 8, on F400's 400 outputs 5 with
/// AVX2, F400 inference spent 11% more outside its input map.)
int64_t chainTile(int64_t out, unsigned vectorBits) {
  int64_t lanes = vectorBits / 32;
  for (int64_t parts = vectorBits >= 512 ? 16 : 10; parts >= 1; --parts)
    if (out % (parts * lanes) == 0)
      return parts * lanes;
  return 0;
}

/// Adds x[n, i] times row i of Wᵀ into the output tile of `acc` at sample n
/// and columns [o, o + parts x lanes), for the `count` inputs i listed in
/// `list` from position `base` on (each plus `offset`; null: 0), in list
/// order. The tile is carried by the loop as register-wide vectors, so that
/// it lives in registers (a memory window would be loaded and stored around
/// every addition, and one vector of the whole tile's width is split badly
/// by LLVM), and is read and written once. Each term is one fused
/// multiply-add, as in the dense form (exact for spikes and their changes,
/// 0 and +-1).
Value sumListedRows(Lowering &l, OpBuilder &b, Value x, Value transposed,
                    Value acc, Value n, Value o, int64_t parts, Value list,
                    Value base, Value offset, Value count) {
  Location loc = l.loc;
  int64_t kLanes = l.lanes();
  Type element = l.typeOf(x).getElementType();
  auto laneType = VectorType::get({kLanes}, element);
  SmallVector<bool> inBounds{true};
  auto plus = [&](OpBuilder &nb, Value a, Value c) {
    return c ? arith::AddIOp::create(nb, loc, a, c).getResult() : a;
  };
  auto column = [&](OpBuilder &nb, int64_t p) {
    return plus(nb, o, indexConstant(nb, loc, p * kLanes));
  };
  Value zero = floatConstant(b, loc, element, 0.0);
  SmallVector<Value> tileInit;
  for (int64_t p = 0; p < parts; ++p)
    tileInit.push_back(vector::TransferReadOp::create(
        b, loc, laneType, acc, ValueRange{n, column(b, p)}, zero,
        ArrayRef<bool>(inBounds)));
  auto sum = scf::ForOp::create(
      b, loc, indexConstant(b, loc, 0), count, indexConstant(b, loc, 1),
      tileInit, [&](OpBuilder &kb, Location, Value k, ValueRange partial) {
        Value i =
            plus(kb, listedPosition(kb, loc, list, plus(kb, k, base)), offset);
        Value lanes = vector::BroadcastOp::create(
            kb, loc, laneType,
            tensor::ExtractOp::create(kb, loc, x, ValueRange{n, i}));
        SmallVector<Value> updated;
        for (int64_t p = 0; p < parts; ++p) {
          Value row = vector::TransferReadOp::create(
              kb, loc, laneType, transposed, ValueRange{i, column(kb, p)}, zero,
              ArrayRef<bool>(inBounds));
          updated.push_back(
              vector::FMAOp::create(kb, loc, lanes, row, partial[p]));
        }
        scf::YieldOp::create(kb, loc, updated);
      });
  for (int64_t p = 0; p < parts; ++p)
    acc = vector::TransferWriteOp::create(b, loc, sum.getResult(p), acc,
                                          ValueRange{n, column(b, p)},
                                          ArrayRef<bool>(inBounds))
              .getResult();
  return acc;
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
  int64_t out = l.typeOf(transposed).getDimSize(1);
  return forEachSampleNonZero(
      l, spikes, init,
      [&](OpBuilder &sb, Value n, Value sampleAcc, Value firedList,
          Value count) -> Value {
        auto tiles = scf::ForOp::create(
            sb, loc, indexConstant(sb, loc, 0), indexConstant(sb, loc, out),
            indexConstant(sb, loc, tile), ValueRange{sampleAcc},
            [&](OpBuilder &tb, Location, Value o, ValueRange accState) {
              scf::YieldOp::create(tb, loc,
                                   sumListedRows(l, tb, spikes, transposed,
                                                 accState[0], n, o,
                                                 tile / l.lanes(), firedList,
                                                 Value(), Value(), count));
            });
        return tiles.getResult(0);
      });
}

/// y = x Wᵀ + b for dense x, register-blocked: every block of kSamples
/// samples and `tile` outputs is carried in kSamples x tile/lanes vector
/// registers over all inputs, so each row of Wᵀ read is used by kSamples
/// samples instead of one, and the output is written once. Per output the
/// terms still arrive in input order after the bias, each added by a fused
/// multiply-add (one rounding, not the contraction's two: half the
/// instructions, which bound this loop; F400's input map took 18% less
/// time).
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
  // Output tiles outermost (on threads in a training step: each writes its
  // own columns): a tile's columns of Wᵀ stay in the second-level cache
  // while every block of samples reads them, instead of all of Wᵀ streaming
  // from memory once per block (F400's input map took 30% less time).
  auto tiles = scf::ForOp::create(
      b, loc, index(b, 0), index(b, out), index(b, tile), ValueRange{init},
      [&](OpBuilder &bb, Location, Value o, ValueRange tileState) {
        auto blocks = scf::ForOp::create(
            bb, loc, index(bb, 0), index(bb, batch), index(bb, kSamples),
            ValueRange{tileState[0]},
            [&](OpBuilder &tb, Location, Value n0, ValueRange accState) {
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
                        updated.push_back(vector::FMAOp::create(
                            kb, loc, lanes, rows[p], partial[s * parts + p]));
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
        scf::YieldOp::create(bb, loc, blocks.getResult(0));
      });
  l.markParallel(tiles);
  return tiles.getResult(0);
}

/// y = s Wᵀ + b for spikes s: for every sample, the rows of Wᵀ of the
/// neurons that fired are added to the output row. (Chunks of samples
/// sharing a tile's rows of Wᵀ, as the masked form takes, made F400's
/// change-driven feedback 10% slower: its work is the multiply-adds, not
/// the reads.)
Value lowerSpikeLinear(Lowering &l, Value spikes, Value transposed,
                       Value init) {
  int64_t out = l.typeOf(transposed).getDimSize(1);
  if (int64_t tile = chainTile(out, l.vectorBits))
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

/// Samples per chunk of the masked linear map: each output tile's rows of
/// Wᵀ, read from cache, serve this many samples.
constexpr int64_t kMaskedChunk = 16;

/// Inputs per block of the masked linear map: the block's rows of an output
/// tile's columns of Wᵀ fill at most 16 KiB, half a first-level cache. A
/// multiple of the vector width dividing `in` (whose lists are compacted
/// by vectors), else all of `in`.
int64_t maskedInputBlock(int64_t in, int64_t tile, int64_t lanes) {
  constexpr int64_t kBytes = 16 * 1024;
  for (int64_t rows = std::min(in, kBytes / (tile * 4)) / lanes * lanes;
       rows >= lanes; rows -= lanes)
    if (in % rows == 0)
      return rows;
  return in;
}

bool fitsMaskedLinear(LinearOp op, unsigned vectorBits) {
  return hasMaskedGradientInput(op) &&
         op.getType().getDimSize(0) % kMaskedChunk == 0 &&
         chainTile(op.getType().getDimSize(1), vectorBits) != 0;
}

/// y = x Wᵀ for a masked gradient x, visiting only its non-zero inputs. Per
/// chunk of samples (on threads), each sample's non-zero positions are
/// compacted once; then, output tile by output tile, every sample of the
/// chunk sums its terms in a register tile, so the tile's rows of Wᵀ stay in
/// cache across the chunk. The terms are the dense form's (fused
/// multiply-adds, in input order) less the zero ones: the same sums.
Value lowerMaskedLinearOp(Lowering &l, LinearOp op) {
  auto [init, transposed] = linearOperands(l, op);
  Location loc = l.loc;
  OpBuilder &b = l.b;
  Value x = op.getInput();
  RankedTensorType xType = l.typeOf(x);
  Type element = xType.getElementType();
  int64_t batch = xType.getDimSize(0), in = xType.getDimSize(1),
          out = l.typeOf(transposed).getDimSize(1);
  int64_t kLanes = l.lanes();
  int64_t tile = chainTile(out, l.vectorBits), parts = tile / kLanes;
  int64_t block = maskedInputBlock(in, tile, kLanes), blocks = in / block;
  auto index = [&](OpBuilder &nb, int64_t v) {
    return indexConstant(nb, loc, v);
  };
  auto plus = [&](OpBuilder &nb, Value a, Value c) {
    return arith::AddIOp::create(nb, loc, a, c).getResult();
  };
  auto times = [&](OpBuilder &nb, Value a, int64_t c) {
    return arith::MulIOp::create(nb, loc, a, index(nb, c)).getResult();
  };
  auto loop = [&](OpBuilder &nb, int64_t to, ValueRange state,
                  function_ref<void(OpBuilder &, Value, ValueRange)> body) {
    return scf::ForOp::create(
        nb, loc, index(nb, 0), index(nb, to), index(nb, 1), state,
        [&](OpBuilder &bb, Location, Value iv, ValueRange carried) {
          body(bb, iv, carried);
        });
  };
  Type indexType = b.getIndexType();
  auto blockType = RankedTensorType::get({batch, block}, element);
  SmallVector<OpFoldResult> unitStrides(2, b.getIndexAttr(1));
  auto chunks = loop(
      b, batch / kMaskedChunk, ValueRange{init},
      [&](OpBuilder &cb, Value c, ValueRange chunkState) {
        Value first = times(cb, c, kMaskedChunk);
        // Per chunk (a bufferization.alloc_tensor stays inside the loop that
        // runs on threads): for every sample and block of inputs, the positions
        // of the non-zero inputs in the block, and their number.
        Value lists = bufferization::AllocTensorOp::create(
            cb, loc, RankedTensorType::get({kMaskedChunk * in}, b.getI32Type()),
            ValueRange{});
        Value counts = bufferization::AllocTensorOp::create(
            cb, loc, RankedTensorType::get({kMaskedChunk * blocks}, indexType),
            ValueRange{});
        auto compacted = loop(
            cb, kMaskedChunk * blocks, ValueRange{lists, counts},
            [&](OpBuilder &sb, Value sj, ValueRange state) {
              Value s = arith::DivUIOp::create(sb, loc, sj, index(sb, blocks));
              Value j = arith::RemUIOp::create(sb, loc, sj, index(sb, blocks));
              Value slice = tensor::ExtractSliceOp::create(
                  sb, loc, blockType, x,
                  SmallVector<OpFoldResult>{sb.getIndexAttr(0),
                                            times(sb, j, block)},
                  SmallVector<OpFoldResult>{sb.getIndexAttr(batch),
                                            sb.getIndexAttr(block)},
                  unitStrides);
              auto [list, count] =
                  compactNonZero(l, sb, slice, plus(sb, first, s), state[0],
                                 times(sb, sj, block));
              Value countsNext = tensor::InsertOp::create(
                  sb, loc, count, state[1], ValueRange{sj});
              scf::YieldOp::create(sb, loc, ValueRange{list, countsNext});
            });
        Value list = compacted.getResult(0), count = compacted.getResult(1);
        // Output tile, block of inputs, sample: the block's rows of the tile's
        // columns of Wᵀ stay in the first-level cache for the chunk's samples.
        auto tiles = scf::ForOp::create(
            cb, loc, index(cb, 0), index(cb, out), index(cb, tile),
            ValueRange{chunkState[0]},
            [&](OpBuilder &tb, Location, Value o, ValueRange tileState) {
              auto perBlock =
                  loop(tb, blocks, ValueRange{tileState[0]},
                       [&](OpBuilder &jb, Value j, ValueRange blockState) {
                         Value offset = times(jb, j, block);
                         auto samples = loop(
                             jb, kMaskedChunk, ValueRange{blockState[0]},
                             [&](OpBuilder &sb, Value s, ValueRange accState) {
                               Value sj = plus(sb, times(sb, s, blocks), j);
                               scf::YieldOp::create(
                                   sb, loc,
                                   sumListedRows(
                                       l, sb, x, transposed, accState[0],
                                       plus(sb, first, s), o, parts, list,
                                       times(sb, sj, block), offset,
                                       tensor::ExtractOp::create(
                                           sb, loc, count, ValueRange{sj})));
                             });
                         scf::YieldOp::create(jb, loc, samples.getResult(0));
                       });
              scf::YieldOp::create(tb, loc, perBlock.getResult(0));
            });
        scf::YieldOp::create(cb, loc, tiles.getResult(0));
      });
  l.markParallel(chunks);
  return chunks.getResult(0);
}

Value lowerSpikeLinearOp(Lowering &l, LinearOp op) {
  auto [init, transposed] = linearOperands(l, op);
  return lowerSpikeLinear(l, op.getInput(), transposed, init);
}

/// y = x Wᵀ + b for a few dense samples, on W itself: for every sample and
/// block of four outputs (two, or one, where four do not divide them), one
/// vector of partial sums per output runs over the inputs (each x vector
/// loaded serves the block's rows of W), and the lanes are summed at the
/// end. Wᵀ would cost as much to form, per call, as
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
  int64_t rowsPerBlock = out % 4 == 0 ? 4 : out % 2 == 0 ? 2 : 1;
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
          // From the latest value: reading `state` after an insert into it
          // would make bufferization copy the whole output per insert.
          Value bias = tensor::ExtractOp::create(nb, loc, result,
                                                 ValueRange{sample, at});
          Value total = vector::ReductionOp::create(
              nb, loc, vector::CombiningKind::ADD, sums.getResult(s));
          result = tensor::InsertOp::create(
              nb, loc, arith::AddFOp::create(nb, loc, bias, total), result,
              ValueRange{sample, at});
        }
        return result;
      });
}

/// The register-blocked form's shape: batch a multiple of its 4 samples,
/// outputs of whole vectors.
bool fitsDenseTile(LinearOp op, unsigned vectorBits) {
  return op.getType().getDimSize(0) % 4 == 0 &&
         op.getType().getDimSize(1) % (vectorBits / 32) == 0;
}

/// The dot form applies where the register-blocked one does not (batch not
/// a multiple of 4, or outputs not whole vectors, as a readout's 10 classes,
/// which the contraction would sum one scalar term and store at a time), to
/// dense inputs whose width is whole vectors.
bool fitsDenseDot(LinearOp op, unsigned vectorBits) {
  return !fitsDenseTile(op, vectorBits) &&
         op.getInput().getType().getDimSize(1) % (vectorBits / 32) == 0;
}

/// Four samples x up to five vectors of outputs with AVX-512 (20
/// accumulators and 5 weight vectors in its 32 registers), up to three with
/// AVX2 (12 and 3 in its 16).
int64_t maxDenseParts(unsigned vectorBits) { return vectorBits >= 512 ? 5 : 3; }

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
  addLowering<LinearOp>(
      patterns, options, single(lowerMaskedLinearOp),
      [vectorBits = options.vectorBits](LinearOp op) {
        return fitsMaskedLinear(op, vectorBits);
      },
      /*benefit=*/3);
}
