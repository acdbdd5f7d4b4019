//===- Version.cpp - what `--version` prints ------------------------------===//

#include "runtime/model/Version.h"
#include "runtime/model/Model.h"

#include "fsnnrt/model.h"
#include "fsnnrt/runtime.h"

#include <sstream>

namespace fsnn::model {

const char *fsnnVersion() { return FSNN_VERSION_STRING; }

std::string versionText(const std::string &tool, const std::string &backend) {
  std::ostringstream os;
  os << tool << " (fsnn " << fsnnVersion() << ")\n"
     << "  model format version " << kFormatVersion << "\n"
     << "  runtime ABI " << FSNN_RUNTIME_ABI_VERSION_MAJOR << "."
     << FSNN_RUNTIME_ABI_VERSION_MINOR << ", compiled-model ABI "
     << FSNN_MODEL_ABI_VERSION << "\n"
     << "  " << backend << "\n";
  return os.str();
}

} // namespace fsnn::model
