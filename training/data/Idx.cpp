//===- Idx.cpp - IDX files (MNIST, Fashion-MNIST), raw or gzipped ---------===//

#include "training/data/Idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sys/stat.h>
#include <vector>

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

/// Appends `bytes` bytes to `data` as they arrive, a chunk at a time, so
/// that what a header claims is never allocated before the file delivers it
/// (a small gzip can claim gigabytes). False, with `got`, if it ends first.
bool readInto(gzFile file, std::vector<uint8_t> &data, size_t bytes,
              size_t &got) {
  constexpr size_t kChunk = size_t(16) << 20;
  got = 0;
  while (got < bytes) {
    size_t chunk = std::min(bytes - got, kChunk);
    size_t at = data.size();
    data.resize(at + chunk);
    int n = gzread(file, data.data() + at, unsigned(chunk));
    if (n <= 0) {
      data.resize(at);
      return false;
    }
    data.resize(at + size_t(n));
    got += size_t(n);
  }
  return true;
}

bool partial(int64_t maxItems, int64_t items) {
  return maxItems > 0 && maxItems < items;
}

/// The ISIZE field of a gzip file's last member (its last four bytes).
bool gzipUncompressedSize(const std::string &path, uint32_t &size) {
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    return false;
  unsigned char tail[4] = {};
  bool ok =
      std::fseek(file, -4, SEEK_END) == 0 && std::fread(tail, 1, 4, file) == 4;
  std::fclose(file);
  size = uint32_t(tail[0]) | uint32_t(tail[1]) << 8 | uint32_t(tail[2]) << 16 |
         uint32_t(tail[3]) << 24;
  return ok;
}

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

Status loadIdx(const std::string &path, IdxArray &array, int64_t maxItems) {
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
  bool gzipped = gzdirect(in.file) == 0;
  bool firstOnly = partial(maxItems, array.dims[0]);
  int64_t wanted = firstOnly ? maxItems * (total / array.dims[0]) : total;
  // An uncompressed file must hold what is to be read before anything is
  // allocated for it.
  struct stat status;
  int64_t headerBytes = 4 + 4 * int64_t(rank);
  if (!gzipped && ::stat(path.c_str(), &status) == 0 &&
      int64_t(status.st_size) - headerBytes < wanted)
    return Status::error(
        path + ": truncated: expected " + std::to_string(wanted) +
        " bytes of data, got " +
        std::to_string(std::max<int64_t>(0, status.st_size - headerBytes)));
  // A gzip member ends with its uncompressed size modulo 2^32 (RFC 1952):
  // a header that claims more than the file holds is refused before
  // anything is decompressed into memory.
  uint32_t stored = 0;
  if (gzipped && !firstOnly && gzipUncompressedSize(path, stored) &&
      stored != uint32_t(uint64_t(headerBytes + total)))
    return Status::error(
        path + ": truncated or corrupt: the header declares " +
        std::to_string(total) + " bytes of data, the gzip stream holds " +
        std::to_string(int64_t(stored) - headerBytes) + " (modulo 4 GiB)");
  if (!readInto(in.file, array.data, size_t(wanted), got))
    return Status::error(path + ": truncated: expected " +
                         std::to_string(wanted) + " bytes of data, got " +
                         std::to_string(got));
  if (firstOnly) {
    // The first maxItems items only; the rest is neither read nor checked.
    array.dims[0] = maxItems;
    return Status();
  }
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
                           std::vector<int64_t> &labels, int64_t classes,
                           int64_t maxItems) {
  if (Status status = loadIdx(imagesPath, images, maxItems))
    return status;
  labels.clear();
  if (labelsPath.empty())
    return Status();
  IdxArray raw;
  if (Status status = loadIdx(labelsPath, raw, maxItems))
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
