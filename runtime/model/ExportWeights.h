//===- ExportWeights.h - initializers as raw files for other tools -*- C++ -*-//

#ifndef FSNN_RUNTIME_MODEL_EXPORTWEIGHTS_H
#define FSNN_RUNTIME_MODEL_EXPORTWEIGHTS_H

#include "runtime/model/Model.h"

#include <string>

namespace fsnn::model {

/// "0003-f.weight" for tensor 3 named "f.weight": unique, and only
/// [A-Za-z0-9._-] after the index, whatever the name holds ("/", "..").
std::string safeFileName(int index, const std::string &name);

/// Writes every initializer of `model` as raw little-endian data in its
/// dtype (safeFileName(i, name) + ".bin") into `directory`, created if
/// missing, and a manifest.json naming each one's file, dtype and dims. Every
/// file is written atomically.
Status exportWeights(const ModelProto &model, const std::string &directory);

} // namespace fsnn::model

#endif // FSNN_RUNTIME_MODEL_EXPORTWEIGHTS_H
