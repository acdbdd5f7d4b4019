//===- ShardedStepTest.cpp - a global batch in shards vs the oracle -------===//
//
// fsnn-compile --train --sharded, loaded by fsnn-train's compiled backend:
// one step of a global batch in shards (batch norm on the statistics of the
// whole batch, their part of the gradient added by the trainer) against the
// reference executor's step on the whole batch at once: the loss, every
// parameter gradient, the batch statistics and the refreshed spectral
// state, to 1e-3 relative in float32 (the trainer's precision).
//
//===----------------------------------------------------------------------===//

#include "passes/Driver/Compile.h"
#include "training/train/Trainer.h"
#include "training/zoo/Zoo.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <unistd.h>

namespace fm = ::fsnn::model;
namespace ft = ::fsnn::train;

namespace {

struct ShardCase {
  std::string arch;
  int64_t channelDivisor = 1;
  int64_t timeSteps = 5;
  int64_t globalBatch = 8, shardBatch = 4;
};

double relativeError(const std::vector<float> &got,
                     const std::vector<float> &want, double floor) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff += double(got[i] - want[i]) * double(got[i] - want[i]);
    norm += double(want[i]) * double(want[i]);
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), floor);
}

void checkShardedStep(const ShardCase &c) {
  fm::ZooOptions zoo;
  // Masks are drawn per shard: without dropout both sides see one network.
  zoo.dropout = 0;
  zoo.timeSteps = c.timeSteps;
  zoo.channelDivisor = c.channelDivisor;
  zoo.seed = 11;
  fm::ModelProto model;
  ASSERT_TRUE(fm::createModel(c.arch, zoo, model).ok());

  char directory[] = "/tmp/fsnn-sharded-XXXXXX";
  ASSERT_NE(mkdtemp(directory), nullptr);
  mlir::fsnn::CompileOptions options;
  options.training = true;
  options.sharded = true;
  options.batch = c.shardBatch;
  options.threads = false;
  options.modelSupport = FSNN_MODEL_SUPPORT_ARCHIVE;
  options.output = std::string(directory) + "/step.so";
  llvm::Error error = mlir::fsnn::compileModel(model, options);
  ASSERT_FALSE(error) << llvm::toString(std::move(error));

  ft::BackendOptions backendOptions;
  backendOptions.globalBatch = c.globalBatch;
  backendOptions.threads = 1;
  std::unique_ptr<ft::Backend> sharded, reference;
  fm::Status s = ft::makeCompiledBackend(model, options.output, "",
                                         backendOptions, sharded);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_NE(sharded->name().find(std::to_string(c.globalBatch / c.shardBatch) +
                                 " shards of " + std::to_string(c.shardBatch)),
            std::string::npos)
      << sharded->name();
  ASSERT_TRUE(ft::makeReferenceBackend(model, backendOptions, reference).ok());

  ft::Tensors shardedTensors = ft::readTensors(model);
  ft::Tensors referenceTensors = shardedTensors;
  fm::ModelInfo info;
  ASSERT_TRUE(fm::validateModel(model, info).ok());
  const int64_t elements =
      fm::product(info.values.at(model.graph().inputs(0).name()).shape);
  std::mt19937_64 random(5);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<float> input(c.globalBatch * elements);
  for (float &x : input)
    x = float(normal(random));
  std::vector<int64_t> labels(c.globalBatch);
  for (int64_t &label : labels)
    label = int64_t(random() % 10);

  ft::StepResult got, want;
  s = sharded->step(shardedTensors, input, labels, 77, got);
  ASSERT_TRUE(s.ok()) << s.message();
  s = reference->step(referenceTensors, input, labels, 77, want);
  ASSERT_TRUE(s.ok()) << s.message();

  const double tolerance = 1e-3;
  EXPECT_NEAR(got.loss, want.loss, tolerance * want.loss);
  EXPECT_EQ(got.correct, want.correct);
  double largest = 0;
  for (const auto &[name, gradient] : want.gradients)
    largest = std::max(
        largest, std::sqrt(std::inner_product(gradient.begin(), gradient.end(),
                                              gradient.begin(), 0.0)));
  ASSERT_EQ(got.gradients.size(), want.gradients.size());
  for (const auto &[name, gradient] : want.gradients) {
    ASSERT_TRUE(got.gradients.count(name)) << name;
    // A gradient that is zero up to rounding (the bias before batch norm)
    // is measured against a share of the largest.
    EXPECT_LE(relativeError(got.gradients.at(name), gradient, 1e-3 * largest),
              tolerance)
        << name;
  }
  ASSERT_EQ(got.batchStatistics.size(), 1u);
  ASSERT_EQ(want.batchStatistics.size(), 1u);
  EXPECT_EQ(got.batchStatistics[0].meanName, want.batchStatistics[0].meanName);
  EXPECT_LE(relativeError(got.batchStatistics[0].mean,
                          want.batchStatistics[0].mean, 1e-6),
            tolerance);
  EXPECT_LE(relativeError(got.batchStatistics[0].variance,
                          want.batchStatistics[0].variance, 1e-6),
            tolerance);
  for (const char *state : {"fb.u", "fb.v"})
    EXPECT_LE(relativeError(shardedTensors.values.at(state),
                            referenceTensors.values.at(state), 1e-6),
              tolerance)
        << state;
  // The statistics parameters are the step's, not the model's.
  for (const auto &[name, values] : shardedTensors.values)
    EXPECT_FALSE(ft::isShardedStatisticsName(name)) << name;
  std::remove(options.output.c_str());
  rmdir(directory);
}

TEST(ShardedStep, F400InTwoShardsMatchesTheReferenceOnTheWholeBatch) {
  checkShardedStep({"fmnist-f400"});
}

TEST(ShardedStep, F400InFourShardsMatchesTheReferenceOnTheWholeBatch) {
  checkShardedStep({"fmnist-f400", 1, 5, 8, 2});
}

TEST(ShardedStep, ConvModelInTwoShardsMatchesTheReferenceOnTheWholeBatch) {
  checkShardedStep({"mnist-64c5", 4, 5, 8, 4});
}

} // namespace
