//===- CorruptModelTest.cpp - every kind of bad model file ----------------===//
//
// Starts from a valid zoo model, breaks it one way per test, and checks that
// parsing or validation fails with a message naming the node or tensor and
// the field. Runs on the runtime side: no MLIR.
//
//===----------------------------------------------------------------------===//

#include "runtime/model/Model.h"
#include "runtime/model/Validate.h"
#include "training/zoo/Zoo.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace fsnn::model;

namespace {

class CorruptModel : public ::testing::Test {
protected:
  void SetUp() override {
    ZooOptions options;
    options.seed = 1;
    ASSERT_TRUE(createModel("fmnist-f400", options, model).ok());
    ModelInfo info;
    ASSERT_TRUE(validateModel(model, info).ok());
  }

  /// The validation error ("" if the model is valid).
  std::string validationError() {
    ModelInfo info;
    return validateModel(model, info).message();
  }

  TensorProto &initializer(const std::string &name) {
    for (TensorProto &t : *model.mutable_graph()->mutable_initializers())
      if (t.name() == name)
        return t;
    ADD_FAILURE() << "no initializer " << name;
    return *model.mutable_graph()->mutable_initializers(0);
  }
  NodeProto &node(const std::string &name) {
    for (NodeProto &n : *model.mutable_graph()->mutable_nodes())
      if (n.name() == name)
        return n;
    ADD_FAILURE() << "no node " << name;
    return *model.mutable_graph()->mutable_nodes(0);
  }
  AttributeProto &attribute(NodeProto &n, const std::string &name) {
    for (AttributeProto &a : *n.mutable_attributes())
      if (a.name() == name)
        return a;
    AttributeProto *a = n.add_attributes();
    a->set_name(name);
    return *a;
  }
  /// The first layer map of the SpikingFeedback node.
  GraphProto &layerMap() {
    return *attribute(node("snn"), "layers")
                .mutable_graphs()
                ->mutable_values(0);
  }

  ModelProto model;
};

#define EXPECT_ERROR(text)                                                     \
  EXPECT_NE(validationError().find(text), std::string::npos)                   \
      << "got: '" << validationError() << "'"

TEST_F(CorruptModel, TruncatedBinary) {
  std::string bytes;
  ASSERT_TRUE(serializeModel(model, Format::Binary, bytes).ok());
  ModelProto parsed;
  for (size_t cut :
       {size_t(1), size_t(100), bytes.size() / 2, bytes.size() - 1}) {
    Status status =
        parseModel(std::string_view(bytes).substr(0, cut), "m.fsnn", parsed);
    if (status.ok()) {
      // A cut that happens to end on a field boundary parses; validation must
      // then catch what is missing.
      ModelInfo info;
      EXPECT_FALSE(validateModel(parsed, info).ok()) << "cut at " << cut;
    } else {
      EXPECT_EQ(status.message(), "m.fsnn: not a valid fsnn model (truncated "
                                  "or corrupt binary protobuf)");
    }
  }
}

TEST_F(CorruptModel, GarbageNeverCrashes) {
  std::mt19937 random(42);
  for (int trial = 0; trial < 200; ++trial) {
    std::string bytes(1 + random() % 512, '\0');
    for (char &c : bytes)
      c = static_cast<char>(random());
    ModelProto parsed;
    ModelInfo info;
    if (parseModel(bytes, "garbage", parsed).ok()) {
      EXPECT_FALSE(validateModel(parsed, info).ok());
    }
  }
}

TEST_F(CorruptModel, EmptyFile) {
  ModelProto parsed;
  ASSERT_TRUE(parseModel("", "empty", parsed).ok());
  ModelInfo info;
  EXPECT_EQ(validateModel(parsed, info).message(),
            "format_version is missing or not positive (got 0)");
}

TEST_F(CorruptModel, TextSyntaxErrorHasAPosition) {
  ModelProto parsed;
  Status status =
      parseModel("format_version: 1\ngraph { name: }\n", "m.txt", parsed);
  EXPECT_EQ(
      status.message().rfind("m.txt: invalid text model: line 2, column", 0),
      0u)
      << status.message();
}

TEST_F(CorruptModel, FutureFormatVersion) {
  model.set_format_version(kFormatVersion + 1);
  EXPECT_ERROR("format_version 2 is newer than this reader supports (1)");
}

TEST_F(CorruptModel, NoGraph) {
  model.clear_graph();
  EXPECT_ERROR("the model has no graph");
}

TEST_F(CorruptModel, ReservedInt8Dtype) {
  TensorProto &t = initializer("readout.bias");
  t.set_dtype(TensorProto::INT8);
  EXPECT_ERROR("initializer 'readout.bias': dtype int8 is reserved");
}

TEST_F(CorruptModel, MissingDtype) {
  initializer("readout.bias").set_dtype(TensorProto::UNDEFINED);
  EXPECT_ERROR("initializer 'readout.bias': dtype is missing");
}

TEST_F(CorruptModel, DtypeDiffersFromTheModel) {
  TensorProto &t = initializer("readout.bias");
  t.set_dtype(TensorProto::FLOAT64);
  t.mutable_raw_data()->resize(10 * 8);
  EXPECT_ERROR("initializer 'readout.bias': dtype float64 differs from the "
               "model's float32");
}

TEST_F(CorruptModel, RawDataSizeDisagreesWithDims) {
  initializer("f.weight").mutable_raw_data()->resize(100);
  EXPECT_ERROR("initializer 'f.weight': raw_data has 100 bytes but dims "
               "[400, 784] of float32 need 1254400");
}

TEST_F(CorruptModel, ValuesCountDisagreesWithDims) {
  TensorProto &t = initializer("readout.bias");
  t.clear_raw_data();
  t.add_values(1.0);
  EXPECT_ERROR("initializer 'readout.bias': has 1 values but dims [10] need "
               "10");
}

TEST_F(CorruptModel, InitializerDisagreesWithTheNodeUsingIt) {
  TensorProto &t = initializer("f.weight");
  t.set_dims(1, 785);
  t.mutable_raw_data()->resize(400 * 785 * 4);
  EXPECT_ERROR("node 'f' (Linear): weight 'f.weight' has 785 input features "
               "but input 'f.in' has 784");
}

TEST_F(CorruptModel, BiasOfTheWrongSize) {
  TensorProto &t = initializer("readout.bias");
  t.set_dims(0, 11);
  t.mutable_raw_data()->resize(11 * 4);
  EXPECT_ERROR("node 'readout' (Linear): input 2 'readout.bias' (bias) has "
               "shape [11] but the node needs [10]");
}

TEST_F(CorruptModel, MissingInitializer) {
  auto *inits = model.mutable_graph()->mutable_initializers();
  for (int i = 0; i < inits->size(); ++i)
    if (inits->Get(i).name() == "readout.bias") {
      inits->DeleteSubrange(i, 1);
      break;
    }
  EXPECT_ERROR("node 'readout' (Linear): input 2 'readout.bias' is not "
               "defined");
}

TEST_F(CorruptModel, UnknownOp) {
  node("readout").set_op_type("Conv3d");
  EXPECT_ERROR("node 'readout' (Conv3d): unknown op type 'Conv3d'");
}

TEST_F(CorruptModel, UnknownAttribute) {
  attribute(node("snn"), "momentum").set_f(0.1);
  EXPECT_ERROR("node 'snn' (SpikingFeedback): unknown attribute 'momentum'");
}

TEST_F(CorruptModel, AttributeOfTheWrongKind) {
  attribute(node("snn"), "time_steps").set_f(5.0);
  EXPECT_ERROR("node 'snn' (SpikingFeedback): attribute 'time_steps' must be "
               "an integer (i), got a float (f)");
}

TEST_F(CorruptModel, MissingRequiredAttribute) {
  NodeProto *dropout = layerMap().mutable_nodes(2);
  ASSERT_EQ(dropout->op_type(), "Dropout");
  dropout->clear_attributes();
  EXPECT_ERROR("node 'f.dropout' (Dropout): attribute 'rate' is required");
}

TEST_F(CorruptModel, ZeroDim) {
  initializer("readout.bias").set_dims(0, 0);
  EXPECT_ERROR("initializer 'readout.bias': dims[0] = 0 is outside [1, "
               "16777216]");
}

TEST_F(CorruptModel, NegativeDim) {
  initializer("f.weight").set_dims(1, -784);
  EXPECT_ERROR("initializer 'f.weight': dims[1] = -784 is outside");
}

TEST_F(CorruptModel, AbsurdDimIsRejectedBeforeAllocating) {
  initializer("f.weight").set_dims(0, int64_t(1) << 40);
  EXPECT_ERROR("initializer 'f.weight': dims[0] = 1099511627776 is outside");
}

TEST_F(CorruptModel, ElementCountOverflow) {
  TensorProto &t = initializer("f.weight");
  t.set_dims(0, 1 << 20);
  t.set_dims(1, 1 << 20);
  EXPECT_ERROR("initializer 'f.weight': dims [1048576, 1048576] exceed the "
               "limit of 268435456 elements");
}

TEST_F(CorruptModel, ZeroTimeSteps) {
  attribute(node("snn"), "time_steps").set_i(0);
  EXPECT_ERROR("node 'snn' (SpikingFeedback): attribute 'time_steps' must be "
               "in [1, 100000], got 0");
}

TEST_F(CorruptModel, NonPositiveThreshold) {
  attribute(node("snn"), "threshold").set_f(0.0);
  EXPECT_ERROR("attribute 'threshold' (V_th) must be > 0");
  attribute(node("snn"), "threshold").set_f(-2.0);
  EXPECT_ERROR("attribute 'threshold' (V_th) must be > 0");
}

TEST_F(CorruptModel, LeakOutsideTheUnitInterval) {
  attribute(node("snn"), "neuron").set_s("lif");
  attribute(node("snn"), "leak").set_f(1.5);
  EXPECT_ERROR("attribute 'leak' (lambda) must be in (0, 1], got 1.5");
  attribute(node("snn"), "leak").set_f(0.0);
  EXPECT_ERROR("attribute 'leak' (lambda) must be in (0, 1], got 0");
}

TEST_F(CorruptModel, LifNeedsALeak) {
  attribute(node("snn"), "neuron").set_s("lif");
  EXPECT_ERROR("node 'snn' (SpikingFeedback): attribute 'leak' is required");
}

TEST_F(CorruptModel, IfNeuronWithALeak) {
  attribute(node("snn"), "leak").set_f(0.9);
  EXPECT_ERROR("attribute 'leak' must be 1 for an 'if' neuron");
}

TEST_F(CorruptModel, UnknownNeuronKind) {
  attribute(node("snn"), "neuron").set_s("izhikevich");
  EXPECT_ERROR("attribute 'neuron' is 'izhikevich', expected one of: if, lif");
}

TEST_F(CorruptModel, CycleThatIsNotADeclaredFeedback) {
  // readout -> extra -> readout: logits feed a node whose output feeds back.
  NodeProto *extra = model.mutable_graph()->add_nodes();
  extra->set_op_type("Linear");
  extra->set_name("extra");
  extra->add_inputs("logits");
  extra->add_inputs("readout.weight");
  extra->add_outputs("loop");
  node("readout").set_inputs(0, "loop");
  EXPECT_ERROR("cycle between nodes readout -> extra -> readout is not a "
               "declared feedback");
}

TEST_F(CorruptModel, SelfLoop) {
  node("readout").set_inputs(0, "logits");
  EXPECT_ERROR("cycle between nodes readout -> readout");
}

TEST_F(CorruptModel, NameDefinedTwice) {
  node("readout").set_outputs(0, "fb.weight");
  EXPECT_ERROR("output 'fb.weight' is already defined elsewhere");
}

TEST_F(CorruptModel, NodeWithoutAName) {
  node("readout").clear_name();
  EXPECT_ERROR("a node of type 'Linear' has no name");
}

TEST_F(CorruptModel, MapUsesAnActivationFromOutside) {
  layerMap().mutable_nodes(0)->set_inputs(0, "images");
  EXPECT_ERROR("node 'f' (Linear): input 0 'images' is an activation from "
               "outside the map");
}

TEST_F(CorruptModel, FeedbackInsideAMap) {
  *layerMap().add_nodes() = node("snn");
  EXPECT_ERROR("op type 'SpikingFeedback' is not allowed inside a map");
}

TEST_F(CorruptModel, MapInputShapeMismatch) {
  layerMap().mutable_inputs(0)->set_shape(0, 783);
  EXPECT_ERROR("node 'snn' (SpikingFeedback): layer map 1 input 'f.in' has "
               "shape [783] but receives [784]");
}

TEST_F(CorruptModel, WrongNumberOfFeedbackOutputs) {
  node("snn").add_outputs("extra");
  EXPECT_ERROR("expects 2 outputs (the rates, then the spike counts, of each "
               "of its 1 layers), got 3");
}

TEST_F(CorruptModel, GraphOutputNotComputed) {
  model.mutable_graph()->mutable_outputs(0)->set_name("nothing");
  EXPECT_ERROR("graph output 'nothing' is not computed by any node");
}

TEST_F(CorruptModel, UnusedInitializer) {
  TensorProto *t = model.mutable_graph()->add_initializers();
  t->set_name("stray");
  t->add_dims(1);
  t->set_dtype(TensorProto::FLOAT32);
  t->mutable_raw_data()->resize(4);
  EXPECT_ERROR("initializer 'stray' is not used by any node");
}

TEST_F(CorruptModel, ParameterWhereAnActivationBelongs) {
  node("readout").set_inputs(0, "f.bias");
  EXPECT_ERROR("node 'readout' (Linear): input 0 'f.bias' must be an "
               "activation, but it is a parameter");
}

// Found by the fuzzer: a declared output dtype that the importer trusted.
TEST_F(CorruptModel, GraphOutputDtypeDisagreesWithTheValue) {
  model.mutable_graph()->mutable_outputs(1)->set_dtype(TensorProto::FLOAT32);
  EXPECT_ERROR("graph output 'snn.count1' is declared float32 but is int32");
}

TEST_F(CorruptModel, SpikeCountsAreNotAnOpInput) {
  node("readout").set_inputs(0, "snn.count1");
  EXPECT_ERROR("node 'readout' (Linear): input 0 'snn.count1' is a spike "
               "count (int32); ops take float values");
}

TEST_F(CorruptModel, ParameterAsAGraphOutput) {
  model.mutable_graph()->mutable_outputs(0)->set_name("fb.weight");
  model.mutable_graph()->mutable_outputs(0)->clear_shape();
  EXPECT_ERROR("graph output 'fb.weight' is a parameter");
}

TEST_F(CorruptModel, TheZooModelRoundTripsThroughBothForms) {
  for (Format format : {Format::Binary, Format::Text}) {
    std::string bytes;
    ASSERT_TRUE(serializeModel(model, format, bytes).ok());
    EXPECT_EQ(detectFormat(bytes), format);
    ModelProto parsed;
    ASSERT_TRUE(parseModel(bytes, "m", parsed).ok());
    EXPECT_EQ(parsed.SerializeAsString(), model.SerializeAsString());
  }
}

} // namespace

namespace {

TEST_F(CorruptModel, NonFiniteParameters) {
  std::vector<double> values = tensorValues(initializer("f.weight"));
  values[17] = std::nan("");
  setTensorValues(initializer("f.weight"), values);
  EXPECT_ERROR("initializer 'f.weight': element 17 is NaN; parameters must "
               "be finite");
  values[17] = -INFINITY;
  setTensorValues(initializer("f.weight"), values);
  EXPECT_ERROR("initializer 'f.weight': element 17 is infinite");
  // Finite as a double (a text model's values), infinite as float32: found
  // by the fuzzer, the importer made it inf and the export was invalid.
  TensorProto &weight = initializer("f.weight");
  weight.clear_raw_data();
  for (size_t i = 0; i < values.size(); ++i)
    weight.add_values(i == 3 ? 1e300 : 0.0);
  EXPECT_ERROR("initializer 'f.weight': element 3 is infinite");
}

// A newline in a name would have added lines to the compiled library's
// descriptor ("fmnist-f400\nparam readout.bias f32 10").
TEST_F(CorruptModel, NamesWithWhitespaceOrControlCharacters) {
  model.mutable_graph()->set_name("fmnist-f400\nparam readout.bias f32 10");
  EXPECT_ERROR("graph name 'fmnist-f400?param?readout.bias?f32?10' contains "
               "the byte 0x0a");
  model.mutable_graph()->set_name("fmnist-f400");
  node("readout").set_name("read out");
  EXPECT_ERROR("node name 'read?out' contains the byte 0x20");
  node("read out").set_name("readout");
  initializer("f.bias").set_name(std::string("f.bias\x01", 7));
  EXPECT_ERROR("initializer name 'f.bias?' contains the byte 0x01");
}

TEST_F(CorruptModel, OverlongName) {
  model.mutable_graph()->set_name(std::string(300, 'a'));
  EXPECT_ERROR("graph name of 300 bytes is longer than the limit of 256");
}

TEST_F(CorruptModel, UTF8NamesAreFine) {
  model.mutable_graph()->set_name("fmnist-f400-\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(validationError(), "");
}

TEST_F(CorruptModel, MapOutputDeclaredWithAnotherShape) {
  layerMap().mutable_outputs(0)->set_shape(0, 399);
  EXPECT_ERROR("output 'f.out' is declared with shape [399] but has shape "
               "[400]");
}

} // namespace
