//===- ModelImport.cpp - model file to the fsnn dialect -------------------===//

#include "dialect/Target/Model/Translate.h"

#include "dialect/IR/FSNNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"

using namespace mlir;
using namespace mlir::fsnn;
namespace fm = ::fsnn::model;

namespace {

/// The ε of the input map's batch norm on spike frames in training: std =
/// sqrt(unbiased variance + 1e-8) (docs/method.md §1.7).
constexpr double kFrameStatisticsEpsilon = 1e-8;

class Importer {
public:
  Importer(const fm::ModelProto &model, const fm::ModelInfo &info,
           MLIRContext *context, const ImportOptions &options)
      : model(model), info(info), context(context), options(options),
        builder(context) {}

  OwningOpRef<ModuleOp> run();

private:
  /// The node's name, with the names of its outputs as the child location
  /// unless the node has one output named after itself: an export then
  /// writes the model's own value names back (see outputNameOf in the
  /// exporter), so a round trip keeps the file and its structure hash.
  Location locOf(const fm::NodeProto &node) {
    StringAttr name = builder.getStringAttr(node.name());
    if (node.outputs_size() == 1 && node.outputs(0) == node.name())
      return NameLoc::get(name);
    SmallVector<Location> outputs;
    for (const std::string &output : node.outputs())
      outputs.push_back(NameLoc::get(builder.getStringAttr(output)));
    return NameLoc::get(name, FusedLoc::get(context, outputs));
  }
  /// The batched type of a per-sample activation shape.
  RankedTensorType activationType(const std::vector<int64_t> &shape) {
    SmallVector<int64_t> dims = {options.batch};
    dims.append(shape.begin(), shape.end());
    return RankedTensorType::get(dims, elementType);
  }
  RankedTensorType activationTypeOf(const std::string &name) {
    return activationType(info.allValues.at(name).shape);
  }
  const fm::AttributeProto *attribute(const fm::NodeProto &node,
                                      const char *name) {
    return fm::findAttribute(node, name);
  }
  DenseI64ArrayAttr pair(const fm::NodeProto &node, const char *name,
                         ArrayRef<int64_t> fallback) {
    const fm::AttributeProto *attr = attribute(node, name);
    if (!attr)
      return builder.getDenseI64ArrayAttr(fallback);
    SmallVector<int64_t> values(attr->ints().values().begin(),
                                attr->ints().values().end());
    return builder.getDenseI64ArrayAttr(values);
  }
  Value lookup(const std::string &name) {
    for (auto scope = scopes.rbegin(); scope != scopes.rend(); ++scope) {
      auto it = scope->find(name);
      if (it != scope->end())
        return it->second;
    }
    llvm_unreachable("the validator guarantees every input is defined");
  }
  Value optionalInput(const fm::NodeProto &node, int index) {
    return node.inputs_size() > index ? lookup(node.inputs(index)) : Value();
  }

  Value importInitializer(const fm::TensorProto &tensor);
  LogicalResult importNode(const fm::NodeProto &node);
  LogicalResult importFeedback(const fm::NodeProto &node);
  LogicalResult importMap(const fm::GraphProto &map, Region &region);

  const fm::ModelProto &model;
  const fm::ModelInfo &info;
  MLIRContext *context;
  const ImportOptions &options;
  OpBuilder builder;
  Type elementType;
  /// Value scopes: the function's, then one per map being imported.
  SmallVector<llvm::StringMap<Value>> scopes;
  /// Where dropout masks go: before the top-level op being imported, so that
  /// a mask made for a map is drawn once and reused at every step.
  Operation *maskInsertionPoint = nullptr;
  Value dropoutSeed;
  int64_t dropoutStream = 0;
  /// Training: the extra results (state updates and batch statistics).
  SmallVector<std::pair<std::string, Value>> trainingResults;
  /// How many map regions the importer is inside: batch norm inside a
  /// region runs on running statistics even in training (docs/method.md §1.7:
  /// layers 2..N during the simulation), and its statistics could not leave
  /// the region anyway.
  int regionDepth = 0;
  /// Dropout masks by node name.
  llvm::StringMap<Value> masksByNode;
  /// The statistics (mean, unbiased variance) of each batch norm imported on
  /// the batch's statistics, by node name. With spike frames in training the
  /// input map is imported again inside the simulation, whose batch norms
  /// normalise every frame with them (those of the time-averaged input).
  llvm::StringMap<std::pair<Value, Value>> batchStatistics;
  /// Sharded training: the (mean, biased variance) arguments of each batch
  /// norm of the input map, by node name.
  llvm::StringMap<std::pair<Value, Value>> shardStatistics;
};

/// The batch norms of a sharded training step's input map, or a diagnostic
/// naming why the model cannot be trained in shards.
LogicalResult shardedBatchNorms(const fm::ModelProto &model, Location loc,
                                std::vector<const fm::NodeProto *> &norms) {
  const fm::NodeProto *feedback = fm::findFeedbackNode(model);
  if (!feedback)
    return emitError(loc) << "sharded training needs a SpikingFeedback node";
  const fm::AttributeProto *layers = fm::findAttribute(*feedback, "layers");
  const fm::AttributeProto *kind = fm::findAttribute(*feedback, "input_kind");
  if (layers->graphs().values_size() != 1)
    return emitError(loc)
           << "sharded training synchronises the batch statistics of the "
              "input map only; '"
           << feedback->name() << "' has " << layers->graphs().values_size()
           << " layers, whose batch norms 2..N take batch statistics inside "
              "the step";
  if (kind && kind->s() != "static")
    return emitError(loc) << "sharded training needs static input; '"
                          << feedback->name() << "' takes " << kind->s();
  const fm::GraphProto &map = layers->graphs().values(0);
  for (const fm::NodeProto &node : map.nodes()) {
    if (node.op_type() != "BatchNorm")
      continue;
    // The trainer computes the statistics of the map's first op on the
    // input (docs/training.md): the norm must follow it directly.
    const fm::NodeProto &first = map.nodes(0);
    bool affine = first.op_type() == "Linear" || first.op_type() == "Conv2d";
    if (!affine || first.inputs(0) != map.inputs(0).name() ||
        node.inputs(0) != first.outputs(0))
      return emitError(loc)
             << "sharded training needs the input map's batch norm '"
             << node.name()
             << "' to normalise the output of its first op, a Linear or "
                "Conv2d of the map's input";
    norms.push_back(&node);
  }
  return success();
}

OwningOpRef<ModuleOp> Importer::run() {
  const fm::GraphProto &graph = model.graph();
  elementType = info.dtype == fm::TensorProto::FLOAT64
                    ? Type(builder.getF64Type())
                    : Type(builder.getF32Type());
  Location fileLoc = UnknownLoc::get(context);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  ModuleOp moduleOp = *module;
  moduleOp->setAttr("fsnn.format_version",
                    builder.getI64IntegerAttr(model.format_version()));
  if (!model.producer().empty())
    moduleOp->setAttr("fsnn.producer", builder.getStringAttr(model.producer()));
  if (!model.doc_string().empty())
    moduleOp->setAttr("fsnn.doc", builder.getStringAttr(model.doc_string()));

  // Arguments: graph inputs, initializers, then the dropout seed if needed.
  SmallVector<Type> argTypes;
  SmallVector<Attribute> argAttrs;
  for (const fm::ValueInfoProto &input : graph.inputs()) {
    argTypes.push_back(activationTypeOf(input.name()));
    argAttrs.push_back(builder.getDictionaryAttr(builder.getNamedAttr(
        "fsnn.name", builder.getStringAttr(input.name()))));
  }
  if (options.training) {
    argTypes.push_back(
        RankedTensorType::get({options.batch}, builder.getI64Type()));
    argAttrs.push_back(builder.getDictionaryAttr(
        builder.getNamedAttr("fsnn.name", builder.getStringAttr("labels"))));
  }
  for (const fm::TensorProto &tensor : graph.initializers()) {
    SmallVector<int64_t> dims(tensor.dims().begin(), tensor.dims().end());
    auto type = RankedTensorType::get(dims, elementType);
    std::vector<double> data = fm::tensorValues(tensor);
    Attribute value;
    if (elementType.isF64()) {
      value = DenseF64ResourceElementsAttr::get(
          type, tensor.name(),
          HeapAsmResourceBlob::allocateAndCopyInferAlign(
              ArrayRef<double>(data)));
    } else {
      std::vector<float> narrow(data.begin(), data.end());
      value = DenseF32ResourceElementsAttr::get(
          type, tensor.name(),
          HeapAsmResourceBlob::allocateAndCopyInferAlign(
              ArrayRef<float>(narrow)));
    }
    argTypes.push_back(type);
    SmallVector<NamedAttribute> attrs = {
        builder.getNamedAttr("fsnn.name", builder.getStringAttr(tensor.name())),
        builder.getNamedAttr("fsnn.value", value)};
    bool state = llvm::is_contained(info.stateTensors, tensor.name());
    if (options.training && !state)
      attrs.push_back(
          builder.getNamedAttr("fsnn.trainable", builder.getUnitAttr()));
    argAttrs.push_back(builder.getDictionaryAttr(attrs));
  }
  bool hasDropout = false;
  std::function<void(const fm::GraphProto &)> scan =
      [&](const fm::GraphProto &g) {
        for (const fm::NodeProto &node : g.nodes()) {
          hasDropout |= node.op_type() == "Dropout";
          for (const fm::AttributeProto &attr : node.attributes())
            for (const fm::GraphProto &map : attr.graphs().values())
              scan(map);
        }
      };
  scan(graph);
  std::vector<const fm::NodeProto *> shardedNorms;
  if (options.training && options.shardStatistics) {
    if (failed(shardedBatchNorms(model, fileLoc, shardedNorms)))
      return nullptr;
    auto initializer = [&](const std::string &name) {
      for (const fm::TensorProto &tensor : graph.initializers())
        if (tensor.name() == name)
          return &tensor;
      llvm_unreachable("the validator guarantees every input is defined");
    };
    for (const fm::NodeProto *norm : shardedNorms)
      for (auto [prefix, input] : {std::pair{"statistics_mean:", 3},
                                   std::pair{"statistics_variance:", 4}}) {
        const std::string &running = norm->inputs(input);
        std::vector<double> data = fm::tensorValues(*initializer(running));
        auto type = RankedTensorType::get({int64_t(data.size())}, elementType);
        Attribute value;
        if (elementType.isF64())
          value = DenseElementsAttr::get(type, ArrayRef<double>(data));
        else
          value = DenseElementsAttr::get(
              type,
              ArrayRef<float>(std::vector<float>(data.begin(), data.end())));
        argTypes.push_back(type);
        argAttrs.push_back(builder.getDictionaryAttr(
            {builder.getNamedAttr("fsnn.name",
                                  builder.getStringAttr(prefix + running)),
             builder.getNamedAttr("fsnn.value", value)}));
      }
  }
  if (hasDropout) {
    argTypes.push_back(builder.getI64Type());
    argAttrs.push_back(builder.getDictionaryAttr(builder.getNamedAttr(
        "fsnn.name", builder.getStringAttr("dropout_seed"))));
  }

  SmallVector<Type> resultTypes;
  SmallVector<Attribute> resultAttrs;
  for (const fm::ValueInfoProto &output : graph.outputs()) {
    if (options.training)
      break; // the training results are known after the body
    RankedTensorType type = activationTypeOf(output.name());
    if (info.allValues.at(output.name()).isCount)
      type = RankedTensorType::get(type.getShape(), builder.getI32Type());
    resultTypes.push_back(type);
    resultAttrs.push_back(builder.getDictionaryAttr(builder.getNamedAttr(
        "fsnn.name", builder.getStringAttr(output.name()))));
  }

  builder.setInsertionPointToEnd(moduleOp.getBody());
  std::string name = graph.name().empty() ? "model" : graph.name();
  auto function = func::FuncOp::create(
      builder, fileLoc, name, builder.getFunctionType(argTypes, resultTypes));
  function.setAllArgAttrs(argAttrs);
  function.setAllResultAttrs(resultAttrs);
  Block *entry = function.addEntryBlock();
  builder.setInsertionPointToEnd(entry);

  scopes.emplace_back();
  unsigned arg = 0;
  for (const fm::ValueInfoProto &input : graph.inputs())
    scopes.back()[input.name()] = entry->getArgument(arg++);
  Value labels;
  if (options.training)
    labels = entry->getArgument(arg++);
  for (const fm::TensorProto &tensor : graph.initializers())
    scopes.back()[tensor.name()] = entry->getArgument(arg++);
  for (const fm::NodeProto *norm : shardedNorms) {
    Value mean = entry->getArgument(arg++);
    shardStatistics[norm->name()] = {mean, entry->getArgument(arg++)};
  }
  if (hasDropout)
    dropoutSeed = entry->getArgument(arg++);

  for (int index : info.order)
    if (failed(importNode(graph.nodes(index))))
      return nullptr;

  SmallVector<Value> results;
  if (options.training) {
    // loss, logits, then the state updates and batch statistics.
    Value logits = lookup(graph.outputs(0).name());
    auto logitsType = cast<RankedTensorType>(logits.getType());
    auto loss = SoftmaxCrossEntropyOp::create(
        builder, fileLoc, RankedTensorType::get({}, elementType), logitsType,
        logits, labels);
    SmallVector<std::pair<std::string, Value>> named = {
        {"loss", loss.getLoss()}, {graph.outputs(0).name(), logits}};
    named.append(trainingResults.begin(), trainingResults.end());
    for (auto &[name, value] : named) {
      results.push_back(value);
      resultAttrs.push_back(builder.getDictionaryAttr(
          builder.getNamedAttr("fsnn.name", builder.getStringAttr(name))));
    }
    function.setFunctionType(
        builder.getFunctionType(argTypes, ValueRange(results).getTypes()));
    function.setAllResultAttrs(resultAttrs);
    function.setName(name + "_train_step");
  } else {
    for (const fm::ValueInfoProto &output : graph.outputs())
      results.push_back(lookup(output.name()));
  }
  func::ReturnOp::create(builder, fileLoc, results);
  if (failed(verify(moduleOp)))
    return nullptr;
  return module;
}

LogicalResult Importer::importMap(const fm::GraphProto &map, Region &region) {
  OpBuilder::InsertionGuard guard(builder);
  const fm::ValueInfoProto &input = map.inputs(0);
  Block *block =
      builder.createBlock(&region, {}, {activationTypeOf(input.name())},
                          {NameLoc::get(builder.getStringAttr(input.name()))});
  scopes.emplace_back();
  scopes.back()[input.name()] = block->getArgument(0);
  ++regionDepth;
  for (const fm::NodeProto &node : map.nodes())
    if (failed(importNode(node))) {
      --regionDepth;
      return failure();
    }
  --regionDepth;
  Value result = lookup(map.outputs(0).name());
  YieldOp::create(builder, NameLoc::get(builder.getStringAttr(map.name())),
                  ValueRange{result});
  scopes.pop_back();
  return success();
}

LogicalResult Importer::importFeedback(const fm::NodeProto &node) {
  Location loc = locOf(node);
  auto intAttr = [&](const char *name, int64_t fallback) {
    const fm::AttributeProto *attr = attribute(node, name);
    return attr ? attr->i() : fallback;
  };
  auto floatAttr = [&](const char *name, double fallback) {
    const fm::AttributeProto *attr = attribute(node, name);
    return attr ? attr->f() : fallback;
  };
  auto stringAttr = [&](const char *name, const char *fallback) {
    const fm::AttributeProto *attr = attribute(node, name);
    return attr ? attr->s() : std::string(fallback);
  };
  const auto &layerMaps = attribute(node, "layers")->graphs().values();
  const fm::GraphProto &feedbackMap =
      attribute(node, "feedback")->graphs().values(0);
  int numLayers = layerMaps.size();

  SmallVector<Type> rateTypes, countTypes;
  for (int l = 0; l < numLayers; ++l) {
    RankedTensorType rate = activationTypeOf(node.outputs(l));
    rateTypes.push_back(rate);
    countTypes.push_back(
        RankedTensorType::get(rate.getShape(), builder.getI32Type()));
  }
  bool lif = stringAttr("neuron", "if") == "lif";
  auto neuron = NeuronAttr::get(
      context, lif ? NeuronKind::LIF : NeuronKind::IF,
      APFloat(floatAttr("threshold", 2.0)), APFloat(floatAttr("leak", 1.0)),
      stringAttr("reset", "subtract") == "zero" ? ResetMode::Zero
                                                : ResetMode::Subtract);
  InputKind inputKind = stringAttr("input_kind", "static") == "spike_frames"
                            ? InputKind::SpikeFrames
                            : InputKind::Static;
  auto op = FeedbackOp::create(builder, loc, rateTypes, countTypes,
                               lookup(node.inputs(0)), intAttr("time_steps", 1),
                               neuron, inputKind, numLayers);
  // The adjoint settings are training settings of the model; the backward
  // generation reads them from these discardable attributes, with its own
  // defaults for those the model leaves out (so an export leaves them out
  // too).
  if (const fm::AttributeProto *solver = attribute(node, "solver"))
    op->setAttr("fsnn.adjoint_solver", builder.getStringAttr(solver->s()));
  if (const fm::AttributeProto *iterations =
          attribute(node, "solver_iterations"))
    op->setAttr("fsnn.adjoint_max_iterations",
                builder.getI64IntegerAttr(iterations->i()));
  if (const fm::AttributeProto *tolerance = attribute(node, "solver_tolerance"))
    op->setAttr("fsnn.adjoint_tolerance",
                builder.getF64FloatAttr(tolerance->f()));

  Operation *savedMaskPoint = maskInsertionPoint;
  maskInsertionPoint = op;
  // The layer maps imported into the op's regions from this one on.
  int firstRegionMap = 0;
  if (options.training && inputKind == InputKind::Static) {
    // The current F(x) is the same at every step: computed before the
    // simulation, it is also the current of the equilibrium map that the
    // backward differentiates, and its batch statistics are results. Layers
    // 2..N stay in their regions, on running statistics (§1.7).
    {
      OpBuilder::InsertionGuard guard(builder);
      Block *identity =
          builder.createBlock(&op.getLayers()[0], {}, {rateTypes[0]}, {loc});
      YieldOp::create(builder, loc, identity->getArgument(0));
    }
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPoint(op);
    const fm::GraphProto &map = layerMaps.Get(0);
    scopes.emplace_back();
    scopes.back()[map.inputs(0).name()] = lookup(node.inputs(0));
    for (const fm::NodeProto &inner : map.nodes())
      if (failed(importNode(inner)))
        return failure();
    Value current = lookup(map.outputs(0).name());
    scopes.pop_back();
    op->setOperand(0, current);
    firstRegionMap = 1;
  } else if (options.training) {
    // Spike frames (docs/method.md §1.7, §2.4): the map of the (λ-weighted)
    // time-averaged input x*, on the batch's statistics, is the current of
    // the equilibrium map that the backward differentiates (marked for it);
    // its statistics, with std = sqrt(unbiased variance + 1e-8), normalise
    // every frame in the simulation.
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPoint(op);
    const fm::GraphProto &map = layerMaps.Get(0);
    RankedTensorType framesType =
        cast<RankedTensorType>(op.getInput().getType());
    SmallVector<int64_t> averageShape = {framesType.getDimSize(0)};
    llvm::append_range(averageShape, framesType.getShape().drop_front(2));
    Value average = AverageFramesOp::create(
        builder, loc, RankedTensorType::get(averageShape, elementType),
        op.getInput(),
        builder.getF64FloatAttr(lif ? floatAttr("leak", 1.0) : 1.0));
    scopes.emplace_back();
    scopes.back()[map.inputs(0).name()] = average;
    for (const fm::NodeProto &inner : map.nodes())
      if (failed(importNode(inner)))
        return failure();
    Value current = lookup(map.outputs(0).name());
    scopes.pop_back();
    current.getDefiningOp()->setAttr(kEquilibriumCurrent,
                                     builder.getUnitAttr());
  }
  for (int l = firstRegionMap; l < numLayers; ++l)
    if (failed(importMap(layerMaps.Get(l), op.getLayers()[l])))
      return failure();
  if (failed(importMap(feedbackMap, op.getFeedback())))
    return failure();
  maskInsertionPoint = savedMaskPoint;

  for (int l = 0; l < numLayers; ++l) {
    scopes.back()[node.outputs(l)] = op.getRates()[l];
    scopes.back()[node.outputs(numLayers + l)] = op.getSpikeCounts()[l];
  }
  return success();
}

LogicalResult Importer::importNode(const fm::NodeProto &node) {
  const std::string &op = node.op_type();
  Location loc = locOf(node);
  if (op == "SpikingFeedback")
    return importFeedback(node);

  Value result;
  if (op == "SpectralWeight") {
    Value weight = lookup(node.inputs(0));
    auto scalar = RankedTensorType::get({}, elementType);
    Value u = lookup(node.inputs(2)), v = lookup(node.inputs(3));
    if (options.training) {
      // One power iteration per training forward pass (docs/method.md §4.1).
      auto power = SpectralPowerIterationOp::create(builder, loc, u.getType(),
                                                    v.getType(), weight, u, v);
      u = power.getUNext();
      v = power.getVNext();
      trainingResults.push_back({"state:" + node.inputs(2), u});
      trainingResults.push_back({"state:" + node.inputs(3), v});
    }
    result = SpectralWeightOp::create(builder, loc, weight.getType(), scalar,
                                      weight, lookup(node.inputs(1)), u, v)
                 .getResult();
  } else if (op == "Linear") {
    result = LinearOp::create(builder, loc, activationTypeOf(node.outputs(0)),
                              lookup(node.inputs(0)), lookup(node.inputs(1)),
                              optionalInput(node, 2));
  } else if (op == "Conv2d") {
    result = Conv2DOp::create(
        builder, loc, activationTypeOf(node.outputs(0)), lookup(node.inputs(0)),
        lookup(node.inputs(1)), optionalInput(node, 2),
        pair(node, "strides", {1, 1}), pair(node, "pads", {0, 0}));
  } else if (op == "ConvTranspose2d") {
    result = ConvTranspose2DOp::create(
        builder, loc, activationTypeOf(node.outputs(0)), lookup(node.inputs(0)),
        lookup(node.inputs(1)), optionalInput(node, 2),
        pair(node, "strides", {1, 1}), pair(node, "pads", {0, 0}),
        pair(node, "output_padding", {0, 0}));
  } else if (op == "BatchNorm" && shardStatistics.count(node.name()) &&
             regionDepth == 0) {
    const fm::AttributeProto *epsilon = attribute(node, "epsilon");
    auto [mean, variance] = shardStatistics.lookup(node.name());
    Value input = lookup(node.inputs(0));
    result = BatchNormOp::create(
        builder, loc, input.getType(), input, lookup(node.inputs(1)),
        lookup(node.inputs(2)), mean, variance,
        builder.getF64FloatAttr(epsilon ? epsilon->f() : 1e-5));
  } else if (op == "BatchNorm" && options.training && regionDepth == 0) {
    const fm::AttributeProto *epsilon = attribute(node, "epsilon");
    Value input = lookup(node.inputs(0));
    Value gamma = lookup(node.inputs(1));
    auto bn = BatchNormTrainOp::create(
        builder, loc, input.getType(), gamma.getType(), gamma.getType(), input,
        gamma, lookup(node.inputs(2)),
        builder.getF64FloatAttr(epsilon ? epsilon->f() : 1e-5));
    batchStatistics[node.name()] = {bn.getBatchMean(), bn.getBatchVariance()};
    trainingResults.push_back(
        {"batch_mean:" + node.inputs(3), bn.getBatchMean()});
    trainingResults.push_back(
        {"batch_variance:" + node.inputs(4), bn.getBatchVariance()});
    result = bn.getResult();
  } else if (op == "BatchNorm" && batchStatistics.count(node.name())) {
    auto [mean, variance] = batchStatistics.lookup(node.name());
    Value input = lookup(node.inputs(0));
    result = BatchNormOp::create(
        builder, loc, input.getType(), input, lookup(node.inputs(1)),
        lookup(node.inputs(2)), mean, variance,
        builder.getF64FloatAttr(kFrameStatisticsEpsilon));
  } else if (op == "BatchNorm") {
    const fm::AttributeProto *epsilon = attribute(node, "epsilon");
    Value input = lookup(node.inputs(0));
    result = BatchNormOp::create(
        builder, loc, input.getType(), input, lookup(node.inputs(1)),
        lookup(node.inputs(2)), lookup(node.inputs(3)), lookup(node.inputs(4)),
        builder.getF64FloatAttr(epsilon ? epsilon->f() : 1e-5));
  } else if (op == "Dropout") {
    Value input = lookup(node.inputs(0));
    OpBuilder maskBuilder(context);
    if (maskInsertionPoint)
      maskBuilder.setInsertionPoint(maskInsertionPoint);
    else
      maskBuilder.setInsertionPoint(builder.getInsertionBlock(),
                                    builder.getInsertionPoint());
    // A map imported twice (spike frames in training: the equilibrium's
    // current and the simulation's) draws its masks once.
    Value &mask = masksByNode[node.name()];
    if (!mask)
      mask = DropoutMaskOp::create(
          maskBuilder, loc, input.getType(), dropoutSeed,
          maskBuilder.getF64FloatAttr(attribute(node, "rate")->f()),
          maskBuilder.getI64IntegerAttr(dropoutStream++));
    result = DropoutOp::create(builder, loc, input.getType(), input, mask);
  } else if (op == "Flatten") {
    result = FlattenOp::create(builder, loc, activationTypeOf(node.outputs(0)),
                               lookup(node.inputs(0)));
  } else if (op == "AvgPool2d") {
    DenseI64ArrayAttr kernel = pair(node, "kernel", {});
    result = AvgPool2DOp::create(
        builder, loc, activationTypeOf(node.outputs(0)), lookup(node.inputs(0)),
        kernel, pair(node, "strides", kernel.asArrayRef()));
  } else {
    return emitError(loc) << "unknown op type '" << op << "'";
  }
  scopes.back()[node.outputs(0)] = result;
  return success();
}

} // namespace

OwningOpRef<ModuleOp> mlir::fsnn::importModel(const fm::ModelProto &model,
                                              const fm::ModelInfo &info,
                                              MLIRContext *context,
                                              const ImportOptions &options) {
  context->loadDialect<FSNNDialect, func::FuncDialect, arith::ArithDialect>();
  if (options.batch < 1 || options.batch > fm::kMaxDimension) {
    emitError(UnknownLoc::get(context))
        << "batch must be in [1, " << fm::kMaxDimension << "], got "
        << options.batch;
    return nullptr;
  }
  return Importer(model, info, context, options).run();
}

void mlir::fsnn::registerTranslateDialects(DialectRegistry &registry) {
  registry.insert<FSNNDialect, func::FuncDialect, arith::ArithDialect>();
}
