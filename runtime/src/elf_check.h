//===- elf_check.h - a shared object's headers before dlopen ----*- C++ -*-===//
//
// dlopen maps the segments a file's program headers describe and faults
// (SIGBUS) when they lie past its end, as in a torn or truncated .so. The
// loader checks the headers against the file first, so that such a file is
// an error, not a crash. This is not a defence against a crafted library: a
// .so is code, and only your own should be loaded (docs/runtime-abi.md).
//
//===----------------------------------------------------------------------===//

#ifndef FSNNRT_SRC_ELF_CHECK_H
#define FSNNRT_SRC_ELF_CHECK_H

#include <string>

namespace fsnnrt {

/// Whether `path` is a 64-bit little-endian ELF shared object for this
/// machine whose ELF, program and section headers, and every segment's file
/// bytes, lie inside the file. Otherwise false, with the reason in `error`.
bool checkSharedObject(const std::string &path, std::string &error);

} // namespace fsnnrt

#endif // FSNNRT_SRC_ELF_CHECK_H
