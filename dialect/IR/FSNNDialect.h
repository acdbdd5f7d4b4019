//===- FSNNDialect.h - fsnn dialect -----------------------------*- C++ -*-===//
//
// Public header of the fsnn dialect: the dialect, its enums, attributes and
// operations.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_DIALECT_FSNNDIALECT_H
#define FSNN_DIALECT_FSNNDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <string>

#include "dialect/IR/FSNNDialect.h.inc"
#include "dialect/IR/FSNNEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/IR/FSNNAttrs.h.inc"

namespace mlir::fsnn {
/// The shortest decimal that parses back to exactly `value`, with a decimal
/// point or an exponent (2.0, 0.95, 1e-05). Used by printers and diagnostics.
std::string formatShortestDouble(double value);

/// Marks the op whose result is the input current of the equilibrium map when
/// the simulation takes spike frames (the training import's map of the
/// time-averaged input, docs/method.md §2.4); fsnn-generate-backward reads it.
constexpr llvm::StringLiteral kEquilibriumCurrent = "fsnn.equilibrium_current";
} // namespace mlir::fsnn

#include "dialect/IR/FSNNInterfaces.h.inc"

#define GET_OP_CLASSES
#include "dialect/IR/FSNNOps.h.inc"

#endif // FSNN_DIALECT_FSNNDIALECT_H
