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
  /// ids and sizes it reads.
  LogicalResult emulate(OpBuilder &b, gpu::LaunchOp launch) {
    Region &body = launch.getBody();
    if (!body.hasOneBlock())
      return launch.emitOpError()
             << "has a body of several blocks, which fsnn-gpu-to-host-loops "
                "does not run";
    WalkResult barriers = body.walk([](gpu::BarrierOp barrier) {
      barrier.emitOpError() << "synchronises threads, which a sequential run "
                               "of the threads cannot do";
      return WalkResult::interrupt();
    });
    if (barriers.wasInterrupted())
      return failure();
    Location loc = launch.getLoc();
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
    gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
    IRMapping mapping;
    gpu::KernelDim3 gridArgs = launch.getGridSize();
    gpu::KernelDim3 blockArgs = launch.getBlockSize();
    for (auto [arg, value] :
         llvm::zip(SmallVector<Value>{gridArgs.x, gridArgs.y, gridArgs.z,
                                      blockArgs.x, blockArgs.y, blockArgs.z},
                   SmallVector<Value>{grid.x, grid.y, grid.z, block.x, block.y,
                                      block.z}))
      mapping.map(arg, value);
    gpu::KernelDim3 blockIds = launch.getBlockIds();
    gpu::KernelDim3 threadIds = launch.getThreadIds();
    SmallVector<std::pair<Value, Value>> loops = {
        {blockIds.z, grid.z},   {blockIds.y, grid.y},   {blockIds.x, grid.x},
        {threadIds.z, block.z}, {threadIds.y, block.y}, {threadIds.x, block.x}};
    for (auto [id, extent] : loops) {
      auto loop = scf::ForOp::create(b, loc, zero, extent, one);
      mapping.map(id, loop.getInductionVar());
      b.setInsertionPointToStart(loop.getBody());
    }
    for (Operation &op : body.front().without_terminator())
      b.clone(op, mapping);
    return success();
  }
};

} // namespace
