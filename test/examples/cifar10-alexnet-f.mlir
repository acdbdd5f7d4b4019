// The five-layer AlexNet-F example: every BN folds into its conv, and every
// fold is hoisted out of the simulation.
// RUN: fsnn-opt %fsnn_src_root/examples/cifar10-alexnet-f.mlir -fsnn-prepare-inference | FileCheck %s

// CHECK-LABEL: func.func @cifar10_alexnet_f
// CHECK-COUNT-5: fsnn.fold_batch_norm
// CHECK-NEXT: fsnn.feedback %{{.*}} steps 30
// CHECK: fsnn.conv_transpose2d
// CHECK-NOT: fsnn.batch_norm
// CHECK: fsnn.flatten
