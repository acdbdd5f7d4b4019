//===- CompiledModel.cpp - a compiled library bound to its model ----------===//

#include "runtime/bind/CompiledModel.h"
#include "runtime/src/status_internal.h"

#include "runtime/model/Model.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <vector>

namespace fsnn::bind {

namespace fm = fsnn::model;

std::string formatDims(const fsnn_tensor_info &info) {
  std::string text = "[";
  for (int32_t d = 0; d < info.rank; ++d)
    text += (d ? ", " : "") + std::to_string(info.dims[d]);
  return text + "]";
}

namespace {

std::string hex(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016" PRIx64, value);
  return text;
}

std::vector<int64_t> dimsOf(const fsnn_tensor_info &info) {
  return std::vector<int64_t>(info.dims, info.dims + info.rank);
}

fsnn_dtype dtypeOf(fm::TensorProto::DataType dtype) {
  return dtype == fm::TensorProto::FLOAT64 ? FSNN_F64 : FSNN_F32;
}

class Binder {
public:
  Binder(const fm::ModelProto &model, const fm::ModelInfo &info,
         fsnn_model *library, const std::string &path)
      : model(model), info(info), library(library), path(path),
        batch(fsnn_model_batch(library)) {}

  Status checkParameters() {
    for (int32_t p = 0; p < fsnn_model_num_parameters(library); ++p) {
      fsnn_tensor_info param = fsnn_model_parameter(library, p);
      const fm::TensorProto *tensor =
          initializer(initializerOfParameter(param.name));
      if (!tensor)
        return mismatch("needs parameter '" + std::string(param.name) +
                        "', which the model file lacks");
      std::vector<int64_t> dims(tensor->dims().begin(), tensor->dims().end());
      if (dimsOf(param) != dims || param.dtype != dtypeOf(tensor->dtype()))
        return mismatch("declares parameter '" + std::string(param.name) +
                        "' as " + formatDims(param) +
                        (param.dtype == FSNN_F64 ? " float64" : " float32") +
                        "; the model file has " + fm::formatShape(dims) + " " +
                        fm::dtypeName(tensor->dtype()));
    }
    return Status();
  }

  Status checkInputs(bool training) {
    int32_t expected = training ? 2 : 1;
    if (fsnn_model_num_inputs(library) != expected)
      return mismatch("has " + std::to_string(fsnn_model_num_inputs(library)) +
                      " inputs, expected " + std::to_string(expected));
    const fm::ValueInfoProto &graphInput = model.graph().inputs(0);
    fsnn_tensor_info input = fsnn_model_input_at(library, 0);
    if (Status s = checkActivation(input, graphInput.name(),
                                   info.values.at(graphInput.name()).shape,
                                   dtypeOf(info.dtype)))
      return s;
    if (training) {
      fsnn_tensor_info labels = fsnn_model_input_at(library, 1);
      if (dimsOf(labels) != std::vector<int64_t>{batch} ||
          labels.dtype != FSNN_I64)
        return mismatch("takes labels " + formatDims(labels) + ", expected [" +
                        std::to_string(batch) + "] int64");
    }
    return Status();
  }

  Status checkOutputs(bool training) {
    if (fsnn_model_num_outputs(library) < 1)
      return mismatch("has no outputs");
    for (int32_t o = 0; o < fsnn_model_num_outputs(library); ++o) {
      fsnn_tensor_info output = fsnn_model_output(library, o);
      std::string name = output.name;
      if (const fm::ValueInfoProto *graphOutput = graphOutputNamed(name)) {
        fsnn_dtype dtype = graphOutput->dtype() == fm::TensorProto::INT32
                               ? FSNN_I32
                               : dtypeOf(info.dtype);
        if (Status s = checkActivation(output, name, info.values.at(name).shape,
                                       dtype))
          return s;
        continue;
      }
      if (!training)
        return mismatch("has output '" + name +
                        "', which is not an output of the model file");
      if (Status s = checkTrainingOutput(output))
        return s;
    }
    return Status();
  }

private:
  Status mismatch(const std::string &what) const {
    return Status::error("model_mismatch: " + path + " " + what);
  }

  const fm::TensorProto *initializer(const std::string &name) const {
    for (const fm::TensorProto &t : model.graph().initializers())
      if (t.name() == name)
        return &t;
    return nullptr;
  }

  const fm::ValueInfoProto *graphOutputNamed(const std::string &name) const {
    for (const fm::ValueInfoProto &v : model.graph().outputs())
      if (v.name() == name)
        return &v;
    return nullptr;
  }

  Status checkActivation(const fsnn_tensor_info &tensor,
                         const std::string &name,
                         const std::vector<int64_t> &perSample,
                         fsnn_dtype dtype) const {
    std::vector<int64_t> expected = {batch};
    expected.insert(expected.end(), perSample.begin(), perSample.end());
    if (dimsOf(tensor) != expected || tensor.dtype != dtype)
      return mismatch("declares '" + name + "' as " + formatDims(tensor) +
                      "; the model file gives " + fm::formatShape(expected));
    return Status();
  }

  /// The training step's own outputs: the loss, per-sample solver figures,
  /// and tensors shaped like an initializer (refreshed state, batch
  /// statistics, gradients).
  Status checkTrainingOutput(const fsnn_tensor_info &output) const {
    std::string name = output.name;
    std::vector<int64_t> expected;
    if (name == "loss") {
      expected = {};
    } else if (name == "adjoint_residual" || name == "adjoint_rhs_norm") {
      expected = {batch};
    } else {
      const fm::TensorProto *tensor = nullptr;
      for (const char *prefix :
           {"grad:", "state:", "batch_mean:", "batch_variance:"})
        if (name.rfind(prefix, 0) == 0)
          tensor = initializer(name.substr(std::string(prefix).size()));
      if (!tensor)
        return mismatch("has output '" + name +
                        "', which names nothing in the model file");
      expected.assign(tensor->dims().begin(), tensor->dims().end());
    }
    if (dimsOf(output) != expected)
      return mismatch("declares output '" + name + "' as " +
                      formatDims(output) + "; the model file gives " +
                      fm::formatShape(expected));
    return Status();
  }

  const fm::ModelProto &model;
  const fm::ModelInfo &info;
  fsnn_model *library;
  const std::string &path;
  int64_t batch;
};

} // namespace

Status checkBinding(const fm::ModelProto &model, const fm::ModelInfo &info,
                    fsnn_model *raw, const std::string &libraryPath,
                    bool training) {
  uint64_t expected = fm::modelStructureHash(model);
  if (fsnn_model_hash(raw) != expected)
    return Status::error("model_mismatch: " + libraryPath +
                         " was compiled from another model (structure hash " +
                         hex(fsnn_model_hash(raw)) + ", the model file has " +
                         hex(expected) + "); recompile it with fsnn-compile");
  if (bool(fsnn_model_is_training(raw)) != training)
    return Status::error(
        libraryPath +
        (training ? " is an inference library; compile the training step with "
                    "fsnn-compile --train"
                  : " is a training step; this needs an inference library "
                    "(fsnn-compile without --train)"));
  Binder binder(model, info, raw, libraryPath);
  if (Status s = binder.checkParameters())
    return s;
  if (Status s = binder.checkInputs(training))
    return s;
  if (Status s = binder.checkOutputs(training))
    return s;
  return Status();
}

std::string initializerOfParameter(const std::string &parameterName) {
  for (const char *prefix : {"statistics_mean:", "statistics_variance:"})
    if (parameterName.rfind(prefix, 0) == 0)
      return parameterName.substr(std::strlen(prefix));
  return parameterName;
}

void setRuntimeError(const std::string &message) {
  fsnnrt::setLastError(message);
}

Status openCompiledModel(const fm::ModelProto &model, const fm::ModelInfo &info,
                         const std::string &libraryPath,
                         const CompiledModelOptions &options,
                         std::shared_ptr<fsnn_model> &library) {
  fsnn_model *raw = nullptr;
  if (fsnn_status status = fsnn_model_open(libraryPath.c_str(), &raw))
    return Status::error(libraryPath + ": " + fsnn_status_name(status) + ": " +
                         fsnn_last_error());
  std::shared_ptr<fsnn_model> opened(raw, fsnn_model_close);
  std::string target = fsnn_model_target(raw);
  if (!options.device.empty() && target != options.device)
    return Status::error(
        libraryPath +
        (target == "cuda"
             ? " was compiled for CUDA (fsnn-compile --target cuda); run it "
               "with --device cuda"
             : " was compiled for the CPU; for --device " + options.device +
                   ", compile it with fsnn-compile --target cuda"));
  if (Status s = checkBinding(model, info, raw, libraryPath, options.training))
    return s;
  library = std::move(opened);
  return Status();
}

} // namespace fsnn::bind
