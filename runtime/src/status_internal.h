//===- status_internal.h - helpers for reporting errors ---------*- C++ -*-===//

#ifndef FSNNRT_SRC_STATUS_INTERNAL_H
#define FSNNRT_SRC_STATUS_INTERNAL_H

#include "fsnnrt/runtime.h"

#include <string>

namespace fsnnrt {
/// Records `message` as this thread's last error.
void setLastError(std::string message);
/// Records `message` and returns `status`, for `return fail(...)`.
fsnn_status fail(fsnn_status status, std::string message);
} // namespace fsnnrt

#endif // FSNNRT_SRC_STATUS_INTERNAL_H
