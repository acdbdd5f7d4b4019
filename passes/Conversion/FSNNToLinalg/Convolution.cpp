//===- Convolution.cpp - conv, transposed conv, filter gradient, pooling
//----===//
//
// The conv family: the event-driven stride-1 conv of spikes (CPU), the conv
// as a contraction (row-major grid at stride 1 on CPUs), the weight
// gradient, the transposed conv (dilate, pad, flipped kernel) and average
// pooling.
//
//===----------------------------------------------------------------------===//

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "passes/Conversion/FSNNToLinalg/LoweringBuilders.h"

using namespace mlir;
using namespace mlir::fsnn;
using namespace mlir::fsnn::lowering;

Value Lowering::blockTransposed(Value matrix, Value rowScale) {
  RankedTensorType type = typeOf(matrix);
  Type element = type.getElementType();
  int64_t rows = type.getDimSize(0), columns = type.getDimSize(1);
  auto tType = RankedTensorType::get({columns, rows}, element);
  constexpr int64_t side = kTransposeBlock;
  auto rowType = VectorType::get({side}, element);
  auto blockType = VectorType::get({side, side}, element);
  SmallVector<bool> inBounds{true};
  return carriedLoopNest(
      b, loc, {rows / side, columns / side}, empty(tType),
      [&](OpBuilder &nb, ValueRange ivs, Value state) -> Value {
        Value i0 = arith::MulIOp::create(nb, loc, ivs[0],
                                         indexConstant(nb, loc, side));
        Value j0 = arith::MulIOp::create(nb, loc, ivs[1],
                                         indexConstant(nb, loc, side));
        auto plus = [&](Value v, int64_t k) {
          return arith::AddIOp::create(nb, loc, v, indexConstant(nb, loc, k))
              .getResult();
        };
        Value zero = floatConstant(nb, loc, element, 0.0);
        Value block = arith::ConstantOp::create(
            nb, loc, blockType,
            DenseElementsAttr::get(blockType, nb.getFloatAttr(element, 0.0)));
        for (int64_t k = 0; k < side; ++k) {
          Value row = vector::TransferReadOp::create(
              nb, loc, rowType, matrix, ValueRange{plus(i0, k), j0}, zero,
              ArrayRef<bool>(inBounds));
          if (rowScale)
            row = arith::MulFOp::create(
                nb, loc, row,
                vector::BroadcastOp::create(
                    nb, loc, rowType,
                    tensor::ExtractOp::create(nb, loc, rowScale,
                                              ValueRange{plus(i0, k)})));
          block = vector::InsertOp::create(nb, loc, row, block,
                                           ArrayRef<int64_t>{k});
        }
        Value flipped = vector::TransposeOp::create(nb, loc, block,
                                                    ArrayRef<int64_t>{1, 0});
        Value result = state;
        for (int64_t k = 0; k < side; ++k) {
          Value column =
              vector::ExtractOp::create(nb, loc, flipped, ArrayRef<int64_t>{k});
          result = vector::TransferWriteOp::create(nb, loc, column, result,
                                                   ValueRange{plus(j0, k), i0},
                                                   ArrayRef<bool>(inBounds))
                       .getResult();
        }
        return result;
      });
}

Value Lowering::tiledRowMajorConvolution(Value input, Value filter, Value init,
                                         int64_t sh, int64_t sw) {
  RankedTensorType inType = typeOf(input), outType = typeOf(init);
  RankedTensorType wType = typeOf(filter);
  Type element = outType.getElementType();
  int64_t n = inType.getDimSize(0), c = inType.getDimSize(1);
  int64_t hp = inType.getDimSize(2), wp = inType.getDimSize(3);
  int64_t o = wType.getDimSize(0), kh = wType.getDimSize(2),
          kw = wType.getDimSize(3);
  int64_t ho = outType.getDimSize(2), wo = outType.getDimSize(3);
  int64_t kLanes = lanes();
  int64_t parts = vectorBits >= 512 ? 5 : 3;
  int64_t tile = parts * kLanes;
  // The input as sh x sw phase planes (rows a, a + sh, ...; columns b,
  // b + sw, ...) of hq x wq, one after the other: tap (kh, kw) of output
  // (oh, ow) reads plane (kh % sh, kw % sw) at (oh + kh / sh, ow + kw / sw),
  // so on each plane's row-major grid every tap is a contiguous run of
  // positions, as at stride 1 (one plane).
  int64_t hq = (hp + sh - 1) / sh, wq = (wp + sw - 1) / sw;
  int64_t planeSize = hq * wq, planes = sh * sw;
  int64_t positions = (ho - 1) * wq + wo;
  // Whole tiles of grid positions: the positions past the last output are
  // computed and dropped, on zeros past the end of the input.
  int64_t gridSize = (positions + tile - 1) / tile * tile;
  int64_t lastTap = ((sh - 1) * sw + (sw - 1)) * planeSize +
                    ((kh - 1) / sh) * wq + (kw - 1) / sw;
  int64_t flatSize = std::max(planes * planeSize, gridSize + lastTap);
  auto index = [&](OpBuilder &nb, int64_t v) {
    return indexConstant(nb, loc, v);
  };
  auto flatType = RankedTensorType::get({n, c, flatSize}, element);
  Value flatInput = generic(
      flatType, ValueRange{}, empty(flatType), {identity(3)},
      {kPar, kPar, kPar}, [&](OpBuilder &nb, Location nl, ValueRange) {
        auto k = [&](int64_t v) { return indexConstant(nb, nl, v); };
        Value q = linalg::IndexOp::create(nb, nl, 2);
        Value plane = arith::DivUIOp::create(nb, nl, q, k(planeSize));
        Value within = arith::RemUIOp::create(nb, nl, q, k(planeSize));
        Value row = arith::AddIOp::create(
            nb, nl,
            arith::MulIOp::create(
                nb, nl, arith::DivUIOp::create(nb, nl, within, k(wq)), k(sh)),
            arith::DivUIOp::create(nb, nl, plane, k(sw)));
        Value column = arith::AddIOp::create(
            nb, nl,
            arith::MulIOp::create(
                nb, nl, arith::RemUIOp::create(nb, nl, within, k(wq)), k(sw)),
            arith::RemUIOp::create(nb, nl, plane, k(sw)));
        Value inside = arith::AndIOp::create(
            nb, nl,
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, plane,
                                  k(planes)),
            arith::AndIOp::create(
                nb, nl,
                arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, row,
                                      k(hp)),
                arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, column,
                                      k(wp))));
        Value value = tensor::ExtractOp::create(
            nb, nl, input,
            ValueRange{linalg::IndexOp::create(nb, nl, 0),
                       linalg::IndexOp::create(nb, nl, 1),
                       arith::MinUIOp::create(nb, nl, row, k(hp - 1)),
                       arith::MinUIOp::create(nb, nl, column, k(wp - 1))});
        return (Value)arith::SelectOp::create(
            nb, nl, inside, value, floatConstant(nb, nl, element, 0.0));
      });
  Value gridInit = initOnGrid(init, gridSize, wq);
  auto laneType = VectorType::get({kLanes}, element);
  SmallVector<bool> inBounds{true};
  auto offset = [&](OpBuilder &nb, Value base, int64_t by) {
    return arith::AddIOp::create(nb, loc, base, index(nb, by)).getResult();
  };
  // One carried loop over [0, bound) whose body maps the carried vectors.
  auto carried =
      [&](OpBuilder &nb, int64_t bound, ValueRange init,
          function_ref<SmallVector<Value>(OpBuilder &, Value, ValueRange)>
              body) {
        return scf::ForOp::create(
                   nb, loc, index(nb, 0), index(nb, bound), index(nb, 1), init,
                   [&](OpBuilder &lb, Location, Value iv, ValueRange state) {
                     scf::YieldOp::create(lb, loc, body(lb, iv, state));
                   })
            .getResults();
      };
  Value grid = carriedLoopNest(
      b, loc, {n, o / kConvTileChannels, gridSize / tile}, gridInit,
      [&](OpBuilder &tb, ValueRange ivs, Value state) -> Value {
        Value sample = ivs[0];
        Value o0 = arith::MulIOp::create(tb, loc, ivs[1],
                                         index(tb, kConvTileChannels));
        Value p0 = arith::MulIOp::create(tb, loc, ivs[2], index(tb, tile));
        Value zero = floatConstant(tb, loc, element, 0.0);
        SmallVector<Value> accumulators;
        for (int64_t s = 0; s < kConvTileChannels; ++s)
          for (int64_t part = 0; part < parts; ++part)
            accumulators.push_back(vector::TransferReadOp::create(
                tb, loc, laneType, state,
                ValueRange{sample, offset(tb, o0, s),
                           offset(tb, p0, part * kLanes)},
                zero, ArrayRef<bool>(inBounds)));
        ValueRange sums = carried(
            tb, c, accumulators,
            [&](OpBuilder &cb, Value channel, ValueRange perChannel) {
              return SmallVector<Value>(carried(
                  cb, kh, perChannel,
                  [&](OpBuilder &hb, Value r, ValueRange perRow) {
                    return SmallVector<Value>(carried(
                        hb, kw, perRow,
                        [&](OpBuilder &kb, Value q, ValueRange partial) {
                          // Plane (r % sh, q % sw), row r / sh, column
                          // q / sw of it.
                          auto div = [&](Value v, int64_t by) {
                            return arith::DivUIOp::create(kb, loc, v,
                                                          index(kb, by))
                                .getResult();
                          };
                          auto rem = [&](Value v, int64_t by) {
                            return arith::RemUIOp::create(kb, loc, v,
                                                          index(kb, by))
                                .getResult();
                          };
                          Value plane = arith::AddIOp::create(
                              kb, loc,
                              arith::MulIOp::create(kb, loc, rem(r, sh),
                                                    index(kb, sw)),
                              rem(q, sw));
                          Value shift = arith::AddIOp::create(
                              kb, loc,
                              arith::MulIOp::create(kb, loc, plane,
                                                    index(kb, planeSize)),
                              arith::AddIOp::create(
                                  kb, loc,
                                  arith::MulIOp::create(kb, loc, div(r, sh),
                                                        index(kb, wq)),
                                  div(q, sw)));
                          Value start =
                              arith::AddIOp::create(kb, loc, p0, shift);
                          SmallVector<Value> inputs;
                          for (int64_t part = 0; part < parts; ++part)
                            inputs.push_back(vector::TransferReadOp::create(
                                kb, loc, laneType, flatInput,
                                ValueRange{sample, channel,
                                           offset(kb, start, part * kLanes)},
                                floatConstant(kb, loc, element, 0.0),
                                ArrayRef<bool>(inBounds)));
                          SmallVector<Value> updated;
                          for (int64_t s = 0; s < kConvTileChannels; ++s) {
                            Value weight = tensor::ExtractOp::create(
                                kb, loc, filter,
                                ValueRange{offset(kb, o0, s), channel, r, q});
                            Value weights = vector::BroadcastOp::create(
                                kb, loc, laneType, weight);
                            for (int64_t part = 0; part < parts; ++part)
                              updated.push_back(arith::AddFOp::create(
                                  kb, loc, partial[s * parts + part],
                                  arith::MulFOp::create(kb, loc, weights,
                                                        inputs[part])));
                          }
                          return updated;
                        }));
                  }));
            });
        Value result = state;
        for (int64_t s = 0; s < kConvTileChannels; ++s)
          for (int64_t part = 0; part < parts; ++part)
            result = vector::TransferWriteOp::create(
                         tb, loc, sums[s * parts + part], result,
                         ValueRange{sample, offset(tb, o0, s),
                                    offset(tb, p0, part * kLanes)},
                         ArrayRef<bool>(inBounds))
                         .getResult();
        return result;
      });
  // Each sample's outputs are its own.
  markParallel(grid.getDefiningOp<scf::ForOp>());
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return b.getAffineDimExpr(i); };
  AffineMap fromGrid =
      AffineMap::get(4, 0, {d(0), d(1), d(2) * wq + d(3)}, ctx);
  return generic(outType, ValueRange{grid}, empty(outType),
                 {fromGrid, identity(4)}, {kPar, kPar, kPar, kPar},
                 [](OpBuilder &, Location, ValueRange a) { return a[0]; });
}

namespace {

using utils::IteratorType;

/// Scatters `spikes` (NCHW) into a channels-last accumulator initialised
/// with `bias`: a neuron (c, h, w) that fired adds spike x kernels[weightRow
/// (c, h, w)] (windowH x windowW x O) at rows/columns windowAt(h, w) of the
/// accumulator, which is then cropped at (cropH, cropW) to `type` (NCHW).
Value scatterConvolution(
    Lowering &l, Value spikes, Value kernels, Value bias, RankedTensorType type,
    int64_t accH, int64_t accW, int64_t cropH, int64_t cropW,
    function_ref<SmallVector<Value>(OpBuilder &, Value h, Value w)> windowAt,
    function_ref<Value(OpBuilder &, Value c, Value h, Value w)> weightRow,
    bool spikeValues = true) {
  OpBuilder &b = l.b;
  Location loc = l.loc;
  RankedTensorType kType = l.typeOf(kernels);
  Type element = type.getElementType();
  int64_t batch = type.getDimSize(0), out = type.getDimSize(1);
  auto paddedType = RankedTensorType::get({batch, accH, accW, out}, element);
  // Initialised in a buffer of its own (a bufferization.alloc_tensor, which
  // loop-invariant code motion leaves in place): a bias-filled tensor.empty
  // would be hoisted out of the time loop or the solver's iterations, and
  // bufferization would then copy it, serially, at every step (13 MB per
  // step on 64C5s).
  Value storage =
      bufferization::AllocTensorOp::create(b, loc, paddedType, ValueRange{});
  Value padded;
  if (!bias) {
    auto fill = linalg::FillOp::create(
        b, loc, ValueRange{floatConstant(b, loc, element, 0.0)},
        ValueRange{storage});
    l.markParallelIfLarge(fill);
    padded = fill.getResult(0);
  } else {
    padded =
        l.generic(paddedType, ValueRange{bias}, storage,
                  {l.pick(4, {3}), l.identity(4)}, {kPar, kPar, kPar, kPar},
                  [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  }
  auto windowType = RankedTensorType::get(
      {1, kType.getDimSize(1), kType.getDimSize(2), out}, element);
  Value accumulated = scatterSpikes(
      l, spikes, kernels, padded, windowType,
      [&](OpBuilder &nb, ValueRange ivs) {
        SmallVector<Value> at = windowAt(nb, ivs[2], ivs[3]);
        return SmallVector<OpFoldResult>{ivs[0], at[0], at[1],
                                         nb.getIndexAttr(0)};
      },
      [&](OpBuilder &nb, ValueRange ivs) {
        return SmallVector<OpFoldResult>{weightRow(nb, ivs[1], ivs[2], ivs[3]),
                                         nb.getIndexAttr(0), nb.getIndexAttr(0),
                                         nb.getIndexAttr(0)};
      },
      spikeValues);
  // The output is the window of the padded accumulator the map covers, back
  // in NCHW.
  auto windowOut = RankedTensorType::get(
      {batch, type.getDimSize(2), type.getDimSize(3), out}, element);
  SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), b.getIndexAttr(cropH),
                                       b.getIndexAttr(cropW),
                                       b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes;
  for (int64_t dim : windowOut.getShape())
    sizes.push_back(b.getIndexAttr(dim));
  Value nhwc = tensor::ExtractSliceOp::create(
      b, loc, windowOut, accumulated, offsets, sizes,
      SmallVector<OpFoldResult>(4, b.getIndexAttr(1)));
  return l.permuted(nhwc, type, {0, 2, 3, 1});
}

/// A conv of spikes, event-driven. At stride s a neuron at padded row
/// h' = h + p reaches the outputs oh = (h' - kh) / s of the taps kh = h' mod
/// s, h' mod s + s, ...: q = ceil(K / s) consecutive output rows from
/// floor(h' / s) - (q - 1), through a flipped sub-kernel per phase (h' mod
/// s, w' mod s), with zeros for the taps past K. So every fired neuron adds
/// its channel's and phase's q x q kernel, channels last, into a window of a
/// padded accumulator whose row R is output row R - (q - 1). For a fixed
/// output the contributions arrive in (c, kh, kw) order (kh grows with h),
/// as in the dense conv, and silent neurons and missing taps only add 0: the
/// result is the dense one, bit for bit.
Value lowerSpikeConv2D(Lowering &l, Conv2DOp op) {
  Location loc = l.loc;
  RankedTensorType inType = l.typeOf(op.getInput());
  RankedTensorType wType = l.typeOf(op.getWeight());
  RankedTensorType type = op.getType();
  Type element = type.getElementType();
  int64_t channels = inType.getDimSize(1), height = inType.getDimSize(2),
          width = inType.getDimSize(3);
  int64_t out = wType.getDimSize(0), kh = wType.getDimSize(2),
          kw = wType.getDimSize(3);
  int64_t sh = op.getStrides()[0], sw = op.getStrides()[1];
  int64_t ph = op.getPadding()[0], pw = op.getPadding()[1];
  int64_t qh = (kh + sh - 1) / sh, qw = (kw + sw - 1) / sw;
  // Wf[(a sw + b) C + c, j, i, o] = W[o, c, a + (qh-1-j) sh, b + (qw-1-i) sw],
  // 0 past the kernel; it depends only on the weight.
  auto flippedType =
      RankedTensorType::get({sh * sw * channels, qh, qw, out}, element);
  Value flipped = l.generic(
      flippedType, ValueRange{}, l.empty(flippedType), {l.identity(4)},
      {kPar, kPar, kPar, kPar}, [&](OpBuilder &nb, Location nl, ValueRange) {
        auto k = [&](int64_t v) { return indexConstant(nb, nl, v); };
        Value row = linalg::IndexOp::create(nb, nl, 0);
        Value phase = arith::DivUIOp::create(nb, nl, row, k(channels));
        Value c = arith::RemUIOp::create(nb, nl, row, k(channels));
        auto tap = [&](Value offset, unsigned dim, int64_t q, int64_t stride) {
          Value j = linalg::IndexOp::create(nb, nl, dim);
          return arith::AddIOp::create(
                     nb, nl, offset,
                     arith::MulIOp::create(
                         nb, nl, arith::SubIOp::create(nb, nl, k(q - 1), j),
                         k(stride)))
              .getResult();
        };
        Value r = tap(arith::DivUIOp::create(nb, nl, phase, k(sw)), 1, qh, sh);
        Value q = tap(arith::RemUIOp::create(nb, nl, phase, k(sw)), 2, qw, sw);
        Value inside = arith::AndIOp::create(
            nb, nl,
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, r, k(kh)),
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, q, k(kw)));
        Value value = tensor::ExtractOp::create(
            nb, nl, op.getWeight(),
            ValueRange{linalg::IndexOp::create(nb, nl, 3), c,
                       arith::MinUIOp::create(nb, nl, r, k(kh - 1)),
                       arith::MinUIOp::create(nb, nl, q, k(kw - 1))});
        return (Value)arith::SelectOp::create(
            nb, nl, inside, value, floatConstant(nb, nl, element, 0.0));
      });
  int64_t accH =
      std::max(type.getDimSize(2) + qh - 1, (height - 1 + ph) / sh + qh);
  int64_t accW =
      std::max(type.getDimSize(3) + qw - 1, (width - 1 + pw) / sw + qw);
  auto k = [&](OpBuilder &nb, int64_t v) { return indexConstant(nb, loc, v); };
  auto paddedAt = [&](OpBuilder &nb, Value v, int64_t pad) {
    return arith::AddIOp::create(nb, loc, v, k(nb, pad)).getResult();
  };
  return scatterConvolution(
      l, op.getInput(), flipped, op.getBias(), type, accH, accW, qh - 1, qw - 1,
      [&](OpBuilder &nb, Value h, Value w) {
        return SmallVector<Value>{
            arith::DivUIOp::create(nb, loc, paddedAt(nb, h, ph), k(nb, sh)),
            arith::DivUIOp::create(nb, loc, paddedAt(nb, w, pw), k(nb, sw))};
      },
      [&](OpBuilder &nb, Value c, Value h, Value w) -> Value {
        Value phase = arith::AddIOp::create(
            nb, loc,
            arith::MulIOp::create(
                nb, loc,
                arith::RemUIOp::create(nb, loc, paddedAt(nb, h, ph), k(nb, sh)),
                k(nb, sw)),
            arith::RemUIOp::create(nb, loc, paddedAt(nb, w, pw), k(nb, sw)));
        return arith::AddIOp::create(
            nb, loc, arith::MulIOp::create(nb, loc, phase, k(nb, channels)), c);
      });
}

/// A transposed conv of spikes, event-driven: a neuron (c, h, w) that fired
/// adds W[c, :, kh, kw] at output row h s - p + kh, i.e. its channel's K x K
/// kernel, channels last, into the window at (h s, w s) of an accumulator
/// whose row R is output row R - p. For a fixed output the contributions
/// arrive with h growing (the flipped kernel's taps in order) in (c, h, w)
/// order, as in the dense form over the dilated input, whose zeros only add
/// 0: bit for bit. The adjoint's transposed conv of a masked gradient takes
/// this form too: on the zoo's 64C5s most of its entries are 0 (the clamp's
/// derivative is 0 for saturated and silent neurons), and it multiplies and
/// adds as the dense form does.
Value lowerSpikeConvTranspose2D(Lowering &l, ConvTranspose2DOp op) {
  Location loc = l.loc;
  RankedTensorType inType = l.typeOf(op.getInput());
  RankedTensorType wType = l.typeOf(op.getWeight());
  RankedTensorType type = op.getType();
  int64_t height = inType.getDimSize(2), width = inType.getDimSize(3);
  int64_t kh = wType.getDimSize(2), kw = wType.getDimSize(3);
  int64_t sh = op.getStrides()[0], sw = op.getStrides()[1];
  int64_t ph = op.getPadding()[0], pw = op.getPadding()[1];
  // Wr[c, kh, kw, o] = W[c, o, kh, kw]; it depends only on the weight.
  auto kernelsType =
      RankedTensorType::get({wType.getDimSize(0), kh, kw, wType.getDimSize(1)},
                            wType.getElementType());
  Value kernels = l.permuted(op.getWeight(), kernelsType, {0, 3, 1, 2});
  int64_t accH = std::max((height - 1) * sh + kh, type.getDimSize(2) + ph);
  int64_t accW = std::max((width - 1) * sw + kw, type.getDimSize(3) + pw);
  auto k = [&](OpBuilder &nb, int64_t v) { return indexConstant(nb, loc, v); };
  return scatterConvolution(
      l, op.getInput(), kernels, op.getBias(), type, accH, accW, ph, pw,
      [&](OpBuilder &nb, Value h, Value w) {
        return SmallVector<Value>{arith::MulIOp::create(nb, loc, h, k(nb, sh)),
                                  arith::MulIOp::create(nb, loc, w, k(nb, sw))};
      },
      [](OpBuilder &, Value c, Value, Value) { return c; },
      /*spikeValues=*/op->hasAttr(kSpikeInput));
}

/// The event-driven form applies to a conv of spikes or of a masked
/// gradient (the adjoint of a transposed-conv feedback) whose padding stays
/// within the kernel.
bool isEventDrivenConv(Conv2DOp op) {
  return (op->hasAttr(kSpikeInput) || hasMaskedGradientInput(op)) &&
         paddingWithinKernel(op);
}

Value lowerConv2D(Lowering &l, Conv2DOp op) {
  ArrayRef<int64_t> stride = op.getStrides();
  Value input = l.padSpatially(op.getInput(), op.getPadding());
  Value init = l.initWithBias(op.getType(), op.getBias(), 1);
  return l.convolution(input, op.getWeight(), init, stride[0], stride[1]);
}

/// ∂W[o, c, kh, kw] = Σ_{n, oh, ow} g[n, o, oh, ow] x_pad[n, c, oh·s + kh,
/// ow·s + kw] as a linalg contraction over (o, c, kh, kw, n, oh, ow): on
/// GPUs at every stride (one thread per weight).
Value lowerConv2DFilterGradContraction(Lowering &l, Conv2DFilterGradOp op) {
  RankedTensorType type = op.getType();
  ArrayRef<int64_t> stride = op.getStrides();
  Value input = l.padSpatially(op.getInput(), op.getPadding());
  auto d = [&](unsigned i) { return l.b.getAffineDimExpr(i); };
  MLIRContext *ctx = l.b.getContext();
  AffineMap inputMap = AffineMap::get(
      7, 0, {d(4), d(1), d(5) * stride[0] + d(2), d(6) * stride[1] + d(3)},
      ctx);
  return l.generic(type, ValueRange{input, op.getGrad()}, l.filled(type, 0.0),
                   {inputMap, l.pick(7, {4, 0, 5, 6}), l.pick(7, {0, 1, 2, 3})},
                   {kPar, kPar, kPar, kPar, kRed, kRed, kRed},
                   [](OpBuilder &nb, Location nl, ValueRange a) {
                     Value product = arith::MulFOp::create(nb, nl, a[0], a[1]);
                     return (Value)arith::AddFOp::create(nb, nl, a[2], product);
                   });
}

/// The CPU form at stride 1, on the input's row-major grid (see
/// Lowering::rowMajorConvolution): per weight, one sum over n and the grid
/// positions p, carried in a register; it may be reassociated (the order of
/// a weight gradient's terms is pinned by no oracle) and so vectorizes.
bool hasUnitStrides(Conv2DFilterGradOp op) {
  return op.getStrides()[0] == 1 && op.getStrides()[1] == 1;
}

/// The stride-1 filter gradient of the conv of `input` (padded already)
/// whose output gradient is `grad`, on the input's grid, added to `init`.
Value filterGradOnGrid(Lowering &l, Value input, Value grad, Value init) {
  RankedTensorType type = l.typeOf(init);
  Type element = type.getElementType();
  MLIRContext *ctx = l.b.getContext();
  RankedTensorType padded = l.typeOf(input), gType = l.typeOf(grad);
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
  // Per output channel (threads take whole channels), per sample and input
  // channel, the 25 taps' sums over the grid positions p: the sample's
  // gradient row and input channel stay in the first-level cache for all
  // taps. (One sum over (n, p) per weight read the whole gradient and input
  // channel for every weight: the 64C5s step streamed about 30 GB.)
  Value filterGrad = carriedLoopNest(
      l.b, loc, {o}, init,
      [&](OpBuilder &ob, ValueRange outer, Value channelResult) -> Value {
        return carriedLoopNest(
            ob, loc, {n, c, kh, kw}, channelResult,
            [&](OpBuilder &nb, ValueRange ivs, Value result) -> Value {
              Value sample = ivs[0];
              SmallVector<Value> weightAt = {outer[0], ivs[1], ivs[2], ivs[3]};
              Value shift = arith::AddIOp::create(
                  nb, loc,
                  arith::MulIOp::create(nb, loc, ivs[2],
                                        indexConstant(nb, loc, wp)),
                  ivs[3]);
              Value sum = carriedLoopNest(
                  nb, loc, {positions}, floatConstant(nb, loc, element, 0.0),
                  [&](OpBuilder &pb, ValueRange at, Value acc) -> Value {
                    Value p = at[0];
                    Value gv = tensor::ExtractOp::create(
                        pb, loc, grid, ValueRange{sample, outer[0], p});
                    Value xv = tensor::ExtractOp::create(
                        pb, loc, flatInput,
                        ValueRange{sample, ivs[1],
                                   arith::AddIOp::create(pb, loc, p, shift)});
                    Value product =
                        arith::MulFOp::create(pb, loc, gv, xv, flags);
                    return arith::AddFOp::create(pb, loc, acc, product, flags);
                  });
              Value before =
                  tensor::ExtractOp::create(nb, loc, result, weightAt);
              return tensor::InsertOp::create(
                  nb, loc, arith::AddFOp::create(nb, loc, before, sum, flags),
                  result, weightAt);
            });
      });
  l.markParallel(filterGrad.getDefiningOp<scf::ForOp>());
  return filterGrad;
}

Value lowerConv2DFilterGradOnGrid(Lowering &l, Conv2DFilterGradOp op) {
  return filterGradOnGrid(l, l.padSpatially(op.getInput(), op.getPadding()),
                          op.getGrad(), l.filled(op.getType(), 0.0));
}

/// The CPU form at other strides: tap (kh, kw) of output (oh, ow) reads the
/// padded input at (oh sh + kh, ow sw + kw), which is the phase plane
/// (kh % sh, kw % sw) (rows kh % sh, kh % sh + sh, ...) at (oh + kh / sh,
/// ow + kw / sw). So the taps of one phase are the filter gradient of a
/// stride-1 conv of that plane, on its grid, and each phase's taps are
/// written into every sh-th row and sw-th column of the result. (The
/// contraction over all seven loops read the input per weight: 17% of an
/// AlexNet-F training step for its stride-2 layer.)
Value lowerStridedFilterGrad(Lowering &l, Conv2DFilterGradOp op) {
  OpBuilder &b = l.b;
  Location loc = l.loc;
  RankedTensorType type = op.getType();
  Type element = type.getElementType();
  int64_t sh = op.getStrides()[0], sw = op.getStrides()[1];
  Value padded = l.padSpatially(op.getInput(), op.getPadding());
  RankedTensorType pType = l.typeOf(padded);
  int64_t n = pType.getDimSize(0), c = pType.getDimSize(1),
          hp = pType.getDimSize(2), wp = pType.getDimSize(3);
  int64_t o = type.getDimSize(0), kh = type.getDimSize(2),
          kw = type.getDimSize(3);
  Value result = l.filled(type, 0.0);
  for (int64_t ph = 0; ph < std::min(sh, kh); ++ph)
    for (int64_t pw = 0; pw < std::min(sw, kw); ++pw) {
      int64_t taps[2] = {(kh - ph + sh - 1) / sh, (kw - pw + sw - 1) / sw};
      auto planeType = RankedTensorType::get(
          {n, c, (hp - ph + sh - 1) / sh, (wp - pw + sw - 1) / sw}, element);
      Value plane = l.generic(
          planeType, ValueRange{}, l.empty(planeType), {l.identity(4)},
          {kPar, kPar, kPar, kPar},
          [&](OpBuilder &nb, Location nl, ValueRange) {
            auto at = [&](unsigned d, int64_t stride, int64_t offset) {
              return arith::AddIOp::create(
                  nb, nl,
                  arith::MulIOp::create(nb, nl,
                                        linalg::IndexOp::create(nb, nl, d),
                                        indexConstant(nb, nl, stride)),
                  indexConstant(nb, nl, offset));
            };
            return (Value)tensor::ExtractOp::create(
                nb, nl, padded,
                ValueRange{linalg::IndexOp::create(nb, nl, 0),
                           linalg::IndexOp::create(nb, nl, 1), at(2, sh, ph),
                           at(3, sw, pw)});
          });
      auto tapsType = RankedTensorType::get({o, c, taps[0], taps[1]}, element);
      // Accumulated in the strided slice of the result, in place once
      // bufferized (an insert_slice of a fresh tensor would become a strided
      // memref copy, a call into the MLIR runtime library).
      SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), b.getIndexAttr(0),
                                           b.getIndexAttr(ph),
                                           b.getIndexAttr(pw)},
                                sizes = {b.getIndexAttr(o), b.getIndexAttr(c),
                                         b.getIndexAttr(taps[0]),
                                         b.getIndexAttr(taps[1])},
                                strides = {b.getIndexAttr(1), b.getIndexAttr(1),
                                           b.getIndexAttr(sh),
                                           b.getIndexAttr(sw)};
      Value slice = tensor::ExtractSliceOp::create(b, loc, tapsType, result,
                                                   offsets, sizes, strides);
      Value copied = filterGradOnGrid(l, plane, op.getGrad(), slice);
      result = tensor::InsertSliceOp::create(b, loc, copied, result, offsets,
                                             sizes, strides);
    }
  return result;
}

/// The filter gradient of a conv whose output gradient is masked by the
/// clamp's derivative (the adjoint's; zero for silent and saturated
/// neurons), at stride 1 with whole vectors of input channels.
bool fitsMaskedFilterGrad(Conv2DFilterGradOp op, unsigned vectorBits) {
  return isMaskedGradient(op.getGrad()) && hasUnitStrides(op) &&
         op.getType().getDimSize(1) % (vectorBits / 32) == 0;
}

/// ∂W[o, c, kh, kw] = Σ_n Σ_{(y, x): g[n, o, y, x] != 0} g[n, o, y, x]
/// x_pad[n, c, y + kh, x + kw], visiting only the non-zero gradients: per
/// output channel (threads take whole channels) and sample, the gradient's
/// non-zero positions are compacted, and then per tap the input channels
/// (channels last: whole vectors) are summed in registers over them and
/// added to the weights' gradient, a block per sample. (The grid form
/// multiplied every zero: on 64C5s at seed 1 about 94% of the masked
/// gradient.)
Value lowerMaskedFilterGrad(Lowering &l, Conv2DFilterGradOp op) {
  OpBuilder &b = l.b;
  Location loc = l.loc;
  RankedTensorType type = op.getType(), gType = l.typeOf(op.getGrad());
  Type element = type.getElementType();
  Value padded = l.padSpatially(op.getInput(), op.getPadding());
  RankedTensorType pType = l.typeOf(padded);
  int64_t batch = pType.getDimSize(0), channels = pType.getDimSize(1),
          hp = pType.getDimSize(2), wp = pType.getDimSize(3);
  int64_t out = gType.getDimSize(1), oh = gType.getDimSize(2),
          ow = gType.getDimSize(3);
  int64_t kh = type.getDimSize(2), kw = type.getDimSize(3);
  int64_t kLanes = l.lanes(), vectors = channels / kLanes, group = 1;
  for (int64_t g = std::min<int64_t>(vectors, 8); g >= 1; --g)
    if (vectors % g == 0) {
      group = g;
      break;
    }
  auto index = [&](OpBuilder &nb, int64_t v) {
    return indexConstant(nb, loc, v);
  };
  auto laneType = VectorType::get({kLanes}, element);
  SmallVector<bool> inBounds{true};
  // The padded input channels last, and the gradient's rows per (n, o).
  auto nhwcType = RankedTensorType::get({batch, hp, wp, channels}, element);
  Value nhwc = l.permuted(padded, nhwcType, {0, 3, 1, 2});
  Value rows = tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get({batch * out, oh * ow}, element),
      op.getGrad(), SmallVector<ReassociationIndices>{{0, 1}, {2, 3}});
  auto lastType = RankedTensorType::get({out, kh, kw, channels}, element);
  auto listType = RankedTensorType::get({oh * ow}, b.getI32Type());
  Value channelsLast = carriedLoopNest(
      b, loc, {out}, l.filled(lastType, 0.0),
      [&](OpBuilder &ob, ValueRange outer, Value channelResult) -> Value {
        Value o = outer[0];
        // A list per output channel: its iterations run on threads.
        Value list = l.threadLocalTensor(ob, listType);
        return carriedLoopNest(
            ob, loc, {batch}, channelResult,
            [&](OpBuilder &nb, ValueRange sampleIvs, Value result) -> Value {
              Value n = sampleIvs[0];
              Value row = arith::AddIOp::create(
                  nb, loc, arith::MulIOp::create(nb, loc, n, index(nb, out)),
                  o);
              auto [listed, count] = compactNonZero(l, nb, rows, row, list);
              return carriedLoopNest(
                  nb, loc, {kh, kw, vectors / group}, result,
                  [&](OpBuilder &tb, ValueRange tap, Value state) -> Value {
                    Value c0 = arith::MulIOp::create(tb, loc, tap[2],
                                                     index(tb, group * kLanes));
                    auto channel = [&](OpBuilder &cb, int64_t v) {
                      return arith::AddIOp::create(cb, loc, c0,
                                                   index(cb, v * kLanes))
                          .getResult();
                    };
                    Value zeros = arith::ConstantOp::create(
                        tb, loc, laneType,
                        DenseElementsAttr::get(laneType,
                                               tb.getFloatAttr(element, 0.0)));
                    auto sums = scf::ForOp::create(
                        tb, loc, index(tb, 0), count, index(tb, 1),
                        SmallVector<Value>(group, zeros),
                        [&](OpBuilder &eb, Location, Value k,
                            ValueRange partial) {
                          Value p = listedPosition(eb, loc, listed, k);
                          Value y =
                              arith::DivUIOp::create(eb, loc, p, index(eb, ow));
                          Value x =
                              arith::RemUIOp::create(eb, loc, p, index(eb, ow));
                          Value gv = tensor::ExtractOp::create(
                              eb, loc, rows, ValueRange{row, p});
                          Value lanes = vector::BroadcastOp::create(
                              eb, loc, laneType, gv);
                          Value h = arith::AddIOp::create(eb, loc, y, tap[0]);
                          Value w = arith::AddIOp::create(eb, loc, x, tap[1]);
                          SmallVector<Value> updated;
                          for (int64_t v = 0; v < group; ++v) {
                            Value in = vector::TransferReadOp::create(
                                eb, loc, laneType, nhwc,
                                ValueRange{n, h, w, channel(eb, v)},
                                floatConstant(eb, loc, element, 0.0),
                                ArrayRef<bool>(inBounds));
                            updated.push_back(vector::FMAOp::create(
                                eb, loc, lanes, in, partial[v]));
                          }
                          scf::YieldOp::create(eb, loc, updated);
                        });
                    Value written = state;
                    for (int64_t v = 0; v < group; ++v) {
                      SmallVector<Value> at = {o, tap[0], tap[1],
                                               channel(tb, v)};
                      Value before = vector::TransferReadOp::create(
                          tb, loc, laneType, written, at,
                          floatConstant(tb, loc, element, 0.0),
                          ArrayRef<bool>(inBounds));
                      written = vector::TransferWriteOp::create(
                                    tb, loc,
                                    arith::AddFOp::create(tb, loc, before,
                                                          sums.getResult(v)),
                                    written, at, ArrayRef<bool>(inBounds))
                                    .getResult();
                    }
                    return written;
                  });
            });
      });
  l.markParallel(channelsLast.getDefiningOp<scf::ForOp>());
  return l.permuted(channelsLast, type, {0, 2, 3, 1});
}

Value lowerConvTranspose2D(Lowering &l, ConvTranspose2DOp op) {
  // The adjoint of a strided conv: dilate the input by the stride, pad it by
  // k - 1 - p (plus output_padding at the end), and convolve with stride 1
  // and the flipped kernel, whose in/out channels swap.
  RankedTensorType inType = l.typeOf(op.getInput());
  RankedTensorType wType = l.typeOf(op.getWeight());
  ArrayRef<int64_t> pad = op.getPadding(), stride = op.getStrides(),
                    extra = op.getOutputPadding();
  int64_t kh = wType.getDimSize(2), kw = wType.getDimSize(3);
  int64_t lowH = kh - 1 - pad[0], lowW = kw - 1 - pad[1];
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

} // namespace

LogicalResult
mlir::fsnn::lowering::checkConvTranspose2DSupported(ConvTranspose2DOp op) {
  if (paddingWithinKernel(op))
    return success();
  return op.emitOpError() << "padding larger than kernel - 1 is not supported "
                             "by the CPU lowering yet";
}

void mlir::fsnn::lowering::populateConvolutionPatterns(
    RewritePatternSet &patterns, const LoweringOptions &options) {
  addLowering<Conv2DOp>(patterns, options, single(lowerConv2D));
  addLowering<Conv2DFilterGradOp>(patterns, options,
                                  single(lowerConv2DFilterGradContraction));
  addLowering<ConvTranspose2DOp>(patterns, options,
                                 single(lowerConvTranspose2D),
                                 paddingWithinKernel<ConvTranspose2DOp>);
  addLowering<AvgPool2DOp>(patterns, options, single(lowerAvgPool));
  if (options.target != LoweringTarget::CPU)
    return;
  // At stride 1 on the input's row-major grid, and on spikes event-driven.
  addLowering<Conv2DFilterGradOp>(patterns, options,
                                  single(lowerConv2DFilterGradOnGrid),
                                  hasUnitStrides, /*benefit=*/2);
  addLowering<Conv2DFilterGradOp>(
      patterns, options, single(lowerStridedFilterGrad),
      [](Conv2DFilterGradOp op) { return !hasUnitStrides(op); },
      /*benefit=*/2);
  addLowering<Conv2DFilterGradOp>(
      patterns, options, single(lowerMaskedFilterGrad),
      [vectorBits = options.vectorBits](Conv2DFilterGradOp op) {
        return fitsMaskedFilterGrad(op, vectorBits);
      },
      /*benefit=*/3);
  addLowering<Conv2DOp>(patterns, options, single(lowerSpikeConv2D),
                        isEventDrivenConv, /*benefit=*/2);
  addLowering<ConvTranspose2DOp>(
      patterns, options, single(lowerSpikeConvTranspose2D),
      [](ConvTranspose2DOp op) {
        return (op->hasAttr(kSpikeInput) || hasMaskedGradientInput(op)) &&
               paddingWithinKernel(op);
      },
      /*benefit=*/2);
}
