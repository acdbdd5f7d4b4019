//===- Evaluate.h - run a model over a dataset with the reference -*- C++ -*-//
//
// What `fsnn-run --backend reference` does: normalise IDX images, split each
// batch over threads (one executor per thread), simulate, and collect
// accuracy, throughput, firing rates, synaptic operations and the logits.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_RUNTIME_REFERENCE_EVALUATE_H
#define FSNN_RUNTIME_REFERENCE_EVALUATE_H

#include "Validate.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fsnn::reference {

using fsnn::model::Status;

struct EvaluateOptions {
  int64_t batch = 128;
  int threads = 2;
  /// Pixel p becomes (p / 255 - mean) / std; the paper normalises
  /// Fashion-MNIST with the MNIST constants (IDE_SPEC §5.2).
  double mean = 0.1307, std = 0.3081;
  /// Evaluate only the first `limit` images (0: all).
  int64_t limit = 0;
  bool keepLogits = false;
};

struct EvaluateReport {
  int64_t images = 0;
  int64_t classes = 0;
  int64_t correct = 0;
  bool labelled = false;
  double seconds = 0;
  /// Mean firing rate (spikes per neuron per step) of each layer.
  std::vector<double> meanRate;
  /// Spikes times their outgoing synapses inside the spiking loop, per image
  /// (dense-equivalent fan-out: the map's MACs per input neuron).
  double synapticOperationsPerImage = 0;
  std::vector<float> logits; // images x classes, with keepLogits
};

/// `progress(done, total)` is called after every batch.
Status evaluateReference(const fsnn::model::ModelProto &model,
                         const std::vector<uint8_t> &pixels,
                         int64_t pixelsPerImage, int64_t images,
                         const std::vector<int64_t> &labels,
                         const EvaluateOptions &options, EvaluateReport &report,
                         const std::function<void(int64_t, int64_t)> &progress);

/// Outgoing synapses per neuron of each layer of the model's SpikingFeedback
/// node (layer l feeds map l + 1; the last layer feeds the feedback map).
std::vector<double> fanOutPerLayer(const fsnn::model::ModelProto &model,
                                   const fsnn::model::ModelInfo &info);

} // namespace fsnn::reference

#endif // FSNN_RUNTIME_REFERENCE_EVALUATE_H
