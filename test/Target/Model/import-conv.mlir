// Import of a two-layer model with Conv2d (with and without bias),
// ConvTranspose2d feedback, AvgPool2d, Flatten and a bias-less readout, in
// float64; the round trip must be identical.
// RUN: fsnn-translate --import %S/Inputs/tiny-conv.fsnn.txt --batch 2 | FileCheck %s
// RUN: fsnn-translate --import %S/Inputs/tiny-conv.fsnn.txt --batch 2 -o %t.mlir
// RUN: fsnn-translate --export %t.mlir -o %t.fsnn
// RUN: fsnn-translate --import %t.fsnn --batch 2 | diff %t.mlir -

// CHECK-LABEL: func.func @tiny_conv(
// CHECK-SAME: tensor<2x1x6x6xf64> {fsnn.name = "img"}
// CHECK-NOT: dropout_seed
// CHECK: %[[R:.*]]:2, %[[C:.*]]:2 = fsnn.feedback %{{.*}} steps 10 neuron <if, threshold = 2.0> input static
// CHECK-SAME: -> (tensor<2x2x3x3xf64>, tensor<2x2x3x3xf64>), (tensor<2x2x3x3xi32>, tensor<2x2x3x3xi32>)
// CHECK: fsnn.conv_transpose2d %{{.*}}, %{{.*}} strides [1, 1] padding [1, 1] output_padding [0, 0] : tensor<2x2x3x3xf64>, tensor<2x2x3x3xf64> -> tensor<2x2x3x3xf64>
// CHECK: } layers {
// CHECK: fsnn.conv2d %{{.*}}, %{{.*}}, %{{.*}} strides [2, 2] padding [1, 1] : tensor<2x1x6x6xf64>, tensor<2x1x3x3xf64>, tensor<2xf64> -> tensor<2x2x3x3xf64>
// CHECK: }, {
// CHECK: fsnn.conv2d %{{.*}}, %{{.*}} strides [1, 1] padding [1, 1] : tensor<2x2x3x3xf64>, tensor<2x2x3x3xf64> -> tensor<2x2x3x3xf64>
// CHECK: %[[P:.*]] = fsnn.avg_pool2d %[[R]]#1 kernel [2, 2] strides [1, 1] : tensor<2x2x3x3xf64> -> tensor<2x2x2x2xf64>
// CHECK: %[[F:.*]] = fsnn.flatten %[[P]] : tensor<2x2x2x2xf64> -> tensor<2x8xf64>
// CHECK: fsnn.linear %[[F]], %{{.*}} : tensor<2x8xf64>, tensor<2x8xf64> -> tensor<2x2xf64>
