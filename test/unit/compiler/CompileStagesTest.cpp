//===- CompileStagesTest.cpp - fsnn-compile's stages one at a time
//---------===//
//
// Each stage of passes/Driver on its own: what it makes from a small F400,
// and the error it returns when it cannot.
//
//===----------------------------------------------------------------------===//

#include "passes/Driver/Compile.h"
#include "training/zoo/Zoo.h"

#include "dialect/IR/FSNNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Target/TargetMachine.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <unistd.h>

using namespace mlir;
using namespace mlir::fsnn;
namespace fm = ::fsnn::model;

namespace {

class CompileStages : public ::testing::Test {
protected:
  void SetUp() override {
    fm::ZooOptions zoo;
    zoo.timeSteps = 2;
    ASSERT_TRUE(fm::createModel("fmnist-f400", zoo, model).ok());
    ASSERT_TRUE(fm::validateModel(model, info).ok());
    options.batch = 2;
  }

  fm::ModelProto model;
  fm::ModelInfo info;
  CompileOptions options;
};

std::string messageOf(llvm::Error error) {
  return llvm::toString(std::move(error));
}

TEST_F(CompileStages, OptionsNameAnUnknownTarget) {
  options.target = "tpu";
  EXPECT_EQ(messageOf(checkCompileOptions(options)),
            "unknown target 'tpu' (cpu or cuda)");
  options.target = "cuda";
  options.cudaToolkit = "/nonexistent";
  options.emit = EmitKind::MLIR;
  EXPECT_EQ(messageOf(checkCompileOptions(options)),
            "--target cuda needs CUDA's ptxas, and /nonexistent/bin/ptxas "
            "does not exist");
}

TEST_F(CompileStages, ImportNamesTheGraphAndDescribesIt) {
  CompilationContext context;
  std::string descriptor;
  auto module = importForCompilation(model, info, context, options, descriptor);
  ASSERT_TRUE(static_cast<bool>(module)) << messageOf(module.takeError());
  auto functions = (*module)->getOps<func::FuncOp>();
  ASSERT_FALSE(functions.empty());
  EXPECT_EQ((*functions.begin()).getSymName(), "fsnn_graph");
  EXPECT_EQ(descriptor.rfind("fsnn-model-abi ", 0), 0u);
  EXPECT_NE(descriptor.find("\nbatch 2\n"), std::string::npos);
  EXPECT_EQ(descriptor.find("kind training"), std::string::npos);
}

TEST_F(CompileStages, TrainingImportAddsTheGradientsToTheDescriptor) {
  options.training = true;
  CompilationContext context;
  std::string descriptor;
  auto module = importForCompilation(model, info, context, options, descriptor);
  ASSERT_TRUE(static_cast<bool>(module)) << messageOf(module.takeError());
  EXPECT_NE(descriptor.find("kind training"), std::string::npos);
  EXPECT_NE(descriptor.find("output grad:"), std::string::npos);
}

TEST_F(CompileStages, LoweringLeavesOnlyTheLLVMDialectAndEmitsTheABI) {
  CompilationContext context;
  std::string descriptor;
  auto module = importForCompilation(model, info, context, options, descriptor);
  ASSERT_TRUE(static_cast<bool>(module)) << messageOf(module.takeError());
  ASSERT_FALSE(lowerToLLVMDialect(**module, context, options));
  bool onlyLLVM = true;
  (*module)->walk([&](Operation *op) {
    if (!isa<ModuleOp>(op) && !isa<LLVM::LLVMDialect>(op->getDialect()))
      onlyLLVM = false;
  });
  EXPECT_TRUE(onlyLLVM);

  llvm::LLVMContext llvmContext;
  auto llvmModule = emitLLVMIR(**module, context, llvmContext, descriptor);
  ASSERT_TRUE(static_cast<bool>(llvmModule))
      << messageOf(llvmModule.takeError());
  // Only the ABI is exported.
  std::vector<std::string> exported;
  for (llvm::Function &function : **llvmModule)
    if (!function.isDeclaration() && function.hasExternalLinkage())
      exported.push_back(function.getName().str());
  std::sort(exported.begin(), exported.end());
  EXPECT_EQ(exported, (std::vector<std::string>{"fsnn_model_abi_version",
                                                "fsnn_model_descriptor",
                                                "fsnn_model_entry"}));
}

TEST_F(CompileStages, TargetMachineRefusesAnUnknownCPU) {
  options.cpu = "not-a-cpu";
  auto machine = createTargetMachine(options);
  ASSERT_FALSE(static_cast<bool>(machine));
  EXPECT_NE(messageOf(machine.takeError())
                .find("--cpu not-a-cpu is not a CPU LLVM knows"),
            std::string::npos);
}

TEST_F(CompileStages, ObjectIsAnELFFileAndLinkingNeedsAWritableOutput) {
  char directory[] = "/tmp/fsnn-stages-XXXXXX";
  ASSERT_NE(mkdtemp(directory), nullptr);
  options.emit = EmitKind::Object;
  options.output = std::string(directory) + "/f400.o";
  ASSERT_FALSE(compileModel(model, options));
  std::ifstream file(options.output, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), {});
  ASSERT_GE(bytes.size(), 4u);
  EXPECT_EQ(bytes.substr(0, 4), "\x7f"
                                "ELF");

  options.output = std::string(directory) + "/missing/f400.so";
  std::string message = messageOf(linkSharedLibrary(bytes, options));
  EXPECT_NE(message.find("missing"), std::string::npos) << message;
  std::remove((std::string(directory) + "/f400.o").c_str());
  rmdir(directory);
}

} // namespace
