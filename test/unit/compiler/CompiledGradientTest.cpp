//===- CompiledGradientTest.cpp - the compiled training step vs the oracle ===//
//
// Imports zoo models for training, derives the backward with
// fsnn-generate-backward, lowers through the CPU pipeline, JIT-compiles, and
// compares the loss, the refreshed spectral state, the batch statistics and
// every parameter gradient with the reference executor's implicit gradients
// (docs/method.md §3, Broyden with the paper's first step), in float64 (1e-6
// relative) and float32 (1e-3 relative).
//
//===----------------------------------------------------------------------===//

#include "dialect/Target/Model/Translate.h"
#include "passes/Passes.h"
#include "passes/Pipelines/Pipelines.h"
#include "runtime/reference/Executor.h"
#include "test/unit/compiler/JitSupport.h"
#include "training/zoo/Zoo.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/TargetSelect.h"

#include <gtest/gtest.h>

#include <random>

using namespace fsnn::reference;
namespace fm = fsnn::model;
using fsnn::testing::Descriptor;

namespace {

/// The nodes of `graph` and of the maps inside its nodes, depth first.
std::vector<fm::NodeProto> allNodes(const fm::GraphProto &graph) {
  std::vector<fm::NodeProto> nodes;
  for (const fm::NodeProto &node : graph.nodes()) {
    nodes.push_back(node);
    for (const fm::AttributeProto &attribute : node.attributes())
      for (const fm::GraphProto &inner : attribute.graphs().values())
        for (fm::NodeProto &n : allNodes(inner))
          nodes.push_back(std::move(n));
  }
  return nodes;
}

/// A buffer of T for one argument or result of the step function.
template <typename T> struct Buffer {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<T> data;
  int64_t size() const { return fm::product(shape); }
};

/// A training step to compare: the zoo model and how it is run.
struct StepCase {
  std::string arch;
  int64_t batch;
  double tolerance;
  double dropout = 0.2;
  int64_t timeSteps = 0; // 0: the architecture's own
  bool emulateGPU = false;
  std::string neuron = "if";
  /// The adjoint's solver and its iterations, set in the model ("broyden",
  /// 0: the zoo's 30). Few enough iterations that the solve has not
  /// converged make the comparison one of the solver's own iterates.
  std::string solver = "broyden";
  int64_t solverIterations = 0;
  /// The zoo's channel divisor: the paper's structure at a width the
  /// reference executor checks quickly.
  int64_t channelDivisor = 1;
};

template <typename T> void checkTrainingStep(const StepCase &c) {
  const int64_t batch = c.batch;
  const double tolerance = c.tolerance;
  const bool emulateGPU = c.emulateGPU;
  const std::string &arch = c.arch;
  fm::ZooOptions zoo;
  zoo.dropout = c.dropout;
  zoo.neuron = c.neuron;
  if (c.timeSteps > 0)
    zoo.timeSteps = c.timeSteps;
  zoo.channelDivisor = c.channelDivisor;
  zoo.seed = 11;
  zoo.dtype = std::is_same_v<T, double> ? fm::TensorProto::FLOAT64
                                        : fm::TensorProto::FLOAT32;
  fm::ModelProto model;
  ASSERT_TRUE(fm::createModel(arch, zoo, model).ok());
  for (fm::NodeProto &node : *model.mutable_graph()->mutable_nodes()) {
    if (node.op_type() != "SpikingFeedback")
      continue;
    for (fm::AttributeProto &attribute : *node.mutable_attributes()) {
      if (attribute.name() == "solver")
        attribute.set_s(c.solver);
      else if (attribute.name() == "solver_iterations" &&
               c.solverIterations > 0)
        attribute.set_i(c.solverIterations);
    }
  }
  fm::ModelInfo info;
  ASSERT_TRUE(fm::validateModel(model, info).ok());

  // The compiled training step.
  mlir::MLIRContext context(fsnn::testing::jitRegistry());
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return mlir::success();
  });
  mlir::fsnn::ImportOptions options;
  options.batch = batch;
  options.training = true;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::fsnn::importModel(model, info, &context, options);
  ASSERT_TRUE(module) << diagnostics;
  auto function = *module->getOps<mlir::func::FuncOp>().begin();
  // The backward first, to read the result names it adds.
  mlir::PassManager backward(&context);
  backward.addNestedPass<mlir::func::FuncOp>(
      mlir::fsnn::createFSNNGenerateBackwardPass());
  ASSERT_TRUE(mlir::succeeded(backward.run(*module))) << diagnostics;

  // Buffers in the function's order, named as its attributes say.
  std::vector<Buffer<T>> arguments, results;
  std::vector<int64_t> labels(batch);
  for (unsigned i = 0; i < function.getNumArguments(); ++i) {
    auto type = mlir::dyn_cast<mlir::RankedTensorType>(
        function.getArgument(i).getType());
    auto name = function.getArgAttrOfType<mlir::StringAttr>(i, "fsnn.name");
    if (!type || name.getValue() == "labels")
      continue;
    Buffer<T> b{name.str(), std::vector<int64_t>(type.getShape().begin(),
                                                 type.getShape().end())};
    arguments.push_back(b);
  }
  for (unsigned i = 0; i < function.getNumResults(); ++i) {
    auto type =
        mlir::cast<mlir::RankedTensorType>(function.getResultTypes()[i]);
    auto name = function.getResultAttrOfType<mlir::StringAttr>(i, "fsnn.name");
    Buffer<T> b{name.str(), std::vector<int64_t>(type.getShape().begin(),
                                                 type.getShape().end())};
    b.data.resize(b.size());
    results.push_back(b);
  }
  function->setAttr("llvm.emit_c_interface", mlir::UnitAttr::get(&context));
  mlir::PassManager pm(&context);
  // Running the training pipeline's own fsnn-generate-backward again is a
  // no-op check: the function's loss is differentiated once.
  // Or the GPU's lowering stages with the kernels run on the host, at a
  // block size that divides none of the models' extents.
  ASSERT_TRUE(mlir::succeeded(emulateGPU
                                  ? mlir::fsnn::buildGPUEmulationStages(pm, 96)
                                  : mlir::fsnn::buildCPULoweringStages(pm)));
  ASSERT_TRUE(mlir::succeeded(pm.run(*module))) << diagnostics;
  std::string entry = fsnn::testing::cInterfaceOf(*module);
  ASSERT_FALSE(entry.empty()) << "no C interface after lowering";
  auto engine = mlir::ExecutionEngine::create(*module);
  ASSERT_TRUE(bool(engine)) << llvm::toString(engine.takeError());
  fsnn::testing::registerModelSupport(**engine);

  // Inputs: normal images and labels; parameters from the model.
  std::mt19937_64 random(5);
  std::normal_distribution<double> normal(0.0, 1.0);
  int64_t inputSize = arguments[0].size() / batch;
  Matrix<T> input(batch, inputSize);
  // Spike frames (batch x T x C x H x W) get 0/1 spikes, images normal
  // values.
  bool frames = arguments[0].shape.size() == 5;
  for (int64_t i = 0; i < input.size(); ++i)
    input.data()[i] = frames ? T(random() % 10 < 3) : T(normal(random));
  for (int64_t b = 0; b < batch; ++b)
    labels[b] = int64_t(random() % 10);
  std::map<std::string, std::vector<double>> initial;
  for (const fm::TensorProto &t : model.graph().initializers())
    initial[t.name()] = fm::tensorValues(t);
  for (Buffer<T> &a : arguments)
    if (&a == &arguments[0]) // the images or frames
      a.data.assign(input.data(), input.data() + input.size());
    else
      a.data.assign(initial.at(a.name).begin(), initial.at(a.name).end());
  int64_t seed = 77;

  std::vector<Descriptor> descriptors;
  descriptors.reserve(arguments.size() + results.size() + 1);
  std::vector<void *> descriptorPointers, pointers;
  descriptorPointers.reserve(arguments.size() + results.size() + 1);
  auto pass = [&](void *data, const std::vector<int64_t> &shape) {
    descriptors.emplace_back(data, shape);
    descriptorPointers.push_back(descriptors.back().words.data());
    pointers.push_back(&descriptorPointers.back());
  };
  pass(arguments[0].data.data(), arguments[0].shape); // images
  pass(labels.data(), {batch});
  for (size_t i = 1; i < arguments.size(); ++i)
    pass(arguments[i].data.data(), arguments[i].shape);
  pointers.push_back(&seed);
  for (Buffer<T> &r : results)
    pass(r.data.data(), r.shape);
  llvm::Error error = (*engine)->invokePacked(entry, pointers);
  ASSERT_FALSE(error) << llvm::toString(std::move(error));
  // Later steps take every buffer from the support library's cache: no
  // allocation from the system, and the same results.
  uint64_t allocations = fsnn_model_support_system_allocations();
  std::vector<std::vector<T>> firstResults;
  for (const Buffer<T> &r : results)
    firstResults.push_back(r.data);
  for (int repeat = 0; repeat < 1; ++repeat) {
    llvm::Error again = (*engine)->invokePacked(entry, pointers);
    ASSERT_FALSE(again) << llvm::toString(std::move(again));
  }
  EXPECT_EQ(fsnn_model_support_system_allocations(), allocations)
      << "system allocations in steps after the first";
  for (size_t i = 0; i < results.size(); ++i)
    EXPECT_EQ(results[i].data, firstResults[i]) << results[i].name;

  // The reference: the same refresh, masks, simulation, adjoint and
  // gradients.
  Executor<T> reference;
  ASSERT_TRUE(Executor<T>::create(model, reference).ok());
  reference.refreshSpectral();
  GradientOptions gradientOptions;
  gradientOptions.run.dropoutSeed = uint64_t(seed);
  if (c.solver != "broyden") {
    gradientOptions.adjoint = SolverSettings();
    ASSERT_TRUE(parseSolverKind(c.solver, gradientOptions.adjoint.kind));
    gradientOptions.adjoint.maxIterations =
        c.solverIterations > 0 ? int(c.solverIterations) : 30;
  }
  GradientResult<T> expected;
  ASSERT_TRUE(
      reference.gradients(input, labels, gradientOptions, expected).ok());

  // A gradient that is zero up to rounding (a conv bias under training-mode
  // BN, docs/method.md §3.5) is measured against a share of the largest
  // gradient instead of its own norm: 1e-4, and in float32 1e-3, where the
  // rounding of its thousands of cancelling terms is that large.
  double largest = 0;
  for (const auto &[name, g] : expected.gradients)
    largest = std::max(largest, double(g.norm()));
  auto relativeError = [&](const T *got, const T *want, int64_t n) {
    double diff = 0, norm = 0;
    for (int64_t i = 0; i < n; ++i) {
      diff += double(got[i] - want[i]) * double(got[i] - want[i]);
      norm += double(want[i]) * double(want[i]);
    }
    double floor = std::is_same_v<T, float> ? 1e-3 : 1e-4;
    return std::sqrt(diff) / std::max(std::sqrt(norm), floor * largest);
  };
  int checkedGradients = 0, checkedStatistics = 0;
  for (const Buffer<T> &r : results) {
    if (r.name == "loss") {
      EXPECT_NEAR(r.data[0], expected.loss, tolerance * expected.loss);
    } else if (r.name == "logits") {
      EXPECT_LE(relativeError(r.data.data(), expected.logits.data(),
                              expected.logits.size()),
                tolerance);
    } else if (r.name.rfind("grad:", 0) == 0) {
      const Vector<T> &want = expected.gradients.at(r.name.substr(5));
      ASSERT_EQ(int64_t(want.size()), int64_t(r.data.size())) << r.name;
      // The scale g of a feedback weight whose |g| > 1 gets no gradient
      // through the clamp; both sides must then say 0.
      if (want.norm() == 0)
        for (T g : r.data)
          EXPECT_EQ(g, T(0)) << r.name;
      else
        EXPECT_LE(relativeError(r.data.data(), want.data(), want.size()),
                  tolerance)
            << r.name;
      ++checkedGradients;
    } else if (r.name.rfind("state:", 0) == 0) {
      const Vector<T> &want =
          reference.parameters().at(r.name.substr(6)).values;
      EXPECT_LE(relativeError(r.data.data(), want.data(), want.size()),
                tolerance)
          << r.name;
    } else if (r.name.rfind("batch_", 0) == 0) {
      // Named after the running statistic the trainer updates with it.
      bool mean = r.name.rfind("batch_mean:", 0) == 0;
      std::string running = r.name.substr(r.name.find(':') + 1);
      const Vector<T> *want = nullptr;
      for (const fm::NodeProto &node : allNodes(model.graph()))
        if (node.op_type() == "BatchNorm" &&
            node.inputs(mean ? 3 : 4) == running)
          want = mean ? &expected.batchStatistics.at(node.name()).first
                      : &expected.batchStatistics.at(node.name()).second;
      ASSERT_TRUE(want) << r.name;
      EXPECT_LE(relativeError(r.data.data(), want->data(), want->size()),
                tolerance)
          << r.name;
      ++checkedStatistics;
    } else if (r.name == "adjoint_residual") {
      for (int64_t b = 0; b < batch; ++b)
        EXPECT_NEAR(r.data[b], expected.adjointReport.residual[b],
                    1e-3 * expected.lossGradient.row(b).norm() + 1e-12)
            << "sample " << b;
    }
  }
  EXPECT_EQ(checkedGradients, int(reference.trainable().size()));
  EXPECT_EQ(checkedStatistics, 2 * int(expected.batchStatistics.size()));
}

TEST(CompiledGradient, F400Float64MatchesTheReference) {
  checkTrainingStep<double>({"fmnist-f400", 16, 1e-6});
}

TEST(CompiledGradient, F400WithoutDropoutFloat64MatchesTheReference) {
  checkTrainingStep<double>({"fmnist-f400", 16, 1e-6, 0.0});
}

TEST(CompiledGradient, F400Float32MatchesTheReference) {
  checkTrainingStep<float>({"fmnist-f400", 16, 1e-3});
}

// LIF neurons (λ = 0.95): the λ-weighted rates of the simulation, the same
// equilibrium map and implicit backward as IF (docs/method.md §2.2).
TEST(CompiledGradient, F400LIFFloat64MatchesTheReference) {
  checkTrainingStep<double>({"fmnist-f400", 16, 1e-6, 0.2, 0, false, "lif"});
}

TEST(CompiledGradient, F400LIFFloat32MatchesTheReference) {
  checkTrainingStep<float>({"fmnist-f400", 16, 1e-3, 0.2, 0, false, "lif"});
}

// The Anderson adjoint (memory 5, as the reference's solver): the same
// residuals, Gram matrices and mixed iterates. After 7 iterations (its
// history wrapped around) the solve has not converged, so a different
// solver's iterate would not match.
TEST(CompiledGradient, F400AndersonFloat64MatchesTheReference) {
  checkTrainingStep<double>(
      {"fmnist-f400", 16, 1e-6, 0.2, 0, false, "if", "anderson", 7});
}

TEST(CompiledGradient, F400AndersonFloat32MatchesTheReference) {
  checkTrainingStep<float>(
      {"fmnist-f400", 16, 1e-3, 0.2, 0, false, "if", "anderson", 7});
}

TEST(CompiledGradient, F400AndersonConvergedFloat64MatchesTheReference) {
  checkTrainingStep<double>(
      {"fmnist-f400", 16, 1e-6, 0.2, 0, false, "if", "anderson"});
}

// The paper's MNIST model: conv input map (stride 2) with training BN, conv
// feedback (its adjoint a transposed conv), flatten and readout.
TEST(CompiledGradient, ConvModelFloat64MatchesTheReference) {
  checkTrainingStep<double>({"mnist-64c5", 4, 1e-6, 0.2, 8});
}

TEST(CompiledGradient, ConvModelFloat32MatchesTheReference) {
  checkTrainingStep<float>({"mnist-64c5", 4, 1e-3, 0.2, 8});
}

TEST(CompiledGradient, ConvModelLIFFloat64MatchesTheReference) {
  checkTrainingStep<double>({"mnist-64c5", 4, 1e-6, 0.2, 8, false, "lif"});
}

// The training step as the GPU pipeline lowers it (fsnn-compile --train
// --target cuda): kernels, device buffers, the solver's decisions read back
// from the device; run on the host by fsnn-gpu-to-host-loops.
TEST(CompiledGradient, F400Float64OnGPUKernelsMatchesTheReference) {
  checkTrainingStep<double>({"fmnist-f400", 16, 1e-6, 0.2, 0, true});
}

TEST(CompiledGradient, F400Float32OnGPUKernelsMatchesTheReference) {
  checkTrainingStep<float>({"fmnist-f400", 16, 1e-3, 0.2, 0, true});
}

TEST(CompiledGradient, F400LIFFloat64OnGPUKernelsMatchesTheReference) {
  checkTrainingStep<double>({"fmnist-f400", 16, 1e-6, 0.2, 0, true, "lif"});
}

TEST(CompiledGradient, F400AndersonFloat64OnGPUKernelsMatchesTheReference) {
  checkTrainingStep<double>(
      {"fmnist-f400", 16, 1e-6, 0.2, 0, true, "if", "anderson", 7});
}

TEST(CompiledGradient, ConvModelFloat64OnGPUKernelsMatchesTheReference) {
  checkTrainingStep<double>({"mnist-64c5", 4, 1e-6, 0.2, 8, true});
}

// The paper's CIFAR models (docs/method.md §1.5, §3.2): five conv layers,
// transposed-conv feedback, layers 2..N on running statistics in the
// simulation and the Jacobian and on batch statistics in the parameter graph,
// the Jacobian at f(a[T]). At 1/16 of their width.
TEST(CompiledGradient, AlexNetFFloat64MatchesTheReference) {
  StepCase c{"cifar10-alexnet-f", 4, 1e-6, 0.2, 8};
  c.channelDivisor = 16;
  checkTrainingStep<double>(c);
}

TEST(CompiledGradient, AlexNetFFloat32MatchesTheReference) {
  StepCase c{"cifar10-alexnet-f", 4, 1e-3, 0.2, 8};
  c.channelDivisor = 16;
  checkTrainingStep<float>(c);
}

TEST(CompiledGradient, AlexNetFLIFFloat64MatchesTheReference) {
  StepCase c{"cifar10-alexnet-f", 4, 1e-6, 0.2, 8, false, "lif"};
  c.channelDivisor = 16;
  checkTrainingStep<double>(c);
}

TEST(CompiledGradient, CIFARNetFFloat32MatchesTheReference) {
  StepCase c{"cifar10-cifarnet-f", 4, 1e-3, 0.2, 8};
  c.channelDivisor = 32;
  checkTrainingStep<float>(c);
}

TEST(CompiledGradient, CIFARNetFLIFFloat64MatchesTheReference) {
  StepCase c{"cifar100-cifarnet-f", 4, 1e-6, 0.2, 8, false, "lif"};
  c.channelDivisor = 32;
  checkTrainingStep<double>(c);
}

// The paper's N-MNIST model: spike frames, the equilibrium's input the
// time-averaged frames, the simulation's input BN on the statistics of the
// averaged input's map with std = sqrt(unbiased var + 1e-8) (docs/method.md
// §1.7), and the fixed-point adjoint of the paper's code (§3.4).
TEST(CompiledGradient, SpikeFramesFloat64MatchesTheReference) {
  StepCase c{"nmnist-64c5", 4, 1e-6, 0.2, 6, false, "if", "fixed_point"};
  c.channelDivisor = 8;
  checkTrainingStep<double>(c);
}

TEST(CompiledGradient, SpikeFramesLIFFloat32MatchesTheReference) {
  StepCase c{"nmnist-64c5", 4, 1e-3, 0.2, 6, false, "lif", "fixed_point"};
  c.channelDivisor = 8;
  checkTrainingStep<float>(c);
}

TEST(CompiledGradient, SpikeFramesFloat64OnGPUKernelsMatchesTheReference) {
  StepCase c{"nmnist-64c5", 4, 1e-6, 0.2, 6, true, "if", "fixed_point"};
  c.channelDivisor = 8;
  checkTrainingStep<double>(c);
}

TEST(CompiledGradient, AlexNetFFloat64OnGPUKernelsMatchesTheReference) {
  StepCase c{"cifar10-alexnet-f", 4, 1e-6, 0.2, 8, true};
  c.channelDivisor = 16;
  checkTrainingStep<double>(c);
}

TEST(CompiledGradient, AlexNetFFloat32OnGPUKernelsMatchesTheReference) {
  StepCase c{"cifar10-alexnet-f", 4, 1e-3, 0.2, 8, true};
  c.channelDivisor = 16;
  checkTrainingStep<float>(c);
}

TEST(CompiledGradient, CIFARNetFLIFFloat64OnGPUKernelsMatchesTheReference) {
  StepCase c{"cifar100-cifarnet-f", 4, 1e-6, 0.2, 8, true, "lif"};
  c.channelDivisor = 32;
  checkTrainingStep<double>(c);
}

TEST(CompiledGradient, ConvModelFloat32OnGPUKernelsMatchesTheReference) {
  checkTrainingStep<float>({"mnist-64c5", 4, 1e-3, 0.2, 8, true});
}

} // namespace
