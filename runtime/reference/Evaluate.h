//===- Evaluate.h - run a model over a dataset with the reference -*- C++ -*-//
//
// What `fsnn-run --backend reference` does: normalise IDX images, split each
// batch over threads (one executor per thread), simulate, and collect
// accuracy, throughput, firing rates, synaptic operations and the logits.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_RUNTIME_REFERENCE_EVALUATE_H
#define FSNN_RUNTIME_REFERENCE_EVALUATE_H

#include "runtime/model/Validate.h"
#include "runtime/reference/Kernels.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace fsnn::reference {

using fsnn::model::Status;

struct EvaluateOptions {
  int64_t batch = 128;
  int threads = 2;
  /// Pixel p becomes (p / 255 - mean) / std; the paper normalises
  /// Fashion-MNIST with the MNIST constants (docs/method.md §5.2).
  double mean = 0.1307, std = 0.3081;
  /// Evaluate only the first `limit` images (0: all).
  int64_t limit = 0;
  bool keepLogits = false;
  /// Keep every reported layer's spike counts (EvaluateReport::counts).
  bool keepCounts = false;
};

struct EvaluateReport {
  int64_t images = 0;
  int64_t classes = 0;
  int64_t correct = 0;
  bool labelled = false;
  double seconds = 0;
  /// Mean firing rate (spikes per neuron per step) of each reported layer.
  std::map<int, double> meanRate;
  /// Spikes times their outgoing synapses inside the spiking loop, per image
  /// (dense-equivalent fan-out: the map's MACs per input neuron).
  double synapticOperationsPerImage = 0;
  std::vector<float> logits; // images x classes, with keepLogits
  /// With keepCounts: per reported layer, images x neurons.
  std::map<int, std::vector<float>> counts;
};

/// What a backend returns for one batch: the logits, and the spike counts
/// of the layers it reports (by layer index).
struct BatchResult {
  Matrix<float> logits;
  std::map<int, Matrix<float>> counts;
  /// Reference backends: per sample, the smallest |v - V_th| of any spiking
  /// decision (empty for the compiled backend).
  std::vector<double> thresholdMargin;
};

/// A sample whose spiking decisions came closer than this to V_th is a
/// threshold tie for float32 arithmetic: backends that round differently
/// (BN folded, another summation order) may fire otherwise on it.
constexpr double kThresholdTieMargin = 1e-4;

/// Runs one batch (batch x per-sample input) on some backend.
using BatchForward =
    std::function<Status(const Matrix<float> &input, BatchResult &result)>;

/// The reference backend: one executor per thread, the batch split over
/// `threads`; in float64 with `doublePrecision` (the input and the results
/// are still float32).
Status makeReferenceForward(const fsnn::model::ModelProto &model, int threads,
                            BatchForward &forward,
                            bool doublePrecision = false);

/// Fills samples [first, first + batch) into `input` (batch x elements).
using SampleSource =
    std::function<Status(int64_t first, int64_t batch, Matrix<float> &input)>;

/// Runs `images` samples of `elements` values from `source` batch by batch
/// through `forward`, and collects the figures. `progress(done, total)` is
/// called after every batch.
Status evaluateSamples(const fsnn::model::ModelProto &model,
                       const SampleSource &source, int64_t elements,
                       int64_t images, const std::vector<int64_t> &labels,
                       const EvaluateOptions &options,
                       const BatchForward &forward, EvaluateReport &report,
                       const std::function<void(int64_t, int64_t)> &progress);

/// Normalises the images, runs them batch by batch through `forward`, and
/// collects the figures. `progress(done, total)` is called after every batch.
Status evaluate(const fsnn::model::ModelProto &model,
                const std::vector<uint8_t> &pixels, int64_t pixelsPerImage,
                int64_t images, const std::vector<int64_t> &labels,
                const EvaluateOptions &options, const BatchForward &forward,
                EvaluateReport &report,
                const std::function<void(int64_t, int64_t)> &progress);

struct CompareReport {
  int64_t images = 0;
  /// Neurons (over the layers both backends report) with equal spike counts.
  int64_t neurons = 0, identicalNeurons = 0;
  /// With a float64 reference: samples that are threshold ties (a spiking
  /// decision within kThresholdTieMargin of V_th in float64), and the counts
  /// over the other, stable samples.
  int64_t tieSamples = 0;
  int64_t stableNeurons = 0, identicalStableNeurons = 0;
  /// Samples whose spike counts agree everywhere, and the largest relative
  /// logit difference among them (relative to max(1, |reference|)).
  int64_t agreeingSamples = 0;
  double maxLogitDifference = 0;
};

/// Runs the same images through two backends and compares spike counts and
/// logits, as compiled code is checked against the reference. With
/// `precise` (the reference in float64), samples that are threshold ties
/// for float32 arithmetic are told apart.
Status compareBackends(const fsnn::model::ModelProto &model,
                       const std::vector<uint8_t> &pixels,
                       int64_t pixelsPerImage, int64_t images,
                       const EvaluateOptions &options,
                       const BatchForward &tested,
                       const BatchForward &reference, CompareReport &report,
                       const BatchForward *precise = nullptr);

/// Outgoing synapses per neuron of each layer of the model's SpikingFeedback
/// node (layer l feeds map l + 1; the last layer feeds the feedback map).
std::vector<double> fanOutPerLayer(const fsnn::model::ModelProto &model,
                                   const fsnn::model::ModelInfo &info);

} // namespace fsnn::reference

#endif // FSNN_RUNTIME_REFERENCE_EVALUATE_H
