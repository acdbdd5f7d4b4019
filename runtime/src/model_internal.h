//===- model_internal.h - a loaded compiled model ---------------*- C++ -*-===//
//
// What the runtime knows of a compiled model once its descriptor is read;
// shared by the loader (model.cpp), the descriptor parser (descriptor.cpp)
// and the parser's fuzz target.
//
//===----------------------------------------------------------------------===//

#ifndef FSNNRT_SRC_MODEL_INTERNAL_H
#define FSNNRT_SRC_MODEL_INTERNAL_H

#include "fsnnrt/model.h"

#include <dlfcn.h>

#include <cstdint>
#include <string>
#include <vector>

namespace fsnnrt {

struct Tensor {
  std::string name;
  fsnn_dtype dtype = FSNN_F32;
  std::vector<int64_t> dims;
  int64_t elements() const {
    int64_t n = 1;
    for (int64_t d : dims)
      n *= d;
    return n;
  }
  /// Bytes per sample (dims[0] is the batch).
  size_t sampleBytes() const {
    size_t element = dtype == FSNN_F64 || dtype == FSNN_I64 ? 8 : 4;
    return size_t(elements() / dims[0]) * element;
  }
  fsnn_tensor_info info() const {
    return {name.c_str(), dtype, int32_t(dims.size()), dims.data()};
  }
};

inline bool parseDtype(const std::string &text, fsnn_dtype &dtype) {
  if (text == "f32")
    dtype = FSNN_F32;
  else if (text == "f64")
    dtype = FSNN_F64;
  else if (text == "i32")
    dtype = FSNN_I32;
  else if (text == "i64")
    dtype = FSNN_I64;
  else
    return false;
  return true;
}

} // namespace fsnnrt

struct fsnn_model {
  void *library = nullptr;
  void (*entry)(void **) = nullptr;
  uint64_t hash = 0;
  std::string function;
  int64_t batch = 0;
  fsnnrt::Tensor input;
  /// Every input; inference libraries have one, training steps two (the
  /// images and the labels).
  std::vector<fsnnrt::Tensor> inputs;
  std::vector<fsnnrt::Tensor> parameters, outputs;
  bool seed = false;
  bool training = false;
  /// "cpu" or "cuda" (descriptor `target`); a CUDA model carries the mgpu*
  /// wrappers, which report driver and launch errors here.
  std::string target = "cpu";
  const char *(*cudaError)() = nullptr;
  /// omp_set_num_threads of the OpenMP runtime a threaded training step
  /// links (null for the others), and the threads each call runs on (0:
  /// the OpenMP runtime's default).
  void (*setOpenMPThreads)(int) = nullptr;
  int32_t threads = 0;
  ~fsnn_model() {
    if (library)
      dlclose(library);
  }
};

namespace fsnnrt {
/// Reads the descriptor text of a compiled model into `m` (everything but
/// the library handle and the entry point), checking every line: keys
/// given once, 16 hex digits of hash, dims within the model-format limits.
fsnn_status parseDescriptor(const char *text, fsnn_model &m);
} // namespace fsnnrt

#endif // FSNNRT_SRC_MODEL_INTERNAL_H
