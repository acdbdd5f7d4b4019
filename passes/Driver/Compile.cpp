//===- Compile.cpp - the compile stages in order --------------------------===//
//
// The context every stage shares, the checks before any work, stages 1
// (import) and 2 (lower), and compileModel, which runs all five.
//
//===----------------------------------------------------------------------===//

#include "passes/Driver/Compile.h"

#include "dialect/Target/Model/Translate.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "passes/Driver/Stages.h"
#include "passes/Passes.h"
#include "passes/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

using namespace mlir;
using namespace mlir::fsnn;
namespace fm = ::fsnn::model;

mlir::fsnn::CompilationContext::CompilationContext() {
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerTranslateDialects(registry);
  registerAllToLLVMIRTranslations(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  context = std::make_unique<MLIRContext>(registry);
  handler = std::make_unique<ScopedDiagnosticHandler>(
      context.get(), [this](Diagnostic &d) {
        llvm::raw_string_ostream os(collected);
        // An imported op's location is its layer's name, with its outputs'
        // names as the child (for export); the layer's name is what to
        // show.
        Location where = d.getLocation();
        if (auto name = dyn_cast<NameLoc>(where))
          where = NameLoc::get(name.getName());
        os << where << ": " << d.str() << "\n";
        return success();
      });
}

mlir::fsnn::CompilationContext::~CompilationContext() = default;

llvm::Error mlir::fsnn::checkCompileOptions(const CompileOptions &options) {
  bool cuda = options.target == "cuda";
  if (options.target != "cpu" && !cuda)
    return stageError("unknown target '" + options.target + "' (cpu or cuda)");
  if (cuda && options.emit == EmitKind::SharedLibrary &&
      !llvm::sys::fs::exists(options.cudaWrappers))
    return stageError("the CUDA wrapper library '" + options.cudaWrappers +
                      "' does not exist (it is built with fsnn as "
                      "lib/libfsnn_cuda_wrappers.a)");
  if (!cuda && options.emit == EmitKind::SharedLibrary &&
      !llvm::sys::fs::exists(options.modelSupport))
    return stageError("the model support library '" + options.modelSupport +
                      "' does not exist (it is built with fsnn as "
                      "lib/libfsnn_model_support.a)");
  if (usesOpenMP(options) && options.emit == EmitKind::SharedLibrary &&
      !llvm::sys::fs::exists(options.openmpLibrary))
    return stageError("the OpenMP runtime '" + options.openmpLibrary +
                      "' does not exist (Debian's libomp-22-dev; or compile "
                      "the training step for one thread with --no-threads)");
  if (cuda && !options.profileLines.empty())
    return stageError("--profile-lines is for CPU models (--target cpu)");
  if (!options.profileLines.empty())
    if (fm::Status status = fm::checkOutputPath(options.profileLines))
      return stageError(status.message());
  if (cuda && !llvm::sys::fs::exists(options.cudaToolkit + "/bin/ptxas"))
    return stageError("--target cuda needs CUDA's ptxas, and " +
                      options.cudaToolkit + "/bin/ptxas does not exist");
  return llvm::Error::success();
}

llvm::Expected<OwningOpRef<ModuleOp>> mlir::fsnn::importForCompilation(
    const fm::ModelProto &model, const fm::ModelInfo &info,
    CompilationContext &context, const CompileOptions &options,
    std::string &descriptor) {
  ImportOptions importOptions;
  importOptions.batch = options.batch;
  importOptions.training = options.training;
  importOptions.shardStatistics = options.sharded;
  OwningOpRef<ModuleOp> module =
      importModel(model, info, &context.getContext(), importOptions);
  if (!module)
    return stageError("import failed: " + context.diagnostics());
  auto function = *module->getOps<func::FuncOp>().begin();
  // The graph's name is the model file's word. As a symbol of the library
  // it could be resolved against another library's (a graph named `system`
  // made the C interface call libc's system), so the function gets a fixed
  // name; every other definition becomes internal in emitLLVMIR.
  SymbolTable::setSymbolName(function, kGraphSymbol);
  if (options.training) {
    // The backward first: the descriptor lists the gradients it adds.
    PassManager backward(&context.getContext());
    backward.addNestedPass<func::FuncOp>(createFSNNGenerateBackwardPass());
    if (failed(backward.run(*module)))
      return stageError("generating the backward failed: " +
                        context.diagnostics());
  }
  descriptor =
      describeFunction(function, fm::modelStructureHash(model), options.batch,
                       options.training, options.target);
  function->setAttr("llvm.emit_c_interface",
                    UnitAttr::get(&context.getContext()));
  return std::move(module);
}

llvm::Error mlir::fsnn::lowerToLLVMDialect(ModuleOp module,
                                           CompilationContext &context,
                                           const CompileOptions &options) {
  PassManager pm(&context.getContext());
  // The training pipeline's own backward pass finds the loss already
  // differentiated and leaves the function alone.
  GPUPipelineOptions gpu;
  gpu.chip = options.chip;
  gpu.format = "fatbin";
  gpu.toolkit = options.cudaToolkit;
  bool cuda = options.target == "cuda";
  CPUPipelineOptions cpu;
  cpu.vectorBits = targetVectorBits(options);
  cpu.locationSnapshot = options.profileLines;
  cpu.parallelBatch = usesOpenMP(options);
  LogicalResult built =
      cuda ? (options.training ? buildGPUTrainingPipeline(pm, gpu)
                               : buildGPULoweringPipeline(pm, gpu))
           : (options.training ? buildCPUTrainingPipeline(pm, cpu)
                               : buildCPULoweringPipeline(pm, cpu));
  if (failed(built))
    return stageError("cannot build the pipeline");

  if (options.dumpPipeline) {
    pm.printAsTextualPipeline(llvm::errs());
    llvm::errs() << "\n";
  }
  if (failed(pm.run(module)))
    return stageError("lowering failed: " + context.diagnostics());
  if (options.profileLines.empty())
    return llvm::Error::success();
  // Line tables need every op located: the few that the lowering creates
  // without a location get the snapshot's line 0.
  auto unlocated =
      FileLineColLoc::get(&context.getContext(), options.profileLines, 0, 0);
  module->walk([&](Operation *op) {
    if (isa<UnknownLoc>(op->getLoc()))
      op->setLoc(unlocated);
  });
  PassManager lines(&context.getContext());
  LLVM::DIScopeForLLVMFuncOpPassOptions lineTables;
  lineTables.emissionKind = LLVM::DIEmissionKind::LineTablesOnly;
  lines.addPass(LLVM::createDIScopeForLLVMFuncOpPass(lineTables));
  if (failed(lines.run(module)))
    return stageError("line tables failed: " + context.diagnostics());
  return llvm::Error::success();
}

namespace {

/// Writes a text form to `path`, or to stdout for "" and "-".
llvm::Error writeText(const std::string &path, const std::string &text) {
  if (path.empty() || path == "-") {
    llvm::outs() << text;
    return llvm::Error::success();
  }
  if (fm::Status status = fm::writeFileAtomically(path, text))
    return mlir::fsnn::stageError(status.message());
  return llvm::Error::success();
}

} // namespace

llvm::Error mlir::fsnn::compileModel(const fm::ModelProto &model,
                                     const CompileOptions &options) {
  if (llvm::Error error = checkCompileOptions(options))
    return error;
  fm::ModelInfo info;
  if (fm::Status status = fm::validateModel(model, info))
    return stageError(status.message());
  if (fm::Status status =
          fm::checkMemoryBudget(info, options.batch, options.maxMemory))
    return stageError(status.message());

  CompilationContext context;
  std::string descriptor;
  auto module = importForCompilation(model, info, context, options, descriptor);
  if (!module)
    return module.takeError();
  if (llvm::Error error = lowerToLLVMDialect(**module, context, options))
    return error;
  if (options.emit == EmitKind::MLIR) {
    std::string text;
    llvm::raw_string_ostream os(text);
    (*module)->print(os);
    return writeText(options.output, text);
  }

  llvm::LLVMContext llvmContext;
  auto llvmModule = emitLLVMIR(**module, context, llvmContext, descriptor);
  if (!llvmModule)
    return llvmModule.takeError();
  auto machine = createTargetMachine(options);
  if (!machine)
    return machine.takeError();
  if (llvm::Error error = optimizeForTarget(**llvmModule, **machine, options))
    return error;
  if (options.emit == EmitKind::LLVMIR) {
    std::string text;
    llvm::raw_string_ostream os(text);
    (*llvmModule)->print(os, nullptr);
    return writeText(options.output, text);
  }

  auto object = emitObject(**llvmModule, **machine);
  if (!object)
    return object.takeError();
  if (options.emit == EmitKind::Object) {
    if (fm::Status status = fm::writeFileAtomically(options.output, *object))
      return stageError(status.message());
    return llvm::Error::success();
  }
  return linkSharedLibrary(*object, options);
}
