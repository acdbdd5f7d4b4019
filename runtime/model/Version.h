//===- Version.h - what `--version` prints -----------------------*- C++
//-*-===//
//
// One text for every tool's --version: fsnn's version and the versions of
// the interfaces a user has to match (the model format, the runtime's C ABI,
// the compiled-model ABI).
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_RUNTIME_MODEL_VERSION_H
#define FSNN_RUNTIME_MODEL_VERSION_H

#include <string>

namespace fsnn::model {

/// fsnn's release version ("0.3.0"), set by the project() in CMake.
const char *fsnnVersion();

/// `tool` (fsnn <version>), then the model-format, runtime-ABI and
/// compiled-model-ABI versions, one per line; `backend` names what the tool
/// links for compiling ("LLVM/MLIR 22.1.8") or, for tools on the runtime
/// side of the wall, says that none is linked.
std::string versionText(const std::string &tool, const std::string &backend);

} // namespace fsnn::model

#endif // FSNN_RUNTIME_MODEL_VERSION_H
