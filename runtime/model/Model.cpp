//===- Model.cpp - reading and writing fsnn model files -------------------===//

#include "runtime/model/Model.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <signal.h>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace fsnn::model {

namespace {
bool isTextByte(unsigned char c) {
  return c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c != 0x7f);
}

/// Collects the first text-format parse error with its position.
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
public:
  void AddError(int line, int column, const std::string &message) override {
    if (error.empty())
      error = "line " + std::to_string(line + 1) + ", column " +
              std::to_string(column + 1) + ": " + message;
  }
  std::string error;
};
} // namespace

Format detectFormat(std::string_view bytes) {
  for (unsigned char c : bytes)
    if (!isTextByte(c))
      return Format::Binary;
  // Skip whitespace and '#' comments; text format starts with a field name.
  size_t i = 0;
  while (i < bytes.size()) {
    if (std::isspace(static_cast<unsigned char>(bytes[i]))) {
      ++i;
    } else if (bytes[i] == '#') {
      while (i < bytes.size() && bytes[i] != '\n')
        ++i;
    } else {
      break;
    }
  }
  if (i == bytes.size())
    return Format::Text; // Empty or only comments: an empty text message.
  unsigned char first = bytes[i];
  return std::isalpha(first) || first == '_' ? Format::Text : Format::Binary;
}

Format formatForPath(const std::string &path) {
  const std::string suffix = ".txt";
  if (path.size() >= suffix.size() &&
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0)
    return Format::Text;
  return Format::Binary;
}

Status parseModel(std::string_view bytes, const std::string &source,
                  ModelProto &model, Format *detected) {
  // Protobuf logs parse problems (such as invalid UTF-8 in a name) to stderr
  // by itself; the caller reports the failure as one line instead.
  static std::once_flag silenced;
  std::call_once(silenced, [] { google::protobuf::SetLogHandler(nullptr); });
  model.Clear();
  if (bytes.size() > kMaxFileBytes)
    return Status::error(source + ": file of " + std::to_string(bytes.size()) +
                         " bytes exceeds the 2 GiB limit of the format");
  Format format = detectFormat(bytes);
  if (detected)
    *detected = format;
  if (format == Format::Binary) {
    if (bytes.empty() ||
        !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
      return Status::error(source +
                           ": not a valid fsnn model (truncated or corrupt "
                           "binary protobuf)");
    return Status();
  }
  google::protobuf::TextFormat::Parser parser;
  FirstErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  // Text nesting is unbounded otherwise, and the parser recurses on the
  // stack: a few KB of nested braces would overflow it. Binary parsing has
  // the same limit built in.
  parser.SetRecursionLimit(kMaxMessageNesting);
  std::string text(bytes);
  if (!parser.ParseFromString(text, &model)) {
    std::string message = source + ": invalid text model: " +
                          (errors.error.empty() ? "parse error" : errors.error);
    size_t first = bytes.find_first_not_of(" \t\r\n");
    std::string_view start =
        first == std::string_view::npos ? "" : bytes.substr(first);
    if (start.rfind("module", 0) == 0 || start.rfind("func.func", 0) == 0 ||
        start.rfind("#loc", 0) == 0)
      message += " (this looks like MLIR: give it a .mlir name for "
                 "fsnn-compile, or turn it into a model file with "
                 "fsnn-translate --export)";
    return Status::error(message);
  }
  return Status();
}

Status loadModel(const std::string &path, ModelProto &model, Format *detected) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::error(path +
                         ": cannot open model file: " + std::strerror(errno));
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0)
    return Status::error(path + ": cannot determine the file size");
  if (static_cast<uint64_t>(size) > kMaxFileBytes)
    return Status::error(path + ": file of " + std::to_string(size) +
                         " bytes exceeds the 2 GiB limit of the format");
  in.seekg(0, std::ios::beg);
  std::string bytes(static_cast<size_t>(size), '\0');
  if (size > 0 && !in.read(bytes.data(), size))
    return Status::error(path + ": cannot read the model file");
  return parseModel(bytes, path, model, detected);
}

Status serializeModel(const ModelProto &model, Format format,
                      std::string &bytes) {
  bytes.clear();
  if (format == Format::Binary) {
    if (model.ByteSizeLong() > kMaxFileBytes)
      return Status::error("the model is larger than the 2 GiB limit of the "
                           "binary format");
    if (!model.SerializeToString(&bytes))
      return Status::error("cannot serialize the model");
    return Status();
  }
  google::protobuf::TextFormat::Printer printer;
  if (!printer.PrintToString(model, &bytes))
    return Status::error("cannot print the model as text");
  return Status();
}

Status checkOutputPath(const std::string &path) {
  struct stat status;
  if (lstat(path.c_str(), &status) != 0)
    return errno == ENOENT
               ? Status()
               : Status::error(path +
                               ": cannot inspect: " + std::strerror(errno));
  if (S_ISREG(status.st_mode))
    return Status();
  const char *kind = S_ISLNK(status.st_mode)    ? "a symbolic link"
                     : S_ISFIFO(status.st_mode) ? "a FIFO"
                     : S_ISCHR(status.st_mode)  ? "a character device"
                     : S_ISBLK(status.st_mode)  ? "a block device"
                     : S_ISDIR(status.st_mode)  ? "a directory"
                     : S_ISSOCK(status.st_mode) ? "a socket"
                                                : "not a regular file";
  return Status::error(path + " is " + kind +
                       "; fsnn writes its outputs as regular files, replaced "
                       "atomically, and does not write through links or "
                       "into devices (give a file path)");
}

namespace {
/// Removes `<name>.tmp.<pid>.*` files in `directory` that a process which
/// no longer exists left behind (killed while writing `<name>`).
void removeStaleTemporaries(const std::string &directory,
                            const std::string &name) {
  DIR *dir = opendir(directory.c_str());
  if (!dir)
    return;
  std::string prefix = name + ".tmp.";
  while (dirent *entry = readdir(dir)) {
    std::string file = entry->d_name;
    if (file.compare(0, prefix.size(), prefix) != 0)
      continue;
    char *end = nullptr;
    long pid = std::strtol(file.c_str() + prefix.size(), &end, 10);
    if (pid <= 0 || !end || *end != '.' || pid == long(getpid()))
      continue;
    if (kill(pid_t(pid), 0) != 0 && errno == ESRCH)
      unlink((directory + "/" + file).c_str());
  }
  closedir(dir);
}
} // namespace

Status writeFileAtomically(const std::string &path, std::string_view bytes) {
  std::string directory = ".";
  size_t slash = path.rfind('/');
  if (slash != std::string::npos)
    directory = slash == 0 ? "/" : path.substr(0, slash);
  if (Status status = checkOutputPath(path))
    return status;
  removeStaleTemporaries(
      directory, slash == std::string::npos ? path : path.substr(slash + 1));
  // The writer's pid in the name tells a later run whether it is stale.
  std::string pattern =
      path + ".tmp." + std::to_string(long(getpid())) + ".XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  int fd = mkstemp(name.data());
  if (fd < 0)
    return Status::error(path + ": cannot create a temporary file in '" +
                         directory + "': " + std::strerror(errno));
  auto failAndClean = [&](const std::string &what) {
    int saved = errno;
    close(fd);
    unlink(name.data());
    return Status::error(path + ": " + what + ": " + std::strerror(saved));
  };
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return failAndClean("cannot write");
    }
    written += static_cast<size_t>(n);
  }
  // mkstemp creates 0600; a model file is an ordinary file.
  if (fchmod(fd, 0644) != 0)
    return failAndClean("cannot set permissions");
  if (fsync(fd) != 0)
    return failAndClean("cannot flush to disk");
  if (close(fd) != 0) {
    int saved = errno;
    unlink(name.data());
    return Status::error(path + ": cannot close: " + std::strerror(saved));
  }
  if (rename(name.data(), path.c_str()) != 0) {
    int saved = errno;
    unlink(name.data());
    return Status::error(path +
                         ": cannot replace the file: " + std::strerror(saved));
  }
  int dirfd = open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (dirfd >= 0) {
    fsync(dirfd);
    close(dirfd);
  }
  return Status();
}

Status saveModel(const ModelProto &model, const std::string &path,
                 Format format) {
  std::string bytes;
  if (Status status = serializeModel(model, format, bytes))
    return Status::error(path + ": " + status.message());
  return writeFileAtomically(path, bytes);
}

Status saveModel(const ModelProto &model, const std::string &path) {
  return saveModel(model, path, formatForPath(path));
}

void setTensorValues(TensorProto &tensor, const std::vector<double> &values) {
  tensor.clear_values();
  std::string *raw = tensor.mutable_raw_data();
  if (tensor.dtype() == TensorProto::FLOAT64) {
    raw->resize(values.size() * 8);
    std::memcpy(raw->data(), values.data(), raw->size());
  } else {
    std::vector<float> narrow(values.begin(), values.end());
    raw->resize(narrow.size() * 4);
    std::memcpy(raw->data(), narrow.data(), raw->size());
  }
}

std::vector<double> tensorValues(const TensorProto &tensor) {
  if (tensor.values_size() > 0)
    return {tensor.values().begin(), tensor.values().end()};
  const std::string &raw = tensor.raw_data();
  std::vector<double> values;
  // The format is little-endian, as is every machine fsnn runs on.
  if (tensor.dtype() == TensorProto::FLOAT64) {
    values.resize(raw.size() / 8);
    std::memcpy(values.data(), raw.data(), values.size() * 8);
  } else if (tensor.dtype() == TensorProto::FLOAT32) {
    std::vector<float> narrow(raw.size() / 4);
    std::memcpy(narrow.data(), raw.data(), narrow.size() * 4);
    values.assign(narrow.begin(), narrow.end());
  }
  return values;
}

static void sortAttributes(GraphProto &graph) {
  for (NodeProto &node : *graph.mutable_nodes()) {
    std::vector<AttributeProto> sorted(node.attributes().begin(),
                                       node.attributes().end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const AttributeProto &a, const AttributeProto &b) {
                       return a.name() < b.name();
                     });
    node.clear_attributes();
    for (AttributeProto &attribute : sorted)
      *node.add_attributes() = std::move(attribute);
    for (AttributeProto &attribute : *node.mutable_attributes())
      if (attribute.has_graphs()) // mutable_graphs() would reset the oneof
        for (GraphProto &subgraph :
             *attribute.mutable_graphs()->mutable_values())
          sortAttributes(subgraph);
  }
}

uint64_t modelStructureHash(const ModelProto &model) {
  ModelProto structure = model;
  structure.clear_training();
  structure.clear_doc_string();
  structure.clear_producer();
  for (TensorProto &tensor :
       *structure.mutable_graph()->mutable_initializers()) {
    tensor.clear_raw_data();
    tensor.clear_values();
  }
  // Attributes are looked up by name, so their order is not structure: a
  // file whose attributes a tool wrote in another order is the same model.
  sortAttributes(*structure.mutable_graph());
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    structure.SerializeToCodedStream(&coded);
  }
  // FNV-1a, 64 bits.
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

int64_t product(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

TensorProto *addInitializer(GraphProto &graph, const std::string &name,
                            const std::vector<int64_t> &dims,
                            TensorProto::DataType dtype,
                            const std::vector<double> &values) {
  TensorProto *tensor = graph.add_initializers();
  tensor->set_name(name);
  for (int64_t d : dims)
    tensor->add_dims(d);
  tensor->set_dtype(dtype);
  setTensorValues(*tensor, values);
  return tensor;
}

void setValueInfo(ValueInfoProto &info, const std::string &name,
                  const std::vector<int64_t> &shape,
                  TensorProto::DataType dtype) {
  info.set_name(name);
  for (int64_t d : shape)
    info.add_shape(d);
  info.set_dtype(dtype);
}

const NodeProto *findFeedbackNode(const ModelProto &model) {
  for (const NodeProto &node : model.graph().nodes())
    if (node.op_type() == "SpikingFeedback")
      return &node;
  return nullptr;
}

std::vector<const GraphProto *> layerGraphs(const NodeProto &feedback) {
  std::vector<const GraphProto *> maps;
  if (const AttributeProto *layers = findAttribute(feedback, "layers"))
    for (const GraphProto &map : layers->graphs().values())
      maps.push_back(&map);
  return maps;
}

const AttributeProto *findAttribute(const NodeProto &node,
                                    const std::string &name) {
  for (const AttributeProto &attr : node.attributes())
    if (attr.name() == name)
      return &attr;
  return nullptr;
}

size_t elementSize(TensorProto::DataType dtype) {
  switch (dtype) {
  case TensorProto::FLOAT32:
  case TensorProto::INT32:
    return 4;
  case TensorProto::FLOAT64:
    return 8;
  case TensorProto::INT8:
    return 1;
  default:
    return 0;
  }
}

const char *dtypeName(TensorProto::DataType dtype) {
  switch (dtype) {
  case TensorProto::FLOAT32:
    return "float32";
  case TensorProto::FLOAT64:
    return "float64";
  case TensorProto::INT8:
    return "int8";
  case TensorProto::INT32:
    return "int32";
  case TensorProto::UNDEFINED:
    return "undefined";
  default:
    return "unknown";
  }
}

} // namespace fsnn::model
