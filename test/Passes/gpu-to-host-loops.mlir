// RUN: fsnn-opt %s -split-input-file -fsnn-gpu-to-host-loops -verify-diagnostics | FileCheck %s

// Buffers and copies become their memref forms; a kernel without barriers
// becomes loops over its blocks and, inside, its threads.
// CHECK-LABEL: func.func @plain(
// CHECK: %[[BUF:.*]] = memref.alloc() : memref<4xf32>
// CHECK: memref.copy %{{.*}}, %[[BUF]]
// CHECK: scf.for %[[BZ:.*]] =
// CHECK: scf.for %[[BY:.*]] =
// CHECK: scf.for %[[BX:.*]] =
// CHECK: scf.for %[[TZ:.*]] =
// CHECK: scf.for %[[TY:.*]] =
// CHECK: scf.for %[[TX:.*]] =
// CHECK: memref.store %{{.*}}, %[[BUF]][%[[BX]]]
// CHECK: memref.dealloc %[[BUF]]
func.func @plain(%in: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %one = arith.constant 1.0 : f32
  %buf = gpu.alloc () : memref<4xf32>
  gpu.memcpy %buf, %in : memref<4xf32>, memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    memref.store %one, %buf[%bx] : memref<4xf32>
    gpu.terminator
  }
  gpu.dealloc %buf : memref<4xf32>
  return
}

// -----

// With barriers, each stretch between them runs for every thread before
// the next: thread-invariant values (the step's parity) once per block, the
// loop that holds a barrier around its own stretches.
// CHECK-LABEL: func.func @stretches(
// CHECK: scf.for %[[TX1:.*]] = %{{.*}} to %c32
// CHECK-NEXT: memref.store %{{.*}}, %{{.*}}[%c0, %[[TX1]]]
// CHECK: scf.for %[[STEP:.*]] = %c0 to %c3
// CHECK-NEXT: %[[PARITY:.*]] = arith.remui %[[STEP]]
// CHECK: scf.for %[[TX2:.*]] = %{{.*}} to %c32
// CHECK: memref.load %{{.*}}[%[[PARITY]],
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}, %[[TX2]]]
func.func @stretches(%rows: memref<2x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    memref.store %zero, %rows[%c0, %tx] : memref<2x32xf32>
    gpu.barrier
    scf.for %t = %c0 to %c3 step %c1 {
      %now = arith.remui %t, %c2 : index
      %next = arith.subi %c1, %now : index
      %neighbour = arith.remui %tx, %c32 : index
      %v = memref.load %rows[%now, %neighbour] : memref<2x32xf32>
      memref.store %v, %rows[%next, %tx] : memref<2x32xf32>
      gpu.barrier
    }
    gpu.terminator
  }
  return
}

// -----

func.func @branch(%rows: memref<32xf32>, %flag: i1) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    // expected-error @+1 {{holds a barrier but is not a loop with the same bounds for every thread, which fsnn-gpu-to-host-loops cannot run}}
    scf.if %flag {
      gpu.barrier
    }
    gpu.terminator
  }
  return
}

// -----

func.func @crossing(%rows: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    // expected-error @+1 {{defines a value used across a barrier, which fsnn-gpu-to-host-loops cannot carry between threads}}
    %v = memref.load %rows[%tx] : memref<32xf32>
    gpu.barrier
    memref.store %v, %rows[%tx] : memref<32xf32>
    gpu.terminator
  }
  return
}

// -----

func.func @asynchronous() {
  // expected-error @+1 {{is asynchronous; fsnn-gpu-to-host-loops runs before gpu-async-region}}
  %buf, %token = gpu.alloc async () : memref<4xf32>
  return
}
