//===- ValidatorImpl.h - the validator's state, shared by its files -*- C++
//-*-//
//
// The Validator walks a model once: structure and names (Validate.cpp),
// then every value's shape in dependency order (ShapeInference.cpp).
// Internal to runtime/model.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_RUNTIME_MODEL_VALIDATORIMPL_H
#define FSNN_RUNTIME_MODEL_VALIDATORIMPL_H

#include "runtime/model/Validate.h"

#include <cmath>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace fsnn::model::detail {

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

inline const std::vector<OpSpec> &opSpecs() {
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

inline const OpSpec *findSpec(const std::string &opType) {
  for (const OpSpec &spec : opSpecs())
    if (opType == spec.opType)
      return &spec;
  return nullptr;
}

inline const char *kindName(Kind kind) {
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

} // namespace fsnn::model::detail

#endif // FSNN_RUNTIME_MODEL_VALIDATORIMPL_H
