//===- ShapeInference.cpp - every value's shape, node by node -------------===//
//
// The validator's second half: each node's inputs checked and its outputs'
// shapes inferred, in dependency order, inside maps and the feedback node.
//
//===----------------------------------------------------------------------===//

#include "runtime/model/ValidatorImpl.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace fsnn::model::detail {

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

} // namespace fsnn::model::detail
