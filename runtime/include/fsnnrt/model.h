/*===- model.h - loading and running compiled fsnn models ----------*- C
 *-*-===//
 *
 * A compiled model is a shared library made by fsnn-compile. It exports:
 *
 *   uint32_t    fsnn_model_abi_version(void);   FSNN_MODEL_ABI_VERSION
 *   const char *fsnn_model_descriptor(void);    the text below
 *   void        fsnn_model_entry(void **args);  one call on one batch
 *
 * The descriptor is line-based text:
 *
 *   fsnn-model-abi 1
 *   hash <16 hex digits>        modelStructureHash of the model file
 *   function <name>
 *   batch <B>                   the batch size the code was compiled for
 *   input <name> <f32|f64> <dims...>
 *   param <name> <f32|f64> <dims...>    in argument order
 *   kind <inference|training>   optional; training: fsnn-compile --train
 *   target <cpu|cuda>           optional (cpu); cuda: fsnn-compile --target
 *                               cuda, which also exports
 *                               fsnn_cuda_model_init/_error
 *   seed                        present when the function takes a seed
 *   output <name> <f32|f64|i32> <dims...>
 *
 * A training step has two inputs (images f32, labels i64) and outputs that
 * need not be per sample: the loss, the logits, the refreshed state
 * (state:<name>), batch statistics (batch_mean:<running mean>,
 * batch_variance:<running variance>), gradients (grad:<parameter>) and the
 * adjoint's per-sample residual and starting norm.
 *
 * fsnn_model_entry takes, in this order, a pointer to a memref descriptor
 * (allocated, aligned, offset, sizes, strides) for the input, each parameter,
 * a pointer to an int64 seed if there is one, then one per output. The
 * runtime builds these; callers use fsnn_model_run. docs/runtime-abi.md
 * describes it. No LLVM or MLIR is needed to load or run a model.
 *
 *===----------------------------------------------------------------------===*/

#ifndef FSNNRT_MODEL_H
#define FSNNRT_MODEL_H

#include "fsnnrt/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FSNN_MODEL_ABI_VERSION 1u

typedef struct fsnn_model fsnn_model;

typedef enum fsnn_dtype {
  FSNN_F32 = 0,
  FSNN_F64 = 1,
  FSNN_I32 = 2,
  FSNN_I64 = 3,
} fsnn_dtype;

typedef struct fsnn_tensor_info {
  const char *name;
  fsnn_dtype dtype;
  int32_t rank;
  const int64_t *dims;
} fsnn_tensor_info;

/* Opens a compiled model: dlopen, the three symbols, the ABI version and the
 * descriptor are checked. Errors: FSNN_NOT_FOUND (file or symbol),
 * FSNN_ABI_MISMATCH, FSNN_INVALID_ARGUMENT (bad descriptor). */
fsnn_status fsnn_model_open(const char *path, fsnn_model **model);
void fsnn_model_close(fsnn_model *model);

/* The structure hash the library was compiled from (see model files). */
uint64_t fsnn_model_hash(const fsnn_model *model);
/* The compiled batch size. */
int64_t fsnn_model_batch(const fsnn_model *model);
int32_t fsnn_model_num_parameters(const fsnn_model *model);
int32_t fsnn_model_num_outputs(const fsnn_model *model);
fsnn_tensor_info fsnn_model_input(const fsnn_model *model);
/* "cpu", or "cuda" for a library of GPU kernels (descriptor `target`). A
 * CUDA model's open fails with FSNN_UNAVAILABLE ("... is a CUDA model: no
 * CUDA driver: ...", "no CUDA device: ...") where it cannot run. Its
 * chunks run on `threads` host threads as for the CPU, each call on its own
 * stream, so that one chunk's copies overlap another's kernels; a CUDA
 * error is FSNN_INTERNAL with the driver's message. */
const char *fsnn_model_target(const fsnn_model *model);
/* Whether the library is a training step (descriptor `kind training`). */
int32_t fsnn_model_is_training(const fsnn_model *model);
int32_t fsnn_model_num_inputs(const fsnn_model *model);
fsnn_tensor_info fsnn_model_input_at(const fsnn_model *model, int32_t i);
fsnn_tensor_info fsnn_model_parameter(const fsnn_model *model, int32_t i);
fsnn_tensor_info fsnn_model_output(const fsnn_model *model, int32_t i);

/* Runs `batch` samples (any number >= 1): `input` is batch x (the input's
 * per-sample shape), `parameters` one pointer per parameter in order,
 * `outputs` one pointer per output, each batch x per-sample, all dense
 * row-major. The batch is cut into chunks of the compiled batch size that
 * `threads` threads run; a last, partial chunk is padded. */
fsnn_status fsnn_model_run(fsnn_model *model, const void *input,
                           const void *const *parameters, int64_t seed,
                           void *const *outputs, int64_t batch,
                           int32_t threads);

/* One call of the compiled function on exactly its compiled batch: one
 * pointer per input, parameter and output, dense row-major, in descriptor
 * order. This is how a training step runs (its batch statistics couple the
 * samples, so it is not cut into chunks). */
fsnn_status fsnn_model_call(fsnn_model *model, const void *const *inputs,
                            const void *const *parameters, int64_t seed,
                            void *const *outputs);

/* The threads of each fsnn_model_call of a threaded training step (one
 * compiled with OpenMP loops over the batch, fsnn-compile --train without
 * --no-threads): set on the calling thread before each call. Results do not
 * depend on it. Libraries without threads ignore it. Default: the OpenMP
 * runtime's (OMP_NUM_THREADS, else every core). */
fsnn_status fsnn_model_set_threads(fsnn_model *model, int32_t threads);
/* Whether the library runs its own threads (links the OpenMP runtime). */
int32_t fsnn_model_is_threaded(const fsnn_model *model);

#ifdef __cplusplus
}
#endif

#endif /* FSNNRT_MODEL_H */
