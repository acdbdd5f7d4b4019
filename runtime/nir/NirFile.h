//===- NirFile.h - NIR's HDF5 files as a tree of groups and arrays -*- C++ -*-//
//
// A NIR file (docs/nir.md) is an HDF5 file: groups holding groups and
// datasets. This is the only code that talks to libhdf5. Reading is done in
// a child process: libhdf5 is not hardened against hostile files, so a file
// that crashes or exhausts it costs the child, and the parent gets either a
// tree it decodes with its own bounds checks or a message.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_RUNTIME_NIR_NIRFILE_H
#define FSNN_RUNTIME_NIR_NIRFILE_H

#include "runtime/model/Model.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fsnn::nir {

using model::Status;

/// Bounds on what a NIR file may hold, checked before anything is allocated.
constexpr int kMaxDepth = 32;
constexpr int64_t kMaxItems = 100000;
constexpr int64_t kMaxElements = int64_t(1) << 28;
constexpr int64_t kMaxTotalElements = int64_t(1) << 29;
constexpr size_t kMaxNameBytes = 256;
constexpr size_t kMaxStringBytes = 4096;

/// A group or a dataset of an HDF5 file.
struct Item {
  enum class Kind { Group, Float, Integer, String };
  std::string name;
  Kind kind = Kind::Group;
  std::vector<int64_t> dims;        // Datasets; none for a scalar.
  bool float32 = false;             // Float: stored as 32-bit.
  bool bytes = false;               // Integer: stored as uint8 (writer).
  std::vector<double> floats;       // Float.
  std::vector<int64_t> integers;    // Integer.
  std::vector<std::string> strings; // String.
  std::vector<Item> children;       // Group, in name order.

  bool isGroup() const { return kind == Kind::Group; }
  /// The child named `child`, or null.
  const Item *find(std::string_view child) const;
  /// Elements of a dataset (1 for a scalar).
  int64_t elementCount() const;
};

/// `name` for messages and model names: valid UTF-8 is kept, control
/// characters and bytes that are not UTF-8 become "\xNN".
std::string printableName(std::string_view name);

/// Reads `path` into `root` (the file's root group) in a child process.
/// Soft and external links, attributes-only objects and datasets of other
/// element types (compound, enum, opaque, ...) are refused with a message
/// naming the path inside the file.
Status readNirFile(const std::string &path, Item &root);

/// The child's side of readNirFile, in this process: for the fuzz target's
/// in-process mode and for tests. Never call it on untrusted files in a
/// process that matters.
Status readNirFileInProcess(const std::string &path, Item &root);

/// The wire form between the child and the parent, and its checked decoder
/// (public so that the fuzz target can reach it).
std::string encodeTree(const Item &root);
Status decodeTree(std::string_view bytes, Item &root);

/// Writes `root` as an HDF5 file, atomically (a temporary file in the same
/// directory renamed over `path`). Float datasets are written as 32- or
/// 64-bit floats as `float32` says, integers as int64, strings as
/// variable-length UTF-8 (as h5py writes them).
Status writeNirFile(const Item &root, const std::string &path);

} // namespace fsnn::nir

#endif // FSNN_RUNTIME_NIR_NIRFILE_H
