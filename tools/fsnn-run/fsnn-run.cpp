//===- fsnn-run.cpp - run a model over IDX images -------------------------===//
//
//   fsnn-run m.fsnn [m.so] --images X.idx[.gz] [--labels Y.idx[.gz]]
//            [--batch 128] [--threads 2] [--backend compiled|reference]
//            [--dump-logits out.bin] [--json] [--limit N] [--compare-reference]
//
// Flag parsing and printing; the work is in the evaluation library. Runtime
// side of the wall: no LLVM or MLIR.
//
//===----------------------------------------------------------------------===//

#include "runtime/bind/CompiledModel.h"
#include "runtime/model/Model.h"
#include "runtime/model/Version.h"
#include "runtime/reference/Evaluate.h"
#include "training/data/Idx.h"

#include "fsnnrt/cuda.h"

#include "tools/GuardedMain.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <unistd.h>

using namespace fsnn;

namespace {

int fail(const std::string &message) {
  std::cerr << "fsnn-run: error: " << message << "\n";
  return 1;
}

void drawProgress(int64_t done, int64_t total, double seconds) {
  const int width = 30;
  int filled = total ? int(width * done / total) : width;
  std::cerr << "\r[" << std::string(filled, '=')
            << std::string(width - filled, ' ') << "] " << done << "/" << total
            << " images";
  if (seconds > 0)
    std::cerr << ", " << int64_t(done / seconds) << " images/s";
  if (done == total)
    std::cerr << "\n";
  std::cerr.flush();
}

/// A compiled model is an ELF shared object (or named .so, so that a
/// missing one is reported as a missing library); anything else is taken
/// for a model file, whose loader then says what is wrong with it.
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

/// CLI11 parses "nan" and "inf" as numbers; a normalisation constant must be
/// finite, or every image becomes NaN and the accuracy a silent 10%.
const CLI::Validator finiteNumber(
    [](std::string &text) -> std::string {
      char *end = nullptr;
      double value = std::strtod(text.c_str(), &end);
      return std::isfinite(value) ? "" : "must be a finite number, got " + text;
    },
    "FINITE");

} // namespace

namespace {
int run(int argc, char **argv) {
  CLI::App app{"fsnn-run: evaluate a model on IDX images"};
  app.set_version_flag(
      "--version", fsnn::model::versionText("fsnn-run", "no LLVM/MLIR linked "
                                                        "(runtime side)"));
  std::string libraryPath, modelPath, imagesPath, labelsPath, dumpPath, backend;
  std::vector<std::string> files;
  app.add_option("files", files,
                 "The model file (.fsnn, .fsnn.txt), positional as in every "
                 "tool, and the compiled model (.so from fsnn-compile) for "
                 "the compiled backend, in either order")
      ->expected(0, 2);
  reference::EvaluateOptions options;
  bool json = false;
  app.add_option("--model", modelPath,
                 "Model file (the same as giving it positionally)");
  app.add_option("--images", imagesPath, "IDX images, raw or .gz")->required();
  app.add_option("--labels", labelsPath, "IDX labels, raw or .gz");
  app.add_option("--batch", options.batch, "Images per batch")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  app.add_option("--threads", options.threads, "Threads over the batch")
      ->check(CLI::Range(1, 1024));
  app.add_option("--backend", backend,
                 "compiled (the default with a library) or reference")
      ->check(CLI::IsMember({"compiled", "reference"}));
  app.add_option("--dump-logits", dumpPath,
                 "Write the logits as little-endian float32, images x classes");
  app.add_option("--limit", options.limit,
                 "Evaluate the first N images only (N >= 1; default all)")
      ->check(CLI::Validator(
          [](std::string &text) -> std::string {
            return std::strtoll(text.c_str(), nullptr, 10) >= 1
                       ? ""
                       : "must be at least 1 (leave it out for all images), "
                         "got " +
                             text;
          },
          "N>=1"));
  app.add_option("--mean", options.mean, "Normalisation mean (of p / 255)")
      ->check(finiteNumber);
  app.add_option("--std", options.std, "Normalisation std (of p / 255)")
      ->check(finiteNumber)
      ->check(CLI::PositiveNumber);
  app.add_flag("--json", json, "Print the figures as one JSON object");
  std::string maxMemory = "4G";
  app.add_option("--max-memory", maxMemory,
                 "Refuse models that would need more than this for one "
                 "batch, estimated before anything is allocated (default "
                 "4G)");
  std::string device = "cpu";
  app.add_option("--device", device,
                 "cpu, or cuda (a library compiled with fsnn-compile "
                 "--target cuda; the batch runs on the first GPU)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  bool compare = false;
  app.add_flag("--compare-reference", compare,
               "Also run the reference executor (float32, and float64 to "
               "tell threshold ties apart) and compare spike counts and "
               "logits; fail below 99.9% identical counts outside ties or "
               "above 1e-4 relative logit difference");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e);
  }
  for (const std::string &file : files) {
    std::string &slot = isSharedLibrary(file) ? libraryPath : modelPath;
    if (!slot.empty())
      return fail("two " +
                  std::string(&slot == &libraryPath ? "compiled models"
                                                    : "model files") +
                  " given: " + slot + " and " + file);
    slot = file;
  }
  // More threads than samples in a batch would idle, and each reference
  // thread holds its own copy of the parameters.
  options.threads = int(std::min<int64_t>(options.threads, options.batch));
  if (modelPath.empty())
    return fail("no model file: fsnn-run m.fsnn --images ... (reference), "
                "or fsnn-run m.so m.fsnn --images ... (compiled)");

  if (device == "cuda") {
    fsnn_cuda_device_info info;
    if (fsnn_cuda_probe(&info) != FSNN_OK)
      return fail(std::string("--device cuda: ") + fsnn_last_error());
    if (backend == "reference" || libraryPath.empty())
      return fail("--device cuda runs a compiled model: fsnn-run m.so --model "
                  "m.fsnn --device cuda, with m.so from fsnn-compile --target "
                  "cuda");
  }
  if (backend.empty())
    backend = libraryPath.empty() ? "reference" : "compiled";
  if (backend == "compiled" && libraryPath.empty())
    return fail("--backend compiled needs the compiled model: fsnn-run m.so "
                "--model m.fsnn ...");
  model::ModelProto proto;
  if (model::Status status = model::loadModel(modelPath, proto))
    return fail(status.message());
  model::ModelInfo info;
  if (model::Status status = model::validateModel(proto, info))
    return fail(modelPath + ": " + status.message());
  if (model::Status status =
          model::checkMemoryFlag(info, options.batch, maxMemory))
    return fail(modelPath + ": " + status.message());
  int64_t classes = 0;
  if (proto.graph().outputs_size() > 0) {
    const auto &shape = info.values[proto.graph().outputs(0).name()].shape;
    classes = shape.empty() ? 0 : shape.back();
  }
  data::IdxArray images;
  std::vector<int64_t> labels;
  if (model::Status status = data::loadImagesAndLabels(
          imagesPath, labelsPath, images, labels, classes, options.limit))
    return fail(status.message());
  options.keepLogits = !dumpPath.empty();

  reference::BatchForward forward;
  model::Status made =
      backend == "compiled"
          ? bind::makeCompiledForward(proto, libraryPath, options.threads,
                                      forward, device)
          : reference::makeReferenceForward(proto, options.threads, forward);
  // The compiled backend's messages name the library themselves.
  if (!made.ok())
    return fail(backend == "compiled" ? made.message()
                                      : modelPath + ": " + made.message());

  if (compare) {
    // The reference in float32, and in float64 to tell threshold ties apart.
    reference::BatchForward oracle, precise;
    if (model::Status s =
            reference::makeReferenceForward(proto, options.threads, oracle))
      return fail(modelPath + ": " + s.message());
    if (model::Status s = reference::makeReferenceForward(
            proto, options.threads, precise, /*doublePrecision=*/true))
      return fail(modelPath + ": " + s.message());
    reference::CompareReport c;
    if (model::Status s = reference::compareBackends(
            proto, images.data, images.itemSize(), images.items(), options,
            forward, oracle, c, &precise))
      return fail(s.message());
    auto percent = [](int64_t part, int64_t whole) {
      return whole ? 100.0 * double(part) / double(whole) : 100.0;
    };
    double stable = percent(c.identicalStableNeurons, c.stableNeurons);
    std::cout << "compare: " << backend << " vs reference on " << c.images
              << " images: " << c.identicalNeurons << "/" << c.neurons
              << " neurons with identical spike counts ("
              << percent(c.identicalNeurons, c.neurons) << "%); "
              << c.tieSamples
              << " images are threshold ties (a spiking decision within "
              << reference::kThresholdTieMargin
              << " of V_th in float64); on the others "
              << c.identicalStableNeurons << "/" << c.stableNeurons << " ("
              << stable << "%); max relative logit difference "
              << c.maxLogitDifference << " over the " << c.agreeingSamples
              << " images whose counts agree\n";
    if (stable < 99.9 || c.maxLogitDifference > 1e-4)
      return fail("the " + backend + " backend disagrees with the reference");
    return 0;
  }

  bool tty = isatty(2) && !json;
  auto start = std::chrono::steady_clock::now();
  reference::EvaluateReport report;
  model::Status status = reference::evaluate(
      proto, images.data, images.itemSize(), images.items(), labels, options,
      forward, report, [&](int64_t done, int64_t total) {
        if (tty)
          drawProgress(done, total,
                       std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count());
      });
  if (!status.ok())
    return fail(status.message());
  if (!dumpPath.empty()) {
    std::string bytes(report.logits.size() * sizeof(float), '\0');
    std::memcpy(bytes.data(), report.logits.data(), bytes.size());
    if (model::Status s = model::writeFileAtomically(dumpPath, bytes))
      return fail(s.message());
  }

  double imagesPerSecond =
      report.seconds > 0 ? report.images / report.seconds : 0;
  if (json) {
    nlohmann::json out;
    out["model"] = modelPath;
    out["backend"] = backend;
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
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << "model: " << modelPath << " (backend " << backend << ")\n";
  std::cout << "images: " << report.images << ", batch " << options.batch
            << ", threads " << options.threads << "\n";
  if (report.labelled)
    std::cout << "accuracy: " << report.correct << "/" << report.images << " = "
              << 100.0 * report.correct / report.images << "%\n";
  std::cout << "images/s: " << imagesPerSecond << "\n";
  for (const auto &[layer, rate] : report.meanRate)
    std::cout << "mean firing rate, layer " << layer + 1 << ": " << rate
              << "\n";
  std::cout << "synaptic operations per image: "
            << report.synapticOperationsPerImage << "\n";
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  return fsnn::tools::guardedMain("fsnn-run", run, argc, argv);
}
