//===- buffer.cpp - aligned buffers ---------------------------------------===//

#include "fsnnrt/runtime.h"
#include "runtime/src/status_internal.h"

#include <cstdlib>
#include <string>

extern "C" fsnn_status fsnn_buffer_alloc(size_t bytes, size_t alignment,
                                         void **out) {
  if (!out)
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT, "buffer_alloc: out is null");
  *out = nullptr;
  if (bytes == 0)
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT, "buffer_alloc: zero bytes");
  bool powerOfTwo = alignment != 0 && (alignment & (alignment - 1)) == 0;
  if (!powerOfTwo || alignment < sizeof(void *))
    return fsnnrt::fail(
        FSNN_INVALID_ARGUMENT,
        "buffer_alloc: alignment " + std::to_string(alignment) +
            " is not a power of two >= " + std::to_string(sizeof(void *)));
  // aligned_alloc wants a size that is a multiple of the alignment.
  size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  if (rounded < bytes)
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT, "buffer_alloc: size " +
                                                   std::to_string(bytes) +
                                                   " overflows when aligned");
  void *buffer = std::aligned_alloc(alignment, rounded);
  if (!buffer)
    return fsnnrt::fail(FSNN_OUT_OF_MEMORY, "buffer_alloc: cannot allocate " +
                                                std::to_string(rounded) +
                                                " bytes");
  *out = buffer;
  return FSNN_OK;
}

extern "C" void fsnn_buffer_free(void *buffer) { std::free(buffer); }
