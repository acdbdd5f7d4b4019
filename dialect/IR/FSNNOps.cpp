//===- FSNNOps.cpp - fsnn operation verifiers -----------------------------===//
//
// Every message names the operand, attribute or region at fault and shows
// what was expected, so that a diagnostic on an imported model (whose
// locations carry layer names) can be acted on without reading the IR.
//
//===----------------------------------------------------------------------===//

#include "dialect/IR/FSNNDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::fsnn;

#define GET_OP_CLASSES
#include "dialect/IR/FSNNOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Shared checks
//===----------------------------------------------------------------------===//

namespace {
constexpr int64_t kDynamic = ShapedType::kDynamic;

/// Two dimensions agree unless both are static and differ.
bool dimsAgree(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

bool shapesAgree(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  if (a.size() != b.size())
    return false;
  return llvm::all_of(llvm::zip_equal(a, b), [](auto pair) {
    return dimsAgree(std::get<0>(pair), std::get<1>(pair));
  });
}

/// Prints a shape as 128x?x14 (? for a dynamic dimension).
std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::interleave(
      shape, os,
      [&](int64_t dim) {
        if (ShapedType::isDynamic(dim))
          os << '?';
        else
          os << dim;
      },
      "x");
  return text;
}

RankedTensorType tensorType(Value value) {
  return cast<RankedTensorType>(value.getType());
}

/// Checks the rank of a named tensor; `layout` tells the user what the
/// dimensions mean.
LogicalResult checkRank(Operation *op, StringRef name, Type type, int64_t rank,
                        StringRef layout) {
  auto tensor = cast<RankedTensorType>(type);
  if (tensor.getRank() == rank)
    return success();
  return op->emitOpError() << name << " must have rank " << rank << " ("
                           << layout << "), got " << type;
}

/// Checks a named dimension against the one it must equal.
LogicalResult checkDim(Operation *op, StringRef what, int64_t actual,
                       StringRef otherWhat, int64_t expected) {
  if (dimsAgree(actual, expected))
    return success();
  return op->emitOpError() << what << " (" << actual << ") must equal "
                           << otherWhat << " (" << expected << ")";
}

/// Checks that a result has the shape the op's semantics imply.
LogicalResult checkResultShape(Operation *op, StringRef name, Type type,
                               ArrayRef<int64_t> expected) {
  auto tensor = cast<RankedTensorType>(type);
  if (shapesAgree(tensor.getShape(), expected))
    return success();
  return op->emitOpError() << name << " type " << type
                           << " does not match the expected shape "
                           << formatShape(expected);
}

/// All named values share the element type of the first one.
LogicalResult
checkElementTypes(Operation *op,
                  ArrayRef<std::pair<StringRef, Type>> namedTypes) {
  Type reference = cast<ShapedType>(namedTypes.front().second).getElementType();
  for (auto [name, type] : namedTypes.drop_front()) {
    Type element = cast<ShapedType>(type).getElementType();
    if (element != reference)
      return op->emitOpError()
             << name << " element type " << element << " must match the "
             << namedTypes.front().first << " element type " << reference;
  }
  return success();
}

/// Checks a per-channel parameter vector of `channels` elements.
LogicalResult checkChannelVector(Operation *op, StringRef name, Type type,
                                 int64_t channels) {
  if (failed(checkRank(op, name, type, 1, "channels")))
    return failure();
  return checkDim(op, Twine(name + " size").str(),
                  cast<RankedTensorType>(type).getDimSize(0), "channels",
                  channels);
}

/// Checks a 2-element array attribute of values >= minimum.
LogicalResult checkPair(Operation *op, StringRef name, ArrayRef<int64_t> pair,
                        int64_t minimum) {
  if (pair.size() == 2 && pair[0] >= minimum && pair[1] >= minimum)
    return success();
  InFlightDiagnostic diag = op->emitOpError()
                            << name
                            << " must have 2 elements that are >= " << minimum
                            << ", got [";
  llvm::interleaveComma(pair, diag);
  return diag << "]";
}

LogicalResult checkPositiveEpsilon(Operation *op, double epsilon) {
  if (std::isfinite(epsilon) && epsilon > 0.0)
    return success();
  return op->emitOpError() << "epsilon must be a finite positive number, got "
                           << formatShortestDouble(epsilon);
}

/// Output size of a convolution or pooling window along one dimension.
int64_t slidingOutputSize(int64_t input, int64_t kernel, int64_t stride,
                          int64_t padding) {
  if (ShapedType::isDynamic(input) || ShapedType::isDynamic(kernel))
    return kDynamic;
  int64_t span = input + 2 * padding - kernel;
  // A negative span means the window does not fit; report 0 rather than let
  // division round towards zero into a bogus size of 1.
  return span < 0 ? 0 : span / stride + 1;
}

/// Verifies a `batch x C` or NCHW activation and returns C.
LogicalResult checkActivation(Operation *op, StringRef name, Type type,
                              int64_t &channels) {
  auto tensor = cast<RankedTensorType>(type);
  if (tensor.getRank() != 2 && tensor.getRank() != 4)
    return op->emitOpError() << name
                             << " must have rank 2 (batch x channels) or 4 "
                                "(NCHW), got "
                             << type;
  channels = tensor.getDimSize(1);
  return success();
}

/// Verifies a map region: one block with one argument of `argType`, ending
/// in fsnn.yield of one value of `yieldType`.
LogicalResult checkMapRegion(Operation *op, Region &region, StringRef name,
                             Type argType, Type yieldType) {
  Block &block = region.front();
  if (block.getNumArguments() != 1)
    return op->emitOpError() << name << " must have exactly one argument, got "
                             << block.getNumArguments();
  if (block.getArgument(0).getType() != argType)
    return op->emitOpError() << name << " argument must have type " << argType
                             << ", got " << block.getArgument(0).getType();
  auto yield = block.empty() ? YieldOp() : dyn_cast<YieldOp>(block.back());
  if (!yield)
    return op->emitOpError() << name << " must be terminated by fsnn.yield";
  if (yield.getValues().size() != 1)
    return op->emitOpError() << name << " must yield exactly one value, got "
                             << yield.getValues().size();
  if (yield.getValues().front().getType() != yieldType)
    return op->emitOpError() << name << " must yield type " << yieldType
                             << ", got " << yield.getValues().front().getType();
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, "input", getInput().getType(), 2,
                       "batch x in_features")) ||
      failed(checkRank(op, "weight", getWeight().getType(), 2,
                       "out_features x in_features")))
    return failure();
  RankedTensorType input = tensorType(getInput());
  RankedTensorType weight = tensorType(getWeight());
  if (failed(checkDim(op, "weight in_features", weight.getDimSize(1),
                      "input in_features", input.getDimSize(1))))
    return failure();
  SmallVector<std::pair<StringRef, Type>> types = {
      {"input", input}, {"weight", weight}, {"result", getType()}};
  if (Value bias = getBias()) {
    if (failed(checkRank(op, "bias", bias.getType(), 1, "out_features")) ||
        failed(checkDim(op, "bias size", tensorType(bias).getDimSize(0),
                        "weight out_features", weight.getDimSize(0))))
      return failure();
    types.push_back({"bias", bias.getType()});
  }
  if (failed(checkElementTypes(op, types)))
    return failure();
  return checkResultShape(op, "result", getType(),
                          {input.getDimSize(0), weight.getDimSize(0)});
}

//===----------------------------------------------------------------------===//
// Conv2DOp and ConvTranspose2DOp
//===----------------------------------------------------------------------===//

namespace {
/// Checks what conv2d and conv_transpose2d share: ranks, strides, padding,
/// bias and element types. `outChannels` is the weight dimension holding the
/// output channels (0 for OIHW, 1 for IOHW).
template <typename ConvOp>
LogicalResult checkConvCommon(ConvOp conv, unsigned inChannelDim,
                              unsigned outChannelDim) {
  Operation *op = conv.getOperation();
  if (failed(checkRank(op, "input", conv.getInput().getType(), 4, "NCHW")) ||
      failed(checkRank(op, "weight", conv.getWeight().getType(), 4,
                       inChannelDim == 1 ? "OIHW" : "IOHW")) ||
      failed(checkPair(op, "strides", conv.getStrides(), 1)) ||
      failed(checkPair(op, "padding", conv.getPadding(), 0)))
    return failure();
  RankedTensorType input = tensorType(conv.getInput());
  RankedTensorType weight = tensorType(conv.getWeight());
  if (failed(checkDim(op, "weight input channels",
                      weight.getDimSize(inChannelDim), "input channels",
                      input.getDimSize(1))))
    return failure();
  SmallVector<std::pair<StringRef, Type>> types = {
      {"input", input}, {"weight", weight}, {"result", conv.getType()}};
  if (Value bias = conv.getBias()) {
    if (failed(checkRank(op, "bias", bias.getType(), 1, "out_channels")) ||
        failed(checkDim(op, "bias size", tensorType(bias).getDimSize(0),
                        "weight output channels",
                        weight.getDimSize(outChannelDim))))
      return failure();
    types.push_back({"bias", bias.getType()});
  }
  return checkElementTypes(op, types);
}
} // namespace

LogicalResult Conv2DOp::verify() {
  if (failed(checkConvCommon(*this, /*inChannelDim=*/1, /*outChannelDim=*/0)))
    return failure();
  RankedTensorType input = tensorType(getInput());
  RankedTensorType weight = tensorType(getWeight());
  SmallVector<int64_t> expected = {input.getDimSize(0), weight.getDimSize(0)};
  for (unsigned i = 0; i < 2; ++i) {
    int64_t size =
        slidingOutputSize(input.getDimSize(2 + i), weight.getDimSize(2 + i),
                          getStrides()[i], getPadding()[i]);
    if (!ShapedType::isDynamic(size) && size < 1)
      return emitOpError() << "kernel "
                           << formatShape(weight.getShape().drop_front(2))
                           << " does not fit the padded input "
                           << formatShape(input.getShape().drop_front(2))
                           << " (padding " << getPadding()[0] << "x"
                           << getPadding()[1] << ")";
    expected.push_back(size);
  }
  return checkResultShape(getOperation(), "result", getType(), expected);
}

LogicalResult ConvTranspose2DOp::verify() {
  if (failed(checkConvCommon(*this, /*inChannelDim=*/0, /*outChannelDim=*/1)) ||
      failed(
          checkPair(getOperation(), "output_padding", getOutputPadding(), 0)))
    return failure();
  for (unsigned i = 0; i < 2; ++i)
    if (getOutputPadding()[i] >= getStrides()[i])
      return emitOpError() << "output_padding (" << getOutputPadding()[i]
                           << ") must be smaller than the stride ("
                           << getStrides()[i] << ") in dimension " << i;
  RankedTensorType input = tensorType(getInput());
  RankedTensorType weight = tensorType(getWeight());
  SmallVector<int64_t> expected = {input.getDimSize(0), weight.getDimSize(1)};
  for (unsigned i = 0; i < 2; ++i) {
    int64_t in = input.getDimSize(2 + i), kernel = weight.getDimSize(2 + i);
    if (ShapedType::isDynamic(in) || ShapedType::isDynamic(kernel)) {
      expected.push_back(kDynamic);
      continue;
    }
    int64_t size = (in - 1) * getStrides()[i] - 2 * getPadding()[i] + kernel +
                   getOutputPadding()[i];
    if (size < 1)
      return emitOpError() << "padding " << getPadding()[i]
                           << " leaves no output in dimension " << i;
    expected.push_back(size);
  }
  return checkResultShape(getOperation(), "result", getType(), expected);
}

//===----------------------------------------------------------------------===//
// Batch norm
//===----------------------------------------------------------------------===//

LogicalResult BatchNormOp::verify() {
  Operation *op = getOperation();
  int64_t channels;
  if (failed(checkActivation(op, "input", getInput().getType(), channels)) ||
      failed(checkChannelVector(op, "gamma", getGamma().getType(), channels)) ||
      failed(checkChannelVector(op, "beta", getBeta().getType(), channels)) ||
      failed(checkChannelVector(op, "mean", getMean().getType(), channels)) ||
      failed(checkChannelVector(op, "variance", getVariance().getType(),
                                channels)) ||
      failed(checkElementTypes(op, {{"input", getInput().getType()},
                                    {"gamma", getGamma().getType()},
                                    {"beta", getBeta().getType()},
                                    {"mean", getMean().getType()},
                                    {"variance", getVariance().getType()}})))
    return failure();
  return checkPositiveEpsilon(op, getEpsilon().convertToDouble());
}

LogicalResult BatchNormTrainOp::verify() {
  Operation *op = getOperation();
  int64_t channels;
  if (failed(checkActivation(op, "input", getInput().getType(), channels)) ||
      failed(checkChannelVector(op, "gamma", getGamma().getType(), channels)) ||
      failed(checkChannelVector(op, "beta", getBeta().getType(), channels)) ||
      failed(checkChannelVector(op, "batch_mean", getBatchMean().getType(),
                                channels)) ||
      failed(checkChannelVector(op, "batch_variance",
                                getBatchVariance().getType(), channels)) ||
      failed(checkElementTypes(
          op, {{"input", getInput().getType()},
               {"gamma", getGamma().getType()},
               {"beta", getBeta().getType()},
               {"result", getResult().getType()},
               {"batch_mean", getBatchMean().getType()},
               {"batch_variance", getBatchVariance().getType()}})))
    return failure();
  if (getResult().getType() != getInput().getType())
    return emitOpError() << "result type " << getResult().getType()
                         << " must equal the input type "
                         << getInput().getType();
  return checkPositiveEpsilon(op, getEpsilon().convertToDouble());
}

//===----------------------------------------------------------------------===//
// Dropout
//===----------------------------------------------------------------------===//

LogicalResult DropoutMaskOp::verify() {
  double rate = getRate().convertToDouble();
  if (!(rate >= 0.0 && rate < 1.0))
    return emitOpError() << "rate must be in [0, 1), got "
                         << formatShortestDouble(rate);
  if (!getMask().getType().hasStaticShape())
    return emitOpError() << "mask must have a static shape, got "
                         << getMask().getType();
  return success();
}

//===----------------------------------------------------------------------===//
// FlattenOp and AvgPool2DOp
//===----------------------------------------------------------------------===//

LogicalResult AverageFramesOp::verify() {
  RankedTensorType input = tensorType(getInput());
  RankedTensorType result = getType();
  if (input.getRank() < 3)
    return emitOpError() << "input must have rank >= 3 (batch x T x ...), got "
                         << input;
  double leak = getLeak().convertToDouble();
  if (!(leak > 0.0 && leak <= 1.0))
    return emitOpError() << "leak must be in (0, 1], got " << leak;
  if (failed(checkElementTypes(getOperation(),
                               {{"input", input}, {"result", result}})))
    return failure();
  SmallVector<int64_t> expected = {input.getDimSize(0)};
  llvm::append_range(expected, input.getShape().drop_front(2));
  if (failed(verifyCompatibleShape(result.getShape(), expected)))
    return emitOpError() << "result must be the input without its time "
                            "dimension ("
                         << RankedTensorType::get(expected,
                                                  input.getElementType())
                         << "), got " << result;
  return success();
}

LogicalResult FlattenOp::verify() {
  RankedTensorType input = tensorType(getInput());
  if (input.getRank() < 2)
    return emitOpError() << "input must have rank >= 2 (batch x features...), "
                            "got "
                         << input;
  int64_t features = 1;
  for (int64_t dim : input.getShape().drop_front()) {
    if (ShapedType::isDynamic(dim)) {
      features = kDynamic;
      break;
    }
    features *= dim;
  }
  if (failed(checkElementTypes(getOperation(),
                               {{"input", input}, {"result", getType()}})))
    return failure();
  return checkResultShape(getOperation(), "result", getType(),
                          {input.getDimSize(0), features});
}

LogicalResult AvgPool2DOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, "input", getInput().getType(), 4, "NCHW")) ||
      failed(checkPair(op, "kernel", getKernel(), 1)) ||
      failed(checkPair(op, "strides", getStrides(), 1)) ||
      failed(checkElementTypes(
          op, {{"input", getInput().getType()}, {"result", getType()}})))
    return failure();
  RankedTensorType input = tensorType(getInput());
  SmallVector<int64_t> expected = {input.getDimSize(0), input.getDimSize(1)};
  for (unsigned i = 0; i < 2; ++i) {
    int64_t size = slidingOutputSize(input.getDimSize(2 + i), getKernel()[i],
                                     getStrides()[i], /*padding=*/0);
    if (!ShapedType::isDynamic(size) && size < 1)
      return emitOpError() << "kernel " << getKernel()[0] << "x"
                           << getKernel()[1] << " does not fit the input "
                           << formatShape(input.getShape().drop_front(2));
    expected.push_back(size);
  }
  return checkResultShape(op, "result", getType(), expected);
}

//===----------------------------------------------------------------------===//
// SoftmaxCrossEntropyOp
//===----------------------------------------------------------------------===//

LogicalResult SoftmaxCrossEntropyOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, "logits", getLogits().getType(), 2,
                       "batch x classes")) ||
      failed(checkRank(op, "labels", getLabels().getType(), 1, "batch")) ||
      failed(checkRank(op, "loss", getLoss().getType(), 0, "a scalar")) ||
      failed(checkElementTypes(op, {{"logits", getLogits().getType()},
                                    {"loss", getLoss().getType()}})))
    return failure();
  if (failed(checkDim(op, "labels size", tensorType(getLabels()).getDimSize(0),
                      "logits batch", tensorType(getLogits()).getDimSize(0))))
    return failure();
  if (getGrad().getType() != getLogits().getType())
    return emitOpError() << "grad type " << getGrad().getType()
                         << " must equal the logits type "
                         << getLogits().getType();
  return success();
}

//===----------------------------------------------------------------------===//
// Spectral reparameterisation
//===----------------------------------------------------------------------===//

namespace {
/// Checks a weight and its power-iteration vectors: u has dim0(weight)
/// elements, v the product of the other dimensions.
LogicalResult checkSpectralVectors(Operation *op, Value weight, Value u,
                                   Value v) {
  RankedTensorType weightType = tensorType(weight);
  if (weightType.getRank() < 2)
    return op->emitOpError()
           << "weight must have rank >= 2, got " << weightType;
  if (!weightType.hasStaticShape())
    return op->emitOpError()
           << "weight must have a static shape, got " << weightType;
  int64_t rows = weightType.getDimSize(0);
  int64_t columns = weightType.getNumElements() / rows;
  if (failed(checkRank(op, "u", u.getType(), 1, "weight dim 0")) ||
      failed(checkDim(op, "u size", tensorType(u).getDimSize(0), "weight dim 0",
                      rows)) ||
      failed(checkRank(op, "v", v.getType(), 1,
                       "product of the weight dims after the first")) ||
      failed(checkDim(op, "v size", tensorType(v).getDimSize(0),
                      "product of the weight dims after the first", columns)))
    return failure();
  return checkElementTypes(
      op, {{"weight", weightType}, {"u", u.getType()}, {"v", v.getType()}});
}
} // namespace

LogicalResult SpectralPowerIterationOp::verify() {
  return checkSpectralVectors(getOperation(), getWeight(), getU(), getV());
}

LogicalResult SpectralWeightOp::verify() {
  Operation *op = getOperation();
  if (failed(checkSpectralVectors(op, getWeight(), getU(), getV())) ||
      failed(checkRank(op, "scale", getScale().getType(), 0, "a scalar")) ||
      failed(checkRank(op, "sigma", getSigma().getType(), 0, "a scalar")) ||
      failed(checkElementTypes(op, {{"weight", getWeight().getType()},
                                    {"scale", getScale().getType()},
                                    {"sigma", getSigma().getType()}})))
    return failure();
  if (getResult().getType() != getWeight().getType())
    return emitOpError() << "result type " << getResult().getType()
                         << " must equal the weight type "
                         << getWeight().getType();
  return success();
}

//===----------------------------------------------------------------------===//
// FoldBatchNormOp
//===----------------------------------------------------------------------===//

LogicalResult FoldBatchNormOp::verify() {
  Operation *op = getOperation();
  RankedTensorType weight = tensorType(getWeight());
  if (weight.getRank() != 2 && weight.getRank() != 4)
    return emitOpError() << "weight must have rank 2 (out x in) or 4 (OIHW), "
                            "got "
                         << weight;
  int64_t channels = weight.getDimSize(0);
  SmallVector<std::pair<StringRef, Type>> types = {
      {"weight", weight},
      {"gamma", getGamma().getType()},
      {"beta", getBeta().getType()},
      {"mean", getMean().getType()},
      {"variance", getVariance().getType()},
      {"folded_bias", getFoldedBias().getType()}};
  if (Value bias = getBias()) {
    if (failed(checkChannelVector(op, "bias", bias.getType(), channels)))
      return failure();
    types.push_back({"bias", bias.getType()});
  }
  if (failed(checkChannelVector(op, "gamma", getGamma().getType(), channels)) ||
      failed(checkChannelVector(op, "beta", getBeta().getType(), channels)) ||
      failed(checkChannelVector(op, "mean", getMean().getType(), channels)) ||
      failed(checkChannelVector(op, "variance", getVariance().getType(),
                                channels)) ||
      failed(checkChannelVector(op, "folded_bias", getFoldedBias().getType(),
                                channels)) ||
      failed(checkElementTypes(op, types)))
    return failure();
  if (getFoldedWeight().getType() != weight)
    return emitOpError() << "folded_weight type " << getFoldedWeight().getType()
                         << " must equal the weight type " << weight;
  return checkPositiveEpsilon(op, getEpsilon().convertToDouble());
}

namespace {
/// The elements of a dense float constant as doubles.
SmallVector<double> toDoubles(DenseFPElementsAttr attr) {
  SmallVector<double> values;
  values.reserve(attr.getNumElements());
  for (APFloat value : attr.getValues<APFloat>()) {
    bool losesInfo;
    value.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven,
                  &losesInfo);
    values.push_back(value.convertToDouble());
  }
  return values;
}

/// A dense constant of `type` (f32 or f64 elements) holding `values`.
DenseElementsAttr fromDoubles(ShapedType type, ArrayRef<double> values) {
  const llvm::fltSemantics &semantics =
      cast<FloatType>(type.getElementType()).getFloatSemantics();
  SmallVector<APFloat> elements;
  elements.reserve(values.size());
  for (double value : values) {
    APFloat element(value);
    bool losesInfo;
    element.convert(semantics, APFloat::rmNearestTiesToEven, &losesInfo);
    elements.push_back(element);
  }
  return DenseElementsAttr::get(type, elements);
}
} // namespace

// With constant parameters the fold happens at compile time, in double
// precision, rounded once to the element type.
LogicalResult FoldBatchNormOp::fold(FoldAdaptor adaptor,
                                    SmallVectorImpl<OpFoldResult> &results) {
  auto weight = dyn_cast_or_null<DenseFPElementsAttr>(adaptor.getWeight());
  auto gamma = dyn_cast_or_null<DenseFPElementsAttr>(adaptor.getGamma());
  auto beta = dyn_cast_or_null<DenseFPElementsAttr>(adaptor.getBeta());
  auto mean = dyn_cast_or_null<DenseFPElementsAttr>(adaptor.getMean());
  auto variance = dyn_cast_or_null<DenseFPElementsAttr>(adaptor.getVariance());
  auto bias = dyn_cast_or_null<DenseFPElementsAttr>(adaptor.getBias());
  if (!weight || !gamma || !beta || !mean || !variance || (getBias() && !bias))
    return failure();
  auto foldedWeightType = cast<ShapedType>(getFoldedWeight().getType());
  auto foldedBiasType = cast<ShapedType>(getFoldedBias().getType());
  if (!foldedWeightType.hasStaticShape() || !foldedBiasType.hasStaticShape())
    return failure();

  SmallVector<double> w = toDoubles(weight), g = toDoubles(gamma),
                      b = toDoubles(beta), m = toDoubles(mean),
                      v = toDoubles(variance);
  SmallVector<double> b0 =
      bias ? toDoubles(bias) : SmallVector<double>(g.size(), 0.0);
  double epsilon = getEpsilon().convertToDouble();
  size_t channels = g.size();
  size_t perChannel = w.size() / channels;
  SmallVector<double> foldedBias(channels);
  for (size_t c = 0; c < channels; ++c) {
    double scale = g[c] / std::sqrt(v[c] + epsilon);
    for (size_t i = 0; i < perChannel; ++i)
      w[c * perChannel + i] *= scale;
    foldedBias[c] = scale * (b0[c] - m[c]) + b[c];
  }
  results.push_back(fromDoubles(foldedWeightType, w));
  results.push_back(fromDoubles(foldedBiasType, foldedBias));
  return success();
}

//===----------------------------------------------------------------------===//
// ClampRateOp
//===----------------------------------------------------------------------===//

LogicalResult ClampRateOp::verify() {
  double threshold = getThreshold().convertToDouble();
  if (!std::isfinite(threshold) || threshold <= 0.0)
    return emitOpError() << "threshold must be a finite positive number, got "
                         << formatShortestDouble(threshold);
  return success();
}

//===----------------------------------------------------------------------===//
// FeedbackOp
//===----------------------------------------------------------------------===//

LogicalResult FeedbackOp::verifyRegions() {
  Operation *op = getOperation();
  // The accessor is unsigned; read it signed so that -3 is not a huge count.
  int64_t timeSteps = static_cast<int64_t>(getTimeSteps());
  if (timeSteps < 1)
    return emitOpError() << "time_steps must be >= 1, got " << timeSteps;
  unsigned numLayers = getNumLayers();
  if (numLayers == 0)
    return emitOpError() << "needs at least one layer map";
  if (getRates().size() != numLayers)
    return emitOpError() << "has " << numLayers << " layer maps but "
                         << getRates().size()
                         << " rates results; expected one per layer";

  RankedTensorType input = tensorType(getInput());
  Type frameType = input;
  if (getInputKind() == InputKind::SpikeFrames) {
    if (input.getRank() < 3)
      return emitOpError() << "spike_frames input must have rank >= 3 "
                              "(batch x time x ...), got "
                           << input;
    if (failed(checkDim(op, "input time dimension", input.getDimSize(1),
                        "time_steps", timeSteps)))
      return failure();
    SmallVector<int64_t> frameShape(input.getShape());
    frameShape.erase(frameShape.begin() + 1);
    frameType = RankedTensorType::get(frameShape, input.getElementType());
  }

  int64_t batch = input.getDimSize(0);
  Type elementType = input.getElementType();
  for (unsigned layer = 0; layer < numLayers; ++layer) {
    auto rates = cast<RankedTensorType>(getRates()[layer].getType());
    auto counts = cast<RankedTensorType>(getSpikeCounts()[layer].getType());
    std::string which = "layer " + std::to_string(layer + 1);
    if (rates.getElementType() != elementType)
      return emitOpError() << which << " rates element type "
                           << rates.getElementType()
                           << " must match the input element type "
                           << elementType;
    if (rates.getRank() < 1 || !dimsAgree(rates.getDimSize(0), batch))
      return emitOpError() << which << " rates type " << rates
                           << " must have the input batch size " << batch
                           << " as its first dimension";
    if (!shapesAgree(rates.getShape(), counts.getShape()))
      return emitOpError() << which << " spike_counts shape "
                           << formatShape(counts.getShape())
                           << " must equal its rates shape "
                           << formatShape(rates.getShape());
  }

  // Spikes carry the rates' type: 0/1 values of the layer's shape.
  if (failed(checkMapRegion(op, getLayers()[0], "layer map 1", frameType,
                            getRates()[0].getType())))
    return failure();
  for (unsigned layer = 1; layer < numLayers; ++layer)
    if (failed(checkMapRegion(
            op, getLayers()[layer], "layer map " + std::to_string(layer + 1),
            getRates()[layer - 1].getType(), getRates()[layer].getType())))
      return failure();
  return checkMapRegion(op, getFeedback(), "feedback map",
                        getRates()[numLayers - 1].getType(),
                        getRates()[0].getType());
}

//===----------------------------------------------------------------------===//
// EquilibriumSolveOp and AdjointSolveOp
//===----------------------------------------------------------------------===//

namespace {
/// Checks what both solves share: the solver settings, the map region over
/// the fixed-point variable and the per-sample residual vector.
LogicalResult checkSolve(Operation *op, int64_t maxIterations, double tolerance,
                         Region &map, Type variableType, Type residualType,
                         StringRef regionName = "map") {
  if (maxIterations < 1)
    return op->emitOpError()
           << "max_iterations must be >= 1, got " << maxIterations;
  if (!std::isfinite(tolerance) || tolerance < 0.0)
    return op->emitOpError()
           << "tolerance must be a finite non-negative number, got "
           << formatShortestDouble(tolerance);
  auto variable = cast<RankedTensorType>(variableType);
  if (variable.getRank() < 1)
    return op->emitOpError() << "the fixed-point variable must have a batch "
                                "dimension, got "
                             << variable;
  if (failed(checkRank(op, "residual", residualType, 1, "batch")) ||
      failed(checkElementTypes(op, {{"fixed-point variable", variable},
                                    {"residual", residualType}})) ||
      failed(checkDim(op, "residual size",
                      cast<RankedTensorType>(residualType).getDimSize(0),
                      "batch size", variable.getDimSize(0))))
    return failure();
  return checkMapRegion(op, map, regionName, variableType, variableType);
}
} // namespace

LogicalResult EquilibriumSolveOp::verifyRegions() {
  return checkSolve(getOperation(), getMaxIterations(),
                    getTolerance().convertToDouble(), getMap(),
                    getInitial().getType(), getResidual().getType());
}

LogicalResult AdjointSolveOp::verifyRegions() {
  if (getPoint().getType() != getRhs().getType())
    return emitOpError() << "rhs type " << getRhs().getType()
                         << " must equal the point type "
                         << getPoint().getType();
  return checkSolve(getOperation(), getMaxIterations(),
                    getTolerance().convertToDouble(), getMap(),
                    getPoint().getType(), getResidual().getType());
}

//===----------------------------------------------------------------------===//
// Backward ops
//===----------------------------------------------------------------------===//

LogicalResult ClampRateGradOp::verify() {
  double threshold = getThreshold().convertToDouble();
  if (!std::isfinite(threshold) || threshold <= 0.0)
    return emitOpError() << "threshold must be a finite positive number, got "
                         << formatShortestDouble(threshold);
  return success();
}

LogicalResult BatchNormTrainGradOp::verify() {
  Operation *op = getOperation();
  int64_t channels;
  if (failed(checkActivation(op, "input", getInput().getType(), channels)) ||
      failed(checkChannelVector(op, "gamma", getGamma().getType(), channels)) ||
      failed(checkElementTypes(op, {{"input", getInput().getType()},
                                    {"gamma", getGamma().getType()}})))
    return failure();
  return checkPositiveEpsilon(op, getEpsilon().convertToDouble());
}

LogicalResult SpectralWeightGradOp::verify() {
  Operation *op = getOperation();
  if (failed(checkSpectralVectors(op, getWeight(), getU(), getV())) ||
      failed(checkRank(op, "scale", getScale().getType(), 0, "a scalar")) ||
      failed(checkElementTypes(op, {{"weight", getWeight().getType()},
                                    {"scale", getScale().getType()}})))
    return failure();
  return success();
}

LogicalResult Conv2DFilterGradOp::verify() {
  Operation *op = getOperation();
  if (failed(checkRank(op, "input", getInput().getType(), 4, "NCHW")) ||
      failed(checkRank(op, "grad", getGrad().getType(), 4, "NCHW")) ||
      failed(checkRank(op, "result", getResult().getType(), 4, "OIHW")) ||
      failed(checkPair(op, "strides", getStrides(), 1)) ||
      failed(checkPair(op, "padding", getPadding(), 0)) ||
      failed(checkElementTypes(op, {{"input", getInput().getType()},
                                    {"grad", getGrad().getType()},
                                    {"result", getResult().getType()}})))
    return failure();
  auto in = cast<RankedTensorType>(getInput().getType());
  auto g = cast<RankedTensorType>(getGrad().getType());
  auto w = cast<RankedTensorType>(getResult().getType());
  if (failed(checkDim(op, "grad batch", g.getDimSize(0), "input batch",
                      in.getDimSize(0))) ||
      failed(checkDim(op, "result out-channels", w.getDimSize(0),
                      "grad channels", g.getDimSize(1))) ||
      failed(checkDim(op, "result in-channels", w.getDimSize(1),
                      "input channels", in.getDimSize(1))))
    return failure();
  for (int d = 0; d < 2; ++d) {
    if (ShapedType::isDynamic(in.getDimSize(2 + d)) ||
        ShapedType::isDynamic(w.getDimSize(2 + d)))
      continue;
    int64_t expected =
        (in.getDimSize(2 + d) + 2 * getPadding()[d] - w.getDimSize(2 + d)) /
            getStrides()[d] +
        1;
    if (failed(checkDim(op, d == 0 ? "grad height" : "grad width",
                        g.getDimSize(2 + d), "the conv's output size",
                        expected)))
      return failure();
  }
  return success();
}

LogicalResult LinearFixedPointOp::verifyRegions() {
  return checkSolve(getOperation(), getMaxIterations(),
                    getTolerance().convertToDouble(), getOperator(),
                    getRhs().getType(), getResidual().getType(), "operator");
}
