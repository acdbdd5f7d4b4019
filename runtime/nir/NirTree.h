//===- NirTree.h - building and reading NIR trees (internal) ----*- C++ -*-===//

#ifndef FSNN_RUNTIME_NIR_NIRTREE_H
#define FSNN_RUNTIME_NIR_NIRTREE_H

#include "runtime/nir/NirFile.h"

#include <string>
#include <vector>

namespace fsnn::nir::tree {

inline Item group(const std::string &name) {
  Item item;
  item.name = name;
  item.kind = Item::Kind::Group;
  return item;
}

inline Item floats(const std::string &name, std::vector<int64_t> dims,
                   std::vector<double> values, bool float32) {
  Item item;
  item.name = name;
  item.kind = Item::Kind::Float;
  item.dims = std::move(dims);
  item.floats = std::move(values);
  item.float32 = float32;
  // What the file will hold, so that a tree read back compares equal.
  if (float32)
    for (double &v : item.floats)
      v = double(float(v));
  return item;
}

inline Item integers(const std::string &name, std::vector<int64_t> values,
                     bool scalar = false) {
  Item item;
  item.name = name;
  item.kind = Item::Kind::Integer;
  if (!scalar)
    item.dims = {int64_t(values.size())};
  item.integers = std::move(values);
  return item;
}

inline Item text(const std::string &name, const std::string &value) {
  Item item;
  item.name = name;
  item.kind = Item::Kind::String;
  item.strings = {value};
  return item;
}

} // namespace fsnn::nir::tree

#endif // FSNN_RUNTIME_NIR_NIRTREE_H
