//===- fsnn-translate.cpp - model files to and from the fsnn dialect ------===//
//
//   fsnn-translate --import m.fsnn [-o out.mlir] [--batch N]
//   fsnn-translate --export in.mlir -o m.fsnn [--text]
//
// Flag parsing and file handling only; the translation is FSNNTranslate.
//
//===----------------------------------------------------------------------===//

#include "Model.h"
#include "Validate.h"
#include "dialect/translate/Translate.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace fm = ::fsnn::model;

static llvm::cl::opt<std::string> inputPath(llvm::cl::Positional,
                                            llvm::cl::desc("<input file>"),
                                            llvm::cl::Required);
static llvm::cl::opt<bool> importMode("import",
                                      llvm::cl::desc("Model file -> MLIR"));
static llvm::cl::opt<bool> exportMode("export",
                                      llvm::cl::desc("MLIR -> model file"));
static llvm::cl::opt<std::string>
    outputPath("o", llvm::cl::desc("Output file (import: default stdout)"),
               llvm::cl::value_desc("path"));
static llvm::cl::opt<int64_t>
    batch("batch", llvm::cl::desc("Batch size of the imported function"),
          llvm::cl::init(1));
static llvm::cl::opt<bool> training(
    "training",
    llvm::cl::desc("Import the training forward function (batch statistics, "
                   "the power iteration, labels and the loss) for "
                   "fsnn-generate-backward"));
static llvm::cl::opt<bool>
    textOutput("text", llvm::cl::desc("Export the protobuf text form "
                                      "(default: text for a .txt path)"));

static int fail(const std::string &message) {
  llvm::errs() << "fsnn-translate: error: " << message << "\n";
  return 1;
}

static int runImport(MLIRContext &context) {
  fm::ModelProto model;
  fm::ModelInfo info;
  if (fm::Status status = fm::loadModel(inputPath, model))
    return fail(status.message());
  if (fm::Status status = fm::validateModel(model, info))
    return fail(inputPath + ": " + status.message());
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

static int runExport(MLIRContext &context) {
  if (outputPath.empty())
    return fail("--export needs an output file (-o m.fsnn)");
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  std::string error;
  auto file = openInputFile(inputPath, &error);
  if (!file)
    return fail(error);
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;
  fm::ModelProto model;
  if (failed(mlir::fsnn::exportModel(*module, model)))
    return 1;
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
  llvm::cl::ParseCommandLineOptions(
      argc, argv, "fsnn-translate: model files to and from the fsnn dialect\n");
  if (importMode == exportMode)
    return fail("give exactly one of --import and --export");

  DialectRegistry registry;
  mlir::fsnn::registerTranslateDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  return importMode ? runImport(context) : runExport(context);
}
