//===- Pipelines.h - named fsnn pass pipelines ------------------*- C++ -*-===//
//
// Pipelines are plain functions so that fsnn-opt (through the registered
// names) and the compiler driver build exactly the same pass lists.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_PASSES_PIPELINES_H
#define FSNN_PASSES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace mlir::fsnn {

/// Inference preparation: remove dropout, fold inference batch norm into the
/// preceding linear/conv maps (hoisted out of the time loop), then
/// canonicalize, which folds constant parameters, and CSE.
void buildInferencePreparationPipeline(OpPassManager &pm);

/// The inference model to the LLVM dialect, for CPU: inference preparation,
/// convert-fsnn-to-linalg, then bufferization (parameters and results become
/// memref arguments: inputs first, outputs after), loops and LLVM. Fails
/// only if the upstream part of the pipeline cannot be parsed.
LogicalResult buildCPULoweringPipeline(OpPassManager &pm);

/// The training forward function (fsnn-translate --import --training) to the
/// LLVM dialect, for CPU: fsnn-generate-backward derives the implicit
/// backward, then the same lowering stages as inference, without the
/// inference preparation (dropout and batch statistics are part of training).
LogicalResult buildCPUTrainingPipeline(OpPassManager &pm);

/// What both pipelines share after their fsnn-level passes:
/// convert-fsnn-to-linalg, loop-invariant code motion, bufferization, loops
/// and the LLVM dialect.
LogicalResult buildCPULoweringStages(OpPassManager &pm);

/// Registers every named pipeline with the global pipeline registry.
void registerPipelines();

} // namespace mlir::fsnn

#endif // FSNN_PASSES_PIPELINES_H
