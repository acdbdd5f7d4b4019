// What the exporter refuses, each with a diagnostic at the op.
// RUN: not fsnn-translate --export %s -o %t.fsnn 2>&1 | FileCheck %s

// The training-step ops have no model-format node: a model file describes
// the network, not one step of training it.
func.func @train_step(%V: tensor<4x4xf32> {fsnn.name = "V", fsnn.value = dense<1.0> : tensor<4x4xf32>},
                      %u: tensor<4xf32> {fsnn.name = "u", fsnn.value = dense<0.5> : tensor<4xf32>},
                      %v: tensor<4xf32> {fsnn.name = "v", fsnn.value = dense<0.5> : tensor<4xf32>}) -> tensor<4xf32> {
  // CHECK: error: 'fsnn.spectral_power_iteration' op cannot be expressed in the fsnn model format
  %u1, %v1 = fsnn.spectral_power_iteration %V, %u, %v : tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>
  return %u1 : tensor<4xf32>
}
