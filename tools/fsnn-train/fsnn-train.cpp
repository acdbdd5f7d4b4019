//===- fsnn-train.cpp - train a model with implicit differentiation -------===//
//
//   fsnn-train m.fsnn --dataset fashion-mnist --data-dir DIR -o trained.fsnn
//              [--epochs 100] [--batch 128] [--lr 0.05] ...
//
// Flag parsing, progress and messages; the loop is in the training library.
// Runtime side of the wall: no LLVM or MLIR.
//
//===----------------------------------------------------------------------===//

#include "runtime/model/Version.h"
#include "training/data/Dataset.h"
#include "training/train/ConsoleProgress.h"
#include "training/train/Trainer.h"

#include "tools/GuardedMain.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <csignal>
#include <iomanip>
#include <iostream>
#include <unistd.h>

using namespace fsnn;

namespace {

std::atomic<bool> interrupted{false};

extern "C" void onInterrupt(int) { interrupted.store(true); }

int fail(const std::string &message) {
  std::cerr << "fsnn-train: error: " << message << "\n";
  return 1;
}

/// The paper's protocol per dataset (docs/method.md §5.5).
struct Protocol {
  std::string milestones;
  int64_t warmup;
  std::string solver;
};

Protocol protocolFor(const std::string &dataset) {
  if (dataset == "cifar10" || dataset == "cifar100")
    return {"50,75", 400, "broyden"};
  if (dataset == "nmnist")
    return {"30,60,90", 0, "fixed_point"};
  return {"30,60,90", 0, "broyden"};
}

const model::AttributeProto *feedbackAttribute(const model::ModelProto &proto,
                                               const char *name) {
  for (const model::NodeProto &node : proto.graph().nodes())
    if (node.op_type() == "SpikingFeedback")
      return model::findAttribute(node, name);
  return nullptr;
}

int64_t modelTimeSteps(const model::ModelProto &proto) {
  const model::AttributeProto *t = feedbackAttribute(proto, "time_steps");
  return t ? t->i() : 30;
}

} // namespace

namespace {
int run(int argc, char **argv) {
  CLI::App app{"fsnn-train: train a feedback spiking network by implicit "
               "differentiation on its equilibrium (IDE)"};
  app.set_version_flag(
      "--version", fsnn::model::versionText("fsnn-train", "no LLVM/MLIR linked "
                                                          "(runtime side)"));
  std::string modelPath, dataset, dataDir, outputPath,
      optimizerName = "sgd", milestones, solver, resumePath, logPath,
      backendName = "reference", checkpointPath;
  train::TrainOptions options;
  train::BackendOptions backendOptions;
  int64_t trainLimit = 0, testLimit = 0, warmup = 0;
  double lr = 0.05;
  app.add_option("model", modelPath, "Model file to train (.fsnn)")->required();
  app.add_option("--dataset", dataset, "Dataset")
      ->required()
      ->check(CLI::IsMember(data::datasetNames()));
  app.add_option("--data-dir", dataDir, "Directory of the dataset's files")
      ->required();
  app.add_option("-o,--output", outputPath, "Trained model to write")
      ->required();
  std::string maxMemory = "4G";
  app.add_option("--max-memory", maxMemory,
                 "Refuse models that would need more than this for one "
                 "batch, estimated before anything is allocated (default "
                 "4G)");
  double progressEvery = 0;
  app.add_option("--progress-every", progressEvery,
                 "Seconds between plain progress lines when stderr is not a "
                 "terminal (default 30)")
      ->check(CLI::PositiveNumber);
  app.add_option("--epochs", options.epochs,
                 "Epochs (default 100, the paper's protocol)")
      ->check(CLI::Range(int64_t(1), int64_t(100000)));
  app.add_option("--batch", options.batch, "Training batch")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 16));
  app.add_option("--test-batch", options.testBatch, "Evaluation batch")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 16));
  app.add_option("--lr", lr, "Initial learning rate")
      ->check(CLI::PositiveNumber);
  app.add_option("--momentum", options.optimizer.momentum, "SGD momentum")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--weight-decay", options.optimizer.weightDecay,
                 "L2 weight decay on every parameter")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--optimizer", optimizerName, "sgd or adam")
      ->check(CLI::IsMember({"sgd", "adam"}));
  app.add_option("--milestones", milestones,
                 "Epochs at which lr is multiplied by 0.1 (default: the "
                 "paper's for the dataset; 'none' for none)");
  app.add_option("--warmup", warmup,
                 "Linear warm-up steps (default: 400 for CIFAR, else 0)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--solver", solver,
                 "Adjoint solver (default: fixed_point for N-MNIST, else "
                 "broyden)")
      ->check(CLI::IsMember({"broyden", "fixed_point", "anderson"}));
  app.add_option("--solver-iters", backendOptions.solverIterations,
                 "Adjoint solver iterations")
      ->check(CLI::Range(1, 10000));
  app.add_option("--seed", options.seed, "Seed of the data order and dropout");
  app.add_option("--threads", backendOptions.threads,
                 "Threads for evaluation (the reference executors, or the "
                 "inference library); a training step runs on one")
      ->check(CLI::Range(1, 1024));
  app.add_option("--checkpoint-every", options.checkpointEvery,
                 "Also checkpoint every N steps (checkpoints are always "
                 "written after each epoch and on Ctrl-C)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--checkpoint", checkpointPath,
                 "Checkpoint file (default: OUTPUT with .ckpt.fsnn)");
  app.add_option("--resume", resumePath,
                 "Continue from a checkpoint of this model");
  app.add_option("--log", logPath,
                 "Metrics log (JSON lines); its plot is written next to it "
                 "as .svg");
  app.add_option("--log-every", options.logEvery, "Log every N steps")
      ->check(CLI::NonNegativeNumber);
  std::string trainLibrary, evalLibrary;
  app.add_option("--backend", backendName,
                 "reference (the default), or compiled: the training step "
                 "from fsnn-compile --train (--library)")
      ->check(CLI::IsMember({"reference", "compiled"}));
  app.add_option("--library", trainLibrary,
                 "The compiled training step (fsnn-compile m.fsnn --train "
                 "--batch B -o m.train.so) for --backend compiled");
  app.add_option("--eval-library", evalLibrary,
                 "An inference library (fsnn-compile m.fsnn -o m.so) for the "
                 "test accuracy of --backend compiled (default: the "
                 "reference executor)");
  app.add_option("--max-steps", options.maxSteps,
                 "Stop after N optimiser steps in all (short runs)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--train-limit", trainLimit,
                 "Use the first N training samples only")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--test-limit", testLimit, "Use the first N test samples only")
      ->check(CLI::NonNegativeNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e);
  }

  Protocol protocol = protocolFor(dataset);
  if (milestones.empty())
    milestones = protocol.milestones;
  if (solver.empty())
    solver = protocol.solver;
  if (app.count("--warmup") == 0)
    warmup = protocol.warmup;
  options.schedule.baseLearningRate = lr;
  options.schedule.warmupSteps = warmup;
  if (model::Status s =
          train::parseMilestones(milestones, options.schedule.milestones))
    return fail(s.message());
  options.optimizer.kind = optimizerName == "adam" ? train::OptimizerKind::Adam
                                                   : train::OptimizerKind::SGD;
  backendOptions.solver = solver == "broyden" ? reference::SolverKind::Broyden
                          : solver == "anderson"
                              ? reference::SolverKind::Anderson
                              : reference::SolverKind::FixedPoint;
  options.outputPath = outputPath;
  options.logPath = logPath;
  if (checkpointPath.empty()) {
    checkpointPath = outputPath;
    for (const char *ext : {".fsnn.txt", ".fsnn"})
      if (checkpointPath.size() > std::strlen(ext) &&
          checkpointPath.compare(checkpointPath.size() - std::strlen(ext),
                                 std::string::npos, ext) == 0) {
        checkpointPath.resize(checkpointPath.size() - std::strlen(ext));
        break;
      }
    checkpointPath += ".ckpt.fsnn";
  }
  options.checkpointPath = checkpointPath;

  model::ModelProto proto;
  if (model::Status s = model::loadModel(modelPath, proto))
    return fail(s.message());
  model::ModelInfo info;
  if (model::Status s = model::validateModel(proto, info))
    return fail(modelPath + ": " + s.message());
  if (model::Status s = model::checkMemoryFlag(
          info, std::max(options.batch, options.testBatch), maxMemory))
    return fail(modelPath + ": " + s.message());
  if (!resumePath.empty()) {
    model::ModelProto checkpoint;
    if (model::Status s = model::loadModel(resumePath, checkpoint))
      return fail(s.message());
    model::ModelInfo checkpointInfo;
    if (model::Status s = model::validateModel(checkpoint, checkpointInfo))
      return fail(resumePath + ": " + s.message());
    if (model::modelStructureHash(checkpoint) !=
        model::modelStructureHash(proto))
      return fail(resumePath + " is a checkpoint of another model than " +
                  modelPath);
    if (!checkpoint.has_training())
      return fail(resumePath + " has no training state; it is not a "
                               "checkpoint of fsnn-train");
    proto = std::move(checkpoint);
  }

  data::DatasetOptions dataOptions;
  dataOptions.name = dataset;
  dataOptions.directory = dataDir;
  dataOptions.timeSteps = modelTimeSteps(proto);
  dataOptions.limit = trainLimit;
  std::unique_ptr<data::Dataset> trainSet, testSet;
  if (model::Status s = data::loadDataset(dataOptions, trainSet))
    return fail(s.message());
  dataOptions.split = data::Split::Test;
  dataOptions.limit = testLimit;
  if (model::Status s = data::loadDataset(dataOptions, testSet))
    return fail(s.message());
  int64_t inputElements = 1;
  for (int64_t d : info.values.at(proto.graph().inputs(0).name()).shape)
    inputElements *= d;
  if (trainSet->sampleElements() != inputElements)
    return fail(dataset + " samples have " +
                std::to_string(trainSet->sampleElements()) +
                " elements, but the model's input has " +
                std::to_string(inputElements));

  if (const model::AttributeProto *t =
          feedbackAttribute(proto, "solver_tolerance"))
    backendOptions.solverTolerance = t->f();
  std::unique_ptr<train::Backend> backend;
  if (backendName == "compiled") {
    if (app.count("--solver") || app.count("--solver-iters"))
      return fail("the compiled training step has its adjoint solver "
                  "compiled in, from the model file's solver settings; "
                  "--solver and --solver-iters apply to the reference "
                  "backend");
    if (trainLibrary.empty())
      return fail("--backend compiled needs the compiled training step: "
                  "fsnn-compile m.fsnn --train --batch " +
                  std::to_string(options.batch) +
                  " -o m.train.so, then --library m.train.so");
    if (model::Status s = train::makeCompiledBackend(
            proto, trainLibrary, evalLibrary, backendOptions, backend))
      return fail(s.message());
  } else if (model::Status s =
                 train::makeReferenceBackend(proto, backendOptions, backend)) {
    return fail(modelPath + ": " + s.message());
  }

  struct sigaction action = {};
  action.sa_handler = onInterrupt;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  train::ConsoleProgressOptions progressOptions;
  progressOptions.epochs = options.epochs;
  progressOptions.terminal = isatty(2);
  if (progressEvery > 0)
    progressOptions.plainInterval = progressEvery;
  train::ConsoleProgress console(std::cerr, std::cout, progressOptions);
  train::Progress progress = console.callbacks();

  std::cout << "training " << modelPath << " on " << dataset << " ("
            << trainSet->size() << " training, " << testSet->size()
            << " test samples) with the " << backend->name()
            << " backend, solver " << solver << ", "
            << backendOptions.solverIterations << " iterations" << std::endl;
  train::TrainReport report;
  model::Status status = train::train(proto, *backend, *trainSet, testSet.get(),
                                      options, progress, interrupted, report);
  if (!status.ok())
    return fail(status.message());
  if (report.interrupted) {
    std::cerr << "\nfsnn-train: interrupted after " << report.steps
              << " steps; checkpoint written to " << checkpointPath
              << "; continue with --resume " << checkpointPath << "\n";
    return 130;
  }
  std::cout << "done: " << report.steps << " steps in " << report.seconds
            << " s";
  if (report.bestTestAccuracy >= 0)
    std::cout << ", best test accuracy " << 100 * report.bestTestAccuracy
              << "%";
  std::cout << "; non-finite steps " << report.nonFiniteSteps
            << ", diverging steps " << report.divergingSteps
            << ", unconverged adjoint samples " << report.unconvergedSamples
            << "\nwrote " << outputPath << std::endl;
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  return fsnn::tools::guardedMain("fsnn-train", run, argc, argv);
}
