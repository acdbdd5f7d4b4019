//===- Feedback.cpp - the simulation as a loop over time
//--------------------===//
//
// fsnn.feedback: the T steps of the multi-layer simulation as an scf.for
// whose body inlines the maps (their fsnn ops are lowered by the other
// patterns) and updates every neuron in one elementwise pass.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/FSNNToLinalg/LoweringBuilders.h"

#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::fsnn;
using namespace mlir::fsnn::lowering;

Value mlir::fsnn::lowering::inlineMap(OpBuilder &b, Region &region,
                                      Value argument, bool argumentIsSpikes) {
  Block &block = region.front();
  IRMapping mapping;
  mapping.map(block.getArgument(0), argument);
  for (Operation &op : block.without_terminator()) {
    Operation *clone = b.clone(op, mapping);
    auto map = dyn_cast<SynapticMapOpInterface>(op);
    if (argumentIsSpikes && map && map.hasEventDrivenForm() &&
        map.getInput() == block.getArgument(0))
      clone->setAttr(kSpikeInput, b.getUnitAttr());
  }
  auto yield = cast<YieldOp>(block.getTerminator());
  return mapping.lookup(yield.getValues()[0]);
}

NeuronStep mlir::fsnn::lowering::neuronStep(OpBuilder &nb, Location nl,
                                            NeuronAttr neuron, Value u,
                                            Value current, Value acc,
                                            Value count) {
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

double mlir::fsnn::lowering::rateNormaliser(int64_t steps, double leak) {
  double normaliser = 0, weight = 1;
  for (int64_t k = 0; k < steps; ++k) {
    normaliser += weight;
    weight *= leak;
  }
  return normaliser;
}

namespace {

using utils::IteratorType;

/// The rates and counts of every layer have static shapes.
bool hasStaticShapes(FeedbackOp op) {
  for (Value result : op->getResults())
    if (!cast<RankedTensorType>(result.getType()).hasStaticShape())
      return false;
  return true;
}

void lowerFeedback(Lowering &outer, FeedbackOp op,
                   SmallVectorImpl<Value> &results) {
  OpBuilder &b = outer.b;
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
}

} // namespace

LogicalResult mlir::fsnn::lowering::checkFeedbackSupported(FeedbackOp op) {
  if (hasStaticShapes(op))
    return success();
  return op.emitOpError() << "the CPU lowering needs static shapes; import "
                             "the model with a batch size";
}

void mlir::fsnn::lowering::populateFeedbackPatterns(
    RewritePatternSet &patterns, const LoweringOptions &options) {
  addLowering<FeedbackOp>(patterns, options, several(lowerFeedback),
                          hasStaticShapes);
  if (options.target == LoweringTarget::GPU)
    populateFusedFeedbackPatterns(patterns, options);
}
