//===- Solvers.h - per-sample fixed-point, Broyden and Anderson -*- C++ -*-===//
//
// Each solves v = G(v) for every sample (row) of a batch; G is applied to the
// whole batch at once, but convergence, the Broyden inverse-Jacobian estimate
// and the best iterate are per sample.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_RUNTIME_REFERENCE_SOLVERS_H
#define FSNN_RUNTIME_REFERENCE_SOLVERS_H

#include "runtime/reference/Kernels.h"

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace fsnn::reference {

enum class SolverKind { Broyden, FixedPoint, Anderson };

struct SolverSettings {
  SolverKind kind = SolverKind::Broyden;
  int maxIterations = 30;
  /// A sample stops when its residual norm |G(v) - v| is below this.
  double tolerance = 0.0;
  /// Broyden keeps this many rank-one updates (the paper's code: 27).
  int broydenMemory = 27;
  /// The code's quirk (docs/method.md §3.3): Broyden's first step is -r, not
  /// the Newton step +r of H0 = -I. Used for the adjoint to match the paper.
  bool broydenFirstStepNegative = false;
  int andersonMemory = 5;
  double andersonRegularization = 1e-10;
  /// Stop when the global residual exceeds this multiple of the initial one.
  double protectFactor = 1e6;
};

/// The solver a model names (`solver` of its SpikingFeedback node).
inline bool parseSolverKind(const std::string &name, SolverKind &kind) {
  if (name == "broyden")
    kind = SolverKind::Broyden;
  else if (name == "fixed_point")
    kind = SolverKind::FixedPoint;
  else if (name == "anderson")
    kind = SolverKind::Anderson;
  else
    return false;
  return true;
}

struct SolveReport {
  int iterations = 0;
  /// Global residual norm before each step, the initial one first.
  std::vector<double> trace;
  /// Per-sample residual norm of the returned iterate.
  std::vector<double> residual;
  /// Samples whose residual is not finite, or above a positive tolerance.
  int64_t unconverged = 0;
};

template <typename T>
using BatchMap = std::function<Matrix<T>(const Matrix<T> &)>;

/// Solves v = G(v) from `initial`; returns each sample's best iterate.
template <typename T>
Matrix<T> solve(const BatchMap<T> &G, const Matrix<T> &initial,
                const SolverSettings &settings, SolveReport &report) {
  const int64_t batch = initial.rows(), dim = initial.cols();
  Matrix<T> v = initial;
  Matrix<T> r = G(v) - v;
  Matrix<T> best = v;
  std::vector<double> bestNorm(batch);
  std::vector<bool> active(batch, true);
  report = SolveReport();
  auto record = [&]() {
    report.trace.push_back(double(r.norm()));
    for (int64_t n = 0; n < batch; ++n) {
      double norm = double(r.row(n).norm());
      if (norm < bestNorm[n]) {
        bestNorm[n] = norm;
        best.row(n) = v.row(n);
      }
      if (norm < settings.tolerance)
        active[n] = false;
    }
  };
  for (int64_t n = 0; n < batch; ++n)
    bestNorm[n] = std::numeric_limits<double>::infinity();
  record();
  double initialNorm = report.trace.front();

  // Broyden state: H = -I + sum_k U[:, k] Vt[:, k]ᵀ per sample.
  const int memory =
      std::max(1, std::min(settings.broydenMemory, settings.maxIterations));
  std::vector<Matrix<T>> U, Vt;
  std::vector<int> updates(batch, 0);
  if (settings.kind == SolverKind::Broyden) {
    U.assign(batch, Matrix<T>::Zero(dim, memory));
    Vt.assign(batch, Matrix<T>::Zero(dim, memory));
  }
  auto applyH = [&](int64_t n, const Vector<T> &x) -> Vector<T> {
    int k = std::min(updates[n], memory);
    return -x + U[n].leftCols(k) * (Vt[n].leftCols(k).transpose() * x);
  };
  auto applyHt = [&](int64_t n, const Vector<T> &x) -> Vector<T> {
    int k = std::min(updates[n], memory);
    return -x + Vt[n].leftCols(k) * (U[n].leftCols(k).transpose() * x);
  };
  Matrix<T> step;
  if (settings.kind == SolverKind::Broyden)
    step = settings.broydenFirstStepNegative ? Matrix<T>(-r) : r;

  // Anderson history per sample: iterates X and map values F.
  std::vector<std::vector<Vector<T>>> historyX(batch), historyF(batch);

  for (int it = 0; it < settings.maxIterations; ++it) {
    bool any = false;
    for (int64_t n = 0; n < batch; ++n)
      any = any || active[n];
    if (!any)
      break;
    Matrix<T> next = v;
    if (settings.kind == SolverKind::FixedPoint) {
      next = v + r; // = G(v)
    } else if (settings.kind == SolverKind::Broyden) {
      next = v + step;
    } else {
      for (int64_t n = 0; n < batch; ++n) {
        if (!active[n])
          continue;
        Vector<T> x = v.row(n).transpose(),
                  f = (v.row(n) + r.row(n)).transpose();
        historyX[n].push_back(x);
        historyF[n].push_back(f);
        if ((int)historyX[n].size() > settings.andersonMemory) {
          historyX[n].erase(historyX[n].begin());
          historyF[n].erase(historyF[n].begin());
        }
        int m = historyX[n].size();
        // min |sum a_i R_i| subject to sum a_i = 1, by the normal equations.
        Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic> gram(m, m);
        for (int i = 0; i < m; ++i)
          for (int j = 0; j < m; ++j)
            gram(i, j) = double((historyF[n][i] - historyX[n][i])
                                    .dot(historyF[n][j] - historyX[n][j]));
        gram += settings.andersonRegularization * (1.0 + gram.trace()) *
                Eigen::MatrixXd::Identity(m, m);
        Eigen::VectorXd ones = Eigen::VectorXd::Ones(m);
        Eigen::VectorXd alpha = gram.ldlt().solve(ones);
        alpha /= alpha.sum();
        Vector<T> mixed = Vector<T>::Zero(dim);
        for (int i = 0; i < m; ++i)
          mixed += T(alpha(i)) * historyF[n][i];
        next.row(n) = mixed.transpose();
      }
    }
    // Finished samples keep their iterate.
    for (int64_t n = 0; n < batch; ++n)
      if (!active[n])
        next.row(n) = v.row(n);
    Matrix<T> rNext = G(next) - next;
    Matrix<T> dv = next - v, dr = rNext - r;
    v = next;
    r = rNext;
    report.iterations = it + 1;
    record();
    if (report.trace.back() > settings.protectFactor * initialNorm)
      break;
    if (settings.kind == SolverKind::Broyden) {
      for (int64_t n = 0; n < batch; ++n) {
        if (!active[n])
          continue;
        Vector<T> dvn = dv.row(n).transpose(), drn = dr.row(n).transpose();
        Vector<T> w = applyHt(n, dvn);
        T denominator = w.dot(drn);
        Vector<T> u = (dvn - applyH(n, drn)) / denominator;
        for (int64_t i = 0; i < dim; ++i) {
          if (!std::isfinite(double(u(i))))
            u(i) = 0;
          if (!std::isfinite(double(w(i))))
            w(i) = 0;
        }
        int slot = updates[n] % memory;
        U[n].col(slot) = u;
        Vt[n].col(slot) = w;
        ++updates[n];
        step.row(n) = -applyH(n, r.row(n).transpose()).transpose();
      }
    }
  }
  report.residual.assign(bestNorm.begin(), bestNorm.end());
  report.unconverged = 0;
  for (double norm : bestNorm)
    if (!std::isfinite(norm) ||
        (settings.tolerance > 0 && norm > settings.tolerance))
      ++report.unconverged;
  return best;
}

} // namespace fsnn::reference

#endif // FSNN_RUNTIME_REFERENCE_SOLVERS_H
