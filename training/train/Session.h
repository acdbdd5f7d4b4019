//===- Session.h - what fsnn-train sets up before the loop ------*- C++ -*-===//
//
// A training request (fsnn-train's flags, defaults not yet applied) turned
// into a session ready for train(): the paper's protocol for the dataset
// filled in, the checkpoint path, the model (or the checkpoint it resumes,
// checked to be of the same model), the data sets checked against the
// model's input, and the backend. Runtime side of the wall.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_TRAINING_TRAIN_SESSION_H
#define FSNN_TRAINING_TRAIN_SESSION_H

#include "training/train/Trainer.h"

#include <memory>
#include <optional>
#include <string>

namespace fsnn::train {

/// The paper's protocol for a dataset (docs/method.md §5.5).
struct Protocol {
  std::string milestones;
  int64_t warmup;
  std::string solver;
};
Protocol protocolFor(const std::string &dataset);

/// OUTPUT with its .fsnn or .fsnn.txt replaced by .ckpt.fsnn.
std::string defaultCheckpointPath(const std::string &outputPath);

struct TrainingRequest {
  std::string modelPath, dataset, dataDirectory, outputPath;
  /// Empty: the protocol's (or, for the checkpoint, the default path).
  std::string milestones, solver, checkpointPath;
  std::optional<int64_t> warmup;
  std::string optimizer = "sgd";
  double learningRate = 0.05;
  std::string resumePath, logPath;
  std::string backend = "reference";
  std::string trainLibrary, evalLibrary;
  /// Whether --solver or --solver-iters was given (the compiled step has its
  /// solver compiled in).
  bool solverFlagsGiven = false;
  std::string maxMemory = "4G";
  int64_t trainLimit = 0, testLimit = 0;
  TrainOptions options;
  BackendOptions backendOptions;
};

struct TrainingSession {
  fsnn::model::ModelProto model;
  std::unique_ptr<fsnn::data::Dataset> trainSet, testSet;
  std::unique_ptr<Backend> backend;
  TrainOptions options;
  /// The solver's name and iterations, for the start line.
  std::string solver;
  int solverIterations = 0;
};

/// Sets up `session` from `request`; the first problem found is an error
/// that names the file, flag or dataset at fault.
fsnn::model::Status prepareTraining(TrainingRequest request,
                                    TrainingSession &session);

/// The line fsnn-train prints before the first step.
std::string startLine(const TrainingRequest &request,
                      const TrainingSession &session);

/// The lines fsnn-train prints after the last step.
std::string summaryLines(const TrainReport &report,
                         const std::string &outputPath);

} // namespace fsnn::train

#endif // FSNN_TRAINING_TRAIN_SESSION_H
