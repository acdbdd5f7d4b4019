//===- fsnn-model.cpp - create, inspect and convert model files -----------===//
//
// Flag parsing (CLI11) and calls into the model-format library; no MLIR.
//
//===----------------------------------------------------------------------===//

#include "runtime/model/Describe.h"
#include "runtime/model/ExportWeights.h"
#include "runtime/model/Model.h"
#include "runtime/model/Validate.h"
#include "runtime/model/Version.h"
#include "runtime/nir/Nir.h"
#include "training/zoo/Zoo.h"

#include "tools/GuardedMain.h"

#include <CLI/CLI.hpp>
#include <iostream>

using namespace fsnn::model;

namespace {

int fail(const std::string &message) {
  std::cerr << "fsnn-model: error: " << message << "\n";
  return 1;
}

} // namespace

namespace {

struct Flags {
  std::string arch, output, dtypeName = "float32", input, to, directory;
  ZooOptions zoo;
  double leak = 0;
  int64_t timeSteps = 0;
  bool json = false;
  fsnn::nir::ImportOptions nirImport;
  fsnn::nir::ExportOptions nirExport;
  std::string nirDtype = "float32";
  bool ignoreEmbedded = false, noEmbed = false;
};

struct Commands {
  CLI::App *create, *info, *convert, *exportWeights, *validate, *importNir,
      *exportNir;
  CLI::Option *leak, *timeSteps;
};

Commands addCommands(CLI::App &app, Flags &f) {
  Commands c;
  c.create =
      app.add_subcommand("create", "Create one of the paper's architectures");
  c.create->add_option("arch", f.arch, "Architecture")
      ->required()
      ->check(CLI::IsMember(zooArchitectures()));
  c.create->add_option("-o,--output", f.output, "Model file to write")
      ->required();
  c.create->add_option("--neuron", f.zoo.neuron, "Neuron model")
      ->check(CLI::IsMember({"if", "lif"}));
  c.leak = c.create->add_option("--leak", f.leak, "LIF leak λ in (0, 1]");
  c.timeSteps = c.create->add_option("--T", f.timeSteps, "Time steps (>= 1)");
  c.create->add_option("--vth", f.zoo.threshold, "Firing threshold V_th (> 0)");
  c.create->add_option("--seed", f.zoo.seed, "Seed of the initialisation");
  c.create->add_option(
      "--channel-divisor", f.zoo.channelDivisor,
      "Divide every spiking layer's width by this (rounded up; default 1)");
  c.create->add_option("--dtype", f.dtypeName, "Parameter precision")
      ->check(CLI::IsMember({"float32", "float64"}));

  c.info = app.add_subcommand(
      "info", "Print the architecture, shapes and parameter/neuron counts");
  c.info->add_option("model", f.input, "Model file")->required();
  c.info->add_flag("--json", f.json, "Print one JSON object");

  c.convert = app.add_subcommand(
      "convert", "Convert between the binary and the text form");
  c.convert->add_option("model", f.input, "Model file to read")->required();
  c.convert->add_option("-o,--output", f.output, "Model file to write")
      ->required();
  c.convert
      ->add_option("--to", f.to,
                   "Output form (default: text for a .txt name, else "
                   "binary)")
      ->check(CLI::IsMember({"binary", "text"}));

  c.exportWeights = app.add_subcommand(
      "export-weights",
      "Write every initializer as raw little-endian data (NAME.bin) and a "
      "manifest.json naming dims and dtypes, for other tools");
  c.exportWeights->add_option("model", f.input, "Model file")->required();
  c.exportWeights
      ->add_option("directory", f.directory,
                   "Output directory (created if missing)")
      ->required();

  c.validate =
      app.add_subcommand("validate", "Check a model file and report the first "
                                     "problem");
  c.validate->add_option("model", f.input, "Model file")->required();

  c.importNir = app.add_subcommand(
      "import-nir", "Convert a NIR graph (HDF5) into an fsnn model; "
                    "docs/nir.md says what imports and how");
  c.importNir->add_option("nir", f.input, "NIR file")->required();
  c.importNir->add_option("-o,--output", f.output, "Model file to write")
      ->required();
  c.importNir->add_option("--T", f.nirImport.timeSteps,
                          "Time steps (NIR graphs do not carry T; fsnn "
                          "exports do)");
  c.importNir
      ->add_option("--dt", f.nirImport.dt,
                   "Euler step, in the units of the file's tau (default "
                   "1e-4, as snnTorch writes)")
      ->check(CLI::PositiveNumber);
  c.importNir->add_option("--dtype", f.nirDtype, "Parameter precision")
      ->check(CLI::IsMember({"float32", "float64"}));
  c.importNir->add_option("--name", f.nirImport.graphName,
                          "Graph name of the model (default nir)");
  c.importNir
      ->add_option("--reset", f.nirImport.reset,
                   "zero (NIR's rule, the default) or subtract (fsnn's, "
                   "which IDE training needs; other dynamics)")
      ->check(CLI::IsMember({"zero", "subtract"}));
  c.importNir->add_flag("--ignore-fsnn-metadata", f.ignoreEmbedded,
                        "Import the graph even when it carries the fsnn "
                        "model it was exported from");

  c.exportNir = app.add_subcommand(
      "export-nir", "Write an fsnn model as a NIR graph (HDF5), as it runs "
                    "at inference");
  c.exportNir->add_option("model", f.input, "Model file")->required();
  c.exportNir->add_option("-o,--output", f.output, "NIR file to write")
      ->required();
  c.exportNir
      ->add_option("--dt", f.nirExport.dt,
                   "Euler step that tau and r are written for (default 1e-4)")
      ->check(CLI::PositiveNumber);
  c.exportNir->add_flag("--no-fsnn-metadata", f.noEmbed,
                        "Do not embed the fsnn model (which lets fsnn import "
                        "it back exactly)");
  return c;
}

void printNotes(const std::vector<std::string> &notes) {
  for (const std::string &note : notes)
    std::cerr << "fsnn-model: note: " << note << "\n";
}

int importNir(Flags &f) {
  f.nirImport.dtype =
      f.nirDtype == "float64" ? TensorProto::FLOAT64 : TensorProto::FLOAT32;
  f.nirImport.useEmbeddedModel = !f.ignoreEmbedded;
  ModelProto model;
  ModelInfo info;
  std::vector<std::string> notes;
  Status status =
      fsnn::nir::importNirFile(f.input, f.nirImport, model, info, notes);
  printNotes(notes);
  if (status)
    return fail(status.message());
  if (Status s = saveModel(model, f.output))
    return fail(s.message());
  std::cout << "wrote " << f.output << ": " << info.parameterCount
            << " parameters, " << info.neuronCount << " neurons\n";
  return 0;
}

int exportNir(Flags &f, const ModelProto &model, const ModelInfo &info) {
  f.nirExport.embedModel = !f.noEmbed;
  fsnn::nir::Item root;
  std::vector<std::string> notes;
  Status status = fsnn::nir::exportNir(model, info, f.nirExport, root, notes);
  printNotes(notes);
  if (status)
    return fail(f.input + ": " + status.message());
  if (Status s = fsnn::nir::writeNirFile(root, f.output))
    return fail(s.message());
  std::cout << "wrote " << f.output << "\n";
  return 0;
}

int create(const Flags &f, const Commands &c) {
  ZooOptions zoo = f.zoo;
  if (*c.leak)
    zoo.leak = f.leak;
  if (*c.timeSteps)
    zoo.timeSteps = f.timeSteps;
  zoo.dtype =
      f.dtypeName == "float64" ? TensorProto::FLOAT64 : TensorProto::FLOAT32;
  ModelInfo info;
  if (Status status = createModelFile(f.arch, zoo, f.output, info))
    return fail(status.message());
  std::cout << "wrote " << f.output << ": " << f.arch << ", "
            << info.parameterCount << " parameters, " << info.neuronCount
            << " neurons\n";
  return 0;
}

int run(int argc, char **argv) {
  CLI::App app{"fsnn-model: create, inspect and convert fsnn model files"};
  app.set_version_flag(
      "--version", fsnn::model::versionText("fsnn-model", "no LLVM/MLIR linked "
                                                          "(runtime side)"));
  app.require_subcommand(1);
  Flags f;
  Commands c = addCommands(app, f);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e);
  }
  if (c.create->parsed())
    return create(f, c);
  if (c.importNir->parsed())
    return importNir(f);

  ModelProto model;
  ModelInfo info;
  Format format;
  if (Status status = loadValidModel(f.input, model, info, &format))
    return fail(status.message());
  if (c.info->parsed() && f.json) {
    std::cout << describeModelJson(model, info);
  } else if (c.info->parsed()) {
    std::cout << "file: " << f.input << " ("
              << (format == Format::Text ? "text" : "binary") << ")\n"
              << describeModel(model, info);
  } else if (c.convert->parsed()) {
    Format target = f.to.empty()     ? formatForPath(f.output)
                    : f.to == "text" ? Format::Text
                                     : Format::Binary;
    if (Status status = saveModel(model, f.output, target))
      return fail(status.message());
  } else if (c.exportWeights->parsed()) {
    if (Status status = exportWeights(model, f.directory))
      return fail(status.message());
  } else if (c.exportNir->parsed()) {
    return exportNir(f, model, info);
  } else if (c.validate->parsed()) {
    std::cout << f.input << ": ok (" << info.parameterCount << " parameters, "
              << info.neuronCount << " neurons)\n";
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  return fsnn::tools::guardedMain("fsnn-model", run, argc, argv);
}
