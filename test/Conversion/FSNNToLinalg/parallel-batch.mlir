// RUN: fsnn-opt %s -split-input-file -convert-fsnn-to-linalg=parallel-batch=true | FileCheck %s
// RUN: fsnn-opt %s -split-input-file -convert-fsnn-to-linalg | FileCheck %s --check-prefix=OFF

// With parallel-batch, the loops whose iterations write only their own
// samples' rows (or, for dense maps, their own output columns) carry the
// fsnn.parallel mark
// (fsnn-parallelize-batch-loops runs them on threads). Without it, nothing is
// marked.
// OFF-NOT: fsnn.parallel

// A register-blocked dense map: the loop over output tiles (each writes its
// own columns of every row).
// CHECK-LABEL: func.func @dense_tiled
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c32{{.*}} step %c32 iter_args
// CHECK: } {fsnn.parallel}
func.func @dense_tiled(%x: tensor<8x3xf32>, %w: tensor<32x3xf32>, %b: tensor<32xf32>) -> tensor<8x32xf32> {
  %y = fsnn.linear %x, %w, %b : tensor<8x3xf32>, tensor<32x3xf32>, tensor<32xf32> -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

// The event-driven feedback map: chunks of samples (64 samples: 32 chunks
// of 2), each with its own compaction list, allocated in the chunk (a
// tensor.empty would be hoisted out of the loops and shared by the threads).
// CHECK-LABEL: func.func @spikes_chunked
// CHECK: scf.for %[[C:[a-z0-9_]+]] = %c0{{.*}} to %c32{{.*}} step %c1{{.*}} iter_args
// CHECK:   %[[FROM:.*]] = arith.muli %[[C]], %c2
// CHECK:   bufferization.alloc_tensor() : tensor<32xi32>
// CHECK:   scf.for %{{.*}} = %[[FROM]] to %{{.*}} step %c1{{.*}} iter_args
// CHECK: } {fsnn.parallel}
func.func @spikes_chunked(%x: tensor<64x4xf32>, %f: tensor<32x4xf32>, %w: tensor<32x32xf32>) -> tensor<64x32xf32> {
  %r, %c = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if> input static : tensor<64x4xf32> -> (tensor<64x32xf32>), (tensor<64x32xi32>)
    feedback {
    ^bb0(%s: tensor<64x32xf32>):
      %y = fsnn.linear %s, %w : tensor<64x32xf32>, tensor<32x32xf32> -> tensor<64x32xf32>
      fsnn.yield %y : tensor<64x32xf32>
    } layers {
    ^bb0(%in: tensor<64x4xf32>):
      %y = fsnn.linear %in, %f : tensor<64x4xf32>, tensor<32x4xf32> -> tensor<64x32xf32>
      fsnn.yield %y : tensor<64x32xf32>
    }
  return %r : tensor<64x32xf32>
}
