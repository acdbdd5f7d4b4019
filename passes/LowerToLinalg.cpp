//===- LowerToLinalg.cpp - fsnn inference ops to linalg/tensor/scf --------===//

#include "passes/LoweringBuilders.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::fsnn {
#define GEN_PASS_DEF_CONVERTFSNNTOLINALGPASS
#include "passes/Passes.h.inc"
} // namespace mlir::fsnn

using namespace mlir;
using namespace mlir::fsnn;
using namespace mlir::fsnn::lowering;

namespace {

using utils::IteratorType;

/// Marks a linear or conv map whose input is a spike tensor (0/1 values):
/// its lowering then only visits the neurons that fired.
constexpr StringLiteral kSpikeInput = "fsnn.spike_input";
//===----------------------------------------------------------------------===//
// Maps
//===----------------------------------------------------------------------===//

/// The event-driven core shared by linear maps and convolutions on spikes:
/// loops over every element of `spikes` (row-major, the accumulator carried)
/// and, where the spike is not 0, adds spike x `weights`[weightAt(ivs)] into
/// the window of `acc` at accAt(ivs). Both windows have `windowType`. For a
/// fixed output, contributions arrive in input order and silent neurons
/// would only add 0, so the result is the dense one, bit for bit.
Value scatterSpikes(
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

/// The lanes of one vector register tile (16 floats: one AVX-512 register,
/// two AVX2 ones).
constexpr int64_t kLanes = 16;

/// The widest output tile (a multiple of kLanes floats, at most 128, dividing
/// `out`) whose accumulator fits in vector registers, or 0.
int64_t registerTile(int64_t out) {
  for (int64_t tile = 128; tile >= 16; tile -= 16)
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
Value lowerSpikeLinearTiled(Lowering &l, LinearOp op, Value transposed,
                            Value init, int64_t tile) {
  OpBuilder &b = l.b;
  Location loc = l.loc;
  Value spikes = op.getInput();
  RankedTensorType sType = l.typeOf(spikes);
  Type element = sType.getElementType();
  int64_t batch = sType.getDimSize(0), in = sType.getDimSize(1),
          out = l.typeOf(transposed).getDimSize(1);
  auto index = [&](OpBuilder &nb, int64_t v) {
    return indexConstant(nb, loc, v);
  };
  auto laneType = VectorType::get({kLanes}, element);
  Value fired0 =
      tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{in}, b.getIndexType());
  auto samples = scf::ForOp::create(
      b, loc, index(b, 0), index(b, batch), index(b, 1),
      ValueRange{init, fired0},
      [&](OpBuilder &sb, Location, Value n, ValueRange sampleState) {
        Value zero = floatConstant(sb, loc, element, 0.0);
        auto compact = scf::ForOp::create(
            sb, loc, index(sb, 0), index(sb, in), index(sb, 1),
            ValueRange{sampleState[1], index(sb, 0)},
            [&](OpBuilder &cb, Location, Value i, ValueRange list) {
              Value spike =
                  tensor::ExtractOp::create(cb, loc, spikes, ValueRange{n, i});
              Value stored = tensor::InsertOp::create(cb, loc, i, list[0],
                                                      ValueRange{list[1]});
              Value fired = arith::CmpFOp::create(
                  cb, loc, arith::CmpFPredicate::UNE, spike, zero);
              Value next = arith::SelectOp::create(
                  cb, loc, fired,
                  arith::AddIOp::create(cb, loc, list[1], index(cb, 1)),
                  list[1]);
              scf::YieldOp::create(cb, loc, ValueRange{stored, next});
            });
        Value firedList = compact.getResult(0), count = compact.getResult(1);
        auto tiles = scf::ForOp::create(
            sb, loc, index(sb, 0), index(sb, out), index(sb, tile),
            ValueRange{sampleState[0]},
            [&](OpBuilder &tb, Location, Value o, ValueRange accState) {
              // The tile is carried by the loop as several kLanes-wide
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
                      updated.push_back(arith::AddFOp::create(
                          kb, loc, partial[p],
                          arith::MulFOp::create(kb, loc, spikeLanes, row)));
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
        scf::YieldOp::create(sb, loc,
                             ValueRange{tiles.getResult(0), firedList});
      });
  return samples.getResult(0);
}

/// y = x Wᵀ + b for dense x, register-blocked: every block of kSamples
/// samples and `tile` outputs is carried in kSamples x tile/kLanes vector
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
  return blocks.getResult(0);
}

/// y = s Wᵀ + b for spikes s: for every sample, the rows of Wᵀ of the
/// neurons that fired are added to the output row.
Value lowerSpikeLinear(Lowering &l, LinearOp op, Value transposed, Value init) {
  int64_t out = l.typeOf(transposed).getDimSize(1);
  if (int64_t tile = registerTile(out))
    return lowerSpikeLinearTiled(l, op, transposed, init, tile);
  auto rowType =
      RankedTensorType::get({1, out}, l.typeOf(init).getElementType());
  return scatterSpikes(
      l, op.getInput(), transposed, init, rowType,
      [](OpBuilder &b, ValueRange ivs) {
        return SmallVector<OpFoldResult>{ivs[0], b.getIndexAttr(0)};
      },
      [](OpBuilder &b, ValueRange ivs) {
        return SmallVector<OpFoldResult>{ivs[1], b.getIndexAttr(0)};
      });
}

Value lowerLinear(Lowering &l, LinearOp op) {
  RankedTensorType type = op.getType();
  Value init = l.initWithBias(type, op.getBias(), 1);
  // Wᵀ, so that the innermost loop runs over contiguous outputs and weights
  // (and vectorizes without reassociating a sum). It depends only on the
  // weight, so loop-invariant code motion takes it out of the time loop.
  Value transposed = l.transposed(op.getWeight());
  if (l.gpu)
    // Loops (b, o, i): one thread per output, summing in the order of i.
    return l.generic(
        type, ValueRange{op.getInput(), transposed}, init,
        {l.pick(3, {0, 2}), l.pick(3, {2, 1}), l.pick(3, {0, 1})},
        {kPar, kPar, kRed}, [](OpBuilder &nb, Location nl, ValueRange a) {
          Value product = arith::MulFOp::create(nb, nl, a[0], a[1]);
          return (Value)arith::AddFOp::create(nb, nl, a[2], product);
        });
  if (op->hasAttr(kSpikeInput))
    return lowerSpikeLinear(l, op, transposed, init);
  // Four samples x up to five 16-lane vectors of outputs: 20 accumulators
  // and 5 weight vectors fit the 32 vector registers of AVX-512.
  if (type.getDimSize(0) % 4 == 0 && type.getDimSize(1) % kLanes == 0) {
    int64_t vectors = type.getDimSize(1) / kLanes;
    for (int64_t parts : {5, 4, 3, 2, 1})
      if (vectors % parts == 0)
        return lowerDenseLinearTiled(l, op, transposed, init, parts * kLanes);
  }
  // Loops (b, i, o): y[b, o] += x[b, i] * Wᵀ[i, o], each output summed in
  // the order of i, as the reference does.
  return l.generic(type, ValueRange{op.getInput(), transposed}, init,
                   {l.pick(3, {0, 1}), l.pick(3, {1, 2}), l.pick(3, {0, 2})},
                   {kPar, kRed, kPar},
                   [](OpBuilder &nb, Location nl, ValueRange a) {
                     Value product = arith::MulFOp::create(nb, nl, a[0], a[1]);
                     return (Value)arith::AddFOp::create(nb, nl, a[2], product);
                   });
}

/// A stride-1 conv of spikes, event-driven: every input neuron that fired
/// adds its channel's flipped kernel into a K x K window of a padded output.
/// For a fixed output the contributions arrive in (c, kh, kw) order, as in
/// the dense conv, and silent neurons only add 0: the result is the dense
/// one, bit for bit.
Value lowerSpikeConv2D(Lowering &l, Conv2DOp op) {
  OpBuilder &b = l.b;
  Location loc = l.loc;
  RankedTensorType inType = l.typeOf(op.getInput());
  RankedTensorType wType = l.typeOf(op.getWeight());
  RankedTensorType type = op.getType();
  Type element = type.getElementType();
  int64_t batch = inType.getDimSize(0), channels = inType.getDimSize(1),
          height = inType.getDimSize(2), width = inType.getDimSize(3);
  int64_t out = wType.getDimSize(0), kh = wType.getDimSize(2),
          kw = wType.getDimSize(3);
  int64_t shiftH = kh - 1 - op.getPadding()[0],
          shiftW = kw - 1 - op.getPadding()[1];
  // Wf[c, j, k, o] = W[o, c, K-1-j, K-1-k], output channels last so that
  // the window update runs over contiguous channels; it depends only on the
  // weight.
  auto d = [&](unsigned i) { return b.getAffineDimExpr(i); };
  auto flippedType = RankedTensorType::get({channels, kh, kw, out}, element);
  Value flipped = l.generic(
      flippedType, ValueRange{op.getWeight()}, l.empty(flippedType),
      {AffineMap::get(4, 0, {d(3), d(0), (kh - 1) - d(1), (kw - 1) - d(2)},
                      b.getContext()),
       l.identity(4)},
      {kPar, kPar, kPar, kPar},
      [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  // The accumulator is channels-last too: [n, y + K-1-p, x + K-1-p, o].
  auto paddedType = RankedTensorType::get(
      {batch, height + kh - 1, width + kw - 1, out}, element);
  Value padded = l.initWithBias(paddedType, op.getBias(), 3);
  auto windowType = RankedTensorType::get({1, kh, kw, out}, element);
  // A neuron (n, c, h, w) that fired adds Wf[c] at [n, h, w, 0].
  Value accumulated = scatterSpikes(
      l, op.getInput(), flipped, padded, windowType,
      [](OpBuilder &nb, ValueRange ivs) {
        return SmallVector<OpFoldResult>{ivs[0], ivs[2], ivs[3],
                                         nb.getIndexAttr(0)};
      },
      [](OpBuilder &nb, ValueRange ivs) {
        return SmallVector<OpFoldResult>{
            ivs[1], nb.getIndexAttr(0), nb.getIndexAttr(0), nb.getIndexAttr(0)};
      });
  // The output is the window of the padded accumulator the conv covers,
  // back in NCHW.
  auto windowOut = RankedTensorType::get(
      {batch, type.getDimSize(2), type.getDimSize(3), out}, element);
  SmallVector<OpFoldResult> offsets = {
      b.getIndexAttr(0), b.getIndexAttr(shiftH), b.getIndexAttr(shiftW),
      b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes;
  for (int64_t dim : windowOut.getShape())
    sizes.push_back(b.getIndexAttr(dim));
  Value nhwc = tensor::ExtractSliceOp::create(
      b, loc, windowOut, accumulated, offsets, sizes,
      SmallVector<OpFoldResult>(4, b.getIndexAttr(1)));
  return l.generic(type, ValueRange{nhwc}, l.empty(type),
                   {l.pick(4, {0, 2, 3, 1}), l.identity(4)},
                   {kPar, kPar, kPar, kPar},
                   [](OpBuilder &, Location, ValueRange a) { return a[0]; });
}

Value lowerConv2D(Lowering &l, Conv2DOp op) {
  ArrayRef<int64_t> pads = op.getPadding(), steps = op.getStrides();
  RankedTensorType kernelType = l.typeOf(op.getWeight());
  if (!l.gpu && op->hasAttr(kSpikeInput) && steps[0] == 1 && steps[1] == 1 &&
      pads[0] <= kernelType.getDimSize(2) - 1 &&
      pads[1] <= kernelType.getDimSize(3) - 1)
    return lowerSpikeConv2D(l, op);
  ArrayRef<int64_t> stride = op.getStrides();
  Value input = l.padSpatially(op.getInput(), op.getPadding());
  Value init = l.initWithBias(op.getType(), op.getBias(), 1);
  return l.convolution(input, op.getWeight(), init, stride[0], stride[1]);
}

/// ∂W[o, c, kh, kw] = Σ_{n, oh, ow} g[n, o, oh, ow] x_pad[n, c, oh·s + kh,
/// ow·s + kw]. At stride 1 on the input's row-major grid (see
/// Lowering::rowMajorConvolution): per weight, one sum over n and the grid
/// positions p, carried in a register; it may be reassociated (the order of
/// a weight gradient's terms is pinned by no oracle) and so vectorizes.
/// Other strides, and GPUs: a linalg contraction over (o, c, kh, kw, n, oh,
/// ow).
Value lowerConv2DFilterGrad(Lowering &l, Conv2DFilterGradOp op) {
  RankedTensorType type = op.getType();
  Type element = type.getElementType();
  ArrayRef<int64_t> stride = op.getStrides();
  Value input = l.padSpatially(op.getInput(), op.getPadding());
  auto d = [&](unsigned i) { return l.b.getAffineDimExpr(i); };
  MLIRContext *ctx = l.b.getContext();
  // On GPUs the contraction at every stride: one thread per weight.
  if (l.gpu || stride[0] != 1 || stride[1] != 1) {
    AffineMap inputMap = AffineMap::get(
        7, 0, {d(4), d(1), d(5) * stride[0] + d(2), d(6) * stride[1] + d(3)},
        ctx);
    return l.generic(
        type, ValueRange{input, op.getGrad()}, l.filled(type, 0.0),
        {inputMap, l.pick(7, {4, 0, 5, 6}), l.pick(7, {0, 1, 2, 3})},
        {kPar, kPar, kPar, kPar, kRed, kRed, kRed},
        [](OpBuilder &nb, Location nl, ValueRange a) {
          Value product = arith::MulFOp::create(nb, nl, a[0], a[1]);
          return (Value)arith::AddFOp::create(nb, nl, a[2], product);
        });
  }
  RankedTensorType padded = l.typeOf(input), gType = l.typeOf(op.getGrad());
  int64_t n = padded.getDimSize(0), c = padded.getDimSize(1);
  int64_t wp = padded.getDimSize(3), hp = padded.getDimSize(2);
  int64_t o = gType.getDimSize(1), ho = gType.getDimSize(2),
          wo = gType.getDimSize(3);
  int64_t kh = type.getDimSize(2), kw = type.getDimSize(3);
  int64_t positions = (ho - 1) * wp + wo;
  Location loc = l.loc;
  Value flatInput = tensor::CollapseShapeOp::create(
      l.b, loc, RankedTensorType::get({n, c, hp * wp}, element), input,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
  // The gradient on the grid, 0 at the positions between rows.
  auto gridType = RankedTensorType::get({n, o, positions}, element);
  Value grad = op.getGrad();
  Value grid = l.generic(
      gridType, ValueRange{}, l.empty(gridType), {l.identity(3)},
      {kPar, kPar, kPar}, [&](OpBuilder &nb, Location nl, ValueRange) {
        Value p = linalg::IndexOp::create(nb, nl, 2);
        Value width = indexConstant(nb, nl, wp);
        Value row = arith::DivUIOp::create(nb, nl, p, width);
        Value column = arith::RemUIOp::create(nb, nl, p, width);
        Value inside = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult,
                                             column, indexConstant(nb, nl, wo));
        Value clamped = arith::MinUIOp::create(nb, nl, column,
                                               indexConstant(nb, nl, wo - 1));
        Value value = tensor::ExtractOp::create(
            nb, nl, grad,
            ValueRange{linalg::IndexOp::create(nb, nl, 0),
                       linalg::IndexOp::create(nb, nl, 1), row, clamped});
        return (Value)arith::SelectOp::create(
            nb, nl, inside, value, floatConstant(nb, nl, element, 0.0));
      });
  auto flags = reassociable(ctx);
  // Loops (o, c, kh, kw) over the weight, each with a sum over (n, p).
  return carriedLoopNest(
      l.b, loc, {o, c, kh, kw}, l.empty(type),
      [&](OpBuilder &nb, ValueRange ivs, Value result) -> Value {
        SmallVector<Value> weightAt(ivs);
        Value shift = arith::AddIOp::create(
            nb, loc,
            arith::MulIOp::create(nb, loc, weightAt[2],
                                  indexConstant(nb, loc, wp)),
            weightAt[3]);
        Value sum = carriedLoopNest(
            nb, loc, {n, positions}, floatConstant(nb, loc, element, 0.0),
            [&](OpBuilder &pb, ValueRange at, Value acc) -> Value {
              Value sample = at[0], p = at[1];
              Value gv = tensor::ExtractOp::create(
                  pb, loc, grid, ValueRange{sample, weightAt[0], p});
              Value xv = tensor::ExtractOp::create(
                  pb, loc, flatInput,
                  ValueRange{sample, weightAt[1],
                             arith::AddIOp::create(pb, loc, p, shift)});
              Value product = arith::MulFOp::create(pb, loc, gv, xv, flags);
              return arith::AddFOp::create(pb, loc, acc, product, flags);
            });
        return tensor::InsertOp::create(nb, loc, sum, result, weightAt);
      });
}

FailureOr<Value> lowerConvTranspose2D(Lowering &l, ConvTranspose2DOp op) {
  // The adjoint of a strided conv: dilate the input by the stride, pad it by
  // k - 1 - p (plus output_padding at the end), and convolve with stride 1
  // and the flipped kernel, whose in/out channels swap.
  RankedTensorType inType = l.typeOf(op.getInput());
  RankedTensorType wType = l.typeOf(op.getWeight());
  ArrayRef<int64_t> pad = op.getPadding(), stride = op.getStrides(),
                    extra = op.getOutputPadding();
  int64_t kh = wType.getDimSize(2), kw = wType.getDimSize(3);
  int64_t lowH = kh - 1 - pad[0], lowW = kw - 1 - pad[1];
  if (lowH < 0 || lowW < 0) {
    op.emitOpError() << "padding larger than kernel - 1 is not supported by "
                        "the CPU lowering yet";
    return failure();
  }
  SmallVector<int64_t> shape(inType.getShape());
  shape[2] = (shape[2] - 1) * stride[0] + 1 + lowH + lowH + extra[0];
  shape[3] = (shape[3] - 1) * stride[1] + 1 + lowW + lowW + extra[1];
  Value dilated = l.embed(op.getInput(),
                          RankedTensorType::get(shape, inType.getElementType()),
                          {0, 0, lowH, lowW}, {1, 1, stride[0], stride[1]});
  // The flipped kernel as an OIHW tensor: F[o, c, i, j] = W[c, o, K-1-i,
  // K-1-j] (a separate generic: a convolution whose filter map flips the
  // window loops would not let linalg infer their extents).
  auto d = [&](unsigned i) { return l.b.getAffineDimExpr(i); };
  RankedTensorType flippedType =
      RankedTensorType::get({wType.getDimSize(1), wType.getDimSize(0), kh, kw},
                            wType.getElementType());
  AffineMap flipMap = AffineMap::get(
      4, 0, {d(1), d(0), (kh - 1) - d(2), (kw - 1) - d(3)}, l.b.getContext());
  Value flipped =
      l.generic(flippedType, ValueRange{op.getWeight()}, l.empty(flippedType),
                {flipMap, l.identity(4)}, {kPar, kPar, kPar, kPar},
                [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  Value init = l.initWithBias(op.getType(), op.getBias(), 1);
  return l.convolution(dilated, flipped, init, 1, 1);
}

/// x * (gamma * rsqrt(var + eps)) + (beta - mean * gamma * rsqrt(var + eps)),
/// per channel (dimension 1).
Value lowerBatchNorm(Lowering &l, BatchNormOp op) {
  RankedTensorType type = op.getType();
  unsigned rank = type.getRank();
  double eps = op.getEpsilon().convertToDouble();
  Type element = type.getElementType();
  return l.generic(type,
                   ValueRange{op.getInput(), op.getGamma(), op.getBeta(),
                              op.getMean(), op.getVariance()},
                   l.empty(type),
                   {l.identity(rank), l.pick(rank, {1}), l.pick(rank, {1}),
                    l.pick(rank, {1}), l.pick(rank, {1}), l.identity(rank)},
                   SmallVector<IteratorType>(rank, kPar),
                   [&](OpBuilder &nb, Location nl, ValueRange a) {
                     Value scale =
                         batchNormScale(nb, nl, element, eps, a[1], a[4]);
                     return batchNormApply(nb, nl, a[0], a[3], scale, a[2]);
                   });
}

void lowerFoldBatchNorm(Lowering &l, FoldBatchNormOp op,
                        SmallVectorImpl<Value> &results) {
  RankedTensorType wType = l.typeOf(op.getWeight());
  RankedTensorType bType = l.typeOf(op.getFoldedBias());
  unsigned rank = wType.getRank();
  Type element = wType.getElementType();
  double eps = op.getEpsilon().convertToDouble();
  results.push_back(l.generic(
      wType, ValueRange{op.getWeight(), op.getGamma(), op.getVariance()},
      l.empty(wType),
      {l.identity(rank), l.pick(rank, {0}), l.pick(rank, {0}),
       l.identity(rank)},
      SmallVector<IteratorType>(rank, kPar),
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        return (Value)arith::MulFOp::create(
            nb, nl, a[0], batchNormScale(nb, nl, element, eps, a[1], a[2]));
      }));
  Value bias = op.getBias() ? op.getBias() : l.filled(bType, 0.0);
  results.push_back(l.generic(
      bType,
      ValueRange{bias, op.getGamma(), op.getBeta(), op.getMean(),
                 op.getVariance()},
      l.empty(bType),
      {l.identity(1), l.identity(1), l.identity(1), l.identity(1),
       l.identity(1), l.identity(1)},
      {kPar}, [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value scale = batchNormScale(nb, nl, element, eps, a[1], a[4]);
        return batchNormApply(nb, nl, a[0], a[3], scale, a[2]);
      }));
}

void lowerSpectralWeight(Lowering &l, SpectralWeightOp op,
                         SmallVectorImpl<Value> &results) {
  RankedTensorType vType = l.typeOf(op.getWeight());
  RankedTensorType scalar = l.typeOf(op.getSigma());
  unsigned rank = vType.getRank();
  Type element = vType.getElementType();
  // σ̂ = uᵀ (V_mat v), in two stages like the reference: a sum of a few
  // hundred terms per stage, not one float32 sum over all of V (whose
  // rounding, through W_eff, shifts every feedback current).
  AffineMap vMap = l.trailingColumn(vType);
  AffineMap scalarMap = AffineMap::get(rank, 0, {}, l.b.getContext());
  auto rowsType =
      RankedTensorType::get({vType.getDimSize(0)}, vType.getElementType());
  SmallVector<IteratorType> rowIterators(rank, kRed);
  rowIterators[0] = kPar;
  auto multiplyAdd = [](OpBuilder &nb, Location nl, ValueRange a) {
    Value product = arith::MulFOp::create(nb, nl, a[0], a[1]);
    return (Value)arith::AddFOp::create(nb, nl, a[2], product);
  };
  Value vv = l.generic(
      rowsType, ValueRange{op.getWeight(), op.getV()}, l.filled(rowsType, 0.0),
      {l.identity(rank), vMap, l.pick(rank, {0})}, rowIterators, multiplyAdd);
  Value sigma =
      l.generic(scalar, ValueRange{op.getU(), vv}, l.filled(scalar, 0.0),
                {l.identity(1), l.identity(1),
                 AffineMap::get(1, 0, {}, l.b.getContext())},
                {kRed}, multiplyAdd);
  // W = clamp(g, -1, 1) * V / σ̂
  Value weight = l.generic(
      vType, ValueRange{op.getWeight(), op.getScale(), sigma}, l.empty(vType),
      {l.identity(rank), scalarMap, scalarMap, l.identity(rank)},
      SmallVector<IteratorType>(rank, kPar),
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value one = floatConstant(nb, nl, element, 1.0);
        Value minusOne = floatConstant(nb, nl, element, -1.0);
        Value g = arith::MinimumFOp::create(
            nb, nl, arith::MaximumFOp::create(nb, nl, a[1], minusOne), one);
        return (Value)arith::MulFOp::create(
            nb, nl, a[0], arith::DivFOp::create(nb, nl, g, a[2]));
      });
  results.push_back(weight);
  results.push_back(sigma);
}

Value lowerClampRate(Lowering &l, ClampRateOp op) {
  RankedTensorType type = op.getType();
  unsigned rank = type.getRank();
  Type element = type.getElementType();
  double inverse = 1.0 / op.getThreshold().convertToDouble();
  return l.generic(
      type, ValueRange{op.getInput()}, l.empty(type),
      {l.identity(rank), l.identity(rank)},
      SmallVector<IteratorType>(rank, kPar),
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        auto c = [&](double v) { return floatConstant(nb, nl, element, v); };
        Value z = arith::MulFOp::create(nb, nl, a[0], c(inverse));
        return (Value)arith::MinimumFOp::create(
            nb, nl, arith::MaximumFOp::create(nb, nl, z, c(0.0)), c(1.0));
      });
}

Value lowerAvgPool(Lowering &l, AvgPool2DOp op) {
  RankedTensorType type = op.getType();
  ArrayRef<int64_t> kernel = op.getKernel(), stride = op.getStrides();
  auto d = [&](unsigned i) { return l.b.getAffineDimExpr(i); };
  // Loops (n, c, kh, kw, oh, ow), the output's spatial loops innermost; on
  // GPUs (n, c, oh, ow, kh, kw), one thread per output.
  SmallVector<unsigned> loops = l.gpu ? SmallVector<unsigned>{0, 1, 4, 5, 2, 3}
                                      : SmallVector<unsigned>{0, 1, 2, 3, 4, 5};
  auto loop = [&](unsigned role) { return d(loops[role]); };
  AffineMap inputMap =
      AffineMap::get(6, 0,
                     {loop(0), loop(1), loop(4) * stride[0] + loop(2),
                      loop(5) * stride[1] + loop(3)},
                     l.b.getContext());
  SmallVector<IteratorType> iterators(6, kPar);
  iterators[loops[2]] = iterators[loops[3]] = kRed;
  double scale = 1.0 / double(kernel[0] * kernel[1]);
  Type element = type.getElementType();
  // The kernel's extent comes from a dummy window operand.
  Value window =
      l.empty(RankedTensorType::get({kernel[0], kernel[1]}, element));
  return l.generic(type, ValueRange{op.getInput(), window}, l.filled(type, 0.0),
                   {inputMap, l.pick(6, {loops[2], loops[3]}),
                    l.pick(6, {loops[0], loops[1], loops[4], loops[5]})},
                   iterators, [&](OpBuilder &nb, Location nl, ValueRange a) {
                     Value s = floatConstant(nb, nl, element, scale);
                     return (Value)arith::AddFOp::create(
                         nb, nl, a[2], arith::MulFOp::create(nb, nl, a[0], s));
                   });
}

Value lowerFlatten(Lowering &l, FlattenOp op) {
  unsigned rank = l.typeOf(op.getInput()).getRank();
  ReassociationIndices rest;
  for (unsigned i = 1; i < rank; ++i)
    rest.push_back(i);
  SmallVector<ReassociationIndices> groups = {{0}, rest};
  return tensor::CollapseShapeOp::create(l.b, l.loc, op.getType(),
                                         op.getInput(), groups);
}

//===----------------------------------------------------------------------===//
// The simulation
//===----------------------------------------------------------------------===//

/// Clones the single-block `region` at the builder's insertion point with its
/// argument bound to `argument`; returns the yielded value.
Value inlineMap(OpBuilder &b, Region &region, Value argument,
                bool argumentIsSpikes = false) {
  Block &block = region.front();
  IRMapping mapping;
  mapping.map(block.getArgument(0), argument);
  for (Operation &op : block.without_terminator()) {
    Operation *clone = b.clone(op, mapping);
    if (argumentIsSpikes && isa<LinearOp, Conv2DOp>(clone) &&
        op.getOperand(0) == block.getArgument(0))
      clone->setAttr(kSpikeInput, b.getUnitAttr());
  }
  auto yield = cast<YieldOp>(block.getTerminator());
  return mapping.lookup(yield.getValues()[0]);
}

/// One step of a neuron: v = u + I; spike at v >= V_th; reset by
/// subtraction (or to zero); leak; the rate accumulator and the spike count.
struct NeuronStep {
  Value potential, spike, accumulator, count;
};
NeuronStep neuronStep(OpBuilder &nb, Location nl, NeuronAttr neuron, Value u,
                      Value current, Value acc, Value count) {
  double vth = neuron.getThresholdValue();
  double leak = neuron.getLeakValue();
  bool resetToZero = neuron.getReset() == ResetMode::Zero;
  Type element = u.getType();
  auto constant = [&](double value) {
    return floatConstant(nb, nl, element, value);
  };
  Value v = arith::AddFOp::create(nb, nl, u, current);
  Value fired = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OGE, v,
                                      constant(vth));
  Value spike = arith::UIToFPOp::create(nb, nl, element, fired);
  Value reset =
      resetToZero
          ? (Value)arith::MulFOp::create(
                nb, nl, v, arith::SubFOp::create(nb, nl, constant(1.0), spike))
          : (Value)arith::SubFOp::create(
                nb, nl, v, arith::MulFOp::create(nb, nl, spike, constant(vth)));
  Value uNext =
      leak == 1.0 ? reset
                  : (Value)arith::MulFOp::create(nb, nl, reset, constant(leak));
  Value accNext =
      leak == 1.0
          ? (Value)arith::AddFOp::create(nb, nl, acc, spike)
          : (Value)arith::AddFOp::create(
                nb, nl, arith::MulFOp::create(nb, nl, acc, constant(leak)),
                spike);
  Value countNext = arith::AddIOp::create(
      nb, nl, count, arith::ExtUIOp::create(nb, nl, count.getType(), fired));
  return {uNext, spike, accNext, countNext};
}

/// The feedback layer's map when the simulation can run as one GPU kernel:
/// one layer, static input, a feedback map that is a linear map on the
/// spikes (its weight from outside), in training followed by dropout, and a
/// batch x N state whose N neurons one block of threads covers.
/// The rates are the (λ-weighted) average of the spikes, Σ λ^(T-t) s[t] /
/// Σ λ^k: the denominator.
double rateNormaliser(int64_t steps, double leak) {
  double normaliser = 0, weight = 1;
  for (int64_t k = 0; k < steps; ++k) {
    normaliser += weight;
    weight *= leak;
  }
  return normaliser;
}

struct FusableFeedback {
  LinearOp linear;
  /// The training step's dropout of the feedback current, if any.
  DropoutOp dropout;
};

FusableFeedback fusableFeedback(FeedbackOp op) {
  if (op.getNumLayers() != 1 || op.getInputKind() != InputKind::Static)
    return {};
  auto rates = cast<RankedTensorType>(op.getRates()[0].getType());
  if (rates.getRank() != 2 || !rates.hasStaticShape())
    return {};
  Block &body = op.getFeedback().front();
  auto ops =
      llvm::to_vector(llvm::make_pointer_range(body.without_terminator()));
  if (ops.empty() || ops.size() > 2)
    return {};
  auto linear = dyn_cast<LinearOp>(ops[0]);
  DropoutOp dropout =
      ops.size() == 2 ? dyn_cast<DropoutOp>(ops[1]) : DropoutOp();
  if (!linear || linear.getInput() != body.getArgument(0) ||
      (ops.size() == 2 &&
       (!dropout || dropout.getInput() != linear.getResult())))
    return {};
  Value yielded = dropout ? dropout.getResult() : linear.getResult();
  if (body.getTerminator()->getOperand(0) != yielded)
    return {};
  for (Value parameter :
       SmallVector<Value>{linear.getWeight(), linear.getBias(),
                          dropout ? dropout.getMask() : Value()})
    if (parameter && op.getFeedback().isAncestor(parameter.getParentRegion()))
      return {};
  return {linear, dropout};
}

/// The whole simulation as one GPU kernel (the CPU's loop nest on a GPU
/// would launch every map at every step): one block per sample, threads
/// over its N neurons. Each step, a thread sums the feedback of the previous
/// step's spikes for its neurons, in the CPU's order (bias, then the inputs
/// in order), adds the static current and runs the neuron step; a barrier
/// separates the steps. Potentials, accumulators and counts stay in global
/// memory, one slot per neuron, and so do the two steps' spikes of a sample.
LogicalResult lowerFeedbackOnGPU(OpBuilder &b, FeedbackOp op,
                                 FusableFeedback map,
                                 SmallVectorImpl<Value> &results) {
  LinearOp feedback = map.linear;
  Location loc = op.getLoc();
  MLIRContext *ctx = b.getContext();
  Lowering l{b, loc};
  l.gpu = true;
  auto rateType = cast<RankedTensorType>(op.getRates()[0].getType());
  auto countType = cast<RankedTensorType>(op.getSpikeCounts()[0].getType());
  Type element = rateType.getElementType();
  int64_t batch = rateType.getDimSize(0), neurons = rateType.getDimSize(1);
  int64_t steps = static_cast<int64_t>(op.getTimeSteps());
  NeuronAttr neuron = op.getNeuron();
  double normaliser = rateNormaliser(steps, neuron.getLeakValue());

  Value current = inlineMap(b, op.getLayers()[0], op.getInput());
  Value transposed = l.transposed(feedback.getWeight());
  auto buffer = [&](Value tensor) -> Value {
    auto type = cast<RankedTensorType>(tensor.getType());
    return bufferization::ToBufferOp::create(
        b, loc, MemRefType::get(type.getShape(), type.getElementType()), tensor,
        UnitAttr::get(ctx));
  };
  Value currentBuffer = buffer(current);
  Value weights = buffer(transposed);
  Value bias = feedback.getBias() ? buffer(feedback.getBias()) : Value();
  Value mask = map.dropout ? buffer(map.dropout.getMask()) : Value();
  auto stateType = MemRefType::get({batch, neurons}, element);
  auto countBufferType =
      MemRefType::get({batch, neurons}, countType.getElementType());
  Value potentials = memref::AllocOp::create(b, loc, stateType);
  Value accumulators = memref::AllocOp::create(b, loc, stateType);
  Value rates = memref::AllocOp::create(b, loc, stateType);
  Value counts = memref::AllocOp::create(b, loc, countBufferType);

  // The spikes of the previous and the current step, per sample: read by
  // every thread of the sample's block (from L1), written by one each.
  // Global rather than shared memory: the buffer deallocation pipeline,
  // which runs after this, does not handle a launch's workgroup
  // attributions.
  Value spikeRows = memref::AllocOp::create(
      b, loc, MemRefType::get({batch, 2, neurons}, element));
  int64_t threads = std::min<int64_t>(1024, (neurons + 31) / 32 * 32);
  auto index = [&](OpBuilder &nb, int64_t v) {
    return indexConstant(nb, loc, v);
  };
  auto launch =
      gpu::LaunchOp::create(b, loc, index(b, batch), index(b, 1), index(b, 1),
                            index(b, threads), index(b, 1), index(b, 1));
  OpBuilder kb = OpBuilder::atBlockBegin(&launch.getBody().front());
  Value sample = launch.getBlockIds().x;
  Value thread = launch.getThreadIds().x;
  Value zero = floatConstant(kb, loc, element, 0.0);
  // for o = thread; o < N; o += threads
  auto overNeurons = [&](OpBuilder &nb,
                         function_ref<void(OpBuilder &, Value)> body) {
    scf::ForOp::create(nb, loc, thread, index(nb, neurons), index(nb, threads),
                       ValueRange{},
                       [&](OpBuilder &ib, Location, Value o, ValueRange) {
                         body(ib, o);
                         scf::YieldOp::create(ib, loc);
                       });
  };
  overNeurons(kb, [&](OpBuilder &ib, Value o) {
    memref::StoreOp::create(ib, loc, zero, potentials, ValueRange{sample, o});
    memref::StoreOp::create(ib, loc, zero, accumulators, ValueRange{sample, o});
    memref::StoreOp::create(
        ib, loc,
        arith::ConstantOp::create(
            ib, loc, IntegerAttr::get(countType.getElementType(), 0)),
        counts, ValueRange{sample, o});
    memref::StoreOp::create(ib, loc, zero, spikeRows,
                            ValueRange{sample, index(ib, 0), o});
  });
  gpu::BarrierOp::create(kb, loc);
  scf::ForOp::create(
      kb, loc, index(kb, 0), index(kb, steps), index(kb, 1), ValueRange{},
      [&](OpBuilder &tb, Location, Value t, ValueRange) {
        Value now = arith::RemUIOp::create(tb, loc, t, index(tb, 2));
        Value next = arith::SubIOp::create(tb, loc, index(tb, 1), now);
        Value first = arith::CmpIOp::create(tb, loc, arith::CmpIPredicate::eq,
                                            t, index(tb, 0));
        overNeurons(tb, [&](OpBuilder &ib, Value o) {
          Value init =
              bias ? (Value)memref::LoadOp::create(ib, loc, bias, ValueRange{o})
                   : zero;
          auto sum = scf::ForOp::create(
              ib, loc, index(ib, 0), index(ib, neurons), index(ib, 1),
              ValueRange{init},
              [&](OpBuilder &jb, Location, Value j, ValueRange acc) {
                Value s = memref::LoadOp::create(jb, loc, spikeRows,
                                                 ValueRange{sample, now, j});
                Value w =
                    memref::LoadOp::create(jb, loc, weights, ValueRange{j, o});
                Value product = arith::MulFOp::create(jb, loc, s, w);
                scf::YieldOp::create(jb, loc,
                                     ValueRange{arith::AddFOp::create(
                                         jb, loc, acc[0], product)});
              });
          Value fed = sum.getResult(0);
          if (mask)
            fed = arith::MulFOp::create(
                ib, loc, fed,
                memref::LoadOp::create(ib, loc, mask, ValueRange{sample, o}));
          // No feedback at step 1 (docs/method.md §1.3).
          Value gated = arith::SelectOp::create(ib, loc, first, zero, fed);
          Value input = memref::LoadOp::create(ib, loc, currentBuffer,
                                               ValueRange{sample, o});
          Value total = arith::AddFOp::create(ib, loc, input, gated);
          SmallVector<Value> at = {sample, o};
          NeuronStep step = neuronStep(
              ib, loc, neuron, memref::LoadOp::create(ib, loc, potentials, at),
              total, memref::LoadOp::create(ib, loc, accumulators, at),
              memref::LoadOp::create(ib, loc, counts, at));
          memref::StoreOp::create(ib, loc, step.potential, potentials, at);
          memref::StoreOp::create(ib, loc, step.accumulator, accumulators, at);
          memref::StoreOp::create(ib, loc, step.count, counts, at);
          memref::StoreOp::create(ib, loc, step.spike, spikeRows,
                                  ValueRange{sample, next, o});
        });
        gpu::BarrierOp::create(tb, loc);
        scf::YieldOp::create(tb, loc);
      });
  // Rates: the (λ-weighted) average, Σ λ^(T-t) s[t] / Σ λ^k.
  overNeurons(kb, [&](OpBuilder &ib, Value o) {
    SmallVector<Value> at = {sample, o};
    Value acc = memref::LoadOp::create(ib, loc, accumulators, at);
    memref::StoreOp::create(
        ib, loc,
        arith::MulFOp::create(
            ib, loc, acc, floatConstant(ib, loc, element, 1.0 / normaliser)),
        rates, at);
  });
  gpu::TerminatorOp::create(kb, loc);
  // The state buffers are freed by the buffer deallocation pipeline.
  results.push_back(bufferization::ToTensorOp::create(
      b, loc, rateType, rates, UnitAttr::get(ctx), UnitAttr::get(ctx)));
  results.push_back(bufferization::ToTensorOp::create(
      b, loc, countType, counts, UnitAttr::get(ctx), UnitAttr::get(ctx)));
  return success();
}

LogicalResult lowerFeedback(OpBuilder &b, FeedbackOp op,
                            SmallVectorImpl<Value> &results, bool gpu) {
  if (gpu)
    if (FusableFeedback map = fusableFeedback(op); map.linear)
      return lowerFeedbackOnGPU(b, op, map, results);
  Location loc = op.getLoc();
  Lowering l{b, loc};
  unsigned numLayers = op.getNumLayers();
  NeuronAttr neuron = op.getNeuron();
  double leak = neuron.getLeakValue();
  bool frames = op.getInputKind() == InputKind::SpikeFrames;
  int64_t steps = static_cast<int64_t>(op.getTimeSteps());

  SmallVector<RankedTensorType> rateTypes, countTypes;
  for (unsigned i = 0; i < numLayers; ++i) {
    rateTypes.push_back(cast<RankedTensorType>(op.getRates()[i].getType()));
    countTypes.push_back(
        cast<RankedTensorType>(op.getSpikeCounts()[i].getType()));
    if (!rateTypes.back().hasStaticShape())
      return op.emitOpError()
             << "the CPU lowering needs static shapes; import the model with "
                "a batch size";
  }
  // Static input: F(x) once, before the loop.
  Value staticCurrent;
  if (!frames)
    staticCurrent = inlineMap(b, op.getLayers()[0], op.getInput());

  // Loop state per layer: potential u, spikes s, accumulator acc, count n.
  SmallVector<Value> init;
  for (unsigned i = 0; i < numLayers; ++i) {
    init.push_back(l.filled(rateTypes[i], 0.0));
    init.push_back(l.filled(rateTypes[i], 0.0));
    init.push_back(l.filled(rateTypes[i], 0.0));
    Value zero = arith::ConstantOp::create(
        b, loc, countTypes[i],
        DenseElementsAttr::get(countTypes[i], b.getI32IntegerAttr(0)));
    init.push_back(zero);
  }
  Value lower = indexConstant(b, loc, 0);
  Value upper = indexConstant(b, loc, steps);
  Value one = indexConstant(b, loc, 1);
  auto loop = scf::ForOp::create(
      b, loc, lower, upper, one, init,
      [&](OpBuilder &lb, Location ll, Value t, ValueRange state) {
        Lowering in{lb, ll};
        SmallVector<Value> next;
        Value previousLast = state[4 * (numLayers - 1) + 1];
        for (unsigned i = 0; i < numLayers; ++i) {
          RankedTensorType type = rateTypes[i];
          Value u = state[4 * i], acc = state[4 * i + 2],
                count = state[4 * i + 3];
          // The terms of the input current, summed in this order.
          SmallVector<Value> current;
          if (i == 0) {
            if (frames) {
              // input[:, t] of a batch x T x ... tensor.
              RankedTensorType inType = in.typeOf(op.getInput());
              SmallVector<OpFoldResult> offsets(inType.getRank(),
                                                lb.getIndexAttr(0));
              offsets[1] = t;
              SmallVector<OpFoldResult> sizes,
                  strides(inType.getRank(), lb.getIndexAttr(1));
              for (int64_t d : inType.getShape())
                sizes.push_back(lb.getIndexAttr(d));
              sizes[1] = lb.getIndexAttr(1);
              SmallVector<int64_t> frameShape(inType.getShape());
              frameShape.erase(frameShape.begin() + 1);
              auto frameType =
                  RankedTensorType::get(frameShape, inType.getElementType());
              Value frame = tensor::ExtractSliceOp::create(
                  lb, ll, frameType, op.getInput(), offsets, sizes, strides);
              current.push_back(inlineMap(lb, op.getLayers()[0], frame));
            } else {
              current.push_back(staticCurrent);
            }
            // Feedback of the previous step's last-layer spikes; none at
            // step 1 (docs/method.md §1.3). The map runs at every step (at step
            // 1 on no spikes, which event-driven maps make cheap) and a
            // select drops it, so that its parameter-only work stays in the
            // loop body, where loop-invariant code motion can hoist it.
            Value feedback = inlineMap(lb, op.getFeedback(), previousLast,
                                       /*argumentIsSpikes=*/true);
            Value first = arith::CmpIOp::create(
                lb, ll, arith::CmpIPredicate::eq, t, indexConstant(lb, ll, 0));
            Value gated = arith::SelectOp::create(
                lb, ll, first, in.filled(type, 0.0), feedback);
            current.push_back(gated);
          } else {
            current.push_back(inlineMap(lb, op.getLayers()[i],
                                        next[4 * (i - 1) + 1],
                                        /*argumentIsSpikes=*/true));
          }
          // The whole neuron update in one elementwise pass: separate ops
          // would each write a temporary (an i1 one among them) per step.
          unsigned rank = type.getRank();
          SmallVector<AffineMap> maps(current.size() + 4, in.identity(rank));
          auto update = linalg::GenericOp::create(
              lb, ll, TypeRange{type, type, type, countTypes[i]}, current,
              ValueRange{u, in.empty(type), acc, count}, maps,
              SmallVector<IteratorType>(rank, kPar),
              [&](OpBuilder &nb, Location nl, ValueRange a) {
                size_t terms = current.size();
                Value sum = a[0];
                for (size_t k = 1; k < terms; ++k)
                  sum = arith::AddFOp::create(nb, nl, sum, a[k]);
                NeuronStep next = neuronStep(nb, nl, neuron, a[terms], sum,
                                             a[terms + 2], a[terms + 3]);
                linalg::YieldOp::create(nb, nl,
                                        ValueRange{next.potential, next.spike,
                                                   next.accumulator,
                                                   next.count});
              });
          Value uNext = update.getResult(0), spikes = update.getResult(1),
                accNext = update.getResult(2), countNext = update.getResult(3);
          next.append({uNext, spikes, accNext, countNext});
        }
        scf::YieldOp::create(lb, ll, next);
      });
  double normaliser = rateNormaliser(steps, leak);
  for (unsigned i = 0; i < numLayers; ++i)
    results.push_back(
        arith::MulFOp::create(b, loc, loop.getResult(4 * i + 2),
                              l.splat(rateTypes[i], 1.0 / normaliser)));
  for (unsigned i = 0; i < numLayers; ++i)
    results.push_back(loop.getResult(4 * i + 3));
  return success();
}

/// gpu.barrier declares no memory effects, and the ownership-based buffer
/// deallocation refuses ops whose effects it cannot know. A barrier orders
/// the block's reads and writes: it is said to read and write memory, which
/// keeps it in place and lets deallocation go on.
struct BarrierMemoryEffects
    : public MemoryEffectOpInterface::ExternalModel<BarrierMemoryEffects,
                                                    gpu::BarrierOp> {
  void
  getEffects(Operation *,
             SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
                 &effects) const {
    effects.emplace_back(MemoryEffects::Read::get());
    effects.emplace_back(MemoryEffects::Write::get());
  }
};

struct ConvertFSNNToLinalgPass
    : public fsnn::impl::ConvertFSNNToLinalgPassBase<ConvertFSNNToLinalgPass> {
  using Base::Base;

  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    registry.addExtension(+[](MLIRContext *ctx, gpu::GPUDialect *) {
      gpu::BarrierOp::attachInterface<BarrierMemoryEffects>(*ctx);
    });
  }

  void runOnOperation() override {
    if (target != "cpu" && target != "gpu") {
      getOperation()->emitError()
          << "convert-fsnn-to-linalg: target must be cpu or gpu, not '"
          << target << "'";
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    // The simulation first: it inlines the maps, whose fsnn ops the second
    // walk lowers wherever they end up.
    SmallVector<FeedbackOp> feedbacks;
    getOperation()->walk([&](FeedbackOp op) { feedbacks.push_back(op); });
    for (FeedbackOp op : feedbacks) {
      rewriter.setInsertionPoint(op);
      SmallVector<Value> results;
      if (failed(lowerFeedback(rewriter, op, results, target == "gpu")))
        return signalPassFailure();
      rewriter.replaceOp(op, results);
    }

    // The adjoint's solves inline their operator into a loop body, whose
    // fsnn ops the walk below lowers too.
    SmallVector<LinearFixedPointOp> solves;
    getOperation()->walk([&](LinearFixedPointOp op) { solves.push_back(op); });
    for (LinearFixedPointOp op : solves) {
      rewriter.setInsertionPoint(op);
      SmallVector<Value> results;
      if (failed(lowerLinearFixedPoint(rewriter, op, results,
                                       /*gpu=*/target == "gpu")))
        return signalPassFailure();
      rewriter.replaceOp(op, results);
    }

    SmallVector<Operation *> ops;
    // The regions of solves are maps for other passes to read, not code.
    getOperation()->walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (!isa<FSNNDialect>(op->getDialect()))
        return WalkResult::advance();
      ops.push_back(op);
      return isa<AdjointSolveOp, EquilibriumSolveOp>(op)
                 ? WalkResult::skip()
                 : WalkResult::advance();
    });
    for (Operation *op : ops) {
      rewriter.setInsertionPoint(op);
      Lowering l{rewriter, op->getLoc()};
      l.gpu = target == "gpu";
      SmallVector<Value> results;
      if (auto linear = dyn_cast<LinearOp>(op)) {
        results.push_back(lowerLinear(l, linear));
      } else if (auto conv = dyn_cast<Conv2DOp>(op)) {
        results.push_back(lowerConv2D(l, conv));
      } else if (auto filterGrad = dyn_cast<Conv2DFilterGradOp>(op)) {
        results.push_back(lowerConv2DFilterGrad(l, filterGrad));
      } else if (auto convT = dyn_cast<ConvTranspose2DOp>(op)) {
        FailureOr<Value> lowered = lowerConvTranspose2D(l, convT);
        if (failed(lowered))
          return signalPassFailure();
        results.push_back(*lowered);
      } else if (auto bn = dyn_cast<BatchNormOp>(op)) {
        results.push_back(lowerBatchNorm(l, bn));
      } else if (auto fold = dyn_cast<FoldBatchNormOp>(op)) {
        lowerFoldBatchNorm(l, fold, results);
      } else if (auto spectral = dyn_cast<SpectralWeightOp>(op)) {
        lowerSpectralWeight(l, spectral, results);
      } else if (auto clamp = dyn_cast<ClampRateOp>(op)) {
        results.push_back(lowerClampRate(l, clamp));
      } else if (auto pool = dyn_cast<AvgPool2DOp>(op)) {
        results.push_back(lowerAvgPool(l, pool));
      } else if (auto flatten = dyn_cast<FlattenOp>(op)) {
        results.push_back(lowerFlatten(l, flatten));
      } else {
        bool handled = false;
        if (failed(lowerTrainingOp(l, op, results, handled)))
          return signalPassFailure();
        if (!handled) {
          InFlightDiagnostic error =
              op->emitOpError() << "is not lowered by convert-fsnn-to-linalg";
          if (isa<AdjointSolveOp>(op))
            error << ": fsnn-generate-backward turns it into the adjoint's "
                     "linear fixed point first";
          return signalPassFailure();
        }
      }
      rewriter.replaceOp(op, results);
    }
  }
};

} // namespace
