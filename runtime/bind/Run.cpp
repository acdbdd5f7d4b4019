//===- Run.cpp - what fsnn-run does around the backends -------------------===//

#include "runtime/bind/Run.h"

#include "fsnnrt/cuda.h"
#include "fsnnrt/runtime.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <sstream>

namespace fsnn::bind {

namespace fm = fsnn::model;

namespace {

bool isSharedLibrary(const std::string &path) {
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".so") == 0)
    return true;
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic,
                                          "\x7f"
                                          "ELF",
                                          4) == 0;
}

double percent(int64_t part, int64_t whole) {
  return whole ? 100.0 * double(part) / double(whole) : 100.0;
}

} // namespace

Status sortRunFiles(const std::vector<std::string> &files,
                    std::string &modelPath, std::string &libraryPath) {
  for (const std::string &file : files) {
    std::string &slot = isSharedLibrary(file) ? libraryPath : modelPath;
    if (!slot.empty())
      return Status::error("two " +
                           std::string(&slot == &libraryPath ? "compiled models"
                                                             : "model files") +
                           " given: " + slot + " and " + file);
    slot = file;
  }
  return Status();
}

Status resolveRunTarget(RunTarget &target) {
  if (target.modelPath.empty())
    return Status::error(
        "no model file: fsnn-run m.fsnn --images ... (reference), or fsnn-run "
        "m.so m.fsnn --images ... (compiled)");
  if (target.device == "cuda") {
    fsnn_cuda_device_info info;
    if (fsnn_cuda_probe(&info) != FSNN_OK)
      return Status::error(std::string("--device cuda: ") + fsnn_last_error());
    if (target.backend == "reference" || target.libraryPath.empty())
      return Status::error(
          "--device cuda runs a compiled model: fsnn-run m.so --model m.fsnn "
          "--device cuda, with m.so from fsnn-compile --target cuda");
  }
  if (target.backend.empty())
    target.backend = target.libraryPath.empty() ? "reference" : "compiled";
  if (target.backend == "compiled" && target.libraryPath.empty())
    return Status::error("--backend compiled needs the compiled model: "
                         "fsnn-run m.so --model m.fsnn ...");
  return Status();
}

Status makeRunForward(const fm::ModelProto &model, const fm::ModelInfo &info,
                      const RunTarget &target, int threads,
                      reference::BatchForward &forward) {
  if (target.backend == "compiled")
    // The compiled backend's messages name the library themselves.
    return makeCompiledForward(model, info, target.libraryPath, threads,
                               forward, target.device);
  if (Status s = reference::makeReferenceForward(model, threads, forward))
    return Status::error(target.modelPath + ": " + s.message());
  return Status();
}

Status compareWithReference(const fm::ModelProto &model,
                            const RunTarget &target,
                            const std::vector<uint8_t> &pixels,
                            int64_t pixelsPerImage, int64_t images,
                            const reference::EvaluateOptions &options,
                            const reference::BatchForward &tested,
                            reference::CompareReport &report) {
  reference::BatchForward oracle, precise;
  if (Status s =
          reference::makeReferenceForward(model, options.threads, oracle))
    return Status::error(target.modelPath + ": " + s.message());
  if (Status s = reference::makeReferenceForward(
          model, options.threads, precise, /*doublePrecision=*/true))
    return Status::error(target.modelPath + ": " + s.message());
  return reference::compareBackends(model, pixels, pixelsPerImage, images,
                                    options, tested, oracle, report, &precise);
}

bool comparisonPasses(const reference::CompareReport &c) {
  return !(percent(c.identicalStableNeurons, c.stableNeurons) < 99.9 ||
           c.maxLogitDifference > 1e-4);
}

std::string formatComparison(const reference::CompareReport &c,
                             const std::string &backend) {
  std::ostringstream os;
  os << "compare: " << backend << " vs reference on " << c.images
     << " images: " << c.identicalNeurons << "/" << c.neurons
     << " neurons with identical spike counts ("
     << percent(c.identicalNeurons, c.neurons) << "%); " << c.tieSamples
     << " images are threshold ties (a spiking decision within "
     << reference::kThresholdTieMargin << " of V_th in float64); on the others "
     << c.identicalStableNeurons << "/" << c.stableNeurons << " ("
     << percent(c.identicalStableNeurons, c.stableNeurons)
     << "%); max relative logit difference " << c.maxLogitDifference
     << " over the " << c.agreeingSamples << " images whose counts agree";
  return os.str();
}

std::string formatEvaluation(const reference::EvaluateReport &report,
                             const reference::EvaluateOptions &options,
                             const RunTarget &target, bool json) {
  double imagesPerSecond =
      report.seconds > 0 ? report.images / report.seconds : 0;
  std::ostringstream os;
  if (json) {
    nlohmann::json out;
    out["model"] = target.modelPath;
    out["backend"] = target.backend;
    out["images"] = report.images;
    out["batch"] = options.batch;
    out["threads"] = options.threads;
    out["seconds"] = report.seconds;
    out["images_per_second"] = imagesPerSecond;
    if (report.labelled) {
      out["correct"] = report.correct;
      out["accuracy"] = double(report.correct) / report.images;
    }
    nlohmann::json rates = nlohmann::json::object();
    for (const auto &[layer, rate] : report.meanRate)
      rates["layer" + std::to_string(layer + 1)] = rate;
    out["mean_firing_rate"] = rates;
    out["synaptic_operations_per_image"] = report.synapticOperationsPerImage;
    os << out.dump(2) << "\n";
    return os.str();
  }
  os << "model: " << target.modelPath << " (backend " << target.backend
     << ")\n";
  os << "images: " << report.images << ", batch " << options.batch
     << ", threads " << options.threads << "\n";
  if (report.labelled)
    os << "accuracy: " << report.correct << "/" << report.images << " = "
       << 100.0 * report.correct / report.images << "%\n";
  os << "images/s: " << imagesPerSecond << "\n";
  for (const auto &[layer, rate] : report.meanRate)
    os << "mean firing rate, layer " << layer + 1 << ": " << rate << "\n";
  os << "synaptic operations per image: " << report.synapticOperationsPerImage
     << "\n";
  return os.str();
}

void drawProgressBar(std::ostream &os, int64_t done, int64_t total,
                     double seconds) {
  const int width = 30;
  int filled = total ? int(width * done / total) : width;
  os << "\r[" << std::string(filled, '=') << std::string(width - filled, ' ')
     << "] " << done << "/" << total << " images";
  if (seconds > 0)
    os << ", " << int64_t(done / seconds) << " images/s";
  if (done == total)
    os << "\n";
  os.flush();
}

} // namespace fsnn::bind
