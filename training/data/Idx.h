//===- Idx.h - IDX files (MNIST, Fashion-MNIST), raw or gzipped -*- C++ -*-===//

#ifndef FSNN_TRAINING_DATA_IDX_H
#define FSNN_TRAINING_DATA_IDX_H

#include "runtime/model/Model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fsnn::data {

using fsnn::model::Status;

/// An IDX array of unsigned bytes: dims (e.g. [60000, 28, 28]) and data.
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
  int64_t items() const { return dims.empty() ? 0 : dims[0]; }
  int64_t itemSize() const {
    int64_t n = 1;
    for (size_t i = 1; i < dims.size(); ++i)
      n *= dims[i];
    return n;
  }
};

/// Reads an IDX file of unsigned bytes (type 0x08), gzipped or not (told
/// apart by content). Checks the magic number, the dims against a size
/// limit, an uncompressed file's size against its header before
/// allocating, and that the file holds exactly the data; gzipped data is
/// read in chunks as it arrives, never allocated on the header's word.
/// With `maxItems` > 0, reads only the first `maxItems` items (dims[0]
/// becomes at most that) and does not look at the rest.
Status loadIdx(const std::string &path, IdxArray &array, int64_t maxItems = 0);

/// Loads images and, if `labelsPath` is not empty, labels, and checks that
/// they agree (same count, labels < `classes` when classes > 0); the first
/// `maxItems` of each only, when it is > 0.
Status loadImagesAndLabels(const std::string &imagesPath,
                           const std::string &labelsPath, IdxArray &images,
                           std::vector<int64_t> &labels, int64_t classes,
                           int64_t maxItems = 0);

} // namespace fsnn::data

#endif // FSNN_TRAINING_DATA_IDX_H
