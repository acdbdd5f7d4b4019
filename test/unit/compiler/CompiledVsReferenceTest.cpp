//===- CompiledVsReferenceTest.cpp - the CPU lowering against the oracle --===//
//
// Imports models, lowers them through the CPU pipeline, JIT-compiles them
// with MLIR's ExecutionEngine and compares the spike counts (exactly) and
// the logits (1e-4 relative) with the reference executor, in float32. Each
// model is also lowered through the GPU pipeline's kernel stages with the
// kernels run as host loops (buildGPUEmulationPipeline), which checks the
// GPU forms of the maps, the thread mapping and the device placement
// without a GPU.
//
//===----------------------------------------------------------------------===//

#include "dialect/Target/Model/Translate.h"
#include "passes/Pipelines/Pipelines.h"
#include "runtime/reference/Executor.h"
#include "test/unit/compiler/JitSupport.h"
#include "test/unit/reference/ModelBuilder.h"
#include "training/zoo/Zoo.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/TargetSelect.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

using namespace fsnn::reference;
using fsnn::testing::ModelBuilder;
namespace fm = fsnn::model;
using fsnn::testing::Descriptor;

namespace {

class CompiledModel {
public:
  /// Imports, lowers and JIT-compiles `model` for batch `batch`.
  static std::unique_ptr<CompiledModel> compile(const fm::ModelProto &model,
                                                int64_t batch, bool emulateGPU,
                                                bool propagateByChange = true) {
    auto compiled = std::make_unique<CompiledModel>();
    compiled->context =
        std::make_unique<mlir::MLIRContext>(fsnn::testing::jitRegistry());
    mlir::MLIRContext *ctx = compiled->context.get();
    std::string diagnostics;
    mlir::ScopedDiagnosticHandler handler(ctx, [&](mlir::Diagnostic &d) {
      diagnostics += d.str() + "\n";
      return mlir::success();
    });
    fm::ModelInfo info;
    EXPECT_TRUE(fm::validateModel(model, info).ok());
    mlir::fsnn::ImportOptions options;
    options.batch = batch;
    compiled->module = mlir::fsnn::importModel(model, info, ctx, options);
    EXPECT_TRUE(compiled->module) << diagnostics;
    if (!compiled->module)
      return nullptr;
    auto function = *compiled->module->getOps<mlir::func::FuncOp>().begin();
    function->setAttr("llvm.emit_c_interface", mlir::UnitAttr::get(ctx));
    mlir::PassManager pm(ctx);
    mlir::fsnn::CPUPipelineOptions cpu;
    cpu.propagateByChange = propagateByChange;
    // A block size that does not divide the test models' extents, so that
    // the guard of the last block matters.
    EXPECT_TRUE(mlir::succeeded(
        emulateGPU ? mlir::fsnn::buildGPUEmulationPipeline(pm, 96)
                   : mlir::fsnn::buildCPULoweringPipeline(pm, cpu)));
    if (mlir::failed(pm.run(*compiled->module))) {
      ADD_FAILURE() << "lowering failed:\n" << diagnostics;
      return nullptr;
    }
    compiled->entry = fsnn::testing::cInterfaceOf(*compiled->module);
    EXPECT_FALSE(compiled->entry.empty()) << "no C interface after lowering";
    mlir::ExecutionEngineOptions engineOptions;
    auto engine =
        mlir::ExecutionEngine::create(*compiled->module, engineOptions);
    if (!engine) {
      ADD_FAILURE() << "JIT failed: " << llvm::toString(engine.takeError());
      return nullptr;
    }
    fsnn::testing::registerModelSupport(**engine);
    compiled->engine = std::move(*engine);
    return compiled;
  }

  /// Calls the function: `arguments` are the buffers in the function's
  /// order (inputs, parameters, then the outputs to write).
  void run(std::vector<Descriptor> &arguments, bool dropoutSeed) {
    std::vector<void *> pointers;
    std::vector<void *> descriptorPointers;
    descriptorPointers.reserve(arguments.size());
    size_t split = arguments.size() - outputs;
    for (size_t i = 0; i < arguments.size(); ++i) {
      if (i == split && dropoutSeed)
        pointers.push_back(&seed);
      descriptorPointers.push_back(arguments[i].pointer());
      pointers.push_back(&descriptorPointers.back());
    }
    llvm::Error error = engine->invokePacked(entry, pointers);
    EXPECT_FALSE(error) << llvm::toString(std::move(error));
  }

  size_t outputs = 2;
  int64_t seed = 0;
  std::string entry;
  std::unique_ptr<mlir::MLIRContext> context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::unique_ptr<mlir::ExecutionEngine> engine;
};

/// Runs `model` (float32; outputs: logits, then the last layer's counts)
/// compiled and in the reference, and compares.
void compareWithReference(fm::ModelProto model, int64_t batch, uint64_t seed,
                          bool hasDropout = false) {
  for (auto &t : *model.mutable_graph()->mutable_initializers())
    if (t.dtype() == fm::TensorProto::FLOAT64) {
      t.set_dtype(fm::TensorProto::FLOAT32);
    }
  for (auto &i : *model.mutable_graph()->mutable_inputs())
    i.set_dtype(fm::TensorProto::FLOAT32);
  for (auto &o : *model.mutable_graph()->mutable_outputs())
    if (o.dtype() == fm::TensorProto::FLOAT64)
      o.set_dtype(fm::TensorProto::FLOAT32);

  Executor<float> reference;
  fm::Status status = Executor<float>::create(model, reference);
  ASSERT_TRUE(status.ok()) << status.message();
  std::mt19937_64 random(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Matrix<float> input(batch, reference.inputSize());
  for (int64_t i = 0; i < input.size(); ++i)
    input.data()[i] = normal(random);
  ForwardResult<float> expected;
  ASSERT_TRUE(reference.forward(input, RunOptions(), expected).ok());

  // Agreement means little on a network that is silent or saturated.
  Matrix<float> &refCounts = expected.counts.back();
  ASSERT_GT(refCounts.maxCoeff(), refCounts.minCoeff())
      << "the test model's last layer has the same count everywhere";
  for (bool emulateGPU : {false, true}) {
    SCOPED_TRACE(emulateGPU ? "GPU kernels run on the host" : "CPU lowering");
    std::unique_ptr<CompiledModel> compiled =
        CompiledModel::compile(model, batch, emulateGPU);
    ASSERT_TRUE(compiled);
    fm::ModelInfo info;
    ASSERT_TRUE(fm::validateModel(model, info).ok());
    std::vector<Descriptor> arguments;
    const auto &inputShape =
        info.values.at(model.graph().inputs(0).name()).shape;
    std::vector<int64_t> shape = {batch};
    shape.insert(shape.end(), inputShape.begin(), inputShape.end());
    arguments.emplace_back(input.data(), shape);
    std::vector<std::vector<float>> parameters;
    for (const fm::TensorProto &t : model.graph().initializers()) {
      std::vector<double> values = fm::tensorValues(t);
      parameters.emplace_back(values.begin(), values.end());
      arguments.emplace_back(
          parameters.back().data(),
          std::vector<int64_t>(t.dims().begin(), t.dims().end()));
    }
    const std::string logitsName = model.graph().outputs(0).name();
    Matrix<float> &refLogits = expected.outputs.at(logitsName);
    std::vector<float> logits(refLogits.size());
    arguments.emplace_back(logits.data(),
                           std::vector<int64_t>{batch, refLogits.cols()});
    std::vector<int32_t> counts(refCounts.size());
    std::vector<int64_t> countShape = {batch};
    for (int64_t d : reference.layerShapes().back())
      countShape.push_back(d);
    arguments.emplace_back(counts.data(), countShape);
    compiled->run(arguments, hasDropout);

    int64_t mismatched = 0;
    for (int64_t i = 0; i < refCounts.size(); ++i)
      mismatched += counts[i] != int32_t(refCounts.data()[i]);
    EXPECT_EQ(mismatched, 0) << "of " << refCounts.size() << " neurons";
    for (int64_t i = 0; i < refLogits.size(); ++i)
      EXPECT_NEAR(logits[i], refLogits.data()[i],
                  1e-4 * std::max(1.0f, std::abs(refLogits.data()[i])))
          << "logit " << i;
  }
}

std::vector<double> values(std::mt19937_64 &random, int64_t n, double scale,
                           double offset = 0.0) {
  std::normal_distribution<double> normal(offset, scale);
  std::vector<double> v(n);
  for (double &x : v)
    x = normal(random);
  return v;
}

TEST(CompiledVsReference, SingleLayerFullyConnectedWithBatchNormAndSpectral) {
  std::mt19937_64 r(1);
  ModelBuilder b("fc");
  b.input("x", {20});
  b.output("logits");
  b.output("snn.count1", /*counts=*/true);
  b.tensor("V", {16, 16}, values(r, 256, 1.0));
  b.tensor("g", {}, {0.8});
  b.tensor("u", {16}, values(r, 16, 1.0));
  b.tensor("v", {16}, values(r, 16, 1.0));
  b.node("SpectralWeight", "spectral", {"V", "g", "u", "v"}, "Weff");
  b.tensor("F", {16, 20}, values(r, 320, 0.6));
  b.tensor("Fb", {16}, values(r, 16, 0.5, 1.0));
  b.tensor("gamma", {16}, values(r, 16, 0.2, 1.0));
  b.tensor("beta", {16}, values(r, 16, 0.3, 1.0));
  b.tensor("mean", {16}, values(r, 16, 0.3));
  b.tensor("var", {16}, values(r, 16, 0.1, 1.0));
  b.tensor("C", {10, 16}, values(r, 160, 1.0));
  b.tensor("c", {10}, values(r, 10, 0.1));
  auto maps = b.feedback("x", 1, 30);
  b.mapIO(*maps[0], "x.in", {20}, "bn.out", {16});
  ModelBuilder::node(*maps[0], "Linear", "f", {"x.in", "F", "Fb"}, "f.out");
  ModelBuilder::node(*maps[0], "BatchNorm", "bn",
                     {"f.out", "gamma", "beta", "mean", "var"}, "bn.out");
  b.mapIO(*maps[1], "s", {16}, "fb.drop", {16});
  ModelBuilder::node(*maps[1], "Linear", "fb", {"s", "Weff"}, "fb.out");
  ModelBuilder::f(ModelBuilder::node(*maps[1], "Dropout", "fb.dropout",
                                     {"fb.out"}, "fb.drop"),
                  "rate", 0.2);
  b.node("Linear", "readout", {"snn.rate1", "C", "c"}, "logits");
  compareWithReference(b.model, 8, 2, /*hasDropout=*/true);
}

TEST(CompiledVsReference, LifWithResetToZero) {
  std::mt19937_64 r(3);
  ModelBuilder b("lif");
  b.input("x", {6});
  b.output("logits");
  b.output("snn.count1", true);
  b.tensor("F", {8, 6}, values(r, 48, 1.0));
  b.tensor("W", {8, 8}, values(r, 64, 0.3));
  b.tensor("C", {3, 8}, values(r, 24, 1.0));
  auto maps = b.feedback("x", 1, 40);
  ModelBuilder::s(b.snn, "neuron", "lif");
  ModelBuilder::f(b.snn, "leak", 0.9);
  ModelBuilder::s(b.snn, "reset", "zero");
  b.mapIO(*maps[0], "x.in", {6}, "f.out", {8});
  ModelBuilder::node(*maps[0], "Linear", "f", {"x.in", "F"}, "f.out");
  b.mapIO(*maps[1], "s", {8}, "fb.out", {8});
  ModelBuilder::node(*maps[1], "Linear", "fb", {"s", "W"}, "fb.out");
  b.node("Linear", "readout", {"snn.rate1", "C"}, "logits");
  compareWithReference(b.model, 5, 4);
}

TEST(CompiledVsReference, TwoFullyConnectedLayersInRegisterTiles) {
  // Linear maps on spikes whose width is a multiple of 16 run over output
  // tiles held in registers (48 = one 48-wide tile, 96 = one 96-wide tile,
  // 160 = two 80-wide tiles): exact agreement is still required.
  std::mt19937_64 r(5);
  ModelBuilder b("tiles");
  b.input("x", {12});
  b.output("logits");
  b.output("snn.count2", true);
  b.tensor("F", {96, 12}, values(r, 96 * 12, 0.8, 0.2));
  b.tensor("W2", {160, 96}, values(r, 160 * 96, 0.25));
  b.tensor("Wfb", {96, 160}, values(r, 96 * 160, 0.15));
  b.tensor("C", {48, 160}, values(r, 48 * 160, 0.3));
  b.tensor("C2", {7, 48}, values(r, 7 * 48, 0.5));
  auto maps = b.feedback("x", 2, 25);
  b.mapIO(*maps[0], "x.in", {12}, "f.out", {96});
  ModelBuilder::node(*maps[0], "Linear", "f", {"x.in", "F"}, "f.out");
  b.mapIO(*maps[1], "s1", {96}, "l2.out", {160});
  ModelBuilder::node(*maps[1], "Linear", "l2", {"s1", "W2"}, "l2.out");
  b.mapIO(*maps[2], "s2", {160}, "fb.out", {96});
  ModelBuilder::node(*maps[2], "Linear", "fb", {"s2", "Wfb"}, "fb.out");
  b.node("Linear", "hidden", {"snn.rate2", "C"}, "hidden.out");
  b.node("Linear", "readout", {"hidden.out", "C2"}, "logits");
  compareWithReference(b.model, 6, 12);
}

TEST(CompiledVsReference, ConvWithPoolingReadout) {
  std::mt19937_64 r(5);
  ModelBuilder b("conv");
  b.input("x", {1, 8, 8});
  b.output("logits");
  b.output("snn.count1", true);
  b.tensor("K", {4, 1, 3, 3}, values(r, 36, 0.8));
  b.tensor("Kb", {4}, values(r, 4, 0.5, 1.0));
  b.tensor("W", {4, 4, 3, 3}, values(r, 144, 0.15));
  b.tensor("C", {3, 16}, values(r, 48, 1.0));
  b.tensor("c", {3}, values(r, 3, 0.1));
  auto maps = b.feedback("x", 1, 20);
  b.mapIO(*maps[0], "x.in", {1, 8, 8}, "f.out", {4, 4, 4});
  ModelBuilder::conv(*maps[0], "Conv2d", "f", {"x.in", "K", "Kb"}, "f.out", 2,
                     1);
  b.mapIO(*maps[1], "s", {4, 4, 4}, "fb.out", {4, 4, 4});
  ModelBuilder::conv(*maps[1], "Conv2d", "fb", {"s", "W"}, "fb.out", 1, 1);
  auto *pool = b.node("AvgPool2d", "pool", {"snn.rate1"}, "pooled");
  ModelBuilder::ints(pool, "kernel", {2, 2});
  b.node("Flatten", "flat", {"pooled"}, "flat.out");
  b.node("Linear", "readout", {"flat.out", "C", "c"}, "logits");
  compareWithReference(b.model, 3, 6);
}

TEST(CompiledVsReference, ThreeLayersWithTransposedConvFeedback) {
  std::mt19937_64 r(7);
  ModelBuilder b("multi");
  b.input("x", {2, 8, 8});
  b.output("logits");
  b.output("snn.count3", true);
  b.tensor("K1", {3, 2, 3, 3}, values(r, 54, 0.6));
  b.tensor("K1b", {3}, values(r, 3, 0.3, 1.0));
  b.tensor("K2", {4, 3, 3, 3}, values(r, 108, 0.4));
  b.tensor("K2b", {4}, values(r, 4, 0.3, 0.8));
  b.tensor("K3", {4, 4, 3, 3}, values(r, 144, 0.4));
  b.tensor("K3b", {4}, values(r, 4, 0.3, 0.8));
  b.tensor("T", {4, 3, 3, 3}, values(r, 108, 0.3));
  b.tensor("C", {5, 64}, values(r, 320, 0.5));
  auto maps = b.feedback("x", 3, 25);
  b.mapIO(*maps[0], "x.in", {2, 8, 8}, "l1.out", {3, 4, 4});
  ModelBuilder::conv(*maps[0], "Conv2d", "l1", {"x.in", "K1", "K1b"}, "l1.out",
                     2, 1);
  b.mapIO(*maps[1], "s1", {3, 4, 4}, "l2.out", {4, 4, 4});
  ModelBuilder::conv(*maps[1], "Conv2d", "l2", {"s1", "K2", "K2b"}, "l2.out", 1,
                     1);
  b.mapIO(*maps[2], "s2", {4, 4, 4}, "l3.out", {4, 4, 4});
  ModelBuilder::conv(*maps[2], "Conv2d", "l3", {"s2", "K3", "K3b"}, "l3.out", 1,
                     1);
  // 4x4 back up to... layer 1 is 4x4 too: stride 1 transposed conv.
  b.mapIO(*maps[3], "s3", {4, 4, 4}, "fb.out", {3, 4, 4});
  ModelBuilder::conv(*maps[3], "ConvTranspose2d", "fb", {"s3", "T"}, "fb.out",
                     1, 1);
  b.node("Flatten", "flat", {"snn.rate3"}, "flat.out");
  b.node("Linear", "readout", {"flat.out", "C"}, "logits");
  compareWithReference(b.model, 2, 8);
}

TEST(CompiledVsReference, StridedTransposedConvUpsampling) {
  // The CIFAR feedback shape: 2x2 back up to 4x4 (stride 2, pad 1,
  // output_padding 1).
  std::mt19937_64 r(9);
  ModelBuilder b("up");
  b.input("x", {1, 8, 8});
  b.output("logits");
  b.output("snn.count2", true);
  b.tensor("K1", {2, 1, 3, 3}, values(r, 18, 0.8));
  b.tensor("K1b", {2}, values(r, 2, 0.3, 1.0));
  b.tensor("K2", {3, 2, 3, 3}, values(r, 54, 0.6));
  b.tensor("K2b", {3}, values(r, 3, 0.3, 0.8));
  b.tensor("T", {3, 2, 3, 3}, values(r, 54, 0.4));
  b.tensor("C", {2, 12}, values(r, 24, 0.5));
  auto maps = b.feedback("x", 2, 25);
  b.mapIO(*maps[0], "x.in", {1, 8, 8}, "l1.out", {2, 4, 4});
  ModelBuilder::conv(*maps[0], "Conv2d", "l1", {"x.in", "K1", "K1b"}, "l1.out",
                     2, 1);
  b.mapIO(*maps[1], "s1", {2, 4, 4}, "l2.out", {3, 2, 2});
  ModelBuilder::conv(*maps[1], "Conv2d", "l2", {"s1", "K2", "K2b"}, "l2.out", 2,
                     1);
  b.mapIO(*maps[2], "s2", {3, 2, 2}, "fb.out", {2, 4, 4});
  ModelBuilder::conv(*maps[2], "ConvTranspose2d", "fb", {"s2", "T"}, "fb.out",
                     2, 1, 1);
  b.node("Flatten", "flat", {"snn.rate2"}, "flat.out");
  b.node("Linear", "readout", {"flat.out", "C"}, "logits");
  compareWithReference(b.model, 3, 10);
}

TEST(CompiledVsReference, SpikeFrames) {
  std::mt19937_64 r(11);
  ModelBuilder b("frames");
  b.input("x", {6, 5});
  b.output("logits");
  b.output("snn.count1", true);
  b.tensor("F", {7, 5}, values(r, 35, 1.2));
  b.tensor("Fb", {7}, values(r, 7, 0.5, 0.8));
  b.tensor("W", {7, 7}, values(r, 49, 0.3));
  b.tensor("C", {2, 7}, values(r, 14, 1.0));
  auto maps = b.feedback("x", 1, 6);
  ModelBuilder::s(b.snn, "input_kind", "spike_frames");
  b.mapIO(*maps[0], "frame", {5}, "f.out", {7});
  ModelBuilder::node(*maps[0], "Linear", "f", {"frame", "F", "Fb"}, "f.out");
  b.mapIO(*maps[1], "s", {7}, "fb.out", {7});
  ModelBuilder::node(*maps[1], "Linear", "fb", {"s", "W"}, "fb.out");
  b.node("Linear", "readout", {"snn.rate1", "C"}, "logits");
  compareWithReference(b.model, 4, 12);
}

TEST(CompiledVsReference, WorkedCaseSpikeCountsOfTheSpec) {
  // docs/method.md §8.3: the exact IF spike counts for T = 5, 30 and 100, from
  // the compiled code itself (float32 is exact enough up to T = 100).
  struct Case {
    int64_t T;
    std::vector<int32_t> counts;
  };
  for (const Case &c : std::vector<Case>{
           {5, {5, 4, 0, 1}}, {30, {30, 24, 0, 9}}, {100, {100, 83, 0, 32}}}) {
    ModelBuilder b("worked_case", fm::TensorProto::FLOAT32);
    b.input("x", {3});
    b.output("logits");
    b.output("snn.count1", true);
    b.tensor("F", {4, 3},
             {0.8, -0.3, 0.5, 0.2, 0.9, -0.4, -0.5, 0.4, 0.7, 0.3, 0.3, 0.3});
    b.tensor("b", {4}, {1.5, -0.2, 0.05, 0.0137});
    b.tensor("W", {4, 4},
             {0.0, 0.4, -0.3, 0.2, 0.5, 0.0, 0.2, -0.4, -0.2, 0.3, 0.0, 0.5,
              0.3, -0.5, 0.4, 0.0});
    b.tensor("C", {2, 4}, {1.0, -0.5, 0.25, 0.5, -0.75, 0.5, 0.5, -0.25});
    auto maps = b.feedback("x", 1, c.T);
    b.mapIO(*maps[0], "x.in", {3}, "I", {4});
    ModelBuilder::node(*maps[0], "Linear", "F", {"x.in", "F", "b"}, "I");
    b.mapIO(*maps[1], "s", {4}, "fb", {4});
    ModelBuilder::node(*maps[1], "Linear", "W", {"s", "W"}, "fb");
    b.node("Linear", "readout", {"snn.rate1", "C"}, "logits");

    for (bool emulateGPU : {false, true}) {
      std::unique_ptr<CompiledModel> compiled =
          CompiledModel::compile(b.model, 1, emulateGPU);
      ASSERT_TRUE(compiled);
      std::vector<float> x = {2.0f, 1.0f, -0.5f};
      std::vector<std::vector<float>> parameters;
      std::vector<Descriptor> arguments;
      arguments.emplace_back(x.data(), std::vector<int64_t>{1, 3});
      for (const fm::TensorProto &t : b.model.graph().initializers()) {
        std::vector<double> values = fm::tensorValues(t);
        parameters.emplace_back(values.begin(), values.end());
        arguments.emplace_back(
            parameters.back().data(),
            std::vector<int64_t>(t.dims().begin(), t.dims().end()));
      }
      std::vector<float> logits(2);
      std::vector<int32_t> counts(4);
      arguments.emplace_back(logits.data(), std::vector<int64_t>{1, 2});
      arguments.emplace_back(counts.data(), std::vector<int64_t>{1, 4});
      compiled->run(arguments, /*dropoutSeed=*/false);
      EXPECT_EQ(counts, c.counts)
          << "T = " << c.T << (emulateGPU ? " (GPU kernels on the host)" : "");
    }
  }
}

/// Every architecture of the zoo (F400, 64C5s, the N-MNIST model on spike
/// frames, the CIFAR AlexNet-F and CIFARNet-F with five layers) lowered
/// through the GPU stages, kernels run on the host, gives the CPU lowering's
/// results without propagation by change: the same spike counts, and logits
/// that differ only by the rounding of sums in other orders (the CPU's
/// register-tiled readout).
TEST(CompiledVsReference, EveryZooModelLowersForTheGPUAsForTheCPU) {
  for (const std::string &arch : fm::zooArchitectures()) {
    // The CIFAR-100 models are the CIFAR-10 ones with a wider readout.
    if (arch.rfind("cifar100", 0) == 0)
      continue;
    SCOPED_TRACE(arch);
    fm::ZooOptions zoo;
    zoo.timeSteps = 3;
    zoo.seed = 3;
    // A low threshold, so that spikes reach the fifth layer of the CIFAR
    // models within the three steps.
    zoo.threshold = 0.25;
    fm::ModelProto model;
    ASSERT_TRUE(fm::createModel(arch, zoo, model).ok());
    fm::ModelInfo info;
    ASSERT_TRUE(fm::validateModel(model, info).ok());
    // One image for the CIFAR models: their kernels run slowly on the host.
    const int64_t batch = arch.rfind("cifar", 0) == 0 ? 1 : 2;
    std::mt19937_64 random(17);
    std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
    const auto &inputShape =
        info.values.at(model.graph().inputs(0).name()).shape;
    std::vector<int64_t> shape = {batch};
    shape.insert(shape.end(), inputShape.begin(), inputShape.end());
    int64_t inputSize = 1;
    for (int64_t d : shape)
      inputSize *= d;
    std::vector<float> input(inputSize);
    // Spike frames take 0/1 inputs; images take [0, 1] pixels.
    bool frames = arch.rfind("nmnist", 0) == 0;
    for (float &x : input)
      x = frames ? float(pixel(random) < 0.3f) : pixel(random);
    std::vector<std::vector<float>> parameters;
    for (const fm::TensorProto &t : model.graph().initializers()) {
      std::vector<double> values = fm::tensorValues(t);
      parameters.emplace_back(values.begin(), values.end());
    }
    std::vector<int64_t> logitShape = {batch}, countShape = {batch};
    for (int64_t d : info.values.at(model.graph().outputs(0).name()).shape)
      logitShape.push_back(d);
    for (int64_t d : info.values.at(model.graph().outputs(1).name()).shape)
      countShape.push_back(d);
    auto size = [](const std::vector<int64_t> &dims) {
      int64_t n = 1;
      for (int64_t d : dims)
        n *= d;
      return n;
    };
    std::vector<float> logits[2];
    std::vector<int32_t> counts[2];
    for (int emulateGPU = 0; emulateGPU < 2; ++emulateGPU) {
      // The CPU's sums in the dense maps' order, which the GPU keeps:
      // propagation by change would reorder them.
      std::unique_ptr<CompiledModel> compiled = CompiledModel::compile(
          model, batch, emulateGPU, /*propagateByChange=*/false);
      ASSERT_TRUE(compiled);
      std::vector<Descriptor> arguments;
      arguments.emplace_back(input.data(), shape);
      int p = 0;
      for (const fm::TensorProto &t : model.graph().initializers())
        arguments.emplace_back(
            parameters[p++].data(),
            std::vector<int64_t>(t.dims().begin(), t.dims().end()));
      logits[emulateGPU].resize(size(logitShape));
      counts[emulateGPU].resize(size(countShape));
      arguments.emplace_back(logits[emulateGPU].data(), logitShape);
      arguments.emplace_back(counts[emulateGPU].data(), countShape);
      compiled->run(arguments, /*dropoutSeed=*/true);
    }
    EXPECT_EQ(counts[1], counts[0]);
    int32_t spikes = 0;
    for (int32_t c : counts[0])
      spikes += c;
    EXPECT_GT(spikes, 0) << "the last layer is silent: a weak comparison";
    for (size_t i = 0; i < logits[0].size(); ++i)
      EXPECT_NEAR(logits[1][i], logits[0][i],
                  1e-5 * std::max(1.0f, std::abs(logits[0][i])))
          << "logit " << i;
  }
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
