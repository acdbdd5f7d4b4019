// Every verifier message of fsnn.linear.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

func.func @input_rank(%x: tensor<784xf32>, %w: tensor<400x784xf32>) {
  // expected-error @+1 {{'fsnn.linear' op input must have rank 2 (batch x in_features), got 'tensor<784xf32>'}}
  %y = fsnn.linear %x, %w : tensor<784xf32>, tensor<400x784xf32> -> tensor<400xf32>
  return
}

// -----

func.func @weight_rank(%x: tensor<8x784xf32>, %w: tensor<400x28x28xf32>) {
  // expected-error @+1 {{weight must have rank 2 (out_features x in_features), got 'tensor<400x28x28xf32>'}}
  %y = fsnn.linear %x, %w : tensor<8x784xf32>, tensor<400x28x28xf32> -> tensor<8x400xf32>
  return
}

// -----

// A transposed weight is the classic mistake: out x in, not in x out.
func.func @weight_in_features(%x: tensor<8x784xf32>, %w: tensor<784x400xf32>) {
  // expected-error @+1 {{weight in_features (400) must equal input in_features (784)}}
  %y = fsnn.linear %x, %w : tensor<8x784xf32>, tensor<784x400xf32> -> tensor<8x784xf32>
  return
}

// -----

func.func @bias_rank(%x: tensor<8x784xf32>, %w: tensor<400x784xf32>, %b: tensor<1x400xf32>) {
  // expected-error @+1 {{bias must have rank 1 (out_features), got 'tensor<1x400xf32>'}}
  %y = fsnn.linear %x, %w, %b : tensor<8x784xf32>, tensor<400x784xf32>, tensor<1x400xf32> -> tensor<8x400xf32>
  return
}

// -----

func.func @bias_size(%x: tensor<8x784xf32>, %w: tensor<400x784xf32>, %b: tensor<10xf32>) {
  // expected-error @+1 {{bias size (10) must equal weight out_features (400)}}
  %y = fsnn.linear %x, %w, %b : tensor<8x784xf32>, tensor<400x784xf32>, tensor<10xf32> -> tensor<8x400xf32>
  return
}

// -----

func.func @element_types(%x: tensor<8x784xf32>, %w: tensor<400x784xf64>) {
  // expected-error @+1 {{weight element type 'f64' must match the input element type 'f32'}}
  %y = fsnn.linear %x, %w : tensor<8x784xf32>, tensor<400x784xf64> -> tensor<8x400xf32>
  return
}

// -----

func.func @result_shape(%x: tensor<8x784xf32>, %w: tensor<400x784xf32>) {
  // expected-error @+1 {{result type 'tensor<8x10xf32>' does not match the expected shape 8x400}}
  %y = fsnn.linear %x, %w : tensor<8x784xf32>, tensor<400x784xf32> -> tensor<8x10xf32>
  return
}

// -----

// Integer tensors are not a float tensor type; ODS rejects them.
func.func @integer_input(%x: tensor<8x784xi32>, %w: tensor<400x784xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float or 64-bit float values}}
  %y = fsnn.linear %x, %w : tensor<8x784xi32>, tensor<400x784xf32> -> tensor<8x400xf32>
  return
}
