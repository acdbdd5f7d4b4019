//===- descriptor.cpp - the descriptor of a compiled model ----------------===//

#include "runtime/src/model_internal.h"
#include "runtime/src/status_internal.h"

#include <cstring>
#include <set>
#include <sstream>

namespace fsnnrt {
/// Bounds on what a descriptor may declare, so that nothing it says makes
/// the runtime or its caller allocate without limit (the same bounds as a
/// model file's: runtime/model/Validate.h).
constexpr int64_t kMaxDescriptorDimension = int64_t(1) << 24;
constexpr int64_t kMaxDescriptorElements = int64_t(1) << 40;
constexpr size_t kMaxDescriptorBytes = size_t(1) << 20;

fsnn_status parseDescriptor(const char *text, fsnn_model &m) {
  size_t length = strnlen(text, kMaxDescriptorBytes + 1);
  if (length > kMaxDescriptorBytes)
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT,
                        "the model descriptor is longer than " +
                            std::to_string(kMaxDescriptorBytes) + " bytes");
  std::istringstream in(std::string(text, length));
  std::string line;
  bool sawInput = false;
  int lineNumber = 0;
  std::set<std::string> seen;
  while (std::getline(in, line)) {
    ++lineNumber;
    std::istringstream words(line);
    std::string key;
    if (!(words >> key))
      continue;
    auto bad = [&](const std::string &why) {
      return fsnnrt::fail(FSNN_INVALID_ARGUMENT,
                          "model descriptor line " +
                              std::to_string(lineNumber) + ": " + why + ": '" +
                              line + "'");
    };
    bool repeatable = key == "input" || key == "param" || key == "output";
    if (!repeatable && !seen.insert(key).second)
      return bad("'" + key + "' given twice");
    if (key == "fsnn-model-abi") {
      unsigned version = 0;
      if (!(words >> version) || version != FSNN_MODEL_ABI_VERSION)
        return fsnnrt::fail(FSNN_ABI_MISMATCH,
                            "the library's descriptor is for ABI " +
                                std::to_string(version) + ", this runtime " +
                                "reads ABI " +
                                std::to_string(FSNN_MODEL_ABI_VERSION));
    } else if (key == "hash") {
      std::string hex;
      if (!(words >> hex) || hex.size() != 16 ||
          hex.find_first_not_of("0123456789abcdef") != std::string::npos)
        return bad("expected 16 hex digits");
      m.hash = std::strtoull(hex.c_str(), nullptr, 16);
    } else if (key == "function") {
      words >> m.function;
    } else if (key == "batch") {
      if (!(words >> m.batch) || m.batch < 1 ||
          m.batch > kMaxDescriptorDimension)
        return bad("expected a batch in [1, " +
                   std::to_string(kMaxDescriptorDimension) + "]");
    } else if (key == "seed") {
      m.seed = true;
    } else if (key == "target") {
      if (!(words >> m.target) || (m.target != "cpu" && m.target != "cuda"))
        return bad("expected 'cpu' or 'cuda'");
    } else if (key == "kind") {
      std::string kind;
      if (!(words >> kind) || (kind != "training" && kind != "inference"))
        return bad("expected 'inference' or 'training'");
      m.training = kind == "training";
    } else if (key == "input" || key == "param" || key == "output") {
      Tensor t;
      std::string dtype;
      if (!(words >> t.name >> dtype) || !parseDtype(dtype, t.dtype))
        return bad("expected a name and f32, f64, i32 or i64");
      int64_t d, elements = 1;
      while (words >> d) {
        if (d < 1 || d > kMaxDescriptorDimension)
          return bad("dimensions must be in [1, " +
                     std::to_string(kMaxDescriptorDimension) + "]");
        if (elements > kMaxDescriptorElements / d || t.dims.size() >= 8)
          return bad("a tensor larger than the runtime accepts");
        elements *= d;
        t.dims.push_back(d);
      }
      if (!words.eof())
        return bad("dimensions must be integers");
      if (key == "input") {
        if (t.dims.empty())
          return bad("the input needs a batch dimension");
        if (!sawInput)
          m.input = t;
        m.inputs.push_back(t);
        sawInput = true;
      } else if (key == "param") {
        m.parameters.push_back(t);
      } else {
        // A training step's outputs include the loss and parameter-shaped
        // gradients; an inference output is per sample.
        if (t.dims.empty() && !m.training)
          return bad("an output needs a batch dimension");
        m.outputs.push_back(t);
      }
    } else {
      return bad("unknown key");
    }
  }
  if (!sawInput || m.outputs.empty() || m.batch < 1)
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT,
                        "the model descriptor lacks the input, the outputs "
                        "or the batch");
  if (!m.training && m.inputs.size() != 1)
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT,
                        "an inference model descriptor has one input, this "
                        "one has " +
                            std::to_string(m.inputs.size()));
  return FSNN_OK;
}
} // namespace fsnnrt
