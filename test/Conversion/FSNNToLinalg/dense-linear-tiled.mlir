// A dense linear map whose batch is a multiple of 4 and whose width is a
// multiple of 16 is register-blocked: blocks of 4 samples x 2 vectors of 16
// outputs (32 = 2 x 16) are read once from the bias-initialised output,
// carried over the inputs (each weight row read once per block, used by the
// 4 samples; one fused multiply-add per term), and written back once. The
// output tiles are the outer loop (a tile's columns of the weight stay in
// cache for all the blocks).
// RUN: fsnn-opt %s -split-input-file -convert-fsnn-to-linalg | FileCheck %s
// For AVX2's 16 registers of 8 floats (vector-bits=256), at most 3 vectors
// per sample: 32 outputs are 4 vectors, tiled as 2 x 2.
// RUN: fsnn-opt %s -split-input-file -convert-fsnn-to-linalg=vector-bits=256 | FileCheck %s --check-prefix=AVX2
// RUN: fsnn-opt %s -split-input-file -convert-fsnn-to-linalg -canonicalize | FileCheck %s --check-prefix=CANON
// RUN: not fsnn-opt %s -split-input-file -convert-fsnn-to-linalg=vector-bits=128 2>&1 | FileCheck %s --check-prefix=BITS
// BITS: convert-fsnn-to-linalg: vector-bits must be 256 or 512, not 128

// CHECK-LABEL: func.func @dense_tiled
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c32{{.*}} step %c32 iter_args
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c8{{.*}} step %c4{{.*}} iter_args
// CHECK-COUNT-8: vector.transfer_read %{{.*}} {in_bounds = [true]} : tensor<8x32xf32>, vector<16xf32>
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c3{{.*}} step %c1{{.*}} iter_args
// CHECK-COUNT-2: vector.transfer_read %{{.*}} {in_bounds = [true]} : tensor<3x32xf32>, vector<16xf32>
// CHECK: vector.broadcast
// CHECK: vector.fma {{.*}} : vector<16xf32>
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

// -----

// A batch norm folded into the weight: its rows are scaled by
// gamma * rsqrt(variance + eps) while the weight is transposed by 8 x 8
// blocks (one pass over W, the same products), and the folded weight itself
// is left unused.
// CHECK-LABEL: func.func @folded_batch_norm_transposed
// CHECK: %[[SCALE:.*]] = linalg.generic {{.*}} ins(%arg2, %arg5 : tensor<16xf32>, tensor<16xf32>) outs(%{{.*}} : tensor<16xf32>)
// CHECK: math.rsqrt
// CHECK: scf.for
// CHECK: %[[ROW:.*]] = vector.transfer_read %arg1[%{{.*}}, %{{.*}}]{{.*}} : tensor<16x8xf32>, vector<8xf32>
// CHECK: %[[FACTOR:.*]] = tensor.extract %[[SCALE]][%{{.*}}] : tensor<16xf32>
// CHECK: %[[SPLAT:.*]] = vector.broadcast %[[FACTOR]] : f32 to vector<8xf32>
// CHECK: arith.mulf %[[ROW]], %[[SPLAT]] : vector<8xf32>
// CHECK: vector.transpose
// CANON-LABEL: func.func @folded_batch_norm_transposed
// CANON-NOT: outs(%{{.*}} : tensor<16x8xf32>)
// CANON: return
func.func @folded_batch_norm_transposed(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %g: tensor<16xf32>, %be: tensor<16xf32>, %m: tensor<16xf32>, %v: tensor<16xf32>) -> tensor<4x16xf32> {
  %fw, %fb = fsnn.fold_batch_norm %w, %g, %be, %m, %v {epsilon = 1.0e-05 : f64} : tensor<16x8xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32> -> tensor<16x8xf32>, tensor<16xf32>
  %y = fsnn.linear %x, %fw, %fb : tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// Outputs that are not whole vectors (a readout's 10 classes) take the dot
// form on W itself, two outputs per block here: per sample, a vector of
// partial sums per output over the inputs, summed at the end (not one
// scalar term and store at a time).
// AVX2-LABEL: func.func @readout_dot
// AVX2: scf.for %{{.*}} = %c0{{.*}} to %c5{{.*}} step %c1
// AVX2: scf.for %{{.*}} = %c0{{.*}} to %c16{{.*}} step %c8{{.*}} iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>)
// AVX2: vector.transfer_read %arg0{{.*}} : tensor<4x16xf32>, vector<8xf32>
// AVX2-COUNT-2: vector.fma
// AVX2-COUNT-2: vector.reduction <add>
func.func @readout_dot(%x: tensor<4x16xf32>, %w: tensor<10x16xf32>) -> tensor<4x10xf32> {
  %y = fsnn.linear %x, %w : tensor<4x16xf32>, tensor<10x16xf32> -> tensor<4x10xf32>
  return %y : tensor<4x10xf32>
}

// -----

// The spectral reparameterisation's factor clamp(g, -1, 1) / σ̂ scales V's
// rows while V is transposed for a linear map (the same products), and the
// effective weight itself is left unused.
// CHECK-LABEL: func.func @spectral_weight_transposed
// CHECK: %[[FACTOR:.*]] = linalg.generic {{.*}} ins(%arg2, %{{.*}} : tensor<f32>, tensor<f32>) outs(%{{.*}} : tensor<16xf32>)
// CHECK: arith.maximumf
// CHECK: arith.minimumf
// CHECK: arith.divf
// CHECK: scf.for
// CHECK: %[[ROW:.*]] = vector.transfer_read %arg1[%{{.*}}, %{{.*}}]{{.*}} : tensor<16x16xf32>, vector<8xf32>
// CHECK: %[[F:.*]] = tensor.extract %[[FACTOR]][%{{.*}}] : tensor<16xf32>
// CHECK: %[[SPLAT:.*]] = vector.broadcast %[[F]] : f32 to vector<8xf32>
// CHECK: arith.mulf %[[ROW]], %[[SPLAT]] : vector<8xf32>
// CANON-LABEL: func.func @spectral_weight_transposed
// CANON-NOT: outs(%{{.*}} : tensor<16x16xf32>) {
// CANON: return
func.func @spectral_weight_transposed(%x: tensor<4x16xf32>, %V: tensor<16x16xf32>, %g: tensor<f32>, %u: tensor<16xf32>, %v: tensor<16xf32>) -> tensor<4x16xf32> {
  %w, %sigma = fsnn.spectral_weight %V, %g, %u, %v : tensor<16x16xf32>, tensor<f32>, tensor<16xf32>, tensor<16xf32> -> tensor<16x16xf32>, tensor<f32>
  %y = fsnn.linear %x, %w : tensor<4x16xf32>, tensor<16x16xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
