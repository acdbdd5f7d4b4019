//===- ExportWeights.cpp - initializers as raw files for other tools -----===//

#include "runtime/model/ExportWeights.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdio>
#include <filesystem>

namespace fsnn::model {

std::string safeFileName(int index, const std::string &name) {
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "%04d-", index);
  std::string file = prefix;
  for (char c : name.substr(0, 100))
    file += std::isalnum(static_cast<unsigned char>(c)) || c == '.' ||
                    c == '_' || c == '-'
                ? c
                : '_';
  return file;
}

Status exportWeights(const ModelProto &model, const std::string &directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error)
    return Status::error(directory +
                         ": cannot create the directory: " + error.message());
  nlohmann::json manifest = nlohmann::json::array();
  int index = 0;
  for (const TensorProto &tensor : model.graph().initializers()) {
    std::vector<double> values = tensorValues(tensor);
    std::string bytes;
    if (tensor.dtype() == TensorProto::FLOAT64) {
      bytes.assign(reinterpret_cast<const char *>(values.data()),
                   values.size() * sizeof(double));
    } else {
      std::vector<float> narrow(values.begin(), values.end());
      bytes.assign(reinterpret_cast<const char *>(narrow.data()),
                   narrow.size() * sizeof(float));
    }
    // Tensor names are the model file's words: never a path. The file name
    // is the tensor's position plus its name in a safe alphabet.
    std::string file = safeFileName(index++, tensor.name()) + ".bin";
    if (Status status = writeFileAtomically(directory + "/" + file, bytes))
      return status;
    manifest.push_back({{"name", tensor.name()},
                        {"file", file},
                        {"dtype", dtypeName(tensor.dtype())},
                        {"dims", std::vector<int64_t>(tensor.dims().begin(),
                                                      tensor.dims().end())}});
  }
  return writeFileAtomically(directory + "/manifest.json",
                             manifest.dump(2) + "\n");
}

} // namespace fsnn::model
