// RUN: fsnn-opt %s -split-input-file -verify-diagnostics \
// RUN:   -pass-pipeline='builtin.module(func.func(fsnn-parallelize-batch-loops))' | FileCheck %s

// A marked loop becomes an scf.parallel with the same bounds and body; a
// marked loop inside it stays sequential and loses its mark; unmarked loops
// are left alone.
// CHECK-LABEL: func.func @rows
// CHECK: scf.parallel (%[[N:.*]]) = (%c0) to (%c8) step (%c2) {
// CHECK:   scf.for %{{.*}} = %c0 to %c4 step %c1 {
// CHECK-NOT: fsnn.parallel
// CHECK:     memref.store %{{.*}}, %arg0[%[[N]], %{{.*}}]
// CHECK:   scf.reduce
// CHECK: scf.for
// CHECK-NOT: fsnn.parallel
func.func @rows(%out: memref<8x4xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  scf.for %n = %c0 to %c8 step %c2 {
    scf.for %i = %c0 to %c4 step %c1 {
      memref.store %x, %out[%n, %i] : memref<8x4xf32>
    } {fsnn.parallel}
  } {fsnn.parallel}
  scf.for %n = %c0 to %c8 step %c1 {
    memref.store %x, %out[%n, %c0] : memref<8x4xf32>
  }
  return
}

// -----

// A marked loop that still carries a value would race on threads.
func.func @carried(%x: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  // expected-error @+1 {{a loop marked fsnn.parallel still carries 1 value(s) after bufferization; its iterations would race on threads}}
  %s = scf.for %n = %c0 to %c8 step %c1 iter_args(%acc = %x) -> (f32) {
    %y = arith.addf %acc, %x : f32
    scf.yield %y : f32
  } {fsnn.parallel}
  return %s : f32
}
