//===- Passes.h - fsnn transformation passes --------------------*- C++ -*-===//

#ifndef FSNN_PASSES_PASSES_H
#define FSNN_PASSES_PASSES_H

#include "dialect/IR/FSNNDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::fsnn {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// The unit attribute on an scf.for whose iterations are independent: each
/// writes its own rows of the loop's results and reads nothing that another
/// iteration writes. convert-fsnn-to-linalg{parallel-batch} sets it;
/// fsnn-parallelize-batch-loops runs such loops on threads.
inline constexpr llvm::StringLiteral kParallelLoopAttr = "fsnn.parallel";

} // namespace mlir::fsnn

#endif // FSNN_PASSES_PASSES_H
