//===- Compile.h - a model file to a shared library -------------*- C++ -*-===//
//
// What fsnn-compile does, as a library of named stages, each testable and
// each returning an llvm::Error that says what failed:
//   1. import: the validated model as the fsnn dialect (and, for training,
//      its implicit backward), and the ABI descriptor of the function;
//   2. lower: the target's named pipeline down to the LLVM dialect;
//   3. emit LLVM IR with the model ABI (runtime/include/fsnnrt/model.h);
//   4. native code: a target machine, the module optimised for it, an
//      object in memory;
//   5. link: a shared library through the system linker, written atomically.
// compileModel runs them in order and stops where options.emit says.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_PASSES_DRIVER_COMPILE_H
#define FSNN_PASSES_DRIVER_COMPILE_H

#include "runtime/model/Validate.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
} // namespace llvm

namespace mlir {
class ScopedDiagnosticHandler;
} // namespace mlir

namespace mlir::fsnn {

enum class EmitKind { MLIR, LLVMIR, Object, SharedLibrary };

struct CompileOptions {
  /// The batch the code is compiled for. The runtime cuts a larger batch
  /// into chunks of it and runs the chunks on its threads, so run batch /
  /// threads is a good choice (fsnn-compile's default, 64, suits batch 128
  /// on 2 threads).
  int64_t batch = 64;
  unsigned optLevel = 3;
  EmitKind emit = EmitKind::SharedLibrary;
  /// Where the result goes ("-" for stdout, text forms only).
  std::string output;
  /// Print the pass pipeline before running it.
  bool dumpPipeline = false;
  /// CPU: write the IR after convert-fsnn-to-linalg to this file and give
  /// the native code line tables into it, so that a profiler (perf report
  /// --sort srcline) names the linalg-level op each instruction comes from;
  /// "" for none.
  std::string profileLines;
  /// Compile the training step (fsnn-generate-backward and
  /// buildCPUTrainingPipeline) instead of inference. The library's
  /// descriptor says `kind training`; it runs one compiled batch per call.
  bool training = false;
  /// With `training`: the step of one shard of a larger batch, on batch
  /// statistics the trainer passes in (ImportOptions::shardStatistics), for
  /// data-parallel training and batches larger than the compiled one.
  bool sharded = false;
  /// The host CPU the code is tuned for: "host" (the compiling machine's
  /// CPU and features) or an LLVM CPU name (x86-64-v3, znver4, ...) for a
  /// library that runs on other machines.
  std::string cpu = "host";
  /// cpu, or cuda: kernels for an NVIDIA GPU (buildGPULoweringPipeline,
  /// serialized as a fatbin through CUDA's ptxas and embedded), host code
  /// calling the mgpu* wrappers of runtime/cuda, linked in from
  /// `cudaWrappers`. The descriptor says `target cuda`.
  std::string target = "cpu";
  std::string chip = "sm_90";
  std::string cudaToolkit = "/usr/local/cuda";
  /// The static library libfsnn_cuda_wrappers.a.
  std::string cudaWrappers;
  /// The static library libfsnn_model_support.a (the heap of CPU models).
  std::string modelSupport;
  /// CPU training steps: run the loops over the batch whose iterations are
  /// independent on the threads of the OpenMP runtime
  /// (CPUPipelineOptions::parallelBatch), linking `openmpLibrary`
  /// (libomp.so). The loader sets the number of threads (omp_set_num_threads
  /// of the library's libomp); results do not depend on it.
  bool threads = true;
  std::string openmpLibrary;
  /// Refuse models whose estimated run-time memory at `batch` exceeds this
  /// (fsnn::model::checkMemoryBudget): the compiler's own memory grows
  /// with it too, and a library nobody can run is not worth building.
  uint64_t maxMemory = ::fsnn::model::kDefaultMaxMemory;
};

/// The MLIR context of one compilation, with the dialects, extensions and
/// translations of every stage, and the diagnostics it emitted, one line
/// each ("layer: message"), for the stages' errors.
class CompilationContext {
public:
  CompilationContext();
  ~CompilationContext();
  MLIRContext &getContext() { return *context; }
  /// Every diagnostic so far.
  const std::string &diagnostics() const { return collected; }

private:
  std::unique_ptr<MLIRContext> context;
  std::string collected;
  std::unique_ptr<ScopedDiagnosticHandler> handler;
};

/// What can be checked before the model is looked at: the target and, for
/// cuda, the wrapper library and ptxas.
llvm::Error checkCompileOptions(const CompileOptions &options);

/// Whether the code runs loops on OpenMP threads (a CPU training step
/// compiled with `threads`) and so links libomp.
inline bool usesOpenMP(const CompileOptions &options) {
  return options.training && options.threads && options.target == "cpu";
}

/// Stage 1: `model` (validated into `info`) in the fsnn dialect at
/// options.batch, the graph named fsnn_graph; for training with its
/// backward. Sets `descriptor` to the library's ABI descriptor.
llvm::Expected<OwningOpRef<ModuleOp>>
importForCompilation(const ::fsnn::model::ModelProto &model,
                     const ::fsnn::model::ModelInfo &info,
                     CompilationContext &context, const CompileOptions &options,
                     std::string &descriptor);

/// Stage 2: the target's pipeline (printed first with dumpPipeline), down
/// to the LLVM dialect.
llvm::Error lowerToLLVMDialect(ModuleOp module, CompilationContext &context,
                               const CompileOptions &options);

/// Stage 3: the LLVM IR of `module` with the model ABI added (the entry,
/// the version, `descriptor`); every other definition internal.
llvm::Expected<std::unique_ptr<llvm::Module>>
emitLLVMIR(ModuleOp module, CompilationContext &context,
           llvm::LLVMContext &llvmContext, const std::string &descriptor);

/// The width of the target CPU's vector registers (options.cpu: the host's,
/// or the named CPU's): 512 with AVX-512, else 256. The lowering sizes its
/// register tiles for it.
unsigned targetVectorBits(const CompileOptions &options);

/// Stage 4a: the target machine for options.cpu on this machine's triple.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const CompileOptions &options);

/// Stage 4b: `module` given the machine's triple and data layout, then
/// optimised at options.optLevel.
llvm::Error optimizeForTarget(llvm::Module &module,
                              llvm::TargetMachine &machine,
                              const CompileOptions &options);

/// Stage 4c: the object file of `module`, in memory.
llvm::Expected<std::string> emitObject(llvm::Module &module,
                                       llvm::TargetMachine &machine);

/// Stage 5: `object` linked by `cc -shared` (with the CUDA wrappers for
/// cuda) into options.output, which is replaced only on success.
llvm::Error linkSharedLibrary(const std::string &object,
                              const CompileOptions &options);

/// Every stage, up to what options.emit asks for, written to
/// options.output. `model` need not be validated yet.
llvm::Error compileModel(const ::fsnn::model::ModelProto &model,
                         const CompileOptions &options);

} // namespace mlir::fsnn

#endif // FSNN_PASSES_DRIVER_COMPILE_H
