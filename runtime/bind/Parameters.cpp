//===- Parameters.cpp - fsnn_parameters_load and friends ------------------===//

#include "fsnnrt/parameters.h"

#include "runtime/bind/CompiledModel.h"

#include <cstring>
#include <vector>

namespace fm = fsnn::model;

struct fsnn_parameters {
  /// One buffer per parameter, float32 or float64 as the library says.
  std::vector<std::vector<char>> buffers;
  std::vector<const void *> pointers;
};

namespace {

fsnn_status failWith(fsnn_status status, const std::string &message) {
  fsnn::bind::setRuntimeError(message);
  return status;
}

} // namespace

extern "C" fsnn_status fsnn_parameters_load(const fsnn_model *model,
                                            const char *path,
                                            fsnn_parameters **parameters) {
  if (!model || !path || !parameters)
    return failWith(FSNN_INVALID_ARGUMENT,
                    "fsnn_parameters_load: null argument");
  *parameters = nullptr;
  try {
    fm::ModelProto proto;
    fm::ModelInfo info;
    if (fm::Status s = fm::loadValidModel(path, proto, info))
      return failWith(s.message().find("cannot open") != std::string::npos
                          ? FSNN_NOT_FOUND
                          : FSNN_INVALID_ARGUMENT,
                      s.message());
    auto *library = const_cast<fsnn_model *>(model);
    if (fm::Status s = fsnn::bind::checkBinding(
            proto, info, library, path, fsnn_model_is_training(model) != 0))
      return failWith(FSNN_MODEL_MISMATCH, s.message());
    auto result = std::make_unique<fsnn_parameters>();
    for (int32_t p = 0; p < fsnn_model_num_parameters(model); ++p) {
      fsnn_tensor_info param = fsnn_model_parameter(model, p);
      std::string name = fsnn::bind::initializerOfParameter(param.name);
      const fm::TensorProto *tensor = nullptr;
      for (const fm::TensorProto &t : proto.graph().initializers())
        if (t.name() == name)
          tensor = &t;
      std::vector<double> values = fm::tensorValues(*tensor);
      std::vector<char> buffer;
      if (param.dtype == FSNN_F64) {
        buffer.resize(values.size() * sizeof(double));
        std::memcpy(buffer.data(), values.data(), buffer.size());
      } else {
        std::vector<float> narrow(values.begin(), values.end());
        buffer.resize(narrow.size() * sizeof(float));
        std::memcpy(buffer.data(), narrow.data(), buffer.size());
      }
      result->buffers.push_back(std::move(buffer));
    }
    for (const std::vector<char> &buffer : result->buffers)
      result->pointers.push_back(buffer.data());
    *parameters = result.release();
    return FSNN_OK;
  } catch (const std::bad_alloc &) {
    return failWith(FSNN_OUT_OF_MEMORY, "fsnn_parameters_load: out of memory");
  } catch (const std::exception &e) {
    return failWith(FSNN_INTERNAL,
                    std::string("fsnn_parameters_load: ") + e.what());
  }
}

extern "C" const void *const *
fsnn_parameters_pointers(const fsnn_parameters *parameters) {
  return parameters ? parameters->pointers.data() : nullptr;
}

extern "C" void fsnn_parameters_free(fsnn_parameters *parameters) {
  delete parameters;
}
