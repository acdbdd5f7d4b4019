//===- Model.h - reading and writing fsnn model files -----------*- C++ -*-===//
//
// The model-format library sits on the runtime side of the wall: it uses
// protobuf and the standard library only, never LLVM or MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_RUNTIME_MODEL_MODEL_H
#define FSNN_RUNTIME_MODEL_MODEL_H

#include "runtime/model/fsnn.pb.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fsnn::model {

/// The schema version this library writes and the newest it reads.
constexpr int64_t kFormatVersion = 1;
/// How deeply messages may nest in a model file: protobuf's own limit for
/// binary input, and the one set for text. Valid models nest about 12 deep
/// (a node's attribute holding a map's nodes).
constexpr int kMaxMessageNesting = 100;

/// Files larger than this are refused before they are read (protobuf cannot
/// parse messages of 2 GiB or more anyway).
constexpr uint64_t kMaxFileBytes = (uint64_t(1) << 31) - 1;

/// The outcome of an operation: empty on success, else a one-line message
/// that names what is wrong.
class Status {
public:
  Status() = default;
  static Status error(std::string message) {
    return Status(std::move(message));
  }
  bool ok() const { return message_.empty(); }
  explicit operator bool() const { return !ok(); }
  const std::string &message() const { return message_; }

private:
  explicit Status(std::string message) : message_(std::move(message)) {
    if (message_.empty())
      message_ = "unknown error";
  }
  std::string message_;
};

enum class Format { Binary, Text };

/// The format a file's bytes are in: text when they are printable and start
/// (after whitespace and comments) with a field name; binary otherwise.
Format detectFormat(std::string_view bytes);

/// The format to write for a path: text for ".txt" names, else binary.
Format formatForPath(const std::string &path);

/// Parses a model from bytes in either format. `source` names the input in
/// messages. Does not validate the model; see validateModel.
Status parseModel(std::string_view bytes, const std::string &source,
                  ModelProto &model, Format *detected = nullptr);

/// Reads and parses a model file.
Status loadModel(const std::string &path, ModelProto &model,
                 Format *detected = nullptr);

/// Serializes a model in `format`.
Status serializeModel(const ModelProto &model, Format format,
                      std::string &bytes);

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, fsync, rename over `path`, fsync of the directory. A crash
/// leaves either the old file or the new one, never a torn one.
Status writeFileAtomically(const std::string &path, std::string_view bytes);

/// Whether `path` may be written as an output: it does not exist, or it is
/// a regular file. Symbolic links, FIFOs, devices, directories and sockets
/// are refused with a message naming what the path is (writing through them
/// in place would be neither atomic nor what was asked; replacing them
/// would destroy them). writeFileAtomically checks this first.
Status checkOutputPath(const std::string &path);

/// Serializes and atomically writes a model; the format follows the path
/// unless given.
Status saveModel(const ModelProto &model, const std::string &path);
Status saveModel(const ModelProto &model, const std::string &path,
                 Format format);

/// The elements of a validated float tensor as doubles, from raw_data or
/// values.
std::vector<double> tensorValues(const TensorProto &tensor);

/// Replaces a float tensor's elements, stored as raw_data in its dtype
/// (float32 or float64); the dims are the caller's to keep consistent.
void setTensorValues(TensorProto &tensor, const std::vector<double> &values);

/// Appends an initializer `name` of `dims` and `dtype` holding `values`.
TensorProto *addInitializer(GraphProto &graph, const std::string &name,
                            const std::vector<int64_t> &dims,
                            TensorProto::DataType dtype,
                            const std::vector<double> &values);

/// Fills a graph input or output: name, per-sample shape, dtype.
void setValueInfo(ValueInfoProto &info, const std::string &name,
                  const std::vector<int64_t> &shape,
                  TensorProto::DataType dtype);

/// A hash of the model's structure: everything but the initializers' values
/// and the training state. A compiled library records it; a model file with
/// other weights (a checkpoint of the same model) has the same hash.
uint64_t modelStructureHash(const ModelProto &model);

/// The attribute `name` of `node`, or null.
const AttributeProto *findAttribute(const NodeProto &node,
                                    const std::string &name);

/// The number of elements of a tensor of `shape` (1 for a scalar).
int64_t product(const std::vector<int64_t> &shape);

/// The model's SpikingFeedback node, or null.
const NodeProto *findFeedbackNode(const ModelProto &model);

/// The layer maps of a SpikingFeedback node, in order.
std::vector<const GraphProto *> layerGraphs(const NodeProto &feedback);

/// Bytes per element of a dtype (0 for UNDEFINED).
size_t elementSize(TensorProto::DataType dtype);

/// The dtype's name in messages and docs ("float32", ...).
const char *dtypeName(TensorProto::DataType dtype);

} // namespace fsnn::model

#endif // FSNN_RUNTIME_MODEL_MODEL_H
