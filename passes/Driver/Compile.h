//===- Compile.h - a model file to a shared library -------------*- C++ -*-===//
//
// What fsnn-compile does, as a library: import, run the CPU pipeline, add
// the model ABI (runtime/include/fsnnrt/model.h), optimise and emit an
// object through an LLVM TargetMachine in-process, and link a shared library
// with the system linker.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_PASSES_COMPILE_COMPILE_H
#define FSNN_PASSES_COMPILE_COMPILE_H

#include "runtime/model/Validate.h"

#include <string>

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
  /// Compile the training step (fsnn-generate-backward and
  /// buildCPUTrainingPipeline) instead of inference. The library's
  /// descriptor says `kind training`; it runs one compiled batch per call.
  bool training = false;
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
  /// Refuse models whose estimated run-time memory at `batch` exceeds this
  /// (fsnn::model::checkMemoryBudget): the compiler's own memory grows
  /// with it too, and a library nobody can run is not worth building.
  uint64_t maxMemory = ::fsnn::model::kDefaultMaxMemory;
};

/// Compiles `model` (validated) as `options` says. Returns false and sets
/// `error` to a one-line message on failure.
bool compileModel(const ::fsnn::model::ModelProto &model,
                  const CompileOptions &options, std::string &error);

} // namespace mlir::fsnn

#endif // FSNN_PASSES_COMPILE_COMPILE_H
