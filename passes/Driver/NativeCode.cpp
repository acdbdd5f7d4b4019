//===- NativeCode.cpp - stages 4 and 5: object code and the library -------===//
//
// An in-process LLVM TargetMachine for the host (or a named CPU), the
// module optimised for it and emitted as an object in memory, then the
// shared library linked by the system's `cc -shared`.
//
//===----------------------------------------------------------------------===//

#include "passes/Driver/Compile.h"
#include "passes/Driver/Stages.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

#include <cstdio>
#include <mutex>

using namespace mlir;
using namespace mlir::fsnn;
namespace fm = ::fsnn::model;

namespace {

void initializeNativeTarget() {
  static std::once_flag targets;
  std::call_once(targets, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

/// This machine's target, for `triple` (its default triple).
const llvm::Target *nativeTarget(llvm::Triple &triple, std::string &error) {
  initializeNativeTarget();
  triple = llvm::Triple(llvm::sys::getDefaultTargetTriple());
  return llvm::TargetRegistry::lookupTarget(triple, error);
}

bool hostHasAVX512() {
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  auto avx512 = features.find("avx512f");
  return avx512 != features.end() && avx512->second;
}

} // namespace

unsigned mlir::fsnn::targetVectorBits(const CompileOptions &options) {
  if (options.cpu == "host")
    return hostHasAVX512() ? 512 : 256;
  llvm::Triple triple;
  std::string error;
  const llvm::Target *target = nativeTarget(triple, error);
  if (!target)
    return 512;
  std::unique_ptr<llvm::MCSubtargetInfo> subtarget(
      target->createMCSubtargetInfo(triple, options.cpu, ""));
  return subtarget && subtarget->checkFeatures("+avx512f") ? 512 : 256;
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
mlir::fsnn::createTargetMachine(const CompileOptions &options) {
  llvm::Triple triple;
  std::string error;
  const llvm::Target *target = nativeTarget(triple, error);
  if (!target)
    return stageError(error);
  // The host CPU by default: the library is built for the machine that
  // compiles it. A named CPU brings its own features.
  bool host = options.cpu == "host";
  std::string features;
  if (host) {
    for (auto &feature : llvm::sys::getHostCPUFeatures())
      features += (feature.second ? "+" : "-") + feature.first().str() + ",";
  } else {
    std::unique_ptr<llvm::MCSubtargetInfo> subtarget(
        target->createMCSubtargetInfo(triple, "", ""));
    if (!subtarget || !subtarget->isCPUStringValid(options.cpu))
      return stageError("--cpu " + options.cpu +
                        " is not a CPU LLVM knows for " + triple.str() +
                        " (host, x86-64-v3, znver4, ...)");
  }
  std::string cpuName = host ? llvm::sys::getHostCPUName().str() : options.cpu;
  llvm::TargetOptions targetOptions;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpuName, features, targetOptions, llvm::Reloc::PIC_, std::nullopt,
      options.optLevel >= 3   ? llvm::CodeGenOptLevel::Aggressive
      : options.optLevel == 0 ? llvm::CodeGenOptLevel::None
                              : llvm::CodeGenOptLevel::Default));
  if (!machine)
    return stageError("cannot create a target machine for " + triple.str());
  return std::move(machine);
}

llvm::Error mlir::fsnn::optimizeForTarget(llvm::Module &module,
                                          llvm::TargetMachine &machine,
                                          const CompileOptions &options) {
  module.setTargetTriple(machine.getTargetTriple());
  module.setDataLayout(machine.createDataLayout());
  // Most AVX-512 CPUs are tuned to prefer 256-bit vectors (to avoid the
  // frequency drop of wide ones in mixed code); the generated code is long
  // runs of loads, multiplies and adds, where 512-bit vectors halve the work.
  if (options.cpu == "host" && hostHasAVX512())
    for (llvm::Function &function : module)
      if (!function.isDeclaration())
        function.addFnAttr("prefer-vector-width", "512");
  auto optimize = makeOptimizingTransformer(options.optLevel, 0, &machine);
  if (llvm::Error err = optimize(&module))
    return stageError("LLVM optimisation failed: " +
                      llvm::toString(std::move(err)));
  return llvm::Error::success();
}

llvm::Expected<std::string>
mlir::fsnn::emitObject(llvm::Module &module, llvm::TargetMachine &machine) {
  llvm::SmallVector<char, 0> object;
  llvm::raw_svector_ostream os(object);
  llvm::legacy::PassManager codegen;
  if (machine.addPassesToEmitFile(codegen, os, nullptr,
                                  llvm::CodeGenFileType::ObjectFile))
    return stageError("the target machine cannot emit an object file");
  codegen.run(module);
  return std::string(object.begin(), object.end());
}

llvm::Error mlir::fsnn::linkSharedLibrary(const std::string &object,
                                          const CompileOptions &options) {
  // The object and the library are temporaries next to the output, renamed
  // over it only on success.
  std::string objectPath = options.output + ".o.tmp";
  std::string libraryPath = options.output + ".so.tmp";
  if (fm::Status status = fm::writeFileAtomically(objectPath, object))
    return stageError(status.message());
  llvm::ErrorOr<std::string> cc = llvm::sys::findProgramByName("cc");
  if (!cc) {
    std::remove(objectPath.c_str());
    return stageError("cannot find the system linker driver 'cc' on PATH");
  }
  std::string message;
  // The libraries linked in come from flags: as absolute paths, none can be
  // read by cc as an option (a name starting with '-').
  auto absolute = [](const std::string &path) {
    llvm::SmallString<256> full(path);
    llvm::sys::fs::make_absolute(full);
    return std::string(full);
  };
  std::string cudaWrappers = absolute(options.cudaWrappers);
  std::string modelSupport = absolute(options.modelSupport);
  std::string openmpLibrary = absolute(options.openmpLibrary);
  std::string openmpDirectory =
      llvm::sys::path::parent_path(openmpLibrary).str();
  // A CUDA model carries its own mgpu* wrappers over a dlopen'd driver, so
  // loading it needs neither CUDA nor anything but the C library.
  SmallVector<StringRef> linkArgs = {*cc, "-shared", "-o", libraryPath,
                                     objectPath};
  if (options.target == "cuda")
    linkArgs.append({cudaWrappers, "-ldl", "-lpthread"});
  else
    linkArgs.append({modelSupport, "-lpthread"});
  // libomp is found where it was at build time, not on the loader's path;
  // -Xlinker passes the directory whole (-Wl would split it at commas).
  if (usesOpenMP(options))
    linkArgs.append(
        {openmpLibrary, "-Xlinker", "-rpath", "-Xlinker", openmpDirectory});
  int rc = llvm::sys::ExecuteAndWait(*cc, linkArgs, std::nullopt, {}, 0, 0,
                                     &message);
  std::remove(objectPath.c_str());
  if (rc != 0) {
    std::remove(libraryPath.c_str());
    return stageError("linking the shared library failed (cc exited with " +
                      std::to_string(rc) + ")" +
                      (message.empty() ? "" : ": " + message));
  }
  if (std::rename(libraryPath.c_str(), options.output.c_str()) != 0) {
    std::remove(libraryPath.c_str());
    return stageError(options.output + ": cannot write the library");
  }
  return llvm::Error::success();
}
