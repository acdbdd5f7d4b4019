// Import of Linear, BatchNorm, Dropout, SpectralWeight and a LIF
// SpikingFeedback with reset to zero and an Anderson adjoint; then the
// import -> export -> import round trip, which must be identical.
// RUN: fsnn-translate --import %S/Inputs/tiny-fc.fsnn.txt --batch 8 | FileCheck %s
// RUN: fsnn-translate --import %S/Inputs/tiny-fc.fsnn.txt --batch 8 -o %t.mlir
// RUN: fsnn-translate --export %t.mlir -o %t.fsnn
// RUN: fsnn-translate --import %t.fsnn --batch 8 | diff %t.mlir -
// RUN: fsnn-translate --export %t.mlir -o %t.fsnn.txt
// RUN: FileCheck %s --check-prefix=EXPORT < %t.fsnn.txt

// CHECK: module attributes {fsnn.doc = "tiny FC model for the import/export tests", fsnn.format_version = 1 : i64, fsnn.producer = "hand"}
// CHECK-LABEL: func.func @tiny_fc(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<8x3xf32> {fsnn.name = "x"}
// CHECK-SAME: %[[FW:[a-z0-9]+]]: tensor<4x3xf32> {fsnn.name = "f.w", fsnn.value = dense_resource<f.w> : tensor<4x3xf32>}
// CHECK-SAME: %[[G:[a-z0-9]+]]: tensor<f32> {fsnn.name = "fb.g", fsnn.value = dense_resource<fb.g> : tensor<f32>}
// CHECK-SAME: %[[SEED:[a-z0-9]+]]: i64 {fsnn.name = "dropout_seed"}
// CHECK-SAME: -> (tensor<8x2xf32> {fsnn.name = "logits"}, tensor<8x4xi32> {fsnn.name = "counts"})
// CHECK: %[[W:.*]], %{{.*}} = fsnn.spectral_weight {{.*}} loc(#[[SPECTRAL:loc[0-9]*]])
// CHECK: %[[MASK:.*]] = fsnn.dropout_mask %[[SEED]] {rate = 2.000000e-01 : f64, stream = 0 : i64} : i64 -> tensor<8x4xf32>
// CHECK: %[[RATE:.*]], %[[COUNT:.*]] = fsnn.feedback %[[X]] steps 30 neuron <lif, threshold = 2.0, leak = 0.95, reset = zero> input static
// CHECK-SAME: fsnn.adjoint_max_iterations = 20 : i64, fsnn.adjoint_solver = "anderson", fsnn.adjoint_tolerance = 9.9999999999999995E-7 : f64
// CHECK: fsnn.linear %{{.*}}, %[[W]]
// CHECK: } layers {
// CHECK: %[[I:.*]] = fsnn.linear %{{.*}}, %[[FW]], %{{.*}} : tensor<8x3xf32>, tensor<4x3xf32>, tensor<4xf32> -> tensor<8x4xf32>
// CHECK: %[[N:.*]] = fsnn.batch_norm %[[I]], {{.*}} {epsilon = 1.000000e-05 : f64}
// CHECK: fsnn.dropout %[[N]], %[[MASK]]
// CHECK: %[[LOGITS:.*]] = fsnn.linear %[[RATE]]
// CHECK: return %[[LOGITS]], %[[COUNT]]
// Layer names are the ops' locations, with the names of their outputs as
// the child locations (one, or fused in output order).
// CHECK-DAG: #[[SPECTRAL]] = loc("feedback_weight"(#[[FBW:loc[0-9]*]]))
// CHECK-DAG: #[[FBW]] = loc("fb.w")
// CHECK-DAG: #[[HIDDEN_OUT:loc[0-9]*]] = loc(fused[#[[RATE_NAME:loc[0-9]*]], #[[COUNTS_NAME:loc[0-9]*]]])
// CHECK-DAG: #[[RATE_NAME]] = loc("rate")
// CHECK-DAG: #[[COUNTS_NAME]] = loc("counts")
// CHECK-DAG: loc("hidden"(#[[HIDDEN_OUT]]))
// CHECK-DAG: loc("classifier"(

// EXPORT: format_version: 1
// EXPORT: op_type: "SpectralWeight"
// EXPORT: name: "feedback_weight"
// EXPORT: op_type: "SpikingFeedback"
// EXPORT: name: "hidden"
// EXPORT: name: "neuron"
// EXPORT-NEXT: s: "lif"
// EXPORT: name: "leak"
// EXPORT-NEXT: f: 0.95
// EXPORT: name: "reset"
// EXPORT-NEXT: s: "zero"
// EXPORT: name: "solver"
// EXPORT-NEXT: s: "anderson"
// EXPORT: op_type: "Dropout"
// EXPORT: name: "rate"
// EXPORT-NEXT: f: 0.2
