//===- Run.h - what fsnn-run does around the backends -----------*- C++ -*-===//
//
// Telling a compiled model from a model file, choosing and making the
// backend, comparing it with the reference (and the verdict), and the
// report, as text or JSON. Runtime side of the wall.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_RUNTIME_BIND_RUN_H
#define FSNN_RUNTIME_BIND_RUN_H

#include "runtime/bind/CompiledModel.h"

#include <ostream>
#include <string>
#include <vector>

namespace fsnn::bind {

/// The files given positionally, in either order: an ELF shared object (or
/// a name ending in .so) is the compiled model, anything else the model
/// file. Two of a kind is an error naming both.
Status sortRunFiles(const std::vector<std::string> &files,
                    std::string &modelPath, std::string &libraryPath);

/// What to run: the backend ("compiled" or "reference"; empty: compiled
/// when a library is given) on `device` ("cpu" or "cuda").
struct RunTarget {
  std::string modelPath, libraryPath, backend, device = "cpu";
};

/// Fills in the backend and checks that the target can run: a CUDA device
/// runs a compiled model only, and is probed first.
Status resolveRunTarget(RunTarget &target);

/// The backend of `target` for `model`, on `threads`.
Status makeRunForward(const fsnn::model::ModelProto &model,
                      const fsnn::model::ModelInfo &info,
                      const RunTarget &target, int threads,
                      reference::BatchForward &forward);

/// `tested` against the reference executor in float32, with the float64
/// reference telling threshold ties apart.
Status compareWithReference(const fsnn::model::ModelProto &model,
                            const RunTarget &target,
                            const std::vector<uint8_t> &pixels,
                            int64_t pixelsPerImage, int64_t images,
                            const reference::EvaluateOptions &options,
                            const reference::BatchForward &tested,
                            reference::CompareReport &report);

/// fsnn-run's verdict: at least 99.9% identical spike counts outside
/// threshold ties, and at most 1e-4 relative logit difference.
bool comparisonPasses(const reference::CompareReport &report);

/// The comparison's figures, as one line.
std::string formatComparison(const reference::CompareReport &report,
                             const std::string &backend);

/// The evaluation's figures, as lines or (with `json`) one JSON object.
std::string formatEvaluation(const reference::EvaluateReport &report,
                             const reference::EvaluateOptions &options,
                             const RunTarget &target, bool json);

/// A progress bar on a terminal: done/total images and the rate.
void drawProgressBar(std::ostream &os, int64_t done, int64_t total,
                     double seconds);

} // namespace fsnn::bind

#endif // FSNN_RUNTIME_BIND_RUN_H
