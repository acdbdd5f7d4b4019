// A dense linear map whose batch is a multiple of 4 and whose width is a
// multiple of 16 is register-blocked: blocks of 4 samples x 2 vectors of 16
// outputs (32 = 2 x 16) are read once from the bias-initialised output,
// carried over the inputs (each weight row read once per block, used by the
// 4 samples), and written back once. The output tiles are the outer loop
// (a tile's columns of the weight stay in cache for all the blocks).
// RUN: fsnn-opt %s -split-input-file -convert-fsnn-to-linalg | FileCheck %s
// For AVX2's 16 registers of 8 floats (vector-bits=256), at most 3 vectors
// per sample: 32 outputs are 4 vectors, tiled as 2 x 2.
// RUN: fsnn-opt %s -split-input-file -convert-fsnn-to-linalg=vector-bits=256 | FileCheck %s --check-prefix=AVX2
// RUN: not fsnn-opt %s -split-input-file -convert-fsnn-to-linalg=vector-bits=128 2>&1 | FileCheck %s --check-prefix=BITS
// BITS: convert-fsnn-to-linalg: vector-bits must be 256 or 512, not 128

// CHECK-LABEL: func.func @dense_tiled
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c32{{.*}} step %c32 iter_args
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c8{{.*}} step %c4{{.*}} iter_args
// CHECK-COUNT-8: vector.transfer_read %{{.*}} {in_bounds = [true]} : tensor<8x32xf32>, vector<16xf32>
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c3{{.*}} step %c1{{.*}} iter_args
// CHECK-COUNT-2: vector.transfer_read %{{.*}} {in_bounds = [true]} : tensor<3x32xf32>, vector<16xf32>
// CHECK: vector.broadcast
// CHECK-COUNT-8: vector.transfer_write
// AVX2-LABEL: func.func @dense_tiled
// AVX2: scf.for %{{.*}} = %c0{{.*}} to %c32{{.*}} step %c16 iter_args
// AVX2: scf.for %{{.*}} = %c0{{.*}} to %c8{{.*}} step %c4{{.*}} iter_args
// AVX2-COUNT-8: vector.transfer_read %{{.*}} {in_bounds = [true]} : tensor<8x32xf32>, vector<8xf32>
// AVX2-COUNT-8: vector.transfer_write
func.func @dense_tiled(%x: tensor<8x3xf32>, %w: tensor<32x3xf32>, %b: tensor<32xf32>) -> tensor<8x32xf32> {
  %y = fsnn.linear %x, %w, %b : tensor<8x3xf32>, tensor<32x3xf32>, tensor<32xf32> -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

// Other shapes keep the contraction over (b, i, o).
// CHECK-LABEL: func.func @dense_untiled
// AVX2-LABEL: func.func @dense_untiled
// AVX2: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]
// CHECK-NOT: vector.transfer_read
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]
func.func @dense_untiled(%x: tensor<6x3xf32>, %w: tensor<10x3xf32>) -> tensor<6x10xf32> {
  %y = fsnn.linear %x, %w : tensor<6x3xf32>, tensor<10x3xf32> -> tensor<6x10xf32>
  return %y : tensor<6x10xf32>
}
