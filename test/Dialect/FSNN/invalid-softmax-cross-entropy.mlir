// Every verifier message of fsnn.softmax_cross_entropy.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

func.func @logits_rank(%o: tensor<10xf32>, %l: tensor<8xi64>) {
  // expected-error @+1 {{'fsnn.softmax_cross_entropy' op logits must have rank 2 (batch x classes), got 'tensor<10xf32>'}}
  %loss, %g = fsnn.softmax_cross_entropy %o, %l : tensor<10xf32>, tensor<8xi64> -> tensor<f32>, tensor<10xf32>
  return
}

// -----

func.func @labels_rank(%o: tensor<8x10xf32>, %l: tensor<8x10xi64>) {
  // expected-error @+1 {{labels must have rank 1 (batch), got 'tensor<8x10xi64>'}}
  %loss, %g = fsnn.softmax_cross_entropy %o, %l : tensor<8x10xf32>, tensor<8x10xi64> -> tensor<f32>, tensor<8x10xf32>
  return
}

// -----

func.func @loss_rank(%o: tensor<8x10xf32>, %l: tensor<8xi64>) {
  // expected-error @+1 {{loss must have rank 0 (a scalar), got 'tensor<8xf32>'}}
  %loss, %g = fsnn.softmax_cross_entropy %o, %l : tensor<8x10xf32>, tensor<8xi64> -> tensor<8xf32>, tensor<8x10xf32>
  return
}

// -----

func.func @loss_element_type(%o: tensor<8x10xf32>, %l: tensor<8xi64>) {
  // expected-error @+1 {{loss element type 'f64' must match the logits element type 'f32'}}
  %loss, %g = fsnn.softmax_cross_entropy %o, %l : tensor<8x10xf32>, tensor<8xi64> -> tensor<f64>, tensor<8x10xf32>
  return
}

// -----

func.func @labels_size(%o: tensor<8x10xf32>, %l: tensor<16xi32>) {
  // expected-error @+1 {{labels size (16) must equal logits batch (8)}}
  %loss, %g = fsnn.softmax_cross_entropy %o, %l : tensor<8x10xf32>, tensor<16xi32> -> tensor<f32>, tensor<8x10xf32>
  return
}

// -----

func.func @grad_type(%o: tensor<8x10xf32>, %l: tensor<8xi64>) {
  // expected-error @+1 {{grad type 'tensor<8x400xf32>' must equal the logits type 'tensor<8x10xf32>'}}
  %loss, %g = fsnn.softmax_cross_entropy %o, %l : tensor<8x10xf32>, tensor<8xi64> -> tensor<f32>, tensor<8x400xf32>
  return
}

// -----

func.func @float_labels(%o: tensor<8x10xf32>, %l: tensor<8xf32>) {
  // expected-error @+1 {{operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values}}
  %loss, %g = fsnn.softmax_cross_entropy %o, %l : tensor<8x10xf32>, tensor<8xf32> -> tensor<f32>, tensor<8x10xf32>
  return
}
