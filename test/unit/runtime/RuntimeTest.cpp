//===- RuntimeTest.cpp - runtime C API unit tests -------------------------===//

#include "fsnnrt/runtime.h"
#include "fsnnrt/cuda.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <vector>

namespace {

TEST(Status, NamesAreStable) {
  EXPECT_STREQ(fsnn_status_name(FSNN_OK), "ok");
  EXPECT_STREQ(fsnn_status_name(FSNN_ABI_MISMATCH), "abi_mismatch");
  EXPECT_STREQ(fsnn_status_name(static_cast<fsnn_status>(99)),
               "unknown_status");
}

TEST(Buffer, AllocatesAlignedMemory) {
  void *buffer = nullptr;
  ASSERT_EQ(fsnn_buffer_alloc(1000, 64, &buffer), FSNN_OK);
  ASSERT_NE(buffer, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer) % 64, 0u);
  std::memset(buffer, 0xab, 1000);
  fsnn_buffer_free(buffer);
}

TEST(Buffer, RejectsBadArguments) {
  void *buffer = reinterpret_cast<void *>(0x1);
  EXPECT_EQ(fsnn_buffer_alloc(0, 64, &buffer), FSNN_INVALID_ARGUMENT);
  EXPECT_EQ(buffer, nullptr);
  EXPECT_STREQ(fsnn_last_error(), "buffer_alloc: zero bytes");
  EXPECT_EQ(fsnn_buffer_alloc(16, 48, &buffer), FSNN_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(fsnn_last_error(), "alignment 48"), nullptr);
  EXPECT_EQ(fsnn_buffer_alloc(SIZE_MAX, 64, &buffer), FSNN_INVALID_ARGUMENT);
  EXPECT_EQ(fsnn_buffer_alloc(16, 64, nullptr), FSNN_INVALID_ARGUMENT);
}

TEST(Partition, SlicesDifferByAtMostOneAndCoverTheBatch) {
  for (int64_t batch : {0, 1, 7, 128, 129}) {
    for (int32_t threads : {1, 2, 3, 16}) {
      std::vector<fsnn_batch_range> ranges(threads);
      int32_t count = -1;
      ASSERT_EQ(fsnn_partition_batch(batch, threads, ranges.data(), &count),
                FSNN_OK);
      EXPECT_EQ(count, std::min<int64_t>(batch, threads));
      int64_t next = 0, smallest = INT64_MAX, largest = 0;
      for (int32_t i = 0; i < count; ++i) {
        EXPECT_EQ(ranges[i].begin, next);
        int64_t size = ranges[i].end - ranges[i].begin;
        smallest = std::min(smallest, size);
        largest = std::max(largest, size);
        next = ranges[i].end;
      }
      EXPECT_EQ(next, batch);
      if (count > 0) {
        EXPECT_LE(largest - smallest, 1);
      }
    }
  }
}

TEST(Partition, RejectsBadArguments) {
  fsnn_batch_range range;
  int32_t count;
  EXPECT_EQ(fsnn_partition_batch(10, 0, &range, &count), FSNN_INVALID_ARGUMENT);
  EXPECT_EQ(fsnn_partition_batch(-1, 1, &range, &count), FSNN_INVALID_ARGUMENT);
}

TEST(ParallelBatch, VisitsEverySampleOnce) {
  std::vector<std::atomic<int>> visits(129);
  auto visit = [](fsnn_batch_range range, void *user) {
    auto *counts = static_cast<std::vector<std::atomic<int>> *>(user);
    for (int64_t i = range.begin; i < range.end; ++i)
      (*counts)[i]++;
    return FSNN_OK;
  };
  ASSERT_EQ(fsnn_parallel_batch(129, 4, visit, &visits), FSNN_OK);
  for (auto &count : visits)
    EXPECT_EQ(count.load(), 1);
}

TEST(ParallelBatch, ReportsTheFailureOfAWorkerThread) {
  auto failLate = [](fsnn_batch_range range, void *) {
    return range.begin == 0 ? FSNN_OK : FSNN_INTERNAL;
  };
  EXPECT_EQ(fsnn_parallel_batch(10, 2, failLate, nullptr), FSNN_INTERNAL);
}

TEST(Cuda, ReportsAMissingDriverCleanly) {
  setenv("FSNN_CUDA_DRIVER", "/nonexistent/libcuda.so.1", 1);
  fsnn_cuda_device_info info;
  EXPECT_EQ(fsnn_cuda_probe(&info), FSNN_UNAVAILABLE);
  EXPECT_NE(std::string(fsnn_last_error()).find("no CUDA driver"),
            std::string::npos)
      << fsnn_last_error();
  EXPECT_EQ(info.count, 0);
  unsetenv("FSNN_CUDA_DRIVER");
  EXPECT_EQ(fsnn_cuda_probe(nullptr), FSNN_INVALID_ARGUMENT);
}

} // namespace
