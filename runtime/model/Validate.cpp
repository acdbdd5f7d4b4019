//===- Validate.cpp - checking a model before anything uses it ------------===//

#include "runtime/model/Validate.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <sstream>

namespace fsnn::model {

int64_t checkedElementCount(const std::vector<int64_t> &dims) {
  int64_t count = 1;
  for (int64_t dim : dims) {
    if (dim < 1 || dim > kMaxDimension)
      return -1;
    count *= dim;
    if (count > kMaxTensorElements)
      return -1;
  }
  return count;
}

std::string formatShape(const std::vector<int64_t> &shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i)
    os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

namespace {

using Kind = AttributeProto::ValueCase;

struct AttrSpec {
  const char *name;
  Kind kind;
};

/// What a node of each op type may look like. Inputs beyond `minInputs` are
/// optional; `outputs` < 0 means "decided by the node" (SpikingFeedback).
struct OpSpec {
  const char *opType;
  int minInputs;
  int maxInputs;
  int outputs;
  std::vector<AttrSpec> attributes;
};

const std::vector<OpSpec> &opSpecs() {
  static const std::vector<OpSpec> specs = {
      {"Linear", 2, 3, 1, {}},
      {"Conv2d",
       2,
       3,
       1,
       {{"strides", AttributeProto::kInts}, {"pads", AttributeProto::kInts}}},
      {"ConvTranspose2d",
       2,
       3,
       1,
       {{"strides", AttributeProto::kInts},
        {"pads", AttributeProto::kInts},
        {"output_padding", AttributeProto::kInts}}},
      {"BatchNorm", 5, 5, 1, {{"epsilon", AttributeProto::kF}}},
      {"Dropout", 1, 1, 1, {{"rate", AttributeProto::kF}}},
      {"Flatten", 1, 1, 1, {}},
      {"AvgPool2d",
       1,
       1,
       1,
       {{"kernel", AttributeProto::kInts}, {"strides", AttributeProto::kInts}}},
      {"SpectralWeight", 4, 4, 1, {}},
      {"SpikingFeedback",
       1,
       1,
       -1,
       {{"time_steps", AttributeProto::kI},
        {"neuron", AttributeProto::kS},
        {"threshold", AttributeProto::kF},
        {"leak", AttributeProto::kF},
        {"reset", AttributeProto::kS},
        {"input_kind", AttributeProto::kS},
        {"layers", AttributeProto::kGraphs},
        {"feedback", AttributeProto::kGraphs},
        {"solver", AttributeProto::kS},
        {"solver_iterations", AttributeProto::kI},
        {"solver_tolerance", AttributeProto::kF}}},
  };
  return specs;
}

const OpSpec *findSpec(const std::string &opType) {
  for (const OpSpec &spec : opSpecs())
    if (opType == spec.opType)
      return &spec;
  return nullptr;
}

const char *kindName(Kind kind) {
  switch (kind) {
  case AttributeProto::kI:
    return "an integer (i)";
  case AttributeProto::kF:
    return "a float (f)";
  case AttributeProto::kS:
    return "a string (s)";
  case AttributeProto::kInts:
    return "an integer list (ints)";
  case AttributeProto::kGraphs:
    return "a graph list (graphs)";
  default:
    return "nothing";
  }
}

/// Validation state shared by the checks of one model.
class Validator {
public:
  Validator(const ModelProto &model, ModelInfo &info)
      : model(model), info(info) {}

  Status run();

private:
  // Messages -----------------------------------------------------------------
  static std::string where(const NodeProto &node) {
    return "node '" + node.name() + "' (" + node.op_type() + ")";
  }

  // Attributes ----------------------------------------------------------------
  const AttributeProto *attribute(const NodeProto &node, const char *name) {
    return findAttribute(node, name);
  }
  /// A numeric attribute read with `get`; `fallback` when absent and not
  /// `required`.
  template <typename T, typename Getter>
  Status numberAttr(const NodeProto &node, const char *name, bool required,
                    T fallback, T &out, Getter get) {
    const AttributeProto *attr = attribute(node, name);
    if (!attr) {
      if (required)
        return Status::error(where(node) + ": attribute '" + name +
                             "' is required");
      out = fallback;
      return Status();
    }
    out = get(*attr);
    return Status();
  }
  Status intAttr(const NodeProto &node, const char *name, bool required,
                 int64_t fallback, int64_t &out) {
    return numberAttr(node, name, required, fallback, out,
                      [](const AttributeProto &a) { return a.i(); });
  }
  Status floatAttr(const NodeProto &node, const char *name, bool required,
                   double fallback, double &out) {
    if (Status s = numberAttr(node, name, required, fallback, out,
                              [](const AttributeProto &a) { return a.f(); }))
      return s;
    if (!std::isfinite(out))
      return Status::error(where(node) + ": attribute '" + name +
                           "' must be finite");
    return Status();
  }
  Status stringAttr(const NodeProto &node, const char *name,
                    const std::vector<std::string> &allowed,
                    std::string fallback, std::string &out) {
    const AttributeProto *attr = attribute(node, name);
    out = attr ? attr->s() : fallback;
    if (std::find(allowed.begin(), allowed.end(), out) != allowed.end())
      return Status();
    std::string list;
    for (size_t i = 0; i < allowed.size(); ++i)
      list += (i ? ", " : "") + allowed[i];
    return Status::error(where(node) + ": attribute '" + name + "' is '" + out +
                         "', expected one of: " + list);
  }
  /// A list of exactly `size` integers >= `minimum`.
  Status pairAttr(const NodeProto &node, const char *name, bool required,
                  std::vector<int64_t> fallback, int64_t minimum,
                  std::vector<int64_t> &out) {
    const AttributeProto *attr = attribute(node, name);
    if (!attr) {
      if (required)
        return Status::error(where(node) + ": attribute '" + name +
                             "' is required");
      out = std::move(fallback);
      return Status();
    }
    out.assign(attr->ints().values().begin(), attr->ints().values().end());
    bool ok = out.size() == 2;
    for (int64_t value : out)
      ok = ok && value >= minimum && value <= kMaxDimension;
    if (!ok)
      return Status::error(
          where(node) + ": attribute '" + name + "' must be 2 integers in [" +
          std::to_string(minimum) + ", " + std::to_string(kMaxDimension) +
          "], got " + formatShape(out));
    return Status();
  }

  // Values
  // ---------------------------------------------------------------------
  /// Looks up an input of `node`, which must be defined in `scope` (the
  /// enclosing map's values) or at top level.
  Status input(const NodeProto &node, int index,
               const std::map<std::string, ValueInfo> *scope,
               const ValueInfo *&out) {
    const std::string &name = node.inputs(index);
    if (scope) {
      auto local = scope->find(name);
      if (local != scope->end()) {
        out = &local->second;
        return Status();
      }
    }
    auto global = info.values.find(name);
    if (global == info.values.end())
      return Status::error(where(node) + ": input " + std::to_string(index) +
                           " '" + name +
                           "' is not defined (not a graph input, an "
                           "initializer or the output of an earlier node)");
    if (scope && !global->second.isParameter)
      return Status::error(where(node) + ": input " + std::to_string(index) +
                           " '" + name +
                           "' is an activation from outside the map; a map "
                           "may use only its own input and parameters");
    out = &global->second;
    return checkNotCount(node, index, *out);
  }
  Status checkNotCount(const NodeProto &node, int index,
                       const ValueInfo &value) {
    if (!value.isCount)
      return Status();
    return Status::error(where(node) + ": input " + std::to_string(index) +
                         " '" + node.inputs(index) +
                         "' is a spike count (int32); ops take float values");
  }
  Status expectActivation(const NodeProto &node, int index,
                          const ValueInfo &value, size_t rank,
                          const char *layout) {
    if (value.isParameter)
      return Status::error(where(node) + ": input " + std::to_string(index) +
                           " '" + node.inputs(index) +
                           "' must be an activation, but it is a parameter");
    if (value.shape.size() != rank)
      return Status::error(where(node) + ": input " + std::to_string(index) +
                           " '" + node.inputs(index) + "' must have rank " +
                           std::to_string(rank) + " (" + layout +
                           ", per sample), got " + formatShape(value.shape));
    return Status();
  }
  Status expectParameter(const NodeProto &node, int index,
                         const ValueInfo &value,
                         const std::vector<int64_t> &shape, const char *role) {
    if (!value.isParameter)
      return Status::error(where(node) + ": input " + std::to_string(index) +
                           " '" + node.inputs(index) + "' (" + role +
                           ") must be a parameter (an initializer or a "
                           "SpectralWeight output), but it is an activation");
    if (value.shape != shape)
      return Status::error(where(node) + ": input " + std::to_string(index) +
                           " '" + node.inputs(index) + "' (" + role +
                           ") has shape " + formatShape(value.shape) +
                           " but the node needs " + formatShape(shape));
    return Status();
  }
  void markUse(const std::string &name, bool trainable) {
    auto it = initializerUse.find(name);
    if (it != initializerUse.end())
      it->second = std::max(it->second, trainable ? 2 : 1);
  }

  // Checks
  // ----------------------------------------------------------------------
  Status checkHeader();
  Status checkNames(const GraphProto &graph, const std::string &where);
  Status checkInitializers();
  Status checkGraphInputs();
  Status checkNodeStructure(const NodeProto &node, bool inMap);
  Status orderNodes();
  Status inferNode(const NodeProto &node,
                   const std::map<std::string, ValueInfo> *scope,
                   std::vector<ValueInfo> &outputs);
  Status inferFeedback(const NodeProto &node, std::vector<ValueInfo> &outputs);
  Status inferMap(const NodeProto &owner, const GraphProto &map,
                  const std::string &label,
                  const std::vector<int64_t> &inputShape,
                  std::vector<int64_t> &outputShape);
  Status define(const NodeProto &node, const std::string &name, ValueInfo value,
                std::map<std::string, ValueInfo> *scope);
  Status checkGraphOutputs();

  const ModelProto &model;
  ModelInfo &info;
  /// Every name defined anywhere in the model, to keep names unique.
  std::set<std::string> allNames;
  /// Initializer name -> 0 unused, 1 used as state, 2 used as a parameter.
  std::map<std::string, int> initializerUse;
};

/// Names reach places where a byte could change the meaning: the compiled
/// library's descriptor is whitespace-separated lines, file names, logs.
/// Every name in the model is at most kMaxNameBytes bytes with no
/// whitespace or control characters (UTF-8 is fine).
static Status checkName(const std::string &name, const std::string &what) {
  if (name.size() > kMaxNameBytes)
    return Status::error(what + " name of " + std::to_string(name.size()) +
                         " bytes is longer than the limit of " +
                         std::to_string(kMaxNameBytes));
  for (unsigned char c : name)
    if (c <= 0x20 || c == 0x7f) {
      char code[8];
      std::snprintf(code, sizeof code, "0x%02x", c);
      std::string shown;
      for (unsigned char d : name.substr(0, 40))
        shown += d <= 0x20 || d == 0x7f ? '?' : char(d);
      return Status::error(what + " name '" + shown + "' contains the byte " +
                           code +
                           " (whitespace or a control character); names "
                           "are printable and contain no spaces");
    }
  return Status();
}

Status Validator::checkNames(const GraphProto &graph,
                             const std::string &where) {
  if (Status s = checkName(graph.name(), where))
    return s;
  for (const ValueInfoProto &value : graph.inputs())
    if (Status s = checkName(value.name(), where + " input"))
      return s;
  for (const ValueInfoProto &value : graph.outputs())
    if (Status s = checkName(value.name(), where + " output"))
      return s;
  for (const TensorProto &tensor : graph.initializers())
    if (Status s = checkName(tensor.name(), "initializer"))
      return s;
  for (const NodeProto &node : graph.nodes()) {
    if (Status s = checkName(node.name(), "node"))
      return s;
    for (const std::string &name : node.inputs())
      if (Status s = checkName(name, "node '" + node.name() + "' input"))
        return s;
    for (const std::string &name : node.outputs())
      if (Status s = checkName(name, "node '" + node.name() + "' output"))
        return s;
    for (const AttributeProto &attribute : node.attributes()) {
      if (Status s = checkName(attribute.name(),
                               "node '" + node.name() + "' attribute"))
        return s;
      if (attribute.has_graphs())
        for (const GraphProto &map : attribute.graphs().values())
          if (Status s = checkNames(map, "node '" + node.name() + "' map"))
            return s;
    }
  }
  return Status();
}

Status Validator::checkHeader() {
  if (model.format_version() <= 0)
    return Status::error("format_version is missing or not positive (got " +
                         std::to_string(model.format_version()) + ")");
  if (model.format_version() > kFormatVersion)
    return Status::error("format_version " +
                         std::to_string(model.format_version()) +
                         " is newer than this reader supports (" +
                         std::to_string(kFormatVersion) + "); upgrade fsnn");
  if (!model.has_graph())
    return Status::error("the model has no graph");
  const GraphProto &graph = model.graph();
  if (graph.inputs_size() == 0)
    return Status::error("graph '" + graph.name() + "' has no inputs");
  if (graph.outputs_size() == 0)
    return Status::error("graph '" + graph.name() + "' has no outputs");
  if (graph.nodes_size() == 0)
    return Status::error("graph '" + graph.name() + "' has no nodes");
  return Status();
}

Status Validator::checkGraphInputs() {
  for (const ValueInfoProto &input : model.graph().inputs()) {
    std::string what = "graph input '" + input.name() + "'";
    if (input.name().empty())
      return Status::error("a graph input has no name");
    if (!allNames.insert(input.name()).second)
      return Status::error(what + ": the name is defined twice");
    if (input.dtype() != TensorProto::FLOAT32 &&
        input.dtype() != TensorProto::FLOAT64)
      return Status::error(what + ": dtype " + dtypeName(input.dtype()) +
                           " is not supported; use float32 or float64");
    if (info.dtype == TensorProto::UNDEFINED)
      info.dtype = input.dtype();
    else if (input.dtype() != info.dtype)
      return Status::error(what + ": dtype " + dtypeName(input.dtype()) +
                           " differs from the model's " +
                           dtypeName(info.dtype));
    std::vector<int64_t> shape(input.shape().begin(), input.shape().end());
    if (shape.empty() || checkedElementCount(shape) < 0)
      return Status::error(what + ": shape " + formatShape(shape) +
                           " must have 1 or more dims, each in [1, " +
                           std::to_string(kMaxDimension) + "], at most " +
                           std::to_string(kMaxTensorElements) + " elements");
    info.values[input.name()] = ValueInfo{shape, false};
    info.allValues[input.name()] = info.values[input.name()];
  }
  return Status();
}

Status Validator::checkInitializers() {
  for (const TensorProto &tensor : model.graph().initializers()) {
    std::string what = "initializer '" + tensor.name() + "'";
    if (tensor.name().empty())
      return Status::error("an initializer has no name");
    if (!allNames.insert(tensor.name()).second)
      return Status::error(what + ": the name is defined twice");
    switch (tensor.dtype()) {
    case TensorProto::FLOAT32:
    case TensorProto::FLOAT64:
      break;
    case TensorProto::INT8:
      return Status::error(what + ": dtype int8 is reserved and not supported "
                                  "yet");
    case TensorProto::UNDEFINED:
      return Status::error(what + ": dtype is missing");
    default:
      return Status::error(what + ": dtype " + dtypeName(tensor.dtype()) +
                           " is not allowed for an initializer");
    }
    if (tensor.dtype() != info.dtype)
      return Status::error(what + ": dtype " + dtypeName(tensor.dtype()) +
                           " differs from the model's " +
                           dtypeName(info.dtype));
    std::vector<int64_t> dims(tensor.dims().begin(), tensor.dims().end());
    for (size_t i = 0; i < dims.size(); ++i)
      if (dims[i] < 1 || dims[i] > kMaxDimension)
        return Status::error(what + ": dims[" + std::to_string(i) + "] = " +
                             std::to_string(dims[i]) + " is outside [1, " +
                             std::to_string(kMaxDimension) + "]");
    int64_t count = checkedElementCount(dims);
    if (count < 0)
      return Status::error(what + ": dims " + formatShape(dims) +
                           " exceed the limit of " +
                           std::to_string(kMaxTensorElements) + " elements");
    uint64_t expected =
        static_cast<uint64_t>(count) * elementSize(tensor.dtype());
    if (tensor.values_size() > 0) {
      if (!tensor.raw_data().empty())
        return Status::error(what + ": has both raw_data and values; give "
                                    "one");
      if (static_cast<uint64_t>(tensor.values_size()) !=
          static_cast<uint64_t>(count))
        return Status::error(what + ": has " +
                             std::to_string(tensor.values_size()) +
                             " values but dims " + formatShape(dims) +
                             " need " + std::to_string(count));
    } else if (tensor.raw_data().size() != expected)
      return Status::error(
          what + ": raw_data has " + std::to_string(tensor.raw_data().size()) +
          " bytes but dims " + formatShape(dims) + " of " +
          dtypeName(tensor.dtype()) + " need " + std::to_string(expected));
    // A NaN or infinite weight turns every output into NaN, and the run
    // then reports a silent chance-level accuracy.
    if (tensor.values_size() > 0 || !tensor.raw_data().empty()) {
      // In the tensor's dtype: a text model's `values` are doubles, and
      // 1e300 is finite as a double but infinite as the float32 it becomes.
      std::vector<double> values = tensorValues(tensor);
      bool narrow = tensor.dtype() == TensorProto::FLOAT32;
      for (size_t i = 0; i < values.size(); ++i)
        if (!std::isfinite(narrow ? double(float(values[i])) : values[i]))
          return Status::error(what + ": element " + std::to_string(i) +
                               " is " +
                               (std::isnan(values[i]) ? "NaN" : "infinite") +
                               "; parameters must be finite");
    }
    info.values[tensor.name()] = ValueInfo{dims, true};
    info.allValues[tensor.name()] = info.values[tensor.name()];
    initializerUse[tensor.name()] = 0;
  }
  return Status();
}

Status Validator::checkNodeStructure(const NodeProto &node, bool inMap) {
  if (node.name().empty())
    return Status::error("a node of type '" + node.op_type() + "' has no name");
  const OpSpec *spec = findSpec(node.op_type());
  if (!spec)
    return Status::error(where(node) + ": unknown op type '" + node.op_type() +
                         "'");
  if (inMap && (node.op_type() == "SpikingFeedback" ||
                node.op_type() == "SpectralWeight"))
    return Status::error(where(node) + ": op type '" + node.op_type() +
                         "' is not allowed inside a map; put it in the "
                         "top-level graph");
  if (node.inputs_size() < spec->minInputs ||
      node.inputs_size() > spec->maxInputs)
    return Status::error(where(node) + ": expects " +
                         (spec->minInputs == spec->maxInputs
                              ? std::to_string(spec->minInputs)
                              : std::to_string(spec->minInputs) + " to " +
                                    std::to_string(spec->maxInputs)) +
                         " inputs, got " + std::to_string(node.inputs_size()));
  if (spec->outputs >= 0 && node.outputs_size() != spec->outputs)
    return Status::error(where(node) + ": expects " +
                         std::to_string(spec->outputs) + " output(s), got " +
                         std::to_string(node.outputs_size()));
  std::set<std::string> seen;
  for (const AttributeProto &attr : node.attributes()) {
    auto it =
        std::find_if(spec->attributes.begin(), spec->attributes.end(),
                     [&](const AttrSpec &a) { return attr.name() == a.name; });
    if (it == spec->attributes.end())
      return Status::error(where(node) + ": unknown attribute '" + attr.name() +
                           "'");
    if (!seen.insert(attr.name()).second)
      return Status::error(where(node) + ": attribute '" + attr.name() +
                           "' is given twice");
    if (attr.value_case() != it->kind)
      return Status::error(where(node) + ": attribute '" + attr.name() +
                           "' must be " + kindName(it->kind) + ", got " +
                           kindName(attr.value_case()));
  }
  return Status();
}

Status Validator::orderNodes() {
  const GraphProto &graph = model.graph();
  int n = graph.nodes_size();
  // Which top-level node defines each name.
  std::map<std::string, int> producer;
  for (int i = 0; i < n; ++i)
    for (const std::string &output : graph.nodes(i).outputs())
      producer.emplace(output, i);
  // Node i depends on the producers of every name it (or its maps) uses.
  std::vector<std::vector<int>> dependsOn(n);
  for (int i = 0; i < n; ++i) {
    std::vector<const NodeProto *> uses = {&graph.nodes(i)};
    for (const AttributeProto &attr : graph.nodes(i).attributes())
      if (attr.value_case() == AttributeProto::kGraphs)
        for (const GraphProto &map : attr.graphs().values())
          for (const NodeProto &inner : map.nodes())
            uses.push_back(&inner);
    for (const NodeProto *use : uses)
      for (const std::string &name : use->inputs()) {
        auto it = producer.find(name);
        if (it != producer.end())
          dependsOn[i].push_back(it->second);
      }
  }
  // Depth-first topological sort; a back edge is a cycle, reported by name.
  std::vector<int> state(n, 0); // 0 new, 1 on the stack, 2 done
  std::vector<int> stack;
  for (int root = 0; root < n; ++root) {
    if (state[root])
      continue;
    // Iterative DFS: the depth is controlled by the file.
    std::vector<std::pair<int, size_t>> work = {{root, 0}};
    state[root] = 1;
    stack = {root};
    while (!work.empty()) {
      auto &[node, next] = work.back();
      if (next < dependsOn[node].size()) {
        int dep = dependsOn[node][next++];
        if (state[dep] == 1) {
          std::string cycle = graph.nodes(dep).name();
          auto at = std::find(stack.begin(), stack.end(), dep);
          for (++at; at != stack.end(); ++at)
            cycle += " -> " + graph.nodes(*at).name();
          cycle += " -> " + graph.nodes(dep).name();
          return Status::error(
              "cycle between nodes " + cycle +
              " is not a declared feedback; recurrence belongs in the "
              "'feedback' map of a SpikingFeedback node");
        }
        if (state[dep] == 0) {
          state[dep] = 1;
          stack.push_back(dep);
          work.push_back({dep, 0});
        }
        continue;
      }
      state[node] = 2;
      info.order.push_back(node);
      stack.pop_back();
      work.pop_back();
    }
  }
  return Status();
}

Status Validator::define(const NodeProto &node, const std::string &name,
                         ValueInfo value,
                         std::map<std::string, ValueInfo> *scope) {
  if (name.empty())
    return Status::error(where(node) + ": an output has no name");
  if (!allNames.insert(name).second)
    return Status::error(where(node) + ": output '" + name +
                         "' is already defined elsewhere in the model");
  if (!value.isParameter && checkedElementCount(value.shape) < 0)
    return Status::error(where(node) + ": output '" + name + "' of shape " +
                         formatShape(value.shape) + " exceeds the limit of " +
                         std::to_string(kMaxTensorElements) +
                         " elements per sample");
  info.allValues[name] = value;
  (scope ? *scope : info.values)[name] = std::move(value);
  return Status();
}

Status Validator::inferMap(const NodeProto &owner, const GraphProto &map,
                           const std::string &label,
                           const std::vector<int64_t> &inputShape,
                           std::vector<int64_t> &outputShape) {
  std::string what = where(owner) + ": " + label;
  if (map.inputs_size() != 1)
    return Status::error(what + " must have exactly 1 input, got " +
                         std::to_string(map.inputs_size()));
  if (map.outputs_size() != 1)
    return Status::error(what + " must have exactly 1 output, got " +
                         std::to_string(map.outputs_size()));
  if (map.initializers_size() != 0)
    return Status::error(what + " has initializers; put them in the "
                                "top-level graph");
  const ValueInfoProto &in = map.inputs(0);
  std::vector<int64_t> declared(in.shape().begin(), in.shape().end());
  if (declared != inputShape)
    return Status::error(what + " input '" + in.name() + "' has shape " +
                         formatShape(declared) + " but receives " +
                         formatShape(inputShape));
  std::map<std::string, ValueInfo> scope;
  if (in.name().empty() || !allNames.insert(in.name()).second)
    return Status::error(what + " input name '" + in.name() +
                         "' is empty or already defined");
  scope[in.name()] = ValueInfo{inputShape, false};
  info.allValues[in.name()] = scope[in.name()];
  // Maps are small, ordered lists: each node must come after its inputs.
  for (const NodeProto &node : map.nodes()) {
    if (Status status = checkNodeStructure(node, /*inMap=*/true))
      return status;
    std::vector<ValueInfo> outputs;
    if (Status status = inferNode(node, &scope, outputs))
      return status;
    for (size_t i = 0; i < outputs.size(); ++i)
      if (Status status = define(node, node.outputs(i), outputs[i], &scope))
        return status;
  }
  auto out = scope.find(map.outputs(0).name());
  if (out == scope.end() || out->second.isParameter)
    return Status::error(what + " output '" + map.outputs(0).name() +
                         "' is not computed inside the map");
  const ValueInfoProto &declaredOut = map.outputs(0);
  std::vector<int64_t> declaredShape(declaredOut.shape().begin(),
                                     declaredOut.shape().end());
  if (!declaredShape.empty() && declaredShape != out->second.shape)
    return Status::error(what + " output '" + declaredOut.name() +
                         "' is declared with shape " +
                         formatShape(declaredShape) + " but has shape " +
                         formatShape(out->second.shape));
  outputShape = out->second.shape;
  return Status();
}

Status Validator::inferFeedback(const NodeProto &node,
                                std::vector<ValueInfo> &outputs) {
  const ValueInfo *x;
  if (Status status = input(node, 0, nullptr, x))
    return status;
  if (x->isParameter)
    return Status::error(where(node) + ": input 0 '" + node.inputs(0) +
                         "' must be an activation, but it is a parameter");
  int64_t timeSteps, iterations;
  double threshold, leak, tolerance;
  std::string neuron, reset, inputKind, solver;
  if (Status s = intAttr(node, "time_steps", true, 0, timeSteps))
    return s;
  if (timeSteps < 1 || timeSteps > kMaxTimeSteps)
    return Status::error(where(node) +
                         ": attribute 'time_steps' must be in "
                         "[1, " +
                         std::to_string(kMaxTimeSteps) + "], got " +
                         std::to_string(timeSteps));
  if (Status s = stringAttr(node, "neuron", {"if", "lif"}, "if", neuron))
    return s;
  if (Status s = floatAttr(node, "threshold", false, 2.0, threshold))
    return s;
  if (threshold <= 0)
    return Status::error(where(node) +
                         ": attribute 'threshold' (V_th) must be > 0, got " +
                         std::to_string(threshold));
  if (Status s = floatAttr(node, "leak", neuron == "lif", 1.0, leak))
    return s;
  if (!(leak > 0 && leak <= 1))
    return Status::error(where(node) +
                         ": attribute 'leak' (lambda) must be in (0, 1], got " +
                         std::to_string(leak));
  if (neuron == "if" && leak != 1.0)
    return Status::error(where(node) + ": attribute 'leak' must be 1 for an "
                                       "'if' neuron; use neuron 'lif'");
  if (Status s =
          stringAttr(node, "reset", {"subtract", "zero"}, "subtract", reset))
    return s;
  if (Status s = stringAttr(node, "input_kind", {"static", "spike_frames"},
                            "static", inputKind))
    return s;
  if (Status s =
          stringAttr(node, "solver", {"broyden", "fixed_point", "anderson"},
                     "broyden", solver))
    return s;
  if (Status s = intAttr(node, "solver_iterations", false, 30, iterations))
    return s;
  if (iterations < 1 || iterations > kMaxSolverIterations)
    return Status::error(where(node) +
                         ": attribute 'solver_iterations' must "
                         "be in [1, " +
                         std::to_string(kMaxSolverIterations) + "], got " +
                         std::to_string(iterations));
  if (Status s = floatAttr(node, "solver_tolerance", false, 0.0, tolerance))
    return s;
  if (tolerance < 0)
    return Status::error(where(node) + ": attribute 'solver_tolerance' must "
                                       "be >= 0");

  const AttributeProto *layers = attribute(node, "layers");
  const AttributeProto *feedback = attribute(node, "feedback");
  if (!layers || layers->graphs().values_size() == 0)
    return Status::error(where(node) +
                         ": attribute 'layers' must hold at least one map");
  if (!feedback || feedback->graphs().values_size() != 1)
    return Status::error(where(node) +
                         ": attribute 'feedback' must hold exactly one map");
  int numLayers = layers->graphs().values_size();
  if (node.outputs_size() != 2 * numLayers)
    return Status::error(where(node) + ": expects " +
                         std::to_string(2 * numLayers) +
                         " outputs (the rates, then the spike counts, of each "
                         "of its " +
                         std::to_string(numLayers) + " layers), got " +
                         std::to_string(node.outputs_size()));

  std::vector<int64_t> frame = x->shape;
  if (inputKind == "spike_frames") {
    if (frame.size() < 2 || frame[0] != timeSteps)
      return Status::error(where(node) + ": spike_frames input '" +
                           node.inputs(0) + "' has shape " +
                           formatShape(frame) +
                           "; its first dim must be time_steps (" +
                           std::to_string(timeSteps) + ")");
    frame.erase(frame.begin());
  }
  std::vector<std::vector<int64_t>> layerShapes;
  std::vector<int64_t> in = frame;
  for (int l = 0; l < numLayers; ++l) {
    std::vector<int64_t> out;
    if (Status s = inferMap(node, layers->graphs().values(l),
                            "layer map " + std::to_string(l + 1), in, out))
      return s;
    layerShapes.push_back(out);
    in = out;
  }
  std::vector<int64_t> back;
  if (Status s = inferMap(node, feedback->graphs().values(0), "feedback map",
                          layerShapes.back(), back))
    return s;
  if (back != layerShapes.front())
    return Status::error(where(node) + ": feedback map yields shape " +
                         formatShape(back) + " but layer 1 has shape " +
                         formatShape(layerShapes.front()));
  for (const auto &shape : layerShapes)
    outputs.push_back(ValueInfo{shape, false});
  for (const auto &shape : layerShapes)
    outputs.push_back(ValueInfo{shape, false, /*isCount=*/true});

  int64_t frameNeurons = checkedElementCount(frame);
  info.inputNeurons += frameNeurons;
  info.neuronCount += frameNeurons;
  for (const auto &shape : layerShapes)
    info.neuronCount += checkedElementCount(shape);
  LayerSummary summary{
      node.name(), node.op_type(),
      std::to_string(numLayers) + " layer(s), " +
          (neuron == "if" ? "IF" : "LIF leak " + std::to_string(leak)) +
          ", V_th " + std::to_string(threshold) + ", T " +
          std::to_string(timeSteps) + ", " + inputKind + " input, adjoint " +
          solver + " x" + std::to_string(iterations),
      layerShapes};
  info.layers.push_back(summary);
  return Status();
}

Status Validator::inferNode(const NodeProto &node,
                            const std::map<std::string, ValueInfo> *scope,
                            std::vector<ValueInfo> &outputs) {
  const std::string &op = node.op_type();
  if (op == "SpikingFeedback")
    return inferFeedback(node, outputs);
  std::vector<const ValueInfo *> in(node.inputs_size());
  for (int i = 0; i < node.inputs_size(); ++i)
    if (Status s = input(node, i, scope, in[i]))
      return s;
  auto bias = [&](int index, int64_t channels) -> Status {
    if (node.inputs_size() <= index)
      return Status();
    markUse(node.inputs(index), true);
    return expectParameter(node, index, *in[index], {channels}, "bias");
  };
  std::string detail;
  if (op == "Linear") {
    if (Status s = expectActivation(node, 0, *in[0], 1, "features"))
      return s;
    const ValueInfo &w = *in[1];
    if (!w.isParameter || w.shape.size() != 2)
      return Status::error(where(node) + ": input 1 '" + node.inputs(1) +
                           "' (weight) must be a rank-2 parameter [out, in], "
                           "got " +
                           std::string(w.isParameter
                                           ? "shape " + formatShape(w.shape)
                                           : "an activation"));
    if (w.shape[1] != in[0]->shape[0])
      return Status::error(where(node) + ": weight '" + node.inputs(1) +
                           "' has " + std::to_string(w.shape[1]) +
                           " input features but input '" + node.inputs(0) +
                           "' has " + std::to_string(in[0]->shape[0]));
    markUse(node.inputs(1), true);
    if (Status s = bias(2, w.shape[0]))
      return s;
    outputs.push_back(ValueInfo{{w.shape[0]}, false});
  } else if (op == "Conv2d" || op == "ConvTranspose2d") {
    bool transposed = op == "ConvTranspose2d";
    if (Status s = expectActivation(node, 0, *in[0], 3, "CHW"))
      return s;
    const ValueInfo &w = *in[1];
    if (!w.isParameter || w.shape.size() != 4)
      return Status::error(
          where(node) + ": input 1 '" + node.inputs(1) +
          "' (weight) must be a rank-4 parameter " +
          (transposed ? "[in, out, kh, kw]" : "[out, in, kh, kw]") + ", got " +
          std::string(w.isParameter ? "shape " + formatShape(w.shape)
                                    : "an activation"));
    int64_t inChannels = transposed ? w.shape[0] : w.shape[1];
    int64_t outChannels = transposed ? w.shape[1] : w.shape[0];
    if (inChannels != in[0]->shape[0])
      return Status::error(where(node) + ": weight '" + node.inputs(1) +
                           "' expects " + std::to_string(inChannels) +
                           " input channels but input '" + node.inputs(0) +
                           "' has " + std::to_string(in[0]->shape[0]));
    markUse(node.inputs(1), true);
    if (Status s = bias(2, outChannels))
      return s;
    std::vector<int64_t> strides, pads, outputPadding = {0, 0};
    if (Status s = pairAttr(node, "strides", false, {1, 1}, 1, strides))
      return s;
    if (Status s = pairAttr(node, "pads", false, {0, 0}, 0, pads))
      return s;
    if (transposed) {
      if (Status s =
              pairAttr(node, "output_padding", false, {0, 0}, 0, outputPadding))
        return s;
      for (int i = 0; i < 2; ++i)
        if (outputPadding[i] >= strides[i])
          return Status::error(where(node) + ": attribute 'output_padding' "
                                             "must be smaller than 'strides'");
    }
    std::vector<int64_t> shape = {outChannels};
    for (int i = 0; i < 2; ++i) {
      int64_t size = in[0]->shape[1 + i], kernel = w.shape[2 + i];
      int64_t out =
          transposed ? (size - 1) * strides[i] - 2 * pads[i] + kernel +
                           outputPadding[i]
                     : (size + 2 * pads[i] - kernel < 0
                            ? 0
                            : (size + 2 * pads[i] - kernel) / strides[i] + 1);
      if (out < 1 || out > kMaxDimension)
        return Status::error(
            where(node) + ": kernel " + formatShape({w.shape[2], w.shape[3]}) +
            " with strides " + formatShape(strides) + " and pads " +
            formatShape(pads) + " gives no valid output for input " +
            formatShape(in[0]->shape));
      shape.push_back(out);
    }
    detail = "strides " + formatShape(strides) + " pads " + formatShape(pads);
    outputs.push_back(ValueInfo{shape, false});
  } else if (op == "BatchNorm") {
    const ValueInfo &x = *in[0];
    if (x.isParameter || (x.shape.size() != 1 && x.shape.size() != 3))
      return Status::error(where(node) + ": input 0 '" + node.inputs(0) +
                           "' must be an activation of rank 1 or 3 (C or "
                           "CHW), got " +
                           formatShape(x.shape));
    const char *roles[] = {"gamma", "beta", "running_mean", "running_var"};
    for (int i = 1; i <= 4; ++i) {
      if (Status s =
              expectParameter(node, i, *in[i], {x.shape[0]}, roles[i - 1]))
        return s;
      markUse(node.inputs(i), i <= 2);
    }
    double epsilon;
    if (Status s = floatAttr(node, "epsilon", false, 1e-5, epsilon))
      return s;
    if (epsilon <= 0)
      return Status::error(where(node) + ": attribute 'epsilon' must be > 0");
    outputs.push_back(ValueInfo{x.shape, false});
  } else if (op == "Dropout") {
    if (in[0]->isParameter)
      return Status::error(where(node) + ": input 0 '" + node.inputs(0) +
                           "' must be an activation, but it is a parameter");
    double rate;
    if (Status s = floatAttr(node, "rate", true, 0, rate))
      return s;
    if (rate < 0 || rate >= 1)
      return Status::error(where(node) +
                           ": attribute 'rate' must be in [0, 1), got " +
                           std::to_string(rate));
    detail = "rate " + std::to_string(rate);
    outputs.push_back(ValueInfo{in[0]->shape, false});
  } else if (op == "Flatten") {
    if (in[0]->isParameter)
      return Status::error(where(node) + ": input 0 '" + node.inputs(0) +
                           "' must be an activation, but it is a parameter");
    outputs.push_back(ValueInfo{{checkedElementCount(in[0]->shape)}, false});
  } else if (op == "AvgPool2d") {
    if (Status s = expectActivation(node, 0, *in[0], 3, "CHW"))
      return s;
    std::vector<int64_t> kernel, strides;
    if (Status s = pairAttr(node, "kernel", true, {}, 1, kernel))
      return s;
    if (Status s = pairAttr(node, "strides", false, kernel, 1, strides))
      return s;
    std::vector<int64_t> shape = {in[0]->shape[0]};
    for (int i = 0; i < 2; ++i) {
      int64_t span = in[0]->shape[1 + i] - kernel[i];
      if (span < 0)
        return Status::error(where(node) + ": kernel " + formatShape(kernel) +
                             " does not fit input " +
                             formatShape(in[0]->shape));
      shape.push_back(span / strides[i] + 1);
    }
    outputs.push_back(ValueInfo{shape, false});
  } else if (op == "SpectralWeight") {
    const ValueInfo &v = *in[0];
    if (!v.isParameter || v.shape.size() < 2)
      return Status::error(where(node) + ": input 0 '" + node.inputs(0) +
                           "' (V) must be a parameter of rank >= 2");
    int64_t rows = v.shape[0];
    int64_t columns = checkedElementCount(v.shape) / rows;
    if (Status s = expectParameter(node, 1, *in[1], {}, "g"))
      return s;
    if (Status s = expectParameter(node, 2, *in[2], {rows}, "u"))
      return s;
    if (Status s = expectParameter(node, 3, *in[3], {columns}, "v"))
      return s;
    markUse(node.inputs(0), true);
    markUse(node.inputs(1), true);
    markUse(node.inputs(2), false);
    markUse(node.inputs(3), false);
    outputs.push_back(ValueInfo{v.shape, true});
  }
  if (!scope) {
    LayerSummary summary{node.name(), op, detail, {}};
    for (const ValueInfo &out : outputs)
      summary.outputShapes.push_back(out.shape);
    info.layers.push_back(summary);
  }
  return Status();
}

Status Validator::checkGraphOutputs() {
  for (const ValueInfoProto &output : model.graph().outputs()) {
    auto it = info.values.find(output.name());
    if (it == info.values.end())
      return Status::error("graph output '" + output.name() +
                           "' is not computed by any node");
    if (it->second.isParameter)
      return Status::error("graph output '" + output.name() +
                           "' is a parameter; outputs are activations");
    TensorProto::DataType dtype =
        it->second.isCount ? TensorProto::INT32 : info.dtype;
    if (output.dtype() != TensorProto::UNDEFINED && output.dtype() != dtype)
      return Status::error("graph output '" + output.name() + "' is declared " +
                           dtypeName(output.dtype()) + " but is " +
                           dtypeName(dtype));
    std::vector<int64_t> declared(output.shape().begin(), output.shape().end());
    if (!declared.empty() && declared != it->second.shape)
      return Status::error("graph output '" + output.name() +
                           "' is declared with shape " + formatShape(declared) +
                           " but has shape " + formatShape(it->second.shape));
  }
  return Status();
}

Status Validator::run() {
  info = ModelInfo();
  if (Status s = checkHeader())
    return s;
  if (Status s = checkNames(model.graph(), "graph"))
    return s;
  if (Status s = checkGraphInputs())
    return s;
  if (Status s = checkInitializers())
    return s;
  const GraphProto &graph = model.graph();
  for (const NodeProto &node : graph.nodes())
    if (Status s = checkNodeStructure(node, /*inMap=*/false))
      return s;
  if (Status s = orderNodes())
    return s;
  for (int index : info.order) {
    const NodeProto &node = graph.nodes(index);
    std::vector<ValueInfo> outputs;
    if (Status s = inferNode(node, nullptr, outputs))
      return s;
    for (size_t i = 0; i < outputs.size(); ++i)
      if (Status s = define(node, node.outputs(i), outputs[i], nullptr))
        return s;
  }
  if (Status s = checkGraphOutputs())
    return s;
  for (const TensorProto &tensor : graph.initializers()) {
    int use = initializerUse[tensor.name()];
    if (use == 0)
      return Status::error("initializer '" + tensor.name() +
                           "' is not used by any node");
    if (use == 2)
      info.parameterCount += checkedElementCount(
          std::vector<int64_t>(tensor.dims().begin(), tensor.dims().end()));
    else
      info.stateTensors.push_back(tensor.name());
  }
  return Status();
}

} // namespace

Status validateModel(const ModelProto &model, ModelInfo &info) {
  return Validator(model, info).run();
}

MemoryEstimate estimateMemory(const ModelInfo &info, int64_t samples) {
  MemoryEstimate estimate;
  int64_t largest = -1;
  long double bytes = 0;
  for (const auto &[name, value] : info.allValues) {
    int64_t elements = checkedElementCount(value.shape);
    if (elements < 0)
      elements = kMaxTensorElements;
    if (value.isParameter) {
      bytes += (long double)elements * 8;
      continue;
    }
    bytes += (long double)elements * kBytesPerActivation * samples;
    if (elements > largest) {
      largest = elements;
      estimate.largestValue = name;
      estimate.largestShape = value.shape;
    }
  }
  estimate.bytes =
      bytes >= (long double)UINT64_MAX ? UINT64_MAX : uint64_t(bytes);
  return estimate;
}

Status checkMemoryBudget(const ModelInfo &info, int64_t samples,
                         uint64_t maxBytes, const std::string &flag) {
  MemoryEstimate estimate = estimateMemory(info, samples);
  if (estimate.bytes <= maxBytes)
    return Status();
  return Status::error(
      "the model would need about " + formatBytes(estimate.bytes) + " for " +
      std::to_string(samples) + " samples at once (its largest activation, '" +
      estimate.largestValue + "', is " + formatShape(estimate.largestShape) +
      " per sample), over the limit of " + formatBytes(maxBytes) +
      "; use a smaller batch, or raise the limit with " + flag);
}

Status checkMemoryFlag(const ModelInfo &info, int64_t samples,
                       const std::string &maxMemory) {
  uint64_t limit = 0;
  if (!parseByteSize(maxMemory, limit))
    return Status::error("--max-memory " + maxMemory +
                         " is not a size (4G, 512M, 100000)");
  return checkMemoryBudget(info, samples, limit);
}

bool parseByteSize(const std::string &text, uint64_t &bytes) {
  char *end = nullptr;
  errno = 0;
  double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || errno != 0 || !std::isfinite(value) || value < 0)
    return false;
  std::string unit(end);
  double scale = 1;
  if (unit == "K" || unit == "KB" || unit == "KiB")
    scale = 1024.0;
  else if (unit == "M" || unit == "MB" || unit == "MiB")
    scale = 1024.0 * 1024;
  else if (unit == "G" || unit == "GB" || unit == "GiB")
    scale = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "TB" || unit == "TiB")
    scale = 1024.0 * 1024 * 1024 * 1024;
  else if (!unit.empty())
    return false;
  if (value * scale >= 18446744073709551615.0)
    return false;
  bytes = uint64_t(value * scale);
  return true;
}

std::string formatBytes(uint64_t bytes) {
  char text[32];
  if (bytes >= (uint64_t(1) << 30))
    std::snprintf(text, sizeof text, "%.1f GiB", double(bytes) / (1 << 30));
  else if (bytes >= (uint64_t(1) << 20))
    std::snprintf(text, sizeof text, "%.1f MiB", double(bytes) / (1 << 20));
  else
    std::snprintf(text, sizeof text, "%llu bytes", (unsigned long long)bytes);
  return text;
}

} // namespace fsnn::model
