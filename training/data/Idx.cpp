//===- Idx.cpp - IDX files (MNIST, Fashion-MNIST), raw or gzipped ---------===//

#include "Idx.h"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace fsnn::data {

namespace {
/// Upper bound on the bytes an IDX file may make us allocate (4 GiB).
constexpr int64_t kMaxIdxBytes = int64_t(1) << 32;

/// gzread reads gzip and plain files alike.
struct GzFile {
  gzFile file = nullptr;
  ~GzFile() {
    if (file)
      gzclose(file);
  }
};

bool readExactly(gzFile file, void *buffer, size_t bytes, size_t &got) {
  got = 0;
  char *out = static_cast<char *>(buffer);
  while (got < bytes) {
    unsigned chunk =
        static_cast<unsigned>(std::min<size_t>(bytes - got, size_t(1) << 30));
    int n = gzread(file, out + got, chunk);
    if (n <= 0)
      return false;
    got += static_cast<size_t>(n);
  }
  return true;
}
} // namespace

Status loadIdx(const std::string &path, IdxArray &array) {
  array = IdxArray();
  GzFile in;
  in.file = gzopen(path.c_str(), "rb");
  if (!in.file)
    return Status::error(path + ": cannot open: " +
                         (errno ? std::strerror(errno) : "unknown error"));
  unsigned char header[4];
  size_t got;
  if (!readExactly(in.file, header, 4, got))
    return Status::error(path + ": not an IDX file (shorter than its 4-byte "
                                "magic number)");
  if (header[0] != 0 || header[1] != 0)
    return Status::error(path + ": not an IDX file (bad magic number)");
  if (header[2] != 0x08) {
    char type[8];
    std::snprintf(type, sizeof type, "0x%02x", header[2]);
    return Status::error(path + ": IDX element type " + type +
                         " is not supported; only unsigned bytes (0x08)");
  }
  int rank = header[3];
  if (rank < 1 || rank > 4)
    return Status::error(path + ": IDX rank " + std::to_string(rank) +
                         " is outside [1, 4]");
  int64_t total = 1;
  for (int i = 0; i < rank; ++i) {
    unsigned char b[4];
    if (!readExactly(in.file, b, 4, got))
      return Status::error(path + ": truncated in the dimensions");
    int64_t dim = (int64_t(b[0]) << 24) | (int64_t(b[1]) << 16) |
                  (int64_t(b[2]) << 8) | int64_t(b[3]);
    if (dim < 1)
      return Status::error(path + ": dimension " + std::to_string(i) + " is 0");
    total *= dim;
    if (total > kMaxIdxBytes)
      return Status::error(path + ": dimensions exceed the 4 GiB limit");
    array.dims.push_back(dim);
  }
  array.data.resize(static_cast<size_t>(total));
  if (!readExactly(in.file, array.data.data(), array.data.size(), got))
    return Status::error(path + ": truncated: expected " +
                         std::to_string(total) + " bytes of data, got " +
                         std::to_string(got));
  unsigned char extra;
  if (gzread(in.file, &extra, 1) > 0)
    return Status::error(path + ": has data after the " +
                         std::to_string(total) + " bytes its header declares");
  int error = Z_OK;
  gzerror(in.file, &error);
  if (error != Z_OK && error != Z_STREAM_END)
    return Status::error(path + ": corrupt gzip data");
  return Status();
}

Status loadImagesAndLabels(const std::string &imagesPath,
                           const std::string &labelsPath, IdxArray &images,
                           std::vector<int64_t> &labels, int64_t classes) {
  if (Status status = loadIdx(imagesPath, images))
    return status;
  labels.clear();
  if (labelsPath.empty())
    return Status();
  IdxArray raw;
  if (Status status = loadIdx(labelsPath, raw))
    return status;
  if (raw.dims.size() != 1)
    return Status::error(labelsPath + ": labels must be a rank-1 IDX array");
  if (raw.items() != images.items())
    return Status::error(labelsPath + ": " + std::to_string(raw.items()) +
                         " labels for " + std::to_string(images.items()) +
                         " images in " + imagesPath);
  labels.assign(raw.data.begin(), raw.data.end());
  for (size_t i = 0; i < labels.size(); ++i)
    if (classes > 0 && labels[i] >= classes)
      return Status::error(labelsPath + ": label " + std::to_string(labels[i]) +
                           " of item " + std::to_string(i) +
                           " is not below the model's " +
                           std::to_string(classes) + " classes");
  return Status();
}

} // namespace fsnn::data
