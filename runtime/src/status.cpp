//===- status.cpp - runtime status codes and error messages ---------------===//

#include "fsnnrt/runtime.h"
#include "runtime/src/status_internal.h"

#include <cstring>
#include <string>

namespace {
thread_local std::string lastError;
} // namespace

void fsnnrt::setLastError(std::string message) {
  lastError = std::move(message);
}

fsnn_status fsnnrt::fail(fsnn_status status, std::string message) {
  setLastError(std::move(message));
  return status;
}

extern "C" const char *fsnn_status_name(fsnn_status status) {
  // A C caller may pass any int; reading it as the enum would be undefined
  // for values outside it (UBSan's -fsanitize=enum found this), so read the
  // bytes.
  static_assert(sizeof(int) == sizeof(fsnn_status), "fsnn_status is an int");
  int code;
  std::memcpy(&code, &status, sizeof code);
  switch (code) {
  case FSNN_OK:
    return "ok";
  case FSNN_INVALID_ARGUMENT:
    return "invalid_argument";
  case FSNN_OUT_OF_MEMORY:
    return "out_of_memory";
  case FSNN_NOT_FOUND:
    return "not_found";
  case FSNN_ABI_MISMATCH:
    return "abi_mismatch";
  case FSNN_MODEL_MISMATCH:
    return "model_mismatch";
  case FSNN_UNAVAILABLE:
    return "unavailable";
  case FSNN_INTERNAL:
    return "internal";
  }
  return "unknown_status";
}

extern "C" const char *fsnn_last_error(void) { return lastError.c_str(); }
