// A stride-1 conv with a multiple of 4 output channels is register-tiled on
// the input's row-major grid: blocks of 4 channels x 3 vectors of 8
// positions (AVX2) are read once from the grid's init, carried over every
// (c, kh, kw) (each input vector read once per block, used by the 4
// channels), and written back once. The grid is rounded up to whole tiles
// (13 positions to 24) and the flat input padded with zeros to match
// (25 + 11 = 36), so every vector access is in bounds.
// RUN: fsnn-opt %s -split-input-file -convert-fsnn-to-linalg=vector-bits=256 | FileCheck %s

// CHECK-LABEL: func.func @conv_tiled
// CHECK: %[[FLAT:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x2x36xf32>)
// CHECK: arith.select
// CHECK: %[[INIT:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x4x24xf32>)
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c1{{.*}} step %c1{{.*}} iter_args(%{{.*}} = %[[INIT]])
// CHECK-COUNT-12: vector.transfer_read %{{.*}} {in_bounds = [true]} : tensor<1x4x24xf32>, vector<8xf32>
// CHECK: scf.for %[[C:.*]] = %c0{{.*}} to %c2{{.*}} step %c1{{.*}} iter_args
// CHECK: scf.for %[[KH:.*]] = %c0{{.*}} to %c3{{.*}} step %c1{{.*}} iter_args
// CHECK: scf.for %[[KW:.*]] = %c0{{.*}} to %c3{{.*}} step %c1{{.*}} iter_args
// CHECK-COUNT-3: vector.transfer_read %[[FLAT]]{{.*}} {in_bounds = [true]} : tensor<1x2x36xf32>, vector<8xf32>
// CHECK: tensor.extract %arg1[%{{.*}}, %[[C]], %[[KH]], %[[KW]]]
// CHECK: vector.broadcast
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK-COUNT-12: vector.transfer_write {{.*}} : vector<8xf32>, tensor<1x4x24xf32>
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x4x3x3xf32>)
func.func @conv_tiled(%x: tensor<1x2x5x5xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x3x3xf32> {
  %y = fsnn.conv2d %x, %w strides [1, 1] padding [0, 0] : tensor<1x2x5x5xf32>, tensor<4x2x3x3xf32> -> tensor<1x4x3x3xf32>
  return %y : tensor<1x4x3x3xf32>
}

// -----

// Stride 2: the padded 8 x 8 input becomes 2 x 2 phase planes of 4 x 4 (rows
// and columns of one parity), one after the other, so that tap (kh, kw)
// reads plane (kh % 2, kw % 2) at (oh + kh / 2, ow + kw / 2): contiguous
// on the plane's grid. The 3 x 3 outputs are grid positions 2 * 4 + 3 = 11,
// one tile of 24; the last tap reads up to plane 3's start (48) + 4 + 1 +
// 23 = 76, so the flat input holds 77.
// CHECK-LABEL: func.func @conv_tiled_strided
// CHECK: %[[FLAT:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x2x77xf32>)
// CHECK: arith.divui %{{.*}}, %c16
// CHECK: %[[INIT:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x4x24xf32>)
// CHECK: scf.for %[[KW:.*]] = %c0{{.*}} to %c3{{.*}} step %c1{{.*}} iter_args
// CHECK: arith.remui %{{.*}}, %c2
// CHECK: arith.muli %{{.*}}, %c16
// CHECK-COUNT-3: vector.transfer_read %[[FLAT]]{{.*}} {in_bounds = [true]} : tensor<1x2x77xf32>, vector<8xf32>
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x4x3x3xf32>)
func.func @conv_tiled_strided(%x: tensor<1x2x6x6xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x3x3xf32> {
  %y = fsnn.conv2d %x, %w strides [2, 2] padding [1, 1] : tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32> -> tensor<1x4x3x3xf32>
  return %y : tensor<1x4x3x3xf32>
}
