//===- FSNNInterfaces.td - fsnn op interfaces -------------*- tablegen -*-===//
//
// What passes ask of a family of ops without switching on the op type.
//
//===----------------------------------------------------------------------===//

#ifndef FSNN_DIALECT_FSNNINTERFACES_TD
#define FSNN_DIALECT_FSNNINTERFACES_TD

include "mlir/IR/OpBase.td"

def FSNN_SynapticMapOpInterface : OpInterface<"SynapticMapOpInterface"> {
  let description = [{
    A synaptic map: every output neuron is a weighted sum of the input plus
    an optional bias per output feature (dimension 1 of the result):
    `fsnn.linear`, `fsnn.conv2d` and `fsnn.conv_transpose2d`. It gives what
    the passes need of a map without asking which one it is: its operands,
    which dimension of its weight indexes the output features (batch-norm
    folding scales that one), the result dimensions its bias is broadcast
    along (the bias gradient of fsnn-generate-backward sums over them), and
    whether its lowering has an event-driven form for spike input (the
    simulation marks such maps when it feeds them spikes).
  }];
  let cppNamespace = "::mlir::fsnn";
  let methods = [
    InterfaceMethod<"The input: currents, or spikes (0/1 values).",
      "::mlir::Value", "getInput">,
    InterfaceMethod<"The weight.", "::mlir::Value", "getWeight">,
    InterfaceMethod<"The bias (one value per output feature), or null.",
      "::mlir::Value", "getBias">,
    InterfaceMethod<"The weight operand, to rewrite it.",
      "::mlir::OpOperand &", "getWeightMutable">,
    InterfaceMethod<"The bias operand (none or one value), to rewrite it.",
      "::mlir::MutableOperandRange", "getBiasMutable">,
    InterfaceMethod<[{
        The dimension of the weight that indexes the output features: 0 for
        `out x in` and OIHW weights.
      }], "int64_t", "getWeightOutputDim", (ins), [{}], [{ return 0; }]>,
    InterfaceMethod<[{
        Whether the map's lowering has an event-driven form, which visits only
        the input neurons that fired when the input is spikes.
      }], "bool", "hasEventDrivenForm", (ins), [{}], [{ return true; }]>,
    InterfaceMethod<[{
        The dimensions of the result the bias is broadcast along: all but the
        features (1).
      }], "::llvm::SmallVector<int64_t>", "getBiasBroadcastDims", (ins), [{}],
      [{
        ::llvm::SmallVector<int64_t> dims;
        auto type = ::llvm::cast<::mlir::RankedTensorType>(
            $_op->getResult(0).getType());
        for (int64_t d = 0; d < type.getRank(); ++d)
          if (d != 1)
            dims.push_back(d);
        return dims;
      }]>,
  ];
}

#endif // FSNN_DIALECT_FSNNINTERFACES_TD
