//===- Pipelines.h - named fsnn pass pipelines ------------------*- C++ -*-===//
//
// Pipelines are plain functions so that fsnn-opt (through the registered
// names) and the compiler driver build exactly the same pass lists.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_PASSES_PIPELINES_H
#define FSNN_PASSES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

#include <string>

namespace mlir::fsnn {

/// Inference preparation: remove dropout, fold inference batch norm into the
/// preceding linear/conv maps (hoisted out of the time loop), then
/// canonicalize, which folds constant parameters, and CSE.
void buildInferencePreparationPipeline(OpPassManager &pm);

/// How the CPU pipelines lower.
struct CPUPipelineOptions {
  /// Register tiles are sized for `vectorBits`-bit vector registers (512 for
  /// AVX-512, 256 for AVX2; fsnn-compile asks the target CPU).
  unsigned vectorBits = 512;
  /// Simulations visit only the neurons whose spike changed
  /// (convert-fsnn-to-linalg's propagate-by-change); without it, every sum
  /// runs in the dense map's order, as the GPU lowering's do.
  bool propagateByChange = true;
  /// Run the loops over the batch whose iterations are independent on the
  /// threads of the OpenMP runtime (convert-fsnn-to-linalg's parallel-batch,
  /// fsnn-parallelize-batch-loops, convert-scf-to-openmp): the library then
  /// needs libomp. Results are bit for bit those of the sequential loops.
  bool parallelBatch = false;
  /// Where to write the IR right after convert-fsnn-to-linalg, whose lines
  /// then become the locations of everything lowered from it (MLIR's
  /// snapshot-op-locations), or "" for none: with line tables
  /// (fsnn-compile --profile-lines), a profiler attributes machine code to
  /// the linalg-level ops.
  std::string locationSnapshot;
};

/// The inference model to the LLVM dialect, for CPU: inference preparation,
/// convert-fsnn-to-linalg, then bufferization (parameters and results become
/// memref arguments: inputs first, outputs after), loops and LLVM. Fails
/// only if the upstream part of the pipeline cannot be parsed.
LogicalResult buildCPULoweringPipeline(OpPassManager &pm,
                                       const CPUPipelineOptions &options = {});

/// The training forward function (fsnn-translate --import --training) to the
/// LLVM dialect, for CPU: fsnn-generate-backward derives the implicit
/// backward, then the same lowering stages as inference, without the
/// inference preparation (dropout and batch statistics are part of training).
LogicalResult buildCPUTrainingPipeline(OpPassManager &pm,
                                       const CPUPipelineOptions &options = {});

/// What both pipelines share after their fsnn-level passes:
/// convert-fsnn-to-linalg, loop-invariant code motion, bufferization, loops
/// and the LLVM dialect.
LogicalResult buildCPULoweringStages(OpPassManager &pm,
                                     const CPUPipelineOptions &options = {});

struct GPUPipelineOptions {
  std::string chip = "sm_90";
  /// sm_90 needs PTX 8.0 or newer (the default +ptx60 aborts).
  std::string features = "+ptx80";
  /// isa: PTX text (no CUDA needed); bin, fatbin: through CUDA's ptxas.
  std::string format = "isa";
  /// The CUDA toolkit: ptxas for bin/fatbin, nvvm/libdevice for math.
  std::string toolkit = "/usr/local/cuda";
  int64_t blockSize = 256;
};

/// libdevice.10.bc under `toolkit`, or "" if it is not there (the kernels'
/// math calls then stay unresolved, and only format=isa is useful).
std::string libdevicePath(const std::string &toolkit);

/// What the GPU pipelines share after their fsnn-level passes, up to kernels
/// on device buffers, before outlining: convert-fsnn-to-linalg with
/// target=gpu, bufferization with the CPU's C interface, every outermost
/// parallel loop a kernel of `blockSize` threads per block
/// (fsnn-parallel-loops-to-gpu), buffers in device memory, host-side
/// sequential work as one-thread kernels (fsnn-place-on-device).
LogicalResult buildGPULoweringStages(OpPassManager &pm, int64_t blockSize);

/// Outlining, NVVM, serialization (libdevice linked) and the host code's
/// mgpu* calls (runtime/cuda), as upstream's gpu-lower-to-nvvm-pipeline with
/// async tokens.
LogicalResult buildGPUSerializationStages(OpPassManager &pm,
                                          const GPUPipelineOptions &options);

/// buildGPULoweringStages, then the kernels run as host loops
/// (fsnn-gpu-to-host-loops) and the CPU's LLVM stages: the GPU lowering
/// executed on a CPU, which the tests compare with the reference executor.
LogicalResult buildGPUEmulationStages(OpPassManager &pm, int64_t blockSize);

/// Inference preparation, then buildGPUEmulationStages.
LogicalResult buildGPUEmulationPipeline(OpPassManager &pm, int64_t blockSize);

/// The inference model to NVVM kernels and host code that launches them:
/// inference preparation, buildGPULoweringStages,
/// buildGPUSerializationStages. The time loop stays on the host: each step
/// launches its maps' kernels and one fused neuron-update kernel.
LogicalResult buildGPULoweringPipeline(OpPassManager &pm,
                                       const GPUPipelineOptions &options);

/// The training step for the GPU: fsnn-generate-backward, then the GPU
/// lowering and serialization stages. The adjoint's solver loop stays on
/// the host, reading its per-iteration convergence decision back from the
/// device.
LogicalResult buildGPUTrainingPipeline(OpPassManager &pm,
                                       const GPUPipelineOptions &options);

/// Registers every named pipeline with the global pipeline registry.
void registerPipelines();

} // namespace mlir::fsnn

#endif // FSNN_PASSES_PIPELINES_H
