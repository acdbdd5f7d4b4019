//===- fsnn-model.cpp - create, inspect and convert model files -----------===//
//
// Flag parsing (CLI11) and calls into the model-format library; no MLIR.
//
//===----------------------------------------------------------------------===//

#include "runtime/model/Describe.h"
#include "runtime/model/Model.h"
#include "runtime/model/Validate.h"
#include "runtime/model/Version.h"
#include "training/zoo/Zoo.h"

#include "tools/GuardedMain.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <iostream>

using namespace fsnn::model;

namespace {

/// "0003-f.weight" for tensor 3 named "f.weight": unique, and only
/// [A-Za-z0-9._-] after the index, whatever the name holds ("/", "..").
std::string safeFileName(int index, const std::string &name) {
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "%04d-", index);
  std::string file = prefix;
  for (char c : name.substr(0, 100))
    file += std::isalnum(static_cast<unsigned char>(c)) || c == '.' ||
                    c == '_' || c == '-'
                ? c
                : '_';
  return file;
}

int fail(const std::string &message) {
  std::cerr << "fsnn-model: error: " << message << "\n";
  return 1;
}

/// Loads and validates; every subcommand that reads a model goes through it.
Status loadValidModel(const std::string &path, ModelProto &model,
                      ModelInfo &info, Format *format = nullptr) {
  if (Status status = loadModel(path, model, format))
    return status;
  if (Status status = validateModel(model, info))
    return Status::error(path + ": " + status.message());
  return Status();
}

} // namespace

namespace {
int run(int argc, char **argv) {
  CLI::App app{"fsnn-model: create, inspect and convert fsnn model files"};
  app.set_version_flag(
      "--version", fsnn::model::versionText("fsnn-model", "no LLVM/MLIR linked "
                                                          "(runtime side)"));
  app.require_subcommand(1);

  std::string arch, output, dtypeName = "float32";
  ZooOptions zoo;
  double leak = 0;
  int64_t timeSteps = 0;
  CLI::App *create =
      app.add_subcommand("create", "Create one of the paper's architectures");
  create->add_option("arch", arch, "Architecture")
      ->required()
      ->check(CLI::IsMember(zooArchitectures()));
  create->add_option("-o,--output", output, "Model file to write")->required();
  create->add_option("--neuron", zoo.neuron, "Neuron model")
      ->check(CLI::IsMember({"if", "lif"}));
  CLI::Option *leakOption =
      create->add_option("--leak", leak, "LIF leak λ in (0, 1]");
  CLI::Option *stepsOption =
      create->add_option("--T", timeSteps, "Time steps (>= 1)");
  create->add_option("--vth", zoo.threshold, "Firing threshold V_th (> 0)");
  create->add_option("--seed", zoo.seed, "Seed of the initialisation");
  create->add_option("--dtype", dtypeName, "Parameter precision")
      ->check(CLI::IsMember({"float32", "float64"}));

  std::string input;
  CLI::App *info = app.add_subcommand(
      "info", "Print the architecture, shapes and parameter/neuron counts");
  info->add_option("model", input, "Model file")->required();

  std::string to;
  CLI::App *convert = app.add_subcommand(
      "convert", "Convert between the binary and the text form");
  convert->add_option("model", input, "Model file to read")->required();
  convert->add_option("-o,--output", output, "Model file to write")->required();
  convert
      ->add_option("--to", to,
                   "Output form (default: text for a .txt name, else "
                   "binary)")
      ->check(CLI::IsMember({"binary", "text"}));

  std::string directory;
  CLI::App *exportWeights = app.add_subcommand(
      "export-weights",
      "Write every initializer as raw little-endian data (NAME.bin) and a "
      "manifest.json naming dims and dtypes, for other tools");
  exportWeights->add_option("model", input, "Model file")->required();
  exportWeights
      ->add_option("directory", directory,
                   "Output directory (created if missing)")
      ->required();

  CLI::App *validate =
      app.add_subcommand("validate", "Check a model file and report the first "
                                     "problem");
  validate->add_option("model", input, "Model file")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e);
  }

  if (create->parsed()) {
    if (*leakOption)
      zoo.leak = leak;
    if (*stepsOption)
      zoo.timeSteps = timeSteps;
    zoo.dtype =
        dtypeName == "float64" ? TensorProto::FLOAT64 : TensorProto::FLOAT32;
    ModelProto model;
    if (Status status = createModel(arch, zoo, model))
      return fail(status.message());
    ModelInfo modelInfo;
    if (Status status = validateModel(model, modelInfo))
      return fail("internal error: the created model is invalid: " +
                  status.message());
    if (Status status = saveModel(model, output))
      return fail(status.message());
    std::cout << "wrote " << output << ": " << arch << ", "
              << modelInfo.parameterCount << " parameters, "
              << modelInfo.neuronCount << " neurons\n";
    return 0;
  }

  ModelProto model;
  ModelInfo modelInfo;
  Format format;
  if (Status status = loadValidModel(input, model, modelInfo, &format))
    return fail(status.message());

  if (info->parsed()) {
    std::cout << "file: " << input << " ("
              << (format == Format::Text ? "text" : "binary") << ")\n"
              << describeModel(model, modelInfo);
  } else if (convert->parsed()) {
    Format target = to.empty()     ? formatForPath(output)
                    : to == "text" ? Format::Text
                                   : Format::Binary;
    if (Status status = saveModel(model, output, target))
      return fail(status.message());
  } else if (exportWeights->parsed()) {
    std::error_code error;
    std::filesystem::create_directories(directory, error);
    if (error)
      return fail(directory +
                  ": cannot create the directory: " + error.message());
    nlohmann::json manifest = nlohmann::json::array();
    int index = 0;
    for (const TensorProto &tensor : model.graph().initializers()) {
      std::vector<double> values = tensorValues(tensor);
      std::string bytes;
      if (tensor.dtype() == TensorProto::FLOAT64) {
        bytes.assign(reinterpret_cast<const char *>(values.data()),
                     values.size() * sizeof(double));
      } else {
        std::vector<float> narrow(values.begin(), values.end());
        bytes.assign(reinterpret_cast<const char *>(narrow.data()),
                     narrow.size() * sizeof(float));
      }
      // Tensor names are the model file's words: never a path. The file
      // name is the tensor's position plus its name in a safe alphabet.
      std::string file = safeFileName(index++, tensor.name()) + ".bin";
      if (Status status = writeFileAtomically(directory + "/" + file, bytes))
        return fail(status.message());
      manifest.push_back({{"name", tensor.name()},
                          {"file", file},
                          {"dtype", fsnn::model::dtypeName(tensor.dtype())},
                          {"dims", std::vector<int64_t>(tensor.dims().begin(),
                                                        tensor.dims().end())}});
    }
    if (Status status = writeFileAtomically(directory + "/manifest.json",
                                            manifest.dump(2) + "\n"))
      return fail(status.message());
  } else if (validate->parsed()) {
    std::cout << input << ": ok (" << modelInfo.parameterCount
              << " parameters, " << modelInfo.neuronCount << " neurons)\n";
  }
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  return fsnn::tools::guardedMain("fsnn-model", run, argc, argv);
}
