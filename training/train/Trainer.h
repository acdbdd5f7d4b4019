//===- Trainer.h - the training loop of fsnn-train --------------*- C++ -*-===//
//
// The loop of docs/method.md §10 around a backend that computes one step's
// gradients: per batch a spectral refresh, the simulation, the adjoint solve
// and the parameter gradients (the backend's work), then the running-
// statistics update and the optimiser step (ours). Epochs are shuffled from
// (seed, epoch), dropout is seeded from (seed, step) and augmentation from
// (seed, epoch, sample), so a checkpoint at any step resumes the same
// trajectory. Runtime side of the wall: no LLVM or MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_TRAINING_TRAIN_TRAINER_H
#define FSNN_TRAINING_TRAIN_TRAINER_H

#include "runtime/model/Validate.h"
#include "runtime/reference/Solvers.h"
#include "training/data/Dataset.h"
#include "training/dist/Communicator.h"
#include "training/train/Optimizer.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fsnn::train {

/// Every initializer of the model by name, as float32 (the training dtype).
struct Tensors {
  std::map<std::string, std::vector<float>> values;
  std::map<std::string, std::vector<int64_t>> dims;
};

struct StepResult {
  double loss = 0;
  int64_t correct = 0;
  /// Per trainable parameter, the gradient of the batch-mean loss.
  std::map<std::string, std::vector<float>> gradients;
  /// Per BN on batch statistics: the running-statistics initializers to move
  /// and this batch's mean and unbiased variance.
  struct BatchStatistics {
    std::string meanName, varianceName;
    std::vector<float> mean, variance;
  };
  std::vector<BatchStatistics> batchStatistics;
  /// The adjoint solve: per sample |r(β)| / |∂L/∂a|, the worst of the batch,
  /// and the samples above kAdjointTolerance.
  double worstAdjointResidual = 0;
  int64_t unconvergedSamples = 0;

  /// Empties the result for the next step but keeps the gradients' buffers,
  /// which a backend may reuse instead of allocating them again.
  void clearKeepingBuffers() {
    loss = 0;
    correct = 0;
    batchStatistics.clear();
    worstAdjointResidual = 0;
    unconvergedSamples = 0;
  }
};

/// A sample whose adjoint residual stays above this fraction of its start
/// did not converge.
constexpr double kAdjointTolerance = 0.1;

/// Adds one sample's adjoint solve to `result`: its final residual norm
/// and the norm of ∂L/∂a it started from.
void recordAdjointSample(StepResult &result, double residual, double start);

struct BackendOptions {
  /// The adjoint's solver (the reference executor's kinds).
  fsnn::reference::SolverKind solver = fsnn::reference::SolverKind::Broyden;
  int solverIterations = 30;
  /// A sample's adjoint solve stops when its residual norm is below this
  /// (the model's solver_tolerance).
  double solverTolerance = 0.0;
  int threads = 2;
  /// The processes of a data-parallel job (null: this one alone), and the
  /// global batch they share: a sharded compiled step (fsnn-compile --train
  /// --sharded) trains it in shards of its compiled batch.
  Communicator *communicator = nullptr;
  int64_t globalBatch = 0;
};

/// What computes a training step and evaluates: the reference executor, or
/// the compiled training library.
class Backend {
public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  /// The only batch size the backend trains on (a compiled step), or 0 for
  /// any. With a fixed batch, an epoch's last partial batch is dropped.
  virtual int64_t fixedBatch() const { return 0; }
  /// One power-iteration refresh of the spectral state (u, v) in `tensors`,
  /// then the gradients of the mean cross-entropy of `labels` on `input`
  /// (batch x sample elements), with dropout masks from `dropoutSeed`.
  virtual Status step(Tensors &tensors, const std::vector<float> &input,
                      const std::vector<int64_t> &labels, uint64_t dropoutSeed,
                      StepResult &result) = 0;
  /// Inference logits (batch x classes) with the current tensors.
  virtual Status evaluate(const Tensors &tensors,
                          const std::vector<float> &input, int64_t batch,
                          std::vector<float> &logits) = 0;
};

/// The reference executor as a backend (any model the executor runs).
Status makeReferenceBackend(const fsnn::model::ModelProto &model,
                            const BackendOptions &options,
                            std::unique_ptr<Backend> &backend);

/// The training step compiled by `fsnn-compile --train` (its structure hash
/// must match the model), with evaluation on an inference library compiled
/// by `fsnn-compile`, or on the reference executor if `evalLibrary` is empty.
/// A step compiled with --sharded trains options.globalBatch in shards, over
/// the processes of options.communicator (makeShardedBackend).
Status makeCompiledBackend(const fsnn::model::ModelProto &model,
                           const std::string &trainLibrary,
                           const std::string &evalLibrary,
                           const BackendOptions &options,
                           std::unique_ptr<Backend> &backend);

/// Whether a parameter of a compiled step is one of the batch statistics
/// that a sharded step takes (`statistics_mean:`, `statistics_variance:`).
bool isShardedStatisticsName(const std::string &name);

/// Trains `globalBatch` samples per step as shards of `shardStep`'s compiled
/// batch (a step compiled with --sharded), spread over the processes of
/// `communicator`, with batch norm on the whole batch's statistics and every
/// sum in an order that does not depend on the number of processes
/// (ShardedBackend.cpp).
Status makeShardedBackend(const fsnn::model::ModelProto &model,
                          std::unique_ptr<Backend> shardStep,
                          int64_t globalBatch, Communicator &communicator,
                          std::unique_ptr<Backend> &backend);

struct TrainOptions {
  int64_t epochs = 100;
  int64_t batch = 128;
  int64_t testBatch = 200;
  ScheduleOptions schedule;
  OptimizerOptions optimizer;
  /// Running-statistics momentum of batch norm.
  double bnMomentum = 0.1;
  uint64_t seed = 0;
  /// Stop after this many optimiser steps in all (0: no limit); for short
  /// runs and tests.
  int64_t maxSteps = 0;
  int64_t checkpointEvery = 0;
  std::string checkpointPath;
  std::string outputPath;
  std::string logPath;
  int64_t logEvery = 10;
  /// Evaluate on the test set after each epoch.
  bool evaluateEachEpoch = true;
  /// Abort after this many consecutive steps with a non-finite or diverging
  /// loss (their updates are skipped).
  int64_t maxBadSteps = 20;
  /// The processes of a data-parallel job (null: this one alone). All take
  /// the same steps; the test set is split between them, and only rank 0
  /// writes checkpoints, the log, its plot and the output model.
  Communicator *communicator = nullptr;
};

struct EpochReport {
  int64_t epoch = 0;
  double trainLoss = 0, trainAccuracy = 0, testAccuracy = -1;
  double seconds = 0, imagesPerSecond = 0;
};

struct TrainReport {
  std::vector<EpochReport> epochs;
  int64_t steps = 0;
  int64_t nonFiniteSteps = 0, divergingSteps = 0, unconvergedSamples = 0;
  bool interrupted = false;
  double bestTestAccuracy = -1;
  double seconds = 0;
};

struct Progress {
  /// Called after every step: (epoch, step in epoch, steps in epoch, mean
  /// loss so far, accuracy so far, images/s).
  std::function<void(int64_t, int64_t, int64_t, double, double, double)> step;
  /// Called after every epoch.
  std::function<void(const EpochReport &)> epoch;
  /// Warnings (non-finite loss, unconverged adjoints, ...).
  std::function<void(const std::string &)> warn;
};

/// Trains `model` in place (its initializers and training state) on `train`,
/// evaluating on `test` (may be null). Writes checkpoints, the log and its
/// plot, and the output model. `stop` is polled between steps (Ctrl-C): when
/// set, a checkpoint is written and the run returns with `interrupted`.
Status train(fsnn::model::ModelProto &model, Backend &backend,
             const data::Dataset &train, const data::Dataset *test,
             const TrainOptions &options, const Progress &progress,
             const std::atomic<bool> &stop, TrainReport &report);

/// Test-set accuracy of the model's current tensors; with a communicator,
/// each process evaluates its part of the test set.
Status evaluateAccuracy(Backend &backend, const Tensors &tensors,
                        const data::Dataset &test, int64_t batch,
                        double &accuracy, Communicator *communicator = nullptr);

/// The sample order of an epoch: Fisher-Yates on our own generator (the
/// same order on every standard library).
std::vector<int64_t> epochOrder(uint64_t seed, int64_t epoch, int64_t size);

/// The dropout seed of optimiser step `step` of a run seeded `seed`.
uint64_t stepDropoutSeed(uint64_t seed, int64_t step);

/// What follows a good step: the running statistics move toward the
/// batch's by `bnMomentum`, then the optimiser steps at `learningRate`.
void applyStep(const StepResult &result, double bnMomentum, double learningRate,
               Optimizer &optimizer, Tensors &tensors);

/// Reads the initializers of a model into Tensors, and writes them back.
Tensors readTensors(const fsnn::model::ModelProto &model);
void writeTensors(const Tensors &tensors, fsnn::model::ModelProto &model);

/// Writes an SVG plot of the metrics log at `logPath` (JSON lines): the
/// training loss per logged step, train and test accuracy per epoch.
Status writePlot(const std::string &logPath, const std::string &svgPath);

} // namespace fsnn::train

#endif // FSNN_TRAINING_TRAIN_TRAINER_H
