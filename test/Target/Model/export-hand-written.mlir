// A hand-written model with dense (not resource) parameter values exports
// to a valid model file: fsnn-model validates and counts it.
// RUN: fsnn-translate --export %s -o %t.fsnn
// RUN: fsnn-model info %t.fsnn | FileCheck %s

// CHECK: model: hand (format 1
// CHECK: input:  x [3]
// CHECK: layers:
// CHECK-NEXT: snn SpikingFeedback -> [4]  (1 layer(s), IF, V_th 2.000000, T 5, static input, adjoint broyden x30)
// CHECK-NEXT: readout Linear -> [2]
// Parameters: f (12 + 4), W (16), readout (8).
// CHECK: parameters: 40
// CHECK: neurons: 7
func.func @hand(%x: tensor<16x3xf32> {fsnn.name = "x"},
                %f: tensor<4x3xf32> {fsnn.name = "f", fsnn.value = dense<0.1> : tensor<4x3xf32>},
                %b: tensor<4xf32> {fsnn.name = "b", fsnn.value = dense<[0.5, 1.0, 1.5, 2.0]> : tensor<4xf32>},
                %w: tensor<4x4xf32> {fsnn.name = "w", fsnn.value = dense<0.2> : tensor<4x4xf32>},
                %c: tensor<2x4xf32> {fsnn.name = "c", fsnn.value = dense<1.0> : tensor<2x4xf32>})
    -> (tensor<16x2xf32> {fsnn.name = "logits"}) {
  %r, %n = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if> input static : tensor<16x3xf32> -> (tensor<16x4xf32>), (tensor<16x4xi32>)
    feedback {
    ^bb0(%s: tensor<16x4xf32>):
      %y = fsnn.linear %s, %w : tensor<16x4xf32>, tensor<4x4xf32> -> tensor<16x4xf32> loc("fb")
      fsnn.yield %y : tensor<16x4xf32>
    } layers {
    ^bb0(%in: tensor<16x3xf32>):
      %y = fsnn.linear %in, %f, %b : tensor<16x3xf32>, tensor<4x3xf32>, tensor<4xf32> -> tensor<16x4xf32> loc("f")
      fsnn.yield %y : tensor<16x4xf32>
    } loc("snn")
  %o = fsnn.linear %r, %c : tensor<16x4xf32>, tensor<2x4xf32> -> tensor<16x2xf32> loc("readout")
  return %o : tensor<16x2xf32>
}
