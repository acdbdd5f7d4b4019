//===- NpyFuzzer.cpp - libFuzzer target: .npy files -----------------------===//
//
// What fsnn-run --input and --labels read: any bytes must be accepted as an
// array whose size matches its shape, or refused with a message; a crash, a
// hang, an allocation beyond the file's size or a sanitizer report is a bug.
//
//===----------------------------------------------------------------------===//

#include "training/data/Npy.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  fsnn::data::NpyArray array;
  fsnn::model::Status status = fsnn::data::parseNpy(bytes, "input", array);
  if (status.ok()) {
    int64_t count = 1;
    for (int64_t d : array.shape)
      count *= d;
    if (int64_t(array.values.size()) != count) {
      std::fprintf(stderr, "an accepted array whose size is not its shape's\n");
      std::abort();
    }
  } else if (status.message().empty()) {
    std::fprintf(stderr, "a refused file without a message\n");
    std::abort();
  }
  return 0;
}
