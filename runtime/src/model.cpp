//===- model.cpp - loading and running compiled fsnn models ---------------===//

#include "fsnnrt/model.h"
#include "elf_check.h"
#include "memref_descriptor.h"
#include "status_internal.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

using fsnnrt::Descriptor;

namespace {

struct Tensor {
  std::string name;
  fsnn_dtype dtype = FSNN_F32;
  std::vector<int64_t> dims;
  int64_t elements() const {
    int64_t n = 1;
    for (int64_t d : dims)
      n *= d;
    return n;
  }
  /// Bytes per sample (dims[0] is the batch).
  size_t sampleBytes() const {
    size_t element = dtype == FSNN_F64 || dtype == FSNN_I64 ? 8 : 4;
    return size_t(elements() / dims[0]) * element;
  }
  fsnn_tensor_info info() const {
    return {name.c_str(), dtype, int32_t(dims.size()), dims.data()};
  }
};

bool parseDtype(const std::string &text, fsnn_dtype &dtype) {
  if (text == "f32")
    dtype = FSNN_F32;
  else if (text == "f64")
    dtype = FSNN_F64;
  else if (text == "i32")
    dtype = FSNN_I32;
  else if (text == "i64")
    dtype = FSNN_I64;
  else
    return false;
  return true;
}

} // namespace

struct fsnn_model {
  void *library = nullptr;
  void (*entry)(void **) = nullptr;
  uint64_t hash = 0;
  std::string function;
  int64_t batch = 0;
  Tensor input;
  /// Every input; inference libraries have one, training steps two (the
  /// images and the labels).
  std::vector<Tensor> inputs;
  std::vector<Tensor> parameters, outputs;
  bool seed = false;
  bool training = false;
  /// "cpu" or "cuda" (descriptor `target`); a CUDA model carries the mgpu*
  /// wrappers, which report driver and launch errors here.
  std::string target = "cpu";
  const char *(*cudaError)() = nullptr;
  ~fsnn_model() {
    if (library)
      dlclose(library);
  }
};

namespace {
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
} // namespace

namespace {
fsnn_status openModel(const char *path, fsnn_model **model) {
  *model = nullptr;
  auto m = std::make_unique<fsnn_model>();
  // A name without a slash would make dlopen search the library path; a
  // model is always a file path.
  std::string file = std::strchr(path, '/') ? path : std::string("./") + path;
  if (::access(file.c_str(), F_OK) != 0)
    return fsnnrt::fail(FSNN_NOT_FOUND, "cannot load compiled model: " + file +
                                            ": " + std::strerror(errno));
  // dlopen maps what the headers say; a torn file would fault (SIGBUS)
  // inside it.
  std::string elfError;
  if (!fsnnrt::checkSharedObject(file, elfError))
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT,
                        std::string(path) +
                            ": not a loadable compiled model: " + elfError);
  m->library = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!m->library)
    return fsnnrt::fail(FSNN_NOT_FOUND,
                        std::string("cannot load compiled model: ") +
                            dlerror());
  auto version = reinterpret_cast<uint32_t (*)()>(
      dlsym(m->library, "fsnn_model_abi_version"));
  auto descriptor = reinterpret_cast<const char *(*)()>(
      dlsym(m->library, "fsnn_model_descriptor"));
  m->entry = reinterpret_cast<void (*)(void **)>(
      dlsym(m->library, "fsnn_model_entry"));
  if (!version || !descriptor || !m->entry)
    return fsnnrt::fail(FSNN_NOT_FOUND,
                        std::string(path) +
                            ": not an fsnn compiled model (missing symbol " +
                            (!version      ? "fsnn_model_abi_version"
                             : !descriptor ? "fsnn_model_descriptor"
                                           : "fsnn_model_entry") +
                            ")");
  if (version() != FSNN_MODEL_ABI_VERSION)
    return fsnnrt::fail(FSNN_ABI_MISMATCH,
                        std::string(path) + ": compiled for model ABI " +
                            std::to_string(version()) + ", this runtime " +
                            "runs ABI " +
                            std::to_string(FSNN_MODEL_ABI_VERSION) +
                            "; recompile it with this fsnn-compile");
  if (fsnn_status status = parseDescriptor(descriptor(), *m))
    return status;
  if (m->target == "cuda") {
    auto init =
        reinterpret_cast<int (*)()>(dlsym(m->library, "fsnn_cuda_model_init"));
    m->cudaError = reinterpret_cast<const char *(*)()>(
        dlsym(m->library, "fsnn_cuda_model_error"));
    if (!init || !m->cudaError)
      return fsnnrt::fail(FSNN_NOT_FOUND,
                          std::string(path) +
                              ": a CUDA model without the CUDA wrappers "
                              "(fsnn_cuda_model_init/error)");
    // The library loaded its kernels when it was opened; a missing driver
    // or device, or kernels the device cannot run, show up here.
    if (!init() || m->cudaError())
      return fsnnrt::fail(FSNN_UNAVAILABLE,
                          std::string(path) +
                              " is a CUDA model: " + m->cudaError());
  }
  *model = m.release();
  return FSNN_OK;
}
} // namespace

extern "C" fsnn_status fsnn_model_open(const char *path, fsnn_model **model) {
  if (!path || !model)
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT, "model_open: null argument");
  *model = nullptr;
  return fsnnrt::guarded("model_open", [&] { return openModel(path, model); });
}

extern "C" void fsnn_model_close(fsnn_model *model) { delete model; }
extern "C" uint64_t fsnn_model_hash(const fsnn_model *m) { return m->hash; }
extern "C" int64_t fsnn_model_batch(const fsnn_model *m) { return m->batch; }
extern "C" int32_t fsnn_model_num_parameters(const fsnn_model *m) {
  return int32_t(m->parameters.size());
}
extern "C" int32_t fsnn_model_num_outputs(const fsnn_model *m) {
  return int32_t(m->outputs.size());
}
extern "C" fsnn_tensor_info fsnn_model_input(const fsnn_model *m) {
  return m->input.info();
}
extern "C" const char *fsnn_model_target(const fsnn_model *m) {
  return m->target.c_str();
}
extern "C" int32_t fsnn_model_is_training(const fsnn_model *m) {
  return m->training ? 1 : 0;
}
extern "C" int32_t fsnn_model_num_inputs(const fsnn_model *m) {
  return int32_t(m->inputs.size());
}
namespace {
/// Element `i` of `tensors`, or, for an index out of range, a tensor with
/// a null name and rank -1 (and the last error says why): nothing here
/// throws across the C API.
fsnn_tensor_info tensorAt(const std::vector<Tensor> &tensors, int32_t i,
                          const char *what) {
  if (i < 0 || size_t(i) >= tensors.size()) {
    fsnnrt::setLastError(std::string(what) + " " + std::to_string(i) +
                         " is out of range: the model has " +
                         std::to_string(tensors.size()));
    return {nullptr, FSNN_F32, -1, nullptr};
  }
  return tensors[size_t(i)].info();
}
} // namespace

extern "C" fsnn_tensor_info fsnn_model_input_at(const fsnn_model *m,
                                                int32_t i) {
  return tensorAt(m->inputs, i, "input");
}
extern "C" fsnn_tensor_info fsnn_model_parameter(const fsnn_model *m,
                                                 int32_t i) {
  return tensorAt(m->parameters, i, "parameter");
}
extern "C" fsnn_tensor_info fsnn_model_output(const fsnn_model *m, int32_t i) {
  return tensorAt(m->outputs, i, "output");
}

namespace {
/// One call of the compiled function; a CUDA model's wrappers' error, if
/// any, becomes the status. CUDA calls from several threads run
/// concurrently: each call makes its own stream, so one chunk's copies
/// overlap another's kernels.
fsnn_status callEntry(fsnn_model &m, void **args) {
  m.entry(args);
  if (!m.cudaError)
    return FSNN_OK;
  if (const char *error = m.cudaError())
    return fsnnrt::fail(FSNN_INTERNAL,
                        std::string("model run on the GPU: ") + error);
  return FSNN_OK;
}
} // namespace

namespace {
struct RunState {
  fsnn_model *model;
  const char *input;
  const void *const *parameters;
  int64_t seed;
  char *const *outputs;
  int64_t batch;
};

/// Runs the chunks [range.begin, range.end) of the compiled batch size.
fsnn_status runChunksUnguarded(fsnn_batch_range range, void *user);

/// On a worker thread, where an exception would end the process.
fsnn_status runChunks(fsnn_batch_range range, void *user) {
  return fsnnrt::guarded("model_run",
                         [&] { return runChunksUnguarded(range, user); });
}

fsnn_status runChunksUnguarded(fsnn_batch_range range, void *user) {
  RunState &s = *static_cast<RunState *>(user);
  fsnn_model &m = *s.model;
  const int64_t B = m.batch;
  std::vector<char> paddedInput;
  std::vector<std::vector<char>> paddedOutputs(m.outputs.size());
  for (int64_t chunk = range.begin; chunk < range.end; ++chunk) {
    int64_t first = chunk * B;
    int64_t count = std::min(B, s.batch - first);
    bool partial = count < B;
    const char *input = s.input + first * m.input.sampleBytes();
    if (partial) {
      paddedInput.assign(B * m.input.sampleBytes(), 0);
      std::memcpy(paddedInput.data(), input, count * m.input.sampleBytes());
      input = paddedInput.data();
    }
    std::vector<char *> outputs(m.outputs.size());
    for (size_t o = 0; o < m.outputs.size(); ++o) {
      outputs[o] = s.outputs[o] + first * m.outputs[o].sampleBytes();
      if (partial) {
        paddedOutputs[o].assign(B * m.outputs[o].sampleBytes(), 0);
        outputs[o] = paddedOutputs[o].data();
      }
    }
    std::vector<Descriptor> descriptors;
    descriptors.reserve(2 + m.parameters.size() + m.outputs.size());
    descriptors.emplace_back(input, m.input.dims);
    for (size_t p = 0; p < m.parameters.size(); ++p)
      descriptors.emplace_back(s.parameters[p], m.parameters[p].dims);
    std::vector<void *> args;
    for (size_t i = 0; i < descriptors.size(); ++i)
      args.push_back(descriptors[i].words.data());
    int64_t seed = s.seed;
    if (m.seed)
      args.push_back(&seed);
    std::vector<Descriptor> outputDescriptors;
    outputDescriptors.reserve(m.outputs.size());
    for (size_t o = 0; o < m.outputs.size(); ++o) {
      outputDescriptors.emplace_back(outputs[o], m.outputs[o].dims);
      args.push_back(outputDescriptors.back().words.data());
    }
    if (fsnn_status status = callEntry(m, args.data()))
      return status;
    if (partial)
      for (size_t o = 0; o < m.outputs.size(); ++o)
        std::memcpy(s.outputs[o] + first * m.outputs[o].sampleBytes(),
                    outputs[o], count * m.outputs[o].sampleBytes());
  }
  return FSNN_OK;
}
} // namespace

namespace {
fsnn_status callModel(fsnn_model &m, const void *const *inputs,
                      const void *const *parameters, int64_t seed,
                      void *const *outputs) {
  std::vector<Descriptor> descriptors;
  descriptors.reserve(m.inputs.size() + m.parameters.size() + m.outputs.size());
  std::vector<void *> args;
  for (size_t i = 0; i < m.inputs.size(); ++i) {
    descriptors.emplace_back(inputs[i], m.inputs[i].dims);
    args.push_back(descriptors.back().words.data());
  }
  for (size_t p = 0; p < m.parameters.size(); ++p) {
    descriptors.emplace_back(parameters[p], m.parameters[p].dims);
    args.push_back(descriptors.back().words.data());
  }
  if (m.seed)
    args.push_back(&seed);
  for (size_t o = 0; o < m.outputs.size(); ++o) {
    descriptors.emplace_back(outputs[o], m.outputs[o].dims);
    args.push_back(descriptors.back().words.data());
  }
  return callEntry(m, args.data());
}
} // namespace

extern "C" fsnn_status fsnn_model_call(fsnn_model *model,
                                       const void *const *inputs,
                                       const void *const *parameters,
                                       int64_t seed, void *const *outputs) {
  if (!model || !inputs || !outputs ||
      (!parameters && !model->parameters.empty()))
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT, "model_call: null argument");
  return fsnnrt::guarded("model_call", [&] {
    return callModel(*model, inputs, parameters, seed, outputs);
  });
}

extern "C" fsnn_status fsnn_model_run(fsnn_model *model, const void *input,
                                      const void *const *parameters,
                                      int64_t seed, void *const *outputs,
                                      int64_t batch, int32_t threads) {
  if (!model || !input || !outputs ||
      (!parameters && !model->parameters.empty()))
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT, "model_run: null argument");
  if (batch < 1)
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT,
                        "model_run: batch must be >= 1, got " +
                            std::to_string(batch));
  if (model->training)
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT,
                        "model_run: this library is a training step "
                        "(fsnn-compile --train); it runs one compiled batch "
                        "per fsnn_model_call");
  RunState state{model, static_cast<const char *>(input),         parameters,
                 seed,  reinterpret_cast<char *const *>(outputs), batch};
  int64_t chunks = (batch + model->batch - 1) / model->batch;
  return fsnn_parallel_batch(chunks, threads < 1 ? 1 : threads, runChunks,
                             &state);
}
