//===- Validate.cpp - checking a model before anything uses it ------------===//

#include "runtime/model/Validate.h"
#include "runtime/model/ValidatorImpl.h"

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

namespace detail {

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

} // namespace detail

Status validateModel(const ModelProto &model, ModelInfo &info) {
  return detail::Validator(model, info).run();
}

int64_t outputClasses(const ModelProto &model, const ModelInfo &info) {
  if (model.graph().outputs_size() == 0)
    return 0;
  auto value = info.values.find(model.graph().outputs(0).name());
  if (value == info.values.end() || value->second.shape.empty())
    return 0;
  return value->second.shape.back();
}

Status parseValidModel(std::string_view bytes, const std::string &source,
                       ModelProto &model, ModelInfo &info) {
  if (Status status = parseModel(bytes, source, model))
    return status;
  return validateModel(model, info);
}

Status loadValidModel(const std::string &path, ModelProto &model,
                      ModelInfo &info, Format *format) {
  if (Status status = loadModel(path, model, format))
    return status;
  if (Status status = validateModel(model, info))
    return Status::error(path + ": " + status.message());
  return Status();
}

} // namespace fsnn::model
