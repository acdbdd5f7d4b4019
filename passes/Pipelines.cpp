//===- Pipelines.cpp - named fsnn pass pipelines --------------------------===//

#include "passes/Pipelines.h"

#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

#include "mlir/Transforms/Passes.h"
#include "passes/Passes.h"
#include <mutex>

using namespace mlir;

void fsnn::buildInferencePreparationPipeline(OpPassManager &pm) {
  pm.addPass(createFSNNStripDropoutPass());
  pm.addPass(createFSNNFoldBatchNormPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

LogicalResult fsnn::buildCPULoweringPipeline(OpPassManager &pm) {
  buildInferencePreparationPipeline(pm);
  return buildCPULoweringStages(pm);
}

LogicalResult fsnn::buildCPUTrainingPipeline(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createFSNNGenerateBackwardPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  return buildCPULoweringStages(pm);
}

LogicalResult fsnn::buildCPULoweringStages(OpPassManager &pm) {
  pm.addPass(createConvertFSNNToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  // Work that depends only on parameters (transposed weights, the spectral
  // weight) leaves the time loop.
  pm.addPass(createLoopInvariantCodeMotionPass());
  // The upstream stages, as ../shared/docs/TOOLCHAIN.md found them to work
  // in LLVM 22; parsePassPipeline takes the contents of the module pipeline
  // and needs the upstream passes registered, whoever calls this.
  static std::once_flag registered;
  std::call_once(registered, [] { registerAllPasses(); });
  std::string error;
  llvm::raw_string_ostream errorStream(error);
  LogicalResult parsed = parsePassPipeline(
      "func.func(convert-elementwise-to-linalg),"
      "one-shot-bufferize{bufferize-function-boundaries "
      "function-boundary-type-conversion=identity-layout-map "
      "allow-return-allocs-from-loops},"
      // In-place updates of a row leave a copy of a view onto itself: CSE
      // makes the two views one, and the canonicalizer drops the self-copy.
      "cse,canonicalize,"
      "buffer-results-to-out-params{hoist-static-allocs=true "
      "modify-public-functions=true},"
      "buffer-deallocation-pipeline,"
      "func.func(convert-linalg-to-loops),"
      // Strided views (padding, frame slices) and the index arithmetic of
      // convolution windows must be expanded before convert-to-llvm.
      "expand-strided-metadata,"
      "lower-affine,"
      "convert-scf-to-cf,"
      // Before the generic conversion: it also lowers the in-bounds vector
      // transfers (the register tiles) to plain vector loads and stores.
      "convert-vector-to-llvm,"
      "convert-to-llvm,"
      "reconcile-unrealized-casts",
      pm, errorStream);
  if (failed(parsed))
    llvm::errs() << "fsnn: cannot build the CPU pipeline: " << error << "\n";
  return parsed;
}

void fsnn::registerPipelines() {
  PassPipelineRegistration<>(
      "fsnn-prepare-inference",
      "Remove dropout, fold inference batch norm into linear/conv maps, "
      "canonicalize and CSE",
      buildInferencePreparationPipeline);
  PassPipelineRegistration<>(
      "fsnn-lower-to-llvm",
      "The CPU pipeline: inference preparation, convert-fsnn-to-linalg, "
      "bufferization, loops, the LLVM dialect",
      [](OpPassManager &pm) { (void)buildCPULoweringPipeline(pm); });
  PassPipelineRegistration<>(
      "fsnn-lower-training-to-llvm",
      "The training forward function to the LLVM dialect, for CPU: "
      "fsnn-generate-backward, then the lowering stages of "
      "fsnn-lower-to-llvm (dropout and training batch norm kept)",
      [](OpPassManager &pm) { (void)buildCPUTrainingPipeline(pm); });
}
