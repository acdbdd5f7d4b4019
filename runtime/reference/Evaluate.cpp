//===- Evaluate.cpp - run a model over a dataset with the reference -------===//

#include "Evaluate.h"

#include "Executor.h"
#include "fsnnrt/runtime.h"

#include <chrono>

namespace fsnn::reference {

namespace fm = fsnn::model;

namespace {
int64_t product(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

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
  for (const fm::NodeProto &node : model.graph().nodes()) {
    if (node.op_type() != "SpikingFeedback")
      continue;
    std::vector<const fm::GraphProto *> layers;
    const fm::GraphProto *feedback = nullptr;
    for (const fm::AttributeProto &attr : node.attributes()) {
      if (attr.name() == "layers")
        for (const fm::GraphProto &map : attr.graphs().values())
          layers.push_back(&map);
      if (attr.name() == "feedback")
        feedback = &attr.graphs().values(0);
    }
    for (size_t l = 0; l < layers.size(); ++l) {
      const fm::GraphProto &consumer =
          l + 1 < layers.size() ? *layers[l + 1] : *feedback;
      int64_t neurons =
          product(info.allValues.at(layers[l]->outputs(0).name()).shape);
      fanOut.push_back(mapMacs(consumer, info) / double(neurons));
    }
  }
  return fanOut;
}

Status
evaluateReference(const fm::ModelProto &model,
                  const std::vector<uint8_t> &pixels, int64_t pixelsPerImage,
                  int64_t images, const std::vector<int64_t> &labels,
                  const EvaluateOptions &options, EvaluateReport &report,
                  const std::function<void(int64_t, int64_t)> &progress) {
  report = EvaluateReport();
  if (options.batch < 1)
    return Status::error("--batch must be >= 1, got " +
                         std::to_string(options.batch));
  if (options.threads < 1)
    return Status::error("--threads must be >= 1, got " +
                         std::to_string(options.threads));
  if (!(options.std > 0))
    return Status::error("the normalisation std must be > 0");
  int threads = options.threads;
  std::vector<Executor<float>> executors(threads);
  for (Executor<float> &executor : executors)
    if (Status status = Executor<float>::create(model, executor))
      return status;
  if (executors[0].inputSize() != pixelsPerImage)
    return Status::error("the model takes " +
                         std::to_string(executors[0].inputSize()) +
                         " values per sample, the images have " +
                         std::to_string(pixelsPerImage) + " pixels");
  fm::ModelInfo info;
  if (Status status = fm::validateModel(model, info))
    return status;
  std::vector<double> fanOut = fanOutPerLayer(model, info);
  int64_t total = options.limit > 0 ? std::min(options.limit, images) : images;
  report.images = total;
  report.labelled = !labels.empty();
  const std::vector<std::vector<int64_t>> &layers = executors[0].layerShapes();
  std::vector<double> spikes(layers.size(), 0.0);
  int64_t steps = 0;
  for (const fm::NodeProto &node : model.graph().nodes())
    if (node.op_type() == "SpikingFeedback")
      steps = fm::findAttribute(node, "time_steps")->i();

  struct Slice {
    Executor<float> *executor;
    const Matrix<float> *input;
    ForwardResult<float> result;
    Status status;
  };
  auto start = std::chrono::steady_clock::now();
  const std::string logitsName = model.graph().outputs(0).name();
  for (int64_t first = 0; first < total; first += options.batch) {
    int64_t batch = std::min(options.batch, total - first);
    Matrix<float> input(batch, pixelsPerImage);
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t p = 0; p < pixelsPerImage; ++p)
        input(n, p) = float(
            (pixels[(first + n) * pixelsPerImage + p] / 255.0 - options.mean) /
            options.std);
    std::vector<fsnn_batch_range> ranges(threads);
    int32_t count = 0;
    fsnn_partition_batch(batch, threads, ranges.data(), &count);
    std::vector<Matrix<float>> inputs(count);
    std::vector<Slice> slices(count);
    for (int32_t i = 0; i < count; ++i) {
      inputs[i] =
          input.middleRows(ranges[i].begin, ranges[i].end - ranges[i].begin);
      slices[i] = Slice{&executors[i], &inputs[i], {}, Status()};
    }
    struct Work {
      std::vector<Slice> *slices;
      std::vector<fsnn_batch_range> *ranges;
    } work{&slices, &ranges};
    // fsnn_parallel_batch hands each thread one slice; slice i runs on
    // executor i, so no executor is shared between threads.
    fsnn_parallel_batch(
        count, count,
        [](fsnn_batch_range range, void *user) {
          auto *w = static_cast<Work *>(user);
          for (int64_t i = range.begin; i < range.end; ++i) {
            Slice &s = (*w->slices)[i];
            s.status = s.executor->forward(*s.input, RunOptions(), s.result);
          }
          return FSNN_OK;
        },
        &work);
    for (int32_t i = 0; i < count; ++i) {
      const Slice &s = slices[i];
      if (!s.status.ok())
        return s.status;
      const Matrix<float> &logits = s.result.outputs.at(logitsName);
      report.classes = logits.cols();
      for (int64_t r = 0; r < logits.rows(); ++r) {
        int64_t index = first + ranges[i].begin + r;
        Eigen::Index predicted;
        logits.row(r).maxCoeff(&predicted);
        if (report.labelled && predicted == labels[index])
          ++report.correct;
        if (options.keepLogits)
          for (int64_t c = 0; c < logits.cols(); ++c)
            report.logits.push_back(logits(r, c));
      }
      for (size_t l = 0; l < layers.size(); ++l) {
        double layerSpikes = s.result.counts[l].template cast<double>().sum();
        spikes[l] += layerSpikes;
        report.synapticOperationsPerImage += layerSpikes * fanOut[l];
      }
    }
    if (progress)
      progress(first + batch, total);
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  for (size_t l = 0; l < layers.size(); ++l)
    report.meanRate.push_back(spikes[l] /
                              (double(total) * product(layers[l]) * steps));
  report.synapticOperationsPerImage /= double(total);
  return Status();
}

} // namespace fsnn::reference
