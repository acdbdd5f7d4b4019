//===- PlaceOnDevice.cpp - a host function's buffers in device memory -----===//
//
// fsnn-place-on-device: the function's buffers in device memory, copies at
// its boundary, host work on device buffers moved into one-thread kernels.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include <optional>

namespace mlir::fsnn {
#define GEN_PASS_DEF_FSNNPLACEONDEVICEPASS
#include "passes/Passes.h.inc"
} // namespace mlir::fsnn

using namespace mlir;

namespace {

/// Ops of `function` outside kernels, in pre-order; launches themselves are
/// included, their bodies not.
SmallVector<Operation *> hostOps(func::FuncOp function) {
  SmallVector<Operation *> ops;
  function.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (op == function.getOperation())
      return WalkResult::advance();
    ops.push_back(op);
    return isa<gpu::LaunchOp>(op) ? WalkResult::skip() : WalkResult::advance();
  });
  return ops;
}

/// Whether anything reads or writes the buffer `value`, through any chain of
/// views. An op that says nothing of its effects counts as both.
void accesses(Value value, bool &read, bool &written) {
  for (OpOperand &use : value.getUses()) {
    Operation *user = use.getOwner();
    if (auto view = dyn_cast<ViewLikeOpInterface>(user);
        view && view.getViewSource() == value) {
      for (Value result : user->getResults())
        accesses(result, read, written);
      continue;
    }
    if (isa<memref::ExtractStridedMetadataOp, memref::DimOp>(user))
      continue;
    auto effects = dyn_cast<MemoryEffectOpInterface>(user);
    if (!effects) {
      read = written = true;
      continue;
    }
    SmallVector<MemoryEffects::EffectInstance> onValue;
    effects.getEffectsOnValue(value, onValue);
    for (MemoryEffects::EffectInstance &effect : onValue) {
      read |= isa<MemoryEffects::Read>(effect.getEffect());
      written |= isa<MemoryEffects::Write>(effect.getEffect());
    }
  }
}

/// The value of a global whose every element is the same 32-bit one, or
/// null.
TypedAttr splatValue(memref::GetGlobalOp get) {
  auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
      get, get.getNameAttr());
  if (!global || !global.getConstant())
    return {};
  auto value =
      dyn_cast_or_null<DenseElementsAttr>(global.getInitialValueAttr());
  if (!value || !value.isSplat() ||
      value.getElementType().getIntOrFloatBitWidth() != 32)
    return {};
  return value.getSplatValue<TypedAttr>();
}

/// Writes `source` into `target` on the device: gpu.memset when `source`
/// is a 32-bit splat constant (no host array as large as the buffer to
/// copy), else gpu.memcpy.
Operation *fillFrom(OpBuilder &b, Location loc, Value target, Value source) {
  auto global = source.getDefiningOp<memref::GetGlobalOp>();
  if (TypedAttr splat = global ? splatValue(global) : TypedAttr()) {
    Value value = arith::ConstantOp::create(b, loc, splat);
    return gpu::MemsetOp::create(b, loc, Type(), ValueRange{}, target, value);
  }
  return gpu::MemcpyOp::create(b, loc, Type(), ValueRange{}, target, source);
}

bool isContiguous(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  return memref && memref.getLayout().isIdentity();
}

/// Memref values that may hold the same buffer (views, loop-carried and
/// selected values), as a union-find. A class that a kernel uses lives in
/// device memory; the others (the deallocation's ownership bookkeeping)
/// stay on the host.
class BufferClasses {
public:
  explicit BufferClasses(func::FuncOp function) {
    function.walk([&](Operation *op) {
      if (auto view = dyn_cast<ViewLikeOpInterface>(op)) {
        for (Value result : op->getResults())
          joinBuffers(view.getViewSource(), result);
      } else if (auto metadata =
                     dyn_cast<memref::ExtractStridedMetadataOp>(op)) {
        join(metadata.getSource(), metadata.getBaseBuffer());
      } else if (auto loop = dyn_cast<scf::ForOp>(op)) {
        auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
        for (unsigned i = 0; i < loop.getNumResults(); ++i) {
          joinBuffers(loop.getInitArgs()[i], loop.getRegionIterArgs()[i]);
          joinBuffers(loop.getInitArgs()[i], loop.getResult(i));
          joinBuffers(loop.getInitArgs()[i], yield.getOperand(i));
        }
      } else if (auto branch = dyn_cast<scf::IfOp>(op)) {
        for (unsigned i = 0; i < branch.getNumResults(); ++i) {
          joinBuffers(branch.getResult(i), branch.thenYield().getOperand(i));
          if (!branch.getElseRegion().empty())
            joinBuffers(branch.getResult(i), branch.elseYield().getOperand(i));
        }
      } else if (auto select = dyn_cast<arith::SelectOp>(op)) {
        joinBuffers(select.getResult(), select.getTrueValue());
        joinBuffers(select.getResult(), select.getFalseValue());
      }
    });
    // What kernels use, they capture from the host.
    function.walk([&](gpu::LaunchOp launch) {
      launch.getBody().walk([&](Operation *op) {
        for (Value operand : op->getOperands())
          if (isa<MemRefType>(operand.getType()) &&
              !launch.getBody().isAncestor(operand.getParentRegion()))
            onDevice.insert(find(operand));
      });
    });
  }

  bool isOnDevice(Value value) { return onDevice.contains(find(value)); }

private:
  Value find(Value value) {
    auto it = parent.find(value);
    if (it == parent.end() || it->second == value)
      return value;
    Value root = find(it->second);
    parent[value] = root;
    return root;
  }
  void join(Value a, Value b) {
    a = find(a);
    b = find(b);
    if (a != b)
      parent[a] = b;
  }
  void joinBuffers(Value a, Value b) {
    if (isa<BaseMemRefType>(a.getType()) && isa<BaseMemRefType>(b.getType()))
      join(a, b);
  }

  DenseMap<Value, Value> parent;
  DenseSet<Value> onDevice;
};

/// Whether `op` or an op nested in it reads or writes a device buffer.
bool touchesDevice(Operation *op, BufferClasses &classes) {
  WalkResult result = op->walk([&](Operation *nested) {
    auto effects = dyn_cast<MemoryEffectOpInterface>(nested);
    if (!effects)
      return WalkResult::advance();
    for (Value operand : nested->getOperands()) {
      if (!isa<BaseMemRefType>(operand.getType()) ||
          !classes.isOnDevice(operand))
        continue;
      SmallVector<MemoryEffects::EffectInstance> onValue;
      effects.getEffectsOnValue(operand, onValue);
      for (MemoryEffects::EffectInstance &effect : onValue)
        if (isa<MemoryEffects::Read, MemoryEffects::Write>(effect.getEffect()))
          return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return result.wasInterrupted();
}

struct FSNNPlaceOnDevicePass
    : public fsnn::impl::FSNNPlaceOnDevicePassBase<FSNNPlaceOnDevicePass> {
  /// Runs `op` as a one-thread kernel. Scalar results the host goes on
  /// using come back through a one-element device buffer copied to a
  /// one-element host buffer (a load of a convergence flag, a norm that
  /// decides a branch): a synchronous round trip, for scalars only.
  static LogicalResult moveIntoKernel(OpBuilder &b, Operation *op) {
    Location loc = op->getLoc();
    for (Type type : op->getResultTypes())
      if (!type.isIntOrIndexOrFloat())
        return op->emitOpError()
               << "works on a device buffer on the host and yields a " << type
               << ", which fsnn-place-on-device cannot bring back from a "
                  "kernel";
    b.setInsertionPoint(op);
    SmallVector<Value> stages;
    for (Type type : op->getResultTypes())
      stages.push_back(gpu::AllocOp::create(b, loc, MemRefType::get({1}, type),
                                            Type(), ValueRange{}, ValueRange{},
                                            ValueRange{}, UnitAttr())
                           .getMemref());
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    auto launch = gpu::LaunchOp::create(b, loc, one, one, one, one, one, one);
    b.setInsertionPointToEnd(&launch.getBody().front());
    auto terminator = gpu::TerminatorOp::create(b, loc);
    op->moveBefore(terminator);
    if (stages.empty())
      return success();
    b.setInsertionPoint(terminator);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    for (auto [result, stage] : llvm::zip(op->getResults(), stages))
      memref::StoreOp::create(b, loc, result, stage, ValueRange{zero});
    b.setInsertionPointAfter(launch);
    Value hostZero = arith::ConstantIndexOp::create(b, loc, 0);
    for (auto [result, stage] : llvm::zip(op->getResults(), stages)) {
      auto type = cast<MemRefType>(stage.getType());
      Value host = memref::AllocOp::create(b, loc, type);
      gpu::MemcpyOp::create(b, loc, Type(), ValueRange{}, host, stage);
      Value value = memref::LoadOp::create(b, loc, host, ValueRange{hostZero});
      result.replaceUsesWithIf(value, [&](OpOperand &use) {
        return !launch->isAncestor(use.getOwner());
      });
      memref::DeallocOp::create(b, loc, host);
      gpu::DeallocOp::create(b, loc, Type(), ValueRange{}, stage);
    }
    return success();
  }

  void runOnOperation() override {
    func::FuncOp function = getOperation();
    if (function.isExternal())
      return;
    bool hasKernels = false;
    function.walk([&](gpu::LaunchOp) { hasKernels = true; });
    if (!hasKernels)
      return;
    OpBuilder b(&getContext());

    // Host code that works on device buffers (a full reduction, a 0-d
    // update: no parallel loop to map) runs as a one-thread kernel. What it
    // moves into a kernel may put more buffers on the device, so this runs
    // to a fixed point.
    std::optional<BufferClasses> classes;
    while (true) {
      classes.emplace(function);
      SmallVector<Operation *> sequential;
      function.walk<WalkOrder::PreOrder>([&](Operation *op) {
        if (op == function.getOperation())
          return WalkResult::advance();
        if (isa<gpu::GPUDialect>(op->getDialect()) ||
            isa<memref::CopyOp, memref::AllocOp, memref::DeallocOp>(op))
          return WalkResult::skip();
        bool nestsKernels = false;
        op->walk([&](gpu::LaunchOp) { nestsKernels = true; });
        if (nestsKernels)
          return WalkResult::advance();
        if (touchesDevice(op, *classes)) {
          sequential.push_back(op);
          return WalkResult::skip();
        }
        return WalkResult::advance();
      });
      if (sequential.empty())
        break;
      for (Operation *op : sequential)
        if (failed(moveIntoKernel(b, op)))
          return signalPassFailure();
    }

    SmallVector<func::ReturnOp> returns;
    function.walk([&](func::ReturnOp op) { returns.push_back(op); });
    auto deviceBuffer = [&](Location loc, MemRefType type,
                            ValueRange dynamicSizes) {
      return gpu::AllocOp::create(b, loc, type, Type(), ValueRange{},
                                  dynamicSizes, ValueRange{}, UnitAttr())
          .getMemref();
    };

    // Decided before any rewrite: a rewritten op's operands are new values
    // that the classes do not know.
    SmallVector<Operation *> toRewrite;
    for (Operation *op : hostOps(function)) {
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        if (classes->isOnDevice(alloc))
          toRewrite.push_back(op);
      } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        if (classes->isOnDevice(dealloc.getMemref()))
          toRewrite.push_back(op);
      } else if (auto global = dyn_cast<memref::GetGlobalOp>(op)) {
        if (classes->isOnDevice(global))
          toRewrite.push_back(op);
      } else if (auto copy = dyn_cast<memref::CopyOp>(op)) {
        if (classes->isOnDevice(copy.getSource()) ||
            classes->isOnDevice(copy.getTarget()))
          toRewrite.push_back(op);
      }
    }
    for (Operation *op : toRewrite) {
      Location loc = op->getLoc();
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        b.setInsertionPoint(alloc);
        Value device =
            deviceBuffer(loc, alloc.getType(), alloc.getDynamicSizes());
        alloc.replaceAllUsesWith(device);
        alloc.erase();
      } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        b.setInsertionPoint(dealloc);
        gpu::DeallocOp::create(b, loc, Type(), ValueRange{},
                               dealloc.getMemref());
        dealloc.erase();
      } else if (auto global = dyn_cast<memref::GetGlobalOp>(op)) {
        b.setInsertionPointAfter(global);
        Value device = deviceBuffer(loc, global.getType(), ValueRange{});
        // A splat of 32 bits (zeros, a constant threshold) is set on the
        // device instead of copied from a host array as large as the buffer.
        Operation *fill = fillFrom(b, loc, device, global);
        global.getResult().replaceAllUsesExcept(device, fill);
        if (global.getResult().use_empty())
          global.erase();
        for (func::ReturnOp ret : returns) {
          b.setInsertionPoint(ret);
          gpu::DeallocOp::create(b, ret.getLoc(), Type(), ValueRange{}, device);
        }
      } else if (auto copy = dyn_cast<memref::CopyOp>(op)) {
        if (!isContiguous(copy.getSource().getType()) ||
            !isContiguous(copy.getTarget().getType())) {
          copy.emitOpError()
              << "copies a strided view of a device buffer on the host; "
                 "fsnn-place-on-device handles contiguous copies only";
          return signalPassFailure();
        }
        b.setInsertionPoint(copy);
        auto source = copy.getSource().getDefiningOp<memref::GetGlobalOp>();
        fillFrom(b, loc, copy.getTarget(), copy.getSource());
        copy.erase();
        if (source && source.getResult().use_empty())
          source.erase();
      }
    }

    Block &entry = function.front();
    for (BlockArgument argument : entry.getArguments()) {
      auto type = dyn_cast<MemRefType>(argument.getType());
      if (!type || !classes->isOnDevice(argument))
        continue;
      if (!type.getLayout().isIdentity()) {
        function.emitOpError()
            << "argument " << argument.getArgNumber()
            << " has a strided layout; fsnn-place-on-device copies contiguous "
               "arguments only";
        return signalPassFailure();
      }
      bool read = false, written = false;
      accesses(argument, read, written);
      b.setInsertionPointToStart(&entry);
      SmallVector<Value> sizes;
      for (int64_t d = 0; d < type.getRank(); ++d)
        if (type.isDynamicDim(d))
          sizes.push_back(
              memref::DimOp::create(b, argument.getLoc(), argument, d));
      Value device = deviceBuffer(argument.getLoc(), type, sizes);
      SmallPtrSet<Operation *, 4> keep;
      for (Value size : sizes)
        keep.insert(size.getDefiningOp());
      if (read)
        keep.insert(gpu::MemcpyOp::create(b, argument.getLoc(), Type(),
                                          ValueRange{}, device, argument));
      argument.replaceAllUsesExcept(device, keep);
      for (func::ReturnOp ret : returns) {
        b.setInsertionPoint(ret);
        if (written)
          gpu::MemcpyOp::create(b, ret.getLoc(), Type(), ValueRange{}, argument,
                                device);
        gpu::DeallocOp::create(b, ret.getLoc(), Type(), ValueRange{}, device);
      }
    }

    // What is left on the host must not touch a device buffer.
    for (Operation *op : hostOps(function)) {
      if (isa<gpu::GPUDialect>(op->getDialect()) || op->getNumRegions())
        continue;
      if (touchesDevice(op, *classes)) {
        op->emitOpError()
            << "reads or writes a device buffer on the host; only kernels "
               "may access device memory";
        return signalPassFailure();
      }
    }
  }
};

} // namespace
