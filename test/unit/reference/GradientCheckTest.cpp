//===- GradientCheckTest.cpp - implicit gradients vs finite differences ---===//
//
// In float64, the implicit gradient at the exact equilibrium must equal the
// derivative of L(a*(θ)) computed by central differences, re-solving a* for
// every perturbation. Random contractive models: single-layer FC and conv,
// and a three-layer conv model with transposed-conv feedback; BN, dropout and
// the spectral reparameterisation are on.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/Executor.h"
#include "test/unit/reference/ModelBuilder.h"

#include <gtest/gtest.h>

#include <random>

using namespace fsnn::reference;
using fsnn::testing::ModelBuilder;

namespace {

class Random {
public:
  explicit Random(uint64_t seed) : engine(seed) {}
  std::vector<double> normal(int64_t n, double scale) {
    std::normal_distribution<double> d(0.0, scale);
    std::vector<double> v(n);
    for (double &x : v)
      x = d(engine);
    return v;
  }
  std::vector<double> uniform(int64_t n, double low, double high) {
    std::uniform_real_distribution<double> d(low, high);
    std::vector<double> v(n);
    for (double &x : v)
      x = d(engine);
    return v;
  }
  std::mt19937_64 engine;
};

int64_t product(const std::vector<int64_t> &dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

/// Adds BN parameters for `channels` and a BatchNorm node to `map`.
void addBatchNorm(ModelBuilder &b, Random &r, fsnn::model::GraphProto &map,
                  const std::string &name, int64_t channels,
                  const std::string &in, const std::string &out,
                  double betaCentre = 0.0) {
  b.tensor(name + ".gamma", {channels}, r.uniform(channels, 0.5, 1.5));
  b.tensor(name + ".beta", {channels},
           r.uniform(channels, betaCentre - 0.3, betaCentre + 0.3));
  b.tensor(name + ".mean", {channels}, r.normal(channels, 0.2));
  b.tensor(name + ".var", {channels}, r.uniform(channels, 0.5, 2.0));
  ModelBuilder::node(
      map, "BatchNorm", name,
      {in, name + ".gamma", name + ".beta", name + ".mean", name + ".var"},
      out);
}

/// The spectral feedback weight "Weff" with ‖W_eff‖ = g = 0.6 (for FC;
/// for convolutions the reshaped kernel's norm).
void addSpectral(ModelBuilder &b, Random &r, const std::vector<int64_t> &dims) {
  int64_t rows = dims[0], cols = product(dims) / rows;
  b.tensor("V", dims, r.normal(product(dims), 1.0));
  b.tensor("g", {}, {0.6});
  b.tensor("u", {rows}, r.normal(rows, 1.0));
  b.tensor("v", {cols}, r.normal(cols, 1.0));
  b.node("SpectralWeight", "spectral", {"V", "g", "u", "v"}, "Weff");
}

fsnn::model::ModelProto fcModel(Random &r) {
  ModelBuilder b("fc");
  b.input("x", {5});
  b.output("logits");
  addSpectral(b, r, {6, 6});
  b.tensor("F", {6, 5}, r.normal(30, 0.8));
  b.tensor("Fb", {6}, r.normal(6, 0.5));
  b.tensor("C", {3, 6}, r.normal(18, 1.0));
  b.tensor("c", {3}, r.normal(3, 0.2));
  auto maps = b.feedback("x", 1, 30);
  b.mapIO(*maps[0], "x.in", {5}, "f.out", {6});
  ModelBuilder::node(*maps[0], "Linear", "f", {"x.in", "F", "Fb"}, "f.lin");
  addBatchNorm(b, r, *maps[0], "f.bn", 6, "f.lin", "f.bn.out");
  ModelBuilder::f(
      ModelBuilder::node(*maps[0], "Dropout", "f.drop", {"f.bn.out"}, "f.out"),
      "rate", 0.2);
  b.mapIO(*maps[1], "s", {6}, "fb.out", {6});
  ModelBuilder::node(*maps[1], "Linear", "fb", {"s", "Weff"}, "fb.lin");
  ModelBuilder::f(
      ModelBuilder::node(*maps[1], "Dropout", "fb.drop", {"fb.lin"}, "fb.out"),
      "rate", 0.2);
  b.node("Linear", "readout", {"snn.rate1", "C", "c"}, "logits");
  return b.model;
}

fsnn::model::ModelProto convModel(Random &r) {
  ModelBuilder b("conv");
  b.input("x", {1, 6, 6});
  b.output("logits");
  addSpectral(b, r, {3, 3, 3, 3});
  b.tensor("K", {3, 1, 3, 3}, r.normal(27, 0.8));
  b.tensor("Kb", {3}, r.normal(3, 0.3));
  b.tensor("C", {2, 27}, r.normal(54, 0.5));
  auto maps = b.feedback("x", 1, 30);
  b.mapIO(*maps[0], "x.in", {1, 6, 6}, "f.bn.out", {3, 3, 3});
  ModelBuilder::conv(*maps[0], "Conv2d", "f", {"x.in", "K", "Kb"}, "f.conv", 2,
                     1);
  addBatchNorm(b, r, *maps[0], "f.bn", 3, "f.conv", "f.bn.out");
  b.mapIO(*maps[1], "s", {3, 3, 3}, "fb.conv", {3, 3, 3});
  ModelBuilder::conv(*maps[1], "Conv2d", "fb", {"s", "Weff"}, "fb.conv", 1, 1);
  b.node("Flatten", "flat", {"snn.rate1"}, "flat.out");
  b.node("Linear", "readout", {"flat.out", "C"}, "logits");
  return b.model;
}

/// Three conv layers, transposed-conv feedback from layer 3 to layer 1, BN
/// on layers 2 and 3 (running statistics in the exact map), average pooling
/// in the readout.
fsnn::model::ModelProto multiLayerModel(Random &r) {
  ModelBuilder b("multi");
  b.input("x", {1, 6, 6});
  b.output("logits");
  addSpectral(b, r, {2, 2, 3, 3}); // transposed conv: [in=2, out=2, 3, 3]
  // Biases and BN shifts keep each layer's current near V_th / 2, so that
  // most neurons are in the clamp's linear range and every parameter matters.
  b.tensor("K1", {2, 1, 3, 3}, r.normal(18, 0.3));
  b.tensor("K1b", {2}, r.uniform(2, 0.8, 1.2));
  b.tensor("K2", {2, 2, 3, 3}, r.normal(36, 0.25));
  b.tensor("K2b", {2}, r.normal(2, 0.3));
  b.tensor("K3", {2, 2, 3, 3}, r.normal(36, 0.25));
  b.tensor("C", {3, 2}, r.normal(6, 1.0));
  b.tensor("c", {3}, r.normal(3, 0.1));
  auto maps = b.feedback("x", 3, 30);
  b.mapIO(*maps[0], "x.in", {1, 6, 6}, "l1.out", {2, 3, 3});
  ModelBuilder::conv(*maps[0], "Conv2d", "l1", {"x.in", "K1", "K1b"}, "l1.out",
                     2, 1);
  b.mapIO(*maps[1], "s1", {2, 3, 3}, "l2.bn.out", {2, 3, 3});
  ModelBuilder::conv(*maps[1], "Conv2d", "l2", {"s1", "K2", "K2b"}, "l2.conv",
                     1, 1);
  addBatchNorm(b, r, *maps[1], "l2.bn", 2, "l2.conv", "l2.bn.out", 1.0);
  b.mapIO(*maps[2], "s2", {2, 3, 3}, "l3.bn.out", {2, 2, 2});
  ModelBuilder::conv(*maps[2], "Conv2d", "l3", {"s2", "K3"}, "l3.conv", 2, 1);
  addBatchNorm(b, r, *maps[2], "l3.bn", 2, "l3.conv", "l3.bn.out", 1.0);
  b.mapIO(*maps[3], "s3", {2, 2, 2}, "fb.out", {2, 3, 3});
  ModelBuilder::conv(*maps[3], "ConvTranspose2d", "fb", {"s3", "Weff"},
                     "fb.out", 2, 1);
  auto *pool = b.node("AvgPool2d", "pool", {"snn.rate3"}, "pooled");
  ModelBuilder::ints(pool, "kernel", {2, 2});
  b.node("Flatten", "flat", {"pooled"}, "flat.out");
  b.node("Linear", "readout", {"flat.out", "C", "c"}, "logits");
  return b.model;
}

/// Checks every trainable parameter's implicit gradient against central
/// differences of L(a*(θ)).
void checkGradients(const fsnn::model::ModelProto &model, int64_t batch,
                    uint64_t seed) {
  Executor<double> executor;
  fsnn::model::Status status = Executor<double>::create(model, executor);
  ASSERT_TRUE(status.ok()) << status.message();
  // Converge the power iteration so that σ̂ is ‖V‖ and W_eff is contractive;
  // with random u and v, uᵀVv can be anything, even 0.
  for (int i = 0; i < 100; ++i)
    executor.refreshSpectral();
  Random r(seed);
  std::vector<double> x = r.normal(batch * executor.inputSize(), 1.0);
  // Shift the input so that most neurons sit inside the clamp's linear range.
  Matrix<double> input =
      Eigen::Map<Matrix<double>>(x.data(), batch, executor.inputSize());
  std::vector<int64_t> labels;
  for (int64_t n = 0; n < batch; ++n)
    labels.push_back(n % 2);

  GradientOptions options;
  options.run.mode = Mode::Training;
  options.run.dropoutSeed = 11;
  options.point = GradientPoint::ExactEquilibrium;
  // Plain iteration: a contraction converges from any start, whereas
  // Broyden on the piecewise-linear clamp can wander (it keeps its best
  // iterate, which is not always exact enough for differences of 1e-5).
  options.equilibrium = SolverSettings{SolverKind::FixedPoint, 400, 1e-15};
  options.adjoint = SolverSettings{SolverKind::Broyden, 500, 1e-15};
  GradientResult<double> g;
  status = executor.gradients(input, labels, options, g);
  ASSERT_TRUE(status.ok()) << status.message();

  const double h = 1e-5;
  // A check where every neuron saturates or is silent would compare zeros.
  int64_t active = (g.point.array() > 0 && g.point.array() < 1).count();
  ASSERT_GE(4 * active, g.point.size())
      << "fewer than a quarter of the neurons in the linear range";
  for (const std::string &name : executor.trainable()) {
    Vector<double> &values = executor.parameters().at(name).values;
    Vector<double> numeric(values.size());
    for (int64_t i = 0; i < values.size(); ++i) {
      double saved = values(i), plus, minus;
      values(i) = saved + h;
      ASSERT_TRUE(executor
                      .lossAtEquilibrium(input, labels, options.run,
                                         options.equilibrium, plus)
                      .ok());
      values(i) = saved - h;
      ASSERT_TRUE(executor
                      .lossAtEquilibrium(input, labels, options.run,
                                         options.equilibrium, minus)
                      .ok());
      values(i) = saved;
      numeric(i) = (plus - minus) / (2 * h);
    }
    const Vector<double> &analytic = g.gradients.at(name);
    double error = (numeric - analytic).norm();
    // Relative 1e-6, with an absolute floor for gradients that are zero by
    // construction (a bias just before training-mode BN).
    EXPECT_LE(error, 1e-6 * analytic.norm() + 1e-9)
        << name << ": |fd - implicit| = " << error
        << ", |implicit| = " << analytic.norm();
  }
}

TEST(GradientCheck, SingleLayerFullyConnected) {
  Random r(1);
  checkGradients(fcModel(r), 4, 2);
}

TEST(GradientCheck, SingleLayerConv) {
  Random r(3);
  checkGradients(convModel(r), 3, 4);
}

TEST(GradientCheck, ThreeLayerConvWithTransposedConvFeedback) {
  Random r(5);
  checkGradients(multiLayerModel(r), 3, 6);
}

TEST(Convergence, SimulatedRatesApproachTheEquilibriumAsTGrows) {
  // Random contractive IF models: ‖a[T] - a*‖ shrinks with T (docs/method.md
  // §2.1).
  for (uint64_t seed : {7u, 8u, 9u}) {
    Random r(seed);
    fsnn::model::ModelProto model = fcModel(r);
    Executor<double> executor;
    ASSERT_TRUE(Executor<double>::create(model, executor).ok());
    for (int i = 0; i < 100; ++i)
      executor.refreshSpectral();
    Matrix<double> input =
        Eigen::Map<Matrix<double>>(r.normal(8 * 5, 1.0).data(), 8, 5);
    Matrix<double> aStar;
    SolveReport report;
    ASSERT_TRUE(
        executor
            .equilibrium(input, RunOptions(),
                         SolverSettings{SolverKind::FixedPoint, 400, 1e-14},
                         aStar, report)
            .ok());
    std::vector<double> errors;
    for (int64_t T : {10, 100, 1000, 10000}) {
      RunOptions options;
      options.timeSteps = T;
      ForwardResult<double> result;
      ASSERT_TRUE(executor.forward(input, options, result).ok());
      errors.push_back((result.rates[0] - aStar).norm());
    }
    for (size_t i = 1; i < errors.size(); ++i)
      EXPECT_LT(errors[i], errors[i - 1]) << "seed " << seed << " step " << i;
    EXPECT_LT(errors.back(), 0.05 * errors.front()) << "seed " << seed;
  }
}

} // namespace
