//===- LegalizeKernelNames.cpp - PTX-safe function names ------------------===//

#include "passes/Passes.h"

#include "mlir/IR/SymbolTable.h"

namespace mlir::fsnn {
#define GEN_PASS_DEF_FSNNLEGALIZEKERNELNAMESPASS
#include "passes/Passes.h.inc"
} // namespace mlir::fsnn

using namespace mlir;

namespace {

std::string legalName(StringRef name) {
  std::string legal;
  for (char c : name)
    legal += (llvm::isAlnum(c) || c == '_' || c == '$') ? c : '_';
  if (legal.empty() || llvm::isDigit(legal.front()))
    legal.insert(legal.begin(), '_');
  return legal;
}

struct FSNNLegalizeKernelNamesPass
    : public fsnn::impl::FSNNLegalizeKernelNamesPassBase<
          FSNNLegalizeKernelNamesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable table(module);
    for (auto function :
         llvm::make_early_inc_range(module.getOps<FunctionOpInterface>())) {
      StringRef name = function.getName();
      std::string legal = legalName(name);
      if (legal == name)
        continue;
      std::string candidate = legal;
      for (int suffix = 1; table.lookup(candidate); ++suffix)
        candidate = legal + "_" + std::to_string(suffix);
      if (failed(table.rename(function,
                              StringAttr::get(&getContext(), candidate))))
        return signalPassFailure();
    }
  }
};

} // namespace
