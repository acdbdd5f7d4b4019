//===- Optimizer.h - SGD and Adam, learning-rate schedules ------*- C++ -*-===//
//
// PyTorch's semantics (docs/method.md §5.5 trains with torch.optim.SGD): weight
// decay is added to the gradient (L2), SGD's momentum buffer starts as the
// first gradient, and Adam's moments are bias-corrected. The state travels in
// checkpoints so that a resumed run continues the same trajectory.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_TRAINING_TRAIN_OPTIMIZER_H
#define FSNN_TRAINING_TRAIN_OPTIMIZER_H

#include "runtime/model/Model.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fsnn::train {

using fsnn::model::Status;

enum class OptimizerKind { SGD, Adam };

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::SGD;
  double momentum = 0.9;
  double weightDecay = 5e-4;
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
};

class Optimizer {
public:
  explicit Optimizer(OptimizerOptions options) : options(options) {}

  /// One update of `values` by `gradient` with learning rate `lr`.
  /// `name` keys the per-parameter state.
  void update(const std::string &name, std::vector<float> &values,
              const std::vector<float> &gradient, double lr);
  /// Call once after every parameter of a step has been updated.
  void finishStep() { ++steps; }

  /// The state as named tensors ("<param>/momentum", "<param>/adam_m", ...)
  /// for the checkpoint, and back.
  void saveState(fsnn::model::TrainingState &state) const;
  Status loadState(const fsnn::model::TrainingState &state);

  int64_t completedSteps() const { return steps; }

private:
  OptimizerOptions options;
  int64_t steps = 0;
  std::map<std::string, std::vector<float>> first, second;
};

struct ScheduleOptions {
  double baseLearningRate = 0.05;
  /// Epochs (0-based count of completed epochs) at which lr is multiplied by
  /// `decay`.
  std::vector<int64_t> milestones = {30, 60, 90};
  double decay = 0.1;
  /// Linear warm-up over the first `warmupSteps` optimiser steps.
  int64_t warmupSteps = 0;
};

/// The learning rate of the step `step` (0-based) in epoch `epoch`.
double learningRate(const ScheduleOptions &schedule, int64_t epoch,
                    int64_t step);

/// Parses "30,60,90" (or "" for none) into increasing epochs.
Status parseMilestones(const std::string &text, std::vector<int64_t> &out);

} // namespace fsnn::train

#endif // FSNN_TRAINING_TRAIN_OPTIMIZER_H
