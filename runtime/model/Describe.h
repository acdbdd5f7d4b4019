//===- Describe.h - human-readable model summaries --------------*- C++ -*-===//

#ifndef FSNN_RUNTIME_MODEL_DESCRIBE_H
#define FSNN_RUNTIME_MODEL_DESCRIBE_H

#include "runtime/model/Validate.h"

#include <string>

namespace fsnn::model {

/// The text of `fsnn-model info`: header, inputs and outputs, one line per
/// top-level node with its output shapes, then `parameters: N` and
/// `neurons: N`.
std::string describeModel(const ModelProto &model, const ModelInfo &info);

/// The same as one JSON object (`fsnn-model info --json`): name, format,
/// producer, doc, dtype, inputs and outputs with shapes, layers with their
/// output shapes and details, the training state if any, parameter and
/// neuron counts, and every initializer's shape and dtype.
std::string describeModelJson(const ModelProto &model, const ModelInfo &info);

} // namespace fsnn::model

#endif // FSNN_RUNTIME_MODEL_DESCRIBE_H
