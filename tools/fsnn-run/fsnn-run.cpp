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
#include "training/data/Dataset.h"
#include "training/data/Idx.h"
#include "training/data/Npy.h"

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
  std::string inputPath, dataset, dataDirectory, split = "test";
  std::vector<std::string> outputs;
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
  app.add_option("--images", flags.imagesPath,
                 "IDX images, raw or .gz (normalised with --mean, --std)");
  app.add_option("--input", flags.inputPath,
                 "A .npy array, samples x the model's input (float32 or "
                 "float64 as the model takes them; uint8 pixels normalised "
                 "with --mean, --std)");
  app.add_option("--dataset", flags.dataset,
                 "A dataset as fsnn-train reads it (with --data-dir): its "
                 "samples, normalised as in training, and its labels")
      ->check(CLI::IsMember(data::datasetNames()));
  app.add_option("--data-dir", flags.dataDirectory, "The dataset's directory");
  app.add_option("--split", flags.split, "test (default) or train")
      ->check(CLI::IsMember({"test", "train"}));
  app.add_option("--labels", flags.labelsPath,
                 "Labels: IDX (raw or .gz) or .npy (integers)");
  app.add_option("--output", flags.outputs,
                 "Write an output as .npy: logits=PATH (float32, samples x "
                 "classes), counts=PATH (int32 spike counts of the last "
                 "reported layer, samples x its shape), counts:L=PATH "
                 "(layer L, from 1); repeatable");
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

/// The .npy files of --output: logits, and spike counts in the layer's
/// shape (layer -2: the last one reported).
model::Status
writeOutputs(const model::ModelProto &proto, const model::ModelInfo &info,
             const reference::EvaluateReport &report,
             const std::vector<std::pair<int, std::string>> &files) {
  for (const auto &[layer, path] : files) {
    if (layer == -1) {
      if (model::Status s = data::writeNpy(
              path, {report.images, report.classes}, report.logits))
        return s;
      continue;
    }
    if (report.counts.empty())
      return model::Status::error("--output counts: the backend reports no "
                                  "spike counts");
    int index = layer == -2 ? report.counts.rbegin()->first : layer;
    auto it = report.counts.find(index);
    if (it == report.counts.end())
      return model::Status::error(
          "--output counts:" + std::to_string(layer + 1) +
          ": the backend reports the spike counts of layer(s) " + [&] {
            std::string list;
            for (const auto &entry : report.counts)
              list +=
                  (list.empty() ? "" : ", ") + std::to_string(entry.first + 1);
            return list;
          }());
    std::vector<int64_t> shape = {report.images};
    const model::NodeProto *node = model::findFeedbackNode(proto);
    if (node && index < node->outputs_size() / 2) {
      const std::vector<int64_t> &s =
          info.values.at(node->outputs(index)).shape;
      shape.insert(shape.end(), s.begin(), s.end());
    } else {
      shape.push_back(int64_t(it->second.size()) /
                      std::max<int64_t>(1, report.images));
    }
    std::vector<int32_t> counts(it->second.begin(), it->second.end());
    if (model::Status s = data::writeNpy(path, shape, counts))
      return s;
  }
  return model::Status();
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
  // The samples: IDX pixels, a .npy array, or a dataset as fsnn-train
  // reads it.
  int sources = !flags.imagesPath.empty() + !flags.inputPath.empty() +
                !flags.dataset.empty();
  if (sources != 1)
    return fail("give the samples as one of --images (IDX), --input (.npy) "
                "or --dataset with --data-dir");
  const int64_t classes = model::outputClasses(proto, info);
  data::IdxArray images;
  data::NpyArray array;
  std::unique_ptr<data::Dataset> dataset;
  std::vector<int64_t> labels;
  int64_t samples = 0, elements = 0;
  if (!flags.imagesPath.empty()) {
    bool npyLabels =
        flags.labelsPath.size() > 4 &&
        flags.labelsPath.substr(flags.labelsPath.size() - 4) == ".npy";
    if (model::Status s = data::loadImagesAndLabels(
            flags.imagesPath, npyLabels ? "" : flags.labelsPath, images, labels,
            classes, options.limit))
      return fail(s.message());
    samples = images.items();
    elements = images.itemSize();
  } else if (!flags.inputPath.empty()) {
    if (model::Status s = data::readNpy(flags.inputPath, array))
      return fail(s.message());
    samples = array.shape.empty() ? 0 : array.shape[0];
    elements = samples ? int64_t(array.values.size()) / samples : 0;
  } else {
    if (flags.dataDirectory.empty())
      return fail("--dataset needs --data-dir");
    data::DatasetOptions dataOptions;
    dataOptions.name = flags.dataset;
    dataOptions.directory = flags.dataDirectory;
    dataOptions.split =
        flags.split == "train" ? data::Split::Train : data::Split::Test;
    dataOptions.limit = options.limit;
    const model::NodeProto *node = model::findFeedbackNode(proto);
    if (const model::AttributeProto *t =
            node ? model::findAttribute(*node, "time_steps") : nullptr)
      dataOptions.timeSteps = t->i();
    if (model::Status s = data::loadDataset(dataOptions, dataset))
      return fail(s.message());
    samples = dataset->size();
    elements = dataset->sampleElements();
    for (int64_t i = 0; i < samples; ++i)
      labels.push_back(dataset->label(i));
  }
  if (flags.labelsPath.size() > 4 &&
      flags.labelsPath.substr(flags.labelsPath.size() - 4) == ".npy") {
    data::NpyArray labelArray;
    if (model::Status s = data::readNpy(flags.labelsPath, labelArray))
      return fail(s.message());
    if (labelArray.integers.size() != labelArray.values.size() ||
        labelArray.shape.size() != 1)
      return fail(flags.labelsPath + ": labels must be a 1-D integer array");
    labels = labelArray.integers;
    if (int64_t(labels.size()) <
        std::min(samples, options.limit > 0 ? options.limit : samples))
      return fail(flags.labelsPath + " has " + std::to_string(labels.size()) +
                  " labels for " + std::to_string(samples) + " samples");
    for (int64_t label : labels)
      if (label < 0 || label >= classes)
        return fail(flags.labelsPath + ": label " + std::to_string(label) +
                    " is not one of the model's " + std::to_string(classes) +
                    " classes");
  }
  // The outputs to write, checked before anything runs.
  std::vector<std::pair<int, std::string>> outputFiles; // -1: logits
  for (const std::string &output : flags.outputs) {
    size_t equals = output.find('=');
    std::string kind = output.substr(0, equals);
    if (equals == std::string::npos || equals + 1 == output.size())
      return fail("--output " + output + ": expected KIND=PATH");
    std::string path = output.substr(equals + 1);
    if (model::Status s = model::checkOutputPath(path))
      return fail(s.message());
    if (kind == "logits")
      outputFiles.emplace_back(-1, path);
    else if (kind == "counts")
      outputFiles.emplace_back(-2, path);
    else if (kind.rfind("counts:", 0) == 0 && std::atoi(kind.c_str() + 7) >= 1)
      outputFiles.emplace_back(std::atoi(kind.c_str() + 7) - 1, path);
    else
      return fail("--output " + output +
                  ": KIND is logits, counts or counts:L (L from 1)");
  }
  options.keepLogits = !flags.dumpPath.empty() || !outputFiles.empty();
  options.keepCounts = !outputFiles.empty();
  reference::BatchForward forward;
  if (model::Status s =
          bind::makeRunForward(proto, info, target, options.threads, forward))
    return fail(s.message());

  if (flags.compare) {
    if (flags.imagesPath.empty())
      return fail("--compare-reference runs on --images (IDX)");
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
  reference::SampleSource source = [&](int64_t first, int64_t batch,
                                       reference::Matrix<float> &input) {
    input.resize(batch, elements);
    if (dataset) {
      for (int64_t i = 0; i < batch; ++i)
        dataset->fill(first + i, input.data() + i * elements, 0);
    } else if (array.descr == "|u1" || array.descr == "<u1") {
      for (int64_t i = 0; i < batch * elements; ++i)
        input.data()[i] =
            float((array.values[first * elements + i] / 255.0 - options.mean) /
                  options.std);
    } else {
      std::memcpy(input.data(), array.values.data() + first * elements,
                  sizeof(float) * batch * elements);
    }
    return model::Status();
  };
  bool tty = isatty(2) && !flags.json;
  auto start = std::chrono::steady_clock::now();
  reference::EvaluateReport report;
  auto progress = [&](int64_t done, int64_t total) {
    if (tty)
      bind::drawProgressBar(std::cerr, done, total,
                            std::chrono::duration<double>(
                                std::chrono::steady_clock::now() - start)
                                .count());
  };
  model::Status evaluated =
      flags.imagesPath.empty()
          ? reference::evaluateSamples(proto, source, elements, samples, labels,
                                       options, forward, report, progress)
          : reference::evaluate(proto, images.data, images.itemSize(),
                                images.items(), labels, options, forward,
                                report, progress);
  if (evaluated)
    return fail(evaluated.message());
  if (model::Status s = writeOutputs(proto, info, report, outputFiles))
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
