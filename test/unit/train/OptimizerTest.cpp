//===- OptimizerTest.cpp - SGD, Adam and schedules against hand values ----===//

#include "training/train/Optimizer.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace fsnn::train;

namespace {

TEST(OptimizerTest, SgdFollowsPyTorch) {
  // torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01) on p = 1 with
  // gradients 2 then 3: d1 = 2.01, b1 = d1, p1 = 1 - 0.201 = 0.799;
  // d2 = 3 + 0.00799, b2 = 0.9 * 2.01 + 3.00799 = 4.81699, p2 = 0.3173.
  Optimizer sgd({OptimizerKind::SGD, 0.9, 0.01});
  std::vector<float> p = {1.0f};
  sgd.update("w", p, {2.0f}, 0.1);
  sgd.finishStep();
  EXPECT_NEAR(p[0], 0.799, 1e-6);
  sgd.update("w", p, {3.0f}, 0.1);
  sgd.finishStep();
  EXPECT_NEAR(p[0], 0.799 - 0.1 * 4.81699, 1e-6);
}

TEST(OptimizerTest, AdamFollowsPyTorch) {
  // The first Adam step moves every weight by lr (the bias-corrected ratio
  // is g / |g|), whatever the gradient's scale.
  Optimizer adam({OptimizerKind::Adam, 0.9, 0.0});
  std::vector<float> p = {1.0f, -2.0f};
  adam.update("w", p, {1e-3f, -50.0f}, 0.01);
  adam.finishStep();
  EXPECT_NEAR(p[0], 0.99, 1e-5);
  EXPECT_NEAR(p[1], -1.99, 1e-5);
}

TEST(OptimizerTest, StateRoundTripsThroughTheCheckpoint) {
  Optimizer a({OptimizerKind::SGD, 0.9, 5e-4});
  std::vector<float> p = {1.0f, 2.0f}, q = p;
  a.update("w", p, {0.5f, -0.5f}, 0.05);
  a.finishStep();
  fsnn::model::TrainingState state;
  a.saveState(state);
  state.set_step(1);
  Optimizer b({OptimizerKind::SGD, 0.9, 5e-4});
  ASSERT_TRUE(b.loadState(state).ok());
  q = p;
  a.update("w", p, {0.25f, 0.125f}, 0.05);
  b.update("w", q, {0.25f, 0.125f}, 0.05);
  EXPECT_EQ(p, q);
  Optimizer adam({OptimizerKind::Adam});
  auto status = adam.loadState(state);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "the checkpoint was trained with 'sgd', not "
                              "'adam'");
}

TEST(ScheduleTest, MilestonesAndWarmup) {
  ScheduleOptions s;
  s.baseLearningRate = 0.05;
  s.milestones = {50, 75};
  s.warmupSteps = 400;
  EXPECT_NEAR(learningRate(s, 0, 0), 0.05 / 400, 1e-12);
  EXPECT_NEAR(learningRate(s, 0, 199), 0.05 * 200 / 400, 1e-12);
  EXPECT_NEAR(learningRate(s, 1, 400), 0.05, 1e-12);
  EXPECT_NEAR(learningRate(s, 50, 100000), 0.005, 1e-12);
  EXPECT_NEAR(learningRate(s, 80, 100000), 0.0005, 1e-12);
  std::vector<int64_t> m;
  EXPECT_TRUE(parseMilestones("30,60,90", m).ok());
  EXPECT_EQ(m, (std::vector<int64_t>{30, 60, 90}));
  EXPECT_TRUE(parseMilestones("none", m).ok());
  EXPECT_TRUE(m.empty());
  EXPECT_FALSE(parseMilestones("30,,60", m).ok());
  EXPECT_FALSE(parseMilestones("0", m).ok());
}

} // namespace
