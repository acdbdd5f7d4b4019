//===- HideLLVMOptions.h - a focused --help for LLVM-based tools -*- C++
//-*-===//
//
// LLVM registers hundreds of its own options (every target's, Polly's) in
// any tool that links it. The compiler tools list only their own in --help
// and keep LLVM's behind --help-hidden, as onnx-mlir does; upstream's
// HideUnrelatedOptions would hide them from --help-hidden too.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_TOOLS_HIDELLVMOPTIONS_H
#define FSNN_TOOLS_HIDELLVMOPTIONS_H

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CommandLine.h"

namespace fsnn::tools {

inline void hideLLVMOptions(const llvm::cl::OptionCategory &own) {
  for (auto &entry : llvm::cl::getRegisteredOptions()) {
    llvm::cl::Option *option = entry.second;
    bool generic = llvm::is_contained(
        {"help", "help-list", "help-hidden", "help-list-hidden", "version"},
        entry.first);
    if (!generic && !llvm::is_contained(option->Categories, &own) &&
        option->getOptionHiddenFlag() == llvm::cl::NotHidden)
      option->setHiddenFlag(llvm::cl::Hidden);
  }
}

} // namespace fsnn::tools

#endif // FSNN_TOOLS_HIDELLVMOPTIONS_H
