//===- ShardedBackend.cpp - one global batch in shards, over processes ----===//
//
// A global batch of B samples is S = B / c shards of the compiled batch c
// (fsnn-compile --train --sharded); process r of N computes shards
// [r S/N, (r+1) S/N). Batch norm of the input map is synchronised: the
// statistics of the map's first op over the whole batch are computed here
// first (Chan's pairwise combination, in float64), the compiled step
// normalises every shard with them, and the part of the gradient that flows
// through the statistics, which the compiled step treats as constants, is
// added here from γ's and β's gradients (docs/training.md, "Data-parallel
// training"). Every sum over shards goes through reduceInTree, whose order
// does not depend on N: the trained model is the same bits on any number of
// processes.
//
//===----------------------------------------------------------------------===//

#include "training/train/Trainer.h"

#include "fsnnrt/hash.h"
#include "runtime/bind/CompiledModel.h"
#include "runtime/reference/Kernels.h"

#include <cmath>

namespace fsnn::train {

namespace fm = fsnn::model;
namespace ref = fsnn::reference;

namespace {

constexpr const char *kStatisticsMean = "statistics_mean:";
constexpr const char *kStatisticsVariance = "statistics_variance:";

/// The input map's first op and the batch norm of its output.
struct InputNorm {
  std::string weight, bias, gamma, beta, runningMean, runningVariance;
  double epsilon = 1e-5;
  int64_t channels = 0;
  /// The first op as a convolution (a Linear is one of a 1x1 image with
  /// K input channels).
  ref::ConvGeometry geometry{};
};

Status findInputNorm(const fm::ModelProto &model, const fm::ModelInfo &info,
                     InputNorm &norm) {
  const fm::NodeProto *feedback = fm::findFeedbackNode(model);
  const fm::AttributeProto *layers =
      feedback ? fm::findAttribute(*feedback, "layers") : nullptr;
  if (!layers || layers->graphs().values_size() != 1)
    return Status::error("sharded training needs a single-layer model");
  const fm::GraphProto &map = layers->graphs().values(0);
  const fm::NodeProto *bn = nullptr;
  for (const fm::NodeProto &node : map.nodes())
    if (node.op_type() == "BatchNorm")
      bn = bn ? nullptr : &node;
  const fm::NodeProto &first = map.nodes(0);
  if (!bn || bn->inputs(0) != first.outputs(0))
    return Status::error("sharded training needs one batch norm in the input "
                         "map, of the output of its first op");
  norm.weight = first.inputs(1);
  norm.bias = first.inputs_size() > 2 ? first.inputs(2) : std::string();
  norm.gamma = bn->inputs(1);
  norm.beta = bn->inputs(2);
  norm.runningMean = bn->inputs(3);
  norm.runningVariance = bn->inputs(4);
  if (const fm::AttributeProto *e = fm::findAttribute(*bn, "epsilon"))
    norm.epsilon = e->f();
  const std::vector<int64_t> &w = info.allValues.at(norm.weight).shape;
  const std::vector<int64_t> &in = info.allValues.at(first.inputs(0)).shape;
  norm.channels = w[0];
  ref::ConvGeometry &g = norm.geometry;
  if (first.op_type() == "Linear") {
    g = {w[1], 1, 1, 1, 1, 1, 1, 0, 0, 1, 1};
    return Status();
  }
  auto pair = [&](const char *name, int64_t fallback, int index) {
    const fm::AttributeProto *a = fm::findAttribute(first, name);
    return a && a->ints().values_size() == 2 ? a->ints().values(index)
                                             : fallback;
  };
  g.channels = in[0];
  g.height = in[1];
  g.width = in[2];
  g.kernelH = w[2];
  g.kernelW = w[3];
  g.strideH = pair("strides", 1, 0);
  g.strideW = pair("strides", 1, 1);
  g.padH = pair("pads", 0, 0);
  g.padW = pair("pads", 0, 1);
  g.outH = (g.height + 2 * g.padH - g.kernelH) / g.strideH + 1;
  g.outW = (g.width + 2 * g.padW - g.kernelW) / g.strideW + 1;
  return Status();
}

/// The statistics of one or more shards, flat in float64: the count M, per
/// channel the mean and the sum of squared deviations M2, per patch element
/// the sum X1 of the first op's input patches, and per (channel, patch
/// element) the sum of (u - mean) times the patch.
class StatisticsLayout {
public:
  StatisticsLayout(int64_t channels, int64_t patch)
      : channels(channels), patch(patch) {}
  size_t size() const { return 1 + 2 * channels + patch + channels * patch; }
  size_t mean() const { return 1; }
  size_t m2() const { return 1 + channels; }
  size_t x1() const { return 1 + 2 * channels; }
  size_t centredProducts() const { return 1 + 2 * channels + patch; }

  /// Chan et al.'s pairwise update, extended to the centred products.
  void combine(const std::vector<double> &a, const std::vector<double> &b,
               std::vector<double> &out) const {
    out.resize(size());
    double na = a[0], nb = b[0], n = na + nb;
    out[0] = n;
    for (int64_t c = 0; c < channels; ++c) {
      double delta = b[mean() + c] - a[mean() + c];
      double joint = a[mean() + c] + delta * nb / n;
      out[mean() + c] = joint;
      out[m2() + c] = a[m2() + c] + b[m2() + c] + delta * delta * na * nb / n;
      double shiftA = a[mean() + c] - joint, shiftB = b[mean() + c] - joint;
      for (int64_t k = 0; k < patch; ++k) {
        size_t at = centredProducts() + c * patch + k;
        out[at] = a[at] + b[at] + shiftA * a[x1() + k] + shiftB * b[x1() + k];
      }
    }
    for (int64_t k = 0; k < patch; ++k)
      out[x1() + k] = a[x1() + k] + b[x1() + k];
  }

  int64_t channels, patch;
};

class ShardedBackend : public Backend {
public:
  ShardedBackend(std::unique_ptr<Backend> shardStep, InputNorm norm,
                 int64_t globalBatch, Communicator &communicator,
                 std::vector<std::string> stateNames)
      : shardStep(std::move(shardStep)), norm(std::move(norm)),
        globalBatch(globalBatch), communicator(communicator),
        stateNames(std::move(stateNames)),
        layout(this->norm.channels, this->norm.geometry.patch()) {
    shardBatch = this->shardStep->fixedBatch();
    shards = globalBatch / shardBatch;
  }

  std::string name() const override {
    return shardStep->name() + " (" + std::to_string(shards) + " shards of " +
           std::to_string(shardBatch) + " on " +
           std::to_string(communicator.size()) + " process" +
           (communicator.size() > 1 ? "es" : "") + ")";
  }
  int64_t fixedBatch() const override { return globalBatch; }

  Status step(Tensors &tensors, const std::vector<float> &input,
              const std::vector<int64_t> &labels, uint64_t dropoutSeed,
              StepResult &result) override {
    const int64_t elements = int64_t(input.size()) / globalBatch;
    std::vector<double> statistics;
    if (Status s = globalStatistics(tensors, input, elements, statistics))
      return s;
    const int64_t C = norm.channels;
    const double M = statistics[0];
    std::vector<double> sigma(C);
    std::vector<float> &mean =
        tensors.values[kStatisticsMean + norm.runningMean];
    std::vector<float> &variance =
        tensors.values[kStatisticsVariance + norm.runningVariance];
    mean.resize(C);
    variance.resize(C);
    StepResult::BatchStatistics running;
    running.meanName = norm.runningMean;
    running.varianceName = norm.runningVariance;
    for (int64_t c = 0; c < C; ++c) {
      double biased = statistics[layout.m2() + c] / M;
      sigma[c] = std::sqrt(biased + norm.epsilon);
      mean[c] = float(statistics[layout.mean() + c]);
      variance[c] = float(biased);
      running.mean.push_back(mean[c]);
      running.variance.push_back(
          float(statistics[layout.m2() + c] / std::max(M - 1, 1.0)));
    }

    // Every shard starts from the same spectral state (the power iteration
    // is part of each shard's step and gives the same refresh).
    std::map<std::string, std::vector<float>> state;
    for (const std::string &name : stateNames)
      state[name] = tensors.values.at(name);
    std::vector<float> sums;
    StepResult shardResult;
    auto leaf = [&](int64_t shard, std::vector<float> &flat) -> Status {
      for (const auto &[name, values] : state)
        tensors.values.at(name) = values;
      std::vector<float> shardInput(
          input.begin() + shard * shardBatch * elements,
          input.begin() + (shard + 1) * shardBatch * elements);
      std::vector<int64_t> shardLabels(labels.begin() + shard * shardBatch,
                                       labels.begin() +
                                           (shard + 1) * shardBatch);
      if (Status s = shardStep->step(
              tensors, shardInput, shardLabels,
              fsnn_mix64(dropoutSeed ^ fsnn_splitmix64(uint64_t(shard))),
              shardResult))
        return s;
      flatten(shardResult, flat);
      refreshed.clear();
      for (const std::string &name : stateNames)
        refreshed[name] = tensors.values.at(name);
      return Status();
    };
    auto combine = [](const std::vector<float> &a, const std::vector<float> &b,
                      std::vector<float> &out) {
      out.resize(a.size());
      for (size_t i = 0; i < a.size(); ++i)
        out[i] = a[i] + b[i];
      // The worst adjoint residual is a maximum, not a sum.
      out[kWorstResidual] = std::max(a[kWorstResidual], b[kWorstResidual]);
    };
    if (Status s = reduceInTree(communicator, shards, leaf, combine, sums))
      return s;
    for (auto &[name, values] : refreshed)
      tensors.values.at(name) = values;
    tensors.values.erase(kStatisticsMean + norm.runningMean);
    tensors.values.erase(kStatisticsVariance + norm.runningVariance);

    result.clearKeepingBuffers();
    const float perShard = 1.0f / float(shards);
    result.loss = double(sums[kLoss] * perShard);
    result.correct = int64_t(sums[kCorrect]);
    result.unconvergedSamples = int64_t(sums[kUnconverged]);
    result.worstAdjointResidual = sums[kWorstResidual];
    size_t at = kHeader;
    for (const auto &[name, size] : gradientLayout) {
      std::vector<float> &gradient = result.gradients[name];
      gradient.resize(size);
      for (size_t i = 0; i < size; ++i)
        gradient[i] = sums[at + i] * perShard;
      at += size;
    }
    if (Status s = addStatisticsGradient(tensors, statistics, sigma, result))
      return s;
    result.batchStatistics.push_back(std::move(running));
    return Status();
  }

  Status evaluate(const Tensors &tensors, const std::vector<float> &input,
                  int64_t batch, std::vector<float> &logits) override {
    return shardStep->evaluate(tensors, input, batch, logits);
  }

private:
  static constexpr size_t kLoss = 0, kCorrect = 1, kUnconverged = 2,
                          kWorstResidual = 3, kHeader = 4;

  void flatten(const StepResult &shard, std::vector<float> &flat) {
    if (gradientLayout.empty())
      for (const auto &[name, gradient] : shard.gradients)
        gradientLayout.emplace_back(name, gradient.size());
    size_t total = kHeader;
    for (const auto &entry : gradientLayout)
      total += entry.second;
    flat.resize(total);
    flat[kLoss] = float(shard.loss);
    flat[kCorrect] = float(shard.correct);
    flat[kUnconverged] = float(shard.unconvergedSamples);
    flat[kWorstResidual] = float(shard.worstAdjointResidual);
    size_t at = kHeader;
    for (const auto &[name, size] : gradientLayout) {
      const std::vector<float> &gradient = shard.gradients.at(name);
      std::copy(gradient.begin(), gradient.end(), flat.begin() + at);
      at += size;
    }
  }

  /// The first op's output u over the shard's samples, in float64, and its
  /// statistics in `layout`.
  Status shardStatistics(const Tensors &tensors, const float *input,
                         int64_t elements, std::vector<double> &out) const {
    const ref::ConvGeometry &g = norm.geometry;
    const int64_t C = norm.channels, K = g.patch(), P = g.outputs();
    ref::Matrix<double> weight =
        ref::ConstMatrixMap<float>(tensors.values.at(norm.weight).data(), C, K)
            .cast<double>();
    ref::Vector<double> bias = ref::Vector<double>::Zero(C);
    if (!norm.bias.empty())
      for (int64_t c = 0; c < C; ++c)
        bias[c] = tensors.values.at(norm.bias)[c];
    std::vector<ref::Matrix<double>> patches(shardBatch), outputs(shardBatch);
    ref::Vector<double> sum = ref::Vector<double>::Zero(C);
    std::vector<double> image(elements);
    for (int64_t i = 0; i < shardBatch; ++i) {
      for (int64_t e = 0; e < elements; ++e)
        image[e] = input[i * elements + e];
      ref::im2col(image.data(), g, patches[i]);
      outputs[i] = weight * patches[i];
      outputs[i].colwise() += bias;
      sum += outputs[i].rowwise().sum();
    }
    out.assign(layout.size(), 0.0);
    const double count = double(shardBatch * P);
    out[0] = count;
    ref::Vector<double> mean = sum / count;
    ref::Matrix<double> centredProducts = ref::Matrix<double>::Zero(C, K);
    ref::Vector<double> m2 = ref::Vector<double>::Zero(C);
    ref::Vector<double> x1 = ref::Vector<double>::Zero(K);
    for (int64_t i = 0; i < shardBatch; ++i) {
      outputs[i].colwise() -= mean;
      m2 += outputs[i].rowwise().squaredNorm();
      centredProducts.noalias() += outputs[i] * patches[i].transpose();
      x1 += patches[i].rowwise().sum();
    }
    for (int64_t c = 0; c < C; ++c) {
      out[layout.mean() + c] = mean[c];
      out[layout.m2() + c] = m2[c];
      for (int64_t k = 0; k < K; ++k)
        out[layout.centredProducts() + c * K + k] = centredProducts(c, k);
    }
    for (int64_t k = 0; k < K; ++k)
      out[layout.x1() + k] = x1[k];
    return Status();
  }

  Status globalStatistics(const Tensors &tensors,
                          const std::vector<float> &input, int64_t elements,
                          std::vector<double> &statistics) const {
    auto leaf = [&](int64_t shard, std::vector<double> &out) {
      return shardStatistics(
          tensors, input.data() + shard * shardBatch * elements, elements, out);
    };
    auto combine =
        [this](const std::vector<double> &a, const std::vector<double> &b,
               std::vector<double> &out) { layout.combine(a, b, out); };
    return reduceInTree(communicator, shards, leaf, combine, statistics);
  }

  /// The compiled step differentiates the input map's batch norm with its
  /// statistics held fixed. Through the statistics, the gradient of u is
  /// -(γ / (σ M)) (∂L/∂β + x̂ ∂L/∂γ) per channel, whose products with the
  /// first op's input are the sums X1 and Σ (u - mean) patch / σ.
  Status addStatisticsGradient(const Tensors &tensors,
                               const std::vector<double> &statistics,
                               const std::vector<double> &sigma,
                               StepResult &result) const {
    auto gradientOf = [&](const std::string &name) {
      auto it = result.gradients.find(name);
      return it == result.gradients.end() ? nullptr : &it->second;
    };
    std::vector<float> *dWeight = gradientOf(norm.weight),
                       *dBias =
                           norm.bias.empty() ? nullptr : gradientOf(norm.bias),
                       *dGamma = gradientOf(norm.gamma),
                       *dBeta = gradientOf(norm.beta);
    if (!dGamma || !dBeta)
      return Status::error("the sharded step returns no gradient of '" +
                           norm.gamma + "' or '" + norm.beta +
                           "', which the batch statistics' part needs");
    const std::vector<float> &gamma = tensors.values.at(norm.gamma);
    const int64_t C = norm.channels, K = norm.geometry.patch();
    const double M = statistics[0];
    for (int64_t c = 0; c < C; ++c) {
      double scale = gamma[c] / (sigma[c] * M);
      double beta = (*dBeta)[c], gammaGradient = (*dGamma)[c];
      if (dWeight)
        for (int64_t k = 0; k < K; ++k) {
          double x1 = statistics[layout.x1() + k];
          double centred = statistics[layout.centredProducts() + c * K + k];
          (*dWeight)[c * K + k] -=
              float(scale * (beta * x1 + gammaGradient * centred / sigma[c]));
        }
      if (dBias)
        (*dBias)[c] -= float(scale * beta * M);
    }
    return Status();
  }

  std::unique_ptr<Backend> shardStep;
  InputNorm norm;
  int64_t globalBatch, shardBatch = 1, shards = 1;
  Communicator &communicator;
  std::vector<std::string> stateNames;
  StatisticsLayout layout;
  std::vector<std::pair<std::string, size_t>> gradientLayout;
  std::map<std::string, std::vector<float>> refreshed;
};

} // namespace

bool isShardedStatisticsName(const std::string &name) {
  return bind::initializerOfParameter(name) != name;
}

Status makeShardedBackend(const fm::ModelProto &model,
                          std::unique_ptr<Backend> shardStep,
                          int64_t globalBatch, Communicator &communicator,
                          std::unique_ptr<Backend> &backend) {
  fm::ModelInfo info;
  if (Status s = fm::validateModel(model, info))
    return s;
  InputNorm norm;
  if (Status s = findInputNorm(model, info, norm))
    return s;
  int64_t shard = shardStep->fixedBatch();
  if (globalBatch % shard != 0)
    return Status::error("--batch " + std::to_string(globalBatch) +
                         " is not a multiple of the sharded step's compiled "
                         "batch " +
                         std::to_string(shard));
  if (std::string why =
          checkShardLayout(globalBatch / shard, communicator.size());
      !why.empty())
    return Status::error(why);
  backend = std::make_unique<ShardedBackend>(std::move(shardStep),
                                             std::move(norm), globalBatch,
                                             communicator, info.stateTensors);
  return Status();
}

} // namespace fsnn::train
