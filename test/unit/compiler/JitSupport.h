//===- JitSupport.h - what the JIT tests of compiled code share -*- C++ -*-===//

#ifndef FSNN_TEST_UNIT_COMPILER_JITSUPPORT_H
#define FSNN_TEST_UNIT_COMPILER_JITSUPPORT_H

#include "dialect/translate/Translate.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"

#include <cstdint>
#include <vector>

namespace fsnn::testing {

/// A memref descriptor of any rank: allocated and aligned pointers, offset,
/// sizes, strides (the layout of StridedMemRefType), for dense row-major
/// data.
struct Descriptor {
  std::vector<int64_t> words;
  Descriptor(void *data, const std::vector<int64_t> &shape) {
    words = {reinterpret_cast<int64_t>(data), reinterpret_cast<int64_t>(data),
             0};
    words.insert(words.end(), shape.begin(), shape.end());
    std::vector<int64_t> strides(shape.size());
    int64_t stride = 1;
    for (int i = int(shape.size()) - 1; i >= 0; --i) {
      strides[i] = stride;
      stride *= shape[i];
    }
    words.insert(words.end(), strides.begin(), strides.end());
  }
  void *pointer() { return words.data(); }
};

/// The dialects and translations an imported model needs to be lowered
/// and JIT-compiled.
inline mlir::DialectRegistry jitRegistry() {
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::fsnn::registerTranslateDialects(registry);
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
  return registry;
}

} // namespace fsnn::testing

#endif // FSNN_TEST_UNIT_COMPILER_JITSUPPORT_H
