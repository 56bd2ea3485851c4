// The ARM NEON target: the emitted package, cross-built for aarch64 and run under qemu-aarch64,
// computes every quantized zoo model's outputs bit for bit as the reference int8 executor does, on
// the bundled images, with the SDOT kernels (Cortex-A76) and the ARMv8.0 ones (Cortex-A53). Skipped
// when the cross compiler or qemu is missing (tools/setup.sh installs them).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "compiler/api/arm_neon_package.h"
#include "compiler/api/edgeopt.h"
#include "targets/arm_neon/emit.h"
#include "tests/unit/zoo_data.h"

namespace edgeopt {
namespace {
namespace fs = std::filesystem;

const fs::path kZoo = testing::kZoo;
const fs::path kCalib = testing::kBundled;

TEST(ArmNeonTargetTest, ZooInt8BitExactUnderQemu) {
  if (!api::neonToolsAvailable().ok()) GTEST_SKIP() << api::neonToolsAvailable().message();
  const auto zoo = testing::zooManifest();
  for (const auto& [name, entry] : zoo["models"].items()) {
    SCOPED_TRACE(name);
    auto model = api::loadModel((kZoo / entry["file"].get<std::string>()).string());
    ASSERT_TRUE(model.ok());
    const std::string preprocess = entry["preprocess"].get<std::string>();
    api::QuantizeOptions q;
    q.calib.path = kCalib.string();
    q.calib.preprocess = "channels=gray," + preprocess;
    q.calib.limit = 100;
    q.attributionSamples = 2;
    api::QuantizeReport report;
    ASSERT_TRUE(api::quantizeModel(model.value(), q, &report).ok());
    auto ref = api::ModelRunner::create(model.value(), {api::Target::kRef, 1});
    ASSERT_TRUE(ref.ok());
    for (const char* cpu : {"cortex-a76", "cortex-a53"}) {
      auto arm = api::ModelRunner::create(model.value(), {api::Target::kArmNeon, 1, true, cpu});
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

TEST(ArmNeonTargetTest, BadInput) {
  auto fp32 = api::loadModel((kZoo / "mlp_fm.onnx").string());
  ASSERT_TRUE(fp32.ok());
  auto r = api::ModelRunner::create(fp32.value(), {api::Target::kArmNeon, 1});
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
