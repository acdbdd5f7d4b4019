//===- Translate.h - model files to and from the fsnn dialect ---*- C++ -*-===//
//
// The importer translates; it does not interpret. One node becomes one op
// whose location is the node's name, one map becomes one region, and a
// parameter becomes a function argument that carries its initializer as a
// dense resource. The exporter is the inverse and accepts the dialect subset
// the format can express.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_DIALECT_TRANSLATE_TRANSLATE_H
#define FSNN_DIALECT_TRANSLATE_TRANSLATE_H

#include "runtime/model/Validate.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir::fsnn {

struct ImportOptions {
  /// The static batch size of the imported function.
  int64_t batch = 1;
  /// Import the training forward function instead of inference (docs/method.md
  /// §10): batch norm on batch statistics, one spectral power iteration
  /// before the weight is formed, the static input current computed before
  /// the simulation, a `labels` argument and the loss. Trainable arguments
  /// carry `fsnn.trainable`; the results are the loss, the logits, then the
  /// refreshed spectral vectors (`state:<u>`, `state:<v>`) and each batch
  /// norm's batch mean and unbiased variance (`batch_mean:<running mean>`,
  /// `batch_variance:<running variance>`). fsnn-generate-backward then adds
  /// the gradients.
  bool training = false;
  /// Training only: the step of one shard of a larger batch
  /// (docs/training.md, "Data-parallel training"). The input map's batch
  /// norm normalises with statistics of the whole batch that the caller
  /// passes in, as parameters `statistics_mean:<running mean>` and
  /// `statistics_variance:<running variance>` (the biased variance), and
  /// returns no batch statistics; the backward treats them as constants and
  /// the trainer adds their part of the gradient. Single-layer models with
  /// static input only: other models are refused with a diagnostic.
  bool shardStatistics = false;
};

/// Imports a model that validateModel accepted (`info` is what it returned).
/// Emits diagnostics and returns null on failure.
OwningOpRef<ModuleOp> importModel(const ::fsnn::model::ModelProto &model,
                                  const ::fsnn::model::ModelInfo &info,
                                  MLIRContext *context,
                                  const ImportOptions &options);

/// Exports a module holding one function in the importer's form. Emits a
/// diagnostic at the offending op and fails on anything the model format
/// cannot express. The result is validated before it is returned.
LogicalResult exportModel(ModuleOp module, ::fsnn::model::ModelProto &model);

/// Parses a file of fsnn-dialect text in the importer's form (what
/// `fsnn-translate --import` writes) and exports it, for tools that take a
/// model as `.mlir` as well as a model file. Returns false with the parser's
/// or exporter's diagnostics in `error`, one per line, as compilers print
/// them: "path:line:col: error: message".
bool loadModelFromMLIR(const std::string &path,
                       ::fsnn::model::ModelProto &model, std::string &error);

/// The dialects the importer creates and the exporter reads.
void registerTranslateDialects(DialectRegistry &registry);

} // namespace mlir::fsnn

#endif // FSNN_DIALECT_TRANSLATE_TRANSLATE_H
