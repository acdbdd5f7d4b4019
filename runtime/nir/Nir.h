//===- Nir.h - NIR graphs to fsnn models and back ---------------*- C++ -*-===//
//
// NIR (the Neuromorphic Intermediate Representation) describes spiking
// networks in continuous time; fsnn simulates them in discrete steps with
// the per-step order of docs/method.md. docs/nir.md has the mapping table:
// which nodes and graphs import, how dt, τ, r, v_leak and v_threshold become
// fsnn's leak, weights and threshold, and what is refused and why. Runtime
// side of the wall: no LLVM or MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_RUNTIME_NIR_NIR_H
#define FSNN_RUNTIME_NIR_NIR_H

#include "runtime/model/Validate.h"
#include "runtime/nir/NirFile.h"

#include <string>
#include <vector>

namespace fsnn::nir {

/// The Euler step fsnn assumes when a NIR file does not say (snnTorch's and
/// the NIR paper's 1e-4 s).
constexpr double kDefaultDt = 1e-4;

struct ImportOptions {
  /// The simulation step in the units of the file's τ.
  double dt = kDefaultDt;
  /// T: NIR graphs do not carry it. 0: take it from the file's fsnn
  /// metadata, else refuse.
  int64_t timeSteps = 0;
  model::TensorProto::DataType dtype = model::TensorProto::FLOAT32;
  /// Use the fsnn model an fsnn export embeds, when it matches the graph.
  bool useEmbeddedModel = true;
  /// The graph's name in the fsnn model.
  std::string graphName = "nir";
  /// "zero" (NIR's rule, exact) or "subtract": fsnn's rule, which IDE
  /// training needs (its equilibrium map holds only for it), at the price
  /// of dynamics other than the graph's.
  std::string reset = "zero";
};

struct ExportOptions {
  double dt = kDefaultDt;
  /// Embed the fsnn model itself (fsnn_model in the graph's metadata) so
  /// that fsnn imports it back bit for bit.
  bool embedModel = true;
};

/// Converts a NIR file's tree into an fsnn model, validated: `info` is what
/// the validator learnt of it. `notes` gets one line per approximation or
/// choice the reader should know of.
Status importNir(const Item &root, const ImportOptions &options,
                 model::ModelProto &model, model::ModelInfo &info,
                 std::vector<std::string> &notes);

/// readNirFile, then importNir; messages name the file.
Status importNirFile(const std::string &path, const ImportOptions &options,
                     model::ModelProto &model, model::ModelInfo &info,
                     std::vector<std::string> &notes);

/// Converts a validated fsnn model into a NIR tree, in inference mode (batch
/// norm folded with the running statistics, dropout removed, spectral
/// weights materialised). What NIR cannot express is refused; what it
/// expresses differently is said in `notes`.
Status exportNir(const model::ModelProto &model, const model::ModelInfo &info,
                 const ExportOptions &options, Item &root,
                 std::vector<std::string> &notes);

} // namespace fsnn::nir

#endif // FSNN_RUNTIME_NIR_NIR_H
