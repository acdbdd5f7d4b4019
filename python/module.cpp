//===- module.cpp - fsnn's Python bindings (pybind11) ---------------------===//
//
// The model format, the zoo, the compiler, compiled and reference
// execution, datasets and training, with numpy arrays in and out. Every
// failure is a Python exception (fsnn.Error) carrying the library's message;
// arrays are checked for dtype, rank and shape before any data is read.
//
//===----------------------------------------------------------------------===//

#include "passes/Driver/Compile.h"
#include "runtime/bind/CompiledModel.h"
#include "runtime/model/Model.h"
#include "runtime/model/Validate.h"
#include "runtime/nir/Nir.h"
#include "runtime/reference/Evaluate.h"
#include "runtime/reference/Executor.h"
#include "training/data/Dataset.h"
#include "training/train/Session.h"
#include "training/train/Trainer.h"
#include "training/zoo/Zoo.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cstring>

namespace py = pybind11;
namespace fm = fsnn::model;
namespace ft = fsnn::train;
namespace fr = fsnn::reference;

namespace {

/// The exception every failure becomes (fsnn.Error, a RuntimeError).
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(const fm::Status &status) {
  if (!status.ok())
    throw Error(status.message());
}

/// A validated model file in memory.
struct Model {
  fm::ModelProto proto;
  fm::ModelInfo info;
  /// What import_nir had to say (docs/nir.md); empty otherwise.
  std::vector<std::string> notes;

  void validate() { check(fm::validateModel(proto, info)); }
  std::vector<int64_t> inputShape() const {
    return info.values.at(proto.graph().inputs(0).name()).shape;
  }
  int64_t inputElements() const { return fm::product(inputShape()); }
  int64_t timeSteps() const {
    const fm::NodeProto *node = fm::findFeedbackNode(proto);
    const fm::AttributeProto *t =
        node ? fm::findAttribute(*node, "time_steps") : nullptr;
    return t ? t->i() : 1;
  }
};

Model loadModel(const std::string &path) {
  Model model;
  check(fm::loadValidModel(path, model.proto, model.info));
  return model;
}

/// A C-contiguous float32 array of `batch` samples of the model's input
/// (batch x the input shape, or batch x elements), as a matrix.
fr::Matrix<float> inputMatrix(const Model &model,
                              const py::array_t<float> &images) {
  py::buffer_info buffer = images.request();
  if (buffer.ndim < 1)
    throw Error("images must have a batch dimension");
  int64_t batch = buffer.shape[0];
  int64_t elements = batch ? buffer.size / batch : 0;
  if (elements != model.inputElements())
    throw Error("images have " + std::to_string(elements) +
                " elements per sample; the model's input " +
                fm::formatShape(model.inputShape()) + " has " +
                std::to_string(model.inputElements()));
  fr::Matrix<float> input(batch, elements);
  std::memcpy(input.data(), buffer.ptr, sizeof(float) * buffer.size);
  return input;
}

py::array_t<float> toArray(const fr::Matrix<float> &m,
                           std::vector<int64_t> shape) {
  py::array_t<float> out(shape);
  std::memcpy(out.mutable_data(), m.data(), sizeof(float) * m.size());
  return out;
}

/// Logits, spike counts per layer (batch x the layer's shape) and rates.
py::dict batchResult(const Model &model, const fr::BatchResult &result,
                     int64_t batch) {
  py::dict out;
  out["logits"] =
      toArray(result.logits, {batch, int64_t(result.logits.cols())});
  py::list counts, rates;
  const fm::NodeProto *node = fm::findFeedbackNode(model.proto);
  for (const auto &[layer, matrix] : result.counts) {
    std::vector<int64_t> shape = {batch};
    if (node && layer < node->outputs_size() / 2) {
      const std::vector<int64_t> &s =
          model.info.values.at(node->outputs(layer)).shape;
      shape.insert(shape.end(), s.begin(), s.end());
    } else {
      shape.push_back(matrix.cols());
    }
    counts.append(toArray(matrix, shape));
    fr::Matrix<float> rate = matrix / float(model.timeSteps());
    rates.append(toArray(rate, shape));
  }
  out["counts"] = counts;
  out["rates"] = rates;
  return out;
}

/// A compiled inference library (fsnn-compile) bound to a model.
class CompiledModel {
public:
  CompiledModel(const Model &model, const std::string &library, int threads,
                const std::string &device)
      : model(model) {
    check(fsnn::bind::makeCompiledForward(model.proto, model.info, library,
                                          threads, forward, device));
  }
  py::dict run(const py::array_t<float, py::array::c_style |
                                            py::array::forcecast> &images) {
    fr::Matrix<float> input = inputMatrix(model, images);
    fr::BatchResult result;
    {
      py::gil_scoped_release release;
      check(forward(input, result));
    }
    return batchResult(model, result, input.rows());
  }

private:
  Model model;
  fr::BatchForward forward;
};

py::dict runReference(
    const Model &model,
    const py::array_t<float, py::array::c_style | py::array::forcecast> &images,
    int threads, bool doublePrecision) {
  fr::BatchForward forward;
  check(
      fr::makeReferenceForward(model.proto, threads, forward, doublePrecision));
  fr::Matrix<float> input = inputMatrix(model, images);
  fr::BatchResult result;
  {
    py::gil_scoped_release release;
    check(forward(input, result));
  }
  return batchResult(model, result, input.rows());
}

/// What the pictures need from the reference executor (float64) for a
/// few samples: every step's spikes, the equilibrium a*, and with labels
/// the adjoint solve's residual per iteration.
py::dict trace(
    const Model &model,
    const py::array_t<float, py::array::c_style | py::array::forcecast> &images,
    std::optional<std::vector<int64_t>> labels) {
  fr::Executor<double> executor;
  check(fr::Executor<double>::create(model.proto, executor));
  fr::Matrix<double> input = inputMatrix(model, images).cast<double>();
  fr::RunOptions run;
  run.recordSpikes = true;
  fr::ForwardResult<double> forward;
  check(executor.forward(input, run, forward));
  py::dict out;
  py::list layers;
  for (const std::vector<fr::Matrix<double>> &steps : forward.spikeTrains) {
    int64_t T = steps.size(), batch = input.rows(),
            neurons = T ? steps[0].cols() : 0;
    py::array_t<float> spikes({T, batch, neurons});
    float *data = spikes.mutable_data();
    for (int64_t t = 0; t < T; ++t)
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t n = 0; n < neurons; ++n)
          *data++ = float(steps[t](b, n));
    layers.append(spikes);
  }
  out["spikes"] = layers;
  fr::SolverSettings solver{fr::SolverKind::Anderson, 200, 1e-10};
  fr::Matrix<double> equilibrium;
  fr::SolveReport report;
  check(executor.equilibrium(input, run, solver, equilibrium, report));
  out["equilibrium"] =
      toArray(equilibrium.cast<float>(),
              {int64_t(equilibrium.rows()), int64_t(equilibrium.cols())});
  if (labels) {
    fr::GradientOptions options;
    options.run.mode = fr::Mode::Inference;
    fr::GradientResult<double> gradients;
    check(executor.gradients(input, *labels, options, gradients));
    out["adjoint_residuals"] = gradients.adjointReport.trace;
  }
  return out;
}

py::dict parameters(const Model &model) {
  py::dict out;
  for (const fm::TensorProto &t : model.proto.graph().initializers()) {
    std::vector<double> values = fm::tensorValues(t);
    std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
    if (t.dtype() == fm::TensorProto::FLOAT64) {
      py::array_t<double> a(dims);
      std::memcpy(a.mutable_data(), values.data(), 8 * values.size());
      out[py::str(t.name())] = a;
    } else {
      py::array_t<float> a(dims);
      std::copy(values.begin(), values.end(), a.mutable_data());
      out[py::str(t.name())] = a;
    }
  }
  return out;
}

void setParameters(Model &model, const py::dict &values) {
  std::map<std::string, fm::TensorProto *> byName;
  for (fm::TensorProto &t :
       *model.proto.mutable_graph()->mutable_initializers())
    byName[t.name()] = &t;
  // Every array is checked before the model changes.
  std::vector<std::pair<fm::TensorProto *, std::vector<double>>> updates;
  for (auto [key, value] : values) {
    std::string name = py::cast<std::string>(key);
    auto it = byName.find(name);
    if (it == byName.end())
      throw Error("the model has no parameter '" + name + "'");
    auto array =
        py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(
            value);
    if (!array)
      throw Error("parameter '" + name + "' is not a numeric array");
    std::vector<int64_t> dims(it->second->dims().begin(),
                              it->second->dims().end());
    std::vector<int64_t> shape(array.shape(), array.shape() + array.ndim());
    if (shape != dims)
      throw Error("parameter '" + name + "' has shape " +
                  fm::formatShape(dims) + ", not " + fm::formatShape(shape));
    updates.emplace_back(
        it->second,
        std::vector<double>(array.data(), array.data() + array.size()));
  }
  for (auto &[tensor, data] : updates)
    fm::setTensorValues(*tensor, data);
  model.validate();
}

/// A dataset through fsnn-train's loaders: (samples, labels), the samples
/// normalised as training normalises them (no augmentation).
py::tuple loadDataset(const std::string &name, const std::string &directory,
                      const std::string &split, int64_t limit,
                      int64_t timeSteps) {
  fsnn::data::DatasetOptions options;
  options.name = name;
  options.directory = directory;
  if (split != "train" && split != "test")
    throw Error("split must be 'train' or 'test', not '" + split + "'");
  options.split =
      split == "test" ? fsnn::data::Split::Test : fsnn::data::Split::Train;
  options.limit = limit;
  options.timeSteps = timeSteps;
  std::unique_ptr<fsnn::data::Dataset> dataset;
  check(fsnn::data::loadDataset(options, dataset));
  int64_t n = dataset->size(), elements = dataset->sampleElements();
  py::array_t<float> samples({n, elements});
  py::array_t<int64_t> labels(n);
  for (int64_t i = 0; i < n; ++i) {
    dataset->fill(i, samples.mutable_data() + i * elements, 0);
    labels.mutable_data()[i] = dataset->label(i);
  }
  return py::make_tuple(samples, labels);
}

/// One optimiser step at a time, as fsnn-train takes them.
class Trainer {
public:
  Trainer(const Model &model, const std::string &backend,
          const std::string &library, const std::string &evalLibrary,
          int64_t batch, double lr, const std::string &optimizer,
          double momentum, double weightDecay, const std::string &milestones,
          int64_t warmup, uint64_t seed, int threads)
      : model(model),
        optimizer(optimizerOptions(optimizer, momentum, weightDecay)),
        seed(seed), batch(batch) {
    schedule.baseLearningRate = lr;
    schedule.warmupSteps = warmup;
    check(ft::parseMilestones(milestones, schedule.milestones));
    ft::BackendOptions options;
    options.threads = threads;
    options.globalBatch = batch;
    if (backend == "compiled")
      check(ft::makeCompiledBackend(model.proto, library, evalLibrary, options,
                                    this->backend));
    else if (backend == "reference")
      check(ft::makeReferenceBackend(model.proto, options, this->backend));
    else
      throw Error("backend must be 'compiled' or 'reference', not '" + backend +
                  "'");
    tensors = ft::readTensors(model.proto);
  }

  py::dict step(const py::array_t<float, py::array::c_style |
                                             py::array::forcecast> &images,
                const std::vector<int64_t> &labels, int64_t epoch) {
    fr::Matrix<float> input = inputMatrix(model, images);
    if (int64_t(labels.size()) != input.rows())
      throw Error(std::to_string(labels.size()) + " labels for " +
                  std::to_string(input.rows()) + " samples");
    if (input.rows() != batch)
      throw Error("the trainer takes batches of " + std::to_string(batch) +
                  ", got " + std::to_string(input.rows()));
    std::vector<float> flat(input.data(), input.data() + input.size());
    ft::StepResult result;
    {
      py::gil_scoped_release release;
      check(backend->step(tensors, flat, labels,
                          ft::stepDropoutSeed(seed, steps), result));
    }
    ft::applyStep(result, 0.1, ft::learningRate(schedule, epoch, steps),
                  optimizer, tensors);
    ++steps;
    py::dict out;
    out["loss"] = result.loss;
    out["correct"] = result.correct;
    out["adjoint_worst_residual"] = result.worstAdjointResidual;
    return out;
  }

  py::dict parameters() {
    ft::writeTensors(tensors, model.proto);
    return ::parameters(model);
  }
  Model currentModel() {
    ft::writeTensors(tensors, model.proto);
    return model;
  }
  int64_t completedSteps() const { return steps; }

private:
  static ft::OptimizerOptions optimizerOptions(const std::string &kind,
                                               double momentum,
                                               double weightDecay) {
    if (kind != "sgd" && kind != "adam")
      throw Error("optimizer must be 'sgd' or 'adam', not '" + kind + "'");
    ft::OptimizerOptions options;
    options.kind =
        kind == "adam" ? ft::OptimizerKind::Adam : ft::OptimizerKind::SGD;
    options.momentum = momentum;
    options.weightDecay = weightDecay;
    return options;
  }

  Model model;
  std::unique_ptr<ft::Backend> backend;
  ft::Tensors tensors;
  ft::Optimizer optimizer;
  ft::ScheduleOptions schedule;
  uint64_t seed;
  int64_t batch, steps = 0;
};

/// fsnn-train's whole run (the same request, session and loop).
py::dict train(const std::string &modelPath, const std::string &dataset,
               const std::string &dataDirectory, const std::string &output,
               py::kwargs flags) {
  ft::TrainingRequest request;
  request.modelPath = modelPath;
  request.dataset = dataset;
  request.dataDirectory = dataDirectory;
  request.outputPath = output;
  for (auto [key, value] : flags) {
    std::string k = py::cast<std::string>(key);
    if (k == "epochs")
      request.options.epochs = py::cast<int64_t>(value);
    else if (k == "batch")
      request.options.batch = py::cast<int64_t>(value);
    else if (k == "test_batch")
      request.options.testBatch = py::cast<int64_t>(value);
    else if (k == "lr")
      request.learningRate = py::cast<double>(value);
    else if (k == "seed")
      request.options.seed = py::cast<uint64_t>(value);
    else if (k == "threads")
      request.backendOptions.threads = py::cast<int>(value);
    else if (k == "backend")
      request.backend = py::cast<std::string>(value);
    else if (k == "library")
      request.trainLibrary = py::cast<std::string>(value);
    else if (k == "eval_library")
      request.evalLibrary = py::cast<std::string>(value);
    else if (k == "max_steps")
      request.options.maxSteps = py::cast<int64_t>(value);
    else if (k == "train_limit")
      request.trainLimit = py::cast<int64_t>(value);
    else if (k == "test_limit")
      request.testLimit = py::cast<int64_t>(value);
    else if (k == "log")
      request.logPath = py::cast<std::string>(value);
    else if (k == "optimizer")
      request.optimizer = py::cast<std::string>(value);
    else if (k == "milestones")
      request.milestones = py::cast<std::string>(value);
    else if (k == "warmup")
      request.warmup = py::cast<int64_t>(value);
    else if (k == "resume")
      request.resumePath = py::cast<std::string>(value);
    else
      throw Error("train() has no option '" + k + "'");
  }
  ft::TrainingSession session;
  check(ft::prepareTraining(request, session));
  ft::TrainReport report;
  std::atomic<bool> stop{false};
  {
    py::gil_scoped_release release;
    check(ft::train(session.model, *session.backend, *session.trainSet,
                    session.testSet.get(), session.options, ft::Progress(),
                    stop, report));
  }
  py::dict out;
  out["steps"] = report.steps;
  out["seconds"] = report.seconds;
  out["best_test_accuracy"] = report.bestTestAccuracy;
  py::list epochs;
  for (const ft::EpochReport &e : report.epochs) {
    py::dict d;
    d["epoch"] = e.epoch;
    d["train_loss"] = e.trainLoss;
    d["train_accuracy"] = e.trainAccuracy;
    d["test_accuracy"] = e.testAccuracy;
    epochs.append(d);
  }
  out["epochs"] = epochs;
  return out;
}

void compile(const Model &model, const std::string &output, int64_t batch,
             bool train, bool sharded, const std::string &target,
             bool threads) {
  mlir::fsnn::CompileOptions options;
  options.batch = batch;
  options.training = train;
  options.sharded = sharded;
  options.target = target;
  options.threads = threads;
  options.output = output;
  options.modelSupport = FSNN_MODEL_SUPPORT_ARCHIVE;
  options.cudaWrappers = FSNN_CUDA_WRAPPERS_ARCHIVE;
  options.openmpLibrary = FSNN_OPENMP_LIBRARY;
  if (llvm::Error error = mlir::fsnn::compileModel(model.proto, options))
    throw Error(llvm::toString(std::move(error)));
}

} // namespace

PYBIND11_MODULE(_fsnn, m) {
  m.doc() = "fsnn: feedback spiking networks compiled through MLIR";
  py::register_exception<Error>(m, "Error", PyExc_RuntimeError);

  py::class_<Model>(m, "Model")
      .def_property_readonly(
          "name", [](const Model &model) { return model.proto.graph().name(); })
      .def_property_readonly("input_shape", &Model::inputShape)
      .def_property_readonly("time_steps", &Model::timeSteps)
      .def_property_readonly(
          "parameter_count",
          [](const Model &model) { return model.info.parameterCount; })
      .def_property_readonly(
          "dtype",
          [](const Model &model) { return fm::dtypeName(model.info.dtype); })
      .def("parameters", &parameters,
           "Every initializer as a numpy array, by name")
      .def("set_parameters", &setParameters,
           "Replace initializers by name (shapes checked first)")
      .def(
          "save",
          [](const Model &model, const std::string &path) {
            check(fm::saveModel(model.proto, path));
          },
          "Write the model file (atomically)")
      .def_property_readonly(
          "notes", [](const Model &model) { return model.notes; },
          "import_nir's notes on how the NIR graph was mapped")
      .def(
          "export_nir",
          [](const Model &model, const std::string &path, double dt,
             bool embed) {
            fsnn::nir::ExportOptions options;
            options.dt = dt;
            options.embedModel = embed;
            fsnn::nir::Item root;
            std::vector<std::string> notes;
            check(fsnn::nir::exportNir(model.proto, model.info, options, root,
                                       notes));
            check(fsnn::nir::writeNirFile(root, path));
            return notes;
          },
          py::arg("path"), py::arg("dt") = fsnn::nir::kDefaultDt,
          py::arg("embed_model") = true,
          "Write the model as a NIR graph (fsnn-model export-nir); returns "
          "the notes on what NIR expresses differently");

  m.def("load_model", &loadModel, py::arg("path"),
        "Load and validate a model file");
  m.def(
      "import_nir",
      [](const std::string &path, int64_t timeSteps, double dt,
         const std::string &dtype, const std::string &reset, bool useMetadata) {
        if (dtype != "float32" && dtype != "float64")
          throw Error("dtype must be float32 or float64");
        fsnn::nir::ImportOptions options;
        options.timeSteps = timeSteps;
        options.dt = dt;
        options.dtype = dtype == "float64" ? fm::TensorProto::FLOAT64
                                           : fm::TensorProto::FLOAT32;
        options.reset = reset;
        options.useEmbeddedModel = useMetadata;
        Model model;
        check(fsnn::nir::importNirFile(path, options, model.proto, model.info,
                                       model.notes));
        return model;
      },
      py::arg("path"), py::arg("time_steps") = 0,
      py::arg("dt") = fsnn::nir::kDefaultDt, py::arg("dtype") = "float32",
      py::arg("reset") = "zero", py::arg("use_fsnn_metadata") = true,
      "Import a NIR graph (fsnn-model import-nir; docs/nir.md); the "
      "model's notes say how it was mapped");
  m.def(
      "create_model",
      [](const std::string &arch, const std::string &neuron,
         std::optional<int64_t> timeSteps, uint64_t seed,
         int64_t channelDivisor, const std::string &dtype) {
        fm::ZooOptions options;
        options.neuron = neuron;
        options.timeSteps = timeSteps;
        options.seed = seed;
        options.channelDivisor = channelDivisor;
        if (dtype != "float32" && dtype != "float64")
          throw Error("dtype must be float32 or float64");
        options.dtype = dtype == "float64" ? fm::TensorProto::FLOAT64
                                           : fm::TensorProto::FLOAT32;
        Model model;
        check(fm::createModel(arch, options, model.proto));
        model.validate();
        return model;
      },
      py::arg("arch"), py::arg("neuron") = "if",
      py::arg("time_steps") = py::none(), py::arg("seed") = 0,
      py::arg("channel_divisor") = 1, py::arg("dtype") = "float32",
      "One of the paper's architectures (fsnn-model create)");
  m.def("compile", &compile, py::arg("model"), py::arg("output"),
        py::arg("batch") = 128, py::arg("train") = false,
        py::arg("sharded") = false, py::arg("target") = "cpu",
        py::arg("threads") = true,
        "Compile to a shared library (fsnn-compile's compiler library)");

  py::class_<CompiledModel>(m, "CompiledModel")
      .def(py::init<const Model &, const std::string &, int,
                    const std::string &>(),
           py::arg("model"), py::arg("library"), py::arg("threads") = 2,
           py::arg("device") = "cpu")
      .def("run", &CompiledModel::run, py::arg("images"),
           "Logits, spike counts and rates of a float32 batch");
  m.def("run_reference", &runReference, py::arg("model"), py::arg("images"),
        py::arg("threads") = 2, py::arg("double_precision") = false,
        "The reference executor on a float32 batch");
  m.def("trace", &trace, py::arg("model"), py::arg("images"),
        py::arg("labels") = py::none(),
        "Spike trains, equilibrium and adjoint residuals (reference, f64)");
  m.def("load_dataset", &loadDataset, py::arg("name"), py::arg("data_dir"),
        py::arg("split") = "train", py::arg("limit") = 0,
        py::arg("time_steps") = 30,
        "(samples, labels) through fsnn-train's loaders, normalised");
  m.def("epoch_order", &ft::epochOrder, py::arg("seed"), py::arg("epoch"),
        py::arg("size"), "fsnn-train's sample order of an epoch");

  py::class_<Trainer>(m, "Trainer")
      .def(py::init<const Model &, const std::string &, const std::string &,
                    const std::string &, int64_t, double, const std::string &,
                    double, double, const std::string &, int64_t, uint64_t,
                    int>(),
           py::arg("model"), py::arg("backend") = "compiled",
           py::arg("library") = "", py::arg("eval_library") = "",
           py::arg("batch") = 128, py::arg("lr") = 0.05,
           py::arg("optimizer") = "sgd", py::arg("momentum") = 0.9,
           py::arg("weight_decay") = 5e-4, py::arg("milestones") = "30,60,90",
           py::arg("warmup") = 0, py::arg("seed") = 0, py::arg("threads") = 2)
      .def("step", &Trainer::step, py::arg("images"), py::arg("labels"),
           py::arg("epoch") = 0, "One optimiser step on a batch")
      .def("parameters", &Trainer::parameters)
      .def("model", &Trainer::currentModel)
      .def_property_readonly("steps", &Trainer::completedSteps);
  m.def("train", &train, py::arg("model"), py::arg("dataset"),
        py::arg("data_dir"), py::arg("output"),
        "fsnn-train's run; keyword arguments are its flags (epochs, batch, "
        "lr, seed, threads, backend, library, eval_library, max_steps, "
        "train_limit, test_limit, log, optimizer, milestones, warmup, "
        "resume)");
}
