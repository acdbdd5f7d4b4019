//===- FSNNBase.td - fsnn dialect, enums and attributes ---*- tablegen -*-===//
//
// The fsnn dialect: feedback spiking neural networks trained by implicit
// differentiation on the equilibrium state (IDE).
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_DIALECT_FSNNBASE_TD
#define FSNN_DIALECT_FSNNBASE_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/OpBase.td"

def FSNN_Dialect : Dialect {
  let name = "fsnn";
  let cppNamespace = "::mlir::fsnn";
  let summary = "Feedback spiking neural networks and their equilibrium solves";
  let description = [{
    The `fsnn` dialect describes feedback spiking neural networks (FSNNs) as
    trained by implicit differentiation on the equilibrium state (IDE, Xiao
    et al., NeurIPS 2021). It has three groups of ops:

    * the maps a network is built from (`fsnn.linear`, `fsnn.conv2d`,
      `fsnn.conv_transpose2d`, `fsnn.batch_norm`, `fsnn.dropout`, ...), which
      operate on value-semantic tensors whose leading dimension is the batch;
    * `fsnn.feedback`, which simulates T time steps of one or several
      feedback spiking layers with IF/LIF neurons and returns their firing
      rates and spike counts;
    * the equilibrium view of the same network: `fsnn.clamp_rate`,
      `fsnn.equilibrium_solve` and `fsnn.adjoint_solve`, from which the
      implicit backward is built.

    See docs/dialect.md for the rationale.
  }];
  let useDefaultAttributePrinterParser = 1;
  // Folds produce dense constants, materialized as arith.constant.
  let hasConstantMaterializer = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def FSNN_NeuronKind : I32EnumAttr<"NeuronKind", "spiking neuron model", [
    I32EnumAttrCase<"IF", 0, "if">,
    I32EnumAttrCase<"LIF", 1, "lif">
  ]> {
  let cppNamespace = "::mlir::fsnn";
  let genSpecializedAttr = 0;
}

def FSNN_ResetMode : I32EnumAttr<"ResetMode", "membrane reset after a spike", [
    I32EnumAttrCase<"Subtract", 0, "subtract">,
    I32EnumAttrCase<"Zero", 1, "zero">
  ]> {
  let cppNamespace = "::mlir::fsnn";
  let genSpecializedAttr = 0;
}

def FSNN_InputKindAttr : I32EnumAttr<"InputKind",
    "how the network input enters the first layer", [
    I32EnumAttrCase<"Static", 0, "static">,
    I32EnumAttrCase<"SpikeFrames", 1, "spike_frames">
  ]> {
  let cppNamespace = "::mlir::fsnn";
}

def FSNN_SolverKindAttr : I32EnumAttr<"SolverKind",
    "iterative solver for an equilibrium or adjoint equation", [
    I32EnumAttrCase<"Broyden", 0, "broyden">,
    I32EnumAttrCase<"FixedPoint", 1, "fixed_point">,
    I32EnumAttrCase<"Anderson", 2, "anderson">
  ]> {
  let cppNamespace = "::mlir::fsnn";
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

class FSNN_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<FSNN_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def FSNN_NeuronAttr : FSNN_Attr<"Neuron", "neuron"> {
  let summary = "spiking neuron model: IF or LIF, threshold, leak, reset";
  let description = [{
    Describes the neurons of a spiking layer (docs/method.md §1.3, §1.4).

    * `if`: integrate-and-fire; the leak is 1.
    * `lif`: leaky integrate-and-fire with leak λ in (0, 1]; after the reset
      the potential is multiplied by λ, and firing rates are λ-weighted.
    * `threshold`: the firing threshold V_th > 0; a neuron fires when its
      potential is >= V_th.
    * `reset`: `subtract` (default, the paper's reset by subtraction: u -= V_th)
      or `zero` (u = 0 after a spike), for compatibility with other SNN tools.

    Example:
    ```mlir
    #fsnn.neuron<if, threshold = 2.0>
    #fsnn.neuron<lif, threshold = 2.0, leak = 0.95>
    #fsnn.neuron<if, threshold = 1.0, reset = zero>
    ```
  }];
  let parameters = (ins "NeuronKind":$kind,
                        APFloatParameter<"firing threshold V_th">:$threshold,
                        APFloatParameter<"leak factor λ">:$leak,
                        "ResetMode":$reset);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The threshold and the leak as doubles, for code that computes with them.
    double getThresholdValue() const { return getThreshold().convertToDouble(); }
    double getLeakValue() const { return getLeak().convertToDouble(); }
  }];
}

#endif // FSNN_DIALECT_FSNNBASE_TD
