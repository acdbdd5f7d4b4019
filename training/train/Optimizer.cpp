//===- Optimizer.cpp - SGD and Adam, learning-rate schedules --------------===//

#include "training/train/Optimizer.h"

#include <cmath>
#include <cstring>
#include <sstream>

namespace fsnn::train {

namespace fm = fsnn::model;

void Optimizer::update(const std::string &name, std::vector<float> &values,
                       const std::vector<float> &gradient, double lr) {
  const size_t n = values.size();
  const double decay = options.weightDecay;
  if (options.kind == OptimizerKind::SGD) {
    auto [it, fresh] = first.try_emplace(name);
    std::vector<float> &buffer = it->second;
    if (fresh)
      buffer.resize(n);
    for (size_t i = 0; i < n; ++i) {
      double d = double(gradient[i]) + decay * values[i];
      double b = options.momentum == 0 ? d
                 : fresh               ? d
                                       : options.momentum * buffer[i] + d;
      buffer[i] = static_cast<float>(b);
      values[i] = static_cast<float>(values[i] - lr * b);
    }
    return;
  }
  std::vector<float> &m = first[name];
  std::vector<float> &v = second[name];
  m.resize(n);
  v.resize(n);
  const double t = double(steps + 1);
  const double c1 = 1 - std::pow(options.beta1, t);
  const double c2 = 1 - std::pow(options.beta2, t);
  for (size_t i = 0; i < n; ++i) {
    double g = double(gradient[i]) + decay * values[i];
    double mi = options.beta1 * m[i] + (1 - options.beta1) * g;
    double vi = options.beta2 * v[i] + (1 - options.beta2) * g * g;
    m[i] = static_cast<float>(mi);
    v[i] = static_cast<float>(vi);
    values[i] = static_cast<float>(
        values[i] - lr * (mi / c1) / (std::sqrt(vi / c2) + options.epsilon));
  }
}

void Optimizer::saveState(fm::TrainingState &state) const {
  state.set_optimizer(options.kind == OptimizerKind::SGD ? "sgd" : "adam");
  state.clear_optimizer_state();
  auto add = [&](const std::string &name, const std::vector<float> &data) {
    fm::TensorProto *t = state.add_optimizer_state();
    t->set_name(name);
    t->add_dims(static_cast<int64_t>(data.size()));
    t->set_dtype(fm::TensorProto::FLOAT32);
    t->mutable_raw_data()->assign(reinterpret_cast<const char *>(data.data()),
                                  data.size() * sizeof(float));
  };
  const char *firstName =
      options.kind == OptimizerKind::SGD ? "/momentum" : "/adam_m";
  for (const auto &[name, data] : first)
    add(name + firstName, data);
  for (const auto &[name, data] : second)
    add(name + "/adam_v", data);
}

Status Optimizer::loadState(const fm::TrainingState &state) {
  const char *kind = options.kind == OptimizerKind::SGD ? "sgd" : "adam";
  if (!state.optimizer().empty() && state.optimizer() != kind)
    return Status::error("the checkpoint was trained with '" +
                         state.optimizer() + "', not '" + kind + "'");
  first.clear();
  second.clear();
  steps = state.step();
  for (const fm::TensorProto &t : state.optimizer_state()) {
    const std::string &full = t.name();
    size_t slash = full.rfind('/');
    if (slash == std::string::npos || t.dtype() != fm::TensorProto::FLOAT32 ||
        t.raw_data().size() % sizeof(float) != 0)
      return Status::error("optimizer state tensor '" + full +
                           "' is malformed");
    std::string name = full.substr(0, slash), what = full.substr(slash + 1);
    std::vector<float> data(t.raw_data().size() / sizeof(float));
    std::memcpy(data.data(), t.raw_data().data(), t.raw_data().size());
    if (what == "momentum" || what == "adam_m")
      first[name] = std::move(data);
    else if (what == "adam_v")
      second[name] = std::move(data);
    else
      return Status::error("optimizer state tensor '" + full +
                           "' is of unknown kind '" + what + "'");
  }
  return Status();
}

double learningRate(const ScheduleOptions &schedule, int64_t epoch,
                    int64_t step) {
  double lr = schedule.baseLearningRate;
  for (int64_t milestone : schedule.milestones)
    if (epoch >= milestone)
      lr *= schedule.decay;
  if (schedule.warmupSteps > 0 && step < schedule.warmupSteps)
    lr *= double(step + 1) / double(schedule.warmupSteps);
  return lr;
}

Status parseMilestones(const std::string &text, std::vector<int64_t> &out) {
  out.clear();
  if (text.empty() || text == "none")
    return Status();
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    char *end = nullptr;
    long long value = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || value < 1)
      return Status::error("milestones must be positive epochs separated by "
                           "commas, e.g. 30,60,90; got '" +
                           text + "'");
    if (!out.empty() && value <= out.back())
      return Status::error("milestones must increase; got '" + text + "'");
    out.push_back(value);
  }
  return Status();
}

} // namespace fsnn::train
