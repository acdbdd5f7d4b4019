//===- ModelLoaderTest.cpp - loading and running model libraries ----------===//

#include "fsnnrt/model.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

std::string error() { return fsnn_last_error(); }

TEST(ModelLoader, RunsAnyBatchInChunksOfTheCompiledBatch) {
  fsnn_model *model = nullptr;
  ASSERT_EQ(fsnn_model_open(FAKE_GOOD_PATH, &model), FSNN_OK) << error();
  EXPECT_EQ(fsnn_model_hash(model), 0xabu);
  EXPECT_EQ(fsnn_model_batch(model), 4);
  ASSERT_EQ(fsnn_model_num_parameters(model), 1);
  EXPECT_STREQ(fsnn_model_parameter(model, 0).name, "p");
  EXPECT_STREQ(fsnn_model_output(model, 0).name, "y");
  EXPECT_EQ(fsnn_model_input(model).rank, 2);
  EXPECT_STREQ(fsnn_model_target(model), "cpu");

  // 11 samples: chunks of 4, 4 and a padded 3, on 1 and on 3 threads.
  for (int threads : {1, 3}) {
    std::vector<float> x(11 * 3), y(11 * 3, -1.0f), p = {10, 20, 30};
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = float(i);
    const void *params[] = {p.data()};
    void *outputs[] = {y.data()};
    ASSERT_EQ(fsnn_model_run(model, x.data(), params, 0, outputs, 11, threads),
              FSNN_OK)
        << error();
    for (size_t i = 0; i < y.size(); ++i)
      EXPECT_EQ(y[i], x[i] + p[i % 3]) << "element " << i;
  }
  fsnn_model_close(model);
}

TEST(ModelLoader, RejectsBadArguments) {
  fsnn_model *model = nullptr;
  ASSERT_EQ(fsnn_model_open(FAKE_GOOD_PATH, &model), FSNN_OK);
  std::vector<float> x(12), y(12), p(3);
  const void *params[] = {p.data()};
  void *outputs[] = {y.data()};
  EXPECT_EQ(fsnn_model_run(model, x.data(), params, 0, outputs, 0, 1),
            FSNN_INVALID_ARGUMENT);
  EXPECT_NE(error().find("batch must be >= 1"), std::string::npos);
  EXPECT_EQ(fsnn_model_run(model, nullptr, params, 0, outputs, 4, 1),
            FSNN_INVALID_ARGUMENT);
  fsnn_model_close(model);
}

TEST(ModelLoader, RefusesAnotherAbiVersion) {
  fsnn_model *model = nullptr;
  EXPECT_EQ(fsnn_model_open(FAKE_ABI_99_PATH, &model), FSNN_ABI_MISMATCH);
  EXPECT_EQ(model, nullptr);
  EXPECT_NE(error().find("compiled for model ABI 99, this runtime runs ABI 1"),
            std::string::npos)
      << error();
}

TEST(ModelLoader, ReportsAMissingSymbol) {
  fsnn_model *model = nullptr;
  EXPECT_EQ(fsnn_model_open(FAKE_NO_ENTRY_PATH, &model), FSNN_NOT_FOUND);
  EXPECT_NE(error().find("missing symbol fsnn_model_entry"), std::string::npos)
      << error();
}

TEST(ModelLoader, ReportsABadDescriptor) {
  fsnn_model *model = nullptr;
  EXPECT_EQ(fsnn_model_open(FAKE_BAD_DESCRIPTOR_PATH, &model),
            FSNN_INVALID_ARGUMENT);
  EXPECT_NE(error().find("line 3: expected a batch in [1, 16777216]"),
            std::string::npos)
      << error();
}

TEST(ModelLoader, CallsATrainingStepOnItsCompiledBatch) {
  fsnn_model *model = nullptr;
  ASSERT_EQ(fsnn_model_open(FAKE_TRAINING_PATH, &model), FSNN_OK) << error();
  EXPECT_EQ(fsnn_model_is_training(model), 1);
  ASSERT_EQ(fsnn_model_num_inputs(model), 2);
  EXPECT_STREQ(fsnn_model_input_at(model, 1).name, "labels");
  EXPECT_EQ(fsnn_model_input_at(model, 1).dtype, FSNN_I64);
  EXPECT_EQ(fsnn_model_output(model, 0).rank, 0); // the loss is a scalar
  std::vector<float> x(12, 0.5f), p = {1, 2, 3}, grad(3);
  std::vector<int64_t> labels = {1, 2, 3, 4};
  float loss = 0;
  const void *inputs[] = {x.data(), labels.data()};
  const void *params[] = {p.data()};
  void *outputs[] = {&loss, grad.data()};
  ASSERT_EQ(fsnn_model_call(model, inputs, params, 7, outputs), FSNN_OK);
  EXPECT_EQ(loss, 7 + 6 + 10);
  EXPECT_EQ(grad, (std::vector<float>{2, 4, 6}));
  // A training step is not cut into chunks: its batch statistics couple
  // the samples.
  EXPECT_EQ(fsnn_model_run(model, x.data(), params, 0, outputs, 4, 1),
            FSNN_INVALID_ARGUMENT);
  EXPECT_NE(error().find("this library is a training step"), std::string::npos)
      << error();
  fsnn_model_close(model);
}

TEST(ModelLoader, ReportsAnUnknownKind) {
  fsnn_model *model = nullptr;
  EXPECT_EQ(fsnn_model_open(FAKE_BAD_KIND_PATH, &model), FSNN_INVALID_ARGUMENT);
  EXPECT_NE(error().find("line 4: expected 'inference' or 'training'"),
            std::string::npos)
      << error();
}

TEST(ModelLoader, ReportsAnUnknownTarget) {
  fsnn_model *model = nullptr;
  EXPECT_EQ(fsnn_model_open(FAKE_BAD_TARGET_PATH, &model),
            FSNN_INVALID_ARGUMENT);
  EXPECT_NE(error().find("line 4: expected 'cpu' or 'cuda'"), std::string::npos)
      << error();
}

TEST(ModelLoader, ReportsACudaModelWithoutItsWrappers) {
  fsnn_model *model = nullptr;
  EXPECT_EQ(fsnn_model_open(FAKE_CUDA_NO_WRAPPERS_PATH, &model),
            FSNN_NOT_FOUND);
  EXPECT_NE(error().find("a CUDA model without the CUDA wrappers"),
            std::string::npos)
      << error();
}

TEST(ModelLoader, ReportsACudaModelWithoutADevice) {
  fsnn_model *model = nullptr;
  EXPECT_EQ(fsnn_model_open(FAKE_CUDA_NO_DEVICE_PATH, &model),
            FSNN_UNAVAILABLE);
  EXPECT_NE(error().find("is a CUDA model: no CUDA device: the fake has none"),
            std::string::npos)
      << error();
}

TEST(ModelLoader, ReportsACudaErrorOfARun) {
  fsnn_model *model = nullptr;
  ASSERT_EQ(fsnn_model_open(FAKE_CUDA_FAILING_RUN_PATH, &model), FSNN_OK)
      << error();
  EXPECT_STREQ(fsnn_model_target(model), "cuda");
  std::vector<float> x(12, 1.0f), p = {1, 2, 3}, y(12);
  const void *params[] = {p.data()};
  void *outputs[] = {y.data()};
  EXPECT_EQ(fsnn_model_run(model, x.data(), params, 0, outputs, 4, 4),
            FSNN_INTERNAL);
  EXPECT_NE(error().find("model run on the GPU: CUDA error: cuLaunchKernel "
                         "failed with CUDA_ERROR_LAUNCH_FAILED"),
            std::string::npos)
      << error();
  fsnn_model_close(model);
}

TEST(ModelLoader, ReportsAFileThatIsNotALibrary) {
  fsnn_model *model = nullptr;
  EXPECT_EQ(fsnn_model_open("/etc/hostname", &model), FSNN_INVALID_ARGUMENT);
  EXPECT_NE(error().find("/etc/hostname: not a loadable compiled model: "),
            std::string::npos)
      << error();
  EXPECT_EQ(fsnn_model_open("/nonexistent/m.so", &model), FSNN_NOT_FOUND);
  EXPECT_NE(error().find("cannot load compiled model"), std::string::npos);
}

/// A copy of `from` cut to `bytes`, in the test's temporary directory.
std::string truncatedCopy(const char *from, long bytes) {
  std::string path =
      ::testing::TempDir() + "truncated-" + std::to_string(bytes) + ".so";
  std::ifstream in(from, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(path, std::ios::binary).write(data.data(), bytes);
  return path;
}

// dlopen of a torn library faulted with SIGBUS; its headers are checked
// against the file first.
TEST(ModelLoader, RefusesATruncatedLibrary) {
  std::ifstream in(FAKE_GOOD_PATH, std::ios::binary | std::ios::ate);
  long size = long(in.tellg());
  ASSERT_GT(size, 4096);
  for (long bytes : {10L, 100L, size / 2, size - 1}) {
    fsnn_model *model = nullptr;
    EXPECT_EQ(
        fsnn_model_open(truncatedCopy(FAKE_GOOD_PATH, bytes).c_str(), &model),
        FSNN_INVALID_ARGUMENT)
        << bytes << " bytes";
    EXPECT_NE(error().find("not a loadable compiled model"), std::string::npos)
        << error();
    EXPECT_EQ(model, nullptr);
  }
}

TEST(ModelLoader, RefusesARepeatedDescriptorKey) {
  fsnn_model *model = nullptr;
  EXPECT_EQ(fsnn_model_open(FAKE_DUPLICATE_HASH_PATH, &model),
            FSNN_INVALID_ARGUMENT);
  EXPECT_NE(error().find("line 4: 'hash' given twice"), std::string::npos)
      << error();
}

TEST(ModelLoader, RefusesDimsBeyondItsLimits) {
  fsnn_model *model = nullptr;
  EXPECT_EQ(fsnn_model_open(FAKE_HUGE_DIMS_PATH, &model),
            FSNN_INVALID_ARGUMENT);
  EXPECT_NE(error().find("a tensor larger than the runtime accepts"),
            std::string::npos)
      << error();
}

// Nothing throws across the C API (an index out of range threw
// std::out_of_range); a huge thread count is not a huge allocation.
TEST(ModelLoader, AccessorsOutOfRangeAndHugeThreadCounts) {
  fsnn_model *model = nullptr;
  ASSERT_EQ(fsnn_model_open(FAKE_GOOD_PATH, &model), FSNN_OK) << error();
  for (int32_t index : {-1, 1, 999}) {
    fsnn_tensor_info param = fsnn_model_parameter(model, index);
    EXPECT_EQ(param.name, nullptr);
    EXPECT_EQ(param.rank, -1);
    EXPECT_NE(error().find("parameter " + std::to_string(index) +
                           " is out of range: the model has 1"),
              std::string::npos)
        << error();
    EXPECT_EQ(fsnn_model_output(model, index).name, nullptr);
    EXPECT_EQ(fsnn_model_input_at(model, index).rank, -1);
  }
  std::vector<float> x(5 * 3, 1.0f), y(5 * 3), p = {1, 2, 3};
  const void *params[] = {p.data()};
  void *outputs[] = {y.data()};
  EXPECT_EQ(
      fsnn_model_run(model, x.data(), params, 0, outputs, 5, int32_t(1) << 30),
      FSNN_OK)
      << error();
  EXPECT_EQ(y[14], 4.0f);
  fsnn_model_close(model);
}

} // namespace
