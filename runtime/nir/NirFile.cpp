//===- NirFile.cpp - NIR's HDF5 files as a tree of groups and arrays ------===//

#include "runtime/nir/NirFile.h"

#include <hdf5.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FSNN_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FSNN_UNDER_ASAN 1
#endif

namespace fsnn::nir {

const Item *Item::find(std::string_view child) const {
  for (const Item &item : children)
    if (item.name == child)
      return &item;
  return nullptr;
}

int64_t Item::elementCount() const {
  int64_t count = 1;
  for (int64_t d : dims)
    count *= d;
  return count;
}

std::string printableName(std::string_view name) {
  std::string out;
  auto escape = [&](unsigned char c) {
    static const char *hex = "0123456789abcdef";
    out += "\\x";
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  };
  for (size_t i = 0; i < name.size();) {
    unsigned char c = name[i];
    if (c < 0x20 || c == 0x7f) {
      escape(c);
      ++i;
      continue;
    }
    if (c < 0x80) {
      out.push_back(char(c));
      ++i;
      continue;
    }
    size_t length = c >= 0xf0 && c < 0xf5   ? 4
                    : c >= 0xe0 && c < 0xf0 ? 3
                    : c >= 0xc2 && c < 0xe0 ? 2
                                            : 0;
    bool valid = length > 0 && i + length <= name.size();
    for (size_t k = 1; valid && k < length; ++k)
      valid = (static_cast<unsigned char>(name[i + k]) & 0xc0) == 0x80;
    if (valid && length == 3) {
      unsigned char c1 = name[i + 1];
      valid = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
    }
    if (valid && length == 4) {
      unsigned char c1 = name[i + 1];
      valid = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
    }
    if (!valid) {
      escape(c);
      ++i;
      continue;
    }
    out.append(name.substr(i, length));
    i += length;
  }
  return out;
}

namespace {

/// Closes an HDF5 handle with the function that owns its kind.
class Handle {
public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id(id), close(close) {}
  ~Handle() {
    if (id >= 0)
      close(id);
  }
  Handle(const Handle &) = delete;
  Handle &operator=(const Handle &) = delete;
  operator hid_t() const { return id; }
  bool valid() const { return id >= 0; }

private:
  hid_t id;
  herr_t (*close)(hid_t);
};

std::string joinPath(const std::string &parent, const std::string &name) {
  std::string shown = printableName(name);
  return parent == "/" ? "/" + shown : parent + "/" + shown;
}

/// What the reader has spent of the file's budget.
struct Budget {
  int64_t items = 0;
  int64_t elements = 0;
};

Status checkName(const std::string &name, const std::string &where) {
  if (name.empty() || name.size() > kMaxNameBytes)
    return Status::error(where + ": a name of " + std::to_string(name.size()) +
                         " bytes (1 to " + std::to_string(kMaxNameBytes) +
                         " allowed)");
  return {};
}

Status readStrings(hid_t dataset, hid_t fileType, int64_t count,
                   const std::string &path, Item &item) {
  item.kind = Item::Kind::String;
  if (count > (int64_t(1) << 20))
    return Status::error(path + ": " + std::to_string(count) +
                         " strings (at most 2^20 allowed)");
  htri_t variable = H5Tis_variable_str(fileType);
  if (variable < 0)
    return Status::error(path + ": unreadable string type");
  if (variable) {
    Handle memType(H5Tcopy(H5T_C_S1), H5Tclose);
    if (!memType.valid() || H5Tset_size(memType, H5T_VARIABLE) < 0 ||
        H5Tset_cset(memType, H5Tget_cset(fileType)) < 0)
      return Status::error(path + ": unreadable string type");
    std::vector<char *> pointers(count, nullptr);
    if (H5Dread(dataset, memType, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                pointers.data()) < 0)
      return Status::error(path + ": the strings cannot be read");
    Status status;
    for (char *p : pointers) {
      size_t length = p ? strnlen(p, kMaxStringBytes + 1) : 0;
      if (length > kMaxStringBytes && status.ok())
        status = Status::error(path + ": a string longer than " +
                               std::to_string(kMaxStringBytes) + " bytes");
      item.strings.emplace_back(p ? p : "", std::min(length, kMaxStringBytes));
    }
    Handle space(H5Dget_space(dataset), H5Sclose);
    H5Dvlen_reclaim(memType, space, H5P_DEFAULT, pointers.data());
    return status;
  }
  size_t size = H5Tget_size(fileType);
  if (size == 0 || size > kMaxStringBytes)
    return Status::error(path + ": fixed-length strings of " +
                         std::to_string(size) + " bytes (1 to " +
                         std::to_string(kMaxStringBytes) + " allowed)");
  Handle memType(H5Tcopy(fileType), H5Tclose);
  if (!memType.valid())
    return Status::error(path + ": unreadable string type");
  std::vector<char> buffer(size_t(count) * size);
  if (H5Dread(dataset, memType, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) <
      0)
    return Status::error(path + ": the strings cannot be read");
  for (int64_t i = 0; i < count; ++i) {
    const char *p = buffer.data() + i * size;
    item.strings.emplace_back(p, strnlen(p, size));
  }
  return {};
}

Status readDataset(hid_t dataset, const std::string &path, Budget &budget,
                   Item &item) {
  Handle space(H5Dget_space(dataset), H5Sclose);
  if (!space.valid())
    return Status::error(path + ": unreadable dataspace");
  H5S_class_t spaceClass = H5Sget_simple_extent_type(space);
  if (spaceClass == H5S_SCALAR) {
    item.dims.clear();
  } else if (spaceClass == H5S_SIMPLE) {
    int rank = H5Sget_simple_extent_ndims(space);
    if (rank < 0 || rank > 8)
      return Status::error(path + ": a dataset of rank " +
                           std::to_string(rank) + " (at most 8)");
    hsize_t dims[8] = {};
    if (H5Sget_simple_extent_dims(space, dims, nullptr) < 0)
      return Status::error(path + ": unreadable dataspace");
    for (int i = 0; i < rank; ++i) {
      if (dims[i] > hsize_t(kMaxElements))
        return Status::error(path + ": dimension " + std::to_string(i) +
                             " is " + std::to_string(dims[i]) +
                             " (at most 2^28)");
      item.dims.push_back(int64_t(dims[i]));
    }
  } else {
    return Status::error(path + ": an empty (null) dataspace");
  }
  int64_t count = 1;
  for (int64_t d : item.dims) {
    if (d != 0 && count > kMaxElements / d)
      return Status::error(path + ": more than 2^28 elements");
    count *= d;
  }
  if (count > kMaxElements || budget.elements + count > kMaxTotalElements)
    return Status::error(path + ": more elements than a NIR file may hold "
                                "(2^28 per array, 2^29 in all)");
  budget.elements += count;

  Handle fileType(H5Dget_type(dataset), H5Tclose);
  if (!fileType.valid())
    return Status::error(path + ": unreadable element type");
  switch (H5Tget_class(fileType)) {
  case H5T_FLOAT: {
    item.kind = Item::Kind::Float;
    item.float32 = H5Tget_size(fileType) <= 4;
    item.floats.assign(count, 0.0);
    if (count && H5Dread(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                         H5P_DEFAULT, item.floats.data()) < 0)
      return Status::error(path + ": the values cannot be read");
    return {};
  }
  case H5T_INTEGER: {
    item.kind = Item::Kind::Integer;
    item.integers.assign(count, 0);
    if (count && H5Dread(dataset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL,
                         H5P_DEFAULT, item.integers.data()) < 0)
      return Status::error(path + ": the values cannot be read");
    return {};
  }
  case H5T_STRING:
    return readStrings(dataset, fileType, count, path, item);
  default:
    return Status::error(path + ": an element type NIR does not use (only "
                                "floats, integers and strings are read)");
  }
}

Status readGroup(hid_t group, const std::string &path, int depth,
                 Budget &budget, Item &item) {
  item.kind = Item::Kind::Group;
  if (depth > kMaxDepth)
    return Status::error(path + ": groups nested more than " +
                         std::to_string(kMaxDepth) + " deep");
  H5G_info_t info;
  if (H5Gget_info(group, &info) < 0)
    return Status::error(path + ": unreadable group");
  if (info.nlinks > hsize_t(kMaxItems) ||
      budget.items + int64_t(info.nlinks) > kMaxItems)
    return Status::error(path + ": more than " + std::to_string(kMaxItems) +
                         " groups and datasets in the file");
  budget.items += int64_t(info.nlinks);
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    ssize_t length = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC,
                                        i, nullptr, 0, H5P_DEFAULT);
    if (length <= 0 || size_t(length) > kMaxNameBytes)
      return Status::error(path + ": entry " + std::to_string(i) +
                           " has a name of " + std::to_string(length) +
                           " bytes (1 to " + std::to_string(kMaxNameBytes) +
                           " allowed)");
    std::string name(size_t(length) + 1, '\0');
    if (H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i,
                           name.data(), name.size(), H5P_DEFAULT) != length)
      return Status::error(path + ": unreadable entry name");
    name.resize(size_t(length));
    std::string childPath = joinPath(path, name);
    if (name.find('\0') != std::string::npos)
      return Status::error(path + ": an entry name holding a NUL byte");
    H5L_info_t link;
    if (H5Lget_info(group, name.c_str(), &link, H5P_DEFAULT) < 0)
      return Status::error(childPath + ": unreadable link");
    if (link.type != H5L_TYPE_HARD)
      return Status::error(childPath +
                           ": a soft or external link (NIR files hold "
                           "their groups and datasets directly)");
    Handle object(H5Oopen(group, name.c_str(), H5P_DEFAULT), H5Oclose);
    if (!object.valid())
      return Status::error(childPath + ": cannot be opened");
    Item child;
    child.name = name;
    H5I_type_t type = H5Iget_type(object);
    Status status;
    if (type == H5I_GROUP)
      status = readGroup(object, childPath, depth + 1, budget, child);
    else if (type == H5I_DATASET)
      status = readDataset(object, childPath, budget, child);
    else
      status =
          Status::error(childPath + ": neither a group nor a dataset (a named "
                                    "datatype?)");
    if (status)
      return status;
    item.children.push_back(std::move(child));
  }
  return {};
}

// The wire form: little-endian, a kind byte, the name, the dims, then the
// payload (a group: its child count and children).
void putU64(std::string &out, uint64_t value) {
  for (int i = 0; i < 8; ++i)
    out.push_back(char((value >> (8 * i)) & 0xff));
}
void putString(std::string &out, const std::string &s) {
  putU64(out, s.size());
  out += s;
}

void encodeItem(const Item &item, std::string &out) {
  out.push_back(char(item.kind));
  out.push_back(char(item.float32));
  putString(out, item.name);
  putU64(out, item.dims.size());
  for (int64_t d : item.dims)
    putU64(out, uint64_t(d));
  switch (item.kind) {
  case Item::Kind::Group:
    putU64(out, item.children.size());
    for (const Item &child : item.children)
      encodeItem(child, out);
    break;
  case Item::Kind::Float:
    for (double v : item.floats) {
      uint64_t bits;
      std::memcpy(&bits, &v, 8);
      putU64(out, bits);
    }
    break;
  case Item::Kind::Integer:
    for (int64_t v : item.integers)
      putU64(out, uint64_t(v));
    break;
  case Item::Kind::String:
    for (const std::string &s : item.strings)
      putString(out, s);
    break;
  }
}

class Decoder {
public:
  explicit Decoder(std::string_view bytes) : bytes(bytes) {}

  Status item(Item &out, int depth, Budget &budget) {
    if (depth > kMaxDepth + 1)
      return Status::error("the tree is nested too deeply");
    if (++budget.items > kMaxItems + 1)
      return Status::error("the tree has too many items");
    uint8_t kind, float32;
    if (!byte(kind) || !byte(float32) || kind > uint8_t(Item::Kind::String) ||
        float32 > 1)
      return truncated();
    out.kind = Item::Kind(kind);
    out.float32 = float32;
    uint64_t rank;
    if (!string(out.name, kMaxNameBytes) || !u64(rank) || rank > 8)
      return truncated();
    int64_t count = 1;
    for (uint64_t i = 0; i < rank; ++i) {
      uint64_t d;
      if (!u64(d) || d > uint64_t(kMaxElements))
        return truncated();
      out.dims.push_back(int64_t(d));
      if (d != 0 && count > kMaxElements / int64_t(d))
        return truncated();
      count *= int64_t(d);
    }
    if (out.kind != Item::Kind::Group) {
      if (budget.elements + count > kMaxTotalElements)
        return truncated();
      budget.elements += count;
    }
    switch (out.kind) {
    case Item::Kind::Group: {
      uint64_t children;
      if (rank != 0 || !u64(children) || children > remaining() / 18)
        return truncated();
      out.children.resize(children);
      for (Item &child : out.children)
        if (Status status = item(child, depth + 1, budget))
          return status;
      return {};
    }
    case Item::Kind::Float:
      if (uint64_t(count) > remaining() / 8)
        return truncated();
      out.floats.resize(count);
      for (double &v : out.floats) {
        uint64_t bits;
        u64(bits);
        std::memcpy(&v, &bits, 8);
      }
      return {};
    case Item::Kind::Integer:
      if (uint64_t(count) > remaining() / 8)
        return truncated();
      out.integers.resize(count);
      for (int64_t &v : out.integers) {
        uint64_t bits;
        u64(bits);
        v = int64_t(bits);
      }
      return {};
    case Item::Kind::String:
      if (uint64_t(count) > remaining() / 8)
        return truncated();
      out.strings.resize(count);
      for (std::string &s : out.strings)
        if (!string(s, kMaxStringBytes))
          return truncated();
      return {};
    }
    return truncated();
  }

  bool done() const { return offset == bytes.size(); }

private:
  static Status truncated() {
    return Status::error("the HDF5 reader's output is malformed");
  }
  uint64_t remaining() const { return bytes.size() - offset; }
  bool byte(uint8_t &out) {
    if (remaining() < 1)
      return false;
    out = uint8_t(bytes[offset++]);
    return true;
  }
  bool u64(uint64_t &out) {
    if (remaining() < 8)
      return false;
    out = 0;
    for (int i = 0; i < 8; ++i)
      out |= uint64_t(uint8_t(bytes[offset + i])) << (8 * i);
    offset += 8;
    return true;
  }
  bool string(std::string &out, size_t limit) {
    uint64_t length;
    if (!u64(length) || length > limit || length > remaining())
      return false;
    out.assign(bytes.data() + offset, length);
    offset += length;
    return true;
  }

  std::string_view bytes;
  size_t offset = 0;
};

Status checkInputFile(const std::string &path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return Status::error("cannot open NIR file '" + path +
                         "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return Status::error("NIR file '" + path + "' is not a regular file");
  if (st.st_size == 0)
    return Status::error("NIR file '" + path + "' is empty");
  return {};
}

/// Whether the file holds HDF5's signature where the library looks for it
/// (offset 0, 512, 1024, 2048, ...), checked before any child is started.
bool hasHdf5Signature(const std::string &path) {
  static const char signature[8] = {'\x89', 'H',  'D',    'F',
                                    '\r',   '\n', '\x1a', '\n'};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool found = false;
  for (off_t offset = 0; !found && offset < (off_t(1) << 40);
       offset = offset ? offset * 2 : 512) {
    char bytes[8];
    ssize_t n = ::pread(fd, bytes, 8, offset);
    if (n != 8)
      break;
    found = std::memcmp(bytes, signature, 8) == 0;
  }
  ::close(fd);
  return found;
}

bool writeAll(int fd, const std::string &bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    done += size_t(n);
  }
  return true;
}

// What a child may use: libhdf5 should need far less for a valid file.
constexpr rlim_t kChildCpuSeconds = 120;
constexpr rlim_t kChildAddressSpace = rlim_t(16) << 30;
constexpr int kChildWaitSeconds = 300;
constexpr size_t kMaxWireBytes = size_t(6) << 30;

[[noreturn]] void runChild(const std::string &path, int fd) {
  struct rlimit cpu = {kChildCpuSeconds, kChildCpuSeconds};
  setrlimit(RLIMIT_CPU, &cpu);
#ifndef FSNN_UNDER_ASAN
  struct rlimit memory = {kChildAddressSpace, kChildAddressSpace};
  setrlimit(RLIMIT_AS, &memory);
#endif
  struct rlimit core = {0, 0};
  setrlimit(RLIMIT_CORE, &core);
  Item root;
  Status status = readNirFileInProcess(path, root);
  bool written =
      writeAll(fd, status ? "E" + status.message() : "T" + encodeTree(root));
  _exit(written ? 0 : 3);
}

} // namespace

Status readNirFileInProcess(const std::string &path, Item &root) {
  if (Status status = checkInputFile(path))
    return status;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  htri_t isHdf5 = H5Fis_hdf5(path.c_str());
  if (isHdf5 <= 0)
    return Status::error("NIR file '" + path +
                         "' is not an HDF5 file (no HDF5 signature)");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid())
    return Status::error("NIR file '" + path +
                         "' is a damaged HDF5 file (cannot be opened)");
  Handle group(H5Gopen2(file, "/", H5P_DEFAULT), H5Gclose);
  if (!group.valid())
    return Status::error("NIR file '" + path + "': no root group");
  Budget budget;
  root = Item();
  root.name = "/";
  if (Status status = readGroup(group, "/", 0, budget, root))
    return Status::error("NIR file '" + path + "': " + status.message());
  return {};
}

std::string encodeTree(const Item &root) {
  std::string out;
  encodeItem(root, out);
  return out;
}

Status decodeTree(std::string_view bytes, Item &root) {
  Decoder decoder(bytes);
  Budget budget;
  root = Item();
  if (Status status = decoder.item(root, 0, budget))
    return status;
  if (!decoder.done() || !root.isGroup())
    return Status::error("the HDF5 reader's output is malformed");
  return {};
}

Status readNirFile(const std::string &path, Item &root) {
  if (Status status = checkInputFile(path))
    return status;
  if (!hasHdf5Signature(path))
    return Status::error("NIR file '" + path +
                         "' is not an HDF5 file (no HDF5 signature)");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return Status::error(std::string("cannot start the NIR reader: ") +
                         std::strerror(errno));
  pid_t child = ::fork();
  if (child < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return Status::error(std::string("cannot start the NIR reader: ") +
                         std::strerror(errno));
  }
  if (child == 0) {
    ::close(fds[0]);
    runChild(path, fds[1]);
  }
  ::close(fds[1]);
  std::string bytes;
  bool tooLarge = false, timedOut = false;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::seconds(kChildWaitSeconds);
  char buffer[1 << 16];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      timedOut = true;
      break;
    }
    struct pollfd poller = {fds[0], POLLIN, 0};
    int ready = ::poll(&poller, 1, int(std::min<long long>(left, 1000)));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready == 0)
      continue;
    ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (bytes.size() + size_t(n) > kMaxWireBytes) {
      tooLarge = true;
      break;
    }
    bytes.append(buffer, size_t(n));
  }
  ::close(fds[0]);
  if (timedOut || tooLarge)
    ::kill(child, SIGKILL);
  int wstatus = 0;
  while (::waitpid(child, &wstatus, 0) < 0 && errno == EINTR) {
  }
  std::string what = "NIR file '" + path + "': ";
  if (timedOut)
    return Status::error(what + "reading took longer than " +
                         std::to_string(kChildWaitSeconds) + " s; stopped");
  if (tooLarge)
    return Status::error(what + "holds more data than a NIR file may");
  if (WIFSIGNALED(wstatus))
    return Status::error(what + "the HDF5 library failed on this file (" +
                         (WTERMSIG(wstatus) == SIGXCPU
                              ? std::string("out of CPU time")
                          : WTERMSIG(wstatus) == SIGKILL
                              ? std::string("killed, out of memory?")
                              : "signal " + std::to_string(WTERMSIG(wstatus))) +
                         "); the file is damaged or hostile");
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0 || bytes.empty())
    return Status::error(what + "the HDF5 reader stopped without an answer "
                                "(out of memory?)");
  if (bytes[0] == 'E')
    return Status::error(bytes.substr(1, 1024));
  if (bytes[0] != 'T')
    return Status::error(what + "the HDF5 reader's output is malformed");
  if (Status status = decodeTree(std::string_view(bytes).substr(1), root))
    return Status::error(what + status.message());
  return {};
}

namespace {

Status writeItem(hid_t parent, const Item &item, const std::string &path) {
  std::string where = joinPath(path, item.name);
  if (item.isGroup()) {
    Handle group(H5Gcreate2(parent, item.name.c_str(), H5P_DEFAULT, H5P_DEFAULT,
                            H5P_DEFAULT),
                 H5Gclose);
    if (!group.valid())
      return Status::error("cannot create group " + where);
    for (const Item &child : item.children)
      if (Status status = writeItem(group, child, where))
        return status;
    return {};
  }
  std::vector<hsize_t> dims(item.dims.begin(), item.dims.end());
  Handle space(dims.empty()
                   ? H5Screate(H5S_SCALAR)
                   : H5Screate_simple(int(dims.size()), dims.data(), nullptr),
               H5Sclose);
  hid_t fileType = -1, memType = -1;
  Handle stringType(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(stringType, H5T_VARIABLE);
  H5Tset_cset(stringType, H5T_CSET_UTF8);
  const void *data = nullptr;
  std::vector<const char *> pointers;
  switch (item.kind) {
  case Item::Kind::Float:
    fileType = item.float32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE;
    memType = H5T_NATIVE_DOUBLE;
    data = item.floats.data();
    break;
  case Item::Kind::Integer:
    fileType = item.bytes ? H5T_STD_U8LE : H5T_STD_I64LE;
    memType = H5T_NATIVE_INT64;
    data = item.integers.data();
    break;
  default:
    for (const std::string &s : item.strings)
      pointers.push_back(s.c_str());
    fileType = memType = stringType;
    data = pointers.data();
    break;
  }
  Handle dataset(H5Dcreate2(parent, item.name.c_str(), fileType, space,
                            H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose);
  if (!dataset.valid() ||
      (item.elementCount() > 0 &&
       H5Dwrite(dataset, memType, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0))
    return Status::error("cannot write dataset " + where);
  return {};
}

} // namespace

Status writeNirFile(const Item &root, const std::string &path) {
  if (Status status = model::checkOutputPath(path))
    return status;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  // The file is built in memory (HDF5's core driver) and written with the
  // model library's atomic writer.
  Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (!access.valid() || H5Pset_fapl_core(access, 1 << 20, 0) < 0)
    return Status::error("cannot set up the HDF5 writer");
  std::string image;
  {
    Handle file(
        H5Fcreate("fsnn-nir-export.h5", H5F_ACC_TRUNC, H5P_DEFAULT, access),
        H5Fclose);
    if (!file.valid())
      return Status::error("cannot create an HDF5 file in memory");
    for (const Item &child : root.children)
      if (Status status = writeItem(file, child, "/"))
        return Status::error("writing NIR file '" + path +
                             "': " + status.message());
    if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0)
      return Status::error("cannot finish the HDF5 file");
    ssize_t size = H5Fget_file_image(file, nullptr, 0);
    if (size <= 0)
      return Status::error("cannot finish the HDF5 file");
    image.resize(size_t(size));
    if (H5Fget_file_image(file, image.data(), image.size()) != size)
      return Status::error("cannot finish the HDF5 file");
  }
  return model::writeFileAtomically(path, image);
}

} // namespace fsnn::nir
