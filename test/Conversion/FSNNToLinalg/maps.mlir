// RUN: fsnn-opt %s -split-input-file -convert-fsnn-to-linalg | FileCheck %s
// RUN: fsnn-opt %s -split-input-file -convert-fsnn-to-linalg | FileCheck %s --check-prefix=MAP

// The index maps that carry the semantics: the strided window and the
// flipped transposed-conv kernel.
// MAP-DAG: affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d2, d5 * 2 + d3, d6 * 2 + d4)>
// MAP-DAG: affine_map<(d0, d1, d2, d3) -> (d1, d0, -d2 + 2, -d3 + 2)>

// A padded, strided conv whose output channels are not a multiple of 4 (else
// see conv-tiled.mlir): the input is gathered into a zero-padded tensor,
// the bias initialises the output, and the loops (n, o, c, kh, kw, oh, ow)
// read it at oh * 2 + kh, the output's spatial loops innermost.
// CHECK-LABEL: func.func @conv_padded_strided
// CHECK: %[[PADDED:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x1x8x8xf32>)
// CHECK: linalg.index 2
// CHECK: tensor.extract %arg0
// CHECK: arith.select
// CHECK: %[[INIT:.*]] = linalg.generic {{.*}} ins(%arg2 : tensor<3xf32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction", "parallel", "parallel"]} ins(%[[PADDED]], %arg1 : {{.*}}) outs(%[[INIT]]
func.func @conv_padded_strided(%x: tensor<1x1x6x6xf32>, %w: tensor<3x1x3x3xf32>, %b: tensor<3xf32>) -> tensor<1x3x3x3xf32> {
  %y = fsnn.conv2d %x, %w, %b strides [2, 2] padding [1, 1] : tensor<1x1x6x6xf32>, tensor<3x1x3x3xf32>, tensor<3xf32> -> tensor<1x3x3x3xf32>
  return %y : tensor<1x3x3x3xf32>
}

// -----

// An unpadded stride-1 conv reads its input directly, without a gather, on
// the input's row-major grid: positions p = oh * 5 + ow for p < 2 * 5 + 3,
// each reading x[c, p + kh * 5 + kw]; then the 3 x 3 outputs are picked
// from the grid.
// CHECK-LABEL: func.func @conv_unpadded
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0], [1], [2, 3]] : tensor<1x2x5x5xf32> into tensor<1x2x25xf32>
// CHECK: %[[GRID:.*]] = linalg.generic {{.*}} ins(%[[FLAT]], %arg1 : tensor<1x2x25xf32>, tensor<3x2x3x3xf32>) outs(%{{.*}} : tensor<1x3x13xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[GRID]] : tensor<1x3x13xf32>) outs(%{{.*}} : tensor<1x3x3x3xf32>)
func.func @conv_unpadded(%x: tensor<1x2x5x5xf32>, %w: tensor<3x2x3x3xf32>) -> tensor<1x3x3x3xf32> {
  %y = fsnn.conv2d %x, %w strides [1, 1] padding [0, 0] : tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x3x3xf32>
  return %y : tensor<1x3x3x3xf32>
}

// -----

// A transposed conv: the kernel is flipped into OIHW with swapped channels,
// the input dilated by the stride and padded by k - 1 - p (plus the
// output_padding at the end), then a stride-1 conv.
// CHECK-LABEL: func.func @conv_transpose_upsampling
// CHECK: %[[DILATED:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x4x8x8xf32>)
// CHECK: arith.remui
// CHECK: %[[FLIPPED:.*]] = linalg.generic {{.*}} ins(%arg1 : tensor<4x2x3x3xf32>) outs(%{{.*}} : tensor<2x4x3x3xf32>)
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[DILATED]] {{\[\[}}0], [1], [2, 3]] : tensor<1x4x8x8xf32> into tensor<1x4x64xf32>
// CHECK: linalg.generic {{.*}} ins(%[[FLAT]], %[[FLIPPED]] : tensor<1x4x64xf32>, tensor<2x4x3x3xf32>) outs(%{{.*}} : tensor<1x2x46xf32>)
func.func @conv_transpose_upsampling(%s: tensor<1x4x3x3xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x2x6x6xf32> {
  %y = fsnn.conv_transpose2d %s, %w strides [2, 2] padding [1, 1] output_padding [1, 1] : tensor<1x4x3x3xf32>, tensor<4x2x3x3xf32> -> tensor<1x2x6x6xf32>
  return %y : tensor<1x2x6x6xf32>
}

// -----

// The spectral weight: σ̂ = uᵀ (V_mat v) in two stages, V_mat v on V
// flattened to rows x (c kh kw) (per row a reassociable sum carried in a
// register, which LLVM vectorizes), then the dot with u; W = clamp(g) V / σ̂.
// CHECK-LABEL: func.func @spectral_conv_weight
// CHECK: %[[VMAT:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0], [1, 2, 3]] : tensor<2x2x3x3xf32> into tensor<2x18xf32>
// CHECK: %[[VV:.*]] = scf.for %[[ROW:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: scf.for %[[COL:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32)
// CHECK: %[[M:.*]] = tensor.extract %[[VMAT]][%[[ROW]], %[[COL]]]
// CHECK: %[[X:.*]] = tensor.extract %arg3[%[[COL]]]
// CHECK: %[[P:.*]] = arith.mulf %[[M]], %[[X]] fastmath<reassoc,contract>
// CHECK: arith.addf %[[ACC]], %[[P]] fastmath<reassoc,contract>
// CHECK: %[[SIGMA:.*]] = linalg.generic {{.*}} iterator_types = ["reduction"]} ins(%arg2, %[[VV]] : tensor<2xf32>, tensor<2xf32>) outs(%{{.*}} : tensor<f32>)
// CHECK: arith.maximumf
// CHECK: arith.minimumf
// CHECK: arith.divf
// CHECK: return %{{.*}}, %[[SIGMA]]
func.func @spectral_conv_weight(%V: tensor<2x2x3x3xf32>, %g: tensor<f32>, %u: tensor<2xf32>, %v: tensor<18xf32>) -> (tensor<2x2x3x3xf32>, tensor<f32>) {
  %w, %sigma = fsnn.spectral_weight %V, %g, %u, %v : tensor<2x2x3x3xf32>, tensor<f32>, tensor<2xf32>, tensor<18xf32> -> tensor<2x2x3x3xf32>, tensor<f32>
  return %w, %sigma : tensor<2x2x3x3xf32>, tensor<f32>
}

// -----

// Flatten is a collapse; average pooling a windowed sum scaled by 1/4.
// CHECK-LABEL: func.func @pool_and_flatten
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction", "parallel", "parallel"]
// CHECK: arith.constant 2.500000e-01
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2, 3]] : tensor<2x3x2x2xf32> into tensor<2x12xf32>
func.func @pool_and_flatten(%x: tensor<2x3x4x4xf32>) -> tensor<2x12xf32> {
  %p = fsnn.avg_pool2d %x kernel [2, 2] strides [2, 2] : tensor<2x3x4x4xf32> -> tensor<2x3x2x2xf32>
  %f = fsnn.flatten %p : tensor<2x3x2x2xf32> -> tensor<2x12xf32>
  return %f : tensor<2x12xf32>
}

// -----

// A strided conv of spikes is event-driven: with stride 2 and a 3 x 3 kernel
// a neuron reaches q = 2 output rows and columns, through its phase's
// flipped 2 x 2 sub-kernel (2 x 2 phases x 2 channels = 8 of them, zeros
// past the kernel), added at (floor((h + 1) / 2), floor((w + 1) / 2)) of an
// accumulator whose row R is output row R - 1.
// CHECK-LABEL: func.func @spike_conv_strided
// CHECK: %[[SUB:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<8x2x2x4xf32>)
// CHECK: tensor.extract %arg1
// CHECK: arith.select
// CHECK: scf.for
// CHECK: arith.divui %{{.*}}, %c2
// CHECK: tensor.extract_slice %{{.*}} [1, 2, 2, 4] [1, 1, 1, 1] : tensor<1x5x5x4xf32> to tensor<1x2x2x4xf32>
// CHECK: tensor.extract_slice %[[SUB]]
// CHECK: math.fma
// CHECK: tensor.extract_slice %{{.*}}[0, 1, 1, 0] [1, 3, 3, 4] [1, 1, 1, 1] : tensor<1x5x5x4xf32> to tensor<1x3x3x4xf32>
func.func @spike_conv_strided(%s: tensor<1x2x6x6xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x3x3xf32> {
  %y = fsnn.conv2d %s, %w strides [2, 2] padding [1, 1] {fsnn.spike_input} : tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32> -> tensor<1x4x3x3xf32>
  return %y : tensor<1x4x3x3xf32>
}

// -----

// A transposed conv of spikes is event-driven: a neuron (c, h, w) adds its
// channel's kernel (channels last) at (2h, 2w) of an accumulator whose row R
// is output row R - 1 (the padding).
// CHECK-LABEL: func.func @spike_conv_transpose
// CHECK: %[[KERNELS:.*]] = linalg.generic {{.*}} ins(%arg1 : tensor<2x4x3x3xf32>) outs(%{{.*}} : tensor<2x3x3x4xf32>)
// CHECK: scf.for
// CHECK: arith.muli %{{.*}}, %c2
// CHECK: tensor.extract_slice %{{.*}} [1, 3, 3, 4] [1, 1, 1, 1] : tensor<1x7x7x4xf32> to tensor<1x3x3x4xf32>
// CHECK: tensor.extract_slice %[[KERNELS]]
// CHECK: math.fma
// CHECK: tensor.extract_slice %{{.*}}[0, 1, 1, 0] [1, 6, 6, 4] [1, 1, 1, 1] : tensor<1x7x7x4xf32> to tensor<1x6x6x4xf32>
func.func @spike_conv_transpose(%s: tensor<1x2x3x3xf32>, %w: tensor<2x4x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %y = fsnn.conv_transpose2d %s, %w strides [2, 2] padding [1, 1] output_padding [1, 1] {fsnn.spike_input} : tensor<1x2x3x3xf32>, tensor<2x4x3x3xf32> -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

// The adjoint's transposed conv of a gradient masked by the clamp's
// derivative (mostly zeros) takes the event-driven form too, with the dense
// form's separate multiply and add (the values are not spikes).
// CHECK-LABEL: func.func @masked_conv_transpose
// The accumulator has a buffer of its own, initialised in place (a hoisted
// tensor.empty would be copied at every step of an enclosing loop).
// CHECK: %[[ACC:.*]] = bufferization.alloc_tensor() : tensor<1x7x7x4xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[ACC]] : tensor<1x7x7x4xf32>)
// CHECK: scf.for
// CHECK: tensor.extract_slice %{{.*}} [1, 3, 3, 4] [1, 1, 1, 1] : tensor<1x7x7x4xf32> to tensor<1x3x3x4xf32>
// CHECK-NOT: math.fma
// CHECK: arith.mulf
// CHECK-NEXT: arith.addf
// CHECK: tensor.extract_slice %{{.*}}[0, 1, 1, 0] [1, 6, 6, 4] [1, 1, 1, 1] : tensor<1x7x7x4xf32> to tensor<1x6x6x4xf32>
func.func @masked_conv_transpose(%rate: tensor<1x2x3x3xf32>, %g: tensor<1x2x3x3xf32>, %mask: tensor<1x2x3x3xf32>, %w: tensor<2x4x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %d = fsnn.clamp_rate_grad %rate, %g {threshold = 1.0 : f64} : tensor<1x2x3x3xf32>
  %m = fsnn.dropout %d, %mask : tensor<1x2x3x3xf32>
  %y = fsnn.conv_transpose2d %m, %w strides [2, 2] padding [1, 1] output_padding [1, 1] : tensor<1x2x3x3xf32>, tensor<2x4x3x3xf32> -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

// The filter gradient of a masked gradient (the adjoint's), at stride 1 with
// whole vectors of input channels, visits only the non-zero gradients: the
// padded input channels last, then per output channel (on threads) and
// sample the gradient row's non-zero positions are compacted, and per tap
// and vector of input channels a register sum over them is added to the
// channels-last gradient, which ends transposed to OIHW.
// CHECK-LABEL: func.func @masked_filter_grad
// CHECK: %[[NHWC:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x5x5x16xf32>)
// CHECK: %[[ROWS:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2, 3]] : tensor<1x2x3x3xf32> into tensor<2x9xf32>
// CHECK: scf.for %[[O:.*]] = %{{.*}} to %c2{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<2x3x3x16xf32>)
// CHECK: %[[LIST:.*]]:2 = scf.for {{.*}} -> (tensor<9xi32>, index)
// CHECK: arith.cmpf une
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[LIST]]#1 {{.*}} -> (vector<16xf32>)
// CHECK: tensor.extract %[[ROWS]]
// CHECK: vector.transfer_read %[[NHWC]]{{.*}} : tensor<1x5x5x16xf32>, vector<16xf32>
// CHECK: vector.fma
// CHECK: arith.addf %{{.*}} : vector<16xf32>
// CHECK: vector.transfer_write
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<2x3x3x16xf32>) outs(%{{.*}} : tensor<2x16x3x3xf32>)
// Without the mask, the grid form.
// CHECK-LABEL: func.func @unmasked_filter_grad
// CHECK-NOT: vector.fma
// CHECK: return
func.func @masked_filter_grad(%a: tensor<1x16x3x3xf32>, %rate: tensor<1x2x3x3xf32>, %g: tensor<1x2x3x3xf32>) -> tensor<2x16x3x3xf32> {
  %d = fsnn.clamp_rate_grad %rate, %g {threshold = 1.0 : f64} : tensor<1x2x3x3xf32>
  %w = fsnn.conv2d_filter_grad %a, %d strides [1, 1] padding [1, 1] : tensor<1x16x3x3xf32>, tensor<1x2x3x3xf32> -> tensor<2x16x3x3xf32>
  return %w : tensor<2x16x3x3xf32>
}
func.func @unmasked_filter_grad(%a: tensor<1x16x3x3xf32>, %g: tensor<1x2x3x3xf32>) -> tensor<2x16x3x3xf32> {
  %w = fsnn.conv2d_filter_grad %a, %g strides [1, 1] padding [1, 1] : tensor<1x16x3x3xf32>, tensor<1x2x3x3xf32> -> tensor<2x16x3x3xf32>
  return %w : tensor<2x16x3x3xf32>
}
