//===- Zoo.cpp - the paper's architectures as model files -----------------===//

#include "training/zoo/Zoo.h"

#include "fsnnrt/hash.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

namespace fsnn::model {

namespace {

/// xoshiro256** seeded through splitmix64: the same stream on every platform
/// and standard library, unlike std::uniform_real_distribution.
class Random {
public:
  explicit Random(uint64_t seed) {
    for (uint64_t &word : state) {
      seed += FSNN_GOLDEN_GAMMA;
      word = fsnn_mix64(seed);
    }
  }
  uint64_t next() {
    uint64_t result = rotl(state[1] * 5, 7) * 9;
    uint64_t t = state[1] << 17;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 45);
    return result;
  }
  /// Uniform in [0, 1) with 53 random bits.
  double unit() { return (next() >> 11) * 0x1.0p-53; }
  double uniform(double low, double high) {
    return low + (high - low) * unit();
  }
  double normal() {
    double u1 = unit(), u2 = unit();
    return std::sqrt(-2.0 * std::log1p(-u1)) * std::cos(2 * M_PI * u2);
  }

private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state[4];
};

using Values = std::vector<double>;

/// Scales each group of elements selected by `groupOf` to unit L2 norm.
void normaliseGroups(Values &values, int64_t groups,
                     const std::function<int64_t(int64_t)> &groupOf) {
  std::vector<double> norms(groups, 0.0);
  for (int64_t i = 0; i < (int64_t)values.size(); ++i)
    norms[groupOf(i)] += values[i] * values[i];
  for (double &n : norms)
    n = std::sqrt(n);
  for (int64_t i = 0; i < (int64_t)values.size(); ++i)
    if (norms[groupOf(i)] > 0)
      values[i] /= norms[groupOf(i)];
}

void normalise(Values &v) {
  double norm = 0;
  for (double x : v)
    norm += x * x;
  norm = std::sqrt(norm);
  for (double &x : v)
    x /= std::max(norm, 1e-12);
}

/// σ(V) of V reshaped to dim0 x rest by power iteration.
double spectralNorm(const Values &weight, int64_t rows, Random &random,
                    int iterations) {
  int64_t columns = weight.size() / rows;
  Values u(rows), v(columns);
  for (double &x : u)
    x = random.normal();
  normalise(u);
  for (int it = 0; it < iterations; ++it) {
    for (int64_t c = 0; c < columns; ++c) {
      v[c] = 0;
      for (int64_t r = 0; r < rows; ++r)
        v[c] += weight[r * columns + c] * u[r];
    }
    normalise(v);
    for (int64_t r = 0; r < rows; ++r) {
      u[r] = 0;
      for (int64_t c = 0; c < columns; ++c)
        u[r] += weight[r * columns + c] * v[c];
    }
    normalise(u);
  }
  double sigma = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < columns; ++c)
      sigma += u[r] * weight[r * columns + c] * v[c];
  return sigma;
}

class Builder {
public:
  Builder(const ZooOptions &options, ModelProto &model)
      : options(options), random(options.seed), model(model) {}

  GraphProto &graph() { return *model.mutable_graph(); }

  void initializer(const std::string &name, const std::vector<int64_t> &dims,
                   const Values &values) {
    addInitializer(graph(), name, dims, options.dtype, values);
  }

  static void valueInfo(ValueInfoProto *info, const std::string &name,
                        const std::vector<int64_t> &shape,
                        TensorProto::DataType dtype) {
    setValueInfo(*info, name, shape, dtype);
  }

  static NodeProto *node(GraphProto &g, const std::string &op,
                         const std::string &name,
                         const std::vector<std::string> &inputs,
                         const std::vector<std::string> &outputs) {
    NodeProto *n = g.add_nodes();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto &i : inputs)
      n->add_inputs(i);
    for (const auto &o : outputs)
      n->add_outputs(o);
    return n;
  }
  static void attr(NodeProto *n, const std::string &name, int64_t value) {
    AttributeProto *a = n->add_attributes();
    a->set_name(name);
    a->set_i(value);
  }
  static void attr(NodeProto *n, const std::string &name, double value) {
    AttributeProto *a = n->add_attributes();
    a->set_name(name);
    a->set_f(value);
  }
  static void attr(NodeProto *n, const std::string &name, const char *value) {
    AttributeProto *a = n->add_attributes();
    a->set_name(name);
    a->set_s(value);
  }
  static void attr(NodeProto *n, const std::string &name,
                   const std::vector<int64_t> &values) {
    AttributeProto *a = n->add_attributes();
    a->set_name(name);
    for (int64_t v : values)
      a->mutable_ints()->add_values(v);
  }

  /// U(-1, 1) weights, each output unit scaled to unit norm. `outAxis` is 0
  /// for [out, in, ...] and 1 for transposed-conv [in, out, k, k].
  Values unitWeight(const std::vector<int64_t> &dims, int outAxis) {
    Values w(product(dims));
    for (double &x : w)
      x = random.uniform(-1, 1);
    int64_t inner =
        product(std::vector<int64_t>(dims.begin() + outAxis + 1, dims.end()));
    int64_t outs = dims[outAxis];
    normaliseGroups(w, outs, [=](int64_t i) { return (i / inner) % outs; });
    return w;
  }

  /// Adds `prefix.weight` (and bias) plus BN parameters and the node chain
  /// map-input -> linear/conv -> BN -> dropout in `map`; returns the output.
  std::string affineBlock(GraphProto &map, const std::string &prefix,
                          const std::string &in, const std::string &op,
                          const std::vector<int64_t> &weightDims,
                          const std::vector<int64_t> &strides,
                          const std::vector<int64_t> &pads) {
    int64_t out = weightDims[0];
    initializer(prefix + ".weight", weightDims, unitWeight(weightDims, 0));
    initializer(prefix + ".bias", {out}, Values(out, 0.0));
    NodeProto *n =
        node(map, op, prefix, {in, prefix + ".weight", prefix + ".bias"},
             {prefix + ".current"});
    if (op == "Conv2d") {
      attr(n, "strides", strides);
      attr(n, "pads", pads);
    }
    initializer(prefix + ".bn.gamma", {out}, Values(out, 1.0));
    initializer(prefix + ".bn.beta", {out}, Values(out, 0.0));
    initializer(prefix + ".bn.running_mean", {out}, Values(out, 0.0));
    initializer(prefix + ".bn.running_var", {out}, Values(out, 1.0));
    NodeProto *bn =
        node(map, "BatchNorm", prefix + ".bn",
             {prefix + ".current", prefix + ".bn.gamma", prefix + ".bn.beta",
              prefix + ".bn.running_mean", prefix + ".bn.running_var"},
             {prefix + ".normalised"});
    attr(bn, "epsilon", 1e-5);
    return dropout(map, prefix, prefix + ".normalised");
  }

  std::string dropout(GraphProto &map, const std::string &prefix,
                      const std::string &in) {
    NodeProto *d =
        node(map, "Dropout", prefix + ".dropout", {in}, {prefix + ".out"});
    attr(d, "rate", options.dropout);
    return prefix + ".out";
  }

  /// The spectrally reparameterised feedback weight `fb.weight`.
  void spectralWeight(const std::vector<int64_t> &dims, int outAxis) {
    Values v = unitWeight(dims, outAxis);
    int64_t rows = dims[0], columns = product(dims) / rows;
    double g = spectralNorm(v, rows, random, 10);
    Values u(rows), vv(columns);
    for (double &x : u)
      x = random.normal();
    for (double &x : vv)
      x = random.normal();
    normalise(u);
    normalise(vv);
    initializer("fb.v", dims, v);
    initializer("fb.g", {}, {g});
    initializer("fb.u", {rows}, u);
    initializer("fb.vvec", {columns}, vv);
    node(graph(), "SpectralWeight", "fb.spectral",
         {"fb.v", "fb.g", "fb.u", "fb.vvec"}, {"fb.weight"});
  }

  /// PyTorch's default Linear initialisation: U(±1/sqrt(fan_in)).
  void readout(const std::string &rates, int64_t features, int64_t classes,
               bool flatten) {
    std::string in = rates;
    if (flatten) {
      node(graph(), "Flatten", "readout.flatten", {rates}, {"readout.in"});
      in = "readout.in";
    }
    double bound = 1.0 / std::sqrt(double(features));
    Values w(features * classes), b(classes);
    for (double &x : w)
      x = random.uniform(-bound, bound);
    for (double &x : b)
      x = random.uniform(-bound, bound);
    initializer("readout.weight", {classes, features}, w);
    initializer("readout.bias", {classes}, b);
    node(graph(), "Linear", "readout", {in, "readout.weight", "readout.bias"},
         {"logits"});
    valueInfo(graph().add_outputs(), "logits", {classes}, options.dtype);
  }

  const ZooOptions &options;
  Random random;
  ModelProto &model;
};

struct Architecture {
  const char *name;
  const char *description;
  int64_t timeSteps;
  double leak;
  const char *solver;
};

const std::vector<Architecture> &architectures() {
  static const std::vector<Architecture> list = {
      {"fmnist-f400", "Fashion-MNIST 400 (F400)", 5, 0.95, "broyden"},
      {"mnist-64c5", "MNIST 64C5s (F64C5)", 30, 0.95, "broyden"},
      {"nmnist-64c5", "N-MNIST 64C5s (F64C5), pad 2", 30, 0.95, "fixed_point"},
      {"cifar10-alexnet-f", "CIFAR-10 AlexNet-F", 30, 0.99, "broyden"},
      {"cifar10-cifarnet-f", "CIFAR-10 CIFARNet-F", 30, 0.99, "broyden"},
      {"cifar100-alexnet-f", "CIFAR-100 AlexNet-F", 30, 0.99, "broyden"},
      {"cifar100-cifarnet-f", "CIFAR-100 CIFARNet-F", 30, 0.99, "broyden"},
  };
  return list;
}

} // namespace

const std::vector<std::string> &zooArchitectures() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Architecture &a : architectures())
      out.push_back(a.name);
    return out;
  }();
  return names;
}

Status createModel(const std::string &arch, const ZooOptions &options,
                   ModelProto &model) {
  const Architecture *spec = nullptr;
  for (const Architecture &a : architectures())
    if (arch == a.name)
      spec = &a;
  if (!spec) {
    std::string known;
    for (const std::string &name : zooArchitectures())
      known += (known.empty() ? "" : ", ") + name;
    return Status::error("unknown architecture '" + arch +
                         "'; expected one of: " + known);
  }
  if (options.neuron != "if" && options.neuron != "lif")
    return Status::error("--neuron must be 'if' or 'lif', got '" +
                         options.neuron + "'");
  double leak =
      options.neuron == "lif" ? options.leak.value_or(spec->leak) : 1.0;
  if (options.neuron == "if" && options.leak && *options.leak != 1.0)
    return Status::error("--leak applies to 'lif' neurons only");
  if (!(leak > 0 && leak <= 1))
    return Status::error("--leak must be in (0, 1], got " +
                         std::to_string(leak));
  int64_t timeSteps = options.timeSteps.value_or(spec->timeSteps);
  if (timeSteps < 1)
    return Status::error("--T must be >= 1, got " + std::to_string(timeSteps));
  if (!(options.threshold > 0) || !std::isfinite(options.threshold))
    return Status::error("--vth must be > 0");
  if (!(options.dropout >= 0 && options.dropout < 1))
    return Status::error("dropout must be in [0, 1)");
  if (options.channelDivisor < 1 || options.channelDivisor > 1024)
    return Status::error("--channel-divisor must be in [1, 1024], got " +
                         std::to_string(options.channelDivisor));
  auto width = [&](int64_t channels) {
    return (channels + options.channelDivisor - 1) / options.channelDivisor;
  };

  model.Clear();
  model.set_format_version(kFormatVersion);
  model.set_producer("fsnn-model");
  model.set_doc_string(
      std::string(spec->description) +
      (options.channelDivisor > 1
           ? ", channels / " + std::to_string(options.channelDivisor)
           : std::string()) +
      ", seed " + std::to_string(options.seed));
  Builder b(options, model);
  GraphProto &g = b.graph();
  g.set_name(arch);

  const std::string name = arch;
  bool fc = name == "fmnist-f400";
  bool nmnist = name == "nmnist-64c5";
  bool mnist = name == "mnist-64c5";
  bool cifar = !fc && !nmnist && !mnist;
  bool alexnet = name.find("alexnet") != std::string::npos;
  int64_t classes = name.rfind("cifar100", 0) == 0 ? 100 : 10;

  NodeProto *snn = nullptr;
  std::vector<std::vector<int64_t>> layerShapes;
  if (fc) {
    Builder::valueInfo(g.add_inputs(), "images", {784}, options.dtype);
    b.spectralWeight({width(400), width(400)}, 0);
  } else if (!cifar) {
    std::vector<int64_t> input =
        nmnist ? std::vector<int64_t>{timeSteps, 2, 34, 34}
               : std::vector<int64_t>{1, 28, 28};
    Builder::valueInfo(g.add_inputs(), nmnist ? "frames" : "images", input,
                       options.dtype);
    b.spectralWeight({width(64), width(64), 5, 5}, 0);
  } else {
    Builder::valueInfo(g.add_inputs(), "images", {3, 32, 32}, options.dtype);
    int64_t first = width(alexnet ? 96 : 128),
            last = width(alexnet ? 256 : 512);
    b.spectralWeight({last, first, 3, 3}, 1);
  }

  snn = Builder::node(g, "SpikingFeedback", "snn",
                      {nmnist ? "frames" : "images"}, {});
  Builder::attr(snn, "time_steps", timeSteps);
  Builder::attr(snn, "neuron", options.neuron.c_str());
  Builder::attr(snn, "threshold", options.threshold);
  if (options.neuron == "lif")
    Builder::attr(snn, "leak", leak);
  Builder::attr(snn, "input_kind", nmnist ? "spike_frames" : "static");
  Builder::attr(snn, "solver", spec->solver);
  Builder::attr(snn, "solver_iterations", int64_t(30));
  // Set once the last layer's size is known; here so that the attributes
  // are in the order the exporter writes them (a round trip is the same
  // file).
  AttributeProto *tolerance = snn->add_attributes();
  tolerance->set_name("solver_tolerance");
  AttributeProto *layers = snn->add_attributes();
  layers->set_name("layers");
  AttributeProto *feedback = snn->add_attributes();
  feedback->set_name("feedback");
  GraphProto *fbMap = feedback->mutable_graphs()->add_values();
  fbMap->set_name("feedback");

  auto addLayer =
      [&](const std::string &prefix, const std::vector<int64_t> &inShape,
          const char *op, const std::vector<int64_t> &weightDims,
          const std::vector<int64_t> &strides, const std::vector<int64_t> &pads,
          const std::vector<int64_t> &outShape) {
        GraphProto *map = layers->mutable_graphs()->add_values();
        map->set_name(prefix);
        Builder::valueInfo(map->add_inputs(), prefix + ".in", inShape,
                           options.dtype);
        std::string out = b.affineBlock(*map, prefix, prefix + ".in", op,
                                        weightDims, strides, pads);
        Builder::valueInfo(map->add_outputs(), out, outShape, options.dtype);
        layerShapes.push_back(outShape);
      };

  if (fc) {
    addLayer("f", {784}, "Linear", {width(400), 784}, {}, {}, {width(400)});
  } else if (!cifar) {
    int64_t hw = nmnist ? 17 : 14;
    addLayer("f",
             nmnist ? std::vector<int64_t>{2, 34, 34}
                    : std::vector<int64_t>{1, 28, 28},
             "Conv2d", {width(64), nmnist ? 2 : 1, 5, 5}, {2, 2}, {2, 2},
             {width(64), hw, hw});
  } else {
    std::vector<int64_t> channels =
        alexnet ? std::vector<int64_t>{96, 256, 384, 384, 256}
                : std::vector<int64_t>{128, 256, 512, 1024, 512};
    std::vector<int64_t> strides = {2, 1, 2, 1, 1};
    std::vector<int64_t> in = {3, 32, 32};
    for (int l = 0; l < 5; ++l) {
      int64_t hw = in[1] / strides[l];
      std::vector<int64_t> out = {width(channels[l]), hw, hw};
      addLayer("layer" + std::to_string(l + 1), in, "Conv2d",
               {out[0], in[0], 3, 3}, {strides[l], strides[l]}, {1, 1}, out);
      in = out;
    }
  }

  // The feedback map: from the last layer's spikes back to layer 1.
  Builder::valueInfo(fbMap->add_inputs(), "fb.in", layerShapes.back(),
                     options.dtype);
  NodeProto *fbNode;
  if (fc) {
    fbNode = Builder::node(*fbMap, "Linear", "fb", {"fb.in", "fb.weight"},
                           {"fb.current"});
  } else if (!cifar) {
    fbNode = Builder::node(*fbMap, "Conv2d", "fb", {"fb.in", "fb.weight"},
                           {"fb.current"});
    Builder::attr(fbNode, "strides", std::vector<int64_t>{1, 1});
    Builder::attr(fbNode, "pads", std::vector<int64_t>{2, 2});
  } else {
    fbNode = Builder::node(*fbMap, "ConvTranspose2d", "fb",
                           {"fb.in", "fb.weight"}, {"fb.current"});
    Builder::attr(fbNode, "strides", std::vector<int64_t>{2, 2});
    Builder::attr(fbNode, "pads", std::vector<int64_t>{1, 1});
    Builder::attr(fbNode, "output_padding", std::vector<int64_t>{1, 1});
  }
  std::string fbOut = b.dropout(*fbMap, "fb", "fb.current");
  Builder::valueInfo(fbMap->add_outputs(), fbOut, layerShapes.front(),
                     options.dtype);

  int numLayers = static_cast<int>(layerShapes.size());
  for (int l = 0; l < numLayers; ++l)
    snn->add_outputs("snn.rate" + std::to_string(l + 1));
  for (int l = 0; l < numLayers; ++l)
    snn->add_outputs("snn.count" + std::to_string(l + 1));

  int64_t features = product(layerShapes.back());
  // The adjoint stops where the paper's code does: its global criterion
  // |r| < 2e-10 sqrt(batch x features), per sample (docs/method.md §3.3).
  tolerance->set_f(2e-10 * std::sqrt(double(features)));
  b.readout("snn.rate" + std::to_string(numLayers), features, classes,
            /*flatten=*/!fc);
  Builder::valueInfo(g.add_outputs(), "snn.count" + std::to_string(numLayers),
                     layerShapes.back(), TensorProto::INT32);
  return Status();
}

Status createModelFile(const std::string &arch, const ZooOptions &options,
                       const std::string &path, ModelInfo &info) {
  ModelProto model;
  if (Status status = createModel(arch, options, model))
    return status;
  if (Status status = validateModel(model, info))
    return Status::error("internal error: the created model is invalid: " +
                         status.message());
  return saveModel(model, path);
}

} // namespace fsnn::model
