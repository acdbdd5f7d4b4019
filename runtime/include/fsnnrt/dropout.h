/*===- dropout.h - the dropout mask every fsnn backend draws -------*- C
 *-*-===//
 *
 * fsnn.dropout_mask is defined by this function, so that the reference
 * executor, the compiled CPU code and the GPU kernels draw the same masks:
 * element `index` (row-major over the whole batch-first mask) of the mask for
 * (seed, stream) is kept when a 53-bit uniform number derived from the three
 * by splitmix64 mixing is below 1 - rate. It is counter-based: any element
 * can be drawn independently, in any order, on any thread.
 *
 *===----------------------------------------------------------------------===*/

#ifndef FSNNRT_DROPOUT_H
#define FSNNRT_DROPOUT_H

#include "fsnnrt/hash.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A uniform number in [0, 1) for (seed, stream, index). */
static inline double fsnn_dropout_uniform(uint64_t seed, uint64_t stream,
                                          uint64_t index) {
  uint64_t h =
      fsnn_splitmix64(seed ^ fsnn_splitmix64(stream ^ fsnn_splitmix64(index)));
  return (double)(h >> 11) * (1.0 / 9007199254740992.0); /* 2^-53 */
}

/* The mask value: 1 / (1 - rate) if kept, else 0. */
static inline double fsnn_dropout_mask_value(uint64_t seed, uint64_t stream,
                                             uint64_t index, double rate) {
  return fsnn_dropout_uniform(seed, stream, index) < 1.0 - rate
             ? 1.0 / (1.0 - rate)
             : 0.0;
}

#ifdef __cplusplus
}
#endif

#endif /* FSNNRT_DROPOUT_H */
