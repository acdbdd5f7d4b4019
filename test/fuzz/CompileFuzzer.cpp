//===- CompileFuzzer.cpp - libFuzzer target: a model file to native code --===//
//
// Any model that validates must compile (import, the CPU lowering pipeline,
// the LLVM dialect) or be refused by fsnn-compile's library with a message;
// a crash, an abort inside MLIR or LLVM, or a sanitizer report is a bug.
// Models that would need more than 64 MiB at batch 2 are skipped, as
// fsnn-compile refuses them before lowering.
//
//===----------------------------------------------------------------------===//

#include "passes/Driver/Compile.h"
#include "runtime/model/Model.h"
#include "runtime/model/Validate.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unistd.h>

namespace fm = ::fsnn::model;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char *>(data), size);
  fm::ModelProto model;
  fm::ModelInfo info;
  if (!fm::parseValidModel(bytes, "fuzz", model, info).ok())
    return 0;
  mlir::fsnn::CompileOptions options;
  options.batch = 2;
  options.maxMemory = uint64_t(64) << 20;
  options.emit = mlir::fsnn::EmitKind::MLIR;
  options.output =
      "/tmp/fsnn-compile-fuzz-" + std::to_string(getpid()) + ".mlir";
  if (llvm::Error error = mlir::fsnn::compileModel(model, options)) {
    if (llvm::toString(std::move(error)).empty()) {
      std::fprintf(stderr, "a model was refused without a message\n");
      std::abort();
    }
  }
  return 0;
}
