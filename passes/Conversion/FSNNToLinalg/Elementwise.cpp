//===- Elementwise.cpp - per-element and per-channel ops
//--------------------===//
//
// Inference batch norm, its fold into a weight, the spectral weight, the
// rate clamp and flatten.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/FSNNToLinalg/LoweringBuilders.h"

using namespace mlir;
using namespace mlir::fsnn;
using namespace mlir::fsnn::lowering;

namespace {

using utils::IteratorType;

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
  // rounding, through W_eff, shifts every feedback current); on CPUs each
  // row's sum in blocks.
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
  Value vv;
  if (l.gpu) {
    vv = l.generic(rowsType, ValueRange{op.getWeight(), op.getV()},
                   l.filled(rowsType, 0.0),
                   {l.identity(rank), vMap, l.pick(rank, {0})}, rowIterators,
                   multiplyAdd);
  } else {
    // Per row in blocks: the in-order sum, one dependent addition after
    // another, took half of a batch-1 F400 inference.
    vv = l.rowDots(l.matrixOf(op.getWeight()), op.getV());
  }
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
        return (Value)arith::MulFOp::create(
            nb, nl, a[0], spectralFactor(nb, nl, element, a[1], a[2]));
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

Value lowerFlatten(Lowering &l, FlattenOp op) {
  unsigned rank = l.typeOf(op.getInput()).getRank();
  ReassociationIndices rest;
  for (unsigned i = 1; i < rank; ++i)
    rest.push_back(i);
  SmallVector<ReassociationIndices> groups = {{0}, rest};
  return tensor::CollapseShapeOp::create(l.b, l.loc, op.getType(),
                                         op.getInput(), groups);
}

} // namespace

void mlir::fsnn::lowering::populateElementwisePatterns(
    RewritePatternSet &patterns, const LoweringOptions &options) {
  addLowering<BatchNormOp>(patterns, options, single(lowerBatchNorm));
  addLowering<FoldBatchNormOp>(patterns, options, several(lowerFoldBatchNorm));
  addLowering<SpectralWeightOp>(patterns, options,
                                several(lowerSpectralWeight));
  addLowering<ClampRateOp>(patterns, options, single(lowerClampRate));
  addLowering<FlattenOp>(patterns, options, single(lowerFlatten));
}
