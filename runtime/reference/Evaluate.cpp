//===- Evaluate.cpp - run a model over a dataset on some backend ----------===//

#include "runtime/reference/Evaluate.h"

#include "fsnnrt/model.h"
#include "fsnnrt/runtime.h"
#include "runtime/reference/Executor.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>

namespace fsnn::reference {

namespace fm = fsnn::model;
using fm::product;

namespace {
/// Multiply-accumulates per sample of the linear and conv nodes of a map.
double mapMacs(const fm::GraphProto &map, const fm::ModelInfo &info) {
  double macs = 0;
  for (const fm::NodeProto &node : map.nodes()) {
    const std::string &op = node.op_type();
    if (op != "Linear" && op != "Conv2d" && op != "ConvTranspose2d")
      continue;
    const std::vector<int64_t> &in = info.allValues.at(node.inputs(0)).shape;
    const std::vector<int64_t> &out = info.allValues.at(node.outputs(0)).shape;
    const std::vector<int64_t> &w = info.allValues.at(node.inputs(1)).shape;
    if (op == "Linear")
      macs += double(product(in)) * product(out);
    else if (op == "Conv2d")
      macs += double(product(w)) * out[1] * out[2];
    else
      macs += double(product(w)) * in[1] * in[2];
  }
  return macs;
}

} // namespace

std::vector<double> fanOutPerLayer(const fm::ModelProto &model,
                                   const fm::ModelInfo &info) {
  std::vector<double> fanOut;
  const fm::NodeProto *node = fm::findFeedbackNode(model);
  if (!node)
    return fanOut;
  std::vector<const fm::GraphProto *> layers = fm::layerGraphs(*node);
  const fm::GraphProto &feedback =
      fm::findAttribute(*node, "feedback")->graphs().values(0);
  for (size_t l = 0; l < layers.size(); ++l) {
    const fm::GraphProto &consumer =
        l + 1 < layers.size() ? *layers[l + 1] : feedback;
    int64_t neurons =
        product(info.allValues.at(layers[l]->outputs(0).name()).shape);
    fanOut.push_back(mapMacs(consumer, info) / double(neurons));
  }
  return fanOut;
}

namespace {
template <typename T>
Status makeReferenceForwardIn(const fm::ModelProto &model, int threads,
                              BatchForward &forward) {
  if (threads < 1)
    return Status::error("--threads must be >= 1, got " +
                         std::to_string(threads));
  auto executors = std::make_shared<std::vector<Executor<T>>>(threads);
  for (Executor<T> &executor : *executors)
    if (Status status = Executor<T>::create(model, executor))
      return status;
  std::string logitsName = model.graph().outputs(0).name();
  forward = [executors, threads, logitsName](const Matrix<float> &input,
                                             BatchResult &result) {
    std::vector<fsnn_batch_range> ranges(threads);
    int32_t count = 0;
    fsnn_partition_batch(input.rows(), threads, ranges.data(), &count);
    struct Slice {
      Executor<T> *executor;
      Matrix<T> input;
      ForwardResult<T> result;
      Status status;
    };
    std::vector<Slice> slices(count);
    for (int32_t i = 0; i < count; ++i)
      slices[i] = Slice{
          &(*executors)[i],
          input.middleRows(ranges[i].begin, ranges[i].end - ranges[i].begin)
              .template cast<T>(),
          {},
          Status()};
    // Slice i runs on executor i: no executor is shared between threads.
    fsnn_parallel_batch(
        count, count,
        [](fsnn_batch_range range, void *user) {
          auto &all = *static_cast<std::vector<Slice> *>(user);
          for (int64_t i = range.begin; i < range.end; ++i)
            all[i].status = all[i].executor->forward(all[i].input, RunOptions(),
                                                     all[i].result);
          return FSNN_OK;
        },
        &slices);
    int64_t classes = 0;
    for (const Slice &s : slices) {
      if (!s.status.ok())
        return s.status;
      classes = s.result.outputs.at(logitsName).cols();
    }
    result.logits.resize(input.rows(), classes);
    result.counts.clear();
    result.thresholdMargin.clear();
    for (int32_t i = 0; i < count; ++i) {
      const Slice &s = slices[i];
      int64_t rows = s.input.rows();
      result.logits.middleRows(ranges[i].begin, rows) =
          s.result.outputs.at(logitsName).template cast<float>();
      result.thresholdMargin.insert(result.thresholdMargin.end(),
                                    s.result.thresholdMargin.begin(),
                                    s.result.thresholdMargin.end());
      for (size_t l = 0; l < s.result.counts.size(); ++l) {
        Matrix<float> &c = result.counts[int(l)];
        c.resize(input.rows(), s.result.counts[l].cols());
        c.middleRows(ranges[i].begin, rows) =
            s.result.counts[l].template cast<float>();
      }
    }
    return Status();
  };
  return Status();
}
} // namespace

Status makeReferenceForward(const fm::ModelProto &model, int threads,
                            BatchForward &forward, bool doublePrecision) {
  return doublePrecision
             ? makeReferenceForwardIn<double>(model, threads, forward)
             : makeReferenceForwardIn<float>(model, threads, forward);
}

namespace {
Matrix<float> normalisedBatch(const std::vector<uint8_t> &pixels,
                              int64_t pixelsPerImage, int64_t first,
                              int64_t batch, const EvaluateOptions &options) {
  // A pixel has 256 values: each normalised once (the same expression, so
  // the same floats) instead of a division per pixel, which cost the
  // threads of a fast model a tenth of their time waiting.
  std::array<float, 256> normalised;
  for (int value = 0; value < 256; ++value)
    normalised[value] = float((value / 255.0 - options.mean) / options.std);
  Matrix<float> input(batch, pixelsPerImage);
  const uint8_t *source = pixels.data() + first * pixelsPerImage;
  float *target = input.data();
  for (int64_t i = 0; i < batch * pixelsPerImage; ++i)
    target[i] = normalised[source[i]];
  return input;
}

/// The sum of a batch's spike counts, in four running sums (the exact sum
/// for counts, which are whole numbers), not one long dependency chain.
double sumOfCounts(const Matrix<float> &counts) {
  const float *data = counts.data();
  const int64_t size = counts.size();
  double partial[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= size; i += 4)
    for (int k = 0; k < 4; ++k)
      partial[k] += data[i + k];
  for (; i < size; ++i)
    partial[0] += data[i];
  return (partial[0] + partial[1]) + (partial[2] + partial[3]);
}
} // namespace

Status compareBackends(const fm::ModelProto &model,
                       const std::vector<uint8_t> &pixels,
                       int64_t pixelsPerImage, int64_t images,
                       const EvaluateOptions &options,
                       const BatchForward &tested,
                       const BatchForward &reference, CompareReport &report,
                       const BatchForward *precise) {
  report = CompareReport();
  int64_t total = options.limit > 0 ? std::min(options.limit, images) : images;
  report.images = total;
  for (int64_t first = 0; first < total; first += options.batch) {
    int64_t batch = std::min(options.batch, total - first);
    Matrix<float> input =
        normalisedBatch(pixels, pixelsPerImage, first, batch, options);
    BatchResult a, b, p;
    if (Status status = tested(input, a))
      return status;
    if (Status status = reference(input, b))
      return status;
    if (precise)
      if (Status status = (*precise)(input, p))
        return status;
    // A sample is a tie when, in float64, a spiking decision came within
    // kThresholdTieMargin of V_th.
    std::vector<bool> tie(batch, false);
    if (precise)
      for (int64_t n = 0; n < batch; ++n)
        tie[n] = p.thresholdMargin.at(n) < kThresholdTieMargin;
    std::vector<bool> agrees(batch, true);
    for (const auto &[layer, counts] : a.counts) {
      auto other = b.counts.find(layer);
      if (other == b.counts.end())
        continue;
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t i = 0; i < counts.cols(); ++i) {
          bool same = counts(n, i) == other->second(n, i);
          ++report.neurons;
          report.identicalNeurons += same;
          if (!tie[n]) {
            ++report.stableNeurons;
            report.identicalStableNeurons += same;
          }
          if (!same)
            agrees[n] = false;
        }
    }
    for (int64_t n = 0; n < batch; ++n)
      report.tieSamples += tie[n];
    for (int64_t n = 0; n < batch; ++n) {
      if (!agrees[n])
        continue;
      ++report.agreeingSamples;
      for (int64_t c = 0; c < b.logits.cols(); ++c)
        report.maxLogitDifference =
            std::max(report.maxLogitDifference,
                     double(std::abs(a.logits(n, c) - b.logits(n, c))) /
                         std::max(1.0, double(std::abs(b.logits(n, c)))));
    }
  }
  return Status();
}

/// evaluateSamples, its size mismatch worded for the kind of input.
static Status
evaluateSource(const fm::ModelProto &model, const SampleSource &source,
               int64_t elements, int64_t images,
               const std::vector<int64_t> &labels,
               const EvaluateOptions &options, const BatchForward &forward,
               EvaluateReport &report,
               const std::function<void(int64_t, int64_t)> &progress,
               const char *inputPhrase, const char *unit) {
  report = EvaluateReport();
  if (options.batch < 1)
    return Status::error("--batch must be >= 1, got " +
                         std::to_string(options.batch));
  fm::ModelInfo info;
  if (Status status = fm::validateModel(model, info))
    return status;
  int64_t inputSize =
      product(info.values.at(model.graph().inputs(0).name()).shape);
  if (inputSize != elements)
    return Status::error("the model takes " + std::to_string(inputSize) +
                         " values per sample, " + inputPhrase + " " +
                         std::to_string(elements) + unit);
  std::vector<double> fanOut = fanOutPerLayer(model, info);
  const fm::NodeProto *node = fm::findFeedbackNode(model);
  int64_t steps = node ? fm::findAttribute(*node, "time_steps")->i() : 1;
  int64_t total = options.limit > 0 ? std::min(options.limit, images) : images;
  report.images = total;
  report.labelled = !labels.empty();
  std::map<int, double> spikes;
  std::map<int, int64_t> neurons;

  auto start = std::chrono::steady_clock::now();
  Matrix<float> input;
  for (int64_t first = 0; first < total; first += options.batch) {
    int64_t batch = std::min(options.batch, total - first);
    if (Status status = source(first, batch, input))
      return status;
    BatchResult result;
    if (Status status = forward(input, result))
      return status;
    report.classes = result.logits.cols();
    for (int64_t r = 0; r < batch; ++r) {
      Eigen::Index predicted;
      result.logits.row(r).maxCoeff(&predicted);
      if (report.labelled && predicted == labels[first + r])
        ++report.correct;
      if (options.keepLogits)
        for (int64_t c = 0; c < result.logits.cols(); ++c)
          report.logits.push_back(result.logits(r, c));
    }
    for (const auto &[layer, counts] : result.counts) {
      double layerSpikes = sumOfCounts(counts);
      spikes[layer] += layerSpikes;
      neurons[layer] = counts.cols();
      if (layer < int(fanOut.size()))
        report.synapticOperationsPerImage += layerSpikes * fanOut[layer];
      if (options.keepCounts)
        report.counts[layer].insert(report.counts[layer].end(), counts.data(),
                                    counts.data() + counts.size());
    }
    if (progress)
      progress(first + batch, total);
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  for (const auto &[layer, count] : spikes)
    report.meanRate[layer] =
        count / (double(total) * double(neurons[layer]) * double(steps));
  report.synapticOperationsPerImage /= double(total);
  return Status();
}

Status evaluate(const fm::ModelProto &model, const std::vector<uint8_t> &pixels,
                int64_t pixelsPerImage, int64_t images,
                const std::vector<int64_t> &labels,
                const EvaluateOptions &options, const BatchForward &forward,
                EvaluateReport &report,
                const std::function<void(int64_t, int64_t)> &progress) {
  if (!(options.std > 0))
    return Status::error("the normalisation std must be > 0");
  auto source = [&](int64_t first, int64_t batch, Matrix<float> &input) {
    input = normalisedBatch(pixels, pixelsPerImage, first, batch, options);
    return Status();
  };
  return evaluateSource(model, source, pixelsPerImage, images, labels, options,
                        forward, report, progress, "the images have",
                        " pixels");
}

Status evaluateSamples(const fm::ModelProto &model, const SampleSource &source,
                       int64_t elements, int64_t images,
                       const std::vector<int64_t> &labels,
                       const EvaluateOptions &options,
                       const BatchForward &forward, EvaluateReport &report,
                       const std::function<void(int64_t, int64_t)> &progress) {
  return evaluateSource(model, source, elements, images, labels, options,
                        forward, report, progress, "the input has", "");
}

} // namespace fsnn::reference
