//===- fsnn-translate.cpp - model files to and from the fsnn dialect ------===//
//
//   fsnn-translate --import m.fsnn [-o out.mlir] [--batch N]
//   fsnn-translate --export in.mlir -o m.fsnn [--text]
//
// Flag parsing and file handling only; the translation is FSNNTranslate.
//
//===----------------------------------------------------------------------===//

#include "dialect/Target/Model/Translate.h"
#include "runtime/model/Model.h"
#include "runtime/model/Validate.h"
#include "runtime/model/Version.h"
#include "tools/HideLLVMOptions.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace fm = ::fsnn::model;

// fsnn's options only in --help; LLVM's and MLIR's printing options are
// behind --help-hidden.
static llvm::cl::OptionCategory category("fsnn-translate options");

static llvm::cl::opt<std::string> inputPath(llvm::cl::Positional,
                                            llvm::cl::desc("<input file>"),
                                            llvm::cl::Required,
                                            llvm::cl::cat(category));
static llvm::cl::opt<bool> importMode("import",
                                      llvm::cl::desc("Model file -> MLIR"),
                                      llvm::cl::cat(category));
static llvm::cl::opt<bool> exportMode("export",
                                      llvm::cl::desc("MLIR -> model file"),
                                      llvm::cl::cat(category));
static llvm::cl::opt<std::string>
    outputPath("o", llvm::cl::desc("Output file (import: default stdout)"),
               llvm::cl::value_desc("path"), llvm::cl::cat(category));
static llvm::cl::opt<int64_t>
    batch("batch",
          llvm::cl::desc("Batch size of the imported function (default 128, "
                         "as in every tool)"),
          llvm::cl::init(128), llvm::cl::cat(category));
static llvm::cl::opt<bool> training(
    "training",
    llvm::cl::desc("Import the training forward function (batch statistics, "
                   "the power iteration, labels and the loss) for "
                   "fsnn-generate-backward"),
    llvm::cl::cat(category));
static llvm::cl::opt<bool>
    textOutput("text",
               llvm::cl::desc("Export the protobuf text form "
                              "(default: text for a .txt path)"),
               llvm::cl::cat(category));

static int fail(const std::string &message) {
  llvm::errs() << "fsnn-translate: error: " << message << "\n";
  return 1;
}

static int runImport(MLIRContext &context) {
  fm::ModelProto model;
  fm::ModelInfo info;
  if (fm::Status status = fm::loadValidModel(inputPath, model, info))
    return fail(status.message());
  mlir::fsnn::ImportOptions options;
  options.batch = batch;
  options.training = training;
  OwningOpRef<ModuleOp> module =
      mlir::fsnn::importModel(model, info, &context, options);
  if (!module)
    return 1;
  std::string text;
  llvm::raw_string_ostream os(text);
  // Locations carry the model's layer names; printing them keeps the names
  // through a text round trip, so diagnostics and re-exports still use them.
  module->print(os, OpPrintingFlags().enableDebugInfo());
  os.flush();
  if (outputPath.empty() || outputPath == "-") {
    llvm::outs() << text;
    return 0;
  }
  if (fm::Status status = fm::writeFileAtomically(outputPath, text))
    return fail(status.message());
  return 0;
}

static int runExport() {
  if (outputPath.empty())
    return fail("--export needs an output file (-o m.fsnn)");
  fm::ModelProto model;
  std::string error;
  if (!mlir::fsnn::loadModelFromMLIR(inputPath, model, error)) {
    llvm::errs() << error << "\n";
    return 1;
  }
  fm::Format format =
      textOutput ? fm::Format::Text : fm::formatForPath(outputPath);
  if (fm::Status status = fm::saveModel(model, outputPath, format))
    return fail(status.message());
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  ::fsnn::tools::hideLLVMOptions(category);
  llvm::cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << fm::versionText("fsnn-translate", "LLVM/MLIR " LLVM_VERSION_STRING);
  });
  llvm::cl::ParseCommandLineOptions(
      argc, argv, "fsnn-translate: model files to and from the fsnn dialect\n");
  if (importMode == exportMode)
    return fail("give exactly one of --import and --export");
  if (exportMode)
    return runExport();

  DialectRegistry registry;
  mlir::fsnn::registerTranslateDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  return runImport(context);
}
