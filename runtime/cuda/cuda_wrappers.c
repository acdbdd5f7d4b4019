/*===- cuda_wrappers.c - the mgpu* calls of MLIR's GPU host code -----------===
 *
 * MLIR's gpu-to-llvm lowering makes the host code call mgpuModuleLoad,
 * mgpuLaunchKernel, mgpuMemAlloc, ... Debian ships no library with them, so
 * fsnn-compile links this file (as libfsnn_cuda_wrappers.a) into every CUDA
 * model. It reaches the CUDA driver through dlopen at the first call, so a
 * CUDA model loads on any machine, and without a driver or a device it
 * records why instead of crashing.
 *
 * Errors are sticky: after the first failure every call does nothing (a
 * failed launch leaves the context unusable anyway) and
 * fsnn_cuda_model_error() returns the message, which the runtime turns into
 * the status of fsnn_model_open / fsnn_model_run. Plain C, so that linking
 * it with `cc -shared` needs no C++ runtime.
 *
 *===----------------------------------------------------------------------===*/

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FSNN_EXPORT __attribute__((visibility("default")))
#define FSNN_LOCAL __attribute__((visibility("hidden")))

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
typedef void *CUcontext;
typedef void *CUmodule;
typedef void *CUfunction;
typedef void *CUstream;
typedef void *CUevent;

enum { kStreamNonBlocking = 1, kEventDisableTiming = 2 };

/* The driver entry points, by their C signatures (cuda.h's _v2 names where
 * the plain name is a macro). */
static struct {
  CUresult (*init)(unsigned);
  CUresult (*deviceGet)(int *, int);
  CUresult (*primaryCtxRetain)(CUcontext *, int);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*getErrorName)(CUresult, const char **);
  CUresult (*moduleLoadData)(CUmodule *, const void *);
  CUresult (*moduleUnload)(CUmodule);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
  CUresult (*streamCreate)(CUstream *, unsigned);
  CUresult (*streamDestroy)(CUstream);
  CUresult (*streamSynchronize)(CUstream);
  CUresult (*streamWaitEvent)(CUstream, CUevent, unsigned);
  CUresult (*eventCreate)(CUevent *, unsigned);
  CUresult (*eventDestroy)(CUevent);
  CUresult (*eventSynchronize)(CUevent);
  CUresult (*eventRecord)(CUevent, CUstream);
  CUresult (*memAlloc)(CUdeviceptr *, size_t);
  CUresult (*memFree)(CUdeviceptr);
  /* Stream-ordered allocation (CUDA 11.2+), optional: cuMemFree waits for
   * the whole device, and the host code frees temporaries every step. */
  CUresult (*memAllocAsync)(CUdeviceptr *, size_t, CUstream);
  CUresult (*memFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*memcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*memsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
  CUresult (*memsetD16Async)(CUdeviceptr, unsigned short, size_t, CUstream);
} cu;

static pthread_once_t loadOnce = PTHREAD_ONCE_INIT;
static pthread_mutex_t errorLock = PTHREAD_MUTEX_INITIALIZER;
static CUcontext context;
static int failed;
static char message[512];

static void fail(const char *format, ...) {
  pthread_mutex_lock(&errorLock);
  if (!failed) {
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    failed = 1;
  }
  pthread_mutex_unlock(&errorLock);
}

static int check(CUresult result, const char *call) {
  if (result == 0)
    return 1;
  const char *name = NULL;
  if (cu.getErrorName)
    cu.getErrorName(result, &name);
  fail("CUDA error: %s failed with %s (%d)", call, name ? name : "an error",
       result);
  return 0;
}

#define CU_SYMBOL(field, name)                                                 \
  do {                                                                         \
    *(void **)&cu.field = dlsym(driver, name);                                 \
    if (!cu.field) {                                                           \
      fail("no CUDA driver: %s lacks %s", library, name);                      \
      return;                                                                  \
    }                                                                          \
  } while (0)

static void loadDriver(void) {
  const char *override = getenv("FSNN_CUDA_DRIVER");
  const char *library = override ? override : "libcuda.so.1";
  void *driver = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!driver) {
    fail("no CUDA driver: %s", dlerror());
    return;
  }
  CU_SYMBOL(init, "cuInit");
  CU_SYMBOL(deviceGet, "cuDeviceGet");
  CU_SYMBOL(primaryCtxRetain, "cuDevicePrimaryCtxRetain");
  CU_SYMBOL(ctxSetCurrent, "cuCtxSetCurrent");
  CU_SYMBOL(getErrorName, "cuGetErrorName");
  CU_SYMBOL(moduleLoadData, "cuModuleLoadData");
  CU_SYMBOL(moduleUnload, "cuModuleUnload");
  CU_SYMBOL(moduleGetFunction, "cuModuleGetFunction");
  CU_SYMBOL(launchKernel, "cuLaunchKernel");
  CU_SYMBOL(streamCreate, "cuStreamCreate");
  CU_SYMBOL(streamDestroy, "cuStreamDestroy_v2");
  CU_SYMBOL(streamSynchronize, "cuStreamSynchronize");
  CU_SYMBOL(streamWaitEvent, "cuStreamWaitEvent");
  CU_SYMBOL(eventCreate, "cuEventCreate");
  CU_SYMBOL(eventDestroy, "cuEventDestroy_v2");
  CU_SYMBOL(eventSynchronize, "cuEventSynchronize");
  CU_SYMBOL(eventRecord, "cuEventRecord");
  CU_SYMBOL(memAlloc, "cuMemAlloc_v2");
  CU_SYMBOL(memFree, "cuMemFree_v2");
  CU_SYMBOL(memcpyAsync, "cuMemcpyAsync");
  CU_SYMBOL(memsetD32Async, "cuMemsetD32Async");
  CU_SYMBOL(memsetD16Async, "cuMemsetD16Async");
  *(void **)&cu.memAllocAsync = dlsym(driver, "cuMemAllocAsync");
  *(void **)&cu.memFreeAsync = dlsym(driver, "cuMemFreeAsync");
  CUresult result = cu.init(0);
  if (result) {
    fail("no CUDA device: cuInit failed with CUDA error %d", result);
    return;
  }
  int device = 0;
  const char *ordinal = getenv("FSNN_CUDA_DEVICE");
  if (cu.deviceGet(&device, ordinal ? atoi(ordinal) : 0)) {
    fail("no CUDA device: device %s cannot be opened", ordinal ? ordinal : "0");
    return;
  }
  check(cu.primaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain");
}

/* Whether the driver is ready on this thread (its context current). */
static int ready(void) {
  pthread_once(&loadOnce, loadDriver);
  if (failed)
    return 0;
  return check(cu.ctxSetCurrent(context), "cuCtxSetCurrent");
}

FSNN_EXPORT const char *fsnn_cuda_model_error(void) {
  pthread_mutex_lock(&errorLock);
  const char *result = failed ? message : NULL;
  pthread_mutex_unlock(&errorLock);
  return result;
}

/* Loads the driver now (a CUDA model calls nothing before its first batch
 * otherwise), so that fsnn_model_open can report a missing device. */
FSNN_EXPORT int fsnn_cuda_model_init(void) { return ready(); }

FSNN_LOCAL CUmodule mgpuModuleLoad(void *data, size_t size) {
  (void)size;
  CUmodule module = NULL;
  if (ready())
    check(cu.moduleLoadData(&module, data), "cuModuleLoadData");
  return module;
}

FSNN_LOCAL void mgpuModuleUnload(CUmodule module) {
  if (module && ready())
    check(cu.moduleUnload(module), "cuModuleUnload");
}

FSNN_LOCAL CUfunction mgpuModuleGetFunction(CUmodule module, const char *name) {
  CUfunction function = NULL;
  if (module && ready())
    check(cu.moduleGetFunction(&function, module, name), name);
  return function;
}

FSNN_LOCAL void mgpuLaunchKernel(CUfunction function, intptr_t gridX,
                                 intptr_t gridY, intptr_t gridZ,
                                 intptr_t blockX, intptr_t blockY,
                                 intptr_t blockZ, int32_t sharedMemory,
                                 CUstream stream, void **params, void **extra,
                                 size_t paramsCount) {
  (void)paramsCount;
  if (!function || !ready())
    return;
  check(cu.launchKernel(function, (unsigned)gridX, (unsigned)gridY,
                        (unsigned)gridZ, (unsigned)blockX, (unsigned)blockY,
                        (unsigned)blockZ, (unsigned)sharedMemory, stream,
                        params, extra),
        "cuLaunchKernel");
}

FSNN_LOCAL CUstream mgpuStreamCreate(void) {
  CUstream stream = NULL;
  if (ready())
    check(cu.streamCreate(&stream, kStreamNonBlocking), "cuStreamCreate");
  return stream;
}

FSNN_LOCAL void mgpuStreamDestroy(CUstream stream) {
  if (stream && ready())
    check(cu.streamDestroy(stream), "cuStreamDestroy");
}

FSNN_LOCAL void mgpuStreamSynchronize(CUstream stream) {
  if (stream && ready())
    check(cu.streamSynchronize(stream), "cuStreamSynchronize");
}

FSNN_LOCAL void mgpuStreamWaitEvent(CUstream stream, CUevent event) {
  if (stream && event && ready())
    check(cu.streamWaitEvent(stream, event, 0), "cuStreamWaitEvent");
}

FSNN_LOCAL CUevent mgpuEventCreate(void) {
  CUevent event = NULL;
  if (ready())
    check(cu.eventCreate(&event, kEventDisableTiming), "cuEventCreate");
  return event;
}

FSNN_LOCAL void mgpuEventDestroy(CUevent event) {
  if (event && ready())
    check(cu.eventDestroy(event), "cuEventDestroy");
}

FSNN_LOCAL void mgpuEventSynchronize(CUevent event) {
  if (event && ready())
    check(cu.eventSynchronize(event), "cuEventSynchronize");
}

FSNN_LOCAL void mgpuEventRecord(CUevent event, CUstream stream) {
  if (event && ready())
    check(cu.eventRecord(event, stream), "cuEventRecord");
}

FSNN_LOCAL void *mgpuMemAlloc(uint64_t bytes, CUstream stream,
                              _Bool hostShared) {
  if (hostShared) {
    fail("CUDA error: the model asked for host-shared (managed) memory, "
         "which fsnn's CUDA backend does not use");
    return NULL;
  }
  CUdeviceptr pointer = 0;
  if (!ready())
    return NULL;
  if (bytes == 0)
    bytes = 1;
  if (stream && cu.memAllocAsync)
    check(cu.memAllocAsync(&pointer, bytes, stream), "cuMemAllocAsync");
  else
    check(cu.memAlloc(&pointer, bytes), "cuMemAlloc");
  return (void *)(uintptr_t)pointer;
}

FSNN_LOCAL void mgpuMemFree(void *pointer, CUstream stream) {
  if (!pointer || !ready())
    return;
  if (stream && cu.memFreeAsync)
    check(cu.memFreeAsync((CUdeviceptr)(uintptr_t)pointer, stream),
          "cuMemFreeAsync");
  else
    check(cu.memFree((CUdeviceptr)(uintptr_t)pointer), "cuMemFree");
}

FSNN_LOCAL void mgpuMemcpy(void *destination, void *source, size_t bytes,
                           CUstream stream) {
  if (!destination || !source || !ready())
    return;
  check(cu.memcpyAsync((CUdeviceptr)(uintptr_t)destination,
                       (CUdeviceptr)(uintptr_t)source, bytes, stream),
        "cuMemcpyAsync");
}

FSNN_LOCAL void mgpuMemset32(void *destination, unsigned value, size_t count,
                             CUstream stream) {
  if (destination && ready())
    check(cu.memsetD32Async((CUdeviceptr)(uintptr_t)destination, value, count,
                            stream),
          "cuMemsetD32Async");
}

FSNN_LOCAL void mgpuMemset16(void *destination, unsigned short value,
                             size_t count, CUstream stream) {
  if (destination && ready())
    check(cu.memsetD16Async((CUdeviceptr)(uintptr_t)destination, value, count,
                            stream),
          "cuMemsetD16Async");
}
