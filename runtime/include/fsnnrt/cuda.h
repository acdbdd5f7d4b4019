/*===- cuda.h - finding a CUDA device without linking CUDA ----------*- C
 *-*-===//
 *
 * The CUDA backend loads the driver (libcuda.so.1) with dlopen at run time,
 * so the build and every CPU-only run need no GPU and no CUDA. This is the
 * probe every CUDA entry point starts with.
 *
 *===----------------------------------------------------------------------===*/

#ifndef FSNNRT_CUDA_H
#define FSNNRT_CUDA_H

#include "fsnnrt/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fsnn_cuda_device_info {
  int32_t count;        /* devices the driver sees */
  char name[256];       /* the first device's name */
  int32_t major, minor; /* its compute capability */
} fsnn_cuda_device_info;

/* Loads the CUDA driver, initialises it and describes the first device.
 * FSNN_UNAVAILABLE with a message when the driver cannot be loaded or
 * initialised or there is no device: "no CUDA driver: ...", "no CUDA
 * device: ...". */
fsnn_status fsnn_cuda_probe(fsnn_cuda_device_info *info);

#ifdef __cplusplus
}
#endif

#endif /* FSNNRT_CUDA_H */
