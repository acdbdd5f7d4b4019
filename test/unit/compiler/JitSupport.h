//===- JitSupport.h - what the JIT tests of compiled code share -*- C++ -*-===//

#ifndef FSNN_TEST_UNIT_COMPILER_JITSUPPORT_H
#define FSNN_TEST_UNIT_COMPILER_JITSUPPORT_H

#include "dialect/Target/Model/Translate.h"
#include "runtime/src/memref_descriptor.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"

#include <cstdint>
#include <string>
#include <vector>

// The model support library (runtime/support/memref_alloc.c), linked into
// the tests as fsnn-compile links it into every CPU model.
extern "C" {
void *_mlir_memref_to_llvm_alloc(uint64_t bytes);
void *_mlir_memref_to_llvm_aligned_alloc(uint64_t alignment, uint64_t bytes);
void _mlir_memref_to_llvm_free(void *payload);
uint64_t fsnn_model_support_system_allocations(void);
}

namespace fsnn::testing {

/// Gives JIT-compiled code the support library's allocation functions.
inline void registerModelSupport(mlir::ExecutionEngine &engine) {
  engine.registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap symbols;
    auto add = [&](const char *name, void *address) {
      symbols[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                                 llvm::JITSymbolFlags::Exported};
    };
    add("_mlir_memref_to_llvm_alloc",
        reinterpret_cast<void *>(&_mlir_memref_to_llvm_alloc));
    add("_mlir_memref_to_llvm_aligned_alloc",
        reinterpret_cast<void *>(&_mlir_memref_to_llvm_aligned_alloc));
    add("_mlir_memref_to_llvm_free",
        reinterpret_cast<void *>(&_mlir_memref_to_llvm_free));
    return symbols;
  });
}

/// The runtime's memref descriptor: the tests call the generated code as
/// the runtime does.
using Descriptor = fsnnrt::Descriptor;

/// The C interface of the lowered model function (what the runtime calls
/// through fsnn_model_entry), whatever the pipeline named the function: the
/// GPU stages make it a PTX identifier, kernels being named after it.
inline std::string cInterfaceOf(mlir::ModuleOp module) {
  for (auto function : module.getOps<mlir::LLVM::LLVMFuncOp>())
    if (!function.isExternal() &&
        function.getSymName().starts_with("_mlir_ciface_"))
      return function.getSymName().str();
  return "";
}

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
