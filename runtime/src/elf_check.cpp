//===- elf_check.cpp - a shared object's headers before dlopen ------------===//

#include "runtime/src/elf_check.h"

#include <cerrno>
#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fsnnrt {
namespace {

#if defined(__x86_64__)
constexpr uint16_t kMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr uint16_t kMachine = EM_AARCH64;
#else
#error "fsnn's runtime knows the ELF machine of x86-64 and AArch64 only"
#endif

/// A table of `count` entries of `size` bytes at `offset` fits in `file`.
bool fits(uint64_t offset, uint64_t count, uint64_t size, uint64_t file) {
  if (offset > file)
    return false;
  return count == 0 || size <= (file - offset) / count;
}

class File {
public:
  explicit File(const std::string &path)
      : fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~File() {
    if (fd >= 0)
      ::close(fd);
  }
  bool read(void *into, size_t bytes, uint64_t offset) const {
    return ::pread(fd, into, bytes, off_t(offset)) == ssize_t(bytes);
  }
  int fd;
};

} // namespace

bool checkSharedObject(const std::string &path, std::string &error) {
  File file(path);
  if (file.fd < 0) {
    error = std::strerror(errno);
    return false;
  }
  struct stat status;
  if (::fstat(file.fd, &status) != 0 || !S_ISREG(status.st_mode)) {
    error = "not a regular file";
    return false;
  }
  uint64_t size = uint64_t(status.st_size);
  Elf64_Ehdr header;
  if (size < sizeof header || !file.read(&header, sizeof header, 0)) {
    error = "shorter than an ELF header (" + std::to_string(size) + " bytes)";
    return false;
  }
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) {
    error = "not an ELF file";
    return false;
  }
  if (header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_ident[EI_DATA] != ELFDATA2LSB || header.e_machine != kMachine) {
    error = "an ELF file for another machine";
    return false;
  }
  if (header.e_type != ET_DYN) {
    error = "an ELF file that is not a shared object";
    return false;
  }
  if (header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum == 0 ||
      !fits(header.e_phoff, header.e_phnum, sizeof(Elf64_Phdr), size)) {
    error = "truncated or corrupt: the program headers lie outside the " +
            std::to_string(size) + "-byte file";
    return false;
  }
  if (header.e_shoff != 0 &&
      (header.e_shentsize != sizeof(Elf64_Shdr) ||
       !fits(header.e_shoff, header.e_shnum, sizeof(Elf64_Shdr), size))) {
    error = "truncated or corrupt: the section headers lie outside the " +
            std::to_string(size) + "-byte file";
    return false;
  }
  for (uint16_t i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment;
    if (!file.read(&segment, sizeof segment,
                   header.e_phoff + uint64_t(i) * sizeof segment)) {
      error = "cannot read program header " + std::to_string(i);
      return false;
    }
    if (!fits(segment.p_offset, 1, segment.p_filesz, size) ||
        (segment.p_type == PT_LOAD && segment.p_filesz > segment.p_memsz)) {
      error = "truncated or corrupt: segment " + std::to_string(i) +
              " needs bytes up to " +
              std::to_string(segment.p_offset + segment.p_filesz) + " of a " +
              std::to_string(size) + "-byte file";
      return false;
    }
  }
  return true;
}

} // namespace fsnnrt
