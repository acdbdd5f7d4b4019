// RUN: fsnn-opt %s -fsnn-strip-dropout | FileCheck %s

// Masks used only by dropout disappear with it; the feedback map then feeds
// the linear's result straight to the yield.
// CHECK-LABEL: func.func @masks_inside_and_outside_maps
// CHECK-SAME: (%[[X:.*]]: tensor<8x4xf32>, %[[W:.*]]: tensor<4x4xf32>, %[[SEED:.*]]: i64)
func.func @masks_inside_and_outside_maps(%x: tensor<8x4xf32>, %w: tensor<4x4xf32>, %seed: i64) -> tensor<8x4xf32> {
  // CHECK-NOT: fsnn.dropout_mask
  // CHECK-NOT: fsnn.dropout
  // CHECK: fsnn.feedback %[[X]]
  // CHECK: %[[FB:.*]] = fsnn.linear
  // CHECK-NEXT: fsnn.yield %[[FB]]
  %m0 = fsnn.dropout_mask %seed {rate = 0.2, stream = 0} : i64 -> tensor<8x4xf32>
  %m1 = fsnn.dropout_mask %seed {rate = 0.2, stream = 1} : i64 -> tensor<8x4xf32>
  %r, %c = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if> input static : tensor<8x4xf32> -> (tensor<8x4xf32>), (tensor<8x4xi32>)
    feedback {
    ^bb0(%s: tensor<8x4xf32>):
      %y = fsnn.linear %s, %w : tensor<8x4xf32>, tensor<4x4xf32> -> tensor<8x4xf32>
      %d = fsnn.dropout %y, %m1 : tensor<8x4xf32>
      fsnn.yield %d : tensor<8x4xf32>
    } layers {
    ^bb0(%in: tensor<8x4xf32>):
      %d = fsnn.dropout %in, %m0 : tensor<8x4xf32>
      fsnn.yield %d : tensor<8x4xf32>
    }
  // CHECK: return
  %out = fsnn.dropout %r, %m0 : tensor<8x4xf32>
  return %out : tensor<8x4xf32>
}

// A mask with another user stays: only dropout itself is removed.
// CHECK-LABEL: func.func @negative_mask_with_other_users
func.func @negative_mask_with_other_users(%x: tensor<8x4xf32>, %seed: i64) -> (tensor<8x4xf32>, tensor<8x4xf32>) {
  // CHECK: %[[M:.*]] = fsnn.dropout_mask
  // CHECK-NOT: fsnn.dropout %
  // CHECK: return %{{.*}}, %[[M]]
  %m = fsnn.dropout_mask %seed {rate = 0.5, stream = 0} : i64 -> tensor<8x4xf32>
  %d = fsnn.dropout %x, %m : tensor<8x4xf32>
  return %d, %m : tensor<8x4xf32>, tensor<8x4xf32>
}
