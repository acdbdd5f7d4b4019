//===- CompiledBackend.cpp - training through compiled code ---------------===//
//
// The training step compiled by `fsnn-compile --train` (forward in training
// mode, the adjoint's linear fixed point, every parameter gradient) runs
// through the runtime's fsnn_model_call, one compiled batch per step.
// Evaluation runs an inference library (fsnn-compile) on threads, or the
// reference executor when none is given. No LLVM or MLIR here.
//
//===----------------------------------------------------------------------===//

#include "runtime/bind/CompiledModel.h"
#include "training/train/Trainer.h"

#include "fsnnrt/model.h"
#include "fsnnrt/runtime.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace fsnn::train {

namespace fm = fsnn::model;

namespace {

int64_t elementsOf(const fsnn_tensor_info &info) {
  int64_t n = 1;
  for (int32_t d = 0; d < info.rank; ++d)
    n *= info.dims[d];
  return n;
}

/// Opens a library bound to `model` (bind::openCompiledModel checks
/// every field against it); fsnn-train's compiled backend trains float32.
Status openLibrary(const std::string &path, const fm::ModelProto &model,
                   const fm::ModelInfo &info, bool training,
                   std::shared_ptr<fsnn_model> &library) {
  bind::CompiledModelOptions options;
  options.training = training;
  options.device = "";
  if (Status s = bind::openCompiledModel(model, info, path, options, library))
    return s;
  for (int32_t i = 0; i < fsnn_model_num_parameters(library.get()); ++i)
    if (fsnn_model_parameter(library.get(), i).dtype == FSNN_F64)
      return Status::error(path + ": '" +
                           fsnn_model_parameter(library.get(), i).name +
                           "' is float64; fsnn-train's compiled backend "
                           "trains float32 models");
  return Status();
}

class CompiledBackend : public Backend {
public:
  std::string name() const override { return "compiled"; }
  int64_t fixedBatch() const override { return batch; }

  Status init(const fm::ModelProto &model, const std::string &trainPath,
              const std::string &evalPath, const BackendOptions &options) {
    this->options = options;
    fm::ModelInfo info;
    if (Status s = fm::validateModel(model, info))
      return s;
    if (Status s = openLibrary(trainPath, model, info, true, train))
      return s;
    // openCompiledModel has checked the images and the int64 labels.
    batch = fsnn_model_batch(train.get());
    if (fsnn_status s =
            fsnn_model_set_threads(train.get(), std::max(1, options.threads)))
      return Status::error(std::string(fsnn_status_name(s)) + ": " +
                           fsnn_last_error());
    if (!evalPath.empty()) {
      if (Status s = openLibrary(evalPath, model, info, false, eval))
        return s;
    } else if (Status s = makeReferenceBackend(model, options, fallback)) {
      return s;
    }
    for (int32_t o = 0; o < fsnn_model_num_outputs(train.get()); ++o) {
      fsnn_tensor_info info = fsnn_model_output(train.get(), o);
      outputs.emplace_back(size_t(elementsOf(info)));
      outputNames.push_back(info.name);
    }
    return Status();
  }

  /// Whether the step was compiled with --sharded.
  bool sharded() const {
    for (int32_t i = 0; i < fsnn_model_num_parameters(train.get()); ++i)
      if (isShardedStatisticsName(fsnn_model_parameter(train.get(), i).name))
        return true;
    return false;
  }

  Status step(Tensors &tensors, const std::vector<float> &input,
              const std::vector<int64_t> &labels, uint64_t dropoutSeed,
              StepResult &result) override {
    if (int64_t(labels.size()) != batch)
      return Status::error("the compiled training step takes batches of " +
                           std::to_string(batch) + ", got " +
                           std::to_string(labels.size()));
    std::vector<const void *> parameters;
    if (Status s = parameterPointers(train.get(), tensors, parameters))
      return s;
    const void *inputs[2] = {input.data(), labels.data()};
    std::vector<void *> outputPointers;
    for (std::vector<float> &o : outputs)
      outputPointers.push_back(o.data());
    if (fsnn_status s =
            fsnn_model_call(train.get(), inputs, parameters.data(),
                            int64_t(dropoutSeed), outputPointers.data()))
      return Status::error(std::string(fsnn_status_name(s)) + ": " +
                           fsnn_last_error());

    result.clearKeepingBuffers();
    const std::vector<float> *residual = nullptr, *start = nullptr;

    for (size_t o = 0; o < outputs.size(); ++o) {
      const std::string &name = outputNames[o];
      const std::vector<float> &data = outputs[o];
      auto after = [&](const char *prefix) {
        return name.rfind(prefix, 0) == 0 ? name.substr(std::strlen(prefix))
                                          : std::string();
      };
      if (name == "loss") {
        result.loss = data[0];
      } else if (o == 1) { // the logits
        int64_t classes = int64_t(data.size()) / batch;
        for (int64_t b = 0; b < batch; ++b) {
          const float *row = data.data() + b * classes;
          result.correct +=
              std::max_element(row, row + classes) - row == labels[b];
        }
      } else if (std::string p = after("grad:"); !p.empty()) {
        // The output buffer becomes the gradient, and the previous step's
        // gradient buffer (of the same size) the next output: no copy of
        // every parameter's gradient per step.
        std::vector<float> &gradient = result.gradients[p];
        gradient.swap(outputs[o]);
        outputs[o].resize(gradient.size());
      } else if (std::string p = after("state:"); !p.empty()) {
        tensors.values.at(p) = data;
      } else if (std::string p = after("batch_mean:"); !p.empty()) {
        result.batchStatistics.emplace_back();
        result.batchStatistics.back().meanName = p;
        result.batchStatistics.back().mean = data;
      } else if (std::string p = after("batch_variance:"); !p.empty()) {
        // The importer emits each BN's mean right before its variance.
        if (result.batchStatistics.empty())
          return Status::error("the library's '" + name +
                               "' comes before its batch mean");
        result.batchStatistics.back().varianceName = p;
        result.batchStatistics.back().variance = data;
      } else if (name == "adjoint_residual") {
        residual = &data;
      } else if (name == "adjoint_rhs_norm") {
        start = &data;
      }
    }
    if (residual && start)
      for (int64_t b = 0; b < batch; ++b)
        recordAdjointSample(result, (*residual)[b], (*start)[b]);
    return Status();
  }

  Status evaluate(const Tensors &tensors, const std::vector<float> &input,
                  int64_t count, std::vector<float> &logits) override {
    if (!eval.get())
      return fallback->evaluate(tensors, input, count, logits);
    std::vector<const void *> parameters;
    if (Status s = parameterPointers(eval.get(), tensors, parameters))
      return s;
    int32_t numOutputs = fsnn_model_num_outputs(eval.get());
    std::vector<std::vector<char>> buffers(numOutputs);
    std::vector<void *> pointers;
    for (int32_t o = 0; o < numOutputs; ++o) {
      fsnn_tensor_info info = fsnn_model_output(eval.get(), o);
      size_t perSample =
          size_t(elementsOf(info) / info.dims[0]) *
          (info.dtype == FSNN_F64 || info.dtype == FSNN_I64 ? 8 : 4);
      buffers[o].resize(perSample * size_t(count));
      pointers.push_back(buffers[o].data());
    }
    if (fsnn_status s =
            fsnn_model_run(eval.get(), input.data(), parameters.data(), 0,
                           pointers.data(), count, options.threads))
      return Status::error(std::string(fsnn_status_name(s)) + ": " +
                           fsnn_last_error());
    logits.resize(buffers[0].size() / sizeof(float));
    std::memcpy(logits.data(), buffers[0].data(), buffers[0].size());
    return Status();
  }

private:
  static Status parameterPointers(fsnn_model *model, const Tensors &tensors,
                                  std::vector<const void *> &pointers) {
    pointers.clear();
    for (int32_t i = 0; i < fsnn_model_num_parameters(model); ++i) {
      fsnn_tensor_info info = fsnn_model_parameter(model, i);
      auto it = tensors.values.find(info.name);
      if (it == tensors.values.end() ||
          int64_t(it->second.size()) != elementsOf(info))
        return Status::error(std::string("the library's parameter '") +
                             info.name + "' (" + bind::formatDims(info) +
                             ") is not in the model");
      pointers.push_back(it->second.data());
    }
    return Status();
  }

  BackendOptions options;
  std::shared_ptr<fsnn_model> train, eval;
  std::unique_ptr<Backend> fallback;
  int64_t batch = 0;
  std::vector<std::vector<float>> outputs;
  std::vector<std::string> outputNames;
};

} // namespace

Status makeCompiledBackend(const fm::ModelProto &model,
                           const std::string &trainLibrary,
                           const std::string &evalLibrary,
                           const BackendOptions &options,
                           std::unique_ptr<Backend> &backend) {
  auto compiled = std::make_unique<CompiledBackend>();
  if (Status s = compiled->init(model, trainLibrary, evalLibrary, options))
    return s;
  static std::unique_ptr<Communicator> alone = makeSingleProcess();
  Communicator &communicator =
      options.communicator ? *options.communicator : *alone;
  if (compiled->sharded()) {
    int64_t globalBatch =
        options.globalBatch > 0 ? options.globalBatch : compiled->fixedBatch();
    return makeShardedBackend(model, std::move(compiled), globalBatch,
                              communicator, backend);
  }
  if (communicator.size() > 1)
    return Status::error(
        trainLibrary +
        " is the step of one process's batch; data-parallel "
        "training over " +
        std::to_string(communicator.size()) +
        " processes needs a sharded step: fsnn-compile --train --sharded "
        "--batch <--batch / processes or less>");
  backend = std::move(compiled);
  return Status();
}

} // namespace fsnn::train
