//===- Describe.cpp - human-readable model summaries ----------------------===//

#include "runtime/model/Describe.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>

namespace fsnn::model {

std::string describeModel(const ModelProto &model, const ModelInfo &info) {
  std::ostringstream os;
  const GraphProto &graph = model.graph();
  os << "model: " << graph.name() << " (format " << model.format_version();
  if (!model.producer().empty())
    os << ", by " << model.producer();
  os << ", " << dtypeName(info.dtype) << ")\n";
  if (!model.doc_string().empty())
    os << "doc: " << model.doc_string() << "\n";
  for (const ValueInfoProto &in : graph.inputs())
    os << "input:  " << in.name() << " "
       << formatShape({in.shape().begin(), in.shape().end()}) << "\n";
  for (const ValueInfoProto &out : graph.outputs())
    os << "output: " << out.name() << " "
       << formatShape(info.values.at(out.name()).shape) << " "
       << dtypeName(out.dtype()) << "\n";
  os << "layers:\n";
  for (const LayerSummary &layer : info.layers) {
    os << "  " << layer.node << " " << layer.opType << " ->";
    for (size_t i = 0; i < layer.outputShapes.size(); ++i)
      os << (i ? ", " : " ") << formatShape(layer.outputShapes[i]);
    if (!layer.detail.empty())
      os << "  (" << layer.detail << ")";
    os << "\n";
  }
  if (model.has_training()) {
    const TrainingState &t = model.training();
    os << "training: epoch " << t.epoch() << ", step " << t.step() << ", seed "
       << t.rng_seed() << ", optimizer " << t.optimizer() << "\n";
  }
  os << "parameters: " << info.parameterCount << "\n";
  os << "neurons: " << info.neuronCount << "\n";
  return os.str();
}

std::string describeModelJson(const ModelProto &model, const ModelInfo &info) {
  using nlohmann::json;
  const GraphProto &graph = model.graph();
  json out = {{"name", graph.name()},
              {"format_version", model.format_version()},
              {"producer", model.producer()},
              {"doc", model.doc_string()},
              {"dtype", dtypeName(info.dtype)},
              {"parameters", info.parameterCount},
              {"neurons", info.neuronCount}};
  json inputs = json::array(), outputs = json::array(), layers = json::array(),
       initializers = json::array();
  for (const ValueInfoProto &in : graph.inputs())
    inputs.push_back({{"name", in.name()},
                      {"shape", std::vector<int64_t>(in.shape().begin(),
                                                     in.shape().end())}});
  for (const ValueInfoProto &o : graph.outputs())
    outputs.push_back({{"name", o.name()},
                       {"shape", info.values.at(o.name()).shape},
                       {"dtype", dtypeName(o.dtype())}});
  for (const LayerSummary &layer : info.layers)
    layers.push_back({{"node", layer.node},
                      {"op_type", layer.opType},
                      {"output_shapes", layer.outputShapes},
                      {"detail", layer.detail}});
  for (const TensorProto &t : graph.initializers())
    initializers.push_back(
        {{"name", t.name()},
         {"shape", std::vector<int64_t>(t.dims().begin(), t.dims().end())},
         {"dtype", dtypeName(t.dtype())},
         {"state", std::find(info.stateTensors.begin(), info.stateTensors.end(),
                             t.name()) != info.stateTensors.end()}});
  out["inputs"] = inputs;
  out["outputs"] = outputs;
  out["layers"] = layers;
  out["initializers"] = initializers;
  if (model.has_training()) {
    const TrainingState &t = model.training();
    out["training"] = {{"epoch", t.epoch()},
                       {"step", t.step()},
                       {"seed", t.rng_seed()},
                       {"optimizer", t.optimizer()},
                       {"learning_rate", t.learning_rate()}};
  }
  // Names are model data: dump() escapes them, and invalid UTF-8 becomes
  // U+FFFD instead of an exception.
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

} // namespace fsnn::model
