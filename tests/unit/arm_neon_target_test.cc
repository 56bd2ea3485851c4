// The ARM NEON target: the emitted package, cross-built for aarch64 and run under qemu-aarch64,
// computes every quantized zoo model's outputs bit for bit as the reference int8 executor does, on
// the bundled images, with the SDOT kernels (Cortex-A76) and the ARMv8.0 ones (Cortex-A53). Skipped
// when the cross compiler or qemu is missing (tools/setup.sh installs them).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "compiler/api/edgeopt.h"
#include "targets/arm_neon/emit.h"
#include "targets/arm_neon/qemu_runner.h"
#include "tests/unit/onnx_model_builder.h"
#include "tests/unit/zoo_data.h"

namespace edgeopt {
namespace {
namespace fs = std::filesystem;

const fs::path kZoo = testing::kZoo;

// The default CPU (cortex-a76, dot product) is covered by CrossTargetTest over the registry; this
// one checks the ARMv8.0 kernels (no dot product).
TEST(ArmNeonTargetTest, ZooInt8BitExactUnderQemuOnArmV80) {
  if (!arm_neon::neonToolsAvailable().ok()) GTEST_SKIP() << arm_neon::neonToolsAvailable().message();
  const auto zoo = testing::zooManifest();
  for (const auto& [name, entry] : zoo["models"].items()) {
    SCOPED_TRACE(name);
    auto model = api::loadModel((kZoo / entry["file"].get<std::string>()).string());
    ASSERT_TRUE(model.ok());
    const std::string preprocess = entry["preprocess"].get<std::string>();
    ASSERT_TRUE(testing::quantizeWithBundled(model.value(), preprocess, 100).ok());
    auto ref = api::ModelRunner::create(model.value(), api::runnerOptionsFor("ref", 1));
    ASSERT_TRUE(ref.ok());
    for (const char* cpu : {"cortex-a53"}) {
      auto arm = api::ModelRunner::create(model.value(), api::runnerOptionsFor("arm-neon", 1, cpu));
      ASSERT_TRUE(arm.ok()) << arm.status().message();
      for (const ir::Tensor& batch : testing::bundledBatches(preprocess, 250)) {
        auto want = ref.value()->run({batch});
        auto got = arm.value()->run({batch});
        ASSERT_TRUE(want.ok() && got.ok()) << (got.ok() ? "" : got.status().message());
        ASSERT_EQ(want.value()[0].dims(), got.value()[0].dims());
        for (int64_t i = 0; i < want.value()[0].numel(); ++i)
          ASSERT_EQ(want.value()[0].data<float>()[i], got.value()[0].data<float>()[i]) << cpu << " element " << i;
      }
    }
  }
}

// Ops the zoo does not use: MaxPool, a strided 3x3 conv with three input channels (NCHW input
// quantized into NHWC), a 1x1 stride-2 conv; bit-exact with the reference.
TEST(ArmNeonTargetTest, MaxPoolStridedConvAndMultiChannelInput) {
  if (!arm_neon::neonToolsAvailable().ok()) GTEST_SKIP() << arm_neon::neonToolsAvailable().message();
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  auto values = [&](size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = u(rng);
    return v;
  };
  testing::OnnxModelBuilder b;
  b.input("x", {-1, 3, 12, 12}).output("y", {-1, 5});
  b.initializer("w1", {8, 3, 3, 3}, values(216)).initializer("b1", {8}, values(8));
  b.initializer("w2", {6, 8, 1, 1}, values(48)).initializer("wf", {5, 6}, values(30));
  auto* c1 = b.node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1");
  for (const char* a : {"pads", "strides"}) {
    auto* at = c1->add_attribute();
    at->set_name(a);
    at->set_type(onnx::AttributeProto::INTS);
    for (int64_t v : std::string(a) == "pads" ? std::vector<int64_t>{1, 1, 1, 1} : std::vector<int64_t>{2, 2}) at->add_ints(v);
  }
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  auto* mp = b.node("MaxPool", {"r1"}, {"p1"}, "maxpool");
  auto* ks = mp->add_attribute();
  ks->set_name("kernel_shape");
  ks->set_type(onnx::AttributeProto::INTS);
  ks->add_ints(3);
  ks->add_ints(3);
  auto* c2 = b.node("Conv", {"p1", "w2"}, {"c2"}, "conv2");
  auto* st = c2->add_attribute();
  st->set_name("strides");
  st->set_type(onnx::AttributeProto::INTS);
  st->add_ints(2);
  st->add_ints(2);
  b.node("GlobalAveragePool", {"c2"}, {"g"}, "gap");
  b.node("Flatten", {"g"}, {"f"}, "flatten");
  auto* fc = b.node("Gemm", {"f", "wf"}, {"y"}, "fc");
  auto* tb = fc->add_attribute();
  tb->set_name("transB");
  tb->set_type(onnx::AttributeProto::INT);
  tb->set_i(1);
  const fs::path dir = fs::temp_directory_path() / "edgeopt-arm-neon-ops";
  fs::create_directories(dir);
  b.save((dir / "m.onnx").string());
  ir::Tensor calib(ir::DType::kFloat32, {37, 3, 12, 12});
  for (int64_t i = 0; i < calib.numel(); ++i) calib.data<float>()[i] = 2 * u(rng);
  ASSERT_TRUE(data::writeNpy(calib, (dir / "calib.npy").string()).ok());
  auto model = api::loadModel((dir / "m.onnx").string());
  ASSERT_TRUE(model.ok()) << model.status().message();
  api::QuantizeOptions q;
  q.calib.path = (dir / "calib.npy").string();
  q.attributionSamples = 2;
  api::QuantizeReport report;
  ASSERT_TRUE(api::quantizeModel(model.value(), q, &report).ok());
  auto ref = api::ModelRunner::create(model.value(), api::runnerOptionsFor("ref", 1));
  auto arm = api::ModelRunner::create(model.value(), api::runnerOptionsFor("arm-neon", 1));
  ASSERT_TRUE(ref.ok() && arm.ok()) << (arm.ok() ? "" : arm.status().message());
  auto want = ref.value()->run({calib});
  auto got = arm.value()->run({calib});
  ASSERT_TRUE(want.ok() && got.ok());
  for (int64_t i = 0; i < want.value()[0].numel(); ++i)
    ASSERT_EQ(want.value()[0].data<float>()[i], got.value()[0].data<float>()[i]) << "element " << i;
  fs::remove_all(dir);
}

TEST(ArmNeonTargetTest, BadInput) {
  auto fp32 = api::loadModel((kZoo / "mlp_fm.onnx").string());
  ASSERT_TRUE(fp32.ok());
  auto r = api::ModelRunner::create(fp32.value(), api::runnerOptionsFor("arm-neon", 1));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("runs int8 models"), std::string::npos);
  EXPECT_FALSE(arm_neon::emitPackage(*fp32->graph, "9lives").ok());  // not a C identifier
  // A float op in the middle: refused with the node named, its consumers not listed.
  auto model = api::loadModel((kZoo / "mlp_fm.onnx").string());
  ASSERT_TRUE(api::prepareForExecution(model.value()).ok());
  auto pkg = arm_neon::emitPackage(*model->graph, "mlp");
  ASSERT_FALSE(pkg.ok());
  EXPECT_NE(pkg.status().message().find("no NEON lowering yet for"), std::string::npos) << pkg.status().message();
}

}  // namespace
}  // namespace edgeopt
