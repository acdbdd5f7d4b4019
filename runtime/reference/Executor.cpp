//===- Executor.cpp - the reference executor (the oracle) -----------------===//

#include "runtime/reference/Executor.h"
#include "runtime/reference/ExecutorImpl.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

namespace fsnn::reference {

namespace fm = fsnn::model;
using fm::product;

template <typename T> Executor<T>::Executor() : impl(new Impl) {}
template <typename T> Executor<T>::~Executor() = default;
template <typename T> Executor<T>::Executor(Executor &&) = default;
template <typename T>
Executor<T> &Executor<T>::operator=(Executor &&) = default;

template <typename T>
Status Executor<T>::create(const fm::ModelProto &model, Executor &executor) {
  auto impl = std::make_unique<Impl>();
  impl->model = model;
  if (Status status = fm::validateModel(impl->model, impl->info))
    return status;
  const fm::GraphProto &graph = impl->model.graph();
  if (graph.inputs_size() != 1)
    return Status::error("the reference executor needs exactly one graph "
                         "input, the model has " +
                         std::to_string(graph.inputs_size()));
  for (int index : impl->info.order) {
    const fm::NodeProto &node = graph.nodes(index);
    if (node.op_type() != "SpikingFeedback")
      continue;
    if (impl->feedbackNode)
      return Status::error("the reference executor runs one SpikingFeedback "
                           "node; the model has more");
    impl->feedbackNode = &node;
  }
  const fm::NodeProto *fb = impl->feedbackNode;
  if (!fb)
    return Status::error("the model has no SpikingFeedback node");
  if (fb->inputs(0) != graph.inputs(0).name())
    return Status::error("node '" + fb->name() +
                         "': the reference executor needs the graph input "
                         "as the SpikingFeedback input");
  for (const fm::AttributeProto &attr : fb->attributes()) {
    if (attr.name() == "time_steps")
      impl->timeSteps = attr.i();
    else if (attr.name() == "threshold")
      impl->threshold = attr.f();
    else if (attr.name() == "leak")
      impl->leak = attr.f();
    else if (attr.name() == "reset")
      impl->resetToZero = attr.s() == "zero";
    else if (attr.name() == "input_kind")
      impl->spikeFrames = attr.s() == "spike_frames";
    else if (attr.name() == "layers")
      for (const fm::GraphProto &map : attr.graphs().values())
        impl->layerMaps.push_back(&map);
    else if (attr.name() == "feedback")
      impl->feedbackMap = &attr.graphs().values(0);
  }
  for (const fm::GraphProto *map : impl->layerMaps)
    impl->layerShapes.push_back(
        impl->info.allValues.at(map->outputs(0).name()).shape);
  const std::string &rateN = fb->outputs(impl->layerMaps.size() - 1);
  // The readout: top-level nodes after the feedback, single input each.
  for (int index : impl->info.order) {
    const fm::NodeProto &node = graph.nodes(index);
    if (&node == fb || node.op_type() == "SpectralWeight")
      continue;
    bool reachable =
        impl->info.allValues.count(node.inputs(0)) &&
        (node.inputs(0) == rateN || impl->info.values.count(node.inputs(0)));
    if (!reachable)
      return Status::error("node '" + node.name() +
                           "': the reference executor's readout must start "
                           "from the last layer's rate");
  }

  // Parameters, and which of them are trainable (as the validator counts).
  for (const fm::TensorProto &tensor : graph.initializers()) {
    std::vector<double> values = fm::tensorValues(tensor);
    Parameter<T> p;
    p.dims.assign(tensor.dims().begin(), tensor.dims().end());
    p.values = Eigen::Map<Eigen::VectorXd>(values.data(), values.size())
                   .template cast<T>();
    impl->params.emplace(tensor.name(), std::move(p));
    if (std::find(impl->info.stateTensors.begin(),
                  impl->info.stateTensors.end(),
                  tensor.name()) == impl->info.stateTensors.end())
      impl->trainable.push_back(tensor.name());
  }

  // Dropout streams in the importer's order: top-level nodes, and for the
  // feedback node its layer maps, then its feedback map.
  uint64_t stream = 0;
  auto addDropouts = [&](const fm::GraphProto &map) {
    for (const fm::NodeProto &node : map.nodes())
      if (node.op_type() == "Dropout") {
        impl->dropouts[node.name()] = {stream++, attribute(node, "rate")->f()};
        impl->dropoutShapes[node.name()] =
            impl->info.allValues.at(node.outputs(0)).shape;
      }
  };
  for (int index : impl->info.order) {
    const fm::NodeProto &node = graph.nodes(index);
    if (&node == fb) {
      for (const fm::GraphProto *map : impl->layerMaps)
        addDropouts(*map);
      addDropouts(*impl->feedbackMap);
    } else if (node.op_type() == "Dropout") {
      impl->dropouts[node.name()] = {stream++, attribute(node, "rate")->f()};
      impl->dropoutShapes[node.name()] =
          impl->info.allValues.at(node.outputs(0)).shape;
    }
  }
  impl->computeDerived();
  executor.impl = std::move(impl);
  return Status();
}

template <typename T> int64_t Executor<T>::inputSize() const {
  return product(
      impl->info.values.at(impl->model.graph().inputs(0).name()).shape);
}

template <typename T>
const std::vector<std::vector<int64_t>> &Executor<T>::layerShapes() const {
  return impl->layerShapes;
}

template <typename T>
std::map<std::string, Parameter<T>> &Executor<T>::parameters() {
  return impl->params;
}

template <typename T>
const std::vector<std::string> &Executor<T>::trainable() const {
  return impl->trainable;
}

template <typename T>
std::map<std::string, double> Executor<T>::refreshSpectral() {
  for (int index : impl->info.order) {
    const fm::NodeProto &node = impl->model.graph().nodes(index);
    if (node.op_type() != "SpectralWeight")
      continue;
    const Parameter<T> &V = impl->params.at(node.inputs(0));
    Vector<T> &u = impl->params.at(node.inputs(2)).values;
    Vector<T> &v = impl->params.at(node.inputs(3)).values;
    v = V.matrix().transpose() * u;
    v /= std::max(v.norm(), T(1e-12));
    u = V.matrix() * v;
    u /= std::max(u.norm(), T(1e-12));
  }
  impl->computeDerived();
  return impl->sigma;
}

namespace {
template <typename T>
Status checkInput(const Matrix<T> &input, int64_t expected) {
  if (input.rows() < 1)
    return Status::error("the input batch is empty");
  if (input.cols() != expected)
    return Status::error("the input has " + std::to_string(input.cols()) +
                         " elements per sample, the model expects " +
                         std::to_string(expected));
  return Status();
}
} // namespace

template <typename T>
Status Executor<T>::forward(const Matrix<T> &input, const RunOptions &options,
                            ForwardResult<T> &result) {
  if (Status status = checkInput(input, inputSize()))
    return status;
  Impl &m = *impl;
  m.computeDerived();
  int64_t steps = options.timeSteps > 0 ? options.timeSteps : m.timeSteps;
  if (m.spikeFrames && steps != m.timeSteps)
    return Status::error("spike-frame input fixes T to the model's " +
                         std::to_string(m.timeSteps));
  bool training = options.mode == Mode::Training;
  std::map<std::string, Matrix<T>> masks;
  typename Impl::Context ctx, layer1;
  if (training) {
    masks = m.makeMasks(input.rows(), options.dropoutSeed);
    ctx.masks = &masks;
    layer1.masks = &masks;
    m.trainingLayer1Context(input, layer1);
  }
  result.spikeTrains.clear();
  m.simulate(input, steps, layer1, ctx, result.rates, result.counts,
             options.recordSpikes ? &result.spikeTrains : nullptr,
             &result.thresholdMargin);
  result.outputs.clear();
  typename Impl::Context readoutCtx = ctx;
  if (training)
    readoutCtx.defaultBn = BnMode::Batch;
  result.outputs[m.model.graph().outputs(0).name()] =
      m.readout(result.rates.back(), readoutCtx, nullptr);
  const fm::NodeProto &fb = *m.feedbackNode;
  int numLayers = m.layerMaps.size();
  for (const fm::ValueInfoProto &output : m.model.graph().outputs())
    for (int l = 0; l < numLayers; ++l) {
      if (output.name() == fb.outputs(l))
        result.outputs[output.name()] = result.rates[l];
      if (output.name() == fb.outputs(numLayers + l))
        result.outputs[output.name()] = result.counts[l];
    }
  return Status();
}

template <typename T>
Status Executor<T>::equilibrium(const Matrix<T> &input,
                                const RunOptions &options,
                                const SolverSettings &solver, Matrix<T> &rates,
                                SolveReport &report) {
  if (Status status = checkInput(input, inputSize()))
    return status;
  Impl &m = *impl;
  m.computeDerived();
  std::map<std::string, Matrix<T>> masks;
  typename Impl::Context ctx;
  if (options.mode == Mode::Training) {
    masks = m.makeMasks(input.rows(), options.dropoutSeed);
    ctx.masks = &masks;
    for (const fm::NodeProto &node : m.layerMaps[0]->nodes())
      if (node.op_type() == "BatchNorm")
        ctx.bnModes[node.name()] = BnMode::Batch;
  }
  Matrix<T> current =
      m.evalMap(*m.layerMaps[0], m.averagedInput(input), ctx, nullptr);
  BatchMap<T> f = [&](const Matrix<T> &a) {
    return m.evalF(a, current, ctx, nullptr);
  };
  Matrix<T> start =
      Matrix<T>::Zero(input.rows(), product(m.layerShapes.back()));
  rates = solve<T>(f, start, solver, report);
  return Status();
}

template <typename T>
Status Executor<T>::gradients(const Matrix<T> &input,
                              const std::vector<int64_t> &labels,
                              const GradientOptions &options,
                              GradientResult<T> &result) {
  if (Status status = checkInput(input, inputSize()))
    return status;
  Impl &m = *impl;
  int64_t batch = input.rows();
  if ((int64_t)labels.size() != batch)
    return Status::error("got " + std::to_string(labels.size()) +
                         " labels for a batch of " + std::to_string(batch));
  m.computeDerived();
  result = GradientResult<T>();
  bool training = options.run.mode == Mode::Training;
  bool exact = options.point == GradientPoint::ExactEquilibrium;
  std::map<std::string, Matrix<T>> masks;
  if (training)
    masks = m.makeMasks(batch, options.run.dropoutSeed);

  // The layer-1 input current at x*, with batch statistics in training.
  typename Impl::Context layer1;
  layer1.masks = training ? &masks : nullptr;
  layer1.batchStats = &result.batchStatistics;
  if (training)
    for (const fm::NodeProto &node : m.layerMaps[0]->nodes())
      if (node.op_type() == "BatchNorm")
        layer1.bnModes[node.name()] = BnMode::Batch;
  typename Impl::Tape currentTape;
  Matrix<T> xStar = m.averagedInput(input);
  Matrix<T> current = m.evalMap(*m.layerMaps[0], xStar, layer1, &currentTape);

  // Contexts of f: for the Jacobian, layers 2..N on running statistics; for
  // the parameter gradients, as the paper's code (batch statistics) unless
  // the exact, consistent map is asked for.
  typename Impl::Context jacobian;
  jacobian.masks = layer1.masks;
  typename Impl::Context paramCtx = jacobian;
  if (training && !exact) {
    paramCtx.defaultBn = BnMode::Batch;
    paramCtx.batchStats = &result.batchStatistics;
  }
  BatchMap<T> fJacobian = [&](const Matrix<T> &a) {
    return m.evalF(a, current, jacobian, nullptr);
  };

  Matrix<T> rates; // where the readout and the parameter graph are evaluated
  if (exact) {
    Matrix<T> start = Matrix<T>::Zero(batch, product(m.layerShapes.back()));
    SolveReport report;
    rates = solve<T>(fJacobian, start, options.equilibrium, report);
  } else {
    ForwardResult<T> simulated;
    typename Impl::Context ctx, layer1Sim;
    ctx.masks = layer1.masks;
    layer1Sim.masks = layer1.masks;
    if (training)
      m.trainingLayer1Context(input, layer1Sim);
    m.simulate(input,
               options.run.timeSteps > 0 ? options.run.timeSteps : m.timeSteps,
               layer1Sim, ctx, simulated.rates, simulated.counts);
    rates = simulated.rates.back();
  }

  // Readout, loss and ∂L/∂a.
  typename Impl::Context readoutCtx;
  readoutCtx.defaultBn = training ? BnMode::Batch : BnMode::Running;
  typename Impl::Tape readoutTape;
  result.logits = m.readout(rates, readoutCtx, &readoutTape);
  for (int64_t label : labels)
    if (label < 0 || label >= result.logits.cols())
      return Status::error("label " + std::to_string(label) +
                           " is outside [0, " +
                           std::to_string(result.logits.cols()) + ")");
  Matrix<T> dLogits;
  result.loss = Impl::crossEntropy(result.logits, labels, dLogits);
  typename Impl::Grads grads;
  const std::string rateName = m.feedbackNode->outputs(m.layerMaps.size() - 1);
  result.lossGradient =
      m.backTape(readoutTape, rateName, m.model.graph().outputs(0).name(),
                 dLogits, readoutCtx, &grads);
  if (result.lossGradient.cols() == 0)
    result.lossGradient = Matrix<T>::Zero(batch, rates.cols());

  // The parameter graph: one application of f at the rates.
  typename Impl::FTape paramTape;
  Matrix<T> fOfRates = m.evalF(rates, current, paramCtx, &paramTape);
  // Where J_f is linearised (docs/method.md §3.2).
  bool multiLayer = m.layerMaps.size() > 1;
  result.point = exact || !multiLayer ? rates : fOfRates;

  typename Impl::FTape jacobianTape;
  m.evalF(result.point, current, jacobian, &jacobianTape);
  BatchMap<T> adjointMap = [&](const Matrix<T> &v) {
    return Matrix<T>(m.backF(jacobianTape, v, jacobian, nullptr, nullptr) +
                     result.lossGradient);
  };
  result.adjoint = solve<T>(adjointMap, Matrix<T>::Zero(batch, rates.cols()),
                            options.adjoint, result.adjointReport);

  // β through one application of f, and on through the layer-1 map.
  Matrix<T> dCurrent;
  m.backF(paramTape, result.adjoint, paramCtx, &grads, &dCurrent);
  m.backTape(currentTape, m.layerMaps[0]->inputs(0).name(),
             m.layerMaps[0]->outputs(0).name(), dCurrent, layer1, &grads);
  m.spectralBackward(grads);
  for (const std::string &name : m.trainable) {
    auto it = grads.find(name);
    result.gradients[name] =
        it != grads.end() ? it->second
                          : Vector<T>::Zero(m.params.at(name).values.size());
  }
  return Status();
}

template <typename T>
Status Executor<T>::lossAtEquilibrium(const Matrix<T> &input,
                                      const std::vector<int64_t> &labels,
                                      const RunOptions &options,
                                      const SolverSettings &solver,
                                      double &loss) {
  Matrix<T> rates;
  SolveReport report;
  if (Status status = equilibrium(input, options, solver, rates, report))
    return status;
  Impl &m = *impl;
  typename Impl::Context readoutCtx;
  readoutCtx.defaultBn =
      options.mode == Mode::Training ? BnMode::Batch : BnMode::Running;
  Matrix<T> logits = m.readout(rates, readoutCtx, nullptr), dLogits;
  loss = Impl::crossEntropy(logits, labels, dLogits);
  return Status();
}

template class Executor<float>;
template class Executor<double>;

} // namespace fsnn::reference
