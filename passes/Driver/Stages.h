//===- Stages.h - what the compile stages share -----------------*- C++ -*-===//
//
// Internal to passes/Driver.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_PASSES_DRIVER_STAGES_H
#define FSNN_PASSES_DRIVER_STAGES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace mlir::fsnn {

/// The generated function's symbol, whatever the graph is called: as a
/// symbol of the library, a graph's own name could be resolved against
/// another library's.
inline constexpr const char *kGraphSymbol = "fsnn_graph";

/// A stage's failure: `message` is one line that names what failed.
inline llvm::Error stageError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The ABI descriptor of the imported `function` (its arguments' names and
/// tensor types, the model's structure hash, the batch, kind and target).
std::string describeFunction(func::FuncOp function, uint64_t hash,
                             int64_t batch, bool training,
                             const std::string &target);

} // namespace mlir::fsnn

#endif // FSNN_PASSES_DRIVER_STAGES_H
