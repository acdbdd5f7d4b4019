//===- GuardedMain.h - a tool's main that never aborts ----------*- C++ -*-===//
//
// The runtime-side tools check limits before allocating (--max-memory);
// whatever still throws (an allocation the estimate missed) ends the tool
// with one line and a non-zero exit, not an abort.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_TOOLS_GUARDEDMAIN_H
#define FSNN_TOOLS_GUARDEDMAIN_H

#include <exception>
#include <iostream>
#include <new>

namespace fsnn::tools {

inline int guardedMain(const char *tool, int (*run)(int, char **), int argc,
                       char **argv) {
  try {
    return run(argc, argv);
  } catch (const std::bad_alloc &) {
    std::cerr << tool << ": error: out of memory\n";
  } catch (const std::exception &e) {
    std::cerr << tool << ": error: " << e.what() << "\n";
  }
  return 1;
}

} // namespace fsnn::tools

#endif // FSNN_TOOLS_GUARDEDMAIN_H
