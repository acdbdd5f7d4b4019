// Every verifier message of fsnn.feedback.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

func.func @zero_time_steps(%x: tensor<8x4xf32>, %w: tensor<4x4xf32>) {
  // expected-error @+1 {{'fsnn.feedback' op time_steps must be >= 1, got 0}}
  %r, %c = fsnn.feedback %x steps 0 neuron #fsnn.neuron<if> input static : tensor<8x4xf32> -> (tensor<8x4xf32>), (tensor<8x4xi32>)
    feedback {
    ^bb0(%s: tensor<8x4xf32>):
      fsnn.yield %s : tensor<8x4xf32>
    } layers {
    ^bb0(%in: tensor<8x4xf32>):
      fsnn.yield %in : tensor<8x4xf32>
    }
  return
}

// -----

// Only the generic form can spell a feedback op without layers.
func.func @no_layers(%x: tensor<8x4xf32>) {
  // expected-error @+1 {{'fsnn.feedback' op needs at least one layer map}}
  "fsnn.feedback"(%x) <{input_kind = 0 : i32, neuron = #fsnn.neuron<if>, time_steps = 5 : i64}> ({
    ^bb0(%s: tensor<8x4xf32>):
      fsnn.yield %s : tensor<8x4xf32>
  }) : (tensor<8x4xf32>) -> ()
  return
}

// -----

func.func @rates_per_layer(%x: tensor<8x4xf32>) {
  // expected-error @+1 {{has 1 layer maps but 2 rates results; expected one per layer}}
  %r:2, %c:2 = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if> input static : tensor<8x4xf32> -> (tensor<8x4xf32>, tensor<8x4xf32>), (tensor<8x4xi32>, tensor<8x4xi32>)
    feedback {
    ^bb0(%s: tensor<8x4xf32>):
      fsnn.yield %s : tensor<8x4xf32>
    } layers {
    ^bb0(%in: tensor<8x4xf32>):
      fsnn.yield %in : tensor<8x4xf32>
    }
  return
}

// -----

func.func @spike_frames_rank(%x: tensor<8x30xf32>) {
  // expected-error @+1 {{spike_frames input must have rank >= 3 (batch x time x ...), got 'tensor<8x30xf32>'}}
  %r, %c = fsnn.feedback %x steps 30 neuron #fsnn.neuron<if> input spike_frames : tensor<8x30xf32> -> (tensor<8x4xf32>), (tensor<8x4xi32>)
    feedback {
    ^bb0(%s: tensor<8x4xf32>):
      fsnn.yield %s : tensor<8x4xf32>
    } layers {
    ^bb0(%in: tensor<8xf32>):
      %z = arith.constant dense<0.0> : tensor<8x4xf32>
      fsnn.yield %z : tensor<8x4xf32>
    }
  return
}

// -----

func.func @spike_frames_length(%x: tensor<8x20x4xf32>) {
  // expected-error @+1 {{input time dimension (20) must equal time_steps (30)}}
  %r, %c = fsnn.feedback %x steps 30 neuron #fsnn.neuron<if> input spike_frames : tensor<8x20x4xf32> -> (tensor<8x4xf32>), (tensor<8x4xi32>)
    feedback {
    ^bb0(%s: tensor<8x4xf32>):
      fsnn.yield %s : tensor<8x4xf32>
    } layers {
    ^bb0(%in: tensor<8x4xf32>):
      fsnn.yield %in : tensor<8x4xf32>
    }
  return
}

// -----

// With spike frames the first layer map sees one frame, not the whole input.
func.func @spike_frames_map_argument(%x: tensor<8x30x4xf32>) {
  // expected-error @+1 {{layer map 1 argument must have type 'tensor<8x4xf32>', got 'tensor<8x30x4xf32>'}}
  %r, %c = fsnn.feedback %x steps 30 neuron #fsnn.neuron<if> input spike_frames : tensor<8x30x4xf32> -> (tensor<8x4xf32>), (tensor<8x4xi32>)
    feedback {
    ^bb0(%s: tensor<8x4xf32>):
      fsnn.yield %s : tensor<8x4xf32>
    } layers {
    ^bb0(%in: tensor<8x30x4xf32>):
      %z = arith.constant dense<0.0> : tensor<8x4xf32>
      fsnn.yield %z : tensor<8x4xf32>
    }
  return
}

// -----

func.func @rates_element_type(%x: tensor<8x4xf32>) {
  // expected-error @+1 {{layer 1 rates element type 'f64' must match the input element type 'f32'}}
  %r, %c = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if> input static : tensor<8x4xf32> -> (tensor<8x4xf64>), (tensor<8x4xi32>)
    feedback {
    ^bb0(%s: tensor<8x4xf64>):
      fsnn.yield %s : tensor<8x4xf64>
    } layers {
    ^bb0(%in: tensor<8x4xf32>):
      %z = arith.constant dense<0.0> : tensor<8x4xf64>
      fsnn.yield %z : tensor<8x4xf64>
    }
  return
}

// -----

func.func @rates_batch(%x: tensor<8x4xf32>) {
  // expected-error @+1 {{layer 1 rates type 'tensor<4x8xf32>' must have the input batch size 8 as its first dimension}}
  %r, %c = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if> input static : tensor<8x4xf32> -> (tensor<4x8xf32>), (tensor<4x8xi32>)
    feedback {
    ^bb0(%s: tensor<4x8xf32>):
      fsnn.yield %s : tensor<4x8xf32>
    } layers {
    ^bb0(%in: tensor<8x4xf32>):
      %z = arith.constant dense<0.0> : tensor<4x8xf32>
      fsnn.yield %z : tensor<4x8xf32>
    }
  return
}

// -----

func.func @counts_shape(%x: tensor<8x4xf32>) {
  // expected-error @+1 {{layer 1 spike_counts shape 8x5 must equal its rates shape 8x4}}
  %r, %c = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if> input static : tensor<8x4xf32> -> (tensor<8x4xf32>), (tensor<8x5xi32>)
    feedback {
    ^bb0(%s: tensor<8x4xf32>):
      fsnn.yield %s : tensor<8x4xf32>
    } layers {
    ^bb0(%in: tensor<8x4xf32>):
      fsnn.yield %in : tensor<8x4xf32>
    }
  return
}

// -----

func.func @map_arguments(%x: tensor<8x4xf32>) {
  // expected-error @+1 {{layer map 1 must have exactly one argument, got 2}}
  %r, %c = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if> input static : tensor<8x4xf32> -> (tensor<8x4xf32>), (tensor<8x4xi32>)
    feedback {
    ^bb0(%s: tensor<8x4xf32>):
      fsnn.yield %s : tensor<8x4xf32>
    } layers {
    ^bb0(%in: tensor<8x4xf32>, %extra: tensor<8x4xf32>):
      fsnn.yield %in : tensor<8x4xf32>
    }
  return
}

// -----

// Layer 2 is fed by layer 1's spikes, whose shape is layer 1's rates shape.
func.func @second_layer_argument(%x: tensor<8x4xf32>, %w: tensor<3x4xf32>) {
  // expected-error @+1 {{layer map 2 argument must have type 'tensor<8x4xf32>', got 'tensor<8x3xf32>'}}
  %r:2, %c:2 = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if> input static : tensor<8x4xf32> -> (tensor<8x4xf32>, tensor<8x3xf32>), (tensor<8x4xi32>, tensor<8x3xi32>)
    feedback {
    ^bb0(%s: tensor<8x3xf32>):
      %z = arith.constant dense<0.0> : tensor<8x4xf32>
      fsnn.yield %z : tensor<8x4xf32>
    } layers {
    ^bb0(%in: tensor<8x4xf32>):
      fsnn.yield %in : tensor<8x4xf32>
    }, {
    ^bb0(%s1: tensor<8x3xf32>):
      fsnn.yield %s1 : tensor<8x3xf32>
    }
  return
}

// -----

// The feedback goes from the last layer back to the first: it takes layer
// N's spikes, not layer 1's.
func.func @feedback_argument(%x: tensor<8x4xf32>) {
  // expected-error @+1 {{feedback map argument must have type 'tensor<8x3xf32>', got 'tensor<8x4xf32>'}}
  %r:2, %c:2 = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if> input static : tensor<8x4xf32> -> (tensor<8x4xf32>, tensor<8x3xf32>), (tensor<8x4xi32>, tensor<8x3xi32>)
    feedback {
    ^bb0(%s: tensor<8x4xf32>):
      fsnn.yield %s : tensor<8x4xf32>
    } layers {
    ^bb0(%in: tensor<8x4xf32>):
      fsnn.yield %in : tensor<8x4xf32>
    }, {
    ^bb0(%s1: tensor<8x4xf32>):
      %z = arith.constant dense<0.0> : tensor<8x3xf32>
      fsnn.yield %z : tensor<8x3xf32>
    }
  return
}

// -----

func.func @feedback_terminator(%x: tensor<8x4xf32>) {
  // expected-error @+1 {{feedback map must be terminated by fsnn.yield}}
  %r, %c = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if> input static : tensor<8x4xf32> -> (tensor<8x4xf32>), (tensor<8x4xi32>)
    feedback {
    ^bb0(%s: tensor<8x4xf32>):
      llvm.unreachable
    } layers {
    ^bb0(%in: tensor<8x4xf32>):
      fsnn.yield %in : tensor<8x4xf32>
    }
  return
}

// -----

func.func @feedback_yield_count(%x: tensor<8x4xf32>) {
  // expected-error @+1 {{feedback map must yield exactly one value, got 2}}
  %r, %c = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if> input static : tensor<8x4xf32> -> (tensor<8x4xf32>), (tensor<8x4xi32>)
    feedback {
    ^bb0(%s: tensor<8x4xf32>):
      fsnn.yield %s, %s : tensor<8x4xf32>, tensor<8x4xf32>
    } layers {
    ^bb0(%in: tensor<8x4xf32>):
      fsnn.yield %in : tensor<8x4xf32>
    }
  return
}

// -----

func.func @layer_yield_type(%x: tensor<8x4xf32>, %w: tensor<3x4xf32>) {
  // expected-error @+1 {{layer map 1 must yield type 'tensor<8x4xf32>', got 'tensor<8x3xf32>'}}
  %r, %c = fsnn.feedback %x steps 5 neuron #fsnn.neuron<if> input static : tensor<8x4xf32> -> (tensor<8x4xf32>), (tensor<8x4xi32>)
    feedback {
    ^bb0(%s: tensor<8x4xf32>):
      fsnn.yield %s : tensor<8x4xf32>
    } layers {
    ^bb0(%in: tensor<8x4xf32>):
      %y = fsnn.linear %in, %w : tensor<8x4xf32>, tensor<3x4xf32> -> tensor<8x3xf32>
      fsnn.yield %y : tensor<8x3xf32>
    }
  return
}

// -----

// The attribute is a signless i64; a negative count must not wrap around.
func.func @negative_time_steps(%x: tensor<8x4xf32>) {
  // expected-error @+1 {{'fsnn.feedback' op time_steps must be >= 1, got -3}}
  %r, %c = fsnn.feedback %x steps -3 neuron #fsnn.neuron<if> input static : tensor<8x4xf32> -> (tensor<8x4xf32>), (tensor<8x4xi32>)
    feedback {
    ^bb0(%s: tensor<8x4xf32>):
      fsnn.yield %s : tensor<8x4xf32>
    } layers {
    ^bb0(%in: tensor<8x4xf32>):
      fsnn.yield %in : tensor<8x4xf32>
    }
  return
}
