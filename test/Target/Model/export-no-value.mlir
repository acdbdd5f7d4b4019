// A parameter argument needs its value (fsnn.value) to be exported; an
// argument with neither a value nor a batch dimension is refused.
// RUN: not fsnn-translate --export %s -o %t.fsnn 2>&1 | FileCheck %s

// CHECK: error: graph input argument #1 must be a batch-first tensor of rank >= 2
func.func @no_value(%x: tensor<8x3xf32>, %w: tensor<4xf32>) -> tensor<8x3xf32> {
  return %x : tensor<8x3xf32>
}
