//===- Compile.cpp - a model file to a shared library ---------------------===//

#include "passes/Driver/Compile.h"

#include "dialect/Target/Model/Translate.h"
#include "passes/Passes.h"
#include "passes/Pipelines/Pipelines.h"

#include "fsnnrt/model.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

#include <cinttypes>
#include <cstdio>
#include <mutex>
#include <sstream>

using namespace mlir;
namespace fm = ::fsnn::model;

namespace {

/// The generated function's symbol, whatever the graph is called.
constexpr const char *kGraphSymbol = "fsnn_graph";
/// The symbols a compiled model exports (runtime/include/fsnnrt/model.h).
constexpr llvm::StringLiteral kExportedSymbols[] = {
    "fsnn_model_abi_version", "fsnn_model_descriptor", "fsnn_model_entry"};

/// The dtype word of the descriptor for an element type.
const char *dtypeWord(Type element) {
  if (element.isF64())
    return "f64";
  if (element.isInteger(32))
    return "i32";
  if (element.isInteger(64))
    return "i64";
  return "f32";
}

std::string tensorLine(const char *kind, StringRef name, Type type) {
  auto tensor = cast<RankedTensorType>(type);
  std::ostringstream os;
  os << kind << " " << name.str() << " " << dtypeWord(tensor.getElementType());
  for (int64_t d : tensor.getShape())
    os << " " << d;
  return os.str();
}

/// The ABI descriptor of the imported function (before lowering, while the
/// arguments still carry their names and tensor types).
std::string describe(func::FuncOp function, uint64_t hash, int64_t batch,
                     bool training, const std::string &target) {
  std::ostringstream os;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016" PRIx64, hash);
  os << "fsnn-model-abi " << FSNN_MODEL_ABI_VERSION << "\n"
     << "hash " << hex << "\n"
     << "function " << function.getSymName().str() << "\n"
     << "batch " << batch << "\n";
  if (training)
    os << "kind training\n";
  if (target != "cpu")
    os << "target " << target << "\n";
  for (unsigned i = 0; i < function.getNumArguments(); ++i) {
    Type type = function.getArgument(i).getType();
    auto name = function.getArgAttrOfType<StringAttr>(i, "fsnn.name");
    if (type.isInteger(64))
      os << "seed\n";
    else if (function.getArgAttr(i, "fsnn.value"))
      os << tensorLine("param", name.getValue(), type) << "\n";
    else
      os << tensorLine("input", name.getValue(), type) << "\n";
  }
  for (unsigned i = 0; i < function.getNumResults(); ++i) {
    auto name = function.getResultAttrOfType<StringAttr>(i, "fsnn.name");
    os << tensorLine("output", name.getValue(), function.getResultTypes()[i])
       << "\n";
  }
  return os.str();
}

/// Adds the exported ABI: fsnn_model_abi_version, fsnn_model_descriptor and
/// fsnn_model_entry(void **args), which unpacks the argument array into a
/// call of the generated C interface.
bool addABI(llvm::Module &module, const std::string &function,
            const std::string &descriptor, std::string &error) {
  llvm::LLVMContext &ctx = module.getContext();
  // The GPU pipeline makes the name a PTX identifier (kernels are named
  // after it), so the one C interface of the module is the entry.
  llvm::Function *ciface = module.getFunction("_mlir_ciface_" + function);
  for (llvm::Function &candidate : module)
    if (!ciface && !candidate.isDeclaration() &&
        candidate.getName().starts_with("_mlir_ciface_"))
      ciface = &candidate;
  if (!ciface) {
    error = "the lowered module has no C interface for @" + function;
    return false;
  }
  llvm::IRBuilder<> b(ctx);
  auto *ptr = llvm::PointerType::getUnqual(ctx);

  auto *versionFn = llvm::Function::Create(
      llvm::FunctionType::get(b.getInt32Ty(), false),
      llvm::GlobalValue::ExternalLinkage, "fsnn_model_abi_version", module);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", versionFn));
  b.CreateRet(b.getInt32(FSNN_MODEL_ABI_VERSION));

  auto *text = new llvm::GlobalVariable(
      module, llvm::ArrayType::get(b.getInt8Ty(), descriptor.size() + 1),
      /*isConstant=*/true, llvm::GlobalValue::PrivateLinkage,
      llvm::ConstantDataArray::getString(ctx, descriptor), "fsnn.descriptor");
  auto *descriptorFn = llvm::Function::Create(
      llvm::FunctionType::get(ptr, false), llvm::GlobalValue::ExternalLinkage,
      "fsnn_model_descriptor", module);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", descriptorFn));
  b.CreateRet(text);

  auto *entryFn = llvm::Function::Create(
      llvm::FunctionType::get(b.getVoidTy(), {ptr}, false),
      llvm::GlobalValue::ExternalLinkage, "fsnn_model_entry", module);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", entryFn));
  llvm::Value *args = entryFn->getArg(0);
  std::vector<llvm::Value *> callArgs;
  for (unsigned i = 0; i < ciface->arg_size(); ++i) {
    llvm::Value *slot = b.CreateConstGEP1_64(ptr, args, i);
    llvm::Value *pointer = b.CreateLoad(ptr, slot);
    llvm::Type *type = ciface->getArg(i)->getType();
    callArgs.push_back(type->isPointerTy() ? pointer
                                           : b.CreateLoad(type, pointer));
  }
  b.CreateCall(ciface, callArgs);
  b.CreateRetVoid();

  // Only the ABI is exported: no other symbol of the library can interpose
  // on, or be interposed by, a symbol of the process that loads it.
  auto internalize = [](llvm::GlobalValue &value) {
    if (!value.isDeclaration() && value.hasExternalLinkage() &&
        !llvm::is_contained(kExportedSymbols, value.getName()))
      value.setLinkage(llvm::GlobalValue::InternalLinkage);
  };
  for (llvm::Function &function : module)
    internalize(function);
  for (llvm::GlobalVariable &global : module.globals())
    internalize(global);
  return true;
}

bool writeText(const std::string &path, const std::string &text,
               std::string &error) {
  if (path.empty() || path == "-") {
    llvm::outs() << text;
    return true;
  }
  if (fm::Status status = fm::writeFileAtomically(path, text)) {
    error = status.message();
    return false;
  }
  return true;
}

} // namespace

bool mlir::fsnn::compileModel(const fm::ModelProto &model,
                              const CompileOptions &options,
                              std::string &error) {
  bool cuda = options.target == "cuda";
  if (options.target != "cpu" && !cuda) {
    error = "unknown target '" + options.target + "' (cpu or cuda)";
    return false;
  }
  if (cuda && options.emit == EmitKind::SharedLibrary &&
      !llvm::sys::fs::exists(options.cudaWrappers)) {
    error = "the CUDA wrapper library '" + options.cudaWrappers +
            "' does not exist (it is built with fsnn as "
            "lib/libfsnn_cuda_wrappers.a)";
    return false;
  }
  if (cuda && !llvm::sys::fs::exists(options.cudaToolkit + "/bin/ptxas")) {
    error = "--target cuda needs CUDA's ptxas, and " + options.cudaToolkit +
            "/bin/ptxas does not exist";
    return false;
  }
  fm::ModelInfo info;
  if (fm::Status status = fm::validateModel(model, info)) {
    error = status.message();
    return false;
  }
  if (fm::Status status =
          fm::checkMemoryBudget(info, options.batch, options.maxMemory)) {
    error = status.message();
    return false;
  }
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerTranslateDialects(registry);
  registerAllToLLVMIRTranslations(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  MLIRContext context(registry);
  std::string diagnostics;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    llvm::raw_string_ostream os(diagnostics);
    // An imported op's location is its layer's name, with its outputs'
    // names as the child (for export); the layer's name is what to show.
    Location where = d.getLocation();
    if (auto name = dyn_cast<NameLoc>(where))
      where = NameLoc::get(name.getName());
    os << where << ": " << d.str() << "\n";
    return success();
  });

  ImportOptions importOptions;
  importOptions.batch = options.batch;
  importOptions.training = options.training;
  OwningOpRef<ModuleOp> module =
      importModel(model, info, &context, importOptions);
  if (!module) {
    error = "import failed: " + diagnostics;
    return false;
  }
  auto function = *module->getOps<func::FuncOp>().begin();
  // The graph's name is the model file's word. As a symbol of the library
  // it could be resolved against another library's (a graph named `system`
  // made the C interface call libc's system), so the function gets a fixed
  // name; every other definition becomes internal in addABI.
  SymbolTable::setSymbolName(function, kGraphSymbol);
  std::string name = kGraphSymbol;
  if (options.training) {
    // The backward first: the descriptor lists the gradients it adds.
    PassManager backward(&context);
    backward.addNestedPass<func::FuncOp>(createFSNNGenerateBackwardPass());
    if (failed(backward.run(*module))) {
      error = "generating the backward failed: " + diagnostics;
      return false;
    }
  }
  std::string descriptor =
      describe(function, fm::modelStructureHash(model), options.batch,
               options.training, options.target);
  function->setAttr("llvm.emit_c_interface", UnitAttr::get(&context));

  PassManager pm(&context);
  // The training pipeline's own backward pass finds the loss already
  // differentiated and leaves the function alone.
  GPUPipelineOptions gpu;
  gpu.chip = options.chip;
  gpu.format = "fatbin";
  gpu.toolkit = options.cudaToolkit;
  LogicalResult built =
      cuda ? (options.training ? buildGPUTrainingPipeline(pm, gpu)
                               : buildGPULoweringPipeline(pm, gpu))
           : (options.training ? buildCPUTrainingPipeline(pm)
                               : buildCPULoweringPipeline(pm));
  if (failed(built)) {
    error = "cannot build the pipeline";
    return false;
  }
  if (options.dumpPipeline) {
    pm.printAsTextualPipeline(llvm::errs());
    llvm::errs() << "\n";
  }
  if (failed(pm.run(*module))) {
    error = "lowering failed: " + diagnostics;
    return false;
  }
  if (options.emit == EmitKind::MLIR) {
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os);
    return writeText(options.output, text, error);
  }

  static std::once_flag targets;
  std::call_once(targets, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(*module, llvmContext, name);
  if (!llvmModule) {
    error = "translation to LLVM IR failed: " + diagnostics;
    return false;
  }
  if (!addABI(*llvmModule, name, descriptor, error))
    return false;

  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return false;
  // The host CPU by default: the library is built for the machine that
  // compiles it. A named CPU brings its own features.
  bool host = options.cpu == "host";
  llvm::StringMap<bool> hostFeatures;
  std::string features;
  if (host) {
    hostFeatures = llvm::sys::getHostCPUFeatures();
    for (auto &feature : hostFeatures)
      features += (feature.second ? "+" : "-") + feature.first().str() + ",";
  } else {
    std::unique_ptr<llvm::MCSubtargetInfo> subtarget(
        target->createMCSubtargetInfo(triple, "", ""));
    if (!subtarget || !subtarget->isCPUStringValid(options.cpu)) {
      error = "--cpu " + options.cpu + " is not a CPU LLVM knows for " +
              triple.str() + " (host, x86-64-v3, znver4, ...)";
      return false;
    }
  }
  std::string cpuName = host ? llvm::sys::getHostCPUName().str() : options.cpu;
  llvm::TargetOptions targetOptions;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpuName, features, targetOptions, llvm::Reloc::PIC_, std::nullopt,
      options.optLevel >= 3   ? llvm::CodeGenOptLevel::Aggressive
      : options.optLevel == 0 ? llvm::CodeGenOptLevel::None
                              : llvm::CodeGenOptLevel::Default));
  if (!machine) {
    error = "cannot create a target machine for " + triple.str();
    return false;
  }
  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(machine->createDataLayout());
  // Most AVX-512 CPUs are tuned to prefer 256-bit vectors (to avoid the
  // frequency drop of wide ones in mixed code); the generated code is long
  // runs of loads, multiplies and adds, where 512-bit vectors halve the work.
  auto avx512 = hostFeatures.find("avx512f");
  if (host && avx512 != hostFeatures.end() && avx512->second)
    for (llvm::Function &function : *llvmModule)
      if (!function.isDeclaration())
        function.addFnAttr("prefer-vector-width", "512");
  auto optimize = makeOptimizingTransformer(options.optLevel, 0, machine.get());
  if (llvm::Error err = optimize(llvmModule.get())) {
    error = "LLVM optimisation failed: " + llvm::toString(std::move(err));
    return false;
  }
  if (options.emit == EmitKind::LLVMIR) {
    std::string text;
    llvm::raw_string_ostream os(text);
    llvmModule->print(os, nullptr);
    return writeText(options.output, text, error);
  }

  // The object, in memory, through the target machine.
  llvm::SmallVector<char, 0> object;
  {
    llvm::raw_svector_ostream os(object);
    llvm::legacy::PassManager codegen;
    if (machine->addPassesToEmitFile(codegen, os, nullptr,
                                     llvm::CodeGenFileType::ObjectFile)) {
      error = "the target machine cannot emit an object file";
      return false;
    }
    codegen.run(*llvmModule);
  }
  std::string bytes(object.begin(), object.end());
  if (options.emit == EmitKind::Object) {
    if (fm::Status status = fm::writeFileAtomically(options.output, bytes)) {
      error = status.message();
      return false;
    }
    return true;
  }

  // Link with the system linker: cc -shared. The object and the library are
  // temporaries next to the output, renamed over it only on success.
  std::string objectPath = options.output + ".o.tmp";
  std::string libraryPath = options.output + ".so.tmp";
  if (fm::Status status = fm::writeFileAtomically(objectPath, bytes)) {
    error = status.message();
    return false;
  }
  llvm::ErrorOr<std::string> cc = llvm::sys::findProgramByName("cc");
  if (!cc) {
    std::remove(objectPath.c_str());
    error = "cannot find the system linker driver 'cc' on PATH";
    return false;
  }
  std::string message;
  // A CUDA model carries its own mgpu* wrappers over a dlopen'd driver, so
  // loading it needs neither CUDA nor anything but the C library.
  SmallVector<StringRef> linkArgs = {*cc, "-shared", "-o", libraryPath,
                                     objectPath};
  if (cuda)
    linkArgs.append({options.cudaWrappers, "-ldl", "-lpthread"});
  int rc = llvm::sys::ExecuteAndWait(*cc, linkArgs, std::nullopt, {}, 0, 0,
                                     &message);
  std::remove(objectPath.c_str());
  if (rc != 0) {
    std::remove(libraryPath.c_str());
    error = "linking the shared library failed (cc exited with " +
            std::to_string(rc) + ")" + (message.empty() ? "" : ": " + message);
    return false;
  }
  if (std::rename(libraryPath.c_str(), options.output.c_str()) != 0) {
    std::remove(libraryPath.c_str());
    error = options.output + ": cannot write the library";
    return false;
  }
  return true;
}
