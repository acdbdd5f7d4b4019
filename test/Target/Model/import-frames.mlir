// Spike-frame input: the per-sample T x C x H x W input becomes a batch x T
// x C x H x W argument and the first map sees one frame.
// RUN: fsnn-translate --import %S/Inputs/tiny-frames.fsnn.txt --batch 4 | FileCheck %s
// RUN: fsnn-translate --import %S/Inputs/tiny-frames.fsnn.txt --batch 4 -o %t.mlir
// RUN: fsnn-translate --export %t.mlir -o %t.fsnn
// RUN: fsnn-translate --import %t.fsnn --batch 4 | diff %t.mlir -

// CHECK-LABEL: func.func @tiny_frames(
// CHECK-SAME: tensor<4x3x2x4x4xf32> {fsnn.name = "frames"}
// CHECK: fsnn.feedback %{{.*}} steps 3 neuron <if, threshold = 2.0> input spike_frames {{.*}}fsnn.adjoint_solver = "fixed_point"
// CHECK: } layers {
// CHECK-NEXT: ^bb0(%{{.*}}: tensor<4x2x4x4xf32> loc("frame")):
