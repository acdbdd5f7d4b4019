//===- RuntimeFuzzer.cpp - libFuzzer target: what the loader reads --------===//
//
// What fsnn_model_open reads of a library before it runs any of its code:
// the ELF headers (checked against the file before dlopen) and the
// descriptor text. The first byte picks which; the rest is the file or the
// text. Any input must be accepted or refused with a status and a message;
// a crash, a hang or a sanitizer report is a bug. (dlopen itself is not
// fuzzed: loading a library runs its code, and a .so is trusted code.)
//
//===----------------------------------------------------------------------===//

#include "runtime/src/elf_check.h"
#include "runtime/src/model_internal.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  std::string rest(reinterpret_cast<const char *>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    fsnn_model model;
    fsnn_status status = fsnnrt::parseDescriptor(rest.c_str(), model);
    if (status != FSNN_OK && fsnn_last_error()[0] == '\0') {
      std::fprintf(stderr, "a refused descriptor without a message\n");
      std::abort();
    }
    if (status == FSNN_OK)
      for (const fsnnrt::Tensor &t : model.outputs)
        if (t.dims.size() > 8 || t.elements() <= 0) {
          std::fprintf(stderr, "an accepted descriptor with bad dims\n");
          std::abort();
        }
    return 0;
  }
  // The bytes as a file, without touching the disk.
  int fd = memfd_create("fsnn-fuzz-elf", MFD_CLOEXEC);
  if (fd < 0)
    return 0;
  if (write(fd, rest.data(), rest.size()) == ssize_t(rest.size())) {
    std::string error;
    if (!fsnnrt::checkSharedObject("/proc/self/fd/" + std::to_string(fd),
                                   error) &&
        error.empty()) {
      std::fprintf(stderr, "a refused library without a reason\n");
      std::abort();
    }
  }
  close(fd);
  return 0;
}
