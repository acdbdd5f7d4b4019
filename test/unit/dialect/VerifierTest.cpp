//===- VerifierTest.cpp - build fsnn ops in C++ and check verifiers -------===//
//
// The lit tests cover the textual form; these build ops through the C++ API,
// as the importer and the passes do, and check that the verifiers accept the
// well-formed ones and name the fault in the others.
//
//===----------------------------------------------------------------------===//

#include "dialect/IR/FSNNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

using namespace mlir;
using namespace mlir::fsnn;

namespace {

class FSNNVerifierTest : public ::testing::Test {
protected:
  FSNNVerifierTest()
      : builder(&context), diagnostics(&context, [this](Diagnostic &diag) {
          messages.push_back(diag.str());
          return success();
        }) {
    context.loadDialect<FSNNDialect, arith::ArithDialect, func::FuncDialect>();
    // Ops live in a function so that dominance of captured values is
    // defined; only the ops under test are verified, not the function.
    function = func::FuncOp::create(builder, builder.getUnknownLoc(), "test",
                                    builder.getFunctionType({}, {}));
    block = function->addEntryBlock();
    builder.setInsertionPointToEnd(block);
  }

  RankedTensorType tensor(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, builder.getF32Type());
  }

  /// A value of the given type, as a block argument the ops can use.
  Value value(Type type) {
    return block->addArgument(type, builder.getUnknownLoc());
  }

  /// Verifies `op` and returns the diagnostics it produced ("" if it passed).
  std::string verifyAndCollect(Operation *op) {
    messages.clear();
    if (succeeded(mlir::verify(op)))
      return "";
    std::string all;
    for (const std::string &message : messages)
      all += message + "\n";
    return all.empty() ? "<failed without a message>" : all;
  }

  /// Gives `region` one block with an argument of `argType` that yields
  /// `yielded(argument)`.
  void fillRegion(Region &region, Type argType,
                  function_ref<Value(OpBuilder &, Value)> yielded) {
    OpBuilder::InsertionGuard guard(builder);
    Block *body =
        builder.createBlock(&region, {}, {argType}, {builder.getUnknownLoc()});
    Value result = yielded(builder, body->getArgument(0));
    YieldOp::create(builder, builder.getUnknownLoc(), ValueRange{result});
  }

  NeuronAttr ifNeuron() {
    return NeuronAttr::get(&context, NeuronKind::IF, APFloat(2.0), APFloat(1.0),
                           ResetMode::Subtract);
  }

  MLIRContext context;
  OpBuilder builder;
  OwningOpRef<func::FuncOp> function;
  Block *block = nullptr;
  std::vector<std::string> messages;
  ScopedDiagnosticHandler diagnostics;
};

TEST_F(FSNNVerifierTest, LinearAcceptsTheF400InputMap) {
  Location loc = builder.getUnknownLoc();
  auto linear = LinearOp::create(
      builder, loc, tensor({128, 400}), value(tensor({128, 784})),
      value(tensor({400, 784})), value(tensor({400})));
  EXPECT_EQ(verifyAndCollect(linear), "");
}

TEST_F(FSNNVerifierTest, LinearNamesTheMismatchedFeatures) {
  auto linear = LinearOp::create(builder, builder.getUnknownLoc(),
                                 tensor({128, 400}), value(tensor({128, 784})),
                                 value(tensor({400, 785})), Value());
  EXPECT_NE(verifyAndCollect(linear).find(
                "weight in_features (785) must equal input in_features (784)"),
            std::string::npos)
      << verifyAndCollect(linear);
}

TEST_F(FSNNVerifierTest, ConvTransposeComputesTheUpsampledShape) {
  Location loc = builder.getUnknownLoc();
  auto good = ConvTranspose2DOp::create(builder, loc, tensor({2, 96, 16, 16}),
                                        value(tensor({2, 256, 8, 8})),
                                        value(tensor({256, 96, 3, 3})), Value(),
                                        builder.getDenseI64ArrayAttr({2, 2}),
                                        builder.getDenseI64ArrayAttr({1, 1}),
                                        builder.getDenseI64ArrayAttr({1, 1}));
  EXPECT_EQ(verifyAndCollect(good), "");
  auto bad = ConvTranspose2DOp::create(builder, loc, tensor({2, 96, 15, 15}),
                                       value(tensor({2, 256, 8, 8})),
                                       value(tensor({256, 96, 3, 3})), Value(),
                                       builder.getDenseI64ArrayAttr({2, 2}),
                                       builder.getDenseI64ArrayAttr({1, 1}),
                                       builder.getDenseI64ArrayAttr({1, 1}));
  EXPECT_NE(verifyAndCollect(bad).find("expected shape 2x96x16x16"),
            std::string::npos);
}

TEST_F(FSNNVerifierTest, SynapticMapsAnswerThroughTheirInterface) {
  Location loc = builder.getUnknownLoc();
  Value x = value(tensor({8, 784})), bias = value(tensor({400}));
  auto linear = LinearOp::create(builder, loc, tensor({8, 400}), x,
                                 value(tensor({400, 784})), bias);
  auto conv = Conv2DOp::create(builder, loc, tensor({2, 64, 14, 14}),
                               value(tensor({2, 1, 28, 28})),
                               value(tensor({64, 1, 5, 5})), Value(),
                               builder.getDenseI64ArrayAttr({2, 2}),
                               builder.getDenseI64ArrayAttr({2, 2}));
  auto convT = ConvTranspose2DOp::create(
      builder, loc, tensor({2, 96, 16, 16}), value(tensor({2, 256, 8, 8})),
      value(tensor({256, 96, 3, 3})), Value(),
      builder.getDenseI64ArrayAttr({2, 2}),
      builder.getDenseI64ArrayAttr({1, 1}),
      builder.getDenseI64ArrayAttr({1, 1}));

  auto linearMap = cast<SynapticMapOpInterface>(linear.getOperation());
  EXPECT_EQ(linearMap.getInput(), x);
  EXPECT_EQ(linearMap.getBias(), bias);
  EXPECT_EQ(linearMap.getWeightOutputDim(), 0);
  EXPECT_TRUE(linearMap.hasEventDrivenForm());
  EXPECT_EQ(linearMap.getBiasBroadcastDims(), SmallVector<int64_t>({0}));

  auto convMap = cast<SynapticMapOpInterface>(conv.getOperation());
  EXPECT_FALSE(convMap.getBias());
  EXPECT_EQ(convMap.getWeightOutputDim(), 0);
  EXPECT_TRUE(convMap.hasEventDrivenForm());
  EXPECT_EQ(convMap.getBiasBroadcastDims(), SmallVector<int64_t>({0, 2, 3}));

  // IOHW: a transposed conv's output features are the weight's dimension 1;
  // on spikes it is event-driven too (each spike adds a kernel window).
  auto convTMap = cast<SynapticMapOpInterface>(convT.getOperation());
  EXPECT_EQ(convTMap.getWeightOutputDim(), 1);
  EXPECT_TRUE(convTMap.hasEventDrivenForm());
  EXPECT_EQ(convTMap.getBiasBroadcastDims(), SmallVector<int64_t>({0, 2, 3}));

  // Other ops are not maps.
  auto clamp =
      ClampRateOp::create(builder, loc, tensor({8, 400}), linear.getResult(),
                          builder.getF64FloatAttr(1.0));
  EXPECT_FALSE(isa<SynapticMapOpInterface>(clamp.getOperation()));
}

TEST_F(FSNNVerifierTest, NeuronAttrChecksItsRanges) {
  auto emit = [&] { return emitError(builder.getUnknownLoc()); };
  EXPECT_TRUE(NeuronAttr::getChecked(emit, &context, NeuronKind::LIF,
                                     APFloat(2.0), APFloat(0.95),
                                     ResetMode::Subtract));
  messages.clear();
  EXPECT_FALSE(NeuronAttr::getChecked(emit, &context, NeuronKind::LIF,
                                      APFloat(2.0), APFloat(1.5),
                                      ResetMode::Subtract));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0], "neuron leak must be in (0, 1], got 1.5");
  messages.clear();
  EXPECT_FALSE(NeuronAttr::getChecked(emit, &context, NeuronKind::IF,
                                      APFloat(-1.0), APFloat(1.0),
                                      ResetMode::Zero));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0],
            "neuron threshold must be a finite positive number, got -1.0");
}

TEST_F(FSNNVerifierTest, FeedbackBuiltInCppVerifiesAndChecksTimeSteps) {
  Location loc = builder.getUnknownLoc();
  Value input = value(tensor({8, 784}));
  Value forward = value(tensor({400, 784}));
  Value feedback = value(tensor({400, 400}));
  auto counts = RankedTensorType::get({8, 400}, builder.getI32Type());
  auto op = FeedbackOp::create(builder, loc, TypeRange{tensor({8, 400})},
                               TypeRange{counts}, input, 30, ifNeuron(),
                               InputKind::Static, /*layersCount=*/1);
  fillRegion(op.getFeedback(), tensor({8, 400}), [&](OpBuilder &b, Value s) {
    return LinearOp::create(b, loc, tensor({8, 400}), s, feedback, Value())
        .getResult();
  });
  fillRegion(op.getLayers()[0], tensor({8, 784}), [&](OpBuilder &b, Value x) {
    return LinearOp::create(b, loc, tensor({8, 400}), x, forward, Value())
        .getResult();
  });
  EXPECT_EQ(verifyAndCollect(op), "");
  EXPECT_EQ(op.getNumLayers(), 1u);

  op.setTimeSteps(0);
  EXPECT_NE(verifyAndCollect(op).find("time_steps must be >= 1, got 0"),
            std::string::npos);
}

TEST_F(FSNNVerifierTest, FeedbackRejectsAFeedbackMapOfTheWrongShape) {
  Location loc = builder.getUnknownLoc();
  auto counts = RankedTensorType::get({8, 4}, builder.getI32Type());
  auto op = FeedbackOp::create(builder, loc, TypeRange{tensor({8, 4})},
                               TypeRange{counts}, value(tensor({8, 4})), 5,
                               ifNeuron(), InputKind::Static, 1);
  Value narrow = value(tensor({3, 4}));
  fillRegion(op.getFeedback(), tensor({8, 4}), [&](OpBuilder &b, Value s) {
    return LinearOp::create(b, loc, tensor({8, 3}), s, narrow, Value())
        .getResult();
  });
  fillRegion(op.getLayers()[0], tensor({8, 4}),
             [](OpBuilder &, Value x) { return x; });
  EXPECT_NE(verifyAndCollect(op).find("feedback map must yield type "
                                      "'tensor<8x4xf32>', got "
                                      "'tensor<8x3xf32>'"),
            std::string::npos);
}

TEST_F(FSNNVerifierTest, AdjointSolveChecksItsSettings) {
  Location loc = builder.getUnknownLoc();
  Value point = value(tensor({8, 4}));
  auto op = AdjointSolveOp::create(builder, loc, tensor({8, 4}), tensor({8}),
                                   point, value(tensor({8, 4})),
                                   SolverKind::Broyden, 30, APFloat(1e-8));
  fillRegion(op.getMap(), tensor({8, 4}), [&](OpBuilder &b, Value a) {
    return ClampRateOp::create(b, loc, a.getType(), a, b.getF64FloatAttr(2.0))
        .getResult();
  });
  EXPECT_EQ(verifyAndCollect(op), "");

  op.setTolerance(APFloat(-1.0));
  EXPECT_NE(verifyAndCollect(op).find(
                "tolerance must be a finite non-negative number, got -1.0"),
            std::string::npos);
}

} // namespace
