//===- WorkedCaseTest.cpp - docs/method.md §8, value by value ------------===//
//
// The expected values are those of test/reference/ide_testcase.py
// (exact rational simulation), as listed in docs/method.md §8 and
// ide_testcase_output.txt.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/Executor.h"
#include "test/unit/reference/ModelBuilder.h"

#include <gtest/gtest.h>

using namespace fsnn::reference;
using fsnn::testing::ModelBuilder;

namespace {

const std::vector<double> kW = {0.0,  0.4, -0.3, 0.2, 0.5, 0.0,  0.2, -0.4,
                                -0.2, 0.3, 0.0,  0.5, 0.3, -0.5, 0.4, 0.0};
const std::vector<double> kF = {0.8,  -0.3, 0.5, 0.2, 0.9, -0.4,
                                -0.5, 0.4,  0.7, 0.3, 0.3, 0.3};

/// The §8.1 model: 3 inputs, 4 IF (or LIF) neurons, V_th = 2, I = F x + b,
/// feedback W (optionally through the spectral reparameterisation of §8.6),
/// readout C a + c.
fsnn::model::ModelProto workedCase(int64_t T, bool lif = false,
                                   bool spectral = false) {
  ModelBuilder b("worked_case");
  b.input("x", {3});
  b.output("logits");
  b.tensor("F", {4, 3}, kF);
  b.tensor("b", {4}, {1.5, -0.2, 0.05, 0.0137});
  b.tensor("C", {2, 4}, {1.0, -0.5, 0.25, 0.5, -0.75, 0.5, 0.5, -0.25});
  b.tensor("c", {2}, {0.1, -0.1});
  std::string w = "W";
  if (spectral) {
    b.tensor("V", {4, 4}, kW);
    b.tensor("g", {}, {0.5});
    b.tensor("u", {4}, {0.5, 0.5, 0.5, 0.5});
    b.tensor("v", {4}, {1, 0, 0, 0});
    b.node("SpectralWeight", "spectral", {"V", "g", "u", "v"}, "Weff");
    w = "Weff";
  } else {
    b.tensor("W", {4, 4}, kW);
  }
  auto maps = b.feedback("x", 1, T);
  if (lif) {
    ModelBuilder::s(b.snn, "neuron", "lif");
    ModelBuilder::f(b.snn, "leak", 0.95);
  }
  b.mapIO(*maps[0], "x.in", {3}, "I", {4});
  ModelBuilder::node(*maps[0], "Linear", "F", {"x.in", "F", "b"}, "I");
  b.mapIO(*maps[1], "s", {4}, "fb", {4});
  ModelBuilder::node(*maps[1], "Linear", "W", {"s", w}, "fb");
  b.node("Linear", "readout", {"snn.rate1", "C", "c"}, "logits");
  return b.model;
}

Matrix<double> input() {
  Matrix<double> x(1, 3);
  x << 2.0, 1.0, -0.5;
  return x;
}

Executor<double> make(const fsnn::model::ModelProto &model) {
  Executor<double> executor;
  fsnn::model::Status status = Executor<double>::create(model, executor);
  EXPECT_TRUE(status.ok()) << status.message();
  return executor;
}

void expectRow(const Matrix<double> &m, const std::vector<double> &expected,
               double tolerance) {
  ASSERT_EQ(m.cols(), (int64_t)expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(m(0, i), expected[i], tolerance) << "element " << i;
}

void expectVector(const Vector<double> &v, const std::vector<double> &expected,
                  double tolerance) {
  ASSERT_EQ(v.size(), (int64_t)expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(v(i), expected[i], tolerance) << "element " << i;
}

ForwardResult<double> simulate(Executor<double> &executor, int64_t T,
                               bool record = false) {
  RunOptions options;
  options.timeSteps = T;
  options.recordSpikes = record;
  ForwardResult<double> result;
  EXPECT_TRUE(executor.forward(input(), options, result).ok());
  return result;
}

TEST(WorkedCase, IfRatesAndCounts) {
  Executor<double> executor = make(workedCase(5));
  struct Case {
    int64_t T;
    std::vector<double> rates, counts;
  };
  for (const Case &c :
       std::vector<Case>{{5, {1, 0.8, 0, 0.2}, {5, 4, 0, 1}},
                         {30, {1, 0.8, 0, 0.3}, {30, 24, 0, 9}},
                         {100, {1, 0.83, 0, 0.32}, {100, 83, 0, 32}},
                         {1000, {1, 0.835, 0, 0.323}, {1000, 835, 0, 323}}}) {
    ForwardResult<double> r = simulate(executor, c.T);
    expectRow(r.rates[0], c.rates, 1e-12);
    expectRow(r.counts[0], c.counts, 0);
  }
}

TEST(WorkedCase, IfSpikeTrainOfThirtySteps) {
  // The full raster of ide_testcase_output.txt, t = 1..30.
  const char *raster[30] = {"1000", "1100", "1101", "1100", "1100", "1001",
                            "1100", "1100", "1101", "1100", "1100", "1000",
                            "1101", "1100", "1101", "1100", "1100", "1000",
                            "1101", "1100", "1101", "1100", "1100", "1000",
                            "1101", "1100", "1100", "1101", "1100", "1000"};
  Executor<double> executor = make(workedCase(30));
  ForwardResult<double> r = simulate(executor, 30, /*record=*/true);
  ASSERT_EQ(r.spikeTrains[0].size(), 30u);
  for (int t = 0; t < 30; ++t)
    for (int n = 0; n < 4; ++n)
      EXPECT_EQ(r.spikeTrains[0][t](0, n), raster[t][n] - '0')
          << "step " << t + 1 << " neuron " << n;
}

TEST(WorkedCase, LifWeightedRates) {
  Executor<double> executor = make(workedCase(5, /*lif=*/true));
  struct Case {
    int64_t T;
    std::vector<double> rates, counts;
  };
  for (const Case &c : std::vector<Case>{
           {5, {1, 0.598949, 0, 0.199475}, {5, 3, 0, 1}},
           {30, {1, 0.813667, 0, 0.314297}, {30, 24, 0, 9}},
           {100, {1, 0.812998, 0, 0.307475}, {100, 81, 0, 30}},
           {1000, {1, 0.832763, 0, 0.307073}, {1000, 814, 0, 302}}}) {
    ForwardResult<double> r = simulate(executor, c.T);
    expectRow(r.rates[0], c.rates, 5e-7);
    expectRow(r.counts[0], c.counts, 0);
  }
}

TEST(WorkedCase, EquilibriumByEverySolver) {
  Executor<double> executor = make(workedCase(30));
  for (SolverKind kind :
       {SolverKind::Broyden, SolverKind::FixedPoint, SolverKind::Anderson}) {
    SolverSettings solver{kind, 300, 1e-14};
    Matrix<double> a;
    SolveReport report;
    ASSERT_TRUE(
        executor.equilibrium(input(), RunOptions(), solver, a, report).ok());
    expectRow(a, {1.0, 0.8354, 0.0, 0.3230}, 1e-12);
    EXPECT_EQ(report.unconverged, 0);
  }
}

GradientOptions exactGradients() {
  GradientOptions options;
  options.run.mode = Mode::Inference;
  options.point = GradientPoint::ExactEquilibrium;
  // The default adjoint is the paper's: Broyden, 30 iterations, first step -r.
  EXPECT_EQ(options.adjoint.kind, SolverKind::Broyden);
  EXPECT_EQ(options.adjoint.maxIterations, 30);
  EXPECT_TRUE(options.adjoint.broydenFirstStepNegative);
  return options;
}

TEST(WorkedCase, ImplicitGradientsAtTheExactEquilibrium) {
  Executor<double> executor = make(workedCase(30));
  GradientResult<double> g;
  ASSERT_TRUE(executor.gradients(input(), {0}, exactGradients(), g).ok());
  const double tol = 1e-9;
  EXPECT_NEAR(g.loss, 0.2291021898, tol);
  expectRow(g.logits, {0.843800, -0.513050}, 1e-9);
  expectRow(g.lossGradient,
            {-0.3583172894, 0.2047527368, 0.0511881842, -0.1535645526}, tol);
  expectRow(g.adjoint,
            {-0.3250449697, 0.2559409210, 0.0358317289, -0.2047527368}, tol);
  expectVector(g.gradients["b"], {0, 0.1279704605, 0, -0.1023763684}, tol);
  expectVector(g.gradients["W"],
               {0, 0, 0, 0, 0.1279704605, 0.1069065227, 0, 0.0413344587, 0, 0,
                0, 0, -0.1023763684, -0.0855252182, 0, -0.0330675670},
               tol);
  expectVector(g.gradients["F"],
               {0, 0, 0, 0.2559409210, 0.1279704605, -0.0639852303, 0, 0, 0,
                -0.2047527368, -0.1023763684, 0.0511881842},
               tol);
  expectVector(g.gradients["C"],
               {-0.2047527368, -0.1710504363, 0, -0.0661351340, 0.2047527368,
                0.1710504363, 0, 0.0661351340},
               tol);
  expectVector(g.gradients["c"], {-0.2047527368, 0.2047527368}, tol);
}

TEST(WorkedCase, BroydenResidualTrace) {
  Executor<double> executor = make(workedCase(30));
  GradientResult<double> g;
  ASSERT_TRUE(executor.gradients(input(), {0}, exactGradients(), g).ok());
  const std::vector<double> trace = {4.43e-1, 8.81e-1, 1.31e-2,
                                     2.48e-3, 2.27e-4, 4.97e-5};
  ASSERT_GE(g.adjointReport.trace.size(), 7u);
  for (size_t i = 0; i < trace.size(); ++i)
    EXPECT_NEAR(g.adjointReport.trace[i] / trace[i], 1.0, 0.01)
        << "iteration " << i;
  // The exact β after 6 updates.
  EXPECT_LT(g.adjointReport.trace[6], 1e-15);
}

TEST(WorkedCase, CodeStyleGradientsAtTheSimulatedRate) {
  Executor<double> executor = make(workedCase(30));
  GradientOptions options = exactGradients();
  options.point = GradientPoint::SimulatedRate;
  GradientResult<double> g;
  ASSERT_TRUE(executor.gradients(input(), {0}, options, g).ok());
  expectRow(g.point, {1, 0.8, 0, 0.3}, 1e-12);
  EXPECT_NEAR(g.loss, 0.2254126516, 1e-9);
  expectRow(g.adjoint,
            {-0.3203784903, 0.2522665278, 0.0353173139, -0.2018132223}, 1e-9);
  expectVector(g.gradients["b"], {0, 0.1261332639, 0, -0.1009066111}, 1e-9);
  expectVector(g.gradients["W"],
               {0, 0, 0, 0, 0.1261332639, 0.1009066111, 0, 0.0378399792, 0, 0,
                0, 0, -0.1009066111, -0.0807252889, 0, -0.0302719833},
               1e-9);
}

TEST(WorkedCase, FixedPointAndAndersonAdjointsAgree) {
  Executor<double> executor = make(workedCase(30));
  for (SolverKind kind : {SolverKind::FixedPoint, SolverKind::Anderson}) {
    GradientOptions options = exactGradients();
    options.adjoint = SolverSettings{kind, 200, 1e-14};
    GradientResult<double> g;
    ASSERT_TRUE(executor.gradients(input(), {0}, options, g).ok());
    expectRow(g.adjoint,
              {-0.3250449697, 0.2559409210, 0.0358317289, -0.2047527368}, 1e-9);
  }
}

TEST(WorkedCase, SpectralNormSequence) {
  Executor<double> executor = make(workedCase(30, false, /*spectral=*/true));
  std::map<int, double> expected = {{1, 0.4319163393},
                                    {2, 0.9298353113},
                                    {3, 1.0578634783},
                                    {5, 1.0607066643},
                                    {10, 1.0607084028}};
  for (int pass = 1; pass <= 10; ++pass) {
    double sigma = executor.refreshSpectral().at("spectral");
    if (expected.count(pass)) {
      EXPECT_NEAR(sigma, expected[pass], 1e-9) << "pass " << pass;
    }
  }
  // W_eff = 0.5 W / σ: its first row.
  double sigma = executor.refreshSpectral().at("spectral");
  EXPECT_NEAR(0.5 * 0.4 / sigma, 0.18855323, 1e-8);
  EXPECT_NEAR(0.5 * -0.3 / sigma, -0.14141493, 1e-8);
  EXPECT_NEAR(0.5 * 0.2 / sigma, 0.09427662, 1e-8);
}

/// The two-layer model of §8.7.
fsnn::model::ModelProto twoLayer(int64_t T, bool lif = false) {
  ModelBuilder b("two_layer");
  b.input("x", {2});
  b.output("logits");
  b.tensor("F1", {3, 2}, {1.2, -0.4, 0.3, 0.8, -0.6, 1.0});
  b.tensor("b1", {3}, {0.2071, 0.0913, 0.3337});
  b.tensor("F2", {2, 3}, {0.9, -0.5, 1.1, 0.4, 1.3, -0.7});
  b.tensor("b2", {2}, {0.1531, -0.0473});
  b.tensor("W1", {3, 2}, {0.6, -0.9, -0.4, 0.5, 0.7, 0.3});
  b.tensor("C", {2, 2}, {1, 0, 0, 1});
  auto maps = b.feedback("x", 2, T);
  if (lif) {
    ModelBuilder::s(b.snn, "neuron", "lif");
    ModelBuilder::f(b.snn, "leak", 0.95);
  }
  b.mapIO(*maps[0], "x.in", {2}, "I1", {3});
  ModelBuilder::node(*maps[0], "Linear", "F1", {"x.in", "F1", "b1"}, "I1");
  b.mapIO(*maps[1], "s1", {3}, "I2", {2});
  ModelBuilder::node(*maps[1], "Linear", "F2", {"s1", "F2", "b2"}, "I2");
  b.mapIO(*maps[2], "s2", {2}, "fb", {3});
  ModelBuilder::node(*maps[2], "Linear", "W1", {"s2", "W1"}, "fb");
  b.node("Linear", "readout", {"snn.rate2", "C"}, "logits");
  return b.model;
}

TEST(WorkedCase, TwoLayerModel) {
  Matrix<double> x(1, 2);
  x << 1.5, 0.7;
  Executor<double> executor = make(twoLayer(30));
  struct Case {
    int64_t T;
    std::vector<double> a1, a2;
  };
  for (const Case &c :
       std::vector<Case>{{5, {0.8, 0.4, 0}, {0.2, 0.2}},
                         {30, {0.8, 0.533333, 0.233333}, {0.4, 0.4}},
                         {100, {0.81, 0.56, 0.28}, {0.45, 0.40}},
                         {1000, {0.822, 0.557, 0.290}, {0.466, 0.401}}}) {
    RunOptions options;
    options.timeSteps = c.T;
    ForwardResult<double> r;
    ASSERT_TRUE(executor.forward(x, options, r).ok());
    expectRow(r.rates[0], c.a1, 5e-7);
    expectRow(r.rates[1], c.a2, 5e-7);
  }
  Matrix<double> a2;
  SolveReport report;
  ASSERT_TRUE(executor
                  .equilibrium(x, RunOptions(),
                               SolverSettings{SolverKind::Broyden, 200, 1e-14},
                               a2, report)
                  .ok());
  expectRow(a2, {0.4673933273, 0.4016446781}, 1e-9);

  Executor<double> lif = make(twoLayer(30, /*lif=*/true));
  ForwardResult<double> r;
  ASSERT_TRUE(lif.forward(x, RunOptions(), r).ok());
  expectRow(r.rates[0], {0.772765, 0.540204, 0.222517}, 5e-7);
  expectRow(r.rates[1], {0.397148, 0.377705}, 5e-7);
}

/// An independent, minimal simulation of one layer with dense F and W, to
/// check the executor's LIF and reset-to-zero paths.
std::vector<int> naiveCounts(int T, double leak, bool resetToZero) {
  std::vector<double> I = {2.55, 1.30, -0.90, 0.7637}, u(4, 0.0), s(4, 0.0);
  std::vector<int> counts(4, 0);
  for (int t = 0; t < T; ++t) {
    std::vector<double> next(4);
    for (int i = 0; i < 4; ++i) {
      double v = u[i] + I[i];
      for (int j = 0; j < 4; ++j)
        v += kW[i * 4 + j] * s[j];
      next[i] = v >= 2.0 ? 1.0 : 0.0;
      u[i] = leak * (resetToZero ? v * (1 - next[i]) : v - 2.0 * next[i]);
      counts[i] += int(next[i]);
    }
    s = next;
  }
  return counts;
}

TEST(WorkedCase, LifWithResetToZeroAgreesWithANaiveSimulation) {
  fsnn::model::ModelProto model = workedCase(50, /*lif=*/true);
  ModelBuilder::s(model.mutable_graph()->mutable_nodes(0), "reset", "zero");
  Executor<double> executor = make(model);
  ForwardResult<double> r = simulate(executor, 50);
  std::vector<int> expected = naiveCounts(50, 0.95, true);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(r.counts[0](0, i), expected[i]) << "neuron " << i;
  // The reset matters: subtraction gives other counts on this input.
  EXPECT_NE(naiveCounts(50, 0.95, false), expected);
}

TEST(WorkedCase, IdenticalSpikeFramesBehaveLikeStaticInput) {
  // Spike-frame input whose T frames all equal x simulates exactly as the
  // static input x: the map is applied to each frame, to the same current.
  fsnn::model::ModelProto frames = workedCase(7);
  auto *graph = frames.mutable_graph();
  graph->mutable_inputs(0)->clear_shape();
  graph->mutable_inputs(0)->add_shape(7);
  graph->mutable_inputs(0)->add_shape(3);
  ModelBuilder::s(graph->mutable_nodes(0), "input_kind", "spike_frames");
  Executor<double> framed = make(frames);
  Matrix<double> repeated(1, 21);
  for (int t = 0; t < 7; ++t)
    repeated.block(0, 3 * t, 1, 3) = input();
  ForwardResult<double> a, b;
  ASSERT_TRUE(framed.forward(repeated, RunOptions(), a).ok());
  Executor<double> plain = make(workedCase(7));
  ASSERT_TRUE(plain.forward(input(), RunOptions(), b).ok());
  EXPECT_EQ(a.counts[0], b.counts[0]);
  EXPECT_EQ(a.rates[0], b.rates[0]);
}

TEST(WorkedCase, Float32ReproducesTheSpikeTrainsUpToT100) {
  fsnn::model::ModelProto model = workedCase(100);
  for (auto &t : *model.mutable_graph()->mutable_initializers())
    t.set_dtype(fsnn::model::TensorProto::FLOAT32);
  model.mutable_graph()->mutable_inputs(0)->set_dtype(
      fsnn::model::TensorProto::FLOAT32);
  model.mutable_graph()->mutable_outputs(0)->set_dtype(
      fsnn::model::TensorProto::FLOAT32);
  Executor<float> executor;
  ASSERT_TRUE(Executor<float>::create(model, executor).ok());
  Matrix<float> x(1, 3);
  x << 2.0f, 1.0f, -0.5f;
  ForwardResult<float> r;
  ASSERT_TRUE(executor.forward(x, RunOptions(), r).ok());
  EXPECT_EQ(r.counts[0](0, 0), 100);
  EXPECT_EQ(r.counts[0](0, 1), 83);
  EXPECT_EQ(r.counts[0](0, 2), 0);
  EXPECT_EQ(r.counts[0](0, 3), 32);
}

} // namespace
