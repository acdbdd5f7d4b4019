//===- Training.cpp - the training step's ops
//-------------------------------===//
//
// The forward ops only training uses (dropout masks, batch norm on batch
// statistics, the power iteration, the loss) and the backward ops that
// fsnn-generate-backward emits (gradients of the clamp, of batch norm and of
// the spectral reparameterisation).
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/FSNNToLinalg/LoweringBuilders.h"

using namespace mlir;
using namespace mlir::fsnn;
using namespace mlir::fsnn::lowering;

namespace {

Value i64Constant(OpBuilder &b, Location loc, uint64_t value) {
  return arith::ConstantIntOp::create(b, loc, b.getI64Type(),
                                      static_cast<int64_t>(value));
}

/// fsnn_splitmix64 of fsnnrt/dropout.h, in i64 arithmetic (wrapping).
Value splitmix64(OpBuilder &b, Location loc, Value x) {
  auto c = [&](uint64_t v) { return i64Constant(b, loc, v); };
  x = arith::AddIOp::create(b, loc, x, c(0x9e3779b97f4a7c15ull));
  auto mixStep = [&](Value v, int shift, uint64_t multiplier) {
    Value shifted = arith::ShRUIOp::create(b, loc, v, c(shift));
    return arith::MulIOp::create(
               b, loc, arith::XOrIOp::create(b, loc, v, shifted), c(multiplier))
        .getResult();
  };
  x = mixStep(x, 30, 0xbf58476d1ce4e5b9ull);
  x = mixStep(x, 27, 0x94d049bb133111ebull);
  return arith::XOrIOp::create(b, loc, x,
                               arith::ShRUIOp::create(b, loc, x, c(31)));
}

/// The mask of fsnn_dropout_mask_value, element by element: the flat
/// row-major index of each element is the counter.
Value lowerDropoutMask(Lowering &l, DropoutMaskOp op) {
  RankedTensorType type = op.getMask().getType();
  unsigned rank = type.getRank();
  double rate = op.getRate().convertToDouble();
  uint64_t stream = op.getStream();
  Type element = type.getElementType();
  Value seed = op.getSeed();
  return l.generic(
      type, ValueRange{}, l.empty(type), {l.identity(rank)},
      SmallVector<IteratorType>(rank, kPar),
      [&](OpBuilder &b, Location loc, ValueRange) {
        Value flat = indexConstant(b, loc, 0);
        for (unsigned d = 0; d < rank; ++d) {
          flat = arith::MulIOp::create(
              b, loc, flat, indexConstant(b, loc, type.getDimSize(d)));
          flat = arith::AddIOp::create(b, loc, flat,
                                       linalg::IndexOp::create(b, loc, d));
        }
        Value index =
            arith::IndexCastUIOp::create(b, loc, b.getI64Type(), flat);
        Value h = splitmix64(b, loc, index);
        h = splitmix64(
            b, loc,
            arith::XOrIOp::create(b, loc, h, i64Constant(b, loc, stream)));
        h = splitmix64(b, loc, arith::XOrIOp::create(b, loc, seed, h));
        Value top = arith::ShRUIOp::create(b, loc, h, i64Constant(b, loc, 11));
        Value uniform = arith::MulFOp::create(
            b, loc, arith::UIToFPOp::create(b, loc, b.getF64Type(), top),
            floatConstant(b, loc, b.getF64Type(), 1.0 / 9007199254740992.0));
        Value keep = arith::CmpFOp::create(
            b, loc, arith::CmpFPredicate::OLT, uniform,
            floatConstant(b, loc, b.getF64Type(), 1.0 - rate));
        return (Value)arith::SelectOp::create(
            b, loc, keep, floatConstant(b, loc, element, 1.0 / (1.0 - rate)),
            floatConstant(b, loc, element, 0.0));
      });
}

Value elementwise(Lowering &l, RankedTensorType type, ValueRange inputs,
                  function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  unsigned rank = type.getRank();
  SmallVector<AffineMap> maps(inputs.size() + 1, l.identity(rank));
  return l.generic(type, inputs, l.empty(type), maps,
                   SmallVector<IteratorType>(rank, kPar), body);
}

/// Σ_t λ^(T-1-t) x[:, t] / Σ_t λ^(T-1-t), summed from the last frame back
/// with each weight the previous one times λ, as the reference executor
/// sums (the normaliser is that sum of weights, in the element type).
Value lowerAverageFrames(Lowering &l, AverageFramesOp op) {
  RankedTensorType type = op.getType(), inType = l.typeOf(op.getInput());
  Type element = type.getElementType();
  unsigned rank = type.getRank();
  int64_t steps = inType.getDimSize(1);
  double leak = op.getLeak().convertToDouble();
  auto normaliser = [&](auto zero) {
    using F = decltype(zero);
    F norm = 0, weight = 1;
    for (int64_t t = 0; t < steps; ++t) {
      norm += weight;
      weight *= F(leak);
    }
    return double(norm);
  };
  double norm = element.isF64() ? normaliser(0.0) : normaliser(0.0f);
  Value input = op.getInput();
  return l.generic(
      type, ValueRange{}, l.empty(type), {l.identity(rank)},
      SmallVector<IteratorType>(rank, kPar),
      [&](OpBuilder &b, Location loc, ValueRange) {
        SmallVector<Value> at;
        for (unsigned d = 0; d < rank; ++d)
          at.push_back(linalg::IndexOp::create(b, loc, d));
        auto loop = scf::ForOp::create(
            b, loc, indexConstant(b, loc, 0), indexConstant(b, loc, steps),
            indexConstant(b, loc, 1),
            ValueRange{floatConstant(b, loc, element, 0.0),
                       floatConstant(b, loc, element, 1.0)},
            [&](OpBuilder &fb, Location fl, Value t, ValueRange carried) {
              Value frame = arith::SubIOp::create(
                  fb, fl, indexConstant(fb, fl, steps - 1), t);
              SmallVector<Value> index = {at[0], frame};
              index.append(at.begin() + 1, at.end());
              Value x = tensor::ExtractOp::create(fb, fl, input, index);
              Value sum = arith::AddFOp::create(
                  fb, fl, carried[0],
                  arith::MulFOp::create(fb, fl, carried[1], x));
              Value weight = arith::MulFOp::create(
                  fb, fl, carried[1], floatConstant(fb, fl, element, leak));
              scf::YieldOp::create(fb, fl, ValueRange{sum, weight});
            });
        return (Value)arith::DivFOp::create(
            b, loc, loop.getResult(0), floatConstant(b, loc, element, norm));
      });
}

/// x / max(|x|, 1e-12) for a vector, as the reference normalises.
Value normalise(Lowering &l, Value x) {
  RankedTensorType type = l.typeOf(x);
  Type element = type.getElementType();
  auto scalar = RankedTensorType::get({}, element);
  AffineMap toScalar = AffineMap::get(1, 0, {}, l.b.getContext());
  Value squares = l.generic(scalar, ValueRange{x}, l.filled(scalar, 0.0),
                            {l.identity(1), toScalar}, {kRed},
                            [](OpBuilder &b, Location loc, ValueRange a) {
                              return (Value)arith::AddFOp::create(
                                  b, loc, a[1], multiply(b, loc, a[0], a[0]));
                            });
  return l.generic(type, ValueRange{x, squares}, l.empty(type),
                   {l.identity(1), toScalar, l.identity(1)}, {kPar},
                   [&](OpBuilder &b, Location loc, ValueRange a) {
                     Value norm = arith::MaximumFOp::create(
                         b, loc, math::SqrtOp::create(b, loc, a[1]),
                         floatConstant(b, loc, element, 1e-12));
                     return (Value)arith::DivFOp::create(b, loc, a[0], norm);
                   });
}

/// y[i] = Σ_j M[i, j] x[j], or with `transposed` y[j] = Σ_i M[i, j] x[i].
Value matrixVector(Lowering &l, Value matrix, Value x, bool transposed) {
  if (!transposed && !l.gpu)
    return l.rowDots(matrix, x);
  RankedTensorType mType = l.typeOf(matrix);
  auto type = RankedTensorType::get({mType.getDimSize(transposed ? 1 : 0)},
                                    mType.getElementType());
  return l.generic(type, ValueRange{matrix, x}, l.filled(type, 0.0),
                   {l.identity(2), l.pick(2, {transposed ? 0u : 1u}),
                    l.pick(2, {transposed ? 1u : 0u})},
                   transposed ? SmallVector<IteratorType>{kRed, kPar}
                              : SmallVector<IteratorType>{kPar, kRed},
                   multiplyAdd);
}

void lowerPowerIteration(Lowering &l, SpectralPowerIterationOp op,
                         SmallVectorImpl<Value> &results) {
  Value matrix = l.matrixOf(op.getWeight());
  Value v = normalise(l, matrixVector(l, matrix, op.getU(), true));
  Value u = normalise(l, matrixVector(l, matrix, v, false));
  results.push_back(u);
  results.push_back(v);
}

/// Per-channel sums of `x` (batch x channels x ...) over every other
/// dimension, optionally of f(x, channel value) with `extra` per channel.
Value channelSum(
    Lowering &l, Value x, Value extra,
    function_ref<Value(OpBuilder &, Location, Value, Value)> term) {
  RankedTensorType type = l.typeOf(x);
  unsigned rank = type.getRank();
  auto channels =
      RankedTensorType::get({type.getDimSize(1)}, type.getElementType());
  SmallVector<IteratorType> iterators(rank, kRed);
  iterators[1] = kPar;
  SmallVector<Value> inputs = {x};
  SmallVector<AffineMap> maps = {l.identity(rank)};
  if (extra) {
    inputs.push_back(extra);
    maps.push_back(l.pick(rank, {1}));
  }
  maps.push_back(l.pick(rank, {1}));
  return l.generic(channels, inputs, l.filled(channels, 0.0), maps, iterators,
                   [&](OpBuilder &b, Location loc, ValueRange a) {
                     Value t = term(b, loc, a[0], extra ? a[1] : Value());
                     return (Value)arith::AddFOp::create(b, loc, a.back(), t);
                   });
}

int64_t perChannelCount(RankedTensorType type) {
  return type.getNumElements() / type.getDimSize(1);
}

/// A per-channel vector times a constant.
Value scaleChannels(Lowering &l, Value v, double factor) {
  Type element = l.typeOf(v).getElementType();
  return elementwise(l, l.typeOf(v), ValueRange{v},
                     [&](OpBuilder &b, Location loc, ValueRange a) {
                       return multiply(b, loc, a[0],
                                       floatConstant(b, loc, element, factor));
                     });
}

/// The per-channel mean and biased variance of `x` (batch x channels x
/// ...) over every other dimension, both passes in the reference's order:
/// what training-mode BN normalises with, forward and backward.
std::pair<Value, Value> batchMoments(Lowering &l, Value x) {
  double count = double(perChannelCount(l.typeOf(x)));
  Value mean = scaleChannels(
      l,
      channelSum(l, x, Value(),
                 [](OpBuilder &, Location, Value v, Value) { return v; }),
      1.0 / count);
  Value variance = scaleChannels(
      l,
      channelSum(l, x, mean,
                 [](OpBuilder &b, Location loc, Value v, Value m) {
                   Value d = arith::SubFOp::create(b, loc, v, m);
                   return multiply(b, loc, d, d);
                 }),
      1.0 / count);
  return {mean, variance};
}

void lowerBatchNormTrain(Lowering &l, BatchNormTrainOp op,
                         SmallVectorImpl<Value> &results) {
  RankedTensorType type = op.getResult().getType();
  Type element = type.getElementType();
  unsigned rank = type.getRank();
  double count = double(perChannelCount(type));
  double eps = op.getEpsilon().convertToDouble();
  auto [mean, variance] = batchMoments(l, op.getInput());
  Value result = l.generic(
      type,
      ValueRange{op.getInput(), op.getGamma(), op.getBeta(), mean, variance},
      l.empty(type),
      {l.identity(rank), l.pick(rank, {1}), l.pick(rank, {1}),
       l.pick(rank, {1}), l.pick(rank, {1}), l.identity(rank)},
      SmallVector<IteratorType>(rank, kPar),
      [&](OpBuilder &b, Location loc, ValueRange a) {
        Value scale = batchNormScale(b, loc, element, eps, a[1], a[4]);
        return batchNormApply(b, loc, a[0], a[3], scale, a[2]);
      });
  results.push_back(result);
  results.push_back(mean);
  results.push_back(
      scaleChannels(l, variance, count / std::max(1.0, count - 1.0)));
}

void lowerSoftmaxCrossEntropy(Lowering &l, SoftmaxCrossEntropyOp op,
                              SmallVectorImpl<Value> &results) {
  RankedTensorType type = op.getLogits().getType();
  Type element = type.getElementType();
  int64_t batch = type.getDimSize(0);
  auto rows = RankedTensorType::get({batch}, element);
  Value logits = op.getLogits();
  Value rowMax =
      l.generic(rows, ValueRange{logits}, l.filled(rows, -INFINITY),
                {l.identity(2), l.pick(2, {0})}, {kPar, kRed},
                [](OpBuilder &b, Location loc, ValueRange a) {
                  return (Value)arith::MaximumFOp::create(b, loc, a[0], a[1]);
                });
  Value sumExp =
      l.generic(rows, ValueRange{logits, rowMax}, l.filled(rows, 0.0),
                {l.identity(2), l.pick(2, {0}), l.pick(2, {0})}, {kPar, kRed},
                [](OpBuilder &b, Location loc, ValueRange a) {
                  Value e = math::ExpOp::create(
                      b, loc, arith::SubFOp::create(b, loc, a[0], a[1]));
                  return (Value)arith::AddFOp::create(b, loc, a[2], e);
                });
  Value labels = op.getLabels();
  auto isLabel = [&](OpBuilder &b, Location loc, Value label) {
    Value k = arith::IndexCastOp::create(b, loc, label.getType(),
                                         linalg::IndexOp::create(b, loc, 1));
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, k, label);
  };
  double inverseBatch = 1.0 / double(batch);
  // loss = -(1/B) Σ_b (logit[b, label] - max - log sumExp)
  auto scalar = RankedTensorType::get({}, element);
  AffineMap toScalar = AffineMap::get(2, 0, {}, l.b.getContext());
  Value loss = l.generic(
      scalar, ValueRange{logits, rowMax, sumExp, labels}, l.filled(scalar, 0.0),
      {l.identity(2), l.pick(2, {0}), l.pick(2, {0}), l.pick(2, {0}), toScalar},
      {kRed, kRed}, [&](OpBuilder &b, Location loc, ValueRange a) {
        Value logProbability = arith::SubFOp::create(
            b, loc, arith::SubFOp::create(b, loc, a[0], a[1]),
            math::LogOp::create(b, loc, a[2]));
        Value term = arith::SelectOp::create(
            b, loc, isLabel(b, loc, a[3]),
            multiply(b, loc, logProbability,
                     floatConstant(b, loc, element, -inverseBatch)),
            floatConstant(b, loc, element, 0.0));
        return (Value)arith::AddFOp::create(b, loc, a[4], term);
      });
  Value grad = l.generic(
      type, ValueRange{logits, rowMax, sumExp, labels}, l.empty(type),
      {l.identity(2), l.pick(2, {0}), l.pick(2, {0}), l.pick(2, {0}),
       l.identity(2)},
      {kPar, kPar}, [&](OpBuilder &b, Location loc, ValueRange a) {
        Value p = arith::DivFOp::create(
            b, loc,
            math::ExpOp::create(b, loc,
                                arith::SubFOp::create(b, loc, a[0], a[1])),
            a[2]);
        Value target = arith::SelectOp::create(
            b, loc, isLabel(b, loc, a[3]), floatConstant(b, loc, element, 1.0),
            floatConstant(b, loc, element, 0.0));
        return (Value)multiply(b, loc, arith::SubFOp::create(b, loc, p, target),
                               floatConstant(b, loc, element, inverseBatch));
      });
  results.push_back(loss);
  results.push_back(grad);
}

Value lowerClampRateGrad(Lowering &l, ClampRateGradOp op) {
  RankedTensorType type = op.getType();
  Type element = type.getElementType();
  double inverse = 1.0 / op.getThreshold().convertToDouble();
  return elementwise(
      l, type, ValueRange{op.getInput(), op.getGrad()},
      [&](OpBuilder &b, Location loc, ValueRange a) {
        auto c = [&](double v) { return floatConstant(b, loc, element, v); };
        Value z = multiply(b, loc, a[0], c(inverse));
        Value inside = arith::AndIOp::create(
            b, loc,
            arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, z, c(0.0)),
            arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLE, z,
                                  c(1.0)));
        return (Value)arith::SelectOp::create(
            b, loc, inside, multiply(b, loc, a[1], c(inverse)), c(0.0));
      });
}

/// ∂x = γ/σ (g - Σg/N - x̂ Σ(g x̂)/N), ∂γ = Σ g x̂, ∂β = Σ g per channel.
void lowerBatchNormTrainGrad(Lowering &l, BatchNormTrainGradOp op,
                             SmallVectorImpl<Value> &results) {
  RankedTensorType type = op.getInput().getType();
  RankedTensorType channelType = l.typeOf(op.getGamma());
  Type element = type.getElementType();
  unsigned rank = type.getRank();
  double count = double(perChannelCount(type));
  double eps = op.getEpsilon().convertToDouble();
  auto identityTerm = [](OpBuilder &, Location, Value x, Value) { return x; };
  auto [mean, variance] = batchMoments(l, op.getInput());
  // 1 / sqrt(biased variance + eps)
  Value inverseStd =
      elementwise(l, channelType, ValueRange{variance},
                  [&](OpBuilder &b, Location loc, ValueRange a) {
                    return (Value)math::RsqrtOp::create(
                        b, loc,
                        arith::AddFOp::create(
                            b, loc, a[0], floatConstant(b, loc, element, eps)));
                  });
  SmallVector<IteratorType> perChannelSum(rank, kRed);
  perChannelSum[1] = kPar;
  Value normalised = l.generic(
      type, ValueRange{op.getInput(), mean, inverseStd}, l.empty(type),
      {l.identity(rank), l.pick(rank, {1}), l.pick(rank, {1}),
       l.identity(rank)},
      SmallVector<IteratorType>(rank, kPar),
      [](OpBuilder &b, Location loc, ValueRange a) {
        return multiply(b, loc, arith::SubFOp::create(b, loc, a[0], a[1]),
                        a[2]);
      });
  Value betaGrad = channelSum(l, op.getGrad(), Value(), identityTerm);
  Value gammaGrad =
      l.generic(channelType, ValueRange{op.getGrad(), normalised},
                l.filled(channelType, 0.0),
                {l.identity(rank), l.identity(rank), l.pick(rank, {1})},
                perChannelSum, multiplyAdd);
  Value inputGrad = l.generic(
      type,
      ValueRange{op.getGrad(), normalised, op.getGamma(), inverseStd, betaGrad,
                 gammaGrad},
      l.empty(type),
      {l.identity(rank), l.identity(rank), l.pick(rank, {1}), l.pick(rank, {1}),
       l.pick(rank, {1}), l.pick(rank, {1}), l.identity(rank)},
      SmallVector<IteratorType>(rank, kPar),
      [&](OpBuilder &b, Location loc, ValueRange a) {
        Value n = floatConstant(b, loc, element, 1.0 / count);
        Value centred = arith::SubFOp::create(
            b, loc,
            arith::SubFOp::create(b, loc, a[0], multiply(b, loc, a[4], n)),
            multiply(b, loc, a[1], multiply(b, loc, a[5], n)));
        return multiply(b, loc, multiply(b, loc, a[2], a[3]), centred);
      });
  results.push_back(inputGrad);
  results.push_back(gammaGrad);
  results.push_back(betaGrad);
}

/// With c = clamp(g, -1, 1), σ̂ = uᵀ V_mat v and G = Σ grad ⊙ V:
/// ∂V = c/σ̂ grad - c G/σ̂² u vᵀ, ∂g = G/σ̂ where -1 <= g <= 1.
void lowerSpectralWeightGrad(Lowering &l, SpectralWeightGradOp op,
                             SmallVectorImpl<Value> &results) {
  RankedTensorType vType = l.typeOf(op.getWeight());
  RankedTensorType scalar = l.typeOf(op.getScale());
  Type element = vType.getElementType();
  unsigned rank = vType.getRank();
  Value matrix = l.matrixOf(op.getWeight());
  AffineMap toScalar = AffineMap::get(1, 0, {}, l.b.getContext());
  Value sigma = l.generic(
      scalar, ValueRange{op.getU(), matrixVector(l, matrix, op.getV(), false)},
      l.filled(scalar, 0.0), {l.identity(1), l.identity(1), toScalar}, {kRed},
      multiplyAdd);
  AffineMap all = AffineMap::get(rank, 0, {}, l.b.getContext());
  Value overlap;
  if (l.gpu && rank > 1) {
    // Per row first, one thread each, then over the rows: a single sum
    // over the whole weight would be one thread's work on a GPU.
    auto rowsType = RankedTensorType::get({vType.getDimSize(0)}, element);
    SmallVector<IteratorType> iterators(rank, kRed);
    iterators[0] = kPar;
    Value perRow =
        l.generic(rowsType, ValueRange{op.getGrad(), op.getWeight()},
                  l.filled(rowsType, 0.0),
                  {l.identity(rank), l.identity(rank), l.pick(rank, {0})},
                  iterators, multiplyAdd);
    overlap =
        l.generic(scalar, ValueRange{perRow}, l.filled(scalar, 0.0),
                  {l.identity(1), toScalar}, {kRed},
                  [](OpBuilder &b, Location loc, ValueRange a) {
                    return (Value)arith::AddFOp::create(b, loc, a[0], a[1]);
                  });
  } else {
    overlap = l.generic(scalar, ValueRange{op.getGrad(), op.getWeight()},
                        l.filled(scalar, 0.0),
                        {l.identity(rank), l.identity(rank), all},
                        SmallVector<IteratorType>(rank, kRed), multiplyAdd);
  }
  AffineMap vMap = l.trailingColumn(vType);
  Value weightGrad = l.generic(
      vType,
      ValueRange{op.getGrad(), op.getU(), op.getV(), op.getScale(), sigma,
                 overlap},
      l.empty(vType),
      {l.identity(rank), l.pick(rank, {0}), vMap, all, all, all,
       l.identity(rank)},
      SmallVector<IteratorType>(rank, kPar),
      [&](OpBuilder &b, Location loc, ValueRange a) {
        Value c = arith::MinimumFOp::create(
            b, loc,
            arith::MaximumFOp::create(b, loc, a[3],
                                      floatConstant(b, loc, element, -1.0)),
            floatConstant(b, loc, element, 1.0));
        Value direct =
            multiply(b, loc, a[0], arith::DivFOp::create(b, loc, c, a[4]));
        Value correction = arith::DivFOp::create(
            b, loc, multiply(b, loc, c, a[5]), multiply(b, loc, a[4], a[4]));
        return (Value)arith::SubFOp::create(
            b, loc, direct,
            multiply(b, loc, correction, multiply(b, loc, a[1], a[2])));
      });
  AffineMap none = AffineMap::get(0, 0, {}, l.b.getContext());
  Value scaleGrad = l.generic(
      scalar, ValueRange{op.getScale(), sigma, overlap}, l.empty(scalar),
      {none, none, none, none}, {},
      [&](OpBuilder &b, Location loc, ValueRange a) {
        Value inside = arith::AndIOp::create(
            b, loc,
            arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, a[0],
                                  floatConstant(b, loc, element, -1.0)),
            arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLE, a[0],
                                  floatConstant(b, loc, element, 1.0)));
        return (Value)arith::SelectOp::create(
            b, loc, inside, arith::DivFOp::create(b, loc, a[2], a[1]),
            floatConstant(b, loc, element, 0.0));
      });
  results.push_back(weightGrad);
  results.push_back(scaleGrad);
}

Value lowerDropout(Lowering &l, DropoutOp op) {
  return elementwise(l, op.getType(), ValueRange{op.getInput(), op.getMask()},
                     [](OpBuilder &b, Location loc, ValueRange a) {
                       return multiply(b, loc, a[0], a[1]);
                     });
}

} // namespace

void mlir::fsnn::lowering::populateTrainingPatterns(
    RewritePatternSet &patterns, const LoweringOptions &options) {
  addLowering<DropoutMaskOp>(patterns, options, single(lowerDropoutMask));
  addLowering<DropoutOp>(patterns, options, single(lowerDropout));
  addLowering<AverageFramesOp>(patterns, options, single(lowerAverageFrames));
  addLowering<SpectralPowerIterationOp>(patterns, options,
                                        several(lowerPowerIteration));
  addLowering<BatchNormTrainOp>(patterns, options,
                                several(lowerBatchNormTrain));
  addLowering<SoftmaxCrossEntropyOp>(patterns, options,
                                     several(lowerSoftmaxCrossEntropy));
  addLowering<ClampRateGradOp>(patterns, options, single(lowerClampRateGrad));
  addLowering<BatchNormTrainGradOp>(patterns, options,
                                    several(lowerBatchNormTrainGrad));
  addLowering<SpectralWeightGradOp>(patterns, options,
                                    several(lowerSpectralWeightGrad));
}
