//===- MemoryBudget.cpp - estimated run-time memory and --max-memory ------===//

#include "runtime/model/Validate.h"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace fsnn::model {

MemoryEstimate estimateMemory(const ModelInfo &info, int64_t samples) {
  MemoryEstimate estimate;
  int64_t largest = -1;
  long double bytes = 0;
  for (const auto &[name, value] : info.allValues) {
    int64_t elements = checkedElementCount(value.shape);
    if (elements < 0)
      elements = kMaxTensorElements;
    if (value.isParameter) {
      bytes += (long double)elements * 8;
      continue;
    }
    bytes += (long double)elements * kBytesPerActivation * samples;
    if (elements > largest) {
      largest = elements;
      estimate.largestValue = name;
      estimate.largestShape = value.shape;
    }
  }
  estimate.bytes =
      bytes >= (long double)UINT64_MAX ? UINT64_MAX : uint64_t(bytes);
  return estimate;
}

Status checkMemoryBudget(const ModelInfo &info, int64_t samples,
                         uint64_t maxBytes, const std::string &flag) {
  MemoryEstimate estimate = estimateMemory(info, samples);
  if (estimate.bytes <= maxBytes)
    return Status();
  return Status::error(
      "the model would need about " + formatBytes(estimate.bytes) + " for " +
      std::to_string(samples) + " samples at once (its largest activation, '" +
      estimate.largestValue + "', is " + formatShape(estimate.largestShape) +
      " per sample), over the limit of " + formatBytes(maxBytes) +
      "; use a smaller batch, or raise the limit with " + flag);
}

Status checkMemoryFlag(const ModelInfo &info, int64_t samples,
                       const std::string &maxMemory) {
  uint64_t limit = 0;
  if (!parseByteSize(maxMemory, limit))
    return Status::error("--max-memory " + maxMemory +
                         " is not a size (4G, 512M, 100000)");
  return checkMemoryBudget(info, samples, limit);
}

bool parseByteSize(const std::string &text, uint64_t &bytes) {
  char *end = nullptr;
  errno = 0;
  double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || errno != 0 || !std::isfinite(value) || value < 0)
    return false;
  std::string unit(end);
  double scale = 1;
  if (unit == "K" || unit == "KB" || unit == "KiB")
    scale = 1024.0;
  else if (unit == "M" || unit == "MB" || unit == "MiB")
    scale = 1024.0 * 1024;
  else if (unit == "G" || unit == "GB" || unit == "GiB")
    scale = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "TB" || unit == "TiB")
    scale = 1024.0 * 1024 * 1024 * 1024;
  else if (!unit.empty())
    return false;
  if (value * scale >= 18446744073709551615.0)
    return false;
  bytes = uint64_t(value * scale);
  return true;
}

std::string formatBytes(uint64_t bytes) {
  char text[32];
  if (bytes >= (uint64_t(1) << 30))
    std::snprintf(text, sizeof text, "%.1f GiB", double(bytes) / (1 << 30));
  else if (bytes >= (uint64_t(1) << 20))
    std::snprintf(text, sizeof text, "%.1f MiB", double(bytes) / (1 << 20));
  else
    std::snprintf(text, sizeof text, "%llu bytes", (unsigned long long)bytes);
  return text;
}

} // namespace fsnn::model
