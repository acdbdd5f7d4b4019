//===- model.cpp - loading and running compiled fsnn models ---------------===//

#include "fsnnrt/model.h"
#include "runtime/src/elf_check.h"
#include "runtime/src/memref_descriptor.h"
#include "runtime/src/model_internal.h"
#include "runtime/src/status_internal.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

using fsnnrt::Descriptor;
using fsnnrt::Tensor;

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
  if (fsnn_status status = fsnnrt::parseDescriptor(descriptor(), *m))
    return status;
  // Found in the library's own dependencies (libomp) when it has them.
  m->setOpenMPThreads =
      reinterpret_cast<void (*)(int)>(dlsym(m->library, "omp_set_num_threads"));
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
    // The OpenMP setting belongs to the calling thread: set it for this call.
    if (model->setOpenMPThreads && model->threads > 0)
      model->setOpenMPThreads(model->threads);
    return callModel(*model, inputs, parameters, seed, outputs);
  });
}

extern "C" fsnn_status fsnn_model_set_threads(fsnn_model *model,
                                              int32_t threads) {
  if (!model)
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT, "model_set_threads: null model");
  if (threads < 1)
    return fsnnrt::fail(FSNN_INVALID_ARGUMENT,
                        "model_set_threads: threads must be >= 1, got " +
                            std::to_string(threads));
  model->threads = threads;
  return FSNN_OK;
}

extern "C" int32_t fsnn_model_is_threaded(const fsnn_model *model) {
  return model->setOpenMPThreads ? 1 : 0;
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
