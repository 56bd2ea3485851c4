// The ARM NEON target: the emitted package, cross-built for aarch64 and run under qemu-aarch64,
// computes every quantized zoo model's outputs bit for bit as the reference int8 executor does, on
// the bundled images, with the SDOT kernels (Cortex-A76) and the ARMv8.0 ones (Cortex-A53). Skipped
// when the cross compiler or qemu is missing (tools/setup.sh installs them).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "api/edgeopt.h"
#include "targets/arm_neon/emit.h"
#include "targets/arm_neon/qemu_runner.h"
#include "tests/unit/onnx_model_builder.h"
#include "tests/unit/zoo_data.h"

namespace edgeopt {
namespace {
namespace fs = std::filesystem;

const fs::path kZoo = testing::kZoo;

// A float32 tensor of `dims` with uniform values in [-1, 1) from rng (calibration data).
ir::Tensor randomTensor(std::mt19937& rng, std::vector<int64_t> dims) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  ir::Tensor t(ir::DType::kFloat32, std::move(dims));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

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
  const ir::Tensor calib = randomTensor(rng, {37, 3, 12, 12});
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

// A model whose int8 Concat, Mul and Resize x86 runs but NEON has no int8 form for: quantized for
// both, the NEON lowering keeps those three in float (dequantize, float op, quantize), the package
// runs them with its float fallback bit for bit as the reference runs that lowering, and compile
// for x86,arm-neon succeeds and says which nodes each target keeps in float.
TEST(ArmNeonTargetTest, ConcatMulResizeRunInFloatWhereNeonHasNoInt8Form) {
  if (!arm_neon::neonToolsAvailable().ok()) GTEST_SKIP() << arm_neon::neonToolsAvailable().message();
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  auto values = [&](size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = u(rng);
    return v;
  };
  auto ints = [](onnx::NodeProto* n, const char* name, std::vector<int64_t> v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  };
  testing::OnnxModelBuilder b;
  b.input("x", {-1, 3, 8, 8}).output("y", {-1, 5});
  b.initializer("w1", {8, 3, 3, 3}, values(216)).initializer("w2", {4, 8, 1, 1}, values(32));
  b.initializer("w3", {12, 12, 1, 1}, values(144)).initializer("w4", {6, 12, 3, 3}, values(648));
  b.initializer("wf", {5, 6}, values(30)).initializer("scales", {4}, {1, 1, 2, 2});
  ints(b.node("Conv", {"x", "w1"}, {"a"}, "conv1"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"a"}, {"ar"}, "relu1");
  b.node("Conv", {"ar", "w2"}, {"bb"}, "conv2");
  auto* axis = b.node("Concat", {"ar", "bb"}, {"c"}, "concat")->add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(1);
  b.node("Conv", {"c", "w3"}, {"d"}, "conv3");
  b.node("Mul", {"c", "d"}, {"e"}, "mul");
  b.node("Resize", {"e", "", "scales"}, {"f"}, "resize");
  ints(b.node("Conv", {"f", "w4"}, {"g"}, "conv4"), "strides", {2, 2});
  // Float steps (HardSwish, then MaxPool on float), a depthwise 5x5 (the reference int8 kernel),
  // and a float classifier (its logits feed Softmax, so it stays float).
  // A float ConvTranspose with a Relu the lowering fuses into it (the reference kernel on NEON).
  b.initializer("wt", {6, 6, 2, 2}, values(144)).initializer("bt", {6}, values(6));
  auto* deconv = b.node("ConvTranspose", {"g", "wt", "bt"}, {"gt"}, "deconv");
  ints(deconv, "strides", {2, 2});
  ints(deconv, "kernel_shape", {2, 2});
  b.node("Relu", {"gt"}, {"gr"}, "deconv_relu");
  b.node("HardSwish", {"gr"}, {"g2"}, "hswish");
  ints(b.node("MaxPool", {"g2"}, {"g3"}, "pool"), "kernel_shape", {2, 2});
  b.initializer("w5", {6, 1, 5, 5}, values(150));
  auto* dw = b.node("Conv", {"g3", "w5"}, {"g4"}, "dw5x5");
  ints(dw, "pads", {2, 2, 2, 2});
  auto* group = dw->add_attribute();
  group->set_name("group");
  group->set_type(onnx::AttributeProto::INT);
  group->set_i(6);
  b.node("GlobalAveragePool", {"g4"}, {"h"}, "gap");
  b.node("Flatten", {"h"}, {"i"}, "flatten");
  auto* fc = b.node("Gemm", {"i", "wf"}, {"logits"}, "fc");
  auto* tb = fc->add_attribute();
  tb->set_name("transB");
  tb->set_type(onnx::AttributeProto::INT);
  tb->set_i(1);
  b.node("Softmax", {"logits"}, {"y"}, "softmax");
  const fs::path dir = fs::temp_directory_path() / "edgeopt-arm-neon-float-fallback";
  fs::remove_all(dir);
  fs::create_directories(dir);
  b.save((dir / "m.onnx").string());
  const ir::Tensor calib = randomTensor(rng, {24, 3, 8, 8});
  ASSERT_TRUE(data::writeNpy(calib, (dir / "calib.npy").string()).ok());

  auto model = api::loadModel((dir / "m.onnx").string());
  ASSERT_TRUE(model.ok()) << model.status().message();
  api::QuantizeOptions q;
  q.calib.path = (dir / "calib.npy").string();
  q.attributionSamples = 2;
  q.forTargets = {"x86", "arm-neon"};
  api::QuantizeReport report;
  ASSERT_TRUE(api::quantizeModel(model.value(), q, &report).ok());
  for (const char* node : {"concat", "mul", "resize"})
    EXPECT_NE(std::find(report.quantizedNodes.begin(), report.quantizedNodes.end(), node), report.quantizedNodes.end())
        << node << " should be in int8: x86 runs it";

  auto arm = targets::find("arm-neon");
  ASSERT_TRUE(arm.ok());
  ir::Model lowered = ir::cloneModel(model.value());
  std::vector<std::string> kept;
  ASSERT_TRUE(api::prepareForExecution(lowered, arm.value(), &kept).ok());
  ASSERT_EQ(kept.size(), 3u) << ::testing::PrintToString(kept);
  for (const auto& k : kept)
    EXPECT_TRUE(k.find("Concat") != std::string::npos || k.find("Mul") != std::string::npos || k.find("Resize") != std::string::npos) << k;
  auto refTarget = targets::find("ref");
  ASSERT_TRUE(refTarget.ok());
  auto ref = refTarget.value()->load(ir::cloneModel(lowered), {});
  auto neon = api::ModelRunner::create(model.value(), api::runnerOptionsFor("arm-neon", 1));
  ASSERT_TRUE(ref.ok() && neon.ok()) << (neon.ok() ? "" : neon.status().message());
  auto want = ref.value()->run({calib});
  auto got = neon.value()->run({calib});
  ASSERT_TRUE(want.ok() && got.ok()) << (got.ok() ? "" : got.status().message());
  for (int64_t i = 0; i < want.value()[0].numel(); ++i)
    ASSERT_EQ(want.value()[0].data<float>()[i], got.value()[0].data<float>()[i]) << "element " << i;

  // Quantized for arm-neon alone, the three stay float for every target.
  ir::Model neonOnly = api::loadModel((dir / "m.onnx").string()).value();
  q.forTargets = {"arm-neon"};
  api::QuantizeReport neonReport;
  ASSERT_TRUE(api::quantizeModel(neonOnly, q, &neonReport).ok());
  int noInt8Form = 0;
  for (const auto& f : neonReport.floatNodes) noInt8Form += f.find("no target of arm-neon runs this") != std::string::npos;
  EXPECT_EQ(noInt8Form, 3) << ::testing::PrintToString(neonReport.floatNodes);

  // compile --targets x86,arm-neon: both rows, NEON's float nodes listed.
  api::CompileOptions co;
  co.targets = {"x86", "arm-neon"};
  co.quantize = true;
  co.quantizeOptions.calib.path = (dir / "calib.npy").string();
  co.quantizeOptions.attributionSamples = 2;
  co.benchIters = 2;
  co.benchWarmup = 1;
  api::CompileReport cr;
  Status st = api::compile((dir / "m.onnx").string(), co, (dir / "out").string(), &cr);
  ASSERT_TRUE(st.ok()) << st.message();
  bool sawNeon = false;
  for (const auto& e : cr.entries) {
    if (e.precision != "int8") continue;
    if (e.target == "x86") {
      EXPECT_TRUE(e.keptInFloat.empty());
    }
    if (e.target == "arm-neon") {
      sawNeon = true;
      EXPECT_EQ(e.keptInFloat.size(), 3u);
      EXPECT_GT(e.arenaBytes, 0);  // the package's liveness-planned intermediates
    }
  }
  EXPECT_TRUE(sawNeon);
  std::ifstream md(dir / "out" / "report.md");
  const std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("arm-neon int8: 3 node(s) with an int8 form run in float"), std::string::npos) << text;
  if (!getenv("KEEP")) fs::remove_all(dir);
}

// A model with a symbolic width (as PaddleOCR's) has no fixed per-sample dims for the package:
// compile --shape fixes them; without it the package refuses the model naming the value.
TEST(ArmNeonTargetTest, CompileShapeFixesSymbolicPerSampleDims) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  std::vector<float> w1(8 * 3 * 9), wf(4 * 8);
  for (auto& v : w1) v = u(rng);
  for (auto& v : wf) v = u(rng);
  testing::OnnxModelBuilder b;
  b.input("x", {-1, 3, 8, -1}).output("y", {-1, 4});
  b.initializer("w1", {8, 3, 3, 3}, w1).initializer("wf", {4, 8}, wf);
  testing::addIntsAttr(b.node("Conv", {"x", "w1"}, {"c"}, "conv"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c"}, {"r"}, "relu");
  b.node("GlobalAveragePool", {"r"}, {"g"}, "gap");
  b.node("Flatten", {"g"}, {"f"}, "flatten");
  testing::addIntAttr(b.node("Gemm", {"f", "wf"}, {"y"}, "fc"), "transB", 1);
  const fs::path dir = fs::temp_directory_path() / "edgeopt-arm-neon-symbolic-width";
  fs::remove_all(dir);
  fs::create_directories(dir);
  b.save((dir / "m.onnx").string());
  const ir::Tensor calib = randomTensor(rng, {6, 3, 8, 12});
  ASSERT_TRUE(data::writeNpy(calib, (dir / "calib.npy").string()).ok());
  api::CompileOptions co;
  co.targets = {"arm-neon"};
  co.quantize = true;
  co.quantizeOptions.calib.path = (dir / "calib.npy").string();
  co.quantizeOptions.attributionSamples = 1;
  api::CompileReport r1;
  Status without = api::compile((dir / "m.onnx").string(), co, (dir / "out1").string(), &r1);
  ASSERT_FALSE(without.ok());
  EXPECT_NE(without.message().find("symbolic non-batch dimension"), std::string::npos) << without.message();
  EXPECT_FALSE(fs::exists(dir / "out1"));
  co.benchShapes = {{"x", {1, 3, 8, 12}}};
  api::CompileReport r2;
  Status with = api::compile((dir / "m.onnx").string(), co, (dir / "out2").string(), &r2);
  ASSERT_TRUE(with.ok()) << with.message();
  EXPECT_TRUE(fs::exists(dir / "out2" / "arm_neon" / "model.cc"));
  // With accuracy measured (the package built and run under qemu) into a folder given relative
  // to the working directory, as the quickstart does.
  ir::Tensor labels(ir::DType::kInt64, {6});
  ASSERT_TRUE(data::writeNpy(labels, (dir / "labels.npy").string()).ok());
  co.eval.path = (dir / "calib.npy").string();
  co.eval.labelsPath = (dir / "labels.npy").string();
  const fs::path cwd = fs::current_path();
  fs::current_path(dir);
  api::CompileReport rel;
  Status relative = api::compile((dir / "m.onnx").string(), co, "out_relative", &rel);
  fs::current_path(cwd);
  ASSERT_TRUE(relative.ok()) << relative.message();
  bool measured = false;
  for (const auto& e : rel.entries) measured = measured || (e.target == "arm-neon" && e.evalSamples == 6);
  EXPECT_TRUE(measured);
  co.eval = {};
  co.benchShapes = {{"x", {1, 4, 8, 12}}};  // the model fixes 3 channels
  api::CompileReport r3;
  Status conflicting = api::compile((dir / "m.onnx").string(), co, (dir / "out3").string(), &r3);
  ASSERT_FALSE(conflicting.ok());
  EXPECT_NE(conflicting.message().find("the model fixes it at 3"), std::string::npos) << conflicting.message();
  fs::remove_all(dir);
}

TEST(ArmNeonTargetTest, BadInput) {
  auto fp32 = api::loadModel((kZoo / "mlp_fm.onnx").string());
  ASSERT_TRUE(fp32.ok());
  auto r = api::ModelRunner::create(fp32.value(), api::runnerOptionsFor("arm-neon", 1));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("runs int8 models"), std::string::npos);
  EXPECT_FALSE(arm_neon::emitPackage(*fp32->graph, "9lives").ok());  // not a C identifier
  // An op neither the int8 kernels nor the float fallback have: refused with the node named, its
  // consumers not listed.
  testing::OnnxModelBuilder b;
  b.input("x", {-1, 8}).output("y", {-1, 8});
  b.node("Exp", {"x"}, {"e"}, "exp");
  b.node("Relu", {"e"}, {"y"}, "relu");
  const fs::path file = fs::temp_directory_path() / "edgeopt-arm-neon-exp.onnx";
  b.save(file.string());
  auto model = api::loadModel(file.string());
  fs::remove(file);
  ASSERT_TRUE(model.ok());
  auto pkg = arm_neon::emitPackage(*model->graph, "m");
  ASSERT_FALSE(pkg.ok());
  EXPECT_NE(pkg.status().message().find("no NEON lowering yet for 'exp' (Exp)"), std::string::npos) << pkg.status().message();
  EXPECT_EQ(pkg.status().message().find("relu"), std::string::npos) << pkg.status().message();
}

}  // namespace
}  // namespace edgeopt
