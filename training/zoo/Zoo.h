//===- Zoo.h - the paper's architectures as model files ---------*- C++ -*-===//

#ifndef FSNN_TRAINING_ZOO_ZOO_H
#define FSNN_TRAINING_ZOO_ZOO_H

#include "runtime/model/Validate.h"

#include <optional>
#include <string>
#include <vector>

namespace fsnn::model {

/// Settings of `fsnn-model create`; unset fields take the paper's value for
/// the architecture (docs/method.md §5).
struct ZooOptions {
  std::string neuron = "if";  // "if" or "lif"
  std::optional<double> leak; // λ for LIF: 0.95 (MNIST family), 0.99 (CIFAR)
  std::optional<int64_t> timeSteps; // 5 (F-MNIST), 30 otherwise
  double threshold = 2.0;           // V_th
  double dropout = 0.2;
  /// Every spiking layer's channel count divided by this (rounded up): the
  /// paper's structure at a width that tests and quick experiments afford.
  int64_t channelDivisor = 1;
  uint64_t seed = 0;
  TensorProto::DataType dtype = TensorProto::FLOAT32;
};

/// The architecture names `create` accepts.
const std::vector<std::string> &zooArchitectures();

/// Builds `arch` with the paper's initialisation (docs/method.md §4.2): weights
/// U(-1, 1) with each output unit normalised to unit L2 norm, zero biases,
/// BN gamma 1 and beta 0, PyTorch's default readout initialisation, and the
/// feedback weight spectrally reparameterised with g = σ(V) from 10 power
/// iterations. The same seed gives the same model.
Status createModel(const std::string &arch, const ZooOptions &options,
                   ModelProto &model);

/// createModel, checked by the validator (`info` describes it), written to
/// `path`.
Status createModelFile(const std::string &arch, const ZooOptions &options,
                       const std::string &path, ModelInfo &info);

} // namespace fsnn::model

#endif // FSNN_TRAINING_ZOO_ZOO_H
