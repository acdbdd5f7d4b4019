//===- FeedbackGPU.cpp - the simulation as one GPU kernel
//-------------------===//
//
// The GPU pattern set's form of fsnn.feedback when one block of threads can
// run a sample's whole simulation.
//
//===----------------------------------------------------------------------===//

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "passes/Conversion/FSNNToLinalg/LoweringBuilders.h"

using namespace mlir;
using namespace mlir::fsnn;
using namespace mlir::fsnn::lowering;

namespace {

/// The feedback layer's map when the simulation can run as one GPU kernel:
/// one layer, static input, a feedback map that is a linear map on the
/// spikes (its weight from outside), in training followed by dropout, and a
/// batch x N state whose N neurons one block of threads covers.
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
  OpBuilder kb(b.getContext(), b.getListener());
  kb.setInsertionPointToStart(&launch.getBody().front());
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

} // namespace

void mlir::fsnn::lowering::populateFusedFeedbackPatterns(
    RewritePatternSet &patterns, const LoweringOptions &options) {
  addLowering<FeedbackOp>(
      patterns, options,
      [](Lowering &l, FeedbackOp op, SmallVectorImpl<Value> &results) {
        return lowerFeedbackOnGPU(l.b, op, fusableFeedback(op), results);
      },
      [](FeedbackOp op) {
        return static_cast<bool>(fusableFeedback(op).linear);
      },
      /*benefit=*/2);
}
