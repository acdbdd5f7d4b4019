// Every diagnostic of the #fsnn.neuron attribute.
// RUN: fsnn-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{unknown neuron kind 'izhikevich', expected 'if' or 'lif'}}
func.func @unknown_kind() attributes {fsnn.n = #fsnn.neuron<izhikevich>} { return }

// -----

// expected-error @+1 {{unknown reset mode 'soft', expected 'subtract' or 'zero'}}
func.func @unknown_reset() attributes {fsnn.n = #fsnn.neuron<if, reset = soft>} { return }

// -----

// expected-error @+1 {{unknown neuron parameter 'tau', expected 'threshold', 'leak' or 'reset'}}
func.func @unknown_parameter() attributes {fsnn.n = #fsnn.neuron<lif, tau = 2.0>} { return }

// -----

// There is no leak that would be a safe default for LIF.
// expected-error @+1 {{a 'lif' neuron needs an explicit leak}}
func.func @lif_without_leak() attributes {fsnn.n = #fsnn.neuron<lif, threshold = 2.0>} { return }

// -----

// expected-error @+1 {{neuron threshold must be a finite positive number, got 0.0}}
func.func @zero_threshold() attributes {fsnn.n = #fsnn.neuron<if, threshold = 0.0>} { return }

// -----

// expected-error @+1 {{neuron threshold must be a finite positive number, got -2.0}}
func.func @negative_threshold() attributes {fsnn.n = #fsnn.neuron<if, threshold = -2.0>} { return }

// -----

// expected-error @+1 {{neuron leak must be in (0, 1], got 1.5}}
func.func @leak_above_one() attributes {fsnn.n = #fsnn.neuron<lif, leak = 1.5>} { return }

// -----

// expected-error @+1 {{neuron leak must be in (0, 1], got 0.0}}
func.func @zero_leak() attributes {fsnn.n = #fsnn.neuron<lif, leak = 0.0>} { return }

// -----

// expected-error @+1 {{an 'if' neuron has no leak (leak = 1), got leak 0.95; use 'lif'}}
func.func @if_with_leak() attributes {fsnn.n = #fsnn.neuron<if, leak = 0.95>} { return }
