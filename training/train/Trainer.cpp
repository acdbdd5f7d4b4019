//===- Trainer.cpp - the training loop of fsnn-train ----------------------===//

#include "training/train/Trainer.h"

#include "fsnnrt/hash.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace fsnn::train {

namespace fm = fsnn::model;

namespace {

uint64_t mix(uint64_t a, uint64_t b) {
  return fsnn_mix64(a ^ (b + FSNN_GOLDEN_GAMMA + (a << 6) + (a >> 2)));
}

} // namespace

uint64_t stepDropoutSeed(uint64_t seed, int64_t step) {
  return mix(seed, uint64_t(step));
}

std::vector<int64_t> epochOrder(uint64_t seed, int64_t epoch, int64_t size) {
  std::vector<int64_t> order(size);
  for (int64_t i = 0; i < size; ++i)
    order[i] = i;
  uint64_t state = mix(seed, 0x5eed0000ULL + uint64_t(epoch));
  for (int64_t i = size - 1; i > 0; --i) {
    state = mix(state, uint64_t(i));
    int64_t j = int64_t(state % uint64_t(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

void applyStep(const StepResult &result, double bnMomentum, double learningRate,
               Optimizer &optimizer, Tensors &tensors) {
  const float m = static_cast<float>(bnMomentum);
  for (const StepResult::BatchStatistics &s : result.batchStatistics) {
    std::vector<float> &mean = tensors.values.at(s.meanName);
    std::vector<float> &var = tensors.values.at(s.varianceName);
    for (size_t c = 0; c < mean.size(); ++c) {
      mean[c] = (1 - m) * mean[c] + m * s.mean[c];
      var[c] = (1 - m) * var[c] + m * s.variance[c];
    }
  }
  for (const auto &[name, gradient] : result.gradients)
    optimizer.update(name, tensors.values.at(name), gradient, learningRate);
  optimizer.finishStep();
}

namespace {

/// Branch-free over the bits (an all-ones exponent is an infinity or a NaN),
/// so that it vectorizes: it reads every gradient after every step.
bool allFinite(const std::vector<float> &values) {
  constexpr uint32_t kExponent = 0x7f800000u;
  uint32_t nonFinite = 0;
  for (float v : values) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    nonFinite |= uint32_t((bits & kExponent) == kExponent);
  }
  return nonFinite == 0;
}

/// The metrics log: one JSON line per record, flushed as it is written so
/// that a full disk or an I/O error ends the run with the reason, not an
/// empty log discovered later.
class MetricsLog {
public:
  ~MetricsLog() {
    if (file)
      std::fclose(file);
  }
  Status open(const std::string &path, bool append) {
    if (path.empty())
      return Status();
    if (Status s = fm::checkOutputPath(path))
      return s;
    this->path = path;
    file = std::fopen(path.c_str(), append ? "a" : "w");
    if (!file)
      return Status::error(
          path + ": cannot open the metrics log: " + std::strerror(errno));
    return Status();
  }
  Status write(const nlohmann::json &record) {
    if (!file)
      return Status();
    std::string line = record.dump() + "\n";
    if (std::fwrite(line.data(), 1, line.size(), file) != line.size() ||
        std::fflush(file) != 0)
      return Status::error(
          path + ": cannot write the metrics log: " + std::strerror(errno));
    return Status();
  }

private:
  std::FILE *file = nullptr;
  std::string path;
};

} // namespace

void recordAdjointSample(StepResult &result, double residual, double start) {
  double relative = start > 0 ? residual / start : 0.0;
  if (!std::isfinite(relative))
    relative = INFINITY;
  result.worstAdjointResidual = std::max(result.worstAdjointResidual, relative);
  result.unconvergedSamples += relative > kAdjointTolerance;
}

Tensors readTensors(const fm::ModelProto &model) {
  Tensors tensors;
  for (const fm::TensorProto &t : model.graph().initializers()) {
    std::vector<double> values = fm::tensorValues(t);
    tensors.values[t.name()].assign(values.begin(), values.end());
    tensors.dims[t.name()].assign(t.dims().begin(), t.dims().end());
  }
  return tensors;
}

void writeTensors(const Tensors &tensors, fm::ModelProto &model) {
  for (fm::TensorProto &t : *model.mutable_graph()->mutable_initializers()) {
    const std::vector<float> &values = tensors.values.at(t.name());
    fm::setTensorValues(t, std::vector<double>(values.begin(), values.end()));
  }
}

Status evaluateAccuracy(Backend &backend, const Tensors &tensors,
                        const data::Dataset &test, int64_t batch,
                        double &accuracy, Communicator *communicator) {
  const int64_t n = test.size(), elements = test.sampleElements();
  const int64_t classes = test.classes();
  const int processes = communicator ? communicator->size() : 1;
  const int rank = communicator ? communicator->rank() : 0;
  // Process r evaluates samples [r n / N, (r+1) n / N); counts are exact.
  const int64_t first = n * rank / processes, end = n * (rank + 1) / processes;
  int64_t correct = 0;
  std::vector<float> input, logits;
  for (int64_t begin = first; begin < end; begin += batch) {
    int64_t count = std::min(batch, end - begin);
    input.resize(count * elements);
    for (int64_t i = 0; i < count; ++i)
      test.fill(begin + i, input.data() + i * elements, 0);
    if (Status s = backend.evaluate(tensors, input, count, logits))
      return s;
    if (int64_t(logits.size()) != count * classes)
      return Status::error("the model has " +
                           std::to_string(logits.size() / count) +
                           " outputs per sample, the dataset " +
                           std::to_string(classes) + " classes");
    for (int64_t i = 0; i < count; ++i) {
      const float *row = logits.data() + i * classes;
      correct +=
          std::max_element(row, row + classes) - row == test.label(begin + i);
    }
  }
  if (communicator) {
    std::vector<int64_t> total = {correct};
    if (Status s = communicator->sum(total))
      return s;
    correct = total[0];
  }
  accuracy = n ? double(correct) / double(n) : 0;
  return Status();
}

Status train(fm::ModelProto &model, Backend &backend,
             const data::Dataset &trainSet, const data::Dataset *testSet,
             const TrainOptions &options, const Progress &progress,
             const std::atomic<bool> &stop, TrainReport &report) {
  report = TrainReport();
  auto started = std::chrono::steady_clock::now();
  auto seconds = [](std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         since)
        .count();
  };
  if (options.batch < 1)
    return Status::error("the batch must be at least 1");
  const int64_t n = trainSet.size(), elements = trainSet.sampleElements();
  if (n == 0)
    return Status::error("the training set is empty");
  const int64_t fixed = backend.fixedBatch();
  if (fixed > 0 && fixed != options.batch)
    return Status::error("the " + backend.name() +
                         " backend trains batches "
                         "of " +
                         std::to_string(fixed) +
                         " (its compiled "
                         "batch), but --batch is " +
                         std::to_string(options.batch));
  if (fixed > 0 && n < fixed)
    return Status::error("the training set has " + std::to_string(n) +
                         " samples, fewer than one compiled batch of " +
                         std::to_string(fixed));
  // A compiled step takes whole batches only: the last partial batch of an
  // epoch is dropped (its samples come first in a later epoch's order).
  const int64_t stepsPerEpoch =
      fixed > 0 ? n / fixed : (n + options.batch - 1) / options.batch;

  Tensors tensors = readTensors(model);
  Optimizer optimizer(options.optimizer);
  bool resumed = model.has_training() && model.training().step() > 0;
  if (resumed) {
    if (Status s = optimizer.loadState(model.training()))
      return s;
    if (model.training().rng_seed() != options.seed)
      return Status::error(
          "the checkpoint was trained with seed " +
          std::to_string(model.training().rng_seed()) + ", not " +
          std::to_string(options.seed) +
          "; resume with the same --seed to continue its trajectory");
  }
  int64_t step = optimizer.completedSteps();

  // In a data-parallel job every process takes the same steps and rank 0
  // writes the files.
  Communicator *communicator = options.communicator;
  const bool writes = !communicator || communicator->rank() == 0;
  MetricsLog log;
  if (writes)
    if (Status s = log.open(options.logPath, resumed))
      return s;
  auto svgPath = [&] {
    std::string path = options.logPath;
    size_t dot = path.rfind('.');
    size_t slash = path.rfind('/');
    if (dot != std::string::npos && (slash == std::string::npos || dot > slash))
      path.resize(dot);
    return path + ".svg";
  };

  auto save = [&](const std::string &path, int64_t completedEpochs) -> Status {
    if (!writes || path.empty())
      return Status();
    writeTensors(tensors, model);
    fm::TrainingState *state = model.mutable_training();
    state->set_epoch(completedEpochs);
    state->set_step(step);
    state->set_rng_seed(options.seed);
    state->set_learning_rate(
        learningRate(options.schedule, step / stepsPerEpoch, step));
    state->set_bn_momentum(options.bnMomentum);
    optimizer.saveState(*state);
    return fm::saveModel(model, path);
  };

  int64_t consecutiveBad = 0;
  std::vector<float> input;
  std::vector<int64_t> labels;
  // One result for all steps, so that backends reuse its gradient buffers.
  StepResult result;
  bool finished = false;
  for (int64_t epoch = step / stepsPerEpoch;
       epoch < options.epochs && !finished; ++epoch) {
    auto epochStart = std::chrono::steady_clock::now();
    std::vector<int64_t> order = epochOrder(options.seed, epoch, n);
    double lossSum = 0;
    int64_t seen = 0, correct = 0, lossSteps = 0;
    for (int64_t k = step - epoch * stepsPerEpoch; k < stepsPerEpoch; ++k) {
      bool stopping = stop.load();
      if (communicator)
        if (Status s = communicator->any(stopping))
          return s;
      if (stopping) {
        report.interrupted = true;
        std::string path = options.checkpointPath.empty()
                               ? options.outputPath
                               : options.checkpointPath;
        if (Status s = save(path, epoch))
          return s;
        report.steps = step;
        report.seconds = seconds(started);
        return Status();
      }
      if (options.maxSteps > 0 && step >= options.maxSteps) {
        finished = true;
        break;
      }
      int64_t begin = k * options.batch;
      int64_t count = std::min(options.batch, n - begin);
      input.resize(count * elements);
      labels.resize(count);
      for (int64_t i = 0; i < count; ++i) {
        int64_t index = order[begin + i];
        trainSet.fill(index, input.data() + i * elements,
                      trainSet.augments()
                          ? data::augmentationKey(options.seed, epoch, index)
                          : 0);
        labels[i] = trainSet.label(index);
      }
      if (Status s = backend.step(tensors, input, labels,
                                  stepDropoutSeed(options.seed, step), result))
        return Status::error("step " + std::to_string(step) + ": " +
                             s.message());
      bool finite = std::isfinite(result.loss);
      for (const auto &[name, gradient] : result.gradients)
        finite = finite && allFinite(gradient);
      // Cross-entropy far above chance level (ln classes) is divergence.
      double diverging =
          10.0 * std::log(double(std::max<int64_t>(2, trainSet.classes())));
      bool bad = !finite || result.loss > diverging;
      report.unconvergedSamples += result.unconvergedSamples;
      if (bad) {
        (finite ? report.divergingSteps : report.nonFiniteSteps)++;
        ++consecutiveBad;
        if (progress.warn) {
          std::ostringstream message;
          message << "step " << step << ": "
                  << (finite ? "diverging loss "
                             : "non-finite loss or gradient ")
                  << result.loss << "; the update is skipped";
          progress.warn(message.str());
        }
        if (consecutiveBad >= options.maxBadSteps) {
          save(options.checkpointPath.empty() ? options.outputPath
                                              : options.checkpointPath,
               epoch);
          return Status::error(
              "training diverged: " + std::to_string(consecutiveBad) +
              " consecutive steps had a non-finite or diverging loss (last " +
              std::to_string(result.loss) +
              "); lower --lr, or check the data and the model");
        }
      } else {
        consecutiveBad = 0;
        applyStep(result, options.bnMomentum,
                  learningRate(options.schedule, epoch, step), optimizer,
                  tensors);
        lossSum += result.loss;
        ++lossSteps;
      }
      ++step;
      seen += count;
      correct += result.correct;
      double rate = seen / std::max(seconds(epochStart), 1e-9);
      if (progress.step)
        progress.step(epoch, k + 1, stepsPerEpoch,
                      lossSteps ? lossSum / lossSteps : 0.0,
                      double(correct) / double(seen), rate);
      if (options.logEvery > 0 && step % options.logEvery == 0)
        if (Status s = log.write(
                {{"type", "step"},
                 {"epoch", epoch},
                 {"step", step},
                 {"loss", finite ? result.loss : -1.0},
                 {"accuracy", double(result.correct) / double(count)},
                 {"lr", learningRate(options.schedule, epoch, step - 1)},
                 {"images_per_second", rate},
                 {"adjoint_worst_residual", result.worstAdjointResidual},
                 {"adjoint_unconverged_samples", report.unconvergedSamples},
                 {"nonfinite_steps", report.nonFiniteSteps},
                 {"diverging_steps", report.divergingSteps}}))
          return s;
      if (options.checkpointEvery > 0 && step % options.checkpointEvery == 0 &&
          !options.checkpointPath.empty())
        if (Status s = save(options.checkpointPath, step / stepsPerEpoch))
          return s;
    }
    if (seen == 0)
      continue;
    EpochReport e;
    e.epoch = epoch;
    e.trainLoss = lossSteps ? lossSum / lossSteps : NAN;
    e.trainAccuracy = double(correct) / double(seen);
    e.seconds = seconds(epochStart);
    e.imagesPerSecond = seen / std::max(e.seconds, 1e-9);
    if (testSet && options.evaluateEachEpoch) {
      if (Status s =
              evaluateAccuracy(backend, tensors, *testSet, options.testBatch,
                               e.testAccuracy, communicator))
        return s;
      report.bestTestAccuracy =
          std::max(report.bestTestAccuracy, e.testAccuracy);
    }
    report.epochs.push_back(e);
    if (progress.epoch)
      progress.epoch(e);
    if (report.unconvergedSamples > 0 && progress.warn)
      progress.warn(std::to_string(report.unconvergedSamples) +
                    " samples so far ended their adjoint solve above " +
                    std::to_string(kAdjointTolerance) +
                    " of the starting residual (counted in the log)");
    if (Status s = log.write(
            {{"type", "epoch"},
             {"epoch", epoch},
             {"step", step},
             {"train_loss", e.trainLoss},
             {"train_accuracy", e.trainAccuracy},
             {"test_accuracy", e.testAccuracy},
             {"seconds", e.seconds},
             {"images_per_second", e.imagesPerSecond},
             {"adjoint_unconverged_samples", report.unconvergedSamples},
             {"nonfinite_steps", report.nonFiniteSteps},
             {"diverging_steps", report.divergingSteps}}))
      return s;
    if (writes && !options.logPath.empty())
      if (Status s = writePlot(options.logPath, svgPath()))
        return s;
    bool epochComplete = step == (epoch + 1) * stepsPerEpoch;
    if (!options.checkpointPath.empty())
      if (Status s =
              save(options.checkpointPath, epochComplete ? epoch + 1 : epoch))
        return s;
  }
  report.steps = step;
  report.seconds = seconds(started);
  if (Status s = save(options.outputPath, step / stepsPerEpoch))
    return s;
  if (writes && !options.logPath.empty())
    if (Status s = writePlot(options.logPath, svgPath()))
      return s;
  return Status();
}

Status writePlot(const std::string &logPath, const std::string &svgPath) {
  std::ifstream in(logPath);
  if (!in)
    return Status::error(logPath + ": cannot read the metrics log");
  std::vector<std::pair<double, double>> loss, trainAcc, testAcc;
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.is_object())
      continue;
    std::string type = record.value("type", "");
    double step = record.value("step", 0.0);
    if (type == "step" && record.value("loss", -1.0) >= 0)
      loss.emplace_back(step, record.value("loss", 0.0));
    if (type == "epoch") {
      trainAcc.emplace_back(step, record.value("train_accuracy", 0.0));
      if (record.value("test_accuracy", -1.0) >= 0)
        testAcc.emplace_back(step, record.value("test_accuracy", 0.0));
    }
  }
  const double W = 720, H = 300, left = 60, right = 20, top = 30, bottom = 40;
  double maxStep = 1, maxLoss = 1e-9;
  for (auto &[s, l] : loss) {
    maxStep = std::max(maxStep, s);
    maxLoss = std::max(maxLoss, l);
  }
  for (auto &[s, a] : trainAcc)
    maxStep = std::max(maxStep, s);
  auto x = [&](double s) { return left + (W - left - right) * s / maxStep; };
  auto panel = [&](std::ostringstream &svg, double y0, const char *title,
                   double maxY) {
    svg << "<g transform='translate(0," << y0 << ")'>"
        << "<rect x='" << left << "' y='" << top << "' width='"
        << W - left - right << "' height='" << H - top - bottom
        << "' fill='none' stroke='#888'/>"
        << "<text x='" << left << "' y='20' font-size='14'>" << title
        << "</text><text x='5' y='" << top + 10 << "' font-size='11'>" << maxY
        << "</text><text x='5' y='" << H - bottom << "' font-size='11'>0</text>"
        << "<text x='" << W - right - 80 << "' y='" << H - 10
        << "' font-size='11'>step " << maxStep << "</text>";
  };
  auto polyline = [&](std::ostringstream &svg,
                      const std::vector<std::pair<double, double>> &points,
                      double maxY, const char *colour) {
    svg << "<polyline fill='none' stroke='" << colour << "' points='";
    for (auto &[s, v] : points)
      svg << x(s) << ","
          << top + (H - top - bottom) * (1 - std::clamp(v / maxY, 0.0, 1.0))
          << " ";
    svg << "'/>";
  };
  std::ostringstream svg;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='"
      << 2 * H << "' font-family='sans-serif'>";
  panel(svg, 0, "training loss (cross-entropy)", maxLoss);
  polyline(svg, loss, maxLoss, "#c0392b");
  svg << "</g>";
  panel(svg, H, "accuracy per epoch: train (blue), test (green)", 1.0);
  polyline(svg, trainAcc, 1.0, "#2e86c1");
  polyline(svg, testAcc, 1.0, "#28b463");
  svg << "</g></svg>\n";
  return fm::writeFileAtomically(svgPath, svg.str());
}

} // namespace fsnn::train
