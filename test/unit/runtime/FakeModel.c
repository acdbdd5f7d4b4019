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

uint32_t fsnn_model_abi_version(void) {
  return FAKE_VARIANT == FAKE_ABI_99 ? 99u : 1u;
}

const char *fsnn_model_descriptor(void) {
  if (FAKE_VARIANT == FAKE_BAD_DESCRIPTOR)
    return "fsnn-model-abi 1\nhash 00000000000000ab\nbatch four\n";
  return "fsnn-model-abi 1\n"
         "hash 00000000000000ab\n"
         "function fake\n"
         "batch 4\n"
         "input x f32 4 3\n"
         "param p f32 3\n"
         "output y f32 4 3\n";
}

#if FAKE_VARIANT != FAKE_NO_ENTRY
/* A memref descriptor: allocated, aligned, offset, sizes..., strides... */
static float *data(void *descriptor) {
  int64_t *words = (int64_t *)descriptor;
  return (float *)(intptr_t)words[1] + words[2];
}

void fsnn_model_entry(void **args) {
  const float *x = data(args[0]);
  const float *p = data(args[1]);
  float *y = data(args[2]);
  for (int row = 0; row < 4; ++row)
    for (int col = 0; col < 3; ++col)
      y[row * 3 + col] = x[row * 3 + col] + p[col];
}
#endif
