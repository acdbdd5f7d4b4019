/*===- parameters.h - a compiled model's parameters from a model file ---===*
 *
 * The runtime runs a compiled model on parameters the caller passes, one
 * pointer per `param` of the descriptor. These functions read them from a
 * model file (.fsnn or .fsnn.txt), after checking that the file is the model
 * the library was compiled from (its structure hash) and that every
 * parameter's name, shape and dtype match. Part of libfsnnrt.so; the model
 * file is parsed and validated as untrusted input.
 *
 *   fsnn_model *model;  fsnn_parameters *params;
 *   fsnn_model_open("m.so", &model);
 *   fsnn_parameters_load(model, "m.fsnn", &params);
 *   fsnn_model_run(model, images, fsnn_parameters_pointers(params), 0,
 *                  outputs, batch, 2);
 *   fsnn_parameters_free(params);  fsnn_model_close(model);
 *
 *===----------------------------------------------------------------------===*/

#ifndef FSNNRT_PARAMETERS_H
#define FSNNRT_PARAMETERS_H

#include "fsnnrt/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fsnn_parameters fsnn_parameters;

/* Reads the parameters of `model` from the model file at `path`.
 * FSNN_NOT_FOUND: no such file; FSNN_INVALID_ARGUMENT: not a valid model
 * file; FSNN_MODEL_MISMATCH: another model than the library's, or a
 * parameter of another shape or dtype. fsnn_last_error() says which. */
fsnn_status fsnn_parameters_load(const fsnn_model *model, const char *path,
                                 fsnn_parameters **parameters);

/* One pointer per parameter, in the descriptor's order: the `parameters`
 * argument of fsnn_model_run and fsnn_model_call. Valid until freed. */
const void *const *fsnn_parameters_pointers(const fsnn_parameters *parameters);

void fsnn_parameters_free(fsnn_parameters *parameters);

#ifdef __cplusplus
}
#endif

#endif /* FSNNRT_PARAMETERS_H */
