//===- ModelFuzzer.cpp - libFuzzer target: parse, validate, import --------===//
//
// Any byte string must either be refused with a message or go all the way:
// parse, validate, import into the fsnn dialect (which must verify), and
// export back to a model that validates again. A crash, a sanitizer report
// or a valid model that the importer or exporter rejects is a bug.
//
//===----------------------------------------------------------------------===//

#include "dialect/Target/Model/Translate.h"
#include "runtime/model/Model.h"
#include "runtime/model/Validate.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace fm = ::fsnn::model;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char *>(data), size);
  fm::ModelProto model;
  fm::ModelInfo info;
  if (!fm::parseValidModel(bytes, "fuzz", model, info).ok())
    return 0;

  // A fresh context per input: imported weights live in the context's
  // resource manager and would otherwise accumulate.
  mlir::DialectRegistry registry;
  mlir::fsnn::registerTranslateDialects(registry);
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return mlir::success();
  });
  mlir::fsnn::ImportOptions options;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::fsnn::importModel(model, info, &context, options);
  if (!module) {
    std::fprintf(stderr, "a validated model failed to import:\n%s",
                 diagnostics.c_str());
    std::abort();
  }
  fm::ModelProto exported;
  if (mlir::failed(mlir::fsnn::exportModel(*module, exported))) {
    std::fprintf(stderr, "an imported model failed to export:\n%s",
                 diagnostics.c_str());
    std::abort();
  }
  return 0;
}
