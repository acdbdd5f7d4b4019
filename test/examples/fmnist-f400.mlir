// The shipped F400 example parses, verifies, and its BN folds into F,
// computed once before the simulation.
// RUN: fsnn-opt %fsnn_src_root/examples/fmnist-f400.mlir -fsnn-prepare-inference | FileCheck %s

// CHECK-LABEL: func.func @fmnist_f400
// CHECK: %[[W:.*]], %{{.*}} = fsnn.spectral_weight
// CHECK: %[[FW:.*]], %[[FB:.*]] = fsnn.fold_batch_norm
// CHECK-NEXT: %[[RATES:.*]], %[[COUNTS:.*]] = fsnn.feedback %{{.*}} steps 5 neuron <if, threshold = 2.0> input static
// CHECK: fsnn.linear %{{.*}}, %[[W]]
// CHECK: } layers {
// CHECK: fsnn.linear %{{.*}}, %[[FW]], %[[FB]]
// CHECK-NOT: fsnn.batch_norm
// CHECK: %[[LOGITS:.*]] = fsnn.linear %[[RATES]]
// CHECK: return %[[LOGITS]], %[[COUNTS]]
