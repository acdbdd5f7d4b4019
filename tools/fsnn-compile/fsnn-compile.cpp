//===- fsnn-compile.cpp - compile a model file to native code -------------===//
//
//   fsnn-compile m.fsnn|m.mlir -o m.so [-O0..3] [--target cpu|cuda]
//                [--chip sm_90] [--batch N] [--train]
//                [--emit mlir|llvm|obj|so] [--dump-pipeline]
//
// Flag parsing only; the work is FSNNCompile.
//
//===----------------------------------------------------------------------===//

#include "dialect/Target/Model/Translate.h"
#include "passes/Driver/Compile.h"
#include "runtime/model/Model.h"
#include "runtime/model/Version.h"
#include "tools/HideLLVMOptions.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;
namespace fm = ::fsnn::model;

// fsnn's options only in --help; LLVM's own are behind --help-hidden.
static cl::OptionCategory category("fsnn-compile options");

static cl::opt<std::string> input(cl::Positional,
                                  cl::desc("<model file, or .mlir in the fsnn "
                                           "dialect>"),
                                  cl::Required, cl::cat(category));
static cl::opt<std::string> output("o", cl::desc("Output file"),
                                   cl::value_desc("path"), cl::Required,
                                   cl::cat(category));
enum OptLevel { O0 = 0, O1 = 1, O2 = 2, O3 = 3 };
static cl::opt<OptLevel>
    optLevel(cl::desc("Optimisation level:"),
             cl::values(clEnumVal(O0, "none"), clEnumVal(O1, "some"),
                        clEnumVal(O2, "more"), clEnumVal(O3, "most (default)")),
             cl::init(O3), cl::cat(category));
static cl::opt<std::string> target("target",
                                   cl::desc("Target: cpu (default) or cuda"),
                                   cl::init("cpu"), cl::cat(category));
static cl::opt<std::string>
    cpu("cpu",
        cl::desc("Host CPU to compile for: host (this machine's, the "
                 "default) or an LLVM CPU name such as x86-64-v3, for a "
                 "library that runs elsewhere"),
        cl::init("host"), cl::cat(category));
static cl::opt<std::string> chip("chip",
                                 cl::desc("NVIDIA chip for --target cuda "
                                          "(sm_80, sm_90, ...)"),
                                 cl::init("sm_90"), cl::cat(category));
static cl::opt<std::string>
    cudaToolkit("cuda-toolkit",
                cl::desc("CUDA toolkit with ptxas and libdevice"),
                cl::init("/usr/local/cuda"), cl::cat(category));
static cl::opt<std::string> cudaWrappers(
    "cuda-wrappers",
    cl::desc("libfsnn_cuda_wrappers.a to link into CUDA models (default: "
             "next to this program, ../lib)"),
    cl::cat(category));
static cl::opt<std::string> modelSupport(
    "model-support",
    cl::desc("libfsnn_model_support.a to link into CPU models (default: next "
             "to this program, ../lib)"),
    cl::cat(category));
static cl::opt<bool> noThreads(
    "no-threads",
    cl::desc("Compile the training step for one thread (by default its loops "
             "over the batch run on OpenMP threads; fsnn-train --threads "
             "sets how many)"),
    cl::cat(category));
static cl::opt<std::string> openmpLibrary(
    "openmp-library",
    cl::desc("libomp.so to link into training steps (default: the one fsnn "
             "was built with)"),
    cl::init(FSNN_OPENMP_LIBRARY), cl::cat(category));
static cl::opt<int64_t> batch("batch",
                              cl::desc("Batch size the code is compiled for "
                                       "(default 128, as in every tool; the "
                                       "runtime runs one compiled batch per "
                                       "thread, so for inference on N threads "
                                       "compile for run batch / N)"),
                              cl::init(128), cl::cat(category));
static cl::opt<mlir::fsnn::EmitKind>
    emit("emit", cl::desc("What to write"),
         cl::values(
             clEnumValN(mlir::fsnn::EmitKind::MLIR, "mlir", "the LLVM dialect"),
             clEnumValN(mlir::fsnn::EmitKind::LLVMIR, "llvm", "LLVM IR"),
             clEnumValN(mlir::fsnn::EmitKind::Object, "obj", "an object file"),
             clEnumValN(mlir::fsnn::EmitKind::SharedLibrary, "so",
                        "a shared library (the default)")),
         cl::init(mlir::fsnn::EmitKind::SharedLibrary), cl::cat(category));
static cl::opt<bool>
    train("train",
          cl::desc("Compile the training step (forward in training mode, "
                   "implicit backward, gradients) instead of inference; "
                   "fsnn-train --backend compiled runs it"),
          cl::cat(category));
static cl::opt<bool> sharded(
    "sharded",
    cl::desc("With --train: compile the step of one shard of a larger global "
             "batch, batch norm on the statistics of the whole batch that "
             "fsnn-train passes in (data-parallel training over MPI, and "
             "fsnn-train --batch a multiple of the compiled batch)"),
    cl::cat(category));
static cl::opt<std::string> maxMemory(
    "max-memory",
    cl::desc("Refuse models that would need more than this at run time, "
             "estimated before anything is allocated (default 4G; K, M, G, "
             "T suffixes)"),
    cl::init("4G"), cl::cat(category));
static cl::opt<bool> dumpPipeline("dump-pipeline",
                                  cl::desc("Print the pass pipeline"),
                                  cl::cat(category));
static cl::opt<std::string> profileLines(
    "profile-lines",
    cl::desc("CPU: write the IR after convert-fsnn-to-linalg to this file and "
             "give the native code line tables into it, for a profiler "
             "(perf report --sort srcline)"),
    cl::value_desc("file"), cl::cat(category));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  ::fsnn::tools::hideLLVMOptions(category);
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << fm::versionText("fsnn-compile", "LLVM/MLIR " LLVM_VERSION_STRING);
  });
  cl::ParseCommandLineOptions(
      argc, argv,
      "fsnn-compile: a model file (.fsnn, .fsnn.txt) or its fsnn-dialect "
      "form (.mlir, as fsnn-translate --import writes it) to native code\n");
  auto fail = [](const std::string &message) {
    llvm::errs() << "fsnn-compile: error: " << message << "\n";
    return 1;
  };
  if (target != "cpu" && target != "cuda")
    return fail("--target " + target + " is not a target (cpu or cuda)");
  if (target == "cuda" && !llvm::StringRef(chip).starts_with("sm_"))
    return fail("--chip " + chip +
                " is not an NVIDIA chip (sm_80, sm_90, ...)");
  if (batch < 1 || batch > (int64_t(1) << 20))
    return fail("--batch must be in [1, 1048576], got " +
                std::to_string(batch));
  fm::ModelProto model;
  if (llvm::StringRef(input).ends_with(".mlir")) {
    std::string error;
    if (!mlir::fsnn::loadModelFromMLIR(input, model, error)) {
      llvm::errs() << error << "\n";
      return fail(input + " is not a model in the fsnn dialect (fsnn-compile "
                          "takes a model file, or the dialect form "
                          "fsnn-translate --import writes)");
    }
  } else if (fm::Status status = fm::loadModel(input, model)) {
    return fail(status.message());
  }
  mlir::fsnn::CompileOptions options;
  if (!fm::parseByteSize(maxMemory, options.maxMemory))
    return fail("--max-memory " + maxMemory +
                " is not a size (4G, 512M, 100000)");
  options.batch = batch;
  options.optLevel = static_cast<unsigned>(optLevel.getValue());
  options.emit = emit;
  options.output = output;
  options.dumpPipeline = dumpPipeline;
  options.profileLines = profileLines;
  options.training = train;
  options.sharded = sharded;
  if (sharded && !train)
    return fail("--sharded compiles a training step; add --train");
  options.threads = !noThreads;
  options.openmpLibrary = openmpLibrary;
  options.target = target;
  options.chip = chip;
  options.cpu = cpu;
  options.cudaToolkit = cudaToolkit;
  // The archives linked into models: next to this program by default.
  auto besideProgram = [&](const char *archive) {
    std::string self = llvm::sys::fs::getMainExecutable(
        argv[0], reinterpret_cast<void *>(&main));
    llvm::SmallString<256> path(llvm::sys::path::parent_path(self));
    llvm::sys::path::append(path, "..", "lib", archive);
    return std::string(path);
  };
  options.cudaWrappers = cudaWrappers.empty()
                             ? besideProgram("libfsnn_cuda_wrappers.a")
                             : std::string(cudaWrappers);
  options.modelSupport = modelSupport.empty()
                             ? besideProgram("libfsnn_model_support.a")
                             : std::string(modelSupport);
  if (llvm::Error error = mlir::fsnn::compileModel(model, options))
    return fail(input + ": " + llvm::toString(std::move(error)));
  return 0;
}
