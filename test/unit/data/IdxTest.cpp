//===- IdxTest.cpp - the IDX loader on files the tests write --------------===//

#include "training/data/Idx.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace fsnn::data;

namespace {

class IdxFiles : public ::testing::Test {
protected:
  void SetUp() override {
    char pattern[] = "/tmp/fsnn-idx-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    directory = pattern;
  }
  void TearDown() override {
    ASSERT_EQ(std::system(("rm -rf '" + directory + "'").c_str()), 0);
  }
  static std::string header(uint8_t type, std::vector<uint32_t> dims) {
    std::string h = {0, 0, char(type), char(dims.size())};
    for (uint32_t d : dims)
      for (int shift : {24, 16, 8, 0})
        h.push_back(char((d >> shift) & 0xff));
    return h;
  }
  std::string write(const std::string &name, const std::string &bytes,
                    bool gzip = false) {
    std::string path = directory + "/" + name;
    if (gzip) {
      gzFile f = gzopen(path.c_str(), "wb");
      gzwrite(f, bytes.data(), bytes.size());
      gzclose(f);
    } else {
      std::ofstream(path, std::ios::binary) << bytes;
    }
    return path;
  }
  std::string error(const std::string &path) {
    IdxArray array;
    return loadIdx(path, array).message();
  }
  std::string directory;
};

TEST_F(IdxFiles, ReadsRawAndGzippedImages) {
  std::string bytes = header(0x08, {2, 2, 3}) + "abcdefghijkl";
  for (bool gzip : {false, true}) {
    IdxArray array;
    std::string path = write(gzip ? "i.gz" : "i.idx", bytes, gzip);
    ASSERT_TRUE(loadIdx(path, array).ok());
    EXPECT_EQ(array.dims, (std::vector<int64_t>{2, 2, 3}));
    EXPECT_EQ(array.items(), 2);
    EXPECT_EQ(array.itemSize(), 6);
    EXPECT_EQ(array.data[7], 'h');
  }
}

TEST_F(IdxFiles, RejectsMalformedFiles) {
  EXPECT_NE(error(write("short", "ab")).find("shorter than its 4-byte magic"),
            std::string::npos);
  EXPECT_NE(error(write("magic", "\x01\x02\x08\x01xxxx")).find("bad magic"),
            std::string::npos);
  EXPECT_NE(error(write("type", header(0x0d, {1}) + "abcd"))
                .find("IDX element type 0x0d is not supported"),
            std::string::npos);
  EXPECT_NE(error(write("zero", header(0x08, {0}))).find("dimension 0 is 0"),
            std::string::npos);
  EXPECT_NE(error(write("huge", header(0x08, {65536, 65536, 2})))
                .find("exceed the 4 GiB limit"),
            std::string::npos);
  EXPECT_NE(error(write("trunc", header(0x08, {4}) + "ab"))
                .find("truncated: expected 4 bytes of data, got 2"),
            std::string::npos);
  EXPECT_NE(error(write("extra", header(0x08, {2}) + "abc"))
                .find("has data after the 2 bytes"),
            std::string::npos);
  EXPECT_NE(error(directory + "/none").find("cannot open"), std::string::npos);
}

TEST_F(IdxFiles, RejectsCorruptGzip) {
  std::string good = directory + "/good.gz";
  write("good.gz", header(0x08, {64}) + std::string(64, 'x'), true);
  std::ifstream in(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  bytes.resize(bytes.size() - 12); // cut the stream and its trailer
  EXPECT_FALSE(error(write("cut.gz", bytes)).empty());
}

TEST_F(IdxFiles, ImagesAndLabelsMustAgree) {
  std::string images = write("images", header(0x08, {3, 2}) + "abcdef");
  std::string three = write("labels3", header(0x08, {3}) + "\x01\x02\x09");
  std::string two = write("labels2", header(0x08, {2}) + "\x01\x02");
  IdxArray array;
  std::vector<int64_t> labels;
  ASSERT_TRUE(loadImagesAndLabels(images, three, array, labels, 10).ok());
  EXPECT_EQ(labels, (std::vector<int64_t>{1, 2, 9}));
  EXPECT_NE(loadImagesAndLabels(images, two, array, labels, 10)
                .message()
                .find("2 labels for 3 images"),
            std::string::npos);
  EXPECT_NE(loadImagesAndLabels(images, three, array, labels, 5)
                .message()
                .find("label 9 of item 2 is not below the model's 5 classes"),
            std::string::npos);
}

TEST(FashionMnist, TheDebianPackageLoadsWhenInstalled) {
  const std::string dir = "/usr/share/datasets/fashion-mnist/";
  if (access((dir + "t10k-images-idx3-ubyte.gz").c_str(), R_OK) != 0)
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  IdxArray images;
  std::vector<int64_t> labels;
  ASSERT_TRUE(loadImagesAndLabels(dir + "t10k-images-idx3-ubyte.gz",
                                  dir + "t10k-labels-idx1-ubyte.gz", images,
                                  labels, 10)
                  .ok());
  EXPECT_EQ(images.dims, (std::vector<int64_t>{10000, 28, 28}));
  EXPECT_EQ(labels.size(), 10000u);
}

} // namespace

namespace {

// A small gzip whose header claims far more than it holds is refused from
// its trailer's size, before anything is decompressed into memory.
TEST_F(IdxFiles, GzipThatClaimsMoreThanItHolds) {
  std::string bytes = header(0x08, {5000000, 28, 28}) + std::string(4096, 'x');
  std::string message = error(write("claims.gz", bytes, /*gzip=*/true));
  EXPECT_NE(message.find("claims.gz: truncated or corrupt: the header "
                         "declares 3920000000 bytes of data, the gzip stream "
                         "holds 4096"),
            std::string::npos)
      << message;
}

// An uncompressed file is checked against its size before allocating.
TEST_F(IdxFiles, RawFileThatClaimsMoreThanItHolds) {
  std::string bytes = header(0x08, {5000000, 28, 28}) + std::string(100, 'x');
  std::string message = error(write("claims.idx", bytes));
  EXPECT_NE(message.find("truncated: expected 3920000000 bytes of data, got "
                         "100"),
            std::string::npos)
      << message;
}

TEST_F(IdxFiles, ReadsTheFirstItemsOnly) {
  // Three items declared, two and a half present: the first two load.
  std::string bytes = header(0x08, {3, 2, 2}) + "abcdefghij";
  for (bool gzip : {false, true}) {
    IdxArray array;
    std::string path = write(gzip ? "p.gz" : "p.idx", bytes, gzip);
    EXPECT_FALSE(loadIdx(path, array).ok());
    ASSERT_TRUE(loadIdx(path, array, 2).ok())
        << loadIdx(path, array, 2).message();
    EXPECT_EQ(array.dims, (std::vector<int64_t>{2, 2, 2}));
    EXPECT_EQ(array.data.size(), 8u);
    EXPECT_EQ(array.data[7], 'h');
    ASSERT_FALSE(loadIdx(path, array, 3).ok());
  }
}

} // namespace
