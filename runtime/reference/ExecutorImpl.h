//===- ExecutorImpl.h - the reference executor's state and steps -*- C++ -*-//
//
// Executor<T>::Impl: the validated model, its parameters, and the
// simulation, maps, tapes and backward steps that Executor.cpp's public
// methods compose. Included by Executor.cpp only.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_RUNTIME_REFERENCE_EXECUTORIMPL_H
#define FSNN_RUNTIME_REFERENCE_EXECUTORIMPL_H

#include "runtime/reference/Executor.h"

#include "fsnnrt/dropout.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

namespace fsnn::reference {

namespace executor_detail {
namespace fm = fsnn::model;
using fm::product;

/// Which statistics a batch norm uses in one evaluation.
enum class BnMode {
  Running, ///< the node's running_mean / running_var
  Batch,   ///< the batch's own (and reported for the running update)
  Fixed,   ///< given statistics (spike-frame training, docs/method.md §1.7)
};

const fm::AttributeProto *attribute(const fm::NodeProto &node,
                                    const char *name) {
  return fm::findAttribute(node, name);
}

std::vector<int64_t> ints(const fm::NodeProto &node, const char *name,
                          std::vector<int64_t> fallback) {
  const fm::AttributeProto *attr = attribute(node, name);
  if (!attr)
    return fallback;
  return {attr->ints().values().begin(), attr->ints().values().end()};
}

} // namespace executor_detail

using namespace executor_detail;

template <typename T> struct Executor<T>::Impl {
  // The model ---------------------------------------------------------------
  fm::ModelProto model;
  fm::ModelInfo info;
  const fm::NodeProto *feedbackNode = nullptr;
  std::vector<const fm::GraphProto *> layerMaps;
  const fm::GraphProto *feedbackMap = nullptr;
  int64_t timeSteps = 1;
  double threshold = 2.0, leak = 1.0;
  bool resetToZero = false, spikeFrames = false;
  std::vector<std::vector<int64_t>> layerShapes;
  std::map<std::string, Parameter<T>> params;
  /// SpectralWeight outputs, recomputed from V, g, u, v before every use.
  std::map<std::string, Parameter<T>> derived;
  std::map<std::string, double> sigma;
  std::vector<std::string> trainable;
  /// Dropout node name -> (stream, rate), streams numbered as the importer
  /// numbers them, so every backend draws the same masks.
  std::map<std::string, std::pair<uint64_t, double>> dropouts;

  // One evaluation's settings
  // --------------------------------------------------
  struct Context {
    std::map<std::string, BnMode> bnModes;
    BnMode defaultBn = BnMode::Running;
    std::map<std::string, std::pair<Vector<T>, Vector<T>>> fixedStats;
    const std::map<std::string, Matrix<T>> *masks = nullptr;
    std::map<std::string, std::pair<Vector<T>, Vector<T>>> *batchStats =
        nullptr;
  };
  struct TapeEntry {
    const fm::NodeProto *node;
    Matrix<T> x;
    BnMode bn = BnMode::Running;
    Vector<T> mean, invStd;
  };
  using Tape = std::vector<TapeEntry>;
  using Grads = std::map<std::string, Vector<T>>;

  const Parameter<T> &param(const std::string &name) const {
    auto it = derived.find(name);
    return it != derived.end() ? it->second : params.at(name);
  }
  const std::vector<int64_t> &shapeOf(const std::string &name) const {
    return info.allValues.at(name).shape;
  }
  Vector<T> &gradFor(Grads &grads, const std::string &name) {
    auto it = grads.find(name);
    if (it == grads.end())
      it =
          grads.emplace(name, Vector<T>::Zero(param(name).values.size())).first;
    return it->second;
  }

  ConvGeometry convGeometry(const fm::NodeProto &node, bool transposed) {
    const std::vector<int64_t> &in = shapeOf(node.inputs(0));
    const std::vector<int64_t> &out = shapeOf(node.outputs(0));
    const std::vector<int64_t> &w = param(node.inputs(1)).dims;
    std::vector<int64_t> strides = ints(node, "strides", {1, 1});
    std::vector<int64_t> pads = ints(node, "pads", {0, 0});
    // A transposed conv is the adjoint of the conv from its output to its
    // input, so that conv's geometry describes it.
    const std::vector<int64_t> &image = transposed ? out : in;
    const std::vector<int64_t> &result = transposed ? in : out;
    return ConvGeometry{image[0], image[1],   image[2],   w[2],
                        w[3],     strides[0], strides[1], pads[0],
                        pads[1],  result[1],  result[2]};
  }

  /// The dropout mask of a node in this evaluation, or null (inference).
  static const Matrix<T> *maskFor(const Context &ctx, const std::string &name) {
    if (!ctx.masks)
      return nullptr;
    auto it = ctx.masks->find(name);
    return it == ctx.masks->end() ? nullptr : &it->second;
  }

  // Maps
  // ------------------------------------------------------------------------
  Matrix<T> evalNode(const fm::NodeProto &node, const Matrix<T> &x,
                     Context &ctx, Tape *tape) {
    const std::string &op = node.op_type();
    TapeEntry entry{&node, tape ? x : Matrix<T>()};
    Matrix<T> y;
    auto bias = [&](int index) -> const Vector<T> * {
      if (node.inputs_size() <= index)
        return nullptr;
      return &param(node.inputs(index)).values;
    };
    if (op == "Linear") {
      y = linearForward<T>(x, param(node.inputs(1)).matrix(), bias(2));
    } else if (op == "Conv2d") {
      y = conv2dForward<T>(x, param(node.inputs(1)).matrix(), bias(2),
                           convGeometry(node, false));
    } else if (op == "ConvTranspose2d") {
      y = convTranspose2dForward<T>(x, param(node.inputs(1)).matrix(), bias(2),
                                    convGeometry(node, true));
    } else if (op == "BatchNorm") {
      const Vector<T> &gamma = param(node.inputs(1)).values;
      const Vector<T> &beta = param(node.inputs(2)).values;
      const fm::AttributeProto *eps = attribute(node, "epsilon");
      T epsilon = T(eps ? eps->f() : 1e-5);
      auto found = ctx.bnModes.find(node.name());
      BnMode mode = found != ctx.bnModes.end() ? found->second : ctx.defaultBn;
      Vector<T> mean, invStd;
      if (mode == BnMode::Running) {
        mean = param(node.inputs(3)).values;
        invStd = (param(node.inputs(4)).values.array() + epsilon).rsqrt();
      } else if (mode == BnMode::Fixed) {
        mean = ctx.fixedStats.at(node.name()).first;
        invStd = ctx.fixedStats.at(node.name()).second;
      } else {
        Vector<T> variance;
        channelMoments<T>(x, gamma.size(), mean, variance);
        invStd = (variance.array() + epsilon).rsqrt();
        if (ctx.batchStats) {
          double count = double(x.rows()) * (x.cols() / gamma.size());
          Vector<T> unbiased = variance * T(count / std::max(1.0, count - 1.0));
          (*ctx.batchStats)[node.name()] = {mean, unbiased};
        }
      }
      y = normalizeForward<T>(x, gamma, beta, mean, invStd);
      entry.bn = mode;
      entry.mean = mean;
      entry.invStd = invStd;
    } else if (op == "Dropout") {
      const Matrix<T> *mask = maskFor(ctx, node.name());
      y = mask ? Matrix<T>(x.cwiseProduct(*mask)) : x;
    } else if (op == "Flatten") {
      y = x;
    } else if (op == "AvgPool2d") {
      const std::vector<int64_t> &in = shapeOf(node.inputs(0));
      const std::vector<int64_t> &out = shapeOf(node.outputs(0));
      std::vector<int64_t> kernel = ints(node, "kernel", {1, 1});
      std::vector<int64_t> strides = ints(node, "strides", kernel);
      y = avgPoolForward<T>(x, in[0], in[1], in[2], kernel[0], kernel[1],
                            strides[0], strides[1], out[1], out[2]);
    }
    if (tape)
      tape->push_back(std::move(entry));
    return y;
  }

  Matrix<T> backNode(const TapeEntry &entry, const Matrix<T> &dy, Context &ctx,
                     Grads *grads) {
    const fm::NodeProto &node = *entry.node;
    const std::string &op = node.op_type();
    auto gradMatrix = [&](int index,
                          std::optional<Matrix<T>> &holder) -> Matrix<T> * {
      if (!grads)
        return nullptr;
      const Parameter<T> &p = param(node.inputs(index));
      holder = Matrix<T>::Zero(p.matrix().rows(), p.matrix().cols());
      return &*holder;
    };
    auto flush = [&](int index, std::optional<Matrix<T>> &holder) {
      if (grads && holder)
        gradFor(*grads, node.inputs(index)) +=
            Eigen::Map<const Vector<T>>(holder->data(), holder->size());
    };
    auto biasGrad = [&](int index) -> Vector<T> * {
      if (!grads || node.inputs_size() <= index)
        return nullptr;
      return &gradFor(*grads, node.inputs(index));
    };
    std::optional<Matrix<T>> dWeight;
    Matrix<T> dx;
    if (op == "Linear") {
      dx = linearBackward<T>(entry.x, param(node.inputs(1)).matrix(), dy,
                             gradMatrix(1, dWeight), biasGrad(2));
      flush(1, dWeight);
    } else if (op == "Conv2d") {
      dx = conv2dBackward<T>(entry.x, param(node.inputs(1)).matrix(), dy,
                             convGeometry(node, false), gradMatrix(1, dWeight),
                             biasGrad(2));
      flush(1, dWeight);
    } else if (op == "ConvTranspose2d") {
      dx = convTranspose2dBackward<T>(entry.x, param(node.inputs(1)).matrix(),
                                      dy, convGeometry(node, true),
                                      gradMatrix(1, dWeight), biasGrad(2));
      flush(1, dWeight);
    } else if (op == "BatchNorm") {
      const Vector<T> &gamma = param(node.inputs(1)).values;
      Vector<T> *dGamma = grads ? &gradFor(*grads, node.inputs(1)) : nullptr;
      Vector<T> *dBeta = grads ? &gradFor(*grads, node.inputs(2)) : nullptr;
      dx = batchNormBackward<T>(entry.x, dy, gamma, entry.mean, entry.invStd,
                                entry.bn == BnMode::Batch, dGamma, dBeta);
    } else if (op == "Dropout") {
      const Matrix<T> *mask = maskFor(ctx, node.name());
      dx = mask ? Matrix<T>(dy.cwiseProduct(*mask)) : dy;
    } else if (op == "Flatten") {
      dx = dy;
    } else if (op == "AvgPool2d") {
      const std::vector<int64_t> &in = shapeOf(node.inputs(0));
      const std::vector<int64_t> &out = shapeOf(node.outputs(0));
      std::vector<int64_t> kernel = ints(node, "kernel", {1, 1});
      std::vector<int64_t> strides = ints(node, "strides", kernel);
      dx = avgPoolBackward<T>(dy, in[0], in[1], in[2], kernel[0], kernel[1],
                              strides[0], strides[1], out[1], out[2]);
    }
    return dx;
  }

  /// Evaluates a list of single-input activation nodes; `values` holds the
  /// activations by name (a map's input, or the top-level ones).
  void evalNodes(const google::protobuf::RepeatedPtrField<fm::NodeProto> &nodes,
                 std::map<std::string, Matrix<T>> &values, Context &ctx,
                 Tape *tape) {
    for (const fm::NodeProto &node : nodes)
      values[node.outputs(0)] =
          evalNode(node, values.at(node.inputs(0)), ctx, tape);
  }

  Matrix<T> evalMap(const fm::GraphProto &map, const Matrix<T> &input,
                    Context &ctx, Tape *tape) {
    std::map<std::string, Matrix<T>> values;
    values[map.inputs(0).name()] = input;
    evalNodes(map.nodes(), values, ctx, tape);
    return values.at(map.outputs(0).name());
  }

  /// Back-propagates `dOut` (the gradient of `output`) through a tape;
  /// returns the gradient of `input`.
  Matrix<T> backTape(const Tape &tape, const std::string &input,
                     const std::string &output, const Matrix<T> &dOut,
                     Context &ctx, Grads *grads) {
    std::map<std::string, Matrix<T>> d;
    d[output] = dOut;
    for (auto entry = tape.rbegin(); entry != tape.rend(); ++entry) {
      auto dy = d.find(entry->node->outputs(0));
      if (dy == d.end())
        continue;
      Matrix<T> dx = backNode(*entry, dy->second, ctx, grads);
      const std::string &name = entry->node->inputs(0);
      auto existing = d.find(name);
      if (existing == d.end())
        d.emplace(name, std::move(dx));
      else
        existing->second += dx;
    }
    auto it = d.find(input);
    return it == d.end() ? Matrix<T>::Zero(dOut.rows(), 0) : it->second;
  }

  // Spectral reparameterisation
  // -------------------------------------------------
  void computeDerived() {
    for (int index : info.order) {
      const fm::NodeProto &node = model.graph().nodes(index);
      if (node.op_type() != "SpectralWeight")
        continue;
      const Parameter<T> &V = params.at(node.inputs(0));
      T g = params.at(node.inputs(1)).values(0);
      const Vector<T> &u = params.at(node.inputs(2)).values;
      const Vector<T> &v = params.at(node.inputs(3)).values;
      T s = u.dot(V.matrix() * v);
      sigma[node.name()] = double(s);
      T scale = std::clamp(g, T(-1), T(1)) / s;
      derived[node.outputs(0)] = Parameter<T>{V.dims, V.values * scale};
    }
  }

  void spectralBackward(Grads &grads) {
    for (int index : info.order) {
      const fm::NodeProto &node = model.graph().nodes(index);
      if (node.op_type() != "SpectralWeight")
        continue;
      auto dW = grads.find(node.outputs(0));
      if (dW == grads.end())
        continue;
      const Parameter<T> &V = params.at(node.inputs(0));
      T g = params.at(node.inputs(1)).values(0);
      const Vector<T> &u = params.at(node.inputs(2)).values;
      const Vector<T> &v = params.at(node.inputs(3)).values;
      T s = T(sigma.at(node.name()));
      T c = std::clamp(g, T(-1), T(1));
      T inner = dW->second.dot(V.values); // Σ dW ⊙ V
      // W = c V / σ with σ = uᵀ V v: dV = c/σ dW - c/σ² (Σ dW⊙V) u vᵀ.
      Matrix<T> outer = u * v.transpose();
      Vector<T> dV = (c / s) * dW->second -
                     (c * inner / (s * s)) * Eigen::Map<const Vector<T>>(
                                                 outer.data(), outer.size());
      gradFor(grads, node.inputs(0)) += dV;
      // The clamp passes the gradient inside [-1, 1] (both ends included).
      if (g >= T(-1) && g <= T(1))
        gradFor(grads, node.inputs(1))(0) += inner / s;
      grads.erase(dW);
    }
  }

  // Masks
  // -------------------------------------------------------------------------
  std::map<std::string, Matrix<T>> makeMasks(int64_t batch, uint64_t seed) {
    std::map<std::string, Matrix<T>> masks;
    for (const auto &[name, streamRate] : dropouts) {
      // The mask has the shape of the dropout's output.
      int64_t features = product(dropoutShapes.at(name));
      Matrix<T> mask(batch, features);
      uint64_t index = 0;
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t f = 0; f < features; ++f)
          mask(n, f) = T(fsnn_dropout_mask_value(seed, streamRate.first,
                                                 index++, streamRate.second));
      masks.emplace(name, std::move(mask));
    }
    return masks;
  }
  std::map<std::string, std::vector<int64_t>> dropoutShapes;

  // The equilibrium map
  // ------------------------------------------------------------
  /// The tapes of one evaluation of f: the feedback map, then layer maps
  /// 2..N, with the pre-clamp values of each layer.
  struct FTape {
    Tape feedback;
    std::vector<Tape> layers; // index l for layer l + 1 (0 unused)
    std::vector<Matrix<T>> z; // pre-clamp, per layer
  };

  Matrix<T> clampRate(const Matrix<T> &z) {
    return z.cwiseMax(T(0)).cwiseMin(T(1));
  }

  /// f(a) = the last layer's rates after one pass around the loop, for the
  /// input current `current` of layer 1 (docs/method.md §2.1, §2.3).
  Matrix<T> evalF(const Matrix<T> &a, const Matrix<T> &current, Context &ctx,
                  FTape *tape) {
    int numLayers = layerMaps.size();
    if (tape) {
      tape->layers.assign(numLayers, Tape());
      tape->z.assign(numLayers, Matrix<T>());
    }
    Matrix<T> z =
        (evalMap(*feedbackMap, a, ctx, tape ? &tape->feedback : nullptr) +
         current) /
        T(threshold);
    if (tape)
      tape->z[0] = z;
    Matrix<T> rate = clampRate(z);
    for (int l = 1; l < numLayers; ++l) {
      z = evalMap(*layerMaps[l], rate, ctx, tape ? &tape->layers[l] : nullptr) /
          T(threshold);
      if (tape)
        tape->z[l] = z;
      rate = clampRate(z);
    }
    return rate;
  }

  Matrix<T> clampBackward(const Matrix<T> &z, const Matrix<T> &d) {
    // σ'(z/V_th) = 1 on [0, 1], both ends included (docs/method.md §3.6).
    Matrix<T> out = d / T(threshold);
    for (int64_t i = 0; i < z.size(); ++i)
      if (!(z.data()[i] >= T(0) && z.data()[i] <= T(1)))
        out.data()[i] = 0;
    return out;
  }

  /// Back-propagates dOut (w.r.t. f's output) through an evaluation of f.
  /// Returns ∂/∂a; `dCurrent` receives ∂/∂(layer-1 input current).
  Matrix<T> backF(const FTape &tape, const Matrix<T> &dOut, Context &ctx,
                  Grads *grads, Matrix<T> *dCurrent) {
    int numLayers = layerMaps.size();
    Matrix<T> d = dOut;
    for (int l = numLayers - 1; l >= 1; --l) {
      Matrix<T> dz = clampBackward(tape.z[l], d);
      d = backTape(tape.layers[l], layerMaps[l]->inputs(0).name(),
                   layerMaps[l]->outputs(0).name(), dz, ctx, grads);
    }
    Matrix<T> dz = clampBackward(tape.z[0], d);
    if (dCurrent)
      *dCurrent = dz;
    return backTape(tape.feedback, feedbackMap->inputs(0).name(),
                    feedbackMap->outputs(0).name(), dz, ctx, grads);
  }

  // Simulation
  // --------------------------------------------------------------------
  /// The per-sample frames of a spike-frame input: frame t of every sample.
  Matrix<T> frame(const Matrix<T> &input, int64_t t) {
    int64_t size = input.cols() / timeSteps;
    return input.middleCols(t * size, size);
  }

  /// x*: the input, or the (λ-weighted) time average of the frames.
  Matrix<T> averagedInput(const Matrix<T> &input) {
    if (!spikeFrames)
      return input;
    Matrix<T> sum = Matrix<T>::Zero(input.rows(), input.cols() / timeSteps);
    T norm = 0, weight = 1;
    for (int64_t t = timeSteps - 1; t >= 0; --t) {
      sum += weight * frame(input, t);
      norm += weight;
      weight *= T(leak);
    }
    return sum / norm;
  }

  void simulate(const Matrix<T> &input, int64_t steps, Context &layer1Ctx,
                Context &ctx, std::vector<Matrix<T>> &rates,
                std::vector<Matrix<T>> &counts,
                std::vector<std::vector<Matrix<T>>> *trains = nullptr,
                std::vector<double> *margins = nullptr) {
    int numLayers = layerMaps.size();
    int64_t batch = input.rows();
    std::vector<Matrix<T>> u(numLayers), s(numLayers), acc(numLayers);
    counts.assign(numLayers, Matrix<T>());
    for (int l = 0; l < numLayers; ++l) {
      int64_t n = product(layerShapes[l]);
      u[l] = s[l] = acc[l] = counts[l] = Matrix<T>::Zero(batch, n);
    }
    if (trains)
      trains->assign(numLayers, {});
    if (margins)
      margins->assign(batch, std::numeric_limits<double>::infinity());
    Matrix<T> staticCurrent;
    if (!spikeFrames)
      staticCurrent = evalMap(*layerMaps[0], input, layer1Ctx, nullptr);
    const T vth = T(threshold), lambda = T(leak);
    for (int64_t t = 0; t < steps; ++t) {
      for (int l = 0; l < numLayers; ++l) {
        Matrix<T> v = u[l];
        if (l == 0) {
          v += spikeFrames
                   ? evalMap(*layerMaps[0], frame(input, t), layer1Ctx, nullptr)
                   : staticCurrent;
          // Feedback uses the last layer's spikes of the previous step.
          if (t > 0)
            v += evalMap(*feedbackMap, s[numLayers - 1], ctx, nullptr);
        } else {
          v += evalMap(*layerMaps[l], s[l - 1], ctx, nullptr);
        }
        Matrix<T> spikes = (v.array() >= vth).template cast<T>().matrix();
        if (margins)
          for (int64_t n = 0; n < batch; ++n)
            (*margins)[n] =
                std::min((*margins)[n],
                         double((v.row(n).array() - vth).abs().minCoeff()));
        // For the multi-layer model, layer N's previous spikes must stay
        // available to layer 1 until this step's layer N fires, which it does
        // last; layers 2..N read this step's spikes of the layer before.
        s[l] = spikes;
        u[l] = resetToZero
                   ? Matrix<T>(v.cwiseProduct((T(1) - spikes.array()).matrix()))
                   : Matrix<T>(v - vth * spikes);
        u[l] *= lambda;
        acc[l] = lambda * acc[l] + spikes;
        counts[l] += spikes;
        if (trains)
          (*trains)[l].push_back(spikes);
      }
    }
    T normaliser = 0, weight = 1;
    for (int64_t t = 0; t < steps; ++t) {
      normaliser += weight;
      weight *= lambda;
    }
    rates.assign(numLayers, Matrix<T>());
    for (int l = 0; l < numLayers; ++l)
      rates[l] = acc[l] / normaliser;
  }

  /// The context of the layer-1 map during the simulation in training:
  /// batch statistics of F(x) for static input; for spike frames, statistics
  /// of F(time-averaged input) with std = sqrt(unbiased var + 1e-8).
  void trainingLayer1Context(const Matrix<T> &input, Context &ctx) {
    for (const fm::NodeProto &node : layerMaps[0]->nodes())
      if (node.op_type() == "BatchNorm")
        ctx.bnModes[node.name()] = BnMode::Batch;
    if (!spikeFrames)
      return;
    std::map<std::string, std::pair<Vector<T>, Vector<T>>> stats;
    Context probe = ctx;
    probe.batchStats = &stats;
    evalMap(*layerMaps[0], averagedInput(input), probe, nullptr);
    for (auto &[name, meanVar] : stats) {
      ctx.bnModes[name] = BnMode::Fixed;
      ctx.fixedStats[name] = {meanVar.first,
                              (meanVar.second.array() + T(1e-8)).rsqrt()};
    }
  }

  // Readout
  // -----------------------------------------------------------------------
  /// Evaluates the top-level nodes after the SpikingFeedback node from the
  /// last layer's rates; returns the first graph output (the logits).
  Matrix<T> readout(const Matrix<T> &rates, Context &ctx, Tape *tape) {
    std::map<std::string, Matrix<T>> values;
    values[feedbackNode->outputs(layerMaps.size() - 1)] = rates;
    bool after = false;
    for (int index : info.order) {
      const fm::NodeProto &node = model.graph().nodes(index);
      if (&node == feedbackNode) {
        after = true;
        continue;
      }
      if (!after || node.op_type() == "SpectralWeight")
        continue;
      values[node.outputs(0)] =
          evalNode(node, values.at(node.inputs(0)), ctx, tape);
    }
    return values.at(model.graph().outputs(0).name());
  }

  static double crossEntropy(const Matrix<T> &logits,
                             const std::vector<int64_t> &labels,
                             Matrix<T> &dLogits) {
    int64_t batch = logits.rows();
    dLogits.resize(logits.rows(), logits.cols());
    double loss = 0;
    for (int64_t n = 0; n < batch; ++n) {
      T maxLogit = logits.row(n).maxCoeff();
      auto shifted = (logits.row(n).array() - maxLogit).exp();
      T sum = shifted.sum();
      loss -= double(logits(n, labels[n]) - maxLogit - std::log(sum));
      dLogits.row(n) = (shifted / sum).matrix();
      dLogits(n, labels[n]) -= T(1);
    }
    dLogits /= T(batch);
    return loss / batch;
  }
};

} // namespace fsnn::reference

#endif // FSNN_RUNTIME_REFERENCE_EXECUTORIMPL_H
