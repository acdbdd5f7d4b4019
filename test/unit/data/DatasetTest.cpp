//===- DatasetTest.cpp - CIFAR and N-MNIST loaders on files we write ------===//

#include "training/data/Dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace fsnn::data;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("fsnn-dataset-" + std::to_string(::getpid()) + "-" +
            std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

void write(const fs::path &path, const std::string &bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

/// One CIFAR-10 record: label, then channel planes of 32 x 32 bytes where
/// pixel (c, y, x) = (c * 50 + y * 3 + x) % 256.
std::string cifarRecord(uint8_t label) {
  std::string r(1, char(label));
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x)
        r.push_back(char((c * 50 + y * 3 + x) % 256));
  return r;
}

std::string event(int x, int y, int polarity, uint32_t micros) {
  std::string e(5, '\0');
  e[0] = char(x);
  e[1] = char(y);
  e[2] = char((polarity << 7) | ((micros >> 16) & 0x7f));
  e[3] = char((micros >> 8) & 0xff);
  e[4] = char(micros & 0xff);
  return e;
}

TEST(CifarTest, LoadsNormalisesAndAugmentsReproducibly) {
  TempDir dir;
  for (int i = 1; i <= 5; ++i)
    write(dir.path / ("data_batch_" + std::to_string(i) + ".bin"),
          cifarRecord(uint8_t(i)) + cifarRecord(9));
  write(dir.path / "test_batch.bin", cifarRecord(3));
  DatasetOptions options{"cifar10", dir.path.string()};
  std::unique_ptr<Dataset> train, test;
  ASSERT_TRUE(loadDataset(options, train).ok());
  EXPECT_EQ(train->size(), 10);
  EXPECT_EQ(train->label(0), 1);
  EXPECT_EQ(train->label(9), 9);
  EXPECT_EQ(train->sampleElements(), 3072);
  EXPECT_TRUE(train->augments());
  options.split = Split::Test;
  ASSERT_TRUE(loadDataset(options, test).ok());
  EXPECT_FALSE(test->augments());

  std::vector<float> plain(3072), again(3072), other(3072);
  train->fill(0, plain.data(), 0);
  // Channel 1, y = 2, x = 5: byte 50 + 6 + 5 = 61.
  EXPECT_NEAR(plain[1024 + 2 * 32 + 5], (61 / 255.0 - 0.4822) / 0.1994, 1e-5);
  // The same key gives the same crop and flip; keys differ per epoch.
  uint64_t key = augmentationKey(7, 0, 0);
  train->fill(0, again.data(), key);
  train->fill(0, other.data(), key);
  EXPECT_EQ(again, other);
  int differing = 0;
  for (int epoch = 1; epoch < 20; ++epoch) {
    train->fill(0, other.data(), augmentationKey(7, epoch, 0));
    differing += other != again;
  }
  EXPECT_GE(differing, 15);
  // A crop only shifts pixels (or pads with the normalised zero); a flip
  // mirrors rows: every augmented value is a pixel value or the padding.
  float pad = float((0 - 0.4914) / 0.2023);
  int padded = 0;
  for (int i = 0; i < 1024; ++i)
    padded += again[i] == pad;
  EXPECT_LE(padded, 4 * 32 * 2 + 4 * 32 * 2);
}

TEST(CifarTest, Cifar100UsesFineLabels) {
  TempDir dir;
  std::string record = cifarRecord(0);
  record.insert(record.begin(), char(7)); // coarse 7, fine 0 -> set fine 42
  record[1] = char(42);
  write(dir.path / "train.bin", record);
  write(dir.path / "test.bin", record);
  std::unique_ptr<Dataset> train;
  ASSERT_TRUE(loadDataset({"cifar100", dir.path.string()}, train).ok());
  EXPECT_EQ(train->classes(), 100);
  EXPECT_EQ(train->label(0), 42);
}

TEST(CifarTest, MalformedFilesAreNamed) {
  TempDir dir;
  write(dir.path / "test_batch.bin", cifarRecord(3) + "xx");
  std::unique_ptr<Dataset> test;
  DatasetOptions options{"cifar10", dir.path.string(), Split::Test};
  auto status = loadDataset(options, test);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("test_batch.bin: 3075 bytes is not a whole "
                                  "number of CIFAR-10 records of 3073 bytes"),
            std::string::npos)
      << status.message();
  write(dir.path / "test_batch.bin", cifarRecord(12));
  status = loadDataset(options, test);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("record 0 has label 12, not below 10"),
            std::string::npos)
      << status.message();
}

TEST(NmnistTest, BinsEventsIntoFramesAsTheSpecSays) {
  TempDir dir;
  // Bins of 3 ms: ceil(t / 3000). t = 0 has bin 0 (dropped); t = 1..3000
  // is bin 1 -> frame 0; t = 3001 is bin 2 -> frame 1; with T = 4 bins
  // 1..3 are kept, so t = 9001 (bin 4) is dropped and frame 3 is empty.
  write(dir.path / "Train/3/a.bin",
        event(1, 2, 0, 0) + event(1, 2, 0, 3000) + event(5, 6, 1, 3001) +
            event(7, 8, 1, 9000) + event(9, 9, 0, 9001));
  for (int d = 0; d < 10; ++d)
    fs::create_directories(dir.path / "Train" / std::to_string(d));
  DatasetOptions options{"nmnist", dir.path.string()};
  options.timeSteps = 4;
  std::unique_ptr<Dataset> train;
  ASSERT_TRUE(loadDataset(options, train).ok());
  ASSERT_EQ(train->size(), 1);
  EXPECT_EQ(train->label(0), 3);
  const int frame = 2 * 34 * 34;
  ASSERT_EQ(train->sampleElements(), 4 * frame);
  std::vector<float> x(4 * frame);
  train->fill(0, x.data(), 0);
  auto at = [&](int t, int p, int y, int xx) {
    return x[t * frame + (p * 34 + y) * 34 + xx];
  };
  EXPECT_EQ(at(0, 0, 2, 1), 1.0f);
  EXPECT_EQ(at(1, 1, 6, 5), 1.0f);
  EXPECT_EQ(at(2, 1, 8, 7), 1.0f);
  float total = 0;
  for (float v : x)
    total += v;
  EXPECT_EQ(total, 3.0f);
}

TEST(NmnistTest, MalformedEventsAreNamed) {
  TempDir dir;
  write(dir.path / "bad.bin", event(40, 1, 0, 5));
  std::vector<EventDataset::Event> events;
  auto status = loadEventFile((dir.path / "bad.bin").string(), events);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("event 0 at (40, 1) is outside the 34 x 34 "
                                  "sensor"),
            std::string::npos);
  std::unique_ptr<Dataset> train;
  status = loadDataset({"nmnist", dir.path.string()}, train);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("Train: no such directory"),
            std::string::npos);
}

} // namespace
