//===- GPUToHostLoops.cpp - kernels run as host loops, for testing -------===//
//
// The oracle of the GPU lowering on machines without a GPU: the IR that
// fsnn-parallel-loops-to-gpu and fsnn-place-on-device produce runs on the
// CPU, every thread of every block in turn, and must give what the CPU
// lowering and the reference executor give.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::fsnn {
#define GEN_PASS_DEF_FSNNGPUTOHOSTLOOPSPASS
#include "passes/Passes.h.inc"
} // namespace mlir::fsnn

using namespace mlir;

namespace {

struct FSNNGPUToHostLoopsPass
    : public fsnn::impl::FSNNGPUToHostLoopsPassBase<FSNNGPUToHostLoopsPass> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<gpu::LaunchOp, gpu::AllocOp, gpu::DeallocOp, gpu::MemcpyOp,
              gpu::MemsetOp>(op))
        ops.push_back(op);
    });
    OpBuilder b(&getContext());
    for (Operation *op : ops) {
      b.setInsertionPoint(op);
      Location loc = op->getLoc();
      if (op->getNumResults() > 0 &&
          isa<gpu::AsyncTokenType>(op->getResults().back().getType())) {
        op->emitOpError() << "is asynchronous; fsnn-gpu-to-host-loops runs "
                             "before gpu-async-region";
        return signalPassFailure();
      }
      if (auto alloc = dyn_cast<gpu::AllocOp>(op)) {
        Value host = memref::AllocOp::create(
            b, loc, alloc.getMemref().getType(), alloc.getDynamicSizes(),
            alloc.getSymbolOperands(), IntegerAttr());
        alloc.getMemref().replaceAllUsesWith(host);
      } else if (auto dealloc = dyn_cast<gpu::DeallocOp>(op)) {
        memref::DeallocOp::create(b, loc, dealloc.getMemref());
      } else if (auto copy = dyn_cast<gpu::MemcpyOp>(op)) {
        memref::CopyOp::create(b, loc, copy.getSrc(), copy.getDst());
      } else if (auto set = dyn_cast<gpu::MemsetOp>(op)) {
        linalg::FillOp::create(b, loc, ValueRange{set.getValue()},
                               ValueRange{set.getDst()});
      } else if (failed(emulate(b, cast<gpu::LaunchOp>(op)))) {
        return signalPassFailure();
      }
      op->erase();
    }
  }

  /// for z, y, x over the grid, then over the block: the body, with the
  /// ids and sizes it reads. Where the body has barriers, each stretch
  /// between them runs for every thread before the next begins (below).
  LogicalResult emulate(OpBuilder &b, gpu::LaunchOp launch) {
    Region &body = launch.getBody();
    if (!body.hasOneBlock())
      return launch.emitOpError()
             << "has a body of several blocks, which fsnn-gpu-to-host-loops "
                "does not run";
    if (!launch.getWorkgroupAttributions().empty() ||
        !launch.getPrivateAttributions().empty())
      return launch.emitOpError() << "has memory attributions, which "
                                     "fsnn-gpu-to-host-loops does not run";
    Location loc = launch.getLoc();
    zero = arith::ConstantIndexOp::create(b, loc, 0);
    one = arith::ConstantIndexOp::create(b, loc, 1);
    gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
    block = launch.getBlockSizeOperandValues();
    mapping = IRMapping();
    gpu::KernelDim3 gridArgs = launch.getGridSize();
    gpu::KernelDim3 blockArgs = launch.getBlockSize();
    for (auto [arg, value] :
         llvm::zip(SmallVector<Value>{gridArgs.x, gridArgs.y, gridArgs.z,
                                      blockArgs.x, blockArgs.y, blockArgs.z},
                   SmallVector<Value>{grid.x, grid.y, grid.z, block.x, block.y,
                                      block.z}))
      mapping.map(arg, value);
    gpu::KernelDim3 blockIds = launch.getBlockIds();
    threadIds = launch.getThreadIds();
    enterLoops(b, loc, blockIds, grid);
    threadDependent.clear();
    threadDependent.insert(threadIds.x);
    threadDependent.insert(threadIds.y);
    threadDependent.insert(threadIds.z);
    return emitStretches(b, body.front().without_terminator(), loc);
  }

private:
  /// Loops over z, y, x of `extents`, `ids` mapped to their induction
  /// variables; the builder ends inside the innermost.
  void enterLoops(OpBuilder &b, Location loc, gpu::KernelDim3 ids,
                  gpu::KernelDim3 extents) {
    for (auto [id, extent] : SmallVector<std::pair<Value, Value>>{
             {ids.z, extents.z}, {ids.y, extents.y}, {ids.x, extents.x}}) {
      auto loop = scf::ForOp::create(b, loc, zero, extent, one);
      mapping.map(id, loop.getInductionVar());
      b.setInsertionPointToStart(loop.getBody());
    }
  }

  /// Whether `op` has a barrier in it.
  static bool hasBarrier(Operation *op) {
    return op->walk([](gpu::BarrierOp) { return WalkResult::interrupt(); })
        .wasInterrupted();
  }

  /// Whether `op`'s value may differ between the threads of a block: it
  /// reads a thread id, memory, or such a value.
  bool dependsOnThread(Operation *op) {
    if (!isPure(op) || op->getNumRegions() > 0)
      return true;
    for (Value operand : op->getOperands())
      if (threadDependent.contains(operand))
        return true;
    return false;
  }

  /// Runs `ops` (a stretch of the kernel body that may hold barriers):
  /// thread-invariant pure ops once, barrier-free runs of ops as loops over
  /// the threads, and loops that hold barriers as loops around their own
  /// stretches (their bounds the same for every thread, as CUDA requires).
  LogicalResult emitStretches(OpBuilder &b,
                              llvm::iterator_range<Block::iterator> ops,
                              Location loc) {
    SmallVector<Operation *> run;
    auto flush = [&]() -> LogicalResult {
      if (run.empty())
        return success();
      SmallPtrSet<Operation *, 16> inRun(run.begin(), run.end());
      for (Operation *op : run)
        for (Operation *user : op->getUsers()) {
          Operation *owner = user;
          while (owner && !inRun.contains(owner))
            owner = owner->getParentOp();
          if (!owner)
            return op->emitOpError()
                   << "defines a value used across a barrier, which "
                      "fsnn-gpu-to-host-loops cannot carry between threads";
        }
      OpBuilder::InsertionGuard guard(b);
      enterLoops(b, loc, threadIds, block);
      for (Operation *op : run)
        b.clone(*op, mapping);
      run.clear();
      return success();
    };
    for (Operation &op : ops) {
      if (isa<gpu::BarrierOp>(op)) {
        if (failed(flush()))
          return failure();
        continue;
      }
      if (hasBarrier(&op)) {
        auto loop = dyn_cast<scf::ForOp>(op);
        if (!loop || loop.getNumResults() != 0 ||
            llvm::any_of(loop->getOperands(),
                         [&](Value v) { return threadDependent.contains(v); }))
          return op.emitOpError()
                 << "holds a barrier but is not a loop with the same bounds "
                    "for every thread, which fsnn-gpu-to-host-loops cannot "
                    "run";
        if (failed(flush()))
          return failure();
        auto copy = scf::ForOp::create(
            b, loc, mapping.lookupOrDefault(loop.getLowerBound()),
            mapping.lookupOrDefault(loop.getUpperBound()),
            mapping.lookupOrDefault(loop.getStep()));
        mapping.map(loop.getInductionVar(), copy.getInductionVar());
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(copy.getBody());
        if (failed(emitStretches(b, loop.getBody()->without_terminator(), loc)))
          return failure();
        continue;
      }
      if (!dependsOnThread(&op)) {
        b.clone(op, mapping);
        continue;
      }
      for (Value result : op.getResults())
        threadDependent.insert(result);
      run.push_back(&op);
    }
    return flush();
  }

  Value zero, one;
  gpu::KernelDim3 block, threadIds;
  IRMapping mapping;
  DenseSet<Value> threadDependent;
};

} // namespace
