//===- parallel.cpp - splitting a batch over threads ----------------------===//

#include "fsnnrt/runtime.h"
#include "runtime/src/status_internal.h"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

extern "C" fsnn_status fsnn_partition_batch(int64_t batch, int32_t num_threads,
                                            fsnn_batch_range *ranges,
                                            int32_t *num_ranges) {
  if (!ranges || !num_ranges)
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT,
                        "partition_batch: ranges or num_ranges is null");
  if (batch < 0)
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT,
                        "partition_batch: negative batch " +
                            std::to_string(batch));
  if (num_threads < 1)
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT,
                        "partition_batch: num_threads must be >= 1, got " +
                            std::to_string(num_threads));
  int64_t slices = std::min<int64_t>(num_threads, batch);
  int64_t base = slices ? batch / slices : 0;
  int64_t extra = slices ? batch % slices : 0;
  int64_t begin = 0;
  for (int64_t i = 0; i < slices; ++i) {
    int64_t size = base + (i < extra ? 1 : 0);
    ranges[i] = {begin, begin + size};
    begin += size;
  }
  *num_ranges = static_cast<int32_t>(slices);
  return FSNN_OK;
}

namespace {
fsnn_status runInParallel(int64_t batch, int32_t num_threads, fsnn_batch_fn fn,
                          void *user) {
  // No more ranges than samples: a huge thread count costs nothing.
  std::vector<fsnn_batch_range> ranges(
      std::max<int64_t>(1, std::min<int64_t>(num_threads, batch)));
  int32_t count = 0;
  if (fsnn_status status =
          fsnn_partition_batch(batch, num_threads, ranges.data(), &count))
    return status;
  std::vector<fsnn_status> results(count, FSNN_OK);
  std::vector<std::string> errors(count);
  std::vector<std::thread> workers;
  auto run = [&](int32_t i) {
    results[i] = fn(ranges[i], user);
    if (results[i] != FSNN_OK)
      errors[i] = fsnn_last_error();
  };
  try {
    for (int32_t i = 1; i < count; ++i)
      workers.emplace_back(run, i);
  } catch (...) {
    // A thread that cannot be started: the started ones finish first (a
    // joinable std::thread must not be destroyed).
    for (std::thread &worker : workers)
      worker.join();
    throw;
  }
  if (count > 0)
    run(0);
  for (std::thread &worker : workers)
    worker.join();
  // Report the lowest-index failure, with the message its thread recorded.
  for (int32_t i = 0; i < count; ++i)
    if (results[i] != FSNN_OK)
      return fsnnrt::fail(results[i], errors[i]);
  return FSNN_OK;
}
} // namespace

extern "C" fsnn_status fsnn_parallel_batch(int64_t batch, int32_t num_threads,
                                           fsnn_batch_fn fn, void *user) {
  if (!fn)
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT, "parallel_batch: fn is null");
  return fsnnrt::guarded("parallel_batch", [&] {
    return runInParallel(batch, num_threads, fn, user);
  });
}
