//===- NirImport.cpp - NIR graphs as fsnn models --------------------------===//
//
// A NIR graph imports when it is what fsnn simulates: an input, a chain of
// maps (Affine, Linear, Conv2d, Flatten, pooling) into each spiking layer
// (IF, LIF, or CubaLIF whose synapse is instantaneous), layer after layer,
// at most one recurrent edge from the last layer back to the first, and a
// readout (Affine, Linear, Flatten, or none) from the last layer to the
// output. The continuous-time neurons are discretised with Euler steps of
// dt; docs/nir.md derives every rule used here and lists every refusal.
//
//===----------------------------------------------------------------------===//

#include "runtime/nir/Nir.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace fsnn::nir {

using namespace model;

namespace {

std::string quoted(const std::string &name) {
  return "'" + printableName(name) + "'";
}

std::string formatNumber(double value) {
  std::ostringstream os;
  os.precision(9);
  os << value;
  return os.str();
}

/// A node of the graph with nested graphs inlined.
struct FlatNode {
  std::string name, type;
  const Item *item = nullptr;
  bool inner = false; // An Input or Output of a nested graph.
  std::vector<int> preds, succs;
};

struct FlatGraph {
  std::vector<FlatNode> nodes;
  std::map<std::string, int> index;
  std::map<std::string, std::string> subgraphInput, subgraphOutput;
};

Status stringOf(const Item &node, const std::string &key,
                const std::string &where, std::string &out) {
  const Item *item = node.find(key);
  if (!item || item->kind != Item::Kind::String || item->strings.size() != 1)
    return Status::error(where + ": no '" + key + "' string");
  out = item->strings[0];
  return {};
}

Status typeOf(const Item &node, const std::string &where, std::string &type) {
  if (!node.isGroup())
    return Status::error(where + " is a dataset, not a node group");
  return stringOf(node, "type", where, type);
}

Status addEdges(const Item &graph, const std::string &prefix,
                const std::string &where, FlatGraph &g) {
  const Item *edges = graph.find("edges");
  if (!edges)
    return Status::error(where + ": no 'edges'");
  bool empty = edges->elementCount() == 0;
  if (!empty && (edges->kind != Item::Kind::String || edges->dims.size() != 2 ||
                 edges->dims[1] != 2))
    return Status::error(where + ": 'edges' must be an [E, 2] array of node "
                                 "names");
  auto resolve = [&](const std::string &name, bool source, int &out) -> Status {
    std::string full = prefix + name;
    auto sub =
        source ? g.subgraphOutput.find(full) : g.subgraphInput.find(full);
    if (sub != (source ? g.subgraphOutput.end() : g.subgraphInput.end()))
      full = sub->second;
    auto it = g.index.find(full);
    if (it == g.index.end())
      return Status::error(where + ": an edge names node " + quoted(name) +
                           ", which the graph does not have");
    out = it->second;
    return {};
  };
  for (size_t e = 0; !empty && e + 1 < edges->strings.size(); e += 2) {
    int from, to;
    if (Status s = resolve(edges->strings[e], true, from))
      return s;
    if (Status s = resolve(edges->strings[e + 1], false, to))
      return s;
    FlatNode &a = g.nodes[from];
    if (std::find(a.succs.begin(), a.succs.end(), to) != a.succs.end())
      return Status::error(where + ": the edge " + quoted(edges->strings[e]) +
                           " -> " + quoted(edges->strings[e + 1]) +
                           " is listed twice");
    a.succs.push_back(to);
    g.nodes[to].preds.push_back(from);
  }
  return {};
}

Status flatten(const Item &graph, const std::string &prefix, int depth,
               FlatGraph &g) {
  std::string where =
      prefix.empty() ? std::string("the graph")
                     : "graph " + quoted(prefix.substr(0, prefix.size() - 1));
  if (depth > 8)
    return Status::error(where + ": graphs nested more than 8 deep");
  const Item *nodes = graph.find("nodes");
  if (!nodes || !nodes->isGroup())
    return Status::error(where + ": no 'nodes' group");
  std::string input, output;
  for (const Item &node : nodes->children) {
    std::string full = prefix + node.name;
    std::string type;
    if (Status s = typeOf(node, "node " + quoted(full), type))
      return s;
    if (type == "NIRGraph") {
      if (Status s = flatten(node, full + ".", depth + 1, g))
        return s;
      continue;
    }
    if (g.index.count(full))
      return Status::error("node " + quoted(full) +
                           " is defined twice (after inlining nested "
                           "graphs)");
    if (g.nodes.size() >= size_t(kMaxItems))
      return Status::error("too many nodes");
    FlatNode flat;
    flat.name = full;
    flat.type = type;
    flat.item = &node;
    flat.inner = depth > 0 && (type == "Input" || type == "Output");
    if (depth > 0 && type == "Input")
      input = input.empty() ? full : "\x01";
    if (depth > 0 && type == "Output")
      output = output.empty() ? full : "\x01";
    g.index[full] = int(g.nodes.size());
    g.nodes.push_back(flat);
  }
  if (depth > 0) {
    std::string self = prefix.substr(0, prefix.size() - 1);
    if (input.empty() || input == "\x01" || output.empty() || output == "\x01")
      return Status::error(where +
                           ": a nested graph needs exactly one Input and one "
                           "Output node");
    g.subgraphInput[self] = input;
    g.subgraphOutput[self] = output;
  }
  return addEdges(graph, prefix, where, g);
}

/// Removes the Input and Output nodes of nested graphs, joining what fed
/// them to what they fed.
void bypassInner(FlatGraph &g) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    FlatNode &node = g.nodes[i];
    if (!node.inner)
      continue;
    std::vector<int> preds = node.preds, succs = node.succs;
    for (int p : preds) {
      auto &ps = g.nodes[p].succs;
      ps.erase(std::remove(ps.begin(), ps.end(), int(i)), ps.end());
    }
    for (int s : succs) {
      auto &ss = g.nodes[s].preds;
      ss.erase(std::remove(ss.begin(), ss.end(), int(i)), ss.end());
    }
    for (int p : preds)
      for (int s : succs) {
        g.nodes[p].succs.push_back(s);
        g.nodes[s].preds.push_back(p);
      }
    node.preds.clear();
    node.succs.clear();
  }
}

bool isNeuron(const std::string &type) {
  return type == "IF" || type == "LIF" || type == "CubaLIF";
}
bool isMapOp(const std::string &type) {
  return type == "Affine" || type == "Linear" || type == "Conv2d" ||
         type == "Flatten" || type == "AvgPool2d" || type == "SumPool2d";
}

std::string refusalReason(const std::string &type) {
  if (type == "LI" || type == "CubaLI" || type == "I")
    return "a non-spiking integrator; fsnn's layers spike, and it reads out "
           "rates through an Affine";
  if (type == "Threshold")
    return "a bare Threshold without a membrane; fsnn's neurons are IF, LIF "
           "or CubaLIF nodes";
  if (type == "Scale")
    return "an elementwise Scale; fold it into the weights before export";
  if (type == "Delay")
    return "synaptic delays; fsnn's only delay is the one step of its "
           "recurrent edge";
  if (type == "Conv1d")
    return "1-d convolution; fsnn convolves images (Conv2d)";
  return "not a NIR node type fsnn knows";
}

/// The values of a numeric dataset (float or integer).
Status numbers(const Item &node, const std::string &key,
               const std::string &where, std::vector<double> &values,
               std::vector<int64_t> *dims = nullptr, bool required = true) {
  const Item *item = node.find(key);
  if (!item) {
    if (required)
      return Status::error(where + ": no '" + key + "'");
    return {};
  }
  if (item->kind == Item::Kind::Float)
    values = item->floats;
  else if (item->kind == Item::Kind::Integer)
    values.assign(item->integers.begin(), item->integers.end());
  else
    return Status::error(where + ": '" + key + "' is not numeric");
  for (double v : values)
    if (!std::isfinite(v))
      return Status::error(where + ": '" + key +
                           "' holds a NaN or infinite value");
  if (dims)
    *dims = item->dims;
  return {};
}

/// A list of small integers (kernel sizes, strides, ...): a scalar gives
/// `count` copies.
Status intList(const Item &node, const std::string &key,
               const std::string &where, size_t count,
               std::vector<int64_t> &out, bool required = true) {
  std::vector<double> values;
  const Item *item = node.find(key);
  if (!item && !required)
    return {};
  if (Status s = numbers(node, key, where, values))
    return s;
  if (values.size() == 1)
    values.assign(count, values[0]);
  if (values.size() != count)
    return Status::error(where + ": '" + key + "' must have " +
                         std::to_string(count) + " values");
  out.clear();
  for (double v : values) {
    if (v != std::floor(v) || std::abs(v) > (1 << 24))
      return Status::error(where + ": '" + key + "' must hold integers");
    out.push_back(int64_t(v));
  }
  return {};
}

/// One fsnn op of a map.
struct Op {
  std::string type; // fsnn op type
  std::string name; // NIR node name
  std::vector<double> weight, bias;
  std::vector<int64_t> weightDims;
  std::vector<int64_t> strides, pads, kernel;
  std::vector<int64_t> outShape;
  bool hasBias = false;
};

struct Layer {
  std::vector<Op> map;
  const FlatNode *neurons = nullptr;
  std::vector<int64_t> shape;
  // Per neuron: the factor on its input current and the constant added.
  std::vector<double> scale, constant;
};

class Importer {
public:
  Importer(const ImportOptions &options, std::vector<std::string> &notes)
      : options(options), notes(notes) {}

  Status run(const Item &graph, int64_t timeSteps, ModelProto &model,
             ModelInfo &info);

private:
  Status convertChain(const std::vector<int> &chain, std::vector<int64_t> shape,
                      std::vector<Op> &ops);
  Status neuronParameters(Layer &layer, double &leak, bool &leakSet,
                          double &threshold, bool &thresholdSet);
  Status walk(int from, int start, std::vector<int> &chain, int &end);
  Status applyScale(Layer &layer, std::vector<Op> &ops, const std::string &what,
                    bool withConstant = true);

  const ImportOptions &options;
  std::vector<std::string> &notes;
  FlatGraph g;
};

Status Importer::walk(int from, int start, std::vector<int> &chain, int &end) {
  int x = start;
  while (isMapOp(g.nodes[x].type)) {
    const FlatNode &node = g.nodes[x];
    if (node.preds.size() != 1)
      return Status::error("node " + quoted(node.name) + " (" + node.type +
                           ") has " + std::to_string(node.preds.size()) +
                           " inputs; fsnn maps are chains, one input per op");
    if (node.succs.size() != 1)
      return Status::error("node " + quoted(node.name) + " (" + node.type +
                           ") has " + std::to_string(node.succs.size()) +
                           " outputs; fsnn maps are chains, one output per op");
    if (chain.size() > g.nodes.size())
      return Status::error("node " + quoted(node.name) +
                           " is on a cycle without spiking neurons");
    chain.push_back(x);
    x = node.succs[0];
  }
  const FlatNode &node = g.nodes[x];
  if (!isNeuron(node.type) && node.type != "Output")
    return Status::error(
        "node " + quoted(node.name) + " (" + node.type + "): " +
        (node.type == "Input"
             ? std::string("an Input fed by node " + quoted(g.nodes[from].name))
             : refusalReason(node.type)));
  end = x;
  return {};
}

Status Importer::convertChain(const std::vector<int> &chain,
                              std::vector<int64_t> shape,
                              std::vector<Op> &ops) {
  double pendingScale = 1.0;
  std::string pendingPool;
  for (int index : chain) {
    const FlatNode &node = g.nodes[index];
    const Item &item = *node.item;
    std::string where = node.type + " " + quoted(node.name);
    Op op;
    op.name = node.name;
    if (node.type == "Affine" || node.type == "Linear") {
      if (Status s = numbers(item, "weight", where, op.weight, &op.weightDims))
        return s;
      if (op.weightDims.size() != 2)
        return Status::error(where + ": the weight must be [out, in], not " +
                             formatShape(op.weightDims));
      if (shape.size() != 1 || shape[0] != op.weightDims[1])
        return Status::error(
            where + ": its weight " + formatShape(op.weightDims) +
            " does not take the incoming " + formatShape(shape) +
            (shape.size() > 1 ? " (add a Flatten before it)" : ""));
      if (node.type == "Affine") {
        std::vector<int64_t> biasDims;
        if (Status s = numbers(item, "bias", where, op.bias, &biasDims))
          return s;
        if (int64_t(op.bias.size()) != op.weightDims[0])
          return Status::error(where + ": the bias has " +
                               std::to_string(op.bias.size()) + " values for " +
                               std::to_string(op.weightDims[0]) + " outputs");
        op.hasBias = true;
      }
      op.type = "Linear";
      shape = {op.weightDims[0]};
    } else if (node.type == "Conv2d") {
      if (Status s = numbers(item, "weight", where, op.weight, &op.weightDims))
        return s;
      if (op.weightDims.size() != 4)
        return Status::error(where +
                             ": the weight must be [O, C, kh, kw], "
                             "not " +
                             formatShape(op.weightDims));
      std::vector<int64_t> groups, dilation;
      if (Status s = intList(item, "groups", where, 1, groups, false))
        return s;
      if (!groups.empty() && groups[0] != 1)
        return Status::error(where + ": groups = " + std::to_string(groups[0]) +
                             "; fsnn's convolutions are dense (groups 1)");
      if (Status s = intList(item, "dilation", where, 2, dilation, false))
        return s;
      for (int64_t d : dilation)
        if (d != 1)
          return Status::error(where + ": dilation " + std::to_string(d) +
                               "; fsnn's convolutions are not dilated");
      if (Status s = intList(item, "stride", where, 2, op.strides, false))
        return s;
      if (op.strides.empty())
        op.strides = {1, 1};
      const Item *padding = item.find("padding");
      if (padding && padding->kind == Item::Kind::String) {
        const std::string &mode =
            padding->strings.empty() ? std::string() : padding->strings[0];
        if (mode == "valid")
          op.pads = {0, 0};
        else if (mode == "same" && op.strides == std::vector<int64_t>{1, 1} &&
                 op.weightDims[2] % 2 == 1 && op.weightDims[3] % 2 == 1)
          op.pads = {op.weightDims[2] / 2, op.weightDims[3] / 2};
        else
          return Status::error(where + ": padding '" + mode +
                               "' (fsnn pads symmetrically: 'valid', "
                               "'same' with stride 1 and odd kernels, or "
                               "numbers)");
      } else if (Status s =
                     intList(item, "padding", where, 2, op.pads, false)) {
        return s;
      }
      if (op.pads.empty())
        op.pads = {0, 0};
      for (int64_t v : op.strides)
        if (v < 1)
          return Status::error(where + ": strides must be >= 1");
      for (int64_t v : op.pads)
        if (v < 0)
          return Status::error(where + ": padding must be >= 0");
      if (shape.size() != 3 || shape[0] != op.weightDims[1])
        return Status::error(
            where + ": its weight " + formatShape(op.weightDims) +
            " does not take the incoming " + formatShape(shape));
      std::vector<int64_t> biasDims;
      if (Status s = numbers(item, "bias", where, op.bias, &biasDims, false))
        return s;
      if (!op.bias.empty() && int64_t(op.bias.size()) != op.weightDims[0])
        return Status::error(where + ": the bias has " +
                             std::to_string(op.bias.size()) + " values for " +
                             std::to_string(op.weightDims[0]) + " channels");
      op.hasBias = !op.bias.empty();
      int64_t h =
          (shape[1] + 2 * op.pads[0] - op.weightDims[2]) / op.strides[0] + 1;
      int64_t w =
          (shape[2] + 2 * op.pads[1] - op.weightDims[3]) / op.strides[1] + 1;
      if (shape[1] + 2 * op.pads[0] < op.weightDims[2] ||
          shape[2] + 2 * op.pads[1] < op.weightDims[3])
        return Status::error(where +
                             ": the kernel is larger than the padded "
                             "input " +
                             formatShape(shape));
      op.type = "Conv2d";
      shape = {op.weightDims[0], h, w};
    } else if (node.type == "Flatten") {
      std::vector<int64_t> start, endDim;
      if (Status s = intList(item, "start_dim", where, 1, start, false))
        return s;
      if (Status s = intList(item, "end_dim", where, 1, endDim, false))
        return s;
      int64_t rank = int64_t(shape.size());
      int64_t first = start.empty() ? 0 : start[0];
      int64_t last = endDim.empty() ? -1 : endDim[0];
      if (first < 0)
        first += rank;
      if (last < 0)
        last += rank;
      if (first != 0 || last != rank - 1)
        return Status::error(
            where + ": flattens dims " + std::to_string(first) + ".." +
            std::to_string(last) + " of " + formatShape(shape) +
            "; fsnn's Flatten flattens a whole sample (start_dim 0, "
            "end_dim -1)");
      op.type = "Flatten";
      shape = {product(shape)};
    } else { // AvgPool2d, SumPool2d
      std::vector<int64_t> padding;
      if (Status s = intList(item, "kernel_size", where, 2, op.kernel))
        return s;
      if (Status s = intList(item, "stride", where, 2, op.strides, false))
        return s;
      if (op.strides.empty())
        op.strides = op.kernel;
      if (Status s = intList(item, "padding", where, 2, padding, false))
        return s;
      for (int64_t p : padding)
        if (p != 0)
          return Status::error(where + ": padding " + std::to_string(p) +
                               "; fsnn's pooling does not pad");
      for (size_t i = 0; i < 2; ++i)
        if (op.kernel[i] < 1 || op.strides[i] < 1)
          return Status::error(where + ": kernel and stride must be >= 1");
      if (shape.size() != 3 || shape[1] < op.kernel[0] ||
          shape[2] < op.kernel[1])
        return Status::error(where + ": pools " + formatShape(shape) +
                             " with a " + std::to_string(op.kernel[0]) + "x" +
                             std::to_string(op.kernel[1]) + " kernel");
      op.type = "AvgPool2d";
      if (node.type == "SumPool2d") {
        // A sum is the average times k²; the next weighted op takes k².
        pendingScale *= double(op.kernel[0] * op.kernel[1]);
        pendingPool = node.name;
      }
      shape = {shape[0], (shape[1] - op.kernel[0]) / op.strides[0] + 1,
               (shape[2] - op.kernel[1]) / op.strides[1] + 1};
    }
    if ((op.type == "Linear" || op.type == "Conv2d") && pendingScale != 1.0) {
      for (double &w : op.weight)
        w *= pendingScale;
      pendingScale = 1.0;
    }
    op.outShape = shape;
    ops.push_back(std::move(op));
  }
  if (pendingScale != 1.0)
    return Status::error("SumPool2d " + quoted(pendingPool) +
                         " must be followed by an Affine, Linear or Conv2d "
                         "(fsnn pools by averaging and folds the kernel "
                         "size into that weight)");
  return {};
}

/// Per-neuron arrays of a layer: a single value is broadcast.
Status neuronArray(const FlatNode &node, const std::string &key, int64_t n,
                   std::vector<double> &out, bool required, double fallback) {
  std::string where = node.type + " " + quoted(node.name);
  std::vector<double> values;
  if (Status s = numbers(*node.item, key, where, values, nullptr, required))
    return s;
  if (values.empty() && !required) {
    out.assign(n, fallback);
    return {};
  }
  if (values.size() == 1)
    values.assign(n, values[0]);
  if (int64_t(values.size()) != n)
    return Status::error(
        where + ": '" + key + "' has " + std::to_string(values.size()) +
        " values for a layer of " + std::to_string(n) + " neurons");
  out = std::move(values);
  return {};
}

Status Importer::neuronParameters(Layer &layer, double &leak, bool &leakSet,
                                  double &threshold, bool &thresholdSet) {
  const FlatNode &node = *layer.neurons;
  std::string where = node.type + " " + quoted(node.name);
  int64_t n = product(layer.shape);
  double dt = options.dt;
  std::vector<double> r, tau, vLeak, vThreshold, vReset, wIn, tauSyn;
  if (Status s = neuronArray(node, "r", n, r, true, 1))
    return s;
  if (Status s = neuronArray(node, "v_threshold", n, vThreshold, true, 1))
    return s;
  if (Status s = neuronArray(node, "v_reset", n, vReset, false, 0))
    return s;
  bool leaky = node.type != "IF";
  if (leaky) {
    if (Status s = neuronArray(node, node.type == "LIF" ? "tau" : "tau_mem", n,
                               tau, true, 1))
      return s;
    if (Status s = neuronArray(node, "v_leak", n, vLeak, true, 0))
      return s;
  }
  if (node.type == "CubaLIF") {
    if (Status s = neuronArray(node, "tau_syn", n, tauSyn, true, 1))
      return s;
    if (Status s = neuronArray(node, "w_in", n, wIn, false, 1))
      return s;
    for (double t : tauSyn)
      if (std::abs(t - dt) > 1e-6 * dt)
        return Status::error(
            where + ": tau_syn = " + formatNumber(t) +
            " with dt = " + formatNumber(dt) +
            "; a synaptic current that decays over several steps has no "
            "fsnn form (only tau_syn = dt, where the synapse passes the "
            "input on at once, reduces to LIF)");
  }
  for (int64_t i = 0; i < n; ++i) {
    if (vReset[i] != 0)
      return Status::error(where + ": v_reset = " + formatNumber(vReset[i]) +
                           "; fsnn resets to zero or by subtraction, not to "
                           "another potential");
    if (!(vThreshold[i] > 0))
      return Status::error(where +
                           ": v_threshold = " + formatNumber(vThreshold[i]) +
                           "; fsnn's threshold must be > 0");
    double lambda = 1.0;
    if (leaky) {
      if (!(tau[i] > dt))
        return Status::error(where + ": tau = " + formatNumber(tau[i]) +
                             " is not longer than dt = " + formatNumber(dt) +
                             " (the Euler step would not be a leak; give "
                             "--dt)");
      lambda = 1.0 - dt / tau[i];
    }
    if (!leakSet) {
      leak = lambda, leakSet = true;
    } else if (std::abs(lambda - leak) > 1e-12) {
      return Status::error(
          where + ": its leak per step is " + formatNumber(lambda) +
          " where another neuron's is " + formatNumber(leak) +
          "; fsnn's neurons share one leak λ = 1 - dt/τ (IF: 1)");
    }
    if (!thresholdSet)
      threshold = vThreshold[i], thresholdSet = true;
  }
  layer.scale.resize(n);
  layer.constant.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    // Euler: v += (dt/τ)(v_leak - v) + (dt r/τ) I, i.e. λ v + c I + (dt/τ)
    // v_leak; a threshold θ_i other than the shared θ scales the neuron's
    // whole potential by θ/θ_i (exact with reset to zero).
    double ratio = threshold / vThreshold[i];
    double inputScale = leaky ? dt * r[i] / tau[i] : dt * r[i];
    if (node.type == "CubaLIF")
      inputScale *= wIn[i];
    layer.scale[i] = inputScale * ratio;
    layer.constant[i] = leaky ? ratio * dt * vLeak[i] / tau[i] : 0.0;
  }
  return {};
}

/// Folds the layer's per-neuron scale and constant into the last weighted op
/// of `ops` (a map or the feedback into the layer).
Status Importer::applyScale(Layer &layer, std::vector<Op> &ops,
                            const std::string &what, bool withConstant) {
  int64_t n = product(layer.shape);
  bool uniform = true, noConstant = true;
  double largest = 0;
  for (int64_t i = 0; i < n; ++i) {
    largest = std::max(largest, std::abs(layer.scale[i] - 1.0));
    uniform = uniform && layer.scale[i] == layer.scale[0];
    noConstant = noConstant && (!withConstant || layer.constant[i] == 0);
  }
  // τ and r written in float32 (as most exporters do) make dt r/τ miss 1 by
  // a few ulps; that is 1.
  bool unit = largest <= 1e-6;
  if (unit && noConstant)
    return {};
  Op *last = nullptr;
  for (Op &op : ops)
    if (op.type == "Linear" || op.type == "Conv2d")
      last = &op;
  if (!last)
    return Status::error(what + " has no weighted op to carry the neurons' "
                                "input scale dt·r/τ");
  bool lastIsFinal = last == &ops.back();
  int64_t outs = last->weightDims[0];
  int64_t perOut = n / outs;
  if (!lastIsFinal && !(uniform && noConstant))
    return Status::error(what +
                         ": the neurons' input scale or v_leak varies "
                         "per neuron, and the map's last op is not "
                         "weighted (" +
                         ops.back().type + ")");
  // Per output row (Linear) or channel (Conv2d).
  std::vector<double> rowScale(outs), rowConstant(outs);
  for (int64_t o = 0; o < outs; ++o) {
    int64_t first = lastIsFinal ? o * perOut : 0;
    rowScale[o] = unit ? 1.0 : layer.scale[first];
    rowConstant[o] =
        withConstant ? layer.constant[lastIsFinal ? first : 0] : 0.0;
    for (int64_t i = 0; lastIsFinal && i < perOut; ++i)
      if ((!unit && layer.scale[first + i] != rowScale[o]) ||
          (withConstant && layer.constant[first + i] != rowConstant[o]))
        return Status::error(what + ": the neurons' input scale or v_leak "
                                    "differs within a channel of a "
                                    "convolution");
  }
  int64_t inner = last->weight.size() / outs;
  if (!last->hasBias && !noConstant)
    last->bias.assign(outs, 0.0), last->hasBias = true;
  for (int64_t o = 0; o < outs; ++o) {
    for (int64_t i = 0; i < inner; ++i)
      last->weight[o * inner + i] *= rowScale[o];
    if (last->hasBias)
      last->bias[o] = last->bias[o] * rowScale[o] + rowConstant[o];
  }
  if (!unit)
    notes.push_back(what + ": input scale dt·r/τ (and threshold ratios) "
                           "folded into its weights");
  return {};
}

/// A name fsnn accepts (docs/model-format.md): no whitespace or control
/// characters, at most 200 bytes, unique.
class Names {
public:
  std::string operator()(const std::string &wanted) {
    std::string name;
    for (unsigned char c : printableName(wanted))
      name.push_back(c <= ' ' || c == 0x7f ? '_' : char(c));
    if (name.size() > 200)
      name.resize(200);
    if (name.empty())
      name = "node";
    std::string candidate = name;
    for (int i = 2; used.count(candidate); ++i)
      candidate = name + "_" + std::to_string(i);
    used.insert(candidate);
    return candidate;
  }
  std::set<std::string> used;
};

class Writer {
public:
  Writer(ModelProto &model, TensorProto::DataType dtype)
      : model(model), dtype(dtype) {}

  void initializer(const std::string &name, const std::vector<int64_t> &dims,
                   const std::vector<double> &values) {
    addInitializer(*model.mutable_graph(), name, dims, dtype, values);
  }

  /// Writes `ops` into `graph` from value `input`; returns the last value.
  std::string ops(GraphProto &graph, const std::vector<Op> &ops,
                  std::string input) {
    for (const Op &op : ops) {
      NodeProto *node = graph.add_nodes();
      std::string name = names(op.name);
      node->set_op_type(op.type);
      node->set_name(name);
      node->add_inputs(input);
      if (op.type == "Linear" || op.type == "Conv2d") {
        std::string weight = names(name + ".weight");
        initializer(weight, op.weightDims, op.weight);
        node->add_inputs(weight);
        if (op.hasBias) {
          std::string bias = names(name + ".bias");
          initializer(bias, {op.weightDims[0]}, op.bias);
          node->add_inputs(bias);
        }
      }
      if (op.type == "Conv2d") {
        ints(*node, "strides", op.strides);
        ints(*node, "pads", op.pads);
      } else if (op.type == "AvgPool2d") {
        ints(*node, "kernel", op.kernel);
        ints(*node, "strides", op.strides);
      }
      input = names(name + ".out");
      node->add_outputs(input);
    }
    return input;
  }

  static void ints(NodeProto &node, const std::string &name,
                   const std::vector<int64_t> &values) {
    AttributeProto *a = node.add_attributes();
    a->set_name(name);
    for (int64_t v : values)
      a->mutable_ints()->add_values(v);
  }
  static void valueInfo(ValueInfoProto *info, const std::string &name,
                        const std::vector<int64_t> &shape,
                        TensorProto::DataType dtype) {
    setValueInfo(*info, name, shape, dtype);
  }

  ModelProto &model;
  TensorProto::DataType dtype;
  Names names;
};

/// The threshold fsnn compares with >= so that it fires exactly when NIR's
/// v > θ does: the next value above θ in the model's precision.
double strictThreshold(double theta, TensorProto::DataType dtype) {
  if (dtype == TensorProto::FLOAT64)
    return std::nextafter(theta, INFINITY);
  float t = float(theta);
  if (double(t) <= theta)
    t = std::nextafter(t, INFINITY);
  return double(t);
}

Status Importer::run(const Item &graph, int64_t timeSteps, ModelProto &model,
                     ModelInfo &info) {
  if (Status s = flatten(graph, "", 0, g))
    return s;
  bypassInner(g);

  int input = -1, output = -1;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const FlatNode &node = g.nodes[i];
    if (node.inner)
      continue;
    if (node.type == "Input") {
      if (input >= 0)
        return Status::error("the graph has several Input nodes (" +
                             quoted(g.nodes[input].name) + ", " +
                             quoted(node.name) + "); fsnn models take one");
      input = int(i);
    } else if (node.type == "Output") {
      if (output >= 0)
        return Status::error("the graph has several Output nodes (" +
                             quoted(g.nodes[output].name) + ", " +
                             quoted(node.name) + "); fsnn models give one");
      output = int(i);
    } else if (!isNeuron(node.type) && !isMapOp(node.type)) {
      return Status::error("node " + quoted(node.name) + " (" + node.type +
                           "): " + refusalReason(node.type));
    }
  }
  if (input < 0 || output < 0)
    return Status::error("the graph needs an Input and an Output node");
  std::vector<int64_t> inputShape;
  {
    std::vector<double> shape;
    const FlatNode &in = g.nodes[input];
    if (Status s =
            numbers(*in.item, "shape", "Input " + quoted(in.name), shape))
      return s;
    for (double d : shape) {
      if (d != std::floor(d) || d < 1 || d > double(kMaxDimension))
        return Status::error("Input " + quoted(in.name) +
                             ": its shape must hold dimensions >= 1");
      inputShape.push_back(int64_t(d));
    }
    if (inputShape.empty() || checkedElementCount(inputShape) < 0)
      return Status::error("Input " + quoted(in.name) + ": the shape " +
                           formatShape(inputShape) + " is empty or too large");
  }
  if (g.nodes[input].succs.size() != 1)
    return Status::error("Input " + quoted(g.nodes[input].name) + " feeds " +
                         std::to_string(g.nodes[input].succs.size()) +
                         " nodes; fsnn's input feeds the first layer's map");

  // Walk input -> layer 1 -> ... -> layer N -> readout, noting the feedback.
  std::vector<Layer> layers;
  std::vector<int> readoutChain, feedbackChain;
  bool hasFeedback = false, hasReadout = false;
  std::set<int> visited = {input, output};
  {
    std::vector<int> chain;
    int end;
    if (Status s = walk(input, g.nodes[input].succs[0], chain, end))
      return s;
    if (end == output)
      return Status::error("no spiking layer between Input " +
                           quoted(g.nodes[input].name) + " and Output " +
                           quoted(g.nodes[output].name));
    Layer first;
    first.neurons = &g.nodes[end];
    layers.push_back(first);
    for (int c : chain)
      visited.insert(c);
    visited.insert(end);
    std::vector<Op> ops;
    if (chain.empty())
      return Status::error(first.neurons->type + " " +
                           quoted(first.neurons->name) +
                           " takes the input directly; fsnn needs a "
                           "weighted op (Affine, Linear, Conv2d) before a "
                           "layer");
    if (Status s = convertChain(chain, inputShape, ops))
      return s;
    layers.back().map = std::move(ops);
    layers.back().shape = layers.back().map.back().outShape;
  }
  while (true) {
    int current = int(layers.back().neurons - g.nodes.data());
    const FlatNode &node = g.nodes[current];
    std::vector<int> next;
    std::vector<std::vector<int>> nextChains;
    for (int succ : node.succs) {
      std::vector<int> chain;
      int end;
      if (Status s = walk(current, succ, chain, end))
        return s;
      if (end == output) {
        if (hasReadout)
          return Status::error(node.type + " " + quoted(node.name) +
                               " reaches the Output twice");
        hasReadout = true;
        readoutChain = chain;
      } else if (visited.count(end)) {
        if (end != int(layers.front().neurons - g.nodes.data()))
          return Status::error(
              "a recurrent edge from " + quoted(node.name) + " to " +
              quoted(g.nodes[end].name) +
              "; fsnn feeds back only from the last spiking layer to the "
              "first");
        if (hasFeedback)
          return Status::error(quoted(node.name) +
                               " feeds back to the first layer twice");
        if (chain.empty())
          return Status::error("the recurrent edge from " + quoted(node.name) +
                               " has no weighted op (Affine, Linear, Conv2d)");
        hasFeedback = true;
        feedbackChain = chain;
      } else {
        next.push_back(end);
        nextChains.push_back(chain);
      }
      for (int c : chain)
        visited.insert(c);
    }
    if (next.size() > 1)
      return Status::error(node.type + " " + quoted(node.name) +
                           " feeds two spiking layers; fsnn's layers form "
                           "one chain");
    if (next.empty())
      break;
    if (hasReadout || hasFeedback)
      return Status::error(node.type + " " + quoted(node.name) +
                           " is not the last spiking layer, yet it " +
                           (hasReadout ? "reaches the Output"
                                       : "feeds back to the first layer") +
                           "; fsnn reads out and feeds back from the last "
                           "layer only");
    if (nextChains[0].empty())
      return Status::error(g.nodes[next[0]].type + " " +
                           quoted(g.nodes[next[0]].name) +
                           " takes spikes directly; fsnn needs a weighted op "
                           "before a layer");
    Layer layer;
    layer.neurons = &g.nodes[next[0]];
    visited.insert(next[0]);
    std::vector<Op> ops;
    if (Status s = convertChain(nextChains[0], layers.back().shape, ops))
      return s;
    layer.map = std::move(ops);
    layer.shape = layer.map.back().outShape;
    layers.push_back(std::move(layer));
    if (layers.size() > 64)
      return Status::error("more than 64 spiking layers");
  }
  if (!hasReadout)
    return Status::error("the last spiking layer " +
                         quoted(layers.back().neurons->name) +
                         " does not reach the Output");
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!g.nodes[i].inner && !visited.count(int(i)))
      return Status::error("node " + quoted(g.nodes[i].name) + " (" +
                           g.nodes[i].type +
                           ") is not on fsnn's path from the input through "
                           "the layers to the output");
  // Each layer takes exactly what its chain and the feedback bring.
  double leak = 1, threshold = 1;
  bool leakSet = false, thresholdSet = false;
  for (size_t l = 0; l < layers.size(); ++l) {
    Layer &layer = layers[l];
    const FlatNode &node = *layer.neurons;
    size_t expectedPreds = l == 0 && hasFeedback ? 2 : 1;
    if (node.preds.size() != expectedPreds)
      return Status::error(node.type + " " + quoted(node.name) + " has " +
                           std::to_string(node.preds.size()) +
                           " inputs; fsnn's layer takes its map" +
                           (l == 0 ? " and the feedback" : ""));
    if (Status s =
            neuronParameters(layer, leak, leakSet, threshold, thresholdSet))
      return s;
  }
  std::vector<Op> feedbackOps, readoutOps;
  if (hasFeedback) {
    if (Status s =
            convertChain(feedbackChain, layers.back().shape, feedbackOps))
      return s;
    if (feedbackOps.back().outShape != layers.front().shape)
      return Status::error(
          "the recurrent edge into " + quoted(layers.front().neurons->name) +
          " yields " + formatShape(feedbackOps.back().outShape) +
          ", the layer has " + formatShape(layers.front().shape));
  }
  for (const Op &op : feedbackOps)
    if (op.type == "AvgPool2d" || op.type == "Flatten")
      return Status::error(op.type + " " + quoted(op.name) +
                           " in the recurrent edge; fsnn's feedback is one "
                           "Affine, Linear or Conv2d");
  if (feedbackOps.size() > 1)
    return Status::error("the recurrent edge holds " +
                         std::to_string(feedbackOps.size()) +
                         " ops; fsnn's feedback is one Affine, Linear or "
                         "Conv2d");
  if (Status s = convertChain(readoutChain, layers.back().shape, readoutOps))
    return s;
  for (const Op &op : readoutOps)
    if (op.type != "Linear" && op.type != "Flatten")
      return Status::error(op.type + " " + quoted(op.name) +
                           " in the readout; fsnn reads out rates through "
                           "Flatten and Affine/Linear");
  if (hasFeedback) {
    // The recurrent op's bias is added at every step in NIR, the first
    // included (the op sees zero spikes there); fsnn skips the feedback at
    // the first step, so the bias moves into the first layer's map.
    Op &fb = feedbackOps.front();
    Layer &first = layers.front();
    if (fb.hasBias) {
      Op *last = nullptr;
      for (Op &op : first.map)
        if (op.type == "Linear" || op.type == "Conv2d")
          last = &op;
      if (!last || last != &first.map.back() ||
          last->weightDims[0] != fb.weightDims[0])
        return Status::error("the recurrent op " + quoted(fb.name) +
                             " has a bias, and the map into " +
                             quoted(first.neurons->name) +
                             " does not end in a weighted op with the same "
                             "outputs to carry it");
      if (!last->hasBias)
        last->bias.assign(last->weightDims[0], 0.0), last->hasBias = true;
      for (size_t o = 0; o < last->bias.size(); ++o)
        last->bias[o] += fb.bias[o];
      fb.hasBias = false;
      fb.bias.clear();
    }
  }
  for (Layer &layer : layers)
    if (Status s = applyScale(layer, layer.map,
                              "the map into " + quoted(layer.neurons->name)))
      return s;
  if (hasFeedback) {
    Layer &first = layers.front();
    if (Status s =
            applyScale(first, feedbackOps,
                       "the recurrent edge into " + quoted(first.neurons->name),
                       /*withConstant=*/false))
      return s;
  }

  // The fsnn model.
  model.Clear();
  model.set_format_version(kFormatVersion);
  model.set_producer("fsnn-model import-nir");
  std::ostringstream doc;
  doc << "imported from NIR (dt = " << formatNumber(options.dt) << ", "
      << layers.size() << " spiking layer" << (layers.size() > 1 ? "s" : "")
      << ")";
  model.set_doc_string(doc.str());
  GraphProto &top = *model.mutable_graph();
  Writer w(model, options.dtype);
  top.set_name(w.names(options.graphName));
  std::string inputName = w.names("input");
  Writer::valueInfo(top.add_inputs(), inputName, inputShape, options.dtype);
  NodeProto *snn = top.add_nodes();
  snn->set_op_type("SpikingFeedback");
  snn->set_name(w.names("snn"));
  snn->add_inputs(inputName);
  auto attr = [&](const std::string &name) {
    AttributeProto *a = snn->add_attributes();
    a->set_name(name);
    return a;
  };
  bool lif = leak < 1.0;
  attr("time_steps")->set_i(timeSteps);
  attr("neuron")->set_s(lif ? "lif" : "if");
  attr("threshold")->set_f(strictThreshold(threshold, options.dtype));
  if (lif)
    attr("leak")->set_f(leak);
  attr("reset")->set_s(options.reset);
  if (options.reset == "subtract")
    notes.push_back("reset by subtraction, as asked: fsnn can train this "
                    "model with IDE, but it no longer simulates the NIR "
                    "graph's reset to zero");
  attr("input_kind")->set_s("static");
  attr("solver")->set_s("broyden");
  attr("solver_iterations")->set_i(30);
  AttributeProto *layersAttr = attr("layers");
  AttributeProto *feedbackAttr = attr("feedback");
  for (size_t l = 0; l < layers.size(); ++l) {
    GraphProto *map = layersAttr->mutable_graphs()->add_values();
    std::string mapName = w.names(layers[l].neurons->name);
    map->set_name(mapName);
    std::string in = w.names(mapName + ".in");
    Writer::valueInfo(map->add_inputs(), in,
                      l == 0 ? inputShape : layers[l - 1].shape, options.dtype);
    std::string out = w.ops(*map, layers[l].map, in);
    Writer::valueInfo(map->add_outputs(), out, layers[l].shape, options.dtype);
  }
  {
    GraphProto *map = feedbackAttr->mutable_graphs()->add_values();
    map->set_name(w.names("feedback"));
    std::string in = w.names("feedback.in");
    Writer::valueInfo(map->add_inputs(), in, layers.back().shape,
                      options.dtype);
    if (!hasFeedback) {
      // A feed-forward graph: the feedback is zero.
      const std::vector<int64_t> &from = layers.back().shape,
                                 &to = layers.front().shape;
      Op zero;
      zero.name = "feedback.zero";
      if (to.size() == 1 && from.size() == 1) {
        zero.type = "Linear";
        zero.weightDims = {to[0], from[0]};
      } else if (to.size() == 3 && from.size() == 3 && to[1] == from[1] &&
                 to[2] == from[2]) {
        zero.type = "Conv2d";
        zero.weightDims = {to[0], from[0], 1, 1};
        zero.strides = {1, 1};
        zero.pads = {0, 0};
      } else {
        return Status::error(
            "the graph has no recurrent edge, and fsnn cannot make a zero "
            "feedback from " +
            formatShape(from) + " to " + formatShape(to) + " cheaply");
      }
      if (checkedElementCount(zero.weightDims) < 0 ||
          product(zero.weightDims) > (int64_t(1) << 24))
        return Status::error("the graph has no recurrent edge, and a zero "
                             "feedback from the last layer to the first "
                             "would be too large");
      zero.weight.assign(product(zero.weightDims), 0.0);
      feedbackOps = {zero};
      notes.push_back("the graph has no recurrent edge: it is imported with "
                      "a zero feedback (a feed-forward network)");
    }
    std::string out = w.ops(*map, feedbackOps, in);
    Writer::valueInfo(map->add_outputs(), out, layers.front().shape,
                      options.dtype);
  }
  std::vector<std::string> rates, counts;
  for (size_t l = 0; l < layers.size(); ++l)
    rates.push_back(w.names("snn.rate" + std::to_string(l + 1)));
  for (size_t l = 0; l < layers.size(); ++l)
    counts.push_back(w.names("snn.count" + std::to_string(l + 1)));
  for (const std::string &r : rates)
    snn->add_outputs(r);
  for (const std::string &c : counts)
    snn->add_outputs(c);
  std::string logits = w.ops(top, readoutOps, rates.back());
  std::vector<int64_t> outShape =
      readoutOps.empty() ? layers.back().shape : readoutOps.back().outShape;
  Writer::valueInfo(top.add_outputs(), logits, outShape, options.dtype);
  ValueInfoProto *countOut = top.add_outputs();
  Writer::valueInfo(countOut, counts.back(), layers.back().shape,
                    TensorProto::INT32);
  if (readoutOps.empty())
    notes.push_back("no readout op: the output is the last layer's firing "
                    "rate");
  if (lif)
    notes.push_back("LIF rates are λ-weighted averages of the spikes "
                    "(docs/method.md §1.4); the counts output has the plain "
                    "spike counts");
  notes.push_back("threshold " + formatNumber(threshold) +
                  ": NIR fires when v > θ, fsnn when v >= V_th, so V_th is "
                  "the next representable value above θ");

  if (Status s = validateModel(model, info))
    return Status::error("the imported model does not validate: " +
                         s.message());
  return {};
}

bool sameTree(const Item &a, const Item &b, std::string &where) {
  if (a.name != b.name || a.kind != b.kind || a.dims != b.dims ||
      a.floats != b.floats || a.integers != b.integers ||
      a.strings != b.strings || a.children.size() != b.children.size()) {
    where = a.name;
    return false;
  }
  for (size_t i = 0; i < a.children.size(); ++i)
    if (a.children[i].name != "metadata" &&
        !sameTree(a.children[i], b.children[i], where)) {
      where = a.name + "/" + where;
      return false;
    }
  return true;
}

/// The fsnn model an fsnn export embedded, if the graph is still the one it
/// was exported as.
bool embeddedModel(const Item &graph, const ImportOptions &options,
                   ModelProto &model, ModelInfo &modelInfo,
                   std::vector<std::string> &notes) {
  const Item *metadata = graph.find("metadata");
  const Item *blob = metadata ? metadata->find("fsnn_model") : nullptr;
  if (!blob || blob->kind != Item::Kind::Integer)
    return false;
  std::string bytes;
  bytes.reserve(blob->integers.size());
  for (int64_t b : blob->integers) {
    if (b < 0 || b > 255) {
      notes.push_back("the embedded fsnn model is not a byte array; "
                      "importing the graph");
      return false;
    }
    bytes.push_back(char(b));
  }
  ModelProto candidate;
  ModelInfo info;
  if (Status s =
          parseValidModel(bytes, "the embedded fsnn model", candidate, info)) {
    notes.push_back(s.message() + "; importing the graph");
    return false;
  }
  ExportOptions exportOptions;
  exportOptions.embedModel = false;
  if (const Item *item = metadata->find("fsnn_dt");
      item && item->kind == Item::Kind::Float && item->floats.size() == 1)
    exportOptions.dt = item->floats[0];
  Item exported;
  std::vector<std::string> ignored;
  if (Status s = exportNir(candidate, info, exportOptions, exported, ignored)) {
    notes.push_back("the embedded fsnn model cannot be exported (" +
                    s.message() + "); importing the graph");
    return false;
  }
  const Item *exportedGraph = exported.find("node");
  std::string where;
  if (!exportedGraph || !sameTree(*exportedGraph, graph, where)) {
    notes.push_back("the graph is not the one the embedded fsnn model "
                    "exports to (" +
                    where +
                    " differs): importing the graph, not the embedded model");
    return false;
  }
  if (options.timeSteps > 0) {
    NodeProto *snn = nullptr;
    for (NodeProto &n : *candidate.mutable_graph()->mutable_nodes())
      if (n.op_type() == "SpikingFeedback")
        snn = &n;
    for (AttributeProto &a : *snn->mutable_attributes())
      if (a.name() == "time_steps")
        a.set_i(options.timeSteps);
    if (Status s = validateModel(candidate, info)) {
      notes.push_back(s.message() + "; importing the graph");
      return false;
    }
  }
  notes.push_back("the graph is an fsnn export and unchanged: imported the "
                  "embedded fsnn model itself (exact: batch norm, dropout, "
                  "spectral weight and reset rule as they were)");
  model = std::move(candidate);
  modelInfo = std::move(info);
  return true;
}

} // namespace

Status importNir(const Item &root, const ImportOptions &options,
                 ModelProto &model, ModelInfo &info,
                 std::vector<std::string> &notes) {
  if (!(options.dt > 0) || !std::isfinite(options.dt))
    return Status::error("--dt must be a positive number");
  if (options.reset != "zero" && options.reset != "subtract")
    return Status::error("--reset must be 'zero' or 'subtract'");
  if (options.timeSteps < 0 || options.timeSteps > kMaxTimeSteps)
    return Status::error("--T must be 1 to " + std::to_string(kMaxTimeSteps));
  const Item *graph = root.find("node");
  if (!graph || !graph->isGroup())
    return Status::error("no 'node' group at the root: not a NIR file");
  std::string type;
  if (Status s = typeOf(*graph, "the root node", type))
    return s;
  if (type != "NIRGraph")
    return Status::error("the root node is a " + type + ", not a NIRGraph");
  if (options.useEmbeddedModel &&
      embeddedModel(*graph, options, model, info, notes))
    return {};
  int64_t timeSteps = options.timeSteps;
  if (timeSteps == 0) {
    const Item *metadata = graph->find("metadata");
    const Item *t = metadata ? metadata->find("fsnn_time_steps") : nullptr;
    if (t && t->kind == Item::Kind::Integer && t->integers.size() == 1 &&
        t->integers[0] >= 1 && t->integers[0] <= kMaxTimeSteps)
      timeSteps = t->integers[0];
  }
  if (timeSteps == 0)
    return Status::error("a NIR graph does not say how many time steps to "
                         "simulate; give --T");
  Importer importer(options, notes);
  return importer.run(*graph, timeSteps, model, info);
}

Status importNirFile(const std::string &path, const ImportOptions &options,
                     ModelProto &model, ModelInfo &info,
                     std::vector<std::string> &notes) {
  Item root;
  if (Status s = readNirFile(path, root))
    return s;
  if (Status s = importNir(root, options, model, info, notes))
    return Status::error("NIR file '" + path + "': " + s.message());
  return {};
}

} // namespace fsnn::nir
