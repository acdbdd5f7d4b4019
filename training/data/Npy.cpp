//===- Npy.cpp - numpy's .npy files, read and written ---------------------===//

#include "training/data/Npy.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace fsnn::data {

namespace fm = fsnn::model;

namespace {

/// What a model's input can hold: far below what overflows a size.
constexpr int64_t kMaxElements = int64_t(1) << 34;
constexpr size_t kMaxHeader = 1 << 16;

/// The value of `key` in numpy's header dict, as written by numpy.
bool headerField(const std::string &header, const std::string &key,
                 std::string &value) {
  size_t at = header.find("'" + key + "'");
  if (at == std::string::npos)
    return false;
  at = header.find(':', at);
  if (at == std::string::npos)
    return false;
  ++at;
  while (at < header.size() && header[at] == ' ')
    ++at;
  if (at >= header.size())
    return false;
  char open = header[at];
  char close = open == '(' ? ')' : open == '\'' ? '\'' : ',';
  size_t end = header.find(close, at + 1);
  if (end == std::string::npos)
    return false;
  value = header.substr(at + (open == '(' || open == '\'' ? 1 : 0),
                        end - at - (open == '(' || open == '\'' ? 1 : 0));
  return true;
}

Status writeArray(const std::string &path, const std::vector<int64_t> &shape,
                  const char *descr, const void *data, size_t bytes) {
  std::ostringstream dict;
  dict << "{'descr': '" << descr << "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i)
    dict << shape[i] << (shape.size() == 1 || i + 1 < shape.size() ? "," : "")
         << (i + 1 < shape.size() ? " " : "");
  dict << "), }";
  std::string header = dict.str();
  // Magic (6) + version (2) + length (2) + header + padding + '\n', a
  // multiple of 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string file = std::string("\x93NUMPY\x01\x00", 8);
  file.push_back(char(header.size() & 0xff));
  file.push_back(char(header.size() >> 8));
  file += header;
  file.append(static_cast<const char *>(data), bytes);
  return fm::writeFileAtomically(path, file);
}

} // namespace

Status readNpy(const std::string &path, NpyArray &array) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::error(path + ": cannot open");
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  return parseNpy(bytes, path, array);
}

Status parseNpy(const std::string &bytes, const std::string &path,
                NpyArray &array) {
  auto bad = [&](const std::string &why) {
    return Status::error(path + ": not a .npy array fsnn reads: " + why);
  };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    return bad("no NumPy magic string");
  int major = uint8_t(bytes[6]);
  size_t lengthBytes = major == 1 ? 2 : 4;
  if (major < 1 || major > 3)
    return bad("format version " + std::to_string(major));
  if (bytes.size() < 8 + lengthBytes)
    return bad("truncated header");
  size_t headerLength = 0;
  for (size_t i = 0; i < lengthBytes; ++i)
    headerLength |= size_t(uint8_t(bytes[8 + i])) << (8 * i);
  size_t dataStart = 8 + lengthBytes + headerLength;
  if (headerLength > kMaxHeader || dataStart > bytes.size())
    return bad("header of " + std::to_string(headerLength) +
               " bytes runs past the file");
  std::string header = bytes.substr(8 + lengthBytes, headerLength);
  std::string descr, order, shapeText;
  if (!headerField(header, "descr", descr) ||
      !headerField(header, "fortran_order", order) ||
      !headerField(header, "shape", shapeText))
    return bad("the header lacks descr, fortran_order or shape");
  if (order.find("False") == std::string::npos)
    return bad("Fortran order (save it with np.ascontiguousarray)");
  size_t itemSize = 0;
  if (descr == "<f4" || descr == "<i4")
    itemSize = 4;
  else if (descr == "<f8" || descr == "<i8")
    itemSize = 8;
  else if (descr == "|u1" || descr == "<u1")
    itemSize = 1;
  else
    return bad("element type '" + descr +
               "' (float32, float64, uint8, int32 or int64, little-endian)");
  array = NpyArray();
  array.descr = descr;
  int64_t count = 1;
  std::istringstream dims(shapeText);
  std::string dim;
  while (std::getline(dims, dim, ',')) {
    size_t first = dim.find_first_not_of(' ');
    if (first == std::string::npos)
      continue;
    dim = dim.substr(first);
    char *end = nullptr;
    long long value = std::strtoll(dim.c_str(), &end, 10);
    if (end == dim.c_str() || value < 0 || value > kMaxElements)
      return bad("shape (" + shapeText + ")");
    array.shape.push_back(value);
    // Checked before the product, which could overflow.
    if (value != 0 && count > kMaxElements / value)
      return bad("more than 2^34 elements");
    count *= value;
  }
  if (uint64_t(count) * itemSize != bytes.size() - dataStart)
    return bad("shape (" + shapeText + ") needs " +
               std::to_string(uint64_t(count) * itemSize) +
               " bytes of data, the file has " +
               std::to_string(bytes.size() - dataStart));
  const char *data = bytes.data() + dataStart;
  array.values.resize(count);
  bool integer = descr[1] == 'i' || descr[1] == 'u';
  if (integer)
    array.integers.resize(count);
  for (int64_t i = 0; i < count; ++i) {
    const char *p = data + i * itemSize;
    if (descr == "<f4") {
      std::memcpy(&array.values[i], p, 4);
    } else if (descr == "<f8") {
      double v;
      std::memcpy(&v, p, 8);
      array.values[i] = float(v);
    } else if (descr == "<i4") {
      int32_t v;
      std::memcpy(&v, p, 4);
      array.integers[i] = v;
    } else if (descr == "<i8") {
      std::memcpy(&array.integers[i], p, 8);
    } else {
      array.integers[i] = uint8_t(*p);
    }
    if (integer)
      array.values[i] = float(array.integers[i]);
  }
  return Status();
}

Status writeNpy(const std::string &path, const std::vector<int64_t> &shape,
                const std::vector<float> &values) {
  return writeArray(path, shape, "<f4", values.data(), values.size() * 4);
}

Status writeNpy(const std::string &path, const std::vector<int64_t> &shape,
                const std::vector<int32_t> &values) {
  return writeArray(path, shape, "<i4", values.data(), values.size() * 4);
}

} // namespace fsnn::data
