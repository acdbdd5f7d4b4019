//===- StructureHashTest.cpp - what the structure hash covers -------------===//
//
// A compiled library serves every model file with its structure hash: the
// same architecture with other weights, training state or attribute order,
// but never another time-step count, attribute value or name.
//
//===----------------------------------------------------------------------===//

#include "runtime/model/Model.h"
#include "training/zoo/Zoo.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace fsnn::model;

namespace {

ModelProto zooModel(int64_t timeSteps, uint64_t seed) {
  ZooOptions options;
  options.seed = seed;
  options.timeSteps = timeSteps;
  ModelProto model;
  EXPECT_TRUE(createModel("fmnist-f400", options, model).ok());
  return model;
}

NodeProto &feedbackNode(ModelProto &model) {
  for (NodeProto &node : *model.mutable_graph()->mutable_nodes())
    if (node.op_type() == "SpikingFeedback")
      return node;
  ADD_FAILURE() << "no SpikingFeedback node";
  return *model.mutable_graph()->mutable_nodes(0);
}

TEST(StructureHash, IgnoresWeightsAndDocs) {
  EXPECT_EQ(modelStructureHash(zooModel(5, 1)),
            modelStructureHash(zooModel(5, 2)));
}

TEST(StructureHash, CoversAttributeValues) {
  // A regression: sorting through mutable_graphs() reset every attribute's
  // oneof, so models with different time steps hashed the same.
  EXPECT_NE(modelStructureHash(zooModel(5, 1)),
            modelStructureHash(zooModel(7, 1)));
}

TEST(StructureHash, IgnoresAttributeOrder) {
  ModelProto model = zooModel(5, 1);
  ModelProto reordered = model;
  auto &attributes = *feedbackNode(reordered).mutable_attributes();
  std::reverse(attributes.begin(), attributes.end());
  ASSERT_NE(feedbackNode(model).attributes(0).name(),
            feedbackNode(reordered).attributes(0).name());
  EXPECT_EQ(modelStructureHash(model), modelStructureHash(reordered));
}

TEST(StructureHash, CoversNames) {
  ModelProto model = zooModel(5, 1);
  ModelProto renamed = model;
  feedbackNode(renamed).set_name("other");
  EXPECT_NE(modelStructureHash(model), modelStructureHash(renamed));
}

} // namespace
