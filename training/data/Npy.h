//===- Npy.h - numpy's .npy files, read and written ------------*- C++ -*-===//
//
// NumPy's format, version 1.0-3.0 (numpy.lib.format): a magic string, a
// header dict ('descr', 'fortran_order', 'shape'), then the data in C order.
// A .npy file is untrusted input: the header's size and every field are
// checked, and the element count against the file's size, before anything
// is allocated. Runtime side of the wall.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_TRAINING_DATA_NPY_H
#define FSNN_TRAINING_DATA_NPY_H

#include "runtime/model/Model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fsnn::data {

using fsnn::model::Status;

/// An array read from a .npy file, converted to float32 (or int64 for
/// labels); `shape` is the file's.
struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> values;
  std::vector<int64_t> integers;
  /// The element type as the file says it ("<f4", "|u1", ...).
  std::string descr;
};

/// Reads a little-endian float32/float64/uint8/int32/int64 array in C
/// order. Integers are also kept exactly in `integers`.
Status readNpy(const std::string &path, NpyArray &array);

/// The same from the file's bytes; `name` names it in messages.
Status parseNpy(const std::string &bytes, const std::string &name,
                NpyArray &array);

/// Writes a float32 or int32 array (atomically).
Status writeNpy(const std::string &path, const std::vector<int64_t> &shape,
                const std::vector<float> &values);
Status writeNpy(const std::string &path, const std::vector<int64_t> &shape,
                const std::vector<int32_t> &values);

} // namespace fsnn::data

#endif // FSNN_TRAINING_DATA_NPY_H
