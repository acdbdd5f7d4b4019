//===- Executor.h - the reference executor (the oracle) ---------*- C++ -*-===//
//
// A plain, independent executor of the model format on Eigen: the spiking
// simulation of docs/method.md §1, the equilibrium solvers of §2, and the
// implicit backward of §3 with the parameter gradients of every map. Compiled
// code is tested against it. Runtime side of the wall: no LLVM or MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_RUNTIME_REFERENCE_EXECUTOR_H
#define FSNN_RUNTIME_REFERENCE_EXECUTOR_H

#include "runtime/model/Validate.h"
#include "runtime/reference/Kernels.h"
#include "runtime/reference/Solvers.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fsnn::reference {

using fsnn::model::Status;

enum class Mode { Inference, Training };

/// Where the implicit backward linearises f and evaluates the gradients.
enum class GradientPoint {
  /// As the paper's code: at the simulated rate a[T] (single layer), or at
  /// f(a[T]) (multi-layer), with the feed-forward BNs of layers 2..N in
  /// training mode for the parameter gradients.
  SimulatedRate,
  /// At the exact equilibrium a* of a consistent map (BNs of layers 2..N on
  /// running statistics throughout): the derivative of L(a*(θ)), which finite
  /// differences check.
  ExactEquilibrium,
};

template <typename T> struct Parameter {
  std::vector<int64_t> dims;
  Vector<T> values;
  /// dims[0] x (the rest): the layout every map uses.
  ConstMatrixMap<T> matrix() const {
    int64_t rows = dims.empty() ? 1 : dims[0];
    return ConstMatrixMap<T>(values.data(), rows, values.size() / rows);
  }
};

struct RunOptions {
  Mode mode = Mode::Inference;
  /// Seed of the dropout masks (training only).
  uint64_t dropoutSeed = 0;
  /// 0: the model's time_steps.
  int64_t timeSteps = 0;
  /// Keep every step's spikes of every layer (ForwardResult::spikeTrains).
  bool recordSpikes = false;
};

template <typename T> struct ForwardResult {
  /// Graph outputs by name (spike counts as T).
  std::map<std::string, Matrix<T>> outputs;
  /// Per layer of the SpikingFeedback node: rates and spike counts.
  std::vector<Matrix<T>> rates;
  std::vector<Matrix<T>> counts;
  /// With RunOptions::recordSpikes: [layer][step], batch x neurons of 0/1.
  std::vector<std::vector<Matrix<T>>> spikeTrains;
  /// Per sample, the smallest |v - V_th| of any spiking decision: how close
  /// the sample came to a threshold tie.
  std::vector<double> thresholdMargin;
};

inline SolverSettings paperAdjoint() {
  SolverSettings settings;
  settings.kind = SolverKind::Broyden;
  settings.maxIterations = 30;
  settings.broydenFirstStepNegative = true;
  return settings;
}

struct GradientOptions {
  RunOptions run{Mode::Training};
  GradientPoint point = GradientPoint::SimulatedRate;
  /// The paper's adjoint: Broyden, 30 iterations, its first step -r.
  SolverSettings adjoint = paperAdjoint();
  /// For GradientPoint::ExactEquilibrium: how a* is solved. Anderson is
  /// robust on the piecewise-linear clamp, where Broyden can wander.
  SolverSettings equilibrium{SolverKind::Anderson, 200, 1e-13};
};

template <typename T> struct GradientResult {
  double loss = 0;
  /// The point where f was linearised and the readout evaluated.
  Matrix<T> point;
  Matrix<T> logits;
  Matrix<T> lossGradient; // ∂L/∂a
  Matrix<T> adjoint;      // β
  SolveReport adjointReport;
  /// ∂L/∂θ for every trainable initializer, same layout as the parameter.
  std::map<std::string, Vector<T>> gradients;
  /// Batch mean and unbiased variance of every BN evaluated on batch
  /// statistics, for the running-statistics update.
  std::map<std::string, std::pair<Vector<T>, Vector<T>>> batchStatistics;
};

template <typename T> class Executor {
public:
  Executor();
  ~Executor();
  Executor(Executor &&);
  Executor &operator=(Executor &&);

  /// Validates `model` and loads its parameters.
  static Status create(const fsnn::model::ModelProto &model,
                       Executor &executor);

  /// Simulates the network on `input` (batch x per-sample elements).
  Status forward(const Matrix<T> &input, const RunOptions &options,
                 ForwardResult<T> &result);

  /// The exact equilibrium a* of the rate equation (the last layer's rates)
  /// for `input`, from a = 0.
  Status equilibrium(const Matrix<T> &input, const RunOptions &options,
                     const SolverSettings &solver, Matrix<T> &rates,
                     SolveReport &report);

  /// The mean softmax cross-entropy on `labels` and its implicit gradients.
  Status gradients(const Matrix<T> &input, const std::vector<int64_t> &labels,
                   const GradientOptions &options, GradientResult<T> &result);

  /// The loss at the exactly solved equilibrium, L(a*(θ)), for finite
  /// differences (the map of GradientPoint::ExactEquilibrium).
  Status lossAtEquilibrium(const Matrix<T> &input,
                           const std::vector<int64_t> &labels,
                           const RunOptions &options,
                           const SolverSettings &solver, double &loss);

  /// One power iteration of every SpectralWeight (u, v updated in place),
  /// as once per training forward pass (docs/method.md §4.1). Returns σ̂ per
  /// node.
  std::map<std::string, double> refreshSpectral();

  /// Initializers by name; changing values changes the model.
  std::map<std::string, Parameter<T>> &parameters();
  /// Names of the initializers that are trainable parameters.
  const std::vector<std::string> &trainable() const;
  /// Per-sample input elements, and the layer shapes of the feedback node.
  int64_t inputSize() const;
  const std::vector<std::vector<int64_t>> &layerShapes() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};

extern template class Executor<float>;
extern template class Executor<double>;

} // namespace fsnn::reference

#endif // FSNN_RUNTIME_REFERENCE_EXECUTOR_H
