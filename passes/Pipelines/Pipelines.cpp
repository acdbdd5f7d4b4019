//===- Pipelines.cpp - named fsnn pass pipelines --------------------------===//

#include "passes/Pipelines/Pipelines.h"

#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include "mlir/Transforms/Passes.h"
#include "passes/Passes.h"
#include <mutex>

using namespace mlir;

/// Appends the upstream passes of `text` (the contents of a module pipeline)
/// to `pm`. parsePassPipeline looks passes up in the global registry,
/// whoever calls the builders: upstream's and fsnn's passes are registered
/// first.
static LogicalResult addParsedStages(OpPassManager &pm, StringRef text,
                                     StringRef what) {
  static std::once_flag registered;
  std::call_once(registered, [] {
    registerAllPasses();
    fsnn::registerFSNNTransformsPasses();
  });
  std::string error;
  llvm::raw_string_ostream errorStream(error);
  LogicalResult parsed = parsePassPipeline(text, pm, errorStream);
  if (failed(parsed))
    llvm::errs() << "fsnn: cannot build the " << what << ": " << error << "\n";
  return parsed;
}

/// convert-fsnn-to-linalg for `target`, then parameter-only work (transposed
/// weights, the spectral weight) out of the time loop.
static void addFSNNToLinalgStages(OpPassManager &pm, StringRef target,
                                  const fsnn::CPUPipelineOptions &cpu = {}) {
  fsnn::ConvertFSNNToLinalgPassOptions lowering;
  lowering.target = target.str();
  lowering.vectorBits = cpu.vectorBits;
  lowering.propagateByChange = cpu.propagateByChange;
  lowering.parallelBatch = cpu.parallelBatch;
  pm.addPass(fsnn::createConvertFSNNToLinalgPass(lowering));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createLoopInvariantCodeMotionPass());
  if (!cpu.locationSnapshot.empty()) {
    LocationSnapshotOptions snapshot;
    snapshot.fileName = cpu.locationSnapshot;
    pm.addPass(createLocationSnapshot(snapshot));
  }
}

/// fsnn-generate-backward and the clean-up after it, for the training steps.
static void addBackwardStages(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(fsnn::createFSNNGenerateBackwardPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// Bufferization as it was found to work in LLVM 22 (docs/compiler.md),
/// the same for CPUs and GPUs: parameters and results become memref
/// arguments (inputs first, outputs after) behind the same C interface.
static constexpr StringLiteral kBufferizationStages =
    "func.func(convert-elementwise-to-linalg),"
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map "
    "allow-return-allocs-from-loops},"
    // In-place updates of a row leave a copy of a view onto itself: CSE
    // makes the two views one, and the canonicalizer drops the self-copy.
    "cse,canonicalize,"
    "buffer-results-to-out-params{hoist-static-allocs=true "
    "modify-public-functions=true},"
    "buffer-deallocation-pipeline,";

/// Host loops to the LLVM dialect.
static constexpr StringLiteral kHostLLVMStages =
    "func.func(convert-linalg-to-loops),"
    // Strided views (padding, frame slices) and the index arithmetic of
    // convolution windows must be expanded before convert-to-llvm.
    "expand-strided-metadata,"
    "lower-affine,"
    "convert-scf-to-cf,"
    // Before the generic conversion: it also lowers the in-bounds vector
    // transfers (the register tiles) to plain vector loads and stores.
    "convert-vector-to-llvm,"
    // Buffers through _mlir_memref_to_llvm_alloc/free, which the model's
    // support library (runtime/support/memref_alloc.c) serves from a cache
    // of freed buffers: no system allocation, no fresh pages, per call.
    "finalize-memref-to-llvm{use-generic-functions},"
    "convert-to-llvm,"
    "reconcile-unrealized-casts";

void fsnn::buildInferencePreparationPipeline(OpPassManager &pm) {
  pm.addPass(createFSNNStripDropoutPass());
  pm.addPass(createFSNNFoldBatchNormPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

LogicalResult
fsnn::buildCPULoweringPipeline(OpPassManager &pm,
                               const CPUPipelineOptions &options) {
  buildInferencePreparationPipeline(pm);
  return buildCPULoweringStages(pm, options);
}

LogicalResult
fsnn::buildCPUTrainingPipeline(OpPassManager &pm,
                               const CPUPipelineOptions &options) {
  addBackwardStages(pm);
  return buildCPULoweringStages(pm, options);
}

LogicalResult fsnn::buildCPULoweringStages(OpPassManager &pm,
                                           const CPUPipelineOptions &options) {
  addFSNNToLinalgStages(pm, "cpu", options);
  // Batch-sized splats filled at run time, not baked into the library. The
  // GPU pipeline sets splat globals with gpu.memset instead
  // (fsnn-place-on-device).
  pm.addPass(createFSNNMaterializeSplatsPass());
  std::string stages = kBufferizationStages.str();
  if (options.parallelBatch)
    // The canonicalizer inlines the alloca scopes the OpenMP conversion
    // wraps around each body (no alloca is in them), which convert-scf-to-cf
    // could not lower.
    stages += "func.func(fsnn-parallelize-batch-loops),convert-scf-to-openmp,"
              "canonicalize,";
  return addParsedStages(pm, stages + kHostLLVMStages.str(), "CPU pipeline");
}

namespace {
struct GPUPipelineCLOptions : public PassPipelineOptions<GPUPipelineCLOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("NVIDIA chip"), llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> features{
      *this, "features", llvm::cl::desc("PTX features (+ptx80 or newer)"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<std::string> format{
      *this, "format", llvm::cl::desc("isa (PTX), bin (cubin) or fatbin"),
      llvm::cl::init("isa")};
  PassOptions::Option<std::string> toolkit{
      *this, "toolkit", llvm::cl::desc("CUDA toolkit (ptxas, nvvm/libdevice)"),
      llvm::cl::init("/usr/local/cuda")};
  PassOptions::Option<int64_t> blockSize{*this, "block-size",
                                         llvm::cl::desc("threads per block"),
                                         llvm::cl::init(256)};
};

fsnn::GPUPipelineOptions gpuOptions(const GPUPipelineCLOptions &cl) {
  fsnn::GPUPipelineOptions options;
  options.chip = cl.chip;
  options.features = cl.features;
  options.format = cl.format;
  options.toolkit = cl.toolkit;
  options.blockSize = cl.blockSize;
  return options;
}
} // namespace

std::string fsnn::libdevicePath(const std::string &toolkit) {
  std::string path = toolkit + "/nvvm/libdevice/libdevice.10.bc";
  return llvm::sys::fs::exists(path) ? path : std::string();
}

LogicalResult fsnn::buildGPULoweringStages(OpPassManager &pm,
                                           int64_t blockSize) {
  addFSNNToLinalgStages(pm, "gpu");
  pm.addPass(createFSNNLegalizeKernelNamesPass());
  // Then every outermost parallel loop becomes a kernel and every buffer a
  // kernel touches device memory.
  return addParsedStages(
      pm,
      (kBufferizationStages +
       "func.func(convert-linalg-to-parallel-loops),canonicalize,"
       "func.func(fsnn-parallel-loops-to-gpu{block-size=" +
       std::to_string(blockSize) +
       "},fsnn-place-on-device),"
       // Constants now set on the device leave their host arrays unused.
       "symbol-dce")
          .str(),
      "GPU lowering stages");
}

LogicalResult
fsnn::buildGPULoweringPipeline(OpPassManager &pm,
                               const GPUPipelineOptions &options) {
  buildInferencePreparationPipeline(pm);
  if (failed(buildGPULoweringStages(pm, options.blockSize)))
    return failure();
  return buildGPUSerializationStages(pm, options);
}

LogicalResult
fsnn::buildGPUTrainingPipeline(OpPassManager &pm,
                               const GPUPipelineOptions &options) {
  addBackwardStages(pm);
  if (failed(buildGPULoweringStages(pm, options.blockSize)))
    return failure();
  return buildGPUSerializationStages(pm, options);
}

LogicalResult
fsnn::buildGPUSerializationStages(OpPassManager &pm,
                                  const GPUPipelineOptions &options) {
  // Upstream's gpu-lower-to-nvvm-pipeline, with CUDA's libdevice linked into
  // the kernels (math ops call __nv_sqrtf and the like) and async tokens for
  // the host side (TOOLCHAIN.md).
  std::string libdevice = libdevicePath(options.toolkit);
  std::string target = "chip=" + options.chip +
                       " features=" + options.features + " O=3" +
                       (libdevice.empty() ? "" : " l=" + libdevice);
  std::string text =
      "gpu-kernel-outlining,func.func(gpu-async-region),"
      "convert-nvgpu-to-nvvm,convert-vector-to-scf,convert-scf-to-cf,"
      "convert-nvvm-to-llvm,convert-func-to-llvm,expand-strided-metadata,"
      "nvvm-attach-target{" +
      target +
      "},"
      "lower-affine,convert-arith-to-llvm,convert-index-to-llvm,"
      "canonicalize,cse,"
      "gpu.module(strip-debuginfo,convert-gpu-to-nvvm,"
      "llvm-optimize-for-nvvm-target,canonicalize,cse,"
      "reconcile-unrealized-casts),"
      "gpu-to-llvm,"
      "gpu-module-to-binary{format=" +
      options.format + " toolkit=" + options.toolkit +
      "},"
      "convert-math-to-llvm,canonicalize,cse,reconcile-unrealized-casts";
  return addParsedStages(pm, text, "GPU pipeline");
}

LogicalResult fsnn::buildGPUEmulationPipeline(OpPassManager &pm,
                                              int64_t blockSize) {
  buildInferencePreparationPipeline(pm);
  return buildGPUEmulationStages(pm, blockSize);
}

LogicalResult fsnn::buildGPUEmulationStages(OpPassManager &pm,
                                            int64_t blockSize) {
  if (failed(buildGPULoweringStages(pm, blockSize)))
    return failure();
  pm.addNestedPass<func::FuncOp>(createFSNNGPUToHostLoopsPass());
  return addParsedStages(pm, kHostLLVMStages, "GPU emulation pipeline");
}

void fsnn::registerPipelines() {
  PassPipelineRegistration<>(
      "fsnn-prepare-inference",
      "Remove dropout, fold inference batch norm into linear/conv maps, "
      "canonicalize and CSE",
      buildInferencePreparationPipeline);
  PassPipelineRegistration<>(
      "fsnn-lower-to-llvm",
      "The CPU pipeline: inference preparation, convert-fsnn-to-linalg, "
      "bufferization, loops, the LLVM dialect",
      [](OpPassManager &pm) { (void)buildCPULoweringPipeline(pm); });
  PassPipelineRegistration<GPUPipelineCLOptions>(
      "fsnn-lower-to-nvvm",
      "The GPU pipeline: inference preparation, convert-fsnn-to-linalg "
      "(target=gpu), bufferization, parallel loops as kernels on device "
      "buffers, outlined and serialized for NVVM (PTX with format=isa, "
      "cubin or fatbin through CUDA's ptxas) with host code calling mgpu*",
      [](OpPassManager &pm, const GPUPipelineCLOptions &cl) {
        (void)buildGPULoweringPipeline(pm, gpuOptions(cl));
      });
  PassPipelineRegistration<GPUPipelineCLOptions>(
      "fsnn-lower-training-to-nvvm",
      "The training forward function for the GPU: fsnn-generate-backward, "
      "then the lowering and serialization stages of fsnn-lower-to-nvvm",
      [](OpPassManager &pm, const GPUPipelineCLOptions &cl) {
        (void)buildGPUTrainingPipeline(pm, gpuOptions(cl));
      });
  PassPipelineRegistration<>(
      "fsnn-lower-gpu-kernels-to-host",
      "The GPU pipeline's kernel stages (fsnn-parallel-loops-to-gpu, "
      "fsnn-place-on-device), then the kernels as host loops "
      "(fsnn-gpu-to-host-loops) and the CPU's LLVM stages: the GPU "
      "lowering run on a CPU, as an oracle",
      [](OpPassManager &pm) { (void)buildGPUEmulationPipeline(pm, 256); });
  PassPipelineRegistration<>(
      "fsnn-lower-training-to-llvm",
      "The training forward function to the LLVM dialect, for CPU: "
      "fsnn-generate-backward, then the lowering stages of "
      "fsnn-lower-to-llvm (dropout and training batch norm kept)",
      [](OpPassManager &pm) { (void)buildCPUTrainingPipeline(pm); });
}
