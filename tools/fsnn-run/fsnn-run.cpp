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

#include "runtime/bind/Run.h"
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

/// CLI11 parses "nan" and "inf" as numbers; a normalisation constant must be
/// finite, or every image becomes NaN and the accuracy a silent 10%.
const CLI::Validator finiteNumber(
    [](std::string &text) -> std::string {
      char *end = nullptr;
      double value = std::strtod(text.c_str(), &end);
      return std::isfinite(value) ? "" : "must be a finite number, got " + text;
    },
    "FINITE");

struct Flags {
  bind::RunTarget target;
  std::vector<std::string> files;
  std::string modelPath, imagesPath, labelsPath, dumpPath;
  std::string maxMemory = "4G";
  reference::EvaluateOptions options;
  bool json = false, compare = false;
};

void addFlags(CLI::App &app, Flags &flags) {
  app.add_option("files", flags.files,
                 "The model file (.fsnn, .fsnn.txt), positional as in every "
                 "tool, and the compiled model (.so from fsnn-compile) for "
                 "the compiled backend, in either order")
      ->expected(0, 2);
  app.add_option("--model", flags.modelPath,
                 "Model file (the same as giving it positionally)");
  app.add_option("--images", flags.imagesPath, "IDX images, raw or .gz")
      ->required();
  app.add_option("--labels", flags.labelsPath, "IDX labels, raw or .gz");
  app.add_option("--batch", flags.options.batch, "Images per batch")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  app.add_option("--threads", flags.options.threads, "Threads over the batch")
      ->check(CLI::Range(1, 1024));
  app.add_option("--backend", flags.target.backend,
                 "compiled (the default with a library) or reference")
      ->check(CLI::IsMember({"compiled", "reference"}));
  app.add_option("--dump-logits", flags.dumpPath,
                 "Write the logits as little-endian float32, images x classes");
  app.add_option("--limit", flags.options.limit,
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
  app.add_option("--mean", flags.options.mean,
                 "Normalisation mean (of p / 255)")
      ->check(finiteNumber);
  app.add_option("--std", flags.options.std, "Normalisation std (of p / 255)")
      ->check(finiteNumber)
      ->check(CLI::PositiveNumber);
  app.add_flag("--json", flags.json, "Print the figures as one JSON object");
  app.add_option("--max-memory", flags.maxMemory,
                 "Refuse models that would need more than this for one "
                 "batch, estimated before anything is allocated (default "
                 "4G)");
  app.add_option("--device", flags.target.device,
                 "cpu, or cuda (a library compiled with fsnn-compile "
                 "--target cuda; the batch runs on the first GPU)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_flag("--compare-reference", flags.compare,
               "Also run the reference executor (float32, and float64 to "
               "tell threshold ties apart) and compare spike counts and "
               "logits; fail below 99.9% identical counts outside ties or "
               "above 1e-4 relative logit difference");
}

int run(int argc, char **argv) {
  CLI::App app{"fsnn-run: evaluate a model on IDX images"};
  app.set_version_flag(
      "--version", fsnn::model::versionText("fsnn-run", "no LLVM/MLIR linked "
                                                        "(runtime side)"));
  Flags flags;
  addFlags(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e);
  }
  bind::RunTarget &target = flags.target;
  reference::EvaluateOptions &options = flags.options;
  target.modelPath = flags.modelPath;
  if (model::Status s =
          bind::sortRunFiles(flags.files, target.modelPath, target.libraryPath))
    return fail(s.message());
  // More threads than samples in a batch would idle, and each reference
  // thread holds its own copy of the parameters.
  options.threads = int(std::min<int64_t>(options.threads, options.batch));
  if (model::Status s = bind::resolveRunTarget(target))
    return fail(s.message());
  model::ModelProto proto;
  model::ModelInfo info;
  if (model::Status s = model::loadValidModel(target.modelPath, proto, info))
    return fail(s.message());
  if (model::Status s =
          model::checkMemoryFlag(info, options.batch, flags.maxMemory))
    return fail(target.modelPath + ": " + s.message());
  data::IdxArray images;
  std::vector<int64_t> labels;
  if (model::Status s = data::loadImagesAndLabels(
          flags.imagesPath, flags.labelsPath, images, labels,
          model::outputClasses(proto, info), options.limit))
    return fail(s.message());
  options.keepLogits = !flags.dumpPath.empty();
  reference::BatchForward forward;
  if (model::Status s =
          bind::makeRunForward(proto, info, target, options.threads, forward))
    return fail(s.message());

  if (flags.compare) {
    reference::CompareReport c;
    if (model::Status s = bind::compareWithReference(
            proto, target, images.data, images.itemSize(), images.items(),
            options, forward, c))
      return fail(s.message());
    std::cout << bind::formatComparison(c, target.backend) << "\n";
    if (!bind::comparisonPasses(c))
      return fail("the " + target.backend +
                  " backend disagrees with the reference");
    return 0;
  }
  bool tty = isatty(2) && !flags.json;
  auto start = std::chrono::steady_clock::now();
  reference::EvaluateReport report;
  if (model::Status s = reference::evaluate(
          proto, images.data, images.itemSize(), images.items(), labels,
          options, forward, report, [&](int64_t done, int64_t total) {
            if (tty)
              bind::drawProgressBar(
                  std::cerr, done, total,
                  std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - start)
                      .count());
          }))
    return fail(s.message());
  if (!flags.dumpPath.empty()) {
    std::string bytes(report.logits.size() * sizeof(float), '\0');
    std::memcpy(bytes.data(), report.logits.data(), bytes.size());
    if (model::Status s = model::writeFileAtomically(flags.dumpPath, bytes))
      return fail(s.message());
  }
  std::cout << bind::formatEvaluation(report, options, target, flags.json);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  return fsnn::tools::guardedMain("fsnn-run", run, argc, argv);
}
