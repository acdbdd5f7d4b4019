//===- ReferenceBackend.cpp - the reference executor as a training backend ===//
//
// The oracle trains too: every model the executor runs (multi-layer and
// spike-frame models included), in float32. A training step runs on one
// executor, because training-mode BN couples the samples of a batch;
// evaluation splits the batch over threads.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/Executor.h"
#include "training/train/Trainer.h"

#include <cmath>
#include <thread>

namespace fsnn::train {

namespace fm = fsnn::model;
namespace ref = fsnn::reference;

namespace {

class ReferenceBackend : public Backend {
public:
  std::string name() const override { return "reference"; }

  Status init(const fm::ModelProto &model, const BackendOptions &options) {
    this->options = options;
    if (model.graph().outputs_size() == 0)
      return Status::error("the model has no outputs");
    logitsName = model.graph().outputs(0).name();
    executors.resize(std::max(1, options.threads));
    for (auto &executor : executors)
      if (Status s = ref::Executor<float>::create(model, executor))
        return s;
    // Which initializers a BN's batch statistics move.
    std::function<void(const fm::GraphProto &)> scan =
        [&](const fm::GraphProto &graph) {
          for (const fm::NodeProto &node : graph.nodes()) {
            if (node.op_type() == "BatchNorm" && node.inputs_size() >= 5)
              runningStatistics[node.name()] = {node.inputs(3), node.inputs(4)};
            for (const fm::AttributeProto &attr : node.attributes())
              for (const fm::GraphProto &map : attr.graphs().values())
                scan(map);
          }
        };
    scan(model.graph());
    return Status();
  }

  Status step(Tensors &tensors, const std::vector<float> &input,
              const std::vector<int64_t> &labels, uint64_t dropoutSeed,
              StepResult &result) override {
    ref::Executor<float> &executor = executors.front();
    load(tensors, executor);
    executor.refreshSpectral();
    // The refreshed u and v are state the next step starts from.
    for (auto &[name, param] : executor.parameters()) {
      std::vector<float> &values = tensors.values.at(name);
      if (!std::equal(values.begin(), values.end(), param.values.data()))
        values.assign(param.values.data(),
                      param.values.data() + param.values.size());
    }
    int64_t batch = static_cast<int64_t>(labels.size());
    ref::Matrix<float> x = ref::ConstMatrixMap<float>(
        input.data(), batch, static_cast<int64_t>(input.size()) / batch);
    ref::GradientOptions gradientOptions;
    gradientOptions.run.dropoutSeed = dropoutSeed;
    gradientOptions.adjoint.maxIterations = options.solverIterations;
    gradientOptions.adjoint.tolerance = options.solverTolerance;
    gradientOptions.adjoint.kind = options.solver;
    gradientOptions.adjoint.broydenFirstStepNegative =
        options.solver == ref::SolverKind::Broyden;
    ref::GradientResult<float> g;
    if (Status s = executor.gradients(x, labels, gradientOptions, g))
      return s;

    result.clearKeepingBuffers();
    result.loss = g.loss;
    for (int64_t b = 0; b < batch; ++b) {
      Eigen::Index best;
      g.logits.row(b).maxCoeff(&best);
      result.correct += best == labels[b];
    }
    for (auto &[name, gradient] : g.gradients)
      result.gradients[name].assign(gradient.data(),
                                    gradient.data() + gradient.size());
    for (auto &[node, stats] : g.batchStatistics) {
      auto it = runningStatistics.find(node);
      if (it == runningStatistics.end())
        continue;
      StepResult::BatchStatistics s;
      s.meanName = it->second.first;
      s.varianceName = it->second.second;
      s.mean.assign(stats.first.data(),
                    stats.first.data() + stats.first.size());
      s.variance.assign(stats.second.data(),
                        stats.second.data() + stats.second.size());
      result.batchStatistics.push_back(std::move(s));
    }
    const std::vector<double> &residual = g.adjointReport.residual;
    for (int64_t b = 0; b < batch && b < int64_t(residual.size()); ++b)
      recordAdjointSample(result, residual[b],
                          double(g.lossGradient.row(b).norm()));
    return Status();
  }

  Status evaluate(const Tensors &tensors, const std::vector<float> &input,
                  int64_t batch, std::vector<float> &logits) override {
    int64_t elements = static_cast<int64_t>(input.size()) / batch;
    int64_t parts = std::min<int64_t>(batch, executors.size());
    std::vector<Status> statuses(parts);
    std::vector<ref::Matrix<float>> outputs(parts);
    std::vector<std::thread> threads;
    for (int64_t p = 0; p < parts; ++p) {
      int64_t begin = batch * p / parts, end = batch * (p + 1) / parts;
      threads.emplace_back([&, p, begin, end] {
        ref::Executor<float> &executor = executors[p];
        load(tensors, executor);
        ref::Matrix<float> x = ref::ConstMatrixMap<float>(
            input.data() + begin * elements, end - begin, elements);
        ref::ForwardResult<float> forward;
        statuses[p] = executor.forward(x, ref::RunOptions{}, forward);
        if (statuses[p].ok())
          outputs[p] = forward.outputs.at(logitsName);
      });
    }
    for (std::thread &t : threads)
      t.join();
    logits.clear();
    for (int64_t p = 0; p < parts; ++p) {
      if (!statuses[p].ok())
        return statuses[p];
      logits.insert(logits.end(), outputs[p].data(),
                    outputs[p].data() + outputs[p].size());
    }
    return Status();
  }

private:
  static void load(const Tensors &tensors, ref::Executor<float> &executor) {
    for (auto &[name, param] : executor.parameters()) {
      const std::vector<float> &values = tensors.values.at(name);
      param.values = Eigen::Map<const ref::Vector<float>>(
          values.data(), static_cast<Eigen::Index>(values.size()));
    }
  }

  BackendOptions options;
  std::string logitsName;
  std::vector<ref::Executor<float>> executors;
  std::map<std::string, std::pair<std::string, std::string>> runningStatistics;
};

} // namespace

Status makeReferenceBackend(const fm::ModelProto &model,
                            const BackendOptions &options,
                            std::unique_ptr<Backend> &backend) {
  auto reference = std::make_unique<ReferenceBackend>();
  if (Status s = reference->init(model, options))
    return s;
  backend = std::move(reference);
  return Status();
}

} // namespace fsnn::train
