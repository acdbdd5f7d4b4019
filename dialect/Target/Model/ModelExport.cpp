//===- ModelExport.cpp - fsnn dialect to a model file ---------------------===//

#include "dialect/Target/Model/Translate.h"

#include "dialect/IR/FSNNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <set>

#include <cstring>

using namespace mlir;
using namespace mlir::fsnn;
namespace fm = ::fsnn::model;

namespace {

class Exporter {
public:
  explicit Exporter(fm::ModelProto &model) : model(model) {}

  LogicalResult run(ModuleOp module);

private:
  fm::TensorProto::DataType dtypeOf(Type element) {
    if (element.isF64())
      return fm::TensorProto::FLOAT64;
    if (element.isF32())
      return fm::TensorProto::FLOAT32;
    if (element.isInteger(32))
      return fm::TensorProto::INT32;
    return fm::TensorProto::UNDEFINED;
  }
  static std::vector<int64_t> perSample(Type type) {
    ArrayRef<int64_t> shape = cast<RankedTensorType>(type).getShape();
    return {shape.begin() + 1, shape.end()};
  }
  static void setShape(fm::ValueInfoProto *info,
                       const std::vector<int64_t> &shape) {
    for (int64_t d : shape)
      info->add_shape(d);
  }

  /// A node name from the op's NameLoc (the importer puts the model's layer
  /// name there), unique in the model; otherwise a generated one.
  std::string nodeName(Operation *op);
  std::string &valueName(Value value, const std::string &suggestion);
  LogicalResult nameOf(Operation *user, Value value, std::string &out);
  LogicalResult exportInitializer(BlockArgument arg, DictionaryAttr attrs);
  LogicalResult exportBlock(Block &block, fm::GraphProto &graph);
  LogicalResult exportOp(Operation *op, fm::GraphProto &graph);
  LogicalResult exportMap(Operation *owner, Region &region,
                          const std::string &name, fm::GraphProto &map);

  fm::ModelProto &model;
  llvm::DenseMap<Value, std::string> names;
  std::set<std::string> usedNames;
  int generated = 0;
};

std::string Exporter::nodeName(Operation *op) {
  std::string base;
  if (auto name = dyn_cast<NameLoc>(op->getLoc()))
    base = name.getName().str();
  if (base.empty())
    base = op->getName().stripDialect().str() + std::to_string(generated++);
  std::string name = base;
  for (int i = 1; !usedNames.insert(name).second; ++i)
    name = base + "." + std::to_string(i);
  return name;
}

std::string &Exporter::valueName(Value value, const std::string &suggestion) {
  std::string &name = names[value];
  if (name.empty()) {
    name = suggestion;
    for (int i = 1; !usedNames.insert(name).second; ++i)
      name = suggestion + "." + std::to_string(i);
  }
  return name;
}

/// The importer's name for output `index` of the node `op` came from: the
/// child of the op's NameLoc (one NameLoc, or a FusedLoc of them in output
/// order); `fallback` where the location has none.
static std::string outputNameOf(Operation *op, unsigned index,
                                std::string fallback) {
  auto name = dyn_cast<NameLoc>(op->getLoc());
  if (!name)
    return fallback;
  SmallVector<Location> outputs = {name.getChildLoc()};
  if (auto fused = dyn_cast<FusedLoc>(name.getChildLoc()))
    outputs.assign(fused.getLocations().begin(), fused.getLocations().end());
  if (index >= outputs.size())
    return fallback;
  if (auto output = dyn_cast<NameLoc>(outputs[index]))
    return output.getName().str();
  return fallback;
}

LogicalResult Exporter::nameOf(Operation *user, Value value, std::string &out) {
  auto it = names.find(value);
  if (it == names.end())
    return user->emitOpError()
           << "uses a value the model format cannot name (it is not an "
              "argument, a parameter or the result of an exported op)";
  out = it->second;
  return success();
}

LogicalResult Exporter::exportInitializer(BlockArgument arg,
                                          DictionaryAttr attrs) {
  auto type = dyn_cast<RankedTensorType>(arg.getType());
  Location loc = arg.getLoc();
  fm::TensorProto::DataType dtype =
      type ? dtypeOf(type.getElementType()) : fm::TensorProto::UNDEFINED;
  if (!type || !type.hasStaticShape() ||
      (dtype != fm::TensorProto::FLOAT32 && dtype != fm::TensorProto::FLOAT64))
    return emitError(loc) << "parameter argument #" << arg.getArgNumber()
                          << " must be a static f32 or f64 tensor";
  fm::TensorProto *tensor = model.mutable_graph()->add_initializers();
  tensor->set_name(names[arg]);
  for (int64_t d : type.getShape())
    tensor->add_dims(d);
  tensor->set_dtype(dtype);
  Attribute value = attrs.get("fsnn.value");
  std::string *raw = tensor->mutable_raw_data();
  size_t bytes =
      type.getNumElements() * (dtype == fm::TensorProto::FLOAT64 ? 8 : 4);
  raw->resize(bytes);
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    if (resource.getType() != type)
      return emitError(loc)
             << "fsnn.value of argument #" << arg.getArgNumber() << " has type "
             << resource.getType() << ", expected " << type;
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != bytes)
      return emitError(loc) << "fsnn.value of argument #" << arg.getArgNumber()
                            << " has no data (elided resource?)";
    std::memcpy(raw->data(), blob->getData().data(), bytes);
    return success();
  }
  if (auto dense = dyn_cast<DenseFPElementsAttr>(value)) {
    if (dense.getType() != type)
      return emitError(loc)
             << "fsnn.value of argument #" << arg.getArgNumber() << " has type "
             << dense.getType() << ", expected " << type;
    size_t i = 0;
    if (dtype == fm::TensorProto::FLOAT64) {
      for (double v : dense.getValues<double>())
        std::memcpy(raw->data() + 8 * i++, &v, 8);
    } else {
      for (float v : dense.getValues<float>())
        std::memcpy(raw->data() + 4 * i++, &v, 4);
    }
    return success();
  }
  return emitError(loc) << "fsnn.value of argument #" << arg.getArgNumber()
                        << " must be a dense or dense_resource tensor";
}

LogicalResult Exporter::exportMap(Operation *owner, Region &region,
                                  const std::string &name,
                                  fm::GraphProto &map) {
  Block &block = region.front();
  BlockArgument input = block.getArgument(0);
  auto yield = cast<YieldOp>(block.getTerminator());
  // The importer puts the map's name on its yield and the input's name on
  // the block argument; use them when present.
  auto yieldName = dyn_cast<NameLoc>(yield.getLoc());
  map.set_name(yieldName ? yieldName.getName().str() : name);
  auto inputName = dyn_cast<NameLoc>(input.getLoc());
  fm::ValueInfoProto *in = map.add_inputs();
  in->set_name(
      valueName(input, inputName ? inputName.getName().str() : name + ".in"));
  setShape(in, perSample(input.getType()));
  in->set_dtype(dtypeOf(getElementTypeOrSelf(input.getType())));
  if (failed(exportBlock(block, map)))
    return failure();
  std::string out;
  if (failed(nameOf(yield, yield.getValues()[0], out)))
    return failure();
  fm::ValueInfoProto *output = map.add_outputs();
  output->set_name(out);
  setShape(output, perSample(yield.getValues()[0].getType()));
  output->set_dtype(in->dtype());
  return success();
}

LogicalResult Exporter::exportBlock(Block &block, fm::GraphProto &graph) {
  for (Operation &op : block.without_terminator())
    if (failed(exportOp(&op, graph)))
      return failure();
  return success();
}

LogicalResult Exporter::exportOp(Operation *op, fm::GraphProto &graph) {
  // Masks are not nodes: their rate goes into the Dropout node that uses them.
  if (isa<DropoutMaskOp>(op))
    return success();

  auto addNode = [&](const char *opType) {
    fm::NodeProto *node = graph.add_nodes();
    node->set_op_type(opType);
    node->set_name(nodeName(op));
    return node;
  };
  auto addInputs = [&](fm::NodeProto *node, ValueRange inputs) {
    for (Value input : inputs) {
      std::string name;
      if (failed(nameOf(op, input, name)))
        return failure();
      node->add_inputs(name);
    }
    return success();
  };
  auto ints = [](fm::NodeProto *node, const char *name, ArrayRef<int64_t> v) {
    fm::AttributeProto *attr = node->add_attributes();
    attr->set_name(name);
    for (int64_t x : v)
      attr->mutable_ints()->add_values(x);
  };
  auto single = [&](fm::NodeProto *node) {
    node->add_outputs(
        valueName(op->getResult(0), outputNameOf(op, 0, node->name())));
  };

  if (auto linear = dyn_cast<LinearOp>(op)) {
    fm::NodeProto *node = addNode("Linear");
    if (failed(addInputs(node, op->getOperands())))
      return failure();
    single(node);
  } else if (auto conv = dyn_cast<Conv2DOp>(op)) {
    fm::NodeProto *node = addNode("Conv2d");
    if (failed(addInputs(node, op->getOperands())))
      return failure();
    ints(node, "strides", conv.getStrides());
    ints(node, "pads", conv.getPadding());
    single(node);
  } else if (auto conv = dyn_cast<ConvTranspose2DOp>(op)) {
    fm::NodeProto *node = addNode("ConvTranspose2d");
    if (failed(addInputs(node, op->getOperands())))
      return failure();
    ints(node, "strides", conv.getStrides());
    ints(node, "pads", conv.getPadding());
    ints(node, "output_padding", conv.getOutputPadding());
    single(node);
  } else if (auto bn = dyn_cast<BatchNormOp>(op)) {
    fm::NodeProto *node = addNode("BatchNorm");
    if (failed(addInputs(node, op->getOperands())))
      return failure();
    fm::AttributeProto *attr = node->add_attributes();
    attr->set_name("epsilon");
    attr->set_f(bn.getEpsilon().convertToDouble());
    single(node);
  } else if (auto dropout = dyn_cast<DropoutOp>(op)) {
    auto mask = dropout.getMask().getDefiningOp<DropoutMaskOp>();
    if (!mask)
      return op->emitOpError()
             << "mask must come from fsnn.dropout_mask to be exported";
    fm::NodeProto *node = addNode("Dropout");
    if (failed(addInputs(node, dropout.getInput())))
      return failure();
    fm::AttributeProto *attr = node->add_attributes();
    attr->set_name("rate");
    attr->set_f(mask.getRate().convertToDouble());
    single(node);
  } else if (isa<FlattenOp>(op)) {
    fm::NodeProto *node = addNode("Flatten");
    if (failed(addInputs(node, op->getOperands())))
      return failure();
    single(node);
  } else if (auto pool = dyn_cast<AvgPool2DOp>(op)) {
    fm::NodeProto *node = addNode("AvgPool2d");
    if (failed(addInputs(node, op->getOperands())))
      return failure();
    ints(node, "kernel", pool.getKernel());
    ints(node, "strides", pool.getStrides());
    single(node);
  } else if (auto spectral = dyn_cast<SpectralWeightOp>(op)) {
    if (!spectral.getSigma().use_empty())
      return op->emitOpError()
             << "sigma result is used; the model format has no value for it";
    fm::NodeProto *node = addNode("SpectralWeight");
    if (failed(addInputs(node, op->getOperands())))
      return failure();
    node->add_outputs(
        valueName(spectral.getResult(), outputNameOf(op, 0, node->name())));
  } else if (auto feedback = dyn_cast<FeedbackOp>(op)) {
    fm::NodeProto *node = addNode("SpikingFeedback");
    if (failed(addInputs(node, feedback.getInput())))
      return failure();
    auto attr = [&](const char *name) {
      fm::AttributeProto *a = node->add_attributes();
      a->set_name(name);
      return a;
    };
    NeuronAttr neuron = feedback.getNeuron();
    attr("time_steps")->set_i(static_cast<int64_t>(feedback.getTimeSteps()));
    attr("neuron")->set_s(neuron.getKind() == NeuronKind::LIF ? "lif" : "if");
    attr("threshold")->set_f(neuron.getThresholdValue());
    if (neuron.getKind() == NeuronKind::LIF)
      attr("leak")->set_f(neuron.getLeakValue());
    if (neuron.getReset() == ResetMode::Zero)
      attr("reset")->set_s("zero");
    attr("input_kind")
        ->set_s(feedback.getInputKind() == InputKind::SpikeFrames
                    ? "spike_frames"
                    : "static");
    if (auto solver = op->getAttrOfType<StringAttr>("fsnn.adjoint_solver"))
      attr("solver")->set_s(solver.str());
    if (auto iterations =
            op->getAttrOfType<IntegerAttr>("fsnn.adjoint_max_iterations"))
      attr("solver_iterations")->set_i(iterations.getInt());
    if (auto tolerance = op->getAttrOfType<FloatAttr>("fsnn.adjoint_tolerance"))
      attr("solver_tolerance")->set_f(tolerance.getValueAsDouble());
    fm::AttributeProto *layers = attr("layers");
    unsigned numLayers = feedback.getNumLayers();
    for (unsigned l = 0; l < numLayers; ++l)
      if (failed(exportMap(op, feedback.getLayers()[l],
                           node->name() + ".layer" + std::to_string(l + 1),
                           *layers->mutable_graphs()->add_values())))
        return failure();
    if (failed(exportMap(op, feedback.getFeedback(), node->name() + ".feedback",
                         *attr("feedback")->mutable_graphs()->add_values())))
      return failure();
    for (unsigned l = 0; l < numLayers; ++l)
      node->add_outputs(valueName(
          feedback.getRates()[l],
          outputNameOf(op, l, node->name() + ".rate" + std::to_string(l + 1))));
    for (unsigned l = 0; l < numLayers; ++l)
      node->add_outputs(valueName(
          feedback.getSpikeCounts()[l],
          outputNameOf(op, numLayers + l,
                       node->name() + ".count" + std::to_string(l + 1))));
  } else {
    return op->emitOpError() << "cannot be expressed in the fsnn model format";
  }
  return success();
}

LogicalResult Exporter::run(ModuleOp module) {
  SmallVector<func::FuncOp> functions(module.getOps<func::FuncOp>());
  if (functions.size() != 1)
    return module.emitError() << "expected exactly one func.func to export, "
                                 "found "
                              << functions.size();
  func::FuncOp function = functions.front();
  if (!function.getBody().hasOneBlock())
    return function.emitError() << "must have a single block";
  Block &entry = function.getBody().front();
  auto returnOp = cast<func::ReturnOp>(entry.getTerminator());

  model.Clear();
  auto version = module->getAttrOfType<IntegerAttr>("fsnn.format_version");
  model.set_format_version(version ? version.getInt() : fm::kFormatVersion);
  if (auto producer = module->getAttrOfType<StringAttr>("fsnn.producer"))
    model.set_producer(producer.str());
  if (auto doc = module->getAttrOfType<StringAttr>("fsnn.doc"))
    model.set_doc_string(doc.str());
  fm::GraphProto &graph = *model.mutable_graph();
  graph.set_name(function.getSymName().str());

  // Results are named first, so that the node computing a graph output
  // writes it under the output's name.
  for (unsigned i = 0; i < function.getNumResults(); ++i) {
    auto name = function.getResultAttrOfType<StringAttr>(i, "fsnn.name");
    Value value = returnOp.getOperand(i);
    if (names.count(value))
      return returnOp.emitOpError() << "returns the same value twice; the "
                                       "model format names each output once";
    valueName(value, name ? name.str() : "output" + std::to_string(i));
  }
  for (BlockArgument arg : entry.getArguments()) {
    DictionaryAttr attrs = function.getArgAttrDict(arg.getArgNumber());
    StringAttr name = attrs ? attrs.getAs<StringAttr>("fsnn.name") : nullptr;
    valueName(arg,
              name ? name.str() : "input" + std::to_string(arg.getArgNumber()));
    if (arg.getType().isInteger(64))
      continue; // The dropout seed is a run-time value, not part of the model.
    if (attrs && attrs.get("fsnn.value")) {
      if (failed(exportInitializer(arg, attrs)))
        return failure();
      continue;
    }
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type || type.getRank() < 2)
      return emitError(arg.getLoc())
             << "graph input argument #" << arg.getArgNumber()
             << " must be a batch-first tensor of rank >= 2";
    fm::ValueInfoProto *input = graph.add_inputs();
    input->set_name(names[arg]);
    setShape(input, perSample(type));
    input->set_dtype(dtypeOf(type.getElementType()));
  }
  if (failed(exportBlock(entry, graph)))
    return failure();
  for (unsigned i = 0; i < function.getNumResults(); ++i) {
    Value value = returnOp.getOperand(i);
    fm::ValueInfoProto *output = graph.add_outputs();
    output->set_name(names[value]);
    setShape(output, perSample(value.getType()));
    output->set_dtype(dtypeOf(getElementTypeOrSelf(value.getType())));
  }

  fm::ModelInfo info;
  if (fm::Status status = fm::validateModel(model, info))
    return function.emitError()
           << "the exported model is invalid: " << status.message();
  return success();
}

} // namespace

LogicalResult mlir::fsnn::exportModel(ModuleOp module, fm::ModelProto &model) {
  return Exporter(model).run(module);
}

bool mlir::fsnn::loadModelFromMLIR(const std::string &path,
                                   fm::ModelProto &model, std::string &error) {
  DialectRegistry registry;
  registerTranslateDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // One line per diagnostic, "path:line:col: message", as compilers print.
  std::string diagnostics;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diagnostic) {
    if (!diagnostics.empty())
      diagnostics += "\n";
    if (auto file = dyn_cast<FileLineColLoc>(diagnostic.getLocation()))
      diagnostics += file.getFilename().str() + ":" +
                     std::to_string(file.getLine()) + ":" +
                     std::to_string(file.getColumn()) + ": ";
    else
      diagnostics += path + ": ";
    diagnostics += diagnostic.getSeverity() == DiagnosticSeverity::Error
                       ? "error: "
                       : "note: ";
    diagnostics += diagnostic.str();
    return success();
  });
  std::string openError;
  std::unique_ptr<llvm::MemoryBuffer> file = openInputFile(path, &openError);
  if (!file) {
    error = path + ": error: " + openError;
    return false;
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module || failed(exportModel(*module, model))) {
    error = diagnostics.empty()
                ? path + ": error: not a model in the fsnn dialect"
                : diagnostics;
    return false;
  }
  return true;
}
