//===- ParallelLoopsToGPU.cpp - one launch per outermost parallel loop ----===//
//
// fsnn-parallel-loops-to-gpu: each outermost scf.parallel becomes a
// gpu.launch over its linearised iteration space.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/IR/IRMapping.h"

namespace mlir::fsnn {
#define GEN_PASS_DEF_FSNNPARALLELLOOPSTOGPUPASS
#include "passes/Passes.h.inc"
} // namespace mlir::fsnn

using namespace mlir;

namespace {

struct FSNNParallelLoopsToGPUPass
    : public fsnn::impl::FSNNParallelLoopsToGPUPassBase<
          FSNNParallelLoopsToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    if (blockSize < 1 || blockSize > 1024) {
      getOperation().emitError()
          << "fsnn-parallel-loops-to-gpu: block-size must be in 1..1024, not "
          << static_cast<int64_t>(blockSize);
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> loops;
    getOperation().walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
        loops.push_back(loop);
        return WalkResult::skip();
      }
      return WalkResult::advance();
    });
    for (scf::ParallelOp loop : loops)
      if (failed(convert(loop)))
        return signalPassFailure();
  }

  LogicalResult convert(scf::ParallelOp loop) {
    if (loop.getNumResults() != 0)
      return loop.emitOpError()
             << "has reductions, which fsnn-parallel-loops-to-gpu does not "
                "map to threads";
    OpBuilder b(loop);
    Location loc = loop.getLoc();
    auto index = [&](int64_t value) -> Value {
      return arith::ConstantIndexOp::create(b, loc, value);
    };
    SmallVector<Value> counts;
    Value total = index(1);
    for (auto [lower, upper, step] : llvm::zip(
             loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
      Value extent = b.createOrFold<arith::SubIOp>(loc, upper, lower);
      counts.push_back(b.createOrFold<arith::CeilDivUIOp>(loc, extent, step));
      total = b.createOrFold<arith::MulIOp>(loc, total, counts.back());
    }
    Value block = index(blockSize);
    Value grid = b.createOrFold<arith::CeilDivUIOp>(loc, total, block);
    Value one = index(1);
    auto launch =
        gpu::LaunchOp::create(b, loc, grid, one, one, block, one, one);
    Block &body = launch.getBody().front();
    b.setInsertionPointToStart(&body);
    Value id = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, block),
        launch.getThreadIds().x);
    Value inside =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, id, total);
    auto guard = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
    b.setInsertionPointToStart(guard.thenBlock());
    // The last dimension varies fastest, so that neighbouring threads touch
    // neighbouring elements of row-major buffers.
    IRMapping mapping;
    Value rest = id;
    for (int64_t d = loop.getNumLoops() - 1; d >= 0; --d) {
      Value position = arith::RemUIOp::create(b, loc, rest, counts[d]);
      rest = arith::DivUIOp::create(b, loc, rest, counts[d]);
      Value iv = arith::AddIOp::create(
          b, loc, loop.getLowerBound()[d],
          arith::MulIOp::create(b, loc, position, loop.getStep()[d]));
      mapping.map(loop.getInductionVars()[d], iv);
    }
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, mapping);
    b.setInsertionPointToEnd(&body);
    gpu::TerminatorOp::create(b, loc);
    loop.erase();
    return success();
  }
};

} // namespace
