//===- NirExport.cpp - fsnn models as NIR graphs --------------------------===//
//
// The model is written as it runs at inference: batch norm folded into the
// weighted op before it with the running statistics, dropout removed, the
// spectral feedback weight materialised. docs/nir.md lists what changes
// meaning on the way (reset by subtraction, λ-weighted rates, >= against >).
//
//===----------------------------------------------------------------------===//

#include "runtime/nir/Nir.h"
#include "runtime/nir/NirTree.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <set>

namespace fsnn::nir {

using namespace model;

namespace {

std::string attrString(const NodeProto &node, const std::string &name,
                       const std::string &fallback) {
  const AttributeProto *a = findAttribute(node, name);
  return a ? a->s() : fallback;
}
double attrFloat(const NodeProto &node, const std::string &name,
                 double fallback) {
  const AttributeProto *a = findAttribute(node, name);
  return a ? a->f() : fallback;
}
std::vector<int64_t> attrInts(const NodeProto &node, const std::string &name,
                              std::vector<int64_t> fallback) {
  const AttributeProto *a = findAttribute(node, name);
  if (!a)
    return fallback;
  return {a->ints().values().begin(), a->ints().values().end()};
}

/// A Linear or Conv2d not yet written, so that a batch norm after it can be
/// folded into its weight and bias.
struct PendingWeighted {
  std::string name, output;
  bool conv = false, hasBias = false;
  std::vector<double> weight, bias;
  std::vector<int64_t> weightDims, strides, pads, inputShape;
};

class Exporter {
public:
  Exporter(const ModelProto &model, const ModelInfo &info,
           const ExportOptions &options, std::vector<std::string> &notes)
      : model(model), info(info), options(options), notes(notes),
        float32(info.dtype == TensorProto::FLOAT32) {
    for (const TensorProto &t : model.graph().initializers())
      initializers[t.name()] = &t;
    for (const NodeProto &n : model.graph().nodes())
      if (n.op_type() == "SpectralWeight")
        spectral[n.outputs(0)] = &n;
  }

  Status run(Item &root);

private:
  std::string uniqueName(const std::string &wanted) {
    std::string name;
    for (char c : wanted)
      name.push_back(c == '.' || c == '/' ? '_' : c);
    std::string candidate = name;
    for (int i = 2; used.count(candidate); ++i)
      candidate = name + "_" + std::to_string(i);
    used.insert(candidate);
    return candidate;
  }

  Status parameter(const std::string &name, std::vector<double> &values,
                   std::vector<int64_t> &dims) {
    if (auto it = initializers.find(name); it != initializers.end()) {
      values = tensorValues(*it->second);
      dims.assign(it->second->dims().begin(), it->second->dims().end());
      return {};
    }
    auto it = spectral.find(name);
    if (it == spectral.end())
      return Status::error("parameter '" + name + "' is not an initializer");
    // W = clamp(g, -1, 1) V / σ, σ = uᵀ V_mat v (docs/model-format.md).
    const NodeProto &node = *it->second;
    std::vector<double> v = tensorValues(*initializers.at(node.inputs(0)));
    double g = tensorValues(*initializers.at(node.inputs(1)))[0];
    std::vector<double> u = tensorValues(*initializers.at(node.inputs(2)));
    std::vector<double> vv = tensorValues(*initializers.at(node.inputs(3)));
    const TensorProto &vt = *initializers.at(node.inputs(0));
    dims.assign(vt.dims().begin(), vt.dims().end());
    int64_t rows = u.size(), columns = vv.size();
    double sigma = 0;
    for (int64_t r = 0; r < rows; ++r) {
      double row = 0;
      for (int64_t c = 0; c < columns; ++c)
        row += v[r * columns + c] * vv[c];
      sigma += u[r] * row;
    }
    if (!(std::abs(sigma) > 0) || !std::isfinite(sigma))
      return Status::error("SpectralWeight '" + node.name() +
                           "': σ = uᵀVv is " + std::to_string(sigma) +
                           "; the weight cannot be materialised");
    double scale = std::clamp(g, -1.0, 1.0) / sigma;
    values.resize(v.size());
    for (size_t i = 0; i < v.size(); ++i)
      values[i] = v[i] * scale;
    return {};
  }

  void addNode(Item node) { nodes.children.push_back(std::move(node)); }
  void edge(const std::string &from, const std::string &to) {
    edges.emplace_back(from, to);
  }

  /// Writes `pending` and connects it after `from`; returns its name.
  std::string flush(PendingWeighted &p, const std::string &from) {
    Item node = tree::group(p.name);
    int64_t outs = p.weightDims[0];
    if (!p.hasBias && p.conv)
      p.bias.assign(outs, 0.0), p.hasBias = true;
    node.children.push_back(tree::text(
        "type", p.conv ? "Conv2d" : (p.hasBias ? "Affine" : "Linear")));
    node.children.push_back(
        tree::floats("weight", p.weightDims, p.weight, float32));
    if (p.hasBias)
      node.children.push_back(tree::floats("bias", {outs}, p.bias, float32));
    if (p.conv) {
      node.children.push_back(tree::integers("stride", p.strides));
      node.children.push_back(tree::integers("padding", p.pads));
      node.children.push_back(tree::integers("dilation", {1, 1}));
      node.children.push_back(tree::integers("groups", {1}, true));
      node.children.push_back(tree::integers("input_shape", p.inputShape));
    }
    addNode(std::move(node));
    edge(from, p.name);
    return p.name;
  }

  /// Writes a map's (or the readout's) nodes after the NIR node `from`,
  /// starting at value `input`; returns the last NIR node.
  Status chain(const std::vector<const NodeProto *> &ops,
               const std::string &input, std::string from, std::string &last) {
    std::string current = input;
    std::optional<PendingWeighted> pending;
    for (const NodeProto *op : ops) {
      const std::string &type = op->op_type();
      if (op->inputs_size() == 0 || op->inputs(0) != current)
        return Status::error(type + " '" + op->name() +
                             "' does not take the previous op's output; only "
                             "chains of ops have a NIR form");
      if (type == "Linear" || type == "Conv2d") {
        if (pending)
          from = flush(*pending, from);
        PendingWeighted p;
        p.name = uniqueName(op->name());
        p.conv = type == "Conv2d";
        if (Status s = parameter(op->inputs(1), p.weight, p.weightDims))
          return s;
        if (op->inputs_size() > 2 && !op->inputs(2).empty()) {
          std::vector<int64_t> biasDims;
          if (Status s = parameter(op->inputs(2), p.bias, biasDims))
            return s;
          p.hasBias = true;
        }
        if (p.conv) {
          p.strides = attrInts(*op, "strides", {1, 1});
          p.pads = attrInts(*op, "pads", {0, 0});
          p.inputShape = info.allValues.at(current).shape;
        }
        pending = std::move(p);
      } else if (type == "BatchNorm") {
        if (!pending)
          return Status::error("BatchNorm '" + op->name() +
                               "' does not follow a Linear or Conv2d; NIR "
                               "has no batch norm to write it as");
        std::vector<double> gamma, beta, mean, var;
        std::vector<int64_t> dims;
        for (auto [index, values] :
             {std::pair{1, &gamma}, {2, &beta}, {3, &mean}, {4, &var}})
          if (Status s = parameter(op->inputs(index), *values, dims))
            return s;
        double epsilon = attrFloat(*op, "epsilon", 1e-5);
        int64_t outs = pending->weightDims[0];
        int64_t inner = pending->weight.size() / outs;
        if (!pending->hasBias)
          pending->bias.assign(outs, 0.0), pending->hasBias = true;
        for (int64_t o = 0; o < outs; ++o) {
          double scale = gamma[o] / std::sqrt(var[o] + epsilon);
          for (int64_t i = 0; i < inner; ++i)
            pending->weight[o * inner + i] *= scale;
          pending->bias[o] = (pending->bias[o] - mean[o]) * scale + beta[o];
        }
        folded = true;
      } else if (type == "Dropout") {
        // The identity at inference.
      } else if (type == "Flatten" || type == "AvgPool2d") {
        if (pending) {
          from = flush(*pending, from);
          pending.reset();
        }
        Item node = tree::group(uniqueName(op->name()));
        std::vector<int64_t> inShape = info.allValues.at(current).shape;
        if (type == "Flatten") {
          node.children.push_back(tree::text("type", "Flatten"));
          node.children.push_back(tree::integers("start_dim", {0}, true));
          node.children.push_back(tree::integers("end_dim", {-1}, true));
          node.children.push_back(tree::integers("input_type", inShape));
        } else {
          std::vector<int64_t> kernel = attrInts(*op, "kernel", {});
          node.children.push_back(tree::text("type", "AvgPool2d"));
          node.children.push_back(tree::integers("kernel_size", kernel));
          node.children.push_back(
              tree::integers("stride", attrInts(*op, "strides", kernel)));
          node.children.push_back(tree::integers("padding", {0, 0}));
        }
        std::string name = node.name;
        addNode(std::move(node));
        edge(from, name);
        from = name;
      } else {
        return Status::error(
            type + " '" + op->name() + "' has no NIR equivalent (NIR has no " +
            (type == "ConvTranspose2d" ? std::string("transposed convolution")
                                       : "node for it") +
            "); this model cannot be exported");
      }
      current = op->outputs(0);
    }
    if (pending)
      from = flush(*pending, from);
    last = from;
    return {};
  }

  static std::vector<const NodeProto *> mapOps(const GraphProto &map) {
    std::vector<const NodeProto *> ops;
    for (const NodeProto &n : map.nodes())
      ops.push_back(&n);
    return ops;
  }

  Item neurons(const std::string &name, const std::vector<int64_t> &shape,
               const NodeProto &snn) {
    int64_t count = product(shape);
    double threshold = attrFloat(snn, "threshold", 2.0);
    double leak = attrFloat(snn, "leak", 1.0);
    bool lif = attrString(snn, "neuron", "if") == "lif" && leak < 1.0;
    double dt = options.dt;
    Item node = tree::group(name);
    auto full = [&](const char *key, double value) {
      return tree::floats(key, shape, std::vector<double>(count, value),
                          /*float32=*/false);
    };
    if (lif) {
      double tau = dt / (1.0 - leak);
      node.children.push_back(tree::text("type", "LIF"));
      node.children.push_back(full("tau", tau));
      node.children.push_back(full("r", tau / dt));
      node.children.push_back(full("v_leak", 0.0));
    } else {
      node.children.push_back(tree::text("type", "IF"));
      node.children.push_back(full("r", 1.0 / dt));
    }
    node.children.push_back(full("v_threshold", threshold));
    node.children.push_back(full("v_reset", 0.0));
    return node;
  }

  const ModelProto &model;
  const ModelInfo &info;
  const ExportOptions &options;
  std::vector<std::string> &notes;
  bool float32;
  bool folded = false;
  std::map<std::string, const TensorProto *> initializers;
  std::map<std::string, const NodeProto *> spectral;
  std::set<std::string> used;
  Item nodes = tree::group("nodes");
  std::vector<std::pair<std::string, std::string>> edges;
};

Status Exporter::run(Item &root) {
  if (!(options.dt > 0) || !std::isfinite(options.dt))
    return Status::error("--dt must be a positive number");
  const NodeProto *snn = findFeedbackNode(model);
  if (!snn)
    return Status::error("the model has no SpikingFeedback node; fsnn "
                         "exports spiking feedback models");
  const GraphProto &graph = model.graph();
  if (graph.inputs_size() != 1 || graph.outputs_size() < 1)
    return Status::error("the model must have one input and an output");
  std::vector<const GraphProto *> layers = layerGraphs(*snn);
  const AttributeProto *feedbackAttr = findAttribute(*snn, "feedback");
  const GraphProto &feedback = feedbackAttr->graphs().values(0);
  size_t n = layers.size();
  std::string neuron = attrString(*snn, "neuron", "if");
  double leak = attrFloat(*snn, "leak", 1.0);

  std::vector<int64_t> inputShape(graph.inputs(0).shape().begin(),
                                  graph.inputs(0).shape().end());
  if (attrString(*snn, "input_kind", "static") == "spike_frames") {
    inputShape.erase(inputShape.begin());
    notes.push_back("the input is spike frames: the NIR Input is one frame " +
                    formatShape(inputShape) + ", fed one per time step");
  }
  used.insert("input");
  used.insert("output");
  Item input = tree::group("input");
  input.children.push_back(tree::text("type", "Input"));
  input.children.push_back(tree::integers("shape", inputShape));
  addNode(std::move(input));

  // Layers: map l, then its neurons.
  std::string from = "input";
  std::vector<std::string> neuronNames;
  for (size_t l = 0; l < n; ++l) {
    const GraphProto &map = *layers[l];
    std::string last;
    if (Status s = chain(mapOps(map), map.inputs(0).name(), from, last))
      return s;
    std::string name = uniqueName(map.name() + "." +
                                  (neuron == "lif" && leak < 1 ? "lif" : "if"));
    addNode(
        neurons(name, info.allValues.at(map.outputs(0).name()).shape, *snn));
    edge(last, name);
    neuronNames.push_back(name);
    from = name;
  }
  // Feedback: from the last layer's neurons to the first's.
  {
    std::string last;
    if (Status s = chain(mapOps(feedback), feedback.inputs(0).name(),
                         neuronNames.back(), last))
      return s;
    if (last == neuronNames.back())
      return Status::error("the feedback map has no weighted op");
    edge(last, neuronNames.front());
  }
  // Readout: the top-level ops from the last layer's rate to the output.
  const std::string &output = graph.outputs(0).name();
  std::string rate = snn->outputs(int(n) - 1);
  std::vector<const NodeProto *> readout;
  for (int index : info.order) {
    const NodeProto &node = graph.nodes(index);
    if (node.op_type() == "SpikingFeedback" ||
        node.op_type() == "SpectralWeight")
      continue;
    readout.push_back(&node);
  }
  std::string last;
  if (Status s = chain(readout, rate, neuronNames.back(), last))
    return s;
  if (!readout.empty() && readout.back()->outputs(0) != output)
    return Status::error("the model's output '" + output +
                         "' is not the end of the readout chain");
  if (readout.empty() && output != rate)
    return Status::error("the model's output '" + output +
                         "' is neither a readout of the last layer's rate "
                         "nor that rate");
  Item out = tree::group("output");
  out.children.push_back(tree::text("type", "Output"));
  out.children.push_back(tree::integers("shape", info.values.at(output).shape));
  addNode(std::move(out));
  edge(last, "output");
  for (int i = 1; i < graph.outputs_size(); ++i)
    notes.push_back("output '" + graph.outputs(i).name() +
                    "' is not written (NIR graphs have the one output)");

  if (attrString(*snn, "reset", "subtract") == "subtract")
    notes.push_back("the neurons reset by subtraction (the paper's rule); "
                    "NIR's IF and LIF reset to v_reset = 0, so other NIR "
                    "back-ends will simulate reset to zero (fsnn reads the "
                    "rule back from the metadata)");
  if (neuron == "lif" && leak < 1)
    notes.push_back("fsnn reads out the λ-weighted rate of its LIF layer "
                    "(docs/method.md §1.4); a NIR back-end averaging the "
                    "readout over time uses the plain rate");
  if (folded)
    notes.push_back("batch norm is folded into the weights with the running "
                    "statistics (inference mode)");

  root = tree::group("/");
  root.children.push_back(tree::text("version", "0.6.0"));
  Item graphNode = tree::group("node");
  graphNode.children.push_back(tree::text("type", "NIRGraph"));
  graphNode.children.push_back(std::move(nodes));
  Item edgeItem;
  edgeItem.name = "edges";
  edgeItem.kind = Item::Kind::String;
  edgeItem.dims = {int64_t(edges.size()), 2};
  for (auto &[a, b] : edges) {
    edgeItem.strings.push_back(a);
    edgeItem.strings.push_back(b);
  }
  graphNode.children.push_back(std::move(edgeItem));
  Item metadata = tree::group("metadata");
  metadata.children.push_back(tree::text("producer", "fsnn"));
  metadata.children.push_back(tree::floats("fsnn_dt", {}, {options.dt}, false));
  metadata.children.push_back(
      tree::integers("fsnn_time_steps",
                     {findAttribute(*snn, "time_steps")
                          ? findAttribute(*snn, "time_steps")->i()
                          : 0},
                     true));
  if (options.embedModel) {
    std::string bytes;
    if (Status s = serializeModel(model, Format::Binary, bytes))
      return s;
    Item blob = tree::integers("fsnn_model", {});
    blob.dims = {int64_t(bytes.size())};
    blob.bytes = true;
    for (char c : bytes)
      blob.integers.push_back(uint8_t(c));
    metadata.children.push_back(std::move(blob));
  }
  graphNode.children.push_back(std::move(metadata));
  // HDF5 lists a group's entries by name; keep the tree in that order so a
  // tree read back compares equal to the one written.
  std::function<void(Item &)> sortTree = [&](Item &item) {
    std::sort(item.children.begin(), item.children.end(),
              [](const Item &a, const Item &b) { return a.name < b.name; });
    for (Item &child : item.children)
      sortTree(child);
  };
  root.children.push_back(std::move(graphNode));
  sortTree(root);
  return {};
}

} // namespace

Status exportNir(const ModelProto &model, const ModelInfo &info,
                 const ExportOptions &options, Item &root,
                 std::vector<std::string> &notes) {
  Exporter exporter(model, info, options, notes);
  return exporter.run(root);
}

} // namespace fsnn::nir
