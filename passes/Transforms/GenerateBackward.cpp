//===- GenerateBackward.cpp - IDE's implicit backward as IR ---------------===//
//
// Reverse mode over a training forward function, with one rule that is not
// the chain rule: the simulation's rate is not differentiated through its T
// steps but through its equilibrium (docs/method.md §3). The adjoint equation
// becomes an fsnn.linear_fixed_point over the vector-Jacobian product of the
// equilibrium map, and its solution β is backpropagated through one
// application of that map.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/IR/IRMapping.h"

namespace mlir::fsnn {
#define GEN_PASS_DEF_FSNNGENERATEBACKWARDPASS
#include "passes/Passes.h.inc"
} // namespace mlir::fsnn

using namespace mlir;
using namespace mlir::fsnn;

namespace {

/// Marks a training step whose backward has been generated.
constexpr StringLiteral kBackwardGenerated = "fsnn.backward_generated";

RankedTensorType tensorTypeOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}

Value zeros(OpBuilder &b, Location loc, RankedTensorType type) {
  Value empty =
      tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  Value zero =
      arith::ConstantOp::create(b, loc, type.getElementType(),
                                b.getFloatAttr(type.getElementType(), 0.0));
  return linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{empty})
      .getResult(0);
}

/// The sum of `x` over its dimensions `dims`, as a tensor of `type`.
Value sumOver(OpBuilder &b, Location loc, Value x, RankedTensorType type,
              ArrayRef<int64_t> dims) {
  return linalg::ReduceOp::create(
             b, loc, ValueRange{x}, ValueRange{zeros(b, loc, type)}, dims,
             [](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(
                   nb, nl,
                   ValueRange{arith::AddFOp::create(nb, nl, args[0], args[1])});
             })
      .getResult(0);
}

Value transpose(OpBuilder &b, Location loc, Value matrix) {
  RankedTensorType type = tensorTypeOf(matrix);
  auto transposedType = RankedTensorType::get(
      {type.getDimSize(1), type.getDimSize(0)}, type.getElementType());
  Value init = tensor::EmptyOp::create(b, loc, transposedType.getShape(),
                                       transposedType.getElementType());
  return linalg::TransposeOp::create(b, loc, matrix, init,
                                     ArrayRef<int64_t>{1, 0})
      .getResult()[0];
}

/// Cotangents of the values of one reverse sweep, summed over uses.
class Cotangents {
public:
  explicit Cotangents(OpBuilder &b) : b(b) {}
  void add(Location loc, Value value, Value cotangent) {
    auto [it, fresh] = map.try_emplace(value, cotangent);
    if (!fresh)
      it->second = arith::AddFOp::create(b, loc, it->second, cotangent);
  }
  Value lookup(Value value) const { return map.lookup(value); }

private:
  OpBuilder &b;
  DenseMap<Value, Value> map;
};

/// A map's bias, if active, gets the output cotangent `gy` summed over the
/// dimensions the bias is broadcast along.
void addBiasCotangent(OpBuilder &b, Location loc, SynapticMapOpInterface map,
                      Value gy, const DenseSet<Value> &active,
                      Cotangents &cot) {
  Value bias = map.getBias();
  if (bias && active.contains(bias))
    cot.add(
        loc, bias,
        sumOver(b, loc, gy, tensorTypeOf(bias), map.getBiasBroadcastDims()));
}

/// Reverse mode over `ops` (in program order) at the builder's insertion
/// point: cotangents flow only into `active` values. Emits a diagnostic and
/// fails on an op without a rule.
LogicalResult reverse(OpBuilder &b, ArrayRef<Operation *> ops,
                      const DenseSet<Value> &active, Cotangents &cot) {
  for (Operation *op : llvm::reverse(ops)) {
    Location loc = op->getLoc();
    auto wants = [&](Value v) { return active.contains(v); };
    bool any = false;
    for (Value result : op->getResults())
      any |= static_cast<bool>(cot.lookup(result));
    if (!any)
      continue;
    if (auto linear = dyn_cast<LinearOp>(op)) {
      Value gy = cot.lookup(linear.getResult());
      if (wants(linear.getInput())) {
        Value wt = transpose(b, loc, linear.getWeight());
        cot.add(loc, linear.getInput(),
                LinearOp::create(b, loc, tensorTypeOf(linear.getInput()), gy,
                                 wt, Value()));
      }
      if (wants(linear.getWeight())) {
        // ∂W[o, i] = Σ_b gy[b, o] x[b, i] = (gyᵀ (xᵀ)ᵀ)[o, i]: the linear
        // map of gyᵀ by the weight xᵀ, whose CPU lowering register-blocks it
        // (the transpose of xᵀ folds to x) with each sum in the order of b,
        // and runs its blocks of rows on threads.
        Value gyT = transpose(b, loc, gy);
        Value inputT = transpose(b, loc, linear.getInput());
        Value gw = LinearOp::create(b, loc, tensorTypeOf(linear.getWeight()),
                                    gyT, inputT, Value());
        cot.add(loc, linear.getWeight(), gw);
      }
      addBiasCotangent(b, loc, linear, gy, active, cot);
    } else if (auto conv = dyn_cast<Conv2DOp>(op)) {
      Value gy = cot.lookup(conv.getResult());
      RankedTensorType inType = tensorTypeOf(conv.getInput());
      RankedTensorType wType = tensorTypeOf(conv.getWeight());
      ArrayRef<int64_t> strides = conv.getStrides(), pads = conv.getPadding();
      if (wants(conv.getInput())) {
        // The transposed conv with the same weight is the adjoint; the
        // output padding restores the rows a strided conv did not reach.
        SmallVector<int64_t> outputPadding;
        for (int d = 0; d < 2; ++d)
          outputPadding.push_back(
              inType.getDimSize(2 + d) -
              ((tensorTypeOf(gy).getDimSize(2 + d) - 1) * strides[d] -
               2 * pads[d] + wType.getDimSize(2 + d)));
        cot.add(loc, conv.getInput(),
                ConvTranspose2DOp::create(
                    b, loc, inType, gy, conv.getWeight(), Value(),
                    conv.getStridesAttr(), conv.getPaddingAttr(),
                    b.getDenseI64ArrayAttr(outputPadding)));
      }
      if (wants(conv.getWeight()))
        cot.add(loc, conv.getWeight(),
                Conv2DFilterGradOp::create(b, loc, wType, conv.getInput(), gy,
                                           conv.getStridesAttr(),
                                           conv.getPaddingAttr()));
      addBiasCotangent(b, loc, conv, gy, active, cot);
    } else if (auto convT = dyn_cast<ConvTranspose2DOp>(op)) {
      Value gy = cot.lookup(convT.getResult());
      // The conv with the same (IOHW) weight, read as OIHW, is the adjoint;
      // the rows output padding added reach no input and drop out of it.
      if (wants(convT.getInput()))
        cot.add(loc, convT.getInput(),
                Conv2DOp::create(b, loc, tensorTypeOf(convT.getInput()), gy,
                                 convT.getWeight(), Value(),
                                 convT.getStridesAttr(),
                                 convT.getPaddingAttr()));
      // ∂W[i, o, kh, kw] = Σ x[b, i, h, w] gy[b, o, s h - p + kh, ...]: the
      // filter gradient of the conv of gy whose output gradient is x.
      if (wants(convT.getWeight()))
        cot.add(loc, convT.getWeight(),
                Conv2DFilterGradOp::create(
                    b, loc, tensorTypeOf(convT.getWeight()), gy,
                    convT.getInput(), convT.getStridesAttr(),
                    convT.getPaddingAttr()));
      addBiasCotangent(b, loc, convT, gy, active, cot);
    } else if (auto bn = dyn_cast<BatchNormOp>(op)) {
      // On given statistics batch norm is the affine map
      // x -> (x - mean) γ / sqrt(var + ε) + β; its transpose scales by the
      // same factor: batch norm of the cotangent with mean and β zero. γ and
      // β (a sharded step's input map, on the whole batch's statistics) take
      // the per-channel sums of the cotangent times x̂, and of the cotangent.
      if (wants(bn.getMean()) || wants(bn.getVariance()))
        return op->emitOpError()
               << "has trainable statistics; fsnn-generate-backward "
                  "differentiates batch norm on given statistics in its "
                  "input, γ and β";
      Value g = cot.lookup(bn.getResult());
      RankedTensorType channelType = tensorTypeOf(bn.getMean());
      Value zero = zeros(b, loc, channelType);
      if (wants(bn.getInput()))
        cot.add(loc, bn.getInput(),
                BatchNormOp::create(b, loc, bn.getType(), g, bn.getGamma(),
                                    zero, zero, bn.getVariance(),
                                    bn.getEpsilonAttr()));
      SmallVector<int64_t> allButChannel = {0};
      for (int64_t d = 2; d < tensorTypeOf(bn.getInput()).getRank(); ++d)
        allButChannel.push_back(d);
      if (wants(bn.getGamma())) {
        Value one = arith::ConstantOp::create(
            b, loc, channelType.getElementType(),
            b.getFloatAttr(channelType.getElementType(), 1.0));
        Value ones = linalg::FillOp::create(b, loc, ValueRange{one},
                                            ValueRange{tensor::EmptyOp::create(
                                                b, loc, channelType.getShape(),
                                                channelType.getElementType())})
                         .getResult(0);
        Value normalised = BatchNormOp::create(
            b, loc, bn.getType(), bn.getInput(), ones, zero, bn.getMean(),
            bn.getVariance(), bn.getEpsilonAttr());
        cot.add(loc, bn.getGamma(),
                sumOver(b, loc, arith::MulFOp::create(b, loc, g, normalised),
                        channelType, allButChannel));
      }
      if (wants(bn.getBeta()))
        cot.add(loc, bn.getBeta(),
                sumOver(b, loc, g, channelType, allButChannel));
    } else if (auto dropout = dyn_cast<DropoutOp>(op)) {
      if (wants(dropout.getInput()))
        cot.add(loc, dropout.getInput(),
                DropoutOp::create(b, loc, dropout.getType(),
                                  cot.lookup(dropout.getResult()),
                                  dropout.getMask()));
    } else if (auto add = dyn_cast<arith::AddFOp>(op)) {
      Value g = cot.lookup(add.getResult());
      for (Value operand : {add.getLhs(), add.getRhs()})
        if (wants(operand))
          cot.add(loc, operand, g);
    } else if (auto clamp = dyn_cast<ClampRateOp>(op)) {
      if (wants(clamp.getInput()))
        cot.add(loc, clamp.getInput(),
                ClampRateGradOp::create(
                    b, loc, clamp.getType(), clamp.getInput(),
                    cot.lookup(clamp.getResult()), clamp.getThresholdAttr()));
    } else if (auto bn = dyn_cast<BatchNormTrainOp>(op)) {
      if (cot.lookup(bn.getBatchMean()) || cot.lookup(bn.getBatchVariance()))
        return op->emitOpError()
               << "the batch statistics are not differentiated";
      auto grads = BatchNormTrainGradOp::create(
          b, loc, bn.getInput().getType(), bn.getGamma().getType(),
          bn.getGamma().getType(), bn.getInput(), bn.getGamma(),
          cot.lookup(bn.getResult()), bn.getEpsilonAttr());
      if (wants(bn.getInput()))
        cot.add(loc, bn.getInput(), grads.getInputGrad());
      if (wants(bn.getGamma()))
        cot.add(loc, bn.getGamma(), grads.getGammaGrad());
      if (wants(bn.getBeta()))
        cot.add(loc, bn.getBeta(), grads.getBetaGrad());
    } else if (auto spectral = dyn_cast<SpectralWeightOp>(op)) {
      if (cot.lookup(spectral.getSigma()))
        return op->emitOpError() << "σ̂ is not differentiated on its own";
      auto grads = SpectralWeightGradOp::create(
          b, loc, spectral.getWeight().getType(), spectral.getScale().getType(),
          spectral.getWeight(), spectral.getScale(), spectral.getU(),
          spectral.getV(), cot.lookup(spectral.getResult()));
      if (wants(spectral.getWeight()))
        cot.add(loc, spectral.getWeight(), grads.getWeightGrad());
      if (wants(spectral.getScale()))
        cot.add(loc, spectral.getScale(), grads.getScaleGrad());
    } else if (auto flatten = dyn_cast<FlattenOp>(op)) {
      if (wants(flatten.getInput())) {
        unsigned rank = tensorTypeOf(flatten.getInput()).getRank();
        ReassociationIndices rest;
        for (unsigned i = 1; i < rank; ++i)
          rest.push_back(i);
        cot.add(loc, flatten.getInput(),
                tensor::ExpandShapeOp::create(
                    b, loc, tensorTypeOf(flatten.getInput()),
                    cot.lookup(flatten.getResult()),
                    SmallVector<ReassociationIndices>{{0}, rest}));
      }
    } else {
      return op->emitOpError()
             << "has no derivative rule in fsnn-generate-backward";
    }
  }
  return success();
}

/// Values that depend on `seeds` through `ops` (the masks, the power
/// iteration and spike counts carry no gradient).
DenseSet<Value> activeValues(ArrayRef<Operation *> ops, ValueRange seeds) {
  DenseSet<Value> active(seeds.begin(), seeds.end());
  for (Operation *op : ops) {
    if (isa<DropoutMaskOp, SpectralPowerIterationOp>(op))
      continue;
    bool dependent = llvm::any_of(op->getOperands(),
                                  [&](Value v) { return active.contains(v); });
    if (!dependent)
      continue;
    for (Value result : op->getResults())
      if (isa<FloatType>(getElementTypeOrSelf(result.getType())))
        active.insert(result);
  }
  return active;
}

/// Layer 1's map must be the identity: the training import computes the
/// input current before the simulation.
LogicalResult checkSupported(FeedbackOp feedback) {
  // IF and LIF neurons share the equilibrium map (docs/method.md §2.2: the
  // λ-weighted LIF rate satisfies it approximately, and the method
  // differentiates it as the IF rate); reset to zero has none.
  if (feedback.getNeuron().getReset() != ResetMode::Subtract)
    return feedback.emitOpError()
           << "resets to zero; the implicit backward needs the equilibrium "
              "map a = clamp((W a + F x) / V_th), which only reset by "
              "subtraction gives (docs/method.md §2)";
  if (feedback.getInputKind() == InputKind::SpikeFrames)
    return success();
  Block &layer = feedback.getLayers()[0].front();
  auto yield = cast<YieldOp>(layer.getTerminator());
  if (!llvm::hasSingleElement(layer) ||
      yield.getValues()[0] != layer.getArgument(0))
    return feedback.emitOpError()
           << "computes its input current inside the layer map; import the "
              "model for training (fsnn-translate --import --training), "
              "which computes it before the simulation";
  return success();
}

/// Result names and values of the batch statistics a map computes: the mean
/// and the unbiased variance of each batch norm, named after its running
/// statistics (`batch_mean:<running mean>`, `batch_variance:<...>`).
using BatchStatistics = SmallVector<std::pair<std::string, Value>>;

std::string argumentName(Value value) {
  auto arg = dyn_cast<BlockArgument>(value);
  if (!arg)
    return "";
  auto function = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
  if (!function)
    return "";
  auto name =
      function.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "fsnn.name");
  return name ? name.getValue().str() : "";
}

/// Clones the one-block `region` at the builder with its argument bound to
/// `input` and returns the value it yields. With `statistics`, batch norm on
/// running statistics becomes batch norm on the batch's, whose statistics
/// are appended there.
Value cloneMap(OpBuilder &b, Region &region, Value input,
               BatchStatistics *statistics, SmallVector<Operation *> &ops) {
  Block &block = region.front();
  IRMapping mapping;
  mapping.map(block.getArgument(0), input);
  for (Operation &op : block.without_terminator()) {
    auto bn = dyn_cast<BatchNormOp>(op);
    if (!bn || !statistics) {
      ops.push_back(b.clone(op, mapping));
      continue;
    }
    auto train = BatchNormTrainOp::create(
        b, bn.getLoc(), bn.getType(), bn.getGamma().getType(),
        bn.getGamma().getType(), mapping.lookup(bn.getInput()), bn.getGamma(),
        bn.getBeta(), bn.getEpsilonAttr());
    ops.push_back(train);
    mapping.map(bn.getResult(), train.getResult());
    statistics->push_back(
        {"batch_mean:" + argumentName(bn.getMean()), train.getBatchMean()});
    statistics->push_back({"batch_variance:" + argumentName(bn.getVariance()),
                           train.getBatchVariance()});
  }
  return mapping.lookup(cast<YieldOp>(block.getTerminator()).getValues()[0]);
}

/// One application of the equilibrium map of `feedback` with layer 1's input
/// current `current` to the last layer's rate `rate` (docs/method.md §2.3),
/// appended to `ops`; the last op yields the result.
Value applyEquilibriumMap(OpBuilder &b, FeedbackOp feedback, Value current,
                          Value rate, BatchStatistics *statistics,
                          SmallVector<Operation *> &ops) {
  Location loc = feedback.getLoc();
  double vth = feedback.getNeuron().getThresholdValue();
  Value feedbackCurrent =
      cloneMap(b, feedback.getFeedback(), rate, statistics, ops);
  auto z = arith::AddFOp::create(b, loc, feedbackCurrent, current);
  ops.push_back(z);
  Operation *layerRate =
      ClampRateOp::create(b, loc, z.getType(), z, b.getF64FloatAttr(vth));
  ops.push_back(layerRate);
  for (unsigned l = 1; l < feedback.getNumLayers(); ++l) {
    Value layerCurrent = cloneMap(b, feedback.getLayers()[l],
                                  layerRate->getResult(0), statistics, ops);
    layerRate = ClampRateOp::create(b, loc, layerCurrent.getType(),
                                    layerCurrent, b.getF64FloatAttr(vth));
    ops.push_back(layerRate);
  }
  return layerRate->getResult(0);
}

SolverKind solverOf(FeedbackOp feedback) {
  auto name = feedback->getAttrOfType<StringAttr>("fsnn.adjoint_solver");
  if (!name)
    return SolverKind::Broyden;
  return symbolizeSolverKind(name.getValue()).value_or(SolverKind::Broyden);
}

LogicalResult generateBackward(func::FuncOp function) {
  Block &body = function.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  SoftmaxCrossEntropyOp lossOp;
  FeedbackOp feedback;
  for (Operation &op : body) {
    if (auto l = dyn_cast<SoftmaxCrossEntropyOp>(op)) {
      if (lossOp)
        return l.emitOpError() << "is a second loss; the training step has "
                                  "one";
      lossOp = l;
    }
    if (auto f = dyn_cast<FeedbackOp>(op)) {
      if (feedback)
        return f.emitOpError() << "is a second simulation; the training step "
                                  "has one";
      feedback = f;
    }
  }
  if (!lossOp || !feedback)
    return function.emitOpError()
           << "is not a training forward function: it needs one "
              "fsnn.feedback and one fsnn.softmax_cross_entropy";
  if (failed(checkSupported(feedback)))
    return failure();
  // Layer 1's current at x*: the simulation's input (static input, computed
  // before it), or for spike frames the marked map of the averaged input.
  Value current = feedback.getInput();
  if (feedback.getInputKind() == InputKind::SpikeFrames) {
    current = Value();
    for (Operation &op : body)
      if (op.hasAttr(kEquilibriumCurrent) && op.getNumResults() == 1)
        current = op.getResult(0);
    if (!current || current.getType() != feedback.getRates()[0].getType())
      return feedback.emitOpError()
             << "takes spike frames, and no op of layer 1's shape is marked "
                "as the current of the time-averaged input ("
             << kEquilibriumCurrent
             << "); import the model for training (fsnn-translate --import "
                "--training), which computes it";
  }

  SmallVector<Value> trainable;
  for (BlockArgument arg : function.getArguments())
    if (function.getArgAttr(arg.getArgNumber(), "fsnn.trainable"))
      trainable.push_back(arg);

  SmallVector<Operation *> before, after;
  for (Operation &op : body.without_terminator()) {
    if (&op == feedback.getOperation())
      continue;
    (op.isBeforeInBlock(feedback) ? before : after).push_back(&op);
  }

  OpBuilder b(ret);
  Location loc = feedback.getLoc();
  Value rate = feedback.getRates().back();

  // 1. The readout: from the loss to ∂L/∂a (and the readout's weights).
  SmallVector<Value> seeds(trainable);
  seeds.push_back(rate);
  DenseSet<Value> activeAfter = activeValues(after, seeds);
  Cotangents cot(b);
  cot.add(lossOp.getLoc(), lossOp.getLogits(), lossOp.getGrad());
  SmallVector<Operation *> readout;
  for (Operation *op : after)
    if (op != lossOp.getOperation())
      readout.push_back(op);
  if (failed(reverse(b, readout, activeAfter, cot)))
    return failure();
  Value rateGradient = cot.lookup(rate);
  if (!rateGradient)
    return feedback.emitOpError()
           << "its rate does not reach the loss; nothing to differentiate";

  // 2. The equilibrium map (docs/method.md §2.3): z = W(a_N) + I,
  // a_1 = σ(z / V_th), a_l = σ(F_l(a_(l-1)) / V_th), f(a_N) = the last.
  // The parameter gradients go through f at the simulated rate with layers
  // 2..N's batch norm on the batch's statistics; the adjoint's Jacobian is
  // of f on running statistics, at that rate (one layer) or at the value of
  // the first map (several; §3.2).
  unsigned numLayers = feedback.getNumLayers();
  BatchStatistics paramStatistics;
  SmallVector<Operation *> paramOps;
  Value paramMap = applyEquilibriumMap(b, feedback, current, rate,
                                       &paramStatistics, paramOps);
  SmallVector<Operation *> jacobianOps;
  Value jacobianPoint = rate;
  if (numLayers == 1) {
    jacobianOps = paramOps;
  } else {
    jacobianPoint = paramMap;
    applyEquilibriumMap(b, feedback, current, paramMap, nullptr, jacobianOps);
  }
  Value jacobianMap = jacobianOps.back()->getResult(0);

  // The adjoint: β = J_fᵀβ + ∂L/∂a, with J_fᵀ v the reverse sweep of the
  // map in the operator region (active: what depends on the point).
  auto rateType = tensorTypeOf(rate);
  auto residualType = RankedTensorType::get({rateType.getDimSize(0)},
                                            rateType.getElementType());
  int64_t iterations = 30;
  if (auto attr =
          feedback->getAttrOfType<IntegerAttr>("fsnn.adjoint_max_iterations"))
    iterations = attr.getInt();
  double tolerance = 0.0;
  if (auto attr = feedback->getAttrOfType<FloatAttr>("fsnn.adjoint_tolerance"))
    tolerance = attr.getValueAsDouble();
  auto solve = LinearFixedPointOp::create(
      b, loc, rateType, residualType, rateGradient,
      SolverKindAttr::get(b.getContext(), solverOf(feedback)),
      b.getI64IntegerAttr(iterations), b.getF64FloatAttr(tolerance));
  {
    OpBuilder::InsertionGuard guard(b);
    Block *block = b.createBlock(&solve.getOperator(), {}, {rateType}, {loc});
    DenseSet<Value> activeInMap =
        activeValues(jacobianOps, ValueRange{jacobianPoint});
    Cotangents inner(b);
    inner.add(loc, jacobianMap, block->getArgument(0));
    if (failed(reverse(b, jacobianOps, activeInMap, inner)))
      return failure();
    Value vjp = inner.lookup(jacobianPoint);
    if (!vjp)
      vjp = zeros(b, loc, rateType);
    YieldOp::create(b, loc, ValueRange{vjp});
  }

  // 3. β through one application of f, then through everything before the
  // simulation, to the arguments.
  SmallVector<Value> paramSeeds(trainable);
  DenseSet<Value> activeBefore = activeValues(before, paramSeeds);
  DenseSet<Value> activeMap = activeBefore;
  for (Operation *op : paramOps)
    for (Value result : op->getResults())
      if (llvm::any_of(op->getOperands(),
                       [&](Value v) { return activeMap.contains(v); }))
        activeMap.insert(result);
  cot.add(loc, paramMap, solve.getSolution());
  if (failed(reverse(b, paramOps, activeMap, cot)) ||
      failed(reverse(b, before, activeBefore, cot)))
    return failure();

  SmallVector<Value> results(ret.getOperands());
  SmallVector<Attribute> resultAttrs;
  for (unsigned i = 0; i < ret.getNumOperands(); ++i)
    resultAttrs.push_back(function.getResultAttrDict(i)
                              ? Attribute(function.getResultAttrDict(i))
                              : Attribute(b.getDictionaryAttr({})));
  auto named = [&](StringRef name) {
    return b.getDictionaryAttr(
        b.getNamedAttr("fsnn.name", b.getStringAttr(name)));
  };
  for (auto &[name, value] : paramStatistics) {
    if (name.back() == ':')
      return value.getDefiningOp()->emitOpError()
             << "normalises with running statistics that are not arguments "
                "of the function; the trainer could not update them";
    results.push_back(value);
    resultAttrs.push_back(named(name));
  }
  for (Value arg : trainable) {
    Value g = cot.lookup(arg);
    if (!g)
      g = zeros(b, loc, tensorTypeOf(arg));
    results.push_back(g);
    auto name = function.getArgAttrOfType<StringAttr>(
        cast<BlockArgument>(arg).getArgNumber(), "fsnn.name");
    resultAttrs.push_back(named(
        "grad:" +
        (name ? name.getValue().str()
              : "arg" +
                    std::to_string(cast<BlockArgument>(arg).getArgNumber()))));
  }
  results.push_back(solve.getResidual());
  resultAttrs.push_back(named("adjoint_residual"));
  // |∂L/∂a| per sample, the residual the solve starts from: a trainer
  // reports samples whose solve did not bring it down.
  Value squares = arith::MulFOp::create(b, loc, rateGradient, rateGradient);
  SmallVector<int64_t> featureDims;
  for (int64_t d = 1; d < rateType.getRank(); ++d)
    featureDims.push_back(d);
  Value sumOfSquares = sumOver(b, loc, squares, residualType, featureDims);
  results.push_back(math::SqrtOp::create(b, loc, sumOfSquares));
  resultAttrs.push_back(named("adjoint_rhs_norm"));
  func::ReturnOp::create(b, ret.getLoc(), results);
  ret.erase();
  function.setFunctionType(b.getFunctionType(function.getArgumentTypes(),
                                             ValueRange(results).getTypes()));
  function.setAllResultAttrs(resultAttrs);
  return success();
}

struct FSNNGenerateBackwardPass
    : public fsnn::impl::FSNNGenerateBackwardPassBase<
          FSNNGenerateBackwardPass> {
  void runOnOperation() override {
    func::FuncOp function = getOperation();
    if (function.isExternal())
      return;
    // A function is differentiated once; running the pass again (as a
    // pipeline that includes it may) leaves it alone.
    if (function->hasAttr(kBackwardGenerated))
      return;
    bool hasLoss = false;
    function.walk([&](SoftmaxCrossEntropyOp) { hasLoss = true; });
    if (!hasLoss)
      return;
    if (failed(generateBackward(function)))
      return signalPassFailure();
    function->setAttr(kBackwardGenerated, UnitAttr::get(&getContext()));
  }
};

} // namespace
