//===- Pipelines.cpp - named fsnn pass pipelines --------------------------===//

#include "passes/Pipelines.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "passes/Passes.h"

using namespace mlir;

void fsnn::buildInferencePreparationPipeline(OpPassManager &pm) {
  pm.addPass(createFSNNStripDropoutPass());
  pm.addPass(createFSNNFoldBatchNormPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void fsnn::registerPipelines() {
  PassPipelineRegistration<>(
      "fsnn-prepare-inference",
      "Remove dropout, fold inference batch norm into linear/conv maps, "
      "canonicalize and CSE",
      buildInferencePreparationPipeline);
}
