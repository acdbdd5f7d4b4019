//===- FSNNDialect.cpp - fsnn dialect and attributes ----------------------===//

#include "dialect/IR/FSNNDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstdlib>
#include <string>

using namespace mlir;
using namespace mlir::fsnn;

#include "dialect/IR/FSNNDialect.cpp.inc"
#include "dialect/IR/FSNNEnums.cpp.inc"
#include "dialect/IR/FSNNInterfaces.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/IR/FSNNAttrs.cpp.inc"

void FSNNDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialect/IR/FSNNOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialect/IR/FSNNAttrs.cpp.inc"
      >();
}

Operation *FSNNDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                            Type type, Location loc) {
  if (auto typed = dyn_cast<TypedAttr>(value))
    if (arith::ConstantOp::isBuildableWith(typed, type))
      return arith::ConstantOp::create(builder, loc, type, typed);
  return nullptr;
}

//===----------------------------------------------------------------------===//
// NeuronAttr
//===----------------------------------------------------------------------===//

/// The shortest decimal that parses back to exactly `value`, always with a
/// decimal point or exponent so that it reads as a float (2.0, 0.95, 1e-05).
std::string mlir::fsnn::formatShortestDouble(double value) {
  std::string text;
  for (int precision = 1; precision <= 17; ++precision) {
    text = llvm::formatv("{0}", llvm::format("%.*g", precision, value)).str();
    if (std::strtod(text.c_str(), nullptr) == value)
      break;
  }
  if (text.find_first_of(".eEn") == std::string::npos)
    text += ".0";
  return text;
}

// Syntax: `<` (if|lif) (`,` key `=` value)* `>` with keys threshold, leak and
// reset. Omitted keys take the paper's defaults (threshold 2, leak 1 for IF,
// reset by subtraction); LIF requires an explicit leak, because there is no
// leak that would be a safe default.
Attribute NeuronAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess())
    return {};
  StringRef kindName;
  if (parser.parseKeyword(&kindName))
    return {};
  std::optional<NeuronKind> kind = symbolizeNeuronKind(kindName);
  if (!kind) {
    parser.emitError(loc) << "unknown neuron kind '" << kindName
                          << "', expected 'if' or 'lif'";
    return {};
  }
  double threshold = 2.0;
  std::optional<double> leak;
  ResetMode reset = ResetMode::Subtract;
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc keyLoc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return {};
    if (key == "threshold") {
      if (parser.parseFloat(threshold))
        return {};
    } else if (key == "leak") {
      double value;
      if (parser.parseFloat(value))
        return {};
      leak = value;
    } else if (key == "reset") {
      StringRef resetName;
      if (parser.parseKeyword(&resetName))
        return {};
      std::optional<ResetMode> mode = symbolizeResetMode(resetName);
      if (!mode) {
        parser.emitError(keyLoc) << "unknown reset mode '" << resetName
                                 << "', expected 'subtract' or 'zero'";
        return {};
      }
      reset = *mode;
    } else {
      parser.emitError(keyLoc) << "unknown neuron parameter '" << key
                               << "', expected 'threshold', 'leak' or 'reset'";
      return {};
    }
  }
  if (parser.parseGreater())
    return {};
  if (!leak) {
    if (*kind == NeuronKind::LIF) {
      parser.emitError(loc) << "a 'lif' neuron needs an explicit leak";
      return {};
    }
    leak = 1.0;
  }
  return parser.getChecked<NeuronAttr>(loc, parser.getContext(), *kind,
                                       APFloat(threshold), APFloat(*leak),
                                       reset);
}

void NeuronAttr::print(AsmPrinter &printer) const {
  printer << '<' << stringifyNeuronKind(getKind())
          << ", threshold = " << formatShortestDouble(getThresholdValue());
  if (getKind() == NeuronKind::LIF)
    printer << ", leak = " << formatShortestDouble(getLeakValue());
  if (getReset() != ResetMode::Subtract)
    printer << ", reset = " << stringifyResetMode(getReset());
  printer << '>';
}

LogicalResult NeuronAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 NeuronKind kind, APFloat threshold,
                                 APFloat leak, ResetMode) {
  double vth = threshold.convertToDouble();
  double lambda = leak.convertToDouble();
  if (!std::isfinite(vth) || vth <= 0.0)
    return emitError() << "neuron threshold must be a finite positive number, "
                          "got "
                       << formatShortestDouble(vth);
  if (!(lambda > 0.0 && lambda <= 1.0))
    return emitError() << "neuron leak must be in (0, 1], got "
                       << formatShortestDouble(lambda);
  if (kind == NeuronKind::IF && lambda != 1.0)
    return emitError() << "an 'if' neuron has no leak (leak = 1), got leak "
                       << formatShortestDouble(lambda) << "; use 'lif'";
  return success();
}
