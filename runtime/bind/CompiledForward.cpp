//===- CompiledForward.cpp - a compiled inference library as a BatchForward
//-===//
//
// The runtime runs the library on threads; the model file gives the
// parameters (converted to the library's dtype) and says which outputs are
// spike counts.
//
//===----------------------------------------------------------------------===//

#include "runtime/bind/CompiledModel.h"

#include "fsnnrt/runtime.h"

#include <cstring>
#include <map>

namespace fsnn::bind {

namespace fm = fsnn::model;
using reference::BatchForward;
using reference::BatchResult;
using reference::Matrix;

Status makeCompiledForward(const fm::ModelProto &model,
                           const fm::ModelInfo &info,
                           const std::string &libraryPath, int threads,
                           BatchForward &forward, const std::string &device) {
  std::shared_ptr<fsnn_model> compiled;
  CompiledModelOptions options;
  options.device = device;
  if (Status s = openCompiledModel(model, info, libraryPath, options, compiled))
    return s;
  fsnn_model *raw = compiled.get();
  // Parameters in the library's order, converted to its dtype.
  auto parameters = std::make_shared<std::vector<std::vector<char>>>();
  for (int32_t p = 0; p < fsnn_model_num_parameters(raw); ++p) {
    fsnn_tensor_info info = fsnn_model_parameter(raw, p);
    const fm::TensorProto *tensor = nullptr;
    for (const fm::TensorProto &t : model.graph().initializers())
      if (t.name() == info.name)
        tensor = &t;
    if (!tensor)
      return Status::error("model_mismatch: the library needs parameter '" +
                           std::string(info.name) +
                           "', which the model file lacks");
    std::vector<double> values = fm::tensorValues(*tensor);
    std::vector<char> bytes;
    if (info.dtype == FSNN_F64) {
      bytes.resize(values.size() * 8);
      std::memcpy(bytes.data(), values.data(), bytes.size());
    } else {
      std::vector<float> narrow(values.begin(), values.end());
      bytes.resize(narrow.size() * 4);
      std::memcpy(bytes.data(), narrow.data(), bytes.size());
    }
    parameters->push_back(std::move(bytes));
  }
  if (fsnn_model_input(raw).dtype != FSNN_F32 ||
      fsnn_model_output(raw, 0).dtype != FSNN_F32)
    return Status::error("the compiled backend of fsnn-run takes float32 "
                         "models; this library is float64");
  // Which outputs are spike counts, and of which layer.
  std::map<int32_t, int> countOutputs;
  if (const fm::NodeProto *node = fm::findFeedbackNode(model)) {
    int numLayers = int(fm::layerGraphs(*node).size());
    for (int32_t o = 0; o < fsnn_model_num_outputs(raw); ++o)
      for (int l = 0; l < numLayers; ++l)
        if (fsnn_model_output(raw, o).name == node->outputs(numLayers + l))
          countOutputs[o] = l;
  }
  forward = [compiled, parameters, countOutputs,
             threads](const Matrix<float> &input, BatchResult &result) {
    fsnn_model *m = compiled.get();
    int64_t batch = input.rows();
    std::vector<const void *> params;
    for (const std::vector<char> &p : *parameters)
      params.push_back(p.data());
    int32_t outputs = fsnn_model_num_outputs(m);
    std::vector<std::vector<char>> buffers(outputs);
    std::vector<void *> pointers(outputs);
    for (int32_t o = 0; o < outputs; ++o) {
      fsnn_tensor_info info = fsnn_model_output(m, o);
      int64_t perSample = 1;
      for (int32_t d = 1; d < info.rank; ++d)
        perSample *= info.dims[d];
      buffers[o].resize(size_t(batch * perSample) *
                        (info.dtype == FSNN_F64 ? 8 : 4));
      pointers[o] = buffers[o].data();
    }
    if (fsnn_status status =
            fsnn_model_run(m, input.data(), params.data(),
                           /*seed=*/0, pointers.data(), batch, threads))
      return Status::error(std::string(fsnn_status_name(status)) + ": " +
                           fsnn_last_error());
    fsnn_tensor_info logits = fsnn_model_output(m, 0);
    result.logits =
        Eigen::Map<Matrix<float>>(reinterpret_cast<float *>(buffers[0].data()),
                                  batch, logits.dims[logits.rank - 1]);
    result.counts.clear();
    for (const auto &[o, layer] : countOutputs) {
      fsnn_tensor_info info = fsnn_model_output(m, o);
      int64_t perSample = 1;
      for (int32_t d = 1; d < info.rank; ++d)
        perSample *= info.dims[d];
      result.counts[layer] =
          Eigen::Map<Eigen::Matrix<int32_t, Eigen::Dynamic, Eigen::Dynamic,
                                   Eigen::RowMajor>>(
              reinterpret_cast<int32_t *>(buffers[o].data()), batch, perSample)
              .cast<float>();
    }
    return Status();
  };
  return Status();
}

} // namespace fsnn::bind
