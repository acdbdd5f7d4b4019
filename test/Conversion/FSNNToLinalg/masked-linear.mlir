// A linear map of a gradient masked by the clamp's derivative (the adjoint's
// operator: zero outside the clamp's linear range) visits only the non-zero
// inputs. Per chunk of 16 samples, each sample's non-zero positions are
// compacted (by table lookup, 8 lanes at a time) per block of inputs; then per output tile (10 vectors with
// AVX2), block and sample, a register tile sums the terms with fused
// multiply-adds, as the dense form does.
// RUN: fsnn-opt %s -split-input-file -convert-fsnn-to-linalg=vector-bits=256 | FileCheck %s
// RUN: fsnn-opt %s -split-input-file -convert-fsnn-to-linalg="vector-bits=256 parallel-batch=true" | FileCheck %s --check-prefix=THREADS

// CHECK-LABEL: func.func @masked
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c1{{.*}} step %c1{{.*}} iter_args
// CHECK: bufferization.alloc_tensor() : tensor<1024xi32>
// CHECK: bufferization.alloc_tensor() : tensor<32xindex>
// The 64 inputs in blocks of 32: 10 vectors x 32 rows x 4 bytes <= 16 KiB.
// CHECK: tensor.extract_slice %{{.*}}[0, %{{.*}}] [16, 32] [1, 1] : tensor<16x64xf32> to tensor<16x32xf32>
// CHECK: vector.bitcast %{{.*}} : vector<8xi1> to vector<1xi8>
// CHECK: vector.transfer_write %{{.*}} : vector<8xi32>, tensor<1024xi32>
// CHECK: math.ctpop
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c80{{.*}} step %c80{{.*}} iter_args
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c2{{.*}} step %c1{{.*}} iter_args
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c16{{.*}} step %c1{{.*}} iter_args
// CHECK-COUNT-10: vector.transfer_read %{{.*}} {in_bounds = [true]} : tensor<16x80xf32>, vector<8xf32>
// CHECK: scf.for
// CHECK: vector.broadcast
// CHECK: vector.transfer_read %{{.*}} : tensor<64x80xf32>, vector<8xf32>
// CHECK-NEXT: vector.fma %{{.*}} : vector<8xf32>
// CHECK-COUNT-10: vector.transfer_write
// THREADS-LABEL: func.func @masked
// THREADS: } {fsnn.parallel}
func.func @masked(%rate: tensor<16x64xf32>, %g: tensor<16x64xf32>, %mask: tensor<16x64xf32>, %w: tensor<80x64xf32>) -> tensor<16x80xf32> {
  %d = fsnn.clamp_rate_grad %rate, %g {threshold = 2.0 : f64} : tensor<16x64xf32>
  %m = fsnn.dropout %d, %mask : tensor<16x64xf32>
  %y = fsnn.linear %m, %w : tensor<16x64xf32>, tensor<80x64xf32> -> tensor<16x80xf32>
  return %y : tensor<16x80xf32>
}

// -----

// An unmasked input keeps the dense form, as does a batch that is not a
// multiple of the chunk.
// CHECK-LABEL: func.func @unmasked
// CHECK-NOT: alloc_tensor
// CHECK: step %c4
// CHECK-LABEL: func.func @small_batch
// CHECK-NOT: alloc_tensor
// CHECK: step %c4
func.func @unmasked(%x: tensor<16x64xf32>, %w: tensor<80x64xf32>) -> tensor<16x80xf32> {
  %y = fsnn.linear %x, %w : tensor<16x64xf32>, tensor<80x64xf32> -> tensor<16x80xf32>
  return %y : tensor<16x80xf32>
}
func.func @small_batch(%rate: tensor<8x64xf32>, %g: tensor<8x64xf32>, %w: tensor<80x64xf32>) -> tensor<8x80xf32> {
  %d = fsnn.clamp_rate_grad %rate, %g {threshold = 2.0 : f64} : tensor<8x64xf32>
  %y = fsnn.linear %d, %w : tensor<8x64xf32>, tensor<80x64xf32> -> tensor<8x80xf32>
  return %y : tensor<8x80xf32>
}
