//===- status_internal.h - helpers for reporting errors ---------*- C++ -*-===//

#ifndef FSNNRT_SRC_STATUS_INTERNAL_H
#define FSNNRT_SRC_STATUS_INTERNAL_H

#include "fsnnrt/runtime.h"

#include <exception>
#include <new>
#include <string>

namespace fsnnrt {
/// Records `message` as this thread's last error.
void setLastError(std::string message);
/// Records `message` and returns `status`, for `return fail(...)`.
fsnn_status fail(fsnn_status status, std::string message);

/// Runs `body` (returning fsnn_status) so that no exception crosses the C
/// API: allocation failures become FSNN_OUT_OF_MEMORY, anything else
/// FSNN_INTERNAL, each with `what` in the message.
template <class Body> fsnn_status guarded(const char *what, Body &&body) {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return fail(FSNN_OUT_OF_MEMORY, std::string(what) + ": out of memory");
  } catch (const std::exception &e) {
    return fail(FSNN_INTERNAL, std::string(what) + ": " + e.what());
  } catch (...) {
    return fail(FSNN_INTERNAL, std::string(what) + ": unknown exception");
  }
}
} // namespace fsnnrt

#endif // FSNNRT_SRC_STATUS_INTERNAL_H
