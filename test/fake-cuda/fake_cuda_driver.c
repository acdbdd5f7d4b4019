/*===- fake_cuda_driver.c - a CUDA driver stand-in for CPU-only tests ------===
 *
 * The CUDA backend loads the driver with dlopen (FSNN_CUDA_DRIVER overrides
 * libcuda.so.1), so tests on machines without a GPU point it at this
 * library. It cannot run kernels: it checks and records what the host code
 * of a CUDA model asks the driver to do, so that the host side (module
 * loading, kernel lookup, device memory, copies, launches, cleanup) is
 * tested here, and only the kernels' numbers need a GPU.
 *
 *  - cuModuleLoadData accepts fatbins only (magic 0xBA55ED50) and keeps
 *    their bytes; cuModuleGetFunction fails unless the kernel's name is in
 *    them.
 *  - Device memory is host memory from malloc, filled with 0x7f bytes, so a
 *    test can tell a buffer that was copied back from one never written.
 *    A copy must touch a live allocation on at least one side, a free must
 *    name a live allocation.
 *  - A launch needs a function from a loaded module and 1..1024 threads per
 *    block.
 *
 * FSNN_FAKE_CUDA_TRACE=path appends one line per module, launch and copy
 * (with its direction), and a summary at exit ("allocations A frees F live L
 *launches K"); FSNN_FAKE_CUDA_FAIL=<entry point> makes that entry point fail
 *with CUDA_ERROR_LAUNCH_FAILED; FSNN_FAKE_CUDA_NO_DEVICE=1 makes cuInit fail
 * with CUDA_ERROR_NO_DEVICE. Calls from several threads are serialised by
 * one lock, as the runtime may run chunks of a batch concurrently.
 *
 *===----------------------------------------------------------------------===*/

#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

enum {
  kSuccess = 0,
  kInvalidValue = 1,
  kNotInitialized = 3,
  kInvalidImage = 200,
  kNotFound = 500,
  kNoDevice = 100,
  kLaunchFailed = 719,
};

typedef struct Module {
  unsigned char *bytes;
  size_t size;
} Module;

typedef struct Function {
  char name[256];
} Function;

typedef struct Allocation {
  unsigned char *data;
  size_t size;
} Allocation;

static Allocation *allocations;
static size_t numAllocations, capacity;
static long allocated, freed, launches;
static int initialised;

/* Every entry point that touches the shared state takes this lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static FILE *trace(void) {
  static FILE *file;
  static int opened;
  if (!opened) {
    const char *path = getenv("FSNN_FAKE_CUDA_TRACE");
    file = path ? fopen(path, "a") : NULL;
    opened = 1;
  }
  return file;
}

static int failing(const char *entry) {
  const char *fail = getenv("FSNN_FAKE_CUDA_FAIL");
  return fail && strcmp(fail, entry) == 0;
}

__attribute__((destructor)) static void summary(void) {
  if (trace())
    fprintf(trace(), "allocations %ld frees %ld live %ld launches %ld\n",
            allocated, freed, allocated - freed, launches);
}

static Allocation *find(const void *pointer) {
  const unsigned char *p = pointer;
  for (size_t i = 0; i < numAllocations; ++i)
    if (p >= allocations[i].data &&
        p < allocations[i].data + allocations[i].size)
      return &allocations[i];
  return NULL;
}

CUresult cuInit(unsigned flags) {
  (void)flags;
  if (getenv("FSNN_FAKE_CUDA_NO_DEVICE"))
    return kNoDevice;
  initialised = 1;
  return kSuccess;
}

CUresult cuDeviceGetCount(int *count) {
  *count = initialised ? 1 : 0;
  return initialised ? kSuccess : kNotInitialized;
}

CUresult cuDeviceGet(int *device, int ordinal) {
  if (!initialised || ordinal != 0)
    return kInvalidValue;
  *device = 0;
  return kSuccess;
}

CUresult cuDeviceGetName(char *name, int length, int device) {
  (void)device;
  snprintf(name, (size_t)length, "fsnn fake CUDA device");
  return kSuccess;
}

CUresult cuDeviceComputeCapability(int *major, int *minor, int device) {
  (void)device;
  *major = 9;
  *minor = 0;
  return kSuccess;
}

CUresult cuDevicePrimaryCtxRetain(void **context, int device) {
  (void)device;
  static int theContext;
  *context = &theContext;
  return initialised ? kSuccess : kNotInitialized;
}

CUresult cuCtxSetCurrent(void *context) {
  return context ? kSuccess : kInvalidValue;
}

CUresult cuGetErrorName(CUresult error, const char **name) {
  switch (error) {
  case kInvalidValue:
    *name = "CUDA_ERROR_INVALID_VALUE";
    break;
  case kInvalidImage:
    *name = "CUDA_ERROR_INVALID_IMAGE";
    break;
  case kNotFound:
    *name = "CUDA_ERROR_NOT_FOUND";
    break;
  case kLaunchFailed:
    *name = "CUDA_ERROR_LAUNCH_FAILED";
    break;
  default:
    *name = "CUDA_ERROR_UNKNOWN";
  }
  return kSuccess;
}

static CUresult fake_cuModuleLoadData(void **module, const void *image) {
  const unsigned char *bytes = image;
  uint32_t magic;
  uint16_t headerSize;
  uint64_t bodySize;
  memcpy(&magic, bytes, 4);
  if (magic != 0xBA55ED50u)
    return kInvalidImage;
  memcpy(&headerSize, bytes + 6, 2);
  memcpy(&bodySize, bytes + 8, 8);
  Module *m = malloc(sizeof *m);
  m->size = headerSize + bodySize;
  m->bytes = malloc(m->size);
  memcpy(m->bytes, bytes, m->size);
  *module = m;
  if (trace())
    fprintf(trace(), "module %zu bytes\n", m->size);
  return kSuccess;
}

CUresult cuModuleUnload(void *module) {
  Module *m = module;
  free(m->bytes);
  free(m);
  return kSuccess;
}

static CUresult fake_cuModuleGetFunction(void **function, void *module,
                                         const char *name) {
  Module *m = module;
  if (!m || !memmem(m->bytes, m->size, name, strlen(name)))
    return kNotFound;
  Function *f = calloc(1, sizeof *f);
  snprintf(f->name, sizeof f->name, "%s", name);
  *function = f;
  return kSuccess;
}

static CUresult fake_cuLaunchKernel(void *function, unsigned gx, unsigned gy,
                                    unsigned gz, unsigned bx, unsigned by,
                                    unsigned bz, unsigned shared, void *stream,
                                    void **params, void **extra) {
  (void)shared, (void)stream, (void)extra;
  Function *f = function;
  if (failing("cuLaunchKernel"))
    return kLaunchFailed;
  if (!f || !params || gx * gy * gz == 0 || bx * by * bz == 0 ||
      bx * by * bz > 1024)
    return kInvalidValue;
  ++launches;
  if (trace())
    fprintf(trace(), "launch %s grid %u %u %u block %u %u %u\n", f->name, gx,
            gy, gz, bx, by, bz);
  return kSuccess;
}

CUresult cuStreamCreate(void **stream, unsigned flags) {
  (void)flags;
  static int theStream;
  *stream = &theStream;
  return kSuccess;
}
CUresult cuStreamDestroy_v2(void *stream) { return stream ? 0 : kInvalidValue; }
CUresult cuStreamSynchronize(void *stream) {
  return stream ? 0 : kInvalidValue;
}
CUresult cuStreamWaitEvent(void *stream, void *event, unsigned flags) {
  (void)stream, (void)event, (void)flags;
  return kSuccess;
}
CUresult cuEventCreate(void **event, unsigned flags) {
  (void)flags;
  static int theEvent;
  *event = &theEvent;
  return kSuccess;
}
CUresult cuEventDestroy_v2(void *event) { return event ? 0 : kInvalidValue; }
CUresult cuEventSynchronize(void *event) { return event ? 0 : kInvalidValue; }
CUresult cuEventRecord(void *event, void *stream) {
  (void)stream;
  return event ? 0 : kInvalidValue;
}

static CUresult fake_cuMemAlloc_v2(CUdeviceptr *pointer, size_t bytes) {
  if (failing("cuMemAlloc"))
    return kLaunchFailed;
  if (numAllocations == capacity) {
    capacity = capacity ? 2 * capacity : 64;
    allocations = realloc(allocations, capacity * sizeof *allocations);
  }
  unsigned char *data = malloc(bytes);
  memset(data, 0x7f, bytes);
  allocations[numAllocations++] = (Allocation){data, bytes};
  ++allocated;
  *pointer = (CUdeviceptr)(uintptr_t)data;
  return kSuccess;
}

static CUresult fake_cuMemFree_v2(CUdeviceptr pointer) {
  unsigned char *data = (unsigned char *)(uintptr_t)pointer;
  for (size_t i = 0; i < numAllocations; ++i)
    if (allocations[i].data == data) {
      free(data);
      allocations[i] = allocations[--numAllocations];
      ++freed;
      return kSuccess;
    }
  return kInvalidValue;
}

/* The stream-ordered forms: this fake runs everything in order anyway. */
static CUresult fake_cuMemAllocAsync(CUdeviceptr *pointer, size_t bytes,
                                     void *stream) {
  if (!stream)
    return kInvalidValue;
  return fake_cuMemAlloc_v2(pointer, bytes);
}

static CUresult fake_cuMemFreeAsync(CUdeviceptr pointer, void *stream) {
  if (!stream)
    return kInvalidValue;
  return fake_cuMemFree_v2(pointer);
}

static CUresult fake_cuMemcpyAsync(CUdeviceptr destination, CUdeviceptr source,
                                   size_t bytes, void *stream) {
  (void)stream;
  void *to = (void *)(uintptr_t)destination;
  const void *from = (const void *)(uintptr_t)source;
  Allocation *deviceTo = find(to), *deviceFrom = find(from);
  if (!deviceTo && !deviceFrom)
    return kInvalidValue;
  if ((deviceTo &&
       (unsigned char *)to + bytes > deviceTo->data + deviceTo->size) ||
      (deviceFrom && (const unsigned char *)from + bytes >
                         deviceFrom->data + deviceFrom->size))
    return kInvalidValue;
  memcpy(to, from, bytes);
  if (trace())
    fprintf(trace(), "copy %s %zu bytes\n",
            deviceTo && deviceFrom ? "DtoD"
            : deviceTo             ? "HtoD"
                                   : "DtoH",
            bytes);
  return kSuccess;
}

static CUresult fake_cuMemsetD32Async(CUdeviceptr destination, unsigned value,
                                      size_t count, void *stream) {
  (void)stream;
  uint32_t *to = (uint32_t *)(uintptr_t)destination;
  if (!find(to))
    return kInvalidValue;
  for (size_t i = 0; i < count; ++i)
    to[i] = value;
  return kSuccess;
}

static CUresult fake_cuMemsetD16Async(CUdeviceptr destination,
                                      unsigned short value, size_t count,
                                      void *stream) {
  (void)stream;
  uint16_t *to = (uint16_t *)(uintptr_t)destination;
  if (!find(to))
    return kInvalidValue;
  for (size_t i = 0; i < count; ++i)
    to[i] = value;
  return kSuccess;
}

/* The exported entry points: the implementations above, one call at a time. */
#define LOCKED(call)                                                           \
  do {                                                                         \
    pthread_mutex_lock(&lock);                                                 \
    CUresult result = call;                                                    \
    pthread_mutex_unlock(&lock);                                               \
    return result;                                                             \
  } while (0)

CUresult cuModuleLoadData(void **module, const void *image) {
  LOCKED(fake_cuModuleLoadData(module, image));
}

CUresult cuModuleGetFunction(void **function, void *module, const char *name) {
  LOCKED(fake_cuModuleGetFunction(function, module, name));
}

CUresult cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned shared,
                        void *stream, void **params, void **extra) {
  LOCKED(fake_cuLaunchKernel(function, gx, gy, gz, bx, by, bz, shared, stream,
                             params, extra));
}

CUresult cuMemAlloc_v2(CUdeviceptr *pointer, size_t bytes) {
  LOCKED(fake_cuMemAlloc_v2(pointer, bytes));
}

CUresult cuMemFree_v2(CUdeviceptr pointer) {
  LOCKED(fake_cuMemFree_v2(pointer));
}

CUresult cuMemAllocAsync(CUdeviceptr *pointer, size_t bytes, void *stream) {
  LOCKED(fake_cuMemAllocAsync(pointer, bytes, stream));
}

CUresult cuMemFreeAsync(CUdeviceptr pointer, void *stream) {
  LOCKED(fake_cuMemFreeAsync(pointer, stream));
}

CUresult cuMemcpyAsync(CUdeviceptr destination, CUdeviceptr source,
                       size_t bytes, void *stream) {
  LOCKED(fake_cuMemcpyAsync(destination, source, bytes, stream));
}

CUresult cuMemsetD32Async(CUdeviceptr destination, unsigned value, size_t count,
                          void *stream) {
  LOCKED(fake_cuMemsetD32Async(destination, value, count, stream));
}

CUresult cuMemsetD16Async(CUdeviceptr destination, unsigned short value,
                          size_t count, void *stream) {
  LOCKED(fake_cuMemsetD16Async(destination, value, count, stream));
}
