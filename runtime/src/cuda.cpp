//===- cuda.cpp - the CUDA driver through dlopen --------------------------===//

#include "fsnnrt/cuda.h"
#include "runtime/src/status_internal.h"

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <string>

namespace {
// The few driver API entry points the probe needs, by their C signatures
// (CUresult is an int, CUdevice an int).
using CuInit = int (*)(unsigned);
using CuDeviceGetCount = int (*)(int *);
using CuDeviceGet = int (*)(int *, int);
using CuDeviceGetName = int (*)(char *, int, int);
using CuDeviceComputeCapability = int (*)(int *, int *, int);
} // namespace

extern "C" fsnn_status fsnn_cuda_probe(fsnn_cuda_device_info *info) {
  if (!info)
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT, "cuda_probe: null argument");
  std::memset(info, 0, sizeof *info);
  const char *override = std::getenv("FSNN_CUDA_DRIVER");
  const char *library = override ? override : "libcuda.so.1";
  // Kept loaded for the process: a backend uses it next.
  void *driver = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!driver)
    return fsnnrt::fail(FSNN_UNAVAILABLE,
                        std::string("no CUDA driver: ") + dlerror());
  auto cuInit = reinterpret_cast<CuInit>(dlsym(driver, "cuInit"));
  auto cuDeviceGetCount =
      reinterpret_cast<CuDeviceGetCount>(dlsym(driver, "cuDeviceGetCount"));
  auto cuDeviceGet =
      reinterpret_cast<CuDeviceGet>(dlsym(driver, "cuDeviceGet"));
  auto cuDeviceGetName =
      reinterpret_cast<CuDeviceGetName>(dlsym(driver, "cuDeviceGetName"));
  auto cuDeviceComputeCapability = reinterpret_cast<CuDeviceComputeCapability>(
      dlsym(driver, "cuDeviceComputeCapability"));
  if (!cuInit || !cuDeviceGetCount || !cuDeviceGet || !cuDeviceGetName ||
      !cuDeviceComputeCapability)
    return fsnnrt::fail(FSNN_UNAVAILABLE, std::string("no CUDA driver: ") +
                                              library +
                                              " lacks the driver API");
  if (int error = cuInit(0))
    return fsnnrt::fail(FSNN_UNAVAILABLE,
                        "no CUDA device: cuInit failed with CUDA error " +
                            std::to_string(error));
  int count = 0;
  if (int error = cuDeviceGetCount(&count))
    return fsnnrt::fail(FSNN_UNAVAILABLE,
                        "no CUDA device: cuDeviceGetCount failed with CUDA "
                        "error " +
                            std::to_string(error));
  if (count == 0)
    return fsnnrt::fail(FSNN_UNAVAILABLE,
                        "no CUDA device: the driver sees none");
  info->count = count;
  int device = 0;
  if (cuDeviceGet(&device, 0) ||
      cuDeviceGetName(info->name, int(sizeof info->name), device) ||
      cuDeviceComputeCapability(&info->major, &info->minor, device))
    return fsnnrt::fail(FSNN_UNAVAILABLE,
                        "no CUDA device: the first device cannot be queried");
  return FSNN_OK;
}
