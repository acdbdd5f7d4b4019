/*===- FakeModel.c - hand-made "compiled models" for the loader tests -----===//
 *
 * The runtime must load and run any library that follows the model ABI,
 * whatever made it. These follow it (or break it on purpose, selected by
 * FAKE_VARIANT) without any compiler: y = x + p over a batch of 4 rows of 3.
 *
 *===----------------------------------------------------------------------===*/

#include <stdint.h>

#define FAKE_GOOD 0
#define FAKE_ABI_99 1
#define FAKE_NO_ENTRY 2
#define FAKE_BAD_DESCRIPTOR 3
#define FAKE_TRAINING 4
#define FAKE_BAD_KIND 5
#define FAKE_BAD_TARGET 6
#define FAKE_CUDA_NO_WRAPPERS 7
#define FAKE_CUDA_NO_DEVICE 8
#define FAKE_CUDA_FAILING_RUN 9
#define FAKE_DUPLICATE_HASH 10
#define FAKE_HUGE_DIMS 11

#define FAKE_CUDA                                                              \
  (FAKE_VARIANT == FAKE_CUDA_NO_WRAPPERS ||                                    \
   FAKE_VARIANT == FAKE_CUDA_NO_DEVICE ||                                      \
   FAKE_VARIANT == FAKE_CUDA_FAILING_RUN)

uint32_t fsnn_model_abi_version(void) {
  return FAKE_VARIANT == FAKE_ABI_99 ? 99u : 1u;
}

const char *fsnn_model_descriptor(void) {
  if (FAKE_VARIANT == FAKE_BAD_DESCRIPTOR)
    return "fsnn-model-abi 1\nhash 00000000000000ab\nbatch four\n";
  /* A second hash line would have overridden the first. */
  if (FAKE_VARIANT == FAKE_DUPLICATE_HASH)
    return "fsnn-model-abi 1\nhash 00000000000000ab\nbatch 4\n"
           "hash 0000000000000000\ninput x f32 4 3\noutput y f32 4 3\n";
  /* A caller sizing buffers from this would allocate 2^60 floats. */
  if (FAKE_VARIANT == FAKE_HUGE_DIMS)
    return "fsnn-model-abi 1\nhash 00000000000000ab\nbatch 4\n"
           "input x f32 4 3\noutput y f32 4 16777216 16777216\n";
  if (FAKE_VARIANT == FAKE_BAD_KIND)
    return "fsnn-model-abi 1\nhash 00000000000000ab\nbatch 4\nkind tuning\n";
  if (FAKE_VARIANT == FAKE_BAD_TARGET)
    return "fsnn-model-abi 1\nhash 00000000000000ab\nbatch 4\ntarget tpu\n";
  if (FAKE_CUDA)
    return "fsnn-model-abi 1\n"
           "hash 00000000000000ab\n"
           "function fake\n"
           "batch 4\n"
           "target cuda\n"
           "input x f32 4 3\n"
           "param p f32 3\n"
           "output y f32 4 3\n";
  /* A training step: loss = sum(x) + sum(labels), grad:p = p * 2. */
  if (FAKE_VARIANT == FAKE_TRAINING)
    return "fsnn-model-abi 1\n"
           "hash 00000000000000ab\n"
           "function fake_train_step\n"
           "batch 4\n"
           "kind training\n"
           "input x f32 4 3\n"
           "input labels i64 4\n"
           "param p f32 3\n"
           "seed\n"
           "output loss f32\n"
           "output grad:p f32 3\n";
  return "fsnn-model-abi 1\n"
         "hash 00000000000000ab\n"
         "function fake\n"
         "batch 4\n"
         "input x f32 4 3\n"
         "param p f32 3\n"
         "output y f32 4 3\n";
}

#if FAKE_VARIANT == FAKE_CUDA_NO_DEVICE || FAKE_VARIANT == FAKE_CUDA_FAILING_RUN
/* What runtime/cuda/cuda_wrappers.c exports, with a device that is missing
 * or whose first run fails. */
static const char *cudaError;
int fsnn_cuda_model_init(void) {
  if (FAKE_VARIANT == FAKE_CUDA_NO_DEVICE)
    cudaError = "no CUDA device: the fake has none";
  return cudaError == 0;
}
const char *fsnn_cuda_model_error(void) { return cudaError; }
#endif

#if FAKE_VARIANT != FAKE_NO_ENTRY
/* A memref descriptor: allocated, aligned, offset, sizes..., strides... */
static float *data(void *descriptor) {
  int64_t *words = (int64_t *)descriptor;
  return (float *)(intptr_t)words[1] + words[2];
}

#if FAKE_VARIANT == FAKE_TRAINING
void fsnn_model_entry(void **args) {
  const float *x = data(args[0]);
  const int64_t *labels = (const int64_t *)data(args[1]);
  const float *p = data(args[2]);
  int64_t seed = *(const int64_t *)args[3];
  float *loss = data(args[4]);
  float *grad = data(args[5]);
  float sum = (float)seed;
  for (int i = 0; i < 12; ++i)
    sum += x[i];
  for (int i = 0; i < 4; ++i)
    sum += (float)labels[i];
  *loss = sum;
  for (int i = 0; i < 3; ++i)
    grad[i] = 2 * p[i];
}
#else
void fsnn_model_entry(void **args) {
#if FAKE_VARIANT == FAKE_CUDA_FAILING_RUN
  cudaError = "CUDA error: cuLaunchKernel failed with CUDA_ERROR_LAUNCH_FAILED";
#endif
  const float *x = data(args[0]);
  const float *p = data(args[1]);
  float *y = data(args[2]);
  for (int row = 0; row < 4; ++row)
    for (int col = 0; col < 3; ++col)
      y[row * 3 + col] = x[row * 3 + col] + p[col];
}
#endif
#endif
