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
#include "training/train/Session.h"
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

/// What the flags give beyond the training request.
struct Flags {
  train::TrainingRequest request;
  int64_t warmup = 0;
  double progressEvery = 0;
};

void addFlags(CLI::App &app, Flags &flags) {
  train::TrainingRequest &r = flags.request;
  app.add_option("model", r.modelPath, "Model file to train (.fsnn)")
      ->required();
  app.add_option("--dataset", r.dataset, "Dataset")
      ->required()
      ->check(CLI::IsMember(data::datasetNames()));
  app.add_option("--data-dir", r.dataDirectory,
                 "Directory of the dataset's files")
      ->required();
  app.add_option("-o,--output", r.outputPath, "Trained model to write")
      ->required();
  app.add_option("--max-memory", r.maxMemory,
                 "Refuse models that would need more than this for one "
                 "batch, estimated before anything is allocated (default "
                 "4G)");
  app.add_option("--progress-every", flags.progressEvery,
                 "Seconds between plain progress lines when stderr is not a "
                 "terminal (default 30)")
      ->check(CLI::PositiveNumber);
  app.add_option("--epochs", r.options.epochs,
                 "Epochs (default 100, the paper's protocol)")
      ->check(CLI::Range(int64_t(1), int64_t(100000)));
  app.add_option("--batch", r.options.batch, "Training batch")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 16));
  app.add_option("--test-batch", r.options.testBatch, "Evaluation batch")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 16));
  app.add_option("--lr", r.learningRate, "Initial learning rate")
      ->check(CLI::PositiveNumber);
  app.add_option("--momentum", r.options.optimizer.momentum, "SGD momentum")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--weight-decay", r.options.optimizer.weightDecay,
                 "L2 weight decay on every parameter")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--optimizer", r.optimizer, "sgd or adam")
      ->check(CLI::IsMember({"sgd", "adam"}));
  app.add_option("--milestones", r.milestones,
                 "Epochs at which lr is multiplied by 0.1 (default: the "
                 "paper's for the dataset; 'none' for none)");
  app.add_option("--warmup", flags.warmup,
                 "Linear warm-up steps (default: 400 for CIFAR, else 0)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--solver", r.solver,
                 "Adjoint solver (default: fixed_point for N-MNIST, else "
                 "broyden)")
      ->check(CLI::IsMember({"broyden", "fixed_point", "anderson"}));
  app.add_option("--solver-iters", r.backendOptions.solverIterations,
                 "Adjoint solver iterations")
      ->check(CLI::Range(1, 10000));
  app.add_option("--seed", r.options.seed,
                 "Seed of the data order and dropout");
  app.add_option("--threads", r.backendOptions.threads,
                 "Threads for evaluation (the reference executors, or the "
                 "inference library); a training step runs on one")
      ->check(CLI::Range(1, 1024));
  app.add_option("--checkpoint-every", r.options.checkpointEvery,
                 "Also checkpoint every N steps (checkpoints are always "
                 "written after each epoch and on Ctrl-C)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--checkpoint", r.checkpointPath,
                 "Checkpoint file (default: OUTPUT with .ckpt.fsnn)");
  app.add_option("--resume", r.resumePath,
                 "Continue from a checkpoint of this model");
  app.add_option("--log", r.logPath,
                 "Metrics log (JSON lines); its plot is written next to it "
                 "as .svg");
  app.add_option("--log-every", r.options.logEvery, "Log every N steps")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--backend", r.backend,
                 "reference (the default), or compiled: the training step "
                 "from fsnn-compile --train (--library)")
      ->check(CLI::IsMember({"reference", "compiled"}));
  app.add_option("--library", r.trainLibrary,
                 "The compiled training step (fsnn-compile m.fsnn --train "
                 "--batch B -o m.train.so) for --backend compiled");
  app.add_option("--eval-library", r.evalLibrary,
                 "An inference library (fsnn-compile m.fsnn -o m.so) for the "
                 "test accuracy of --backend compiled (default: the "
                 "reference executor)");
  app.add_option("--max-steps", r.options.maxSteps,
                 "Stop after N optimiser steps in all (short runs)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--train-limit", r.trainLimit,
                 "Use the first N training samples only")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--test-limit", r.testLimit,
                 "Use the first N test samples only")
      ->check(CLI::NonNegativeNumber);
}

int run(int argc, char **argv) {
  CLI::App app{"fsnn-train: train a feedback spiking network by implicit "
               "differentiation on its equilibrium (IDE)"};
  app.set_version_flag(
      "--version", fsnn::model::versionText("fsnn-train", "no LLVM/MLIR linked "
                                                          "(runtime side)"));
  // Under mpirun or srun this process is one rank of a data-parallel job.
  std::unique_ptr<train::Communicator> communicator;
  if (model::Status s = train::makeCommunicator(argc, argv, communicator))
    return fail(s.message());
  const bool many = communicator->size() > 1;
  // A rank that fails ends the job: the others would wait for it forever.
  auto failJob = [&](const std::string &message) {
    if (many)
      communicator->abort("fsnn-train: error: " + message);
    return fail(message);
  };
  Flags flags;
  addFlags(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e);
  }
  train::TrainingRequest &request = flags.request;
  if (app.count("--warmup"))
    request.warmup = flags.warmup;
  request.solverFlagsGiven =
      app.count("--solver") || app.count("--solver-iters");
  if (many) {
    request.options.communicator = communicator.get();
    // One GPU per rank on each machine (a CUDA step's device), unless set.
    setenv("FSNN_CUDA_DEVICE",
           std::to_string(communicator->localRank()).c_str(),
           /*overwrite=*/0);
  }
  const bool speaks = communicator->rank() == 0;
  train::TrainingSession session;
  if (model::Status s = train::prepareTraining(request, session))
    return failJob(s.message());

  struct sigaction action = {};
  action.sa_handler = onInterrupt;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  train::ConsoleProgressOptions progressOptions;
  progressOptions.epochs = session.options.epochs;
  progressOptions.terminal = isatty(2);
  if (flags.progressEvery > 0)
    progressOptions.plainInterval = flags.progressEvery;
  train::ConsoleProgress console(std::cerr, std::cout, progressOptions);

  if (speaks)
    std::cout << train::startLine(request, session) << std::endl;
  train::TrainReport report;
  if (model::Status s =
          train::train(session.model, *session.backend, *session.trainSet,
                       session.testSet.get(), session.options,
                       speaks ? console.callbacks() : train::Progress(),
                       interrupted, report))
    return failJob(s.message());
  if (!speaks)
    return report.interrupted ? 130 : 0;
  if (report.interrupted) {
    const std::string &checkpoint = session.options.checkpointPath;
    std::cerr << "\nfsnn-train: interrupted after " << report.steps
              << " steps; checkpoint written to " << checkpoint
              << "; continue with --resume " << checkpoint << "\n";
    return 130;
  }
  std::cout << train::summaryLines(report, request.outputPath) << std::endl;
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  return fsnn::tools::guardedMain("fsnn-train", run, argc, argv);
}
