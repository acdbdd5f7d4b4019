// RUN: fsnn-opt %s -split-input-file -fsnn-parallel-loops-to-gpu -verify-diagnostics | FileCheck %s
// RUN: fsnn-opt %s -split-input-file -fsnn-parallel-loops-to-gpu=block-size=64 -verify-diagnostics | FileCheck %s --check-prefix=B64
// RUN: not fsnn-opt %s -split-input-file -fsnn-parallel-loops-to-gpu=block-size=2000 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: fsnn-parallel-loops-to-gpu: block-size must be in 1..1024, not 2000

// A 2-d parallel loop becomes one launch over its 6 x 100 = 600 points:
// ceil(600 / 256) = 3 blocks of 256 threads; each thread splits its linear
// index into (i, j), the last dimension fastest, and runs the body if it is
// inside the space. The reduction loop inside stays a loop in the thread.
// CHECK-LABEL: func.func @map
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[C600:.*]] = arith.constant 600 : index
// CHECK-DAG: %[[C100:.*]] = arith.constant 100 : index
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C3]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C256]],
// CHECK: %[[SCALED:.*]] = arith.muli %[[BX]], %[[C256]]
// CHECK: %[[ID:.*]] = arith.addi %[[SCALED]], %[[TX]]
// CHECK: %[[INSIDE:.*]] = arith.cmpi ult, %[[ID]], %[[C600]]
// CHECK: scf.if %[[INSIDE]]
// CHECK: %[[J:.*]] = arith.remui %[[ID]], %[[C100]]
// CHECK: %[[REST:.*]] = arith.divui %[[ID]], %[[C100]]
// CHECK: %[[I:.*]] = arith.remui %[[REST]],
// CHECK: scf.for
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}]
// CHECK: gpu.terminator
// CHECK-NOT: scf.parallel
// B64-LABEL: func.func @map
// B64: arith.constant 10 : index
// B64: gpu.launch
func.func @map(%x: memref<6x100x7xf32>, %y: memref<6x100xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c6 = arith.constant 6 : index
  %c7 = arith.constant 7 : index
  %c100 = arith.constant 100 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c6, %c100) step (%c1, %c1) {
    scf.for %k = %c0 to %c7 step %c1 {
      %a = memref.load %x[%i, %j, %k] : memref<6x100x7xf32>
      %b = memref.load %y[%i, %j] : memref<6x100xf32>
      %s = arith.addf %a, %b : f32
      memref.store %s, %y[%i, %j] : memref<6x100xf32>
    }
    scf.reduce
  }
  return
}

// -----

// A parallel loop inside a sequential one is launched at every iteration.
// CHECK-LABEL: func.func @in_loop
// CHECK: scf.for
// CHECK: gpu.launch
// B64-LABEL: func.func @in_loop
func.func @in_loop(%y: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %c8 = arith.constant 8 : index
  %one = arith.constant 1.0 : f32
  scf.for %t = %c0 to %c5 step %c1 {
    scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
      memref.store %one, %y[%i] : memref<8xf32>
      scf.reduce
    }
  }
  return
}

// -----

func.func @reduction(%y: memref<8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{has reductions, which fsnn-parallel-loops-to-gpu does not map to threads}}
  %sum = scf.parallel (%i) = (%c0) to (%c8) step (%c1) init (%zero) -> f32 {
    %v = memref.load %y[%i] : memref<8xf32>
    scf.reduce(%v : f32) {
    ^bb0(%a: f32, %b: f32):
      %s = arith.addf %a, %b : f32
      scf.reduce.return %s : f32
    }
  }
  return %sum : f32
}
