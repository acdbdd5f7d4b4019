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
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::fsnn;
using namespace mlir::fsnn::lowering;

/// Clones the single-block `region` at the builder's insertion point with
/// its argument bound to `argument`, lets `adjust` amend each clone, and
/// returns the yielded value.
static Value
cloneRegion(OpBuilder &b, Region &region, Value argument,
            function_ref<void(Operation &original, Operation *clone)> adjust) {
  Block &block = region.front();
  IRMapping mapping;
  mapping.map(block.getArgument(0), argument);
  for (Operation &op : block.without_terminator())
    adjust(op, b.clone(op, mapping));
  auto yield = cast<YieldOp>(block.getTerminator());
  return mapping.lookup(yield.getValues()[0]);
}

Value mlir::fsnn::lowering::inlineMap(OpBuilder &b, Region &region,
                                      Value argument, bool argumentIsSpikes) {
  Value regionArgument = region.front().getArgument(0);
  return cloneRegion(b, region, argument, [&](Operation &op, Operation *clone) {
    auto map = dyn_cast<SynapticMapOpInterface>(op);
    if (argumentIsSpikes && map && map.hasEventDrivenForm() &&
        map.getInput() == regionArgument)
      clone->setAttr(kSpikeInput, b.getUnitAttr());
  });
}

bool mlir::fsnn::lowering::isChangeDrivable(Region &region) {
  Block &block = region.front();
  auto ops = block.without_terminator();
  if (ops.empty())
    return false;
  auto map = dyn_cast<SynapticMapOpInterface>(*ops.begin());
  if (!map || map.getInput() != block.getArgument(0))
    return false;
  if (!map.hasEventDrivenForm())
    return false;
  if (auto conv = dyn_cast<Conv2DOp>(map.getOperation());
      conv && !paddingWithinKernel(conv))
    return false;
  if (auto transposed = dyn_cast<ConvTranspose2DOp>(map.getOperation());
      transposed && !paddingWithinKernel(transposed))
    return false;
  Value last = map->getResult(0);
  auto definedOutside = [&](Value v) {
    return !region.isAncestor(v.getParentRegion());
  };
  for (Operation &op : llvm::drop_begin(ops)) {
    bool linear =
        TypeSwitch<Operation *, bool>(&op)
            .Case([&](DropoutOp d) {
              return d.getInput() == last && definedOutside(d.getMask());
            })
            .Case([&](FlattenOp f) { return f.getInput() == last; })
            .Case([&](AvgPool2DOp p) { return p.getInput() == last; })
            .Default(false);
    if (!linear)
      return false;
    last = op.getResult(0);
  }
  return cast<YieldOp>(block.getTerminator()).getValues() == ValueRange{last};
}

Value mlir::fsnn::lowering::inlineLinearPart(OpBuilder &b, Region &region,
                                             Value change) {
  return cloneRegion(b, region, change, [&](Operation &, Operation *clone) {
    if (auto map = dyn_cast<SynapticMapOpInterface>(clone)) {
      map.getBiasMutable().clear();
      clone->setAttr(kSpikeInput, b.getUnitAttr());
    }
  });
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

/// The linear map a region consists of (its argument's map, yielded, with a
/// weight from outside the region), or null.
LinearOp singleLinearMap(Region &region) {
  Block &block = region.front();
  if (block.getOperations().size() != 2)
    return {};
  auto linear = dyn_cast<LinearOp>(block.front());
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (!linear || !yield || linear.getInput() != block.getArgument(0) ||
      yield.getValues().size() != 1 ||
      yield.getValues()[0] != linear.getResult() ||
      linear.getWeight().getParentRegion() == &region)
    return {};
  return linear;
}

void lowerFeedback(Lowering &outer, FeedbackOp op,
                   SmallVectorImpl<Value> &results) {
  OpBuilder &b = outer.b;
  Location loc = op.getLoc();
  Lowering l = outer.at(b, loc);
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

  // The maps of spikes: the feedback (reading the last layer), then layer i
  // (reading layer i - 1). Those that can be propagated by change carry
  // their output R(s) from step to step, starting at R(0), and their input
  // layer then also carries the change of its spikes at its last update.
  SmallVector<Region *> spikeMaps{&op.getFeedback()};
  for (unsigned i = 1; i < numLayers; ++i)
    spikeMaps.push_back(&op.getLayers()[i]);
  auto sourceLayer = [&](unsigned m) { return m == 0 ? numLayers - 1 : m - 1; };
  SmallVector<bool> byChange(spikeMaps.size(), false);
  SmallVector<bool> tracksChange(numLayers, false);
  for (auto [m, region] : llvm::enumerate(spikeMaps))
    if (!outer.gpu && outer.propagateByChange && isChangeDrivable(*region))
      byChange[m] = tracksChange[sourceLayer(m)] = true;

  // Loop state: per layer potential u, spikes s, accumulator acc, count n
  // (for LIF neurons: an IF neuron's accumulator is its count, exactly, so
  // the count is converted from it after the loop instead of read and
  // written at every step), then (where tracked) the change of s; then per
  // map propagated by change its output. Every update writes into its state
  // in place.
  bool carriesCounts = leak != 1.0;
  unsigned layerState = carriesCounts ? 4 : 3;
  SmallVector<Value> init;
  SmallVector<unsigned> layerSlot, changeSlot(numLayers, 0),
      outputSlot(spikeMaps.size(), 0);
  for (unsigned i = 0; i < numLayers; ++i) {
    layerSlot.push_back(init.size());
    init.push_back(l.filled(rateTypes[i], 0.0));
    init.push_back(l.filled(rateTypes[i], 0.0));
    init.push_back(l.filled(rateTypes[i], 0.0));
    if (carriesCounts)
      init.push_back(arith::ConstantOp::create(
          b, loc, countTypes[i],
          DenseElementsAttr::get(countTypes[i], b.getI32IntegerAttr(0))));
    if (tracksChange[i]) {
      changeSlot[i] = init.size();
      init.push_back(l.filled(rateTypes[i], 0.0));
    }
  }
  for (auto [m, region] : llvm::enumerate(spikeMaps)) {
    if (!byChange[m])
      continue;
    outputSlot[m] = init.size();
    // R(0) of one linear map is its bias: without running the map on no
    // spikes, which would form a second Wᵀ per call.
    if (LinearOp linear = singleLinearMap(*region)) {
      init.push_back(l.initWithBias(linear.getType(), linear.getBias(), 1));
      continue;
    }
    init.push_back(inlineMap(b, *region,
                             l.filled(rateTypes[sourceLayer(m)], 0.0),
                             /*argumentIsSpikes=*/true));
  }

  Value lower = indexConstant(b, loc, 0);
  Value upper = indexConstant(b, loc, steps);
  Value one = indexConstant(b, loc, 1);
  auto loop = scf::ForOp::create(
      b, loc, lower, upper, one, init,
      [&](OpBuilder &lb, Location ll, Value t, ValueRange state) {
        Lowering in = outer.at(lb, ll);
        SmallVector<Value> next(state);
        // R(s) of map m, s being its source layer's spikes in `next`: by
        // change where the map allows, R(s') + L(s - s'), which visits only
        // the neurons whose spike changed.
        auto applySpikeMap = [&](unsigned m) -> Value {
          Region &region = *spikeMaps[m];
          unsigned source = sourceLayer(m);
          if (!byChange[m])
            return inlineMap(lb, region, next[layerSlot[source] + 1],
                             /*argumentIsSpikes=*/true);
          Value &output = next[outputSlot[m]];
          // A region that is one linear map of the spikes adds the map of
          // the change into R itself: no separate L(change) to fill, copy
          // and add.
          if (LinearOp linear = singleLinearMap(region)) {
            output = accumulateSpikeLinear(in, next[changeSlot[source]],
                                           linear.getWeight(), output);
            return output;
          }
          Value linear = inlineLinearPart(lb, region, next[changeSlot[source]]);
          RankedTensorType type = in.typeOf(linear);
          Value flatOutput = in.flat(output);
          output = in.unflat(
              type,
              in.generic(in.typeOf(flatOutput), ValueRange{in.flat(linear)},
                         flatOutput, {in.identity(1), in.identity(1)}, {kPar},
                         [](OpBuilder &nb, Location nl, ValueRange a) {
                           return (Value)arith::AddFOp::create(nb, nl, a[1],
                                                               a[0]);
                         }));
          return output;
        };
        Value first = arith::CmpIOp::create(lb, ll, arith::CmpIPredicate::eq, t,
                                            indexConstant(lb, ll, 0));
        for (unsigned i = 0; i < numLayers; ++i) {
          RankedTensorType type = rateTypes[i];
          // The terms of the input current, summed in this order; the
          // feedback (none at step 1, docs/method.md §1.3) is dropped there.
          // The map still runs at every step (at step 1 on no spikes, which
          // event-driven maps make cheap), so that its parameter-only work
          // stays in the loop body, where loop-invariant code motion can
          // hoist it.
          SmallVector<Value> current;
          bool gatedFeedback = i == 0;
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
            current.push_back(applySpikeMap(0));
          } else {
            current.push_back(applySpikeMap(i));
          }
          // The whole neuron update in one elementwise pass: separate ops
          // would each write a temporary (an i1 one among them) per step.
          // It reads the previous spikes from the tensor it overwrites, to
          // write their change.
          unsigned base = layerSlot[i];
          SmallVector<Value> outputs(next.begin() + base,
                                     next.begin() + base + layerState);
          if (tracksChange[i])
            outputs.push_back(next[changeSlot[i]]);
          SmallVector<Value> flatCurrent, flatOutputs;
          for (Value term : current)
            flatCurrent.push_back(in.flat(term));
          for (Value output : outputs)
            flatOutputs.push_back(in.flat(output));
          SmallVector<AffineMap> maps(current.size() + outputs.size(),
                                      in.identity(1));
          auto update = linalg::GenericOp::create(
              lb, ll, ValueRange(flatOutputs).getTypes(), flatCurrent,
              flatOutputs, maps, {kPar},
              [&](OpBuilder &nb, Location nl, ValueRange a) {
                size_t terms = current.size();
                Value sum = a[0];
                for (size_t k = 1; k < terms; ++k) {
                  Value term = a[k];
                  if (gatedFeedback && k == 1)
                    term = arith::SelectOp::create(
                        nb, nl, first,
                        floatConstant(nb, nl, type.getElementType(), 0.0),
                        term);
                  sum = arith::AddFOp::create(nb, nl, sum, term);
                }
                Value count = carriesCounts
                                  ? a[terms + 3]
                                  : (Value)arith::ConstantOp::create(
                                        nb, nl, nb.getI32IntegerAttr(0));
                NeuronStep step = neuronStep(nb, nl, neuron, a[terms], sum,
                                             a[terms + 2], count);
                SmallVector<Value> yielded{step.potential, step.spike,
                                           step.accumulator};
                if (carriesCounts)
                  yielded.push_back(step.count);
                if (tracksChange[i])
                  yielded.push_back(
                      arith::SubFOp::create(nb, nl, step.spike, a[terms + 1]));
                linalg::YieldOp::create(nb, nl, yielded);
              });
          in.markParallelIfLarge(update);
          for (unsigned k = 0; k < layerState; ++k)
            next[base + k] =
                in.unflat(in.typeOf(outputs[k]), update.getResult(k));
          if (tracksChange[i])
            next[changeSlot[i]] = in.unflat(type, update.getResult(layerState));
        }
        scf::YieldOp::create(lb, ll, next);
      });
  double normaliser = rateNormaliser(steps, leak);
  for (unsigned i = 0; i < numLayers; ++i)
    results.push_back(
        arith::MulFOp::create(b, loc, loop.getResult(layerSlot[i] + 2),
                              l.splat(rateTypes[i], 1.0 / normaliser)));
  for (unsigned i = 0; i < numLayers; ++i)
    results.push_back(carriesCounts ? loop.getResult(layerSlot[i] + 3)
                                    : (Value)arith::FPToSIOp::create(
                                          b, loc, countTypes[i],
                                          loop.getResult(layerSlot[i] + 2)));
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
