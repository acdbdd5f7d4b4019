//===- Describe.cpp - human-readable model summaries ----------------------===//

#include "runtime/model/Describe.h"

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

} // namespace fsnn::model
