//===- memref_descriptor.h - the memref descriptor of dense buffers -*- C++
//-*-===//
//
// What a compiled model's entry point reads for each tensor argument
// (docs/runtime-abi.md): allocated and aligned pointers, offset, sizes and
// strides as 64-bit words, here for dense row-major data. Internal to the
// runtime, and used by the compiler's JIT tests, which call the generated
// code the way the runtime does.
//
//===----------------------------------------------------------------------===//

#ifndef FSNNRT_SRC_MEMREF_DESCRIPTOR_H
#define FSNNRT_SRC_MEMREF_DESCRIPTOR_H

#include <cstdint>
#include <vector>

namespace fsnnrt {

struct Descriptor {
  std::vector<int64_t> words;
  Descriptor(const void *data, const std::vector<int64_t> &dims) {
    words.push_back(reinterpret_cast<int64_t>(data));
    words.push_back(reinterpret_cast<int64_t>(data));
    words.push_back(0);
    words.insert(words.end(), dims.begin(), dims.end());
    std::vector<int64_t> strides(dims.size());
    int64_t stride = 1;
    for (int i = int(dims.size()) - 1; i >= 0; --i) {
      strides[i] = stride;
      stride *= dims[i];
    }
    words.insert(words.end(), strides.begin(), strides.end());
  }
  void *pointer() { return words.data(); }
};

} // namespace fsnnrt

#endif // FSNNRT_SRC_MEMREF_DESCRIPTOR_H
