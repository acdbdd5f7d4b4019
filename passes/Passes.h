//===- Passes.h - fsnn transformation passes --------------------*- C++ -*-===//

#ifndef FSNN_PASSES_PASSES_H
#define FSNN_PASSES_PASSES_H

#include "dialect/FSNNDialect.h"
#include "mlir/Pass/Pass.h"

namespace mlir::fsnn {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace mlir::fsnn

#endif // FSNN_PASSES_PASSES_H
