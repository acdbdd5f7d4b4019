// The training-step example round-trips, and the fold pass leaves it alone:
// training-mode BN is not affine in its input.
// RUN: fsnn-opt %fsnn_src_root/examples/fmnist-f400-train-step.mlir | fsnn-opt | FileCheck %s
// RUN: fsnn-opt %fsnn_src_root/examples/fmnist-f400-train-step.mlir -fsnn-fold-batch-norm | FileCheck %s --check-prefix=FOLD

// CHECK-LABEL: func.func @fmnist_f400_train_step
// CHECK: fsnn.spectral_power_iteration
// CHECK: fsnn.dropout_mask
// CHECK: %[[RATES:.*]], %{{.*}} = fsnn.feedback
// CHECK: fsnn.softmax_cross_entropy
// CHECK: %[[DLDA:.*]] = linalg.matmul
// CHECK: fsnn.adjoint_solve %[[RATES]], %[[DLDA]] solver broyden max_iterations 30

// FOLD-LABEL: func.func @fmnist_f400_train_step
// FOLD-NOT: fsnn.fold_batch_norm
// FOLD: fsnn.batch_norm_train
