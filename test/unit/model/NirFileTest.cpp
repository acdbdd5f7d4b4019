//===- NirFileTest.cpp - NIR trees: wire form, HDF5 round trip, names -----===//

#include "runtime/nir/NirFile.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <unistd.h>

using namespace fsnn::nir;

namespace {

Item sampleTree() {
  Item root;
  root.name = "/";
  Item version;
  version.name = "version";
  version.kind = Item::Kind::String;
  version.strings = {"1.0.0"};
  Item node;
  node.name = "node";
  Item weight;
  weight.name = "weight";
  weight.kind = Item::Kind::Float;
  weight.float32 = true;
  weight.dims = {2, 3};
  weight.floats = {1, -2, 0.5, 0.25, 3, -4};
  Item stride;
  stride.name = "stride";
  stride.kind = Item::Kind::Integer;
  stride.dims = {2};
  stride.integers = {1, 2};
  Item edges;
  edges.name = "edges";
  edges.kind = Item::Kind::String;
  edges.dims = {1, 2};
  edges.strings = {"input", "fc"};
  node.children = {edges, stride, weight};
  root.children = {node, version};
  return root;
}

void expectSame(const Item &a, const Item &b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.dims, b.dims);
  EXPECT_EQ(a.floats, b.floats);
  EXPECT_EQ(a.integers, b.integers);
  EXPECT_EQ(a.strings, b.strings);
  ASSERT_EQ(a.children.size(), b.children.size()) << a.name;
  for (size_t i = 0; i < a.children.size(); ++i)
    expectSame(a.children[i], b.children[i]);
}

std::string tempPath(const char *name) {
  return std::string(::testing::TempDir()) + "/" + name + "-" +
         std::to_string(::getpid());
}

TEST(NirWireForm, RoundTripsAndRefusesEveryTruncation) {
  Item tree = sampleTree();
  std::string bytes = encodeTree(tree);
  Item back;
  ASSERT_TRUE(decodeTree(bytes, back).ok());
  expectSame(tree, back);
  for (size_t length = 0; length < bytes.size(); ++length) {
    Item partial;
    EXPECT_FALSE(
        decodeTree(std::string_view(bytes).substr(0, length), partial).ok())
        << length;
  }
  Item extra;
  EXPECT_FALSE(decodeTree(bytes + "x", extra).ok());
}

TEST(NirWireForm, RefusesClaimsBeyondTheBytes) {
  // A group claiming 2^40 children, a dataset claiming 2^28 x 2^28.
  std::string group =
      std::string("\0\0", 2) + std::string(8, '\0') + std::string(8, '\0');
  group += std::string("\0\0\0\0\0\1\0\0", 8);
  Item out;
  EXPECT_FALSE(decodeTree(group, out).ok());
  std::string dataset = std::string("\1\0", 2) + std::string(8, '\0');
  dataset += std::string("\2\0\0\0\0\0\0\0", 8);
  dataset += std::string("\0\0\0\x10\0\0\0\0", 8);
  dataset += std::string("\0\0\0\x10\0\0\0\0", 8);
  EXPECT_FALSE(decodeTree(dataset, out).ok());
}

TEST(NirFile, WritesAndReadsBackThroughTheChild) {
  Item tree = sampleTree();
  std::string path = tempPath("sample.nir");
  ASSERT_TRUE(writeNirFile(tree, path).ok());
  Item back;
  fsnn::model::Status status = readNirFile(path, back);
  ASSERT_TRUE(status.ok()) << status.message();
  expectSame(tree, back);
  EXPECT_TRUE(back.find("node")->find("weight")->float32);
  std::remove(path.c_str());
}

TEST(NirFile, NamesTheProblem) {
  Item out;
  fsnn::model::Status missing = readNirFile("/nonexistent/m.nir", out);
  EXPECT_NE(missing.message().find("cannot open NIR file '/nonexistent/m.nir'"),
            std::string::npos)
      << missing.message();
  std::string path = tempPath("garbage.nir");
  FILE *file = std::fopen(path.c_str(), "wb");
  std::fputs("not hdf5 at all", file);
  std::fclose(file);
  fsnn::model::Status garbage = readNirFile(path, out);
  EXPECT_NE(garbage.message().find("is not an HDF5 file"), std::string::npos)
      << garbage.message();
  std::remove(path.c_str());
}

TEST(NirNames, EscapesWhatIsNotPrintableUtf8) {
  EXPECT_EQ(printableName("lif1.τ"), "lif1.τ");
  EXPECT_EQ(printableName(std::string("a\nb", 3)), "a\\x0ab");
  EXPECT_EQ(printableName(std::string("\xff\xc3", 2)), "\\xff\\xc3");
  EXPECT_EQ(printableName(std::string("\xed\xa0\x80", 3)), "\\xed\\xa0\\x80");
}

} // namespace
