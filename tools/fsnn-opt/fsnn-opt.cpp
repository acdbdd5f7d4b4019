//===- fsnn-opt.cpp - fsnn optimizer driver -------------------------------===//
//
// Registration plus MlirOptMain. The registry holds the dialects fsnn-opt must
// parse: fsnn and the upstream dialects the lowering pipelines produce.
//
//===----------------------------------------------------------------------===//

#include "dialect/IR/FSNNDialect.h"
#include "passes/Passes.h"
#include "passes/Pipelines/Pipelines.h"

#include "runtime/model/Version.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"

int main(int argc, char **argv) {
  llvm::cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << fsnn::model::versionText("fsnn-opt",
                                   "LLVM/MLIR " LLVM_VERSION_STRING);
  });
  mlir::registerAllPasses();
  mlir::fsnn::registerFSNNTransformsPasses();
  mlir::fsnn::registerPipelines();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  // The dialect extensions carry, among others, the ConvertToLLVM interfaces
  // that convert-to-llvm relies on.
  mlir::registerAllExtensions(registry);
  registry.insert<mlir::fsnn::FSNNDialect>();
  // gpu-module-to-binary serializes kernels through LLVM IR and the NVVM
  // target (PTX without CUDA; cubin and fatbin with CUDA's ptxas).
  mlir::registerAllToLLVMIRTranslations(registry);
  mlir::NVVM::registerNVVMTargetInterfaceExternalModels(registry);

  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "fsnn optimizer driver\n", registry));
}
