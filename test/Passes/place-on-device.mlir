// RUN: fsnn-opt %s -split-input-file -fsnn-place-on-device -verify-diagnostics | FileCheck %s

// The input is only read: copied in, not back. The output is written by a
// kernel: its device buffer is copied back at the return. A temporary that
// a kernel uses is device memory; the host-side sum over it (no parallel
// loop to map) becomes a one-thread kernel; the constant is copied to the
// device where it is read, unless it is a 32-bit splat, which is set there.
// CHECK-LABEL: func.func @place(
// CHECK-SAME: %[[IN:.*]]: memref<4xf32>, %[[OUT:.*]]: memref<4xf32>)
// CHECK: %[[DOUT:.*]] = gpu.alloc () : memref<4xf32>
// CHECK-NOT: gpu.memcpy %[[DOUT]], %[[OUT]]
// CHECK: %[[DIN:.*]] = gpu.alloc () : memref<4xf32>
// CHECK-NEXT: gpu.memcpy %[[DIN]], %[[IN]]
// CHECK: %[[GLOBAL:.*]] = memref.get_global @scale
// CHECK-NEXT: %[[DGLOBAL:.*]] = gpu.alloc () : memref<4xf32>
// CHECK-NEXT: gpu.memcpy %[[DGLOBAL]], %[[GLOBAL]]
// CHECK: %[[DSPLAT:.*]] = gpu.alloc () : memref<4xf32>
// CHECK-NEXT: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-NEXT: gpu.memset %[[DSPLAT]], %[[HALF]]
// CHECK: %[[SUM:.*]] = gpu.alloc () : memref<f32>
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[ONE:.*]], {{.*}} = %[[ONE]], {{.*}} = %[[ONE]]) threads({{.*}}) in ({{.*}} = %[[ONE]], {{.*}} = %[[ONE]], {{.*}} = %[[ONE]])
// CHECK-NEXT: memref.store %{{.*}}, %[[SUM]][]
// CHECK: gpu.launch
// CHECK-NEXT: scf.for
// CHECK: memref.load %[[DIN]]
// CHECK: gpu.launch
// CHECK: memref.load %[[DGLOBAL]]
// CHECK: memref.store %{{.*}}, %[[DOUT]]
// CHECK-DAG: gpu.dealloc %[[SUM]]
// CHECK-DAG: gpu.dealloc %[[DSPLAT]]
// CHECK-DAG: gpu.dealloc %[[DGLOBAL]]
// CHECK-DAG: gpu.dealloc %[[DIN]]
// CHECK: gpu.memcpy %[[OUT]], %[[DOUT]]
// CHECK-NEXT: gpu.dealloc %[[DOUT]]
// CHECK-NEXT: return
memref.global "private" constant @scale : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
memref.global "private" constant @half : memref<4xf32> = dense<0.5>
func.func @place(%in: memref<4xf32>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  %scale = memref.get_global @scale : memref<4xf32>
  %half = memref.get_global @half : memref<4xf32>
  %sum = memref.alloc() : memref<f32>
  memref.store %zero, %sum[] : memref<f32>
  scf.for %i = %c0 to %c4 step %c1 {
    %v = memref.load %in[%i] : memref<4xf32>
    %s = memref.load %sum[] : memref<f32>
    %n = arith.addf %s, %v : f32
    memref.store %n, %sum[] : memref<f32>
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %s = memref.load %sum[] : memref<f32>
    %k = memref.load %scale[%bx] : memref<4xf32>
    %h = memref.load %half[%bx] : memref<4xf32>
    %p = arith.mulf %s, %k : f32
    %q = arith.mulf %p, %h : f32
    memref.store %q, %out[%bx] : memref<4xf32>
    gpu.terminator
  }
  memref.dealloc %sum : memref<f32>
  return
}

// -----

// Ownership bookkeeping that no kernel sees stays in host memory; a copy
// into a device buffer becomes gpu.memcpy.
// CHECK-LABEL: func.func @bookkeeping(
// CHECK: %[[FLAGS:.*]] = memref.alloc() : memref<2xi1>
// CHECK: memref.store %{{.*}}, %[[FLAGS]]
// CHECK: %[[TMP:.*]] = gpu.alloc () : memref<4xf32>
// CHECK: gpu.memcpy %[[TMP]], %{{.*}} : memref<4xf32>, memref<4xf32>
// CHECK: memref.dealloc %[[FLAGS]]
func.func @bookkeeping(%in: memref<4xf32>, %out: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %true = arith.constant true
  %flags = memref.alloc() : memref<2xi1>
  memref.store %true, %flags[%c1] : memref<2xi1>
  %tmp = memref.alloc() : memref<4xf32>
  memref.copy %in, %tmp : memref<4xf32> to memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %tmp[%bx] : memref<4xf32>
    memref.store %v, %out[%bx] : memref<4xf32>
    gpu.terminator
  }
  memref.dealloc %tmp : memref<4xf32>
  memref.dealloc %flags : memref<2xi1>
  return
}

// -----

// A scalar the host goes on using (a convergence decision, a bound) is read
// in a one-thread kernel into a one-element device buffer, copied to a
// one-element host buffer and loaded there.
// CHECK-LABEL: func.func @host_reads_device(
// CHECK: %[[STAGE:.*]] = gpu.alloc () : memref<1xf32>
// CHECK: gpu.launch
// CHECK: %[[V:.*]] = memref.load
// CHECK: memref.store %[[V]], %[[STAGE]]
// CHECK: %[[HOST:.*]] = memref.alloc() : memref<1xf32>
// CHECK-NEXT: gpu.memcpy %[[HOST]], %[[STAGE]]
// CHECK-NEXT: %[[READ:.*]] = memref.load %[[HOST]]
// CHECK: return %[[READ]] : f32
func.func @host_reads_device(%in: memref<4xf32>, %out: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %v = memref.load %in[%c0] : memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %w = memref.load %in[%bx] : memref<4xf32>
    memref.store %w, %out[%bx] : memref<4xf32>
    gpu.terminator
  }
  return %v : f32
}

// -----

func.func @host_reads_vector(%in: memref<4xf32>, %out: memref<4xf32>) -> vector<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{works on a device buffer on the host and yields a 'vector<4xf32>', which fsnn-place-on-device cannot bring back from a kernel}}
  %v = vector.transfer_read %in[%c0], %zero {in_bounds = [true]} : memref<4xf32>, vector<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %w = memref.load %in[%bx] : memref<4xf32>
    memref.store %w, %out[%bx] : memref<4xf32>
    gpu.terminator
  }
  return %v : vector<4xf32>
}

// -----

func.func @strided_copy(%in: memref<4x4xf32>, %out: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %column = memref.subview %in[0, 1] [4, 1] [1, 1] : memref<4x4xf32> to memref<4xf32, strided<[4], offset: 1>>
  // expected-error @+1 {{copies a strided view of a device buffer on the host; fsnn-place-on-device handles contiguous copies only}}
  memref.copy %column, %out : memref<4xf32, strided<[4], offset: 1>> to memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %w = memref.load %in[%bx, %bx] : memref<4x4xf32>
    memref.store %w, %out[%bx] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

// expected-error @+1 {{argument 0 has a strided layout; fsnn-place-on-device copies contiguous arguments only}}
func.func @strided_argument(%in: memref<4xf32, strided<[2]>>, %out: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %w = memref.load %in[%bx] : memref<4xf32, strided<[2]>>
    memref.store %w, %out[%bx] : memref<4xf32>
    gpu.terminator
  }
  return
}
