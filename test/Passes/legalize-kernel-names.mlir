// Functions whose names are not PTX identifiers are renamed, with their uses.
// RUN: fsnn-opt %s -fsnn-legalize-kernel-names | FileCheck %s

// CHECK-LABEL: func.func @fmnist_f400(
func.func @"fmnist-f400"(%x: f32) -> f32 {
  return %x : f32
}

// A taken name gets a suffix.
// CHECK-LABEL: func.func @fmnist_f400_1(
func.func @"fmnist.f400"(%x: f32) -> f32 {
  // CHECK: call @fmnist_f400(
  %y = func.call @"fmnist-f400"(%x) : (f32) -> f32
  return %y : f32
}

// CHECK-LABEL: func.func @_9lives(
func.func @"9lives"() {
  return
}
