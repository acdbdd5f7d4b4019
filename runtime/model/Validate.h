//===- Validate.h - checking a model before anything uses it ----*- C++ -*-===//
//
// validateModel is the gate every tool passes a model through: it checks the
// schema version, every tensor, every node and attribute, the dataflow (no
// undefined names, no cycles other than declared feedback) and the shapes, and
// it does so before allocating anything whose size a file controls. What it
// learns (shapes, order, counts) is returned for the tools to use.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_RUNTIME_MODEL_VALIDATE_H
#define FSNN_RUNTIME_MODEL_VALIDATE_H

#include "runtime/model/Model.h"

#include <map>
#include <string>
#include <vector>

namespace fsnn::model {

/// Limits that bound what a file can make a reader allocate.
constexpr int64_t kMaxDimension = int64_t(1) << 24;
constexpr int64_t kMaxTensorElements = int64_t(1) << 28;
constexpr int64_t kMaxTimeSteps = 100000;
constexpr int64_t kMaxSolverIterations = 100000;
constexpr size_t kMaxNameBytes = 256;

/// What the validator knows about a named value.
struct ValueInfo {
  /// Activations: the per-sample shape (the batch is implicit). Parameters:
  /// the full shape.
  std::vector<int64_t> shape;
  bool isParameter = false;
  /// Spike counts (int32): a graph output only, never an op input.
  bool isCount = false;
};

/// One row of `fsnn-model info`.
struct LayerSummary {
  std::string node;
  std::string opType;
  std::string detail; // e.g. "1 layer, IF, T=5" or "strides 2x2 pads 2x2"
  std::vector<std::vector<int64_t>> outputShapes;
};

struct ModelInfo {
  TensorProto::DataType dtype = TensorProto::UNDEFINED;
  /// Top-level values: graph inputs, initializers, node outputs.
  std::map<std::string, ValueInfo> values;
  /// Every value of the model, including those inside maps (names are
  /// unique model-wide), for consumers such as the importer.
  std::map<std::string, ValueInfo> allValues;
  /// Top-level nodes in an order where every value is defined before use.
  std::vector<int> order;
  /// Trainable parameters: weights, biases, BN affine parameters, the
  /// spectral V and g. BN running statistics and the power-iteration vectors
  /// u and v are state, not parameters (the paper counts the same way).
  int64_t parameterCount = 0;
  /// Spiking neurons plus input neurons (per-sample input size; for spike
  /// frames, one frame), as the paper counts.
  int64_t neuronCount = 0;
  int64_t inputNeurons = 0;
  /// Initializers that are state (BN statistics, u, v), not parameters.
  std::vector<std::string> stateTensors;
  std::vector<LayerSummary> layers;
};

/// Validates `model`; on success fills `info`. Messages name the node (or
/// initializer) and the field at fault.
Status validateModel(const ModelProto &model, ModelInfo &info);

/// The classes of a validated model: the last dim of its first output (0
/// when it has none).
int64_t outputClasses(const ModelProto &model, const ModelInfo &info);

/// Parses `bytes` (named `source` in messages) and validates the model.
Status parseValidModel(std::string_view bytes, const std::string &source,
                       ModelProto &model, ModelInfo &info);

/// Reads the model file at `path` and validates it: how every tool opens a
/// model. A validation message is prefixed with the path (the loader's
/// messages name it already).
Status loadValidModel(const std::string &path, ModelProto &model,
                      ModelInfo &info, Format *format = nullptr);

/// Product of dims, or -1 if it would exceed kMaxTensorElements or a dim is
/// out of range.
int64_t checkedElementCount(const std::vector<int64_t> &dims);

/// "[400, 784]".
std::string formatShape(const std::vector<int64_t> &shape);

/// The memory a run of a validated model holds at once, roughly, before it
/// allocates any of it: every activation of the model times the samples in
/// flight, at kBytesPerActivation (the potentials, rates, counts, currents
/// and temporaries the executors keep per neuron), plus the parameters.
struct MemoryEstimate {
  uint64_t bytes = 0;
  /// The activation that takes the most, and its per-sample shape.
  std::string largestValue;
  std::vector<int64_t> largestShape;
};
constexpr uint64_t kBytesPerActivation = 16;
/// What tools refuse to run beyond unless told otherwise (--max-memory).
constexpr uint64_t kDefaultMaxMemory = uint64_t(4) << 30;
MemoryEstimate estimateMemory(const ModelInfo &info, int64_t samples);

/// An error naming the largest activation and the figures when the
/// estimate for `samples` in flight exceeds `maxBytes`; `flag` is the
/// option that raises the limit.
Status checkMemoryBudget(const ModelInfo &info, int64_t samples,
                         uint64_t maxBytes,
                         const std::string &flag = "--max-memory");

/// checkMemoryBudget with the limit given as a --max-memory text ("4G"); a
/// malformed text is an error naming the flag.
Status checkMemoryFlag(const ModelInfo &info, int64_t samples,
                       const std::string &maxMemory);

/// "4G", "512M", "1.5G", "100000" (bytes) into bytes; false if malformed.
bool parseByteSize(const std::string &text, uint64_t &bytes);

/// "3.9 GB" style, for messages.
std::string formatBytes(uint64_t bytes);

} // namespace fsnn::model

#endif // FSNN_RUNTIME_MODEL_VALIDATE_H
