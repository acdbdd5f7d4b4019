/* Runs a compiled model on a raw float32 batch with the parameters of its
 * model file, through the installed libfsnnrt.so, and writes the logits as
 * raw float32. Usage: consumer LIBRARY MODEL INPUT COUNT LOGITS */
#include <fsnnrt/parameters.h>

#include <stdio.h>
#include <stdlib.h>

static int64_t per_sample(fsnn_tensor_info info) {
  int64_t n = 1;
  for (int32_t d = 1; d < info.rank; ++d)
    n *= info.dims[d];
  return n;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: consumer LIBRARY MODEL INPUT COUNT LOGITS\n");
    return 2;
  }
  int64_t count = atoll(argv[4]);
  fsnn_model *model = NULL;
  fsnn_parameters *parameters = NULL;
  if (fsnn_model_open(argv[1], &model) != FSNN_OK ||
      fsnn_parameters_load(model, argv[2], &parameters) != FSNN_OK) {
    fprintf(stderr, "consumer: %s\n", fsnn_last_error());
    return 1;
  }
  int64_t elements = per_sample(fsnn_model_input(model));
  float *input = malloc(sizeof(float) * elements * count);
  FILE *in = fopen(argv[3], "rb");
  if (!in || fread(input, sizeof(float), elements * count, in) !=
                 (size_t)(elements * count)) {
    fprintf(stderr, "consumer: cannot read %s\n", argv[3]);
    return 1;
  }
  fclose(in);
  int32_t outputs = fsnn_model_num_outputs(model);
  void **buffers = calloc(outputs, sizeof(void *));
  for (int32_t o = 0; o < outputs; ++o)
    buffers[o] = malloc(8 * per_sample(fsnn_model_output(model, o)) * count);
  if (fsnn_model_run(model, input, fsnn_parameters_pointers(parameters), 0,
                     buffers, count, 2) != FSNN_OK) {
    fprintf(stderr, "consumer: %s\n", fsnn_last_error());
    return 1;
  }
  FILE *out = fopen(argv[5], "wb");
  fwrite(buffers[0], sizeof(float),
         per_sample(fsnn_model_output(model, 0)) * count, out);
  fclose(out);
  /* A model file of another model is refused with the reason. */
  fsnn_parameters *other = NULL;
  if (fsnn_parameters_load(model, argv[3], &other) == FSNN_OK) {
    fprintf(stderr, "consumer: a non-model file was accepted\n");
    return 1;
  }
  printf("refused: %s\n", fsnn_last_error());
  fsnn_parameters_free(parameters);
  fsnn_model_close(model);
  printf("ran %lld samples\n", (long long)count);
  return 0;
}
