//===- ModelABI.cpp - stage 3: LLVM IR with the model ABI -----------------===//
//
// The descriptor of the imported function (before lowering, while its
// arguments still carry names and tensor types) and the exported ABI of
// runtime/include/fsnnrt/model.h added to the translated module.
//
//===----------------------------------------------------------------------===//

#include "passes/Driver/Compile.h"
#include "passes/Driver/Stages.h"

#include "fsnnrt/model.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"

#include <cinttypes>
#include <cstdio>
#include <sstream>

using namespace mlir;
using namespace mlir::fsnn;

namespace {

/// The symbols a compiled model exports (runtime/include/fsnnrt/model.h).
constexpr llvm::StringLiteral kExportedSymbols[] = {
    "fsnn_model_abi_version", "fsnn_model_descriptor", "fsnn_model_entry"};

/// The dtype word of the descriptor for an element type.
const char *dtypeWord(Type element) {
  if (element.isF64())
    return "f64";
  if (element.isInteger(32))
    return "i32";
  if (element.isInteger(64))
    return "i64";
  return "f32";
}

std::string tensorLine(const char *kind, StringRef name, Type type) {
  auto tensor = cast<RankedTensorType>(type);
  std::ostringstream os;
  os << kind << " " << name.str() << " " << dtypeWord(tensor.getElementType());
  for (int64_t d : tensor.getShape())
    os << " " << d;
  return os.str();
}

} // namespace

std::string mlir::fsnn::describeFunction(func::FuncOp function, uint64_t hash,
                                         int64_t batch, bool training,
                                         const std::string &target) {
  std::ostringstream os;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016" PRIx64, hash);
  os << "fsnn-model-abi " << FSNN_MODEL_ABI_VERSION << "\n"
     << "hash " << hex << "\n"
     << "function " << function.getSymName().str() << "\n"
     << "batch " << batch << "\n";
  if (training)
    os << "kind training\n";
  if (target != "cpu")
    os << "target " << target << "\n";
  for (unsigned i = 0; i < function.getNumArguments(); ++i) {
    Type type = function.getArgument(i).getType();
    auto name = function.getArgAttrOfType<StringAttr>(i, "fsnn.name");
    if (type.isInteger(64))
      os << "seed\n";
    else if (function.getArgAttr(i, "fsnn.value"))
      os << tensorLine("param", name.getValue(), type) << "\n";
    else
      os << tensorLine("input", name.getValue(), type) << "\n";
  }
  for (unsigned i = 0; i < function.getNumResults(); ++i) {
    auto name = function.getResultAttrOfType<StringAttr>(i, "fsnn.name");
    os << tensorLine("output", name.getValue(), function.getResultTypes()[i])
       << "\n";
  }
  return os.str();
}

namespace {

/// Adds the exported ABI: fsnn_model_abi_version, fsnn_model_descriptor and
/// fsnn_model_entry(void **args), which unpacks the argument array into a
/// call of the generated C interface.
llvm::Error addABI(llvm::Module &module, const std::string &function,
                   const std::string &descriptor) {
  llvm::LLVMContext &ctx = module.getContext();
  // The GPU pipeline makes the name a PTX identifier (kernels are named
  // after it), so the one C interface of the module is the entry.
  llvm::Function *ciface = module.getFunction("_mlir_ciface_" + function);
  for (llvm::Function &candidate : module)
    if (!ciface && !candidate.isDeclaration() &&
        candidate.getName().starts_with("_mlir_ciface_"))
      ciface = &candidate;
  if (!ciface)
    return stageError("the lowered module has no C interface for @" + function);
  llvm::IRBuilder<> b(ctx);
  auto *ptr = llvm::PointerType::getUnqual(ctx);

  auto *versionFn = llvm::Function::Create(
      llvm::FunctionType::get(b.getInt32Ty(), false),
      llvm::GlobalValue::ExternalLinkage, "fsnn_model_abi_version", module);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", versionFn));
  b.CreateRet(b.getInt32(FSNN_MODEL_ABI_VERSION));

  auto *text = new llvm::GlobalVariable(
      module, llvm::ArrayType::get(b.getInt8Ty(), descriptor.size() + 1),
      /*isConstant=*/true, llvm::GlobalValue::PrivateLinkage,
      llvm::ConstantDataArray::getString(ctx, descriptor), "fsnn.descriptor");
  auto *descriptorFn = llvm::Function::Create(
      llvm::FunctionType::get(ptr, false), llvm::GlobalValue::ExternalLinkage,
      "fsnn_model_descriptor", module);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", descriptorFn));
  b.CreateRet(text);

  auto *entryFn = llvm::Function::Create(
      llvm::FunctionType::get(b.getVoidTy(), {ptr}, false),
      llvm::GlobalValue::ExternalLinkage, "fsnn_model_entry", module);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", entryFn));
  llvm::Value *args = entryFn->getArg(0);
  std::vector<llvm::Value *> callArgs;
  for (unsigned i = 0; i < ciface->arg_size(); ++i) {
    llvm::Value *slot = b.CreateConstGEP1_64(ptr, args, i);
    llvm::Value *pointer = b.CreateLoad(ptr, slot);
    llvm::Type *type = ciface->getArg(i)->getType();
    callArgs.push_back(type->isPointerTy() ? pointer
                                           : b.CreateLoad(type, pointer));
  }
  b.CreateCall(ciface, callArgs);
  b.CreateRetVoid();

  // Only the ABI is exported: no other symbol of the library can interpose
  // on, or be interposed by, a symbol of the process that loads it.
  auto internalize = [](llvm::GlobalValue &value) {
    if (!value.isDeclaration() && value.hasExternalLinkage() &&
        !llvm::is_contained(kExportedSymbols, value.getName()))
      value.setLinkage(llvm::GlobalValue::InternalLinkage);
  };
  for (llvm::Function &function : module)
    internalize(function);
  for (llvm::GlobalVariable &global : module.globals())
    internalize(global);
  return llvm::Error::success();
}

} // namespace

llvm::Expected<std::unique_ptr<llvm::Module>>
mlir::fsnn::emitLLVMIR(ModuleOp module, CompilationContext &context,
                       llvm::LLVMContext &llvmContext,
                       const std::string &descriptor) {
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, kGraphSymbol);
  if (!llvmModule)
    return stageError("translation to LLVM IR failed: " +
                      context.diagnostics());
  if (llvm::Error error = addABI(*llvmModule, kGraphSymbol, descriptor))
    return std::move(error);
  return std::move(llvmModule);
}
