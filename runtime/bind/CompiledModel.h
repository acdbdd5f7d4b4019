//===- CompiledModel.h - a compiled library bound to its model --*- C++ -*-===//
//
// One place where a compiled model (.so from fsnn-compile) is opened for a
// model file and checked against it, field by field, before anything the
// library says is used to size a buffer: the structure hash, the target,
// each parameter's name, dtype and dims against the model's initializer,
// the inputs' and every output's shape against the validated model. Used by
// fsnn-run's compiled backend and by fsnn-train's.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_RUNTIME_BIND_COMPILEDMODEL_H
#define FSNN_RUNTIME_BIND_COMPILEDMODEL_H

#include "runtime/model/Validate.h"
#include "runtime/reference/Evaluate.h"

#include "fsnnrt/model.h"

#include <memory>
#include <string>

namespace fsnn::bind {

using fsnn::model::Status;

struct CompiledModelOptions {
  /// Where the caller means to run it: "cpu" or "cuda"; empty: wherever
  /// the library was compiled for (fsnn-train runs either).
  std::string device = "cpu";
  /// A training step (fsnn-compile --train) rather than inference.
  bool training = false;
};

/// Opens `libraryPath` and checks it against `model`, validated into
/// `info`. Every mismatch is an error naming the field and both values.
Status openCompiledModel(const fsnn::model::ModelProto &model,
                         const fsnn::model::ModelInfo &info,
                         const std::string &libraryPath,
                         const CompiledModelOptions &options,
                         std::shared_ptr<fsnn_model> &library);

/// The compiled backend: the shared library made by fsnn-compile from this
/// model (its structure hash must match), run by the runtime on `threads`.
/// Reports the spike counts the model has as outputs. `device` is where the
/// caller means to run it (cpu or cuda); a library compiled for the other
/// one is refused with a message that says how to get the right one.
Status makeCompiledForward(const fsnn::model::ModelProto &model,
                           const fsnn::model::ModelInfo &info,
                           const std::string &libraryPath, int threads,
                           reference::BatchForward &forward,
                           const std::string &device = "cpu");

/// The dims of a runtime tensor as "[a, b]".
std::string formatDims(const fsnn_tensor_info &info);

/// Whether `library` (opened from `libraryPath`) was compiled from `model`:
/// the structure hash, then every parameter, input and output by name,
/// shape and dtype (a sharded step's statistics against their running
/// statistics).
Status checkBinding(const fsnn::model::ModelProto &model,
                    const fsnn::model::ModelInfo &info, fsnn_model *library,
                    const std::string &libraryPath, bool training);

/// The model initializer a library parameter is read from: its own name,
/// or for a sharded training step's batch statistics
/// (`statistics_mean:<running mean>`, `statistics_variance:<running
/// variance>`) the running statistic of the same shape.
std::string initializerOfParameter(const std::string &parameterName);

/// Sets the message fsnn_last_error() returns on this thread.
void setRuntimeError(const std::string &message);

} // namespace fsnn::bind

#endif // FSNN_RUNTIME_BIND_COMPILEDMODEL_H
