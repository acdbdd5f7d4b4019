//===- Session.cpp - what fsnn-train sets up before the loop --------------===//

#include "training/train/Session.h"

#include <algorithm>
#include <cstring>
#include <sstream>

namespace fsnn::train {

namespace fm = fsnn::model;

Protocol protocolFor(const std::string &dataset) {
  if (dataset == "cifar10" || dataset == "cifar100")
    return {"50,75", 400, "broyden"};
  if (dataset == "nmnist")
    return {"30,60,90", 0, "fixed_point"};
  return {"30,60,90", 0, "broyden"};
}

std::string defaultCheckpointPath(const std::string &outputPath) {
  std::string path = outputPath;
  for (const char *ext : {".fsnn.txt", ".fsnn"})
    if (path.size() > std::strlen(ext) &&
        path.compare(path.size() - std::strlen(ext), std::string::npos, ext) ==
            0) {
      path.resize(path.size() - std::strlen(ext));
      break;
    }
  return path + ".ckpt.fsnn";
}

namespace {

const fm::AttributeProto *feedbackAttribute(const fm::ModelProto &proto,
                                            const char *name) {
  const fm::NodeProto *node = fm::findFeedbackNode(proto);
  return node ? fm::findAttribute(*node, name) : nullptr;
}

int64_t modelTimeSteps(const fm::ModelProto &proto) {
  const fm::AttributeProto *t = feedbackAttribute(proto, "time_steps");
  return t ? t->i() : 30;
}

/// The protocol's values where the request leaves them open.
Status applyProtocol(TrainingRequest &request) {
  Protocol protocol = protocolFor(request.dataset);
  if (request.milestones.empty())
    request.milestones = protocol.milestones;
  if (request.solver.empty())
    request.solver = protocol.solver;
  TrainOptions &options = request.options;
  options.schedule.baseLearningRate = request.learningRate;
  options.schedule.warmupSteps = request.warmup.value_or(protocol.warmup);
  if (Status s =
          parseMilestones(request.milestones, options.schedule.milestones))
    return s;
  options.optimizer.kind =
      request.optimizer == "adam" ? OptimizerKind::Adam : OptimizerKind::SGD;
  if (!reference::parseSolverKind(request.solver,
                                  request.backendOptions.solver))
    return Status::error("unknown adjoint solver '" + request.solver +
                         "'; expected broyden, fixed_point or anderson");
  options.outputPath = request.outputPath;
  options.logPath = request.logPath;
  options.checkpointPath = request.checkpointPath.empty()
                               ? defaultCheckpointPath(request.outputPath)
                               : request.checkpointPath;
  return Status();
}

/// The model to train: the model file, or the checkpoint to resume, which
/// must be a checkpoint of that model.
Status loadTrainedModel(const TrainingRequest &request, fm::ModelProto &model,
                        fm::ModelInfo &info) {
  if (Status s = fm::loadValidModel(request.modelPath, model, info))
    return s;
  const TrainOptions &options = request.options;
  if (Status s = fm::checkMemoryFlag(
          info, std::max(options.batch, options.testBatch), request.maxMemory))
    return Status::error(request.modelPath + ": " + s.message());
  if (request.resumePath.empty())
    return Status();
  fm::ModelProto checkpoint;
  fm::ModelInfo checkpointInfo;
  if (Status s =
          fm::loadValidModel(request.resumePath, checkpoint, checkpointInfo))
    return s;
  if (fm::modelStructureHash(checkpoint) != fm::modelStructureHash(model))
    return Status::error(request.resumePath +
                         " is a checkpoint of another model than " +
                         request.modelPath);
  if (!checkpoint.has_training())
    return Status::error(request.resumePath +
                         " has no training state; it is not a checkpoint of "
                         "fsnn-train");
  model = std::move(checkpoint);
  return Status();
}

Status loadDatasets(const TrainingRequest &request, const fm::ModelInfo &info,
                    TrainingSession &session) {
  data::DatasetOptions dataOptions;
  dataOptions.name = request.dataset;
  dataOptions.directory = request.dataDirectory;
  dataOptions.timeSteps = modelTimeSteps(session.model);
  dataOptions.limit = request.trainLimit;
  if (Status s = data::loadDataset(dataOptions, session.trainSet))
    return s;
  dataOptions.split = data::Split::Test;
  dataOptions.limit = request.testLimit;
  if (Status s = data::loadDataset(dataOptions, session.testSet))
    return s;
  int64_t inputElements =
      fm::product(info.values.at(session.model.graph().inputs(0).name()).shape);
  if (session.trainSet->sampleElements() != inputElements)
    return Status::error(request.dataset + " samples have " +
                         std::to_string(session.trainSet->sampleElements()) +
                         " elements, but the model's input has " +
                         std::to_string(inputElements));
  return Status();
}

Status makeBackend(const TrainingRequest &request, TrainingSession &session) {
  BackendOptions backendOptions = request.backendOptions;
  backendOptions.communicator = request.options.communicator;
  backendOptions.globalBatch = request.options.batch;
  const int processes =
      backendOptions.communicator ? backendOptions.communicator->size() : 1;
  if (request.backend != "compiled" && processes > 1)
    return Status::error(
        "data-parallel training over " + std::to_string(processes) +
        " processes runs the compiled backend: fsnn-compile m.fsnn --train "
        "--sharded --batch <shard>, then --backend compiled --library");
  if (const fm::AttributeProto *t =
          feedbackAttribute(session.model, "solver_tolerance"))
    backendOptions.solverTolerance = t->f();
  if (request.backend != "compiled") {
    if (Status s = makeReferenceBackend(session.model, backendOptions,
                                        session.backend))
      return Status::error(request.modelPath + ": " + s.message());
    return Status();
  }
  if (request.solverFlagsGiven)
    return Status::error(
        "the compiled training step has its adjoint solver compiled in, from "
        "the model file's solver settings; --solver and --solver-iters apply "
        "to the reference backend");
  if (request.trainLibrary.empty())
    return Status::error(
        "--backend compiled needs the compiled training step: fsnn-compile "
        "m.fsnn --train --batch " +
        std::to_string(request.options.batch) +
        " -o m.train.so, then --library m.train.so");
  return makeCompiledBackend(session.model, request.trainLibrary,
                             request.evalLibrary, backendOptions,
                             session.backend);
}

} // namespace

Status prepareTraining(TrainingRequest request, TrainingSession &session) {
  if (Status s = applyProtocol(request))
    return s;
  fm::ModelInfo info;
  if (Status s = loadTrainedModel(request, session.model, info))
    return s;
  if (Status s = loadDatasets(request, info, session))
    return s;
  if (Status s = makeBackend(request, session))
    return s;
  session.options = request.options;
  session.solver = request.solver;
  session.solverIterations = request.backendOptions.solverIterations;
  return Status();
}

std::string startLine(const TrainingRequest &request,
                      const TrainingSession &session) {
  std::ostringstream os;
  os << "training " << request.modelPath << " on " << request.dataset << " ("
     << session.trainSet->size() << " training, " << session.testSet->size()
     << " test samples) with the " << session.backend->name()
     << " backend, solver " << session.solver << ", "
     << session.solverIterations << " iterations";
  return os.str();
}

std::string summaryLines(const TrainReport &report,
                         const std::string &outputPath) {
  std::ostringstream os;
  os << "done: " << report.steps << " steps in " << report.seconds << " s";
  if (report.bestTestAccuracy >= 0)
    os << ", best test accuracy " << 100 * report.bestTestAccuracy << "%";
  os << "; non-finite steps " << report.nonFiniteSteps << ", diverging steps "
     << report.divergingSteps << ", unconverged adjoint samples "
     << report.unconvergedSamples << "\nwrote " << outputPath;
  return os.str();
}

} // namespace fsnn::train
