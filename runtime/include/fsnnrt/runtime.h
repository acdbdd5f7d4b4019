/*===- runtime.h - fsnn runtime C API ------------------------------*- C
 *-*-===//
 *
 * The C API of the fsnn runtime. It carries no LLVM or MLIR dependency.
 * Errors are status codes plus a thread-local message; nothing here aborts.
 *
 *===----------------------------------------------------------------------===*/

#ifndef FSNNRT_RUNTIME_H
#define FSNNRT_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the runtime's C API. A compiled model states the version it was
 * built for; the runtime refuses a model built for another major version. */
#define FSNN_RUNTIME_ABI_VERSION_MAJOR 1
#define FSNN_RUNTIME_ABI_VERSION_MINOR 0

typedef enum fsnn_status {
  FSNN_OK = 0,
  FSNN_INVALID_ARGUMENT = 1,
  FSNN_OUT_OF_MEMORY = 2,
  FSNN_NOT_FOUND = 3,
  FSNN_ABI_MISMATCH = 4,
  FSNN_MODEL_MISMATCH = 5,
  FSNN_UNAVAILABLE = 6,
  FSNN_INTERNAL = 7,
} fsnn_status;

/* A stable lowercase name for a status code ("ok", "invalid_argument", ...). */
const char *fsnn_status_name(fsnn_status status);

/* The message of the last failing call on this thread ("" if none). */
const char *fsnn_last_error(void);

/* Allocates `bytes` bytes aligned to `alignment` (a power of two, at least
 * sizeof(void*)). Zero bytes or a bad alignment is FSNN_INVALID_ARGUMENT. */
fsnn_status fsnn_buffer_alloc(size_t bytes, size_t alignment, void **out);
void fsnn_buffer_free(void *buffer);

/* A contiguous slice [begin, end) of a batch. */
typedef struct fsnn_batch_range {
  int64_t begin;
  int64_t end;
} fsnn_batch_range;

/* Splits `batch` samples into at most `num_threads` contiguous slices whose
 * sizes differ by at most one; writes them to `ranges` (room for
 * `num_threads`) and their number to `num_ranges`. */
fsnn_status fsnn_partition_batch(int64_t batch, int32_t num_threads,
                                 fsnn_batch_range *ranges, int32_t *num_ranges);

/* Runs `fn(range, user)` on every slice of `batch`, one thread per slice
 * (the calling thread takes the first). Returns the first failure. */
typedef fsnn_status (*fsnn_batch_fn)(fsnn_batch_range range, void *user);
fsnn_status fsnn_parallel_batch(int64_t batch, int32_t num_threads,
                                fsnn_batch_fn fn, void *user);

#ifdef __cplusplus
}
#endif

#endif /* FSNNRT_RUNTIME_H */
