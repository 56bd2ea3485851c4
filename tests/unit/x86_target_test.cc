// The x86 target (targets/x86): int8 results equal the reference executor's bit for bit — random
// edgeopt.QConv/QGemm geometries (padding with a non-zero input zero point, strides, dilations,
// groups, depthwise, fused Relu/Clip bounds) and every zoo model quantized — and fp32 results
// stay within 1e-4 relative of the reference; bad input gets an error, not a crash.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "api/edgeopt.h"
#include "compiler/ir/edgeopt_ops.h"
#include "compiler/pass/pass_manager.h"
#include "kernels/x86/dwconv.h"
#include "kernels/ref/layout.h"
#include "kernels/x86/requantize.h"
#include "targets/x86/plan.h"
#include "tests/unit/import_built.h"
#include "tests/unit/onnx_model_builder.h"
#include "tests/unit/zoo_data.h"

namespace edgeopt {
namespace {
namespace fs = std::filesystem;
using ir::DType;
using ir::Dim;
using ir::Tensor;

const fs::path kZoo = testing::kZoo;

std::vector<Tensor> runOn(const ir::Model& m, const std::string& target, const std::vector<Tensor>& inputs,
                          bool ownKernels = true) {
  api::RunnerOptions options = api::runnerOptionsFor(target);
  options.switches = {{"own-depthwise", ownKernels}, {"own-gemm", ownKernels}};
  auto runner = api::ModelRunner::create(m, options);
  EXPECT_TRUE(runner.ok()) << runner.status().message();
  if (!runner.ok()) return {};
  auto out = runner.value()->run(inputs);
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? out.value() : std::vector<Tensor>{};
}

void expectBitExact(const std::vector<Tensor>& want, const std::vector<Tensor>& got, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(want[i].dims(), got[i].dims()) << what;
    ASSERT_EQ(want[i].dtype(), got[i].dtype()) << what;
    const auto* a = static_cast<const uint8_t*>(want[i].rawData());
    const auto* b = static_cast<const uint8_t*>(got[i].rawData());
    const size_t es = ir::dtypeSize(want[i].dtype());
    for (size_t k = 0; k < want[i].byteSize(); ++k)
      ASSERT_EQ(a[k], b[k]) << what << ": output " << i << " element " << k / es << " differs";
  }
}

// n draws from U(-1, 1).
std::vector<float> uniformValues(std::mt19937& rng, size_t n) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

Tensor randomU8(std::mt19937& rng, std::vector<int64_t> dims) {
  Tensor t(DType::kUInt8, std::move(dims));
  std::uniform_int_distribution<int> d(0, 255);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<uint8_t>()[i] = static_cast<uint8_t>(d(rng));
  return t;
}

// One lowered int8 op (uint8-stored activations) with random parameters.
struct Int8Case {
  ir::Model model;
  Tensor input;
  std::string describe;
};

Int8Case randomQConv(std::mt19937& rng, int trial) {
  std::uniform_int_distribution<int> small(1, 3), size(3, 11), zp(-128, 127);
  std::uniform_real_distribution<float> scale(0.005f, 0.05f);
  const int64_t N = small(rng);
  int64_t kh = small(rng), kw = small(rng), sh = small(rng) % 2 + 1, sw = small(rng) % 2 + 1;
  int64_t dh = trial % 4 == 0 ? 2 : 1, dw = trial % 5 == 0 ? 2 : 1;
  int64_t G = 1, C = small(rng) * 4, M = small(rng) * 4 + (trial % 3);
  if (trial % 3 == 0) G = C, M = C;            // depthwise
  else if (trial % 3 == 1) G = 2, C *= 2, M = 2 * M;  // grouped
  else if (trial % 12 == 2 || trial % 12 == 8) C = trial % 12 == 2 ? 3 : 2;  // stems read from NCHW planes
  int64_t H = size(rng) + (kh - 1) * dh, W = size(rng) + (kw - 1) * dw;
  std::vector<int64_t> pads = {small(rng) - 1, small(rng) - 1, small(rng) - 1, small(rng) - 1};
  if (trial % 6 == 5) {
    // Pointwise (runs as cache-sized matmul pieces): large enough for several pieces and a tail.
    kh = kw = sh = sw = 1;
    dh = dw = 1;
    G = 1;
    pads = {0, 0, 0, 0};
    if (trial % 12 == 11) H = 131, W = 127;
  }
  Int8Case c;
  ir::Graph& g = *c.model.graph;
  c.model.opsets = {{"", 17}, {ir::kEdgeoptDomain, 1}};
  ir::Value* x = g.addInput("x", DType::kUInt8, std::vector<Dim>{Dim(N), Dim(C), Dim(H), Dim(W)});
  Tensor w(DType::kInt8, {M, C / G, kh, kw});
  std::uniform_int_distribution<int> wd(-127, 127), bd(-20000, 20000);
  for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(wd(rng));
  Tensor b(DType::kInt32, {M});
  for (int64_t i = 0; i < M; ++i) b.data<int32_t>()[i] = bd(rng);
  ir::Node* n = g.addNode("QConv", {x, g.addInitializer("w", w), g.addInitializer("b", b)}, {"y"}, "qconv", nullptr,
                          ir::kEdgeoptDomain);
  std::vector<float> ws(static_cast<size_t>(M));
  for (auto& s : ws) s = scale(rng) / 10;
  n->setAttr("x_scale", scale(rng));
  n->setAttr("x_zero_point", static_cast<int64_t>(zp(rng)));
  n->setAttr("w_scales", ws);
  n->setAttr("y_scale", scale(rng) * 4);
  n->setAttr("y_zero_point", static_cast<int64_t>(zp(rng)));
  n->setAttr("x_uint8", int64_t{1});
  n->setAttr("y_uint8", int64_t{1});
  n->setAttr("group", G);
  n->setAttr("pads", pads);
  n->setAttr("strides", std::vector<int64_t>{sh, sw});
  n->setAttr("dilations", std::vector<int64_t>{dh, dw});
  if (trial % 4 == 1) ir::setFusedActivation(*n, {"Relu", {}});
  if (trial % 4 == 2) ir::setFusedActivation(*n, {"Clip", {0.0f, 0.5f}});
  n->output(0)->setDType(DType::kUInt8);
  g.markOutput(n->output(0));
  c.input = randomU8(rng, {N, C, H, W});
  c.describe = "trial " + std::to_string(trial) + ": x " + ir::dimsToString(c.input.dims()) + " w " +
               ir::dimsToString(w.dims()) + " group " + std::to_string(G) + " pads " + ir::dimsToString(pads) +
               " strides " + std::to_string(sh) + "x" + std::to_string(sw) + " dilations " + std::to_string(dh) + "x" +
               std::to_string(dw);
  return c;
}

// Both with edgeopt's depthwise and pointwise kernels (where they apply) and with oneDNN's
// convolutions and matmuls plus the separate output stage.
TEST(X86TargetTest, QConvBitExactOnRandomGeometries) {
  for (bool ownKernels : {true, false}) {
    std::mt19937 rng(11);
    for (int trial = 0; trial < 60; ++trial) {
      Int8Case c = randomQConv(rng, trial);
      const auto want = runOn(c.model, "ref", {c.input});
      const auto got = runOn(c.model, "x86", {c.input}, ownKernels);
      expectBitExact(want, got, c.describe + (ownKernels ? " (own kernels)" : " (oneDNN)"));
      if (HasFatalFailure()) return;
    }
  }
}

TEST(X86TargetTest, QGemmBitExactOnRandomShapes) {
  std::mt19937 rng(12);
  std::uniform_int_distribution<int> d(1, 70), zp(-128, 127), wd(-127, 127);
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t M = d(rng), N = d(rng), K = trial % 4 < 2 ? 4 * (d(rng) / 4 + 1) : d(rng);  // half with K % 4 == 0
    const bool transB = trial % 2;
    ir::Model m;
    m.opsets = {{"", 17}, {ir::kEdgeoptDomain, 1}};
    ir::Graph& g = *m.graph;
    ir::Value* x = g.addInput("x", DType::kUInt8, std::vector<Dim>{Dim(M), Dim(K)});
    Tensor w(DType::kInt8, transB ? std::vector<int64_t>{N, K} : std::vector<int64_t>{K, N});
    for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(wd(rng));
    ir::Node* n = g.addNode("QGemm", {x, g.addInitializer("w", w)}, {"y"}, "qgemm", nullptr, ir::kEdgeoptDomain);
    n->setAttr("x_scale", 0.02f);
    n->setAttr("x_zero_point", static_cast<int64_t>(zp(rng)));
    n->setAttr("w_scales", std::vector<float>(static_cast<size_t>(N), 0.003f));
    n->setAttr("y_scale", 0.05f + 0.01f * static_cast<float>(trial));
    n->setAttr("y_zero_point", static_cast<int64_t>(zp(rng)));
    n->setAttr("x_uint8", int64_t{1});
    n->setAttr("y_uint8", int64_t{1});
    n->setAttr("transB", static_cast<int64_t>(transB));
    n->output(0)->setDType(DType::kUInt8);
    g.markOutput(n->output(0));
    const Tensor in = randomU8(rng, {M, K});
    const auto want = runOn(m, "ref", {in});
    for (bool ownKernels : {true, false}) {  // edgeopt's GEMM where K % 4 == 0, and oneDNN's matmul
      expectBitExact(want, runOn(m, "x86", {in}, ownKernels),
                     "M " + std::to_string(M) + " K " + std::to_string(K) + " N " + std::to_string(N) +
                         (ownKernels ? " (own kernels)" : " (oneDNN)"));
      if (HasFatalFailure()) return;
    }
  }
}

TEST(X86TargetTest, ZooFp32WithinToleranceAndInt8BitExact) {
  const nlohmann::json zoo = testing::zooManifest();
  ASSERT_GE(zoo["models"].size(), 3u);
  for (const auto& [name, entry] : zoo["models"].items()) {
    SCOPED_TRACE(name);
    const std::string file = (testing::kZoo / entry["file"].get<std::string>()).string();
    const std::string preprocess = entry["preprocess"].get<std::string>();
    auto fp32 = api::loadModel(file);
    ASSERT_TRUE(fp32.ok()) << fp32.status().message();
    for (int64_t batch : {64, 7, 1}) {
      const auto batches = testing::bundledBatches(preprocess, batch, batch == 64 ? 128 : batch);
      ASSERT_FALSE(batches.empty());
      const auto want = runOn(fp32.value(), "ref", {batches[0]});
      const auto got = runOn(fp32.value(), "x86", {batches[0]});
      auto err = pass::maxRelativeError(want, got);
      ASSERT_TRUE(err.ok()) << err.status().message();
      EXPECT_LT(err.value(), 1e-4) << "fp32 batch " << batch;
    }
    auto int8 = api::loadModel(file);
    ASSERT_TRUE(testing::quantizeWithBundled(int8.value(), preprocess, 100).ok());
    ASSERT_TRUE(api::prepareForExecution(int8.value()).ok());
    auto ref = api::ModelRunner::create(int8.value(), api::runnerOptionsFor("ref", 1));
    api::RunnerOptions onednnOnly = api::runnerOptionsFor("x86");
    onednnOnly.switches = {{"own-depthwise", false}, {"own-gemm", false}};
    auto x86 = api::ModelRunner::create(int8.value(), api::runnerOptionsFor("x86", 1));
    auto x86Onednn = api::ModelRunner::create(int8.value(), onednnOnly);
    ASSERT_TRUE(ref.ok() && x86.ok() && x86Onednn.ok());
    for (int64_t batch : {100, 7}) {
      for (const Tensor& in : testing::bundledBatches(preprocess, batch, batch == 100 ? 500 : 14)) {
        auto want = ref.value()->run({in});
        auto got = x86.value()->run({in});
        ASSERT_TRUE(want.ok() && got.ok());
        expectBitExact(want.value(), got.value(), name + " int8 batch " + std::to_string(batch));
        if (batch == 7) {
          auto gotOnednn = x86Onednn.value()->run({in});
          ASSERT_TRUE(gotOnednn.ok());
          expectBitExact(want.value(), gotOnednn.value(), name + " int8 batch 7, oneDNN kernels");
        }
      }
    }
  }
}

// fp32 residual blocks: the Add (and the Relu after it) become post-ops of the convolution that
// produces one of the Add's operands, so no Add or Relu step is left in ResNet's plan.
TEST(X86TargetTest, ResidualAddFusedIntoConvolution) {
  auto model = api::loadModel((testing::kZoo / "resnet_fm.onnx").string());
  ASSERT_TRUE(model.ok());
  auto runner = api::ModelRunner::create(model.value(), api::runnerOptionsFor("x86", 1));
  ASSERT_TRUE(runner.ok());
  auto steps = runner.value()->executable().steps({{4, 1, 28, 28}});
  ASSERT_TRUE(steps.ok() && !steps->empty());
  int fusedSteps = 0;
  for (const auto& step : steps.value()) {
    EXPECT_NE(step.op, "Add") << step.node;
    EXPECT_NE(step.op, "Relu") << step.node;
    fusedSteps += step.kernel.find("residual add post-op") != std::string::npos;
  }
  EXPECT_EQ(fusedSteps, 3);  // one per residual stage
}

// int8 residual blocks: where oneDNN computes the convolution and edgeopt's pass requantizes it,
// the QAdd runs in that pass (ZooFp32WithinToleranceAndInt8BitExact checks the results).
TEST(X86TargetTest, Int8ResidualAddFusedIntoTheOutputStage) {
  if (!kernels::x86::hasAvx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  auto model = api::loadModel((testing::kZoo / "resnet_fm.onnx").string());
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(testing::quantizeWithBundled(model.value(), testing::zooManifest()["models"]["resnet_fm"]["preprocess"], 20).ok());
  ASSERT_TRUE(api::prepareForExecution(model.value()).ok());
  api::RunnerOptions onednnOnly = api::runnerOptionsFor("x86", 1);
  onednnOnly.switches = {{"own-depthwise", false}, {"own-gemm", false}};
  auto runner = api::ModelRunner::create(model.value(), onednnOnly);
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  auto steps = runner.value()->executable().steps({{4, 1, 28, 28}});
  ASSERT_TRUE(steps.ok() && !steps->empty());
  int fusedSteps = 0;
  for (const auto& step : steps.value()) {
    EXPECT_NE(step.op, "edgeopt.QAdd") << step.node;
    fusedSteps += step.kernel.find(kernels::x86::Requantizer::nameWithAdd()) != std::string::npos;
  }
  EXPECT_EQ(fusedSteps, 3);
}

// The quantized zoo CNN runs its convolutions with edgeopt's fused-output kernels wherever the
// plan's rules say they apply (depthwise over 16-channel groups or per 64-channel block, 1x1 and
// narrow k x k through the GEMM), so a selection condition that silently stops holding (e.g. a
// shape rule that stops matching) fails here rather than only costing speed.
TEST(X86TargetTest, Int8ConvolutionsUseEdgeoptKernels) {
  if (!kernels::x86::hasAvx512Vnni()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  auto model = api::loadModel((testing::kZoo / "mobilenet_v2_fm.onnx").string());
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(testing::quantizeWithBundled(
                  model.value(), testing::zooManifest()["models"]["mobilenet_v2_fm"]["preprocess"].get<std::string>(), 50)
                  .ok());
  ASSERT_TRUE(api::prepareForExecution(model.value()).ok());
  auto runner = api::ModelRunner::create(model.value(), api::runnerOptionsFor("x86", 1));
  ASSERT_TRUE(runner.ok());
  auto steps = runner.value()->executable().steps({{2, 1, 28, 28}});
  ASSERT_TRUE(steps.ok() && !steps->empty());
  std::map<std::string, int> kernels;
  for (const auto& step : steps.value()) {
    if (step.op != "edgeopt.QConv") continue;
    EXPECT_EQ(step.kernel.find("onednn"), std::string::npos) << step.node << " runs " << step.kernel;
    ++kernels[step.kernel.substr(0, step.kernel.find(' '))];
  }
  EXPECT_EQ(kernels["x86:qu8_dwconv3x3s1_flat_requant_rows__avx512vnni"], 4);  // stride-1 depthwise
  EXPECT_EQ(kernels["x86:qu8_dwconv3x3_requant_row__avx512vnni"], 2);         // stride-2 depthwise
  EXPECT_EQ(kernels["x86:qu8_gemm_requant__avx512vnni"], 13);                 // 1x1
  EXPECT_EQ(kernels["x86:qu8_conv_requant__avx512vnni"], 1);                  // the stem
}

// Broadcasting Add/Mul/Sub (a per-channel constant, an SE block's [N, C, 1, 1] scale) run as
// oneDNN binary primitives on NHWC data and compute what the reference computes, exactly.
TEST(X86TargetTest, BroadcastBinaryOpsRunAsPrimitives) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  auto values = [&](size_t n) { return uniformValues(rng, n); };
  testing::OnnxModelBuilder b;
  b.input("x", {-1, 3, 10, 10}).output("y", {-1, 8, 10, 10});
  b.initializer("w", {8, 3, 3, 3}, values(216)).initializer("shift", {1, 8, 1, 1}, values(8));
  b.initializer("scale", {8, 1, 1}, values(8)).initializer("half", {1}, {0.5f});
  auto* conv = b.node("Conv", {"x", "w"}, {"c"}, "conv");
  testing::addIntsAttr(conv, "pads", {1, 1, 1, 1});
  b.node("Add", {"c", "shift"}, {"a"}, "add_channel");
  b.node("GlobalAveragePool", {"a"}, {"g"}, "squeeze");
  b.node("Mul", {"g", "a"}, {"m"}, "mul_se");  // the broadcast operand first: swapped
  b.node("Sub", {"m", "scale"}, {"s"}, "sub_channel");
  b.node("Mul", {"half", "s"}, {"y"}, "mul_scalar_first");
  auto model = testing::importBuilt(b);
  ASSERT_TRUE(model.ok()) << model.status().message();
  Tensor in(DType::kFloat32, {2, 3, 10, 10});
  for (int64_t i = 0; i < in.numel(); ++i) in.data<float>()[i] = u(rng);
  const auto want = runOn(model.value(), "ref", {in});
  const auto got = runOn(model.value(), "x86", {in});
  auto err = pass::maxRelativeError(want, got);
  ASSERT_TRUE(err.ok()) << err.status().message();
  EXPECT_LT(err.value(), 1e-5);
  auto runner = api::ModelRunner::create(model.value(), api::runnerOptionsFor("x86", 1));
  ASSERT_TRUE(runner.ok());
  auto steps = runner.value()->executable().steps({{2, 3, 10, 10}});
  ASSERT_TRUE(steps.ok());
  for (const auto& step : steps.value()) {
    if (step.op == "Add" || step.op == "Mul" || step.op == "Sub") {
      EXPECT_NE(step.kernel, "ref") << step.node;
    }
  }
}

// An int8 map read through DequantizeLinear by a tiling average pool (an exit head's pooling to a
// grid) or a global one runs as one fused step from the uint8 NHWC map, and the layout changes at
// the plan's edges (the uint8 map into NHWC, the float result back to NCHW) are edgeopt's
// transposes: the outputs within float rounding of the reference executor, the int8 one exact.
TEST(X86TargetTest, DequantizedPoolingFusedAndLayoutTransposesMatchTheReference) {
  if (!kernels::x86::hasAvx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  for (const std::string pool : {"AveragePool", "GlobalAveragePool"})
    for (int64_t channels : {5, 16, 40}) {
      const int64_t pooled = pool == "AveragePool" ? 4 : 1;
      testing::OnnxModelBuilder b;
      b.input("x", {-1, channels, 28, 28}).output("y", {-1, channels, pooled, pooled});
      b.output("q", {-1, channels, 28, 28}, onnx::TensorProto::UINT8);
      b.initializer("scale", {}, {0.03f});
      auto* zp = b.proto().mutable_graph()->add_initializer();
      zp->set_name("zp");
      zp->set_data_type(onnx::TensorProto::UINT8);
      zp->add_int32_data(100);
      b.node("QuantizeLinear", {"x", "scale", "zp"}, {"q"}, "quantize");
      b.node("DequantizeLinear", {"q", "scale", "zp"}, {"d"}, "dequantize");
      auto* p = b.node(pool, {"d"}, {"y"}, "pool");
      if (pool == "AveragePool") {
        testing::addIntsAttr(p, "kernel_shape", {7, 7});
        testing::addIntsAttr(p, "strides", {7, 7});
      }
      auto model = testing::importBuilt(b);
      ASSERT_TRUE(model.ok()) << model.status().message();
      Tensor in(DType::kFloat32, {2, channels, 28, 28});
      for (int64_t i = 0; i < in.numel(); ++i) in.data<float>()[i] = u(rng);
      const auto want = runOn(model.value(), "ref", {in});
      const auto got = runOn(model.value(), "x86", {in});
      ASSERT_EQ(got.size(), 2u);
      auto err = pass::maxRelativeError({want[0]}, {got[0]});
      ASSERT_TRUE(err.ok()) << err.status().message();
      EXPECT_LT(err.value(), 1e-5) << pool << " of " << channels << " channels";
      expectBitExact({want[1]}, {got[1]}, pool + " of " + std::to_string(channels) + " channels: the uint8 map");
      auto runner = api::ModelRunner::create(model.value(), api::runnerOptionsFor("x86", 1));
      ASSERT_TRUE(runner.ok());
      auto steps = runner.value()->executable().steps({{2, channels, 28, 28}});
      ASSERT_TRUE(steps.ok());
      std::string kernels;
      for (const auto& step : steps.value()) kernels += step.kernel + "; ";
      EXPECT_NE(kernels.find("x86:qu8_dequantize_avgpool_tiles_nhwc__avx512bw"), std::string::npos) << kernels;
      EXPECT_NE(kernels.find("x86:transpose_matrices__x86 nchw->nhwc"), std::string::npos) << kernels;
      EXPECT_EQ(kernels.find("x86:qu8_dequantize;"), std::string::npos) << "the float map was written: " << kernels;
    }
}

// channelsLast inputs/outputs (how the exit cascade hands maps between segments): the same numbers
// as a plain run, in NHWC order (int8 maps: through the cascade in ExitsTest); targets that
// cannot are refused.
TEST(X86TargetTest, ChannelsLastInputsAndOutputsAreTheTransposedPlainOnes) {
  std::mt19937 rng(23);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  auto values = [&](size_t n) { return uniformValues(rng, n); };
  testing::OnnxModelBuilder b;
  b.input("x", {-1, 3, 10, 10}).output("y", {-1, 8, 10, 10});
  b.initializer("w", {8, 3, 3, 3}, values(216));
  auto* conv = b.node("Conv", {"x", "w"}, {"c"}, "conv");
  testing::addIntsAttr(conv, "pads", {1, 1, 1, 1});
  b.node("Relu", {"c"}, {"y"}, "relu");
  auto model = testing::importBuilt(b);
  ASSERT_TRUE(model.ok()) << model.status().message();
  Tensor in(DType::kFloat32, {2, 3, 10, 10});
  for (int64_t i = 0; i < in.numel(); ++i) in.data<float>()[i] = u(rng);
  auto toNhwc = [](const Tensor& t) {
    Tensor o(t.dtype(), t.dims());
    const auto& d = t.dims();
    kernels::ref::transpose_matrices__scalar(d[0], d[1], d[2] * d[3], ir::dtypeSize(t.dtype()), t.rawData(), o.rawData());
    return o;
  };
  const auto plain = runOn(model.value(), "x86", {in});
  api::RunnerOptions options = api::runnerOptionsFor("x86");
  options.channelsLast = {"x", "y"};
  auto runner = api::ModelRunner::create(model.value(), options);
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  auto nhwc = runner.value()->run({toNhwc(in)});
  ASSERT_TRUE(nhwc.ok()) << nhwc.status().message();
  expectBitExact({toNhwc(plain[0])}, nhwc.value(), "fp32 conv, channels-last input and output");
  options.target = "ref";
  auto refused = api::ModelRunner::create(model.value(), options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("does not exchange tensors channels-last"), std::string::npos) << refused.status().message();
}

// fp32 ConvTranspose runs as oneDNN's deconvolution, within float rounding of the reference, over
// strides, pads, output_padding, kernel sizes and with or without bias.
TEST(X86TargetTest, ConvTransposeRunsAsDeconvolution) {
  std::mt19937 rng(13);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  struct Case { int64_t c, m, k, stride, pad, outPad, h; bool bias; };
  for (const Case& c : {Case{4, 8, 2, 2, 0, 0, 7, true}, Case{8, 3, 3, 2, 1, 1, 6, false}, Case{5, 5, 3, 1, 1, 0, 9, true},
                        Case{16, 16, 4, 2, 1, 0, 5, true}}) {
    testing::OnnxModelBuilder b;
    const int64_t out = (c.h - 1) * c.stride - 2 * c.pad + c.k + c.outPad;
    b.input("x", {-1, c.c, c.h, c.h}).output("y", {-1, c.m, out, out});
    std::vector<float> w(static_cast<size_t>(c.c * c.m * c.k * c.k)), bias(static_cast<size_t>(c.m));
    for (auto& v : w) v = u(rng);
    for (auto& v : bias) v = u(rng);
    b.initializer("w", {c.c, c.m, c.k, c.k}, w).initializer("b", {c.m}, bias);
    std::vector<std::string> ins = {"x", "w"};
    if (c.bias) ins.push_back("b");
    auto* node = b.node("ConvTranspose", ins, {"y"}, "deconv");
    testing::addIntsAttr(node, "strides", {c.stride, c.stride});
    testing::addIntsAttr(node, "pads", {c.pad, c.pad, c.pad, c.pad});
    testing::addIntsAttr(node, "kernel_shape", {c.k, c.k});
    if (c.outPad) testing::addIntsAttr(node, "output_padding", {c.outPad, c.outPad});
    auto model = testing::importBuilt(b);
    ASSERT_TRUE(model.ok()) << model.status().message();
    Tensor in(DType::kFloat32, {2, c.c, c.h, c.h});
    for (int64_t i = 0; i < in.numel(); ++i) in.data<float>()[i] = u(rng);
    const auto want = runOn(model.value(), "ref", {in});
    const auto got = runOn(model.value(), "x86", {in});
    ASSERT_EQ(want[0].dims(), got[0].dims());
    auto err = pass::maxRelativeError(want, got);
    ASSERT_TRUE(err.ok()) << err.status().message();
    EXPECT_LT(err.value(), 1e-4) << "k " << c.k << " stride " << c.stride << " pad " << c.pad << " output_padding " << c.outPad;
    auto runner = api::ModelRunner::create(model.value(), api::runnerOptionsFor("x86", 1));
    ASSERT_TRUE(runner.ok());
    auto steps = runner.value()->executable().steps({{2, c.c, c.h, c.h}});
    ASSERT_TRUE(steps.ok());
    for (const auto& step : steps.value()) {
      if (step.op == "ConvTranspose") {
        EXPECT_NE(step.kernel.find("onednn"), std::string::npos) << step.kernel;
      }
    }
  }
}

// An int8 node whose attributes fail the contract (compiler/runtime/int8_ops.h) is an error of
// the plan that names it, not a silent fall-back to the reference kernels.
TEST(X86TargetTest, InvalidInt8AttributesAreAnErrorNamingTheNode) {
  auto model = api::loadModel((testing::kZoo / "mobilenet_v2_fm.onnx").string());
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(testing::quantizeWithBundled(
                  model.value(), testing::zooManifest()["models"]["mobilenet_v2_fm"]["preprocess"].get<std::string>(), 20)
                  .ok());
  ASSERT_TRUE(api::prepareForExecution(model.value()).ok());
  std::string broken;
  for (ir::Node* n : model->graph->nodes())
    if (n->opType() == "QConv" && broken.empty()) {
      n->setAttr("w_scales", std::vector<float>{0.5f});  // one scale for many output channels
      broken = n->name();
    }
  ASSERT_FALSE(broken.empty());
  // The plan is made on the first run (its input dims).
  auto runner = api::ModelRunner::create(model.value(), api::runnerOptionsFor("x86", 1));
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  auto out = runner.value()->run({Tensor(DType::kFloat32, {1, 1, 28, 28})});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(out.status().message().find(broken), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("output channels"), std::string::npos) << out.status().message();
}

// run streams a file of samples in slices (memory follows the slice): the stacked outputs equal
// one run over all samples, on every host target.
TEST(X86TargetTest, RunInBatchesEqualsOneRun) {
  auto model = api::loadModel((kZoo / "mlp_fm.onnx").string());
  ASSERT_TRUE(model.ok());
  Tensor in(DType::kFloat32, {5, 1, 28, 28});
  for (int64_t i = 0; i < in.numel(); ++i) in.data<float>()[i] = static_cast<float>((i * 37) % 101) / 101.0f;
  for (const char* target : {"ref", "x86"}) {
    auto runner = api::ModelRunner::create(model.value(), api::runnerOptionsFor(target, 1));
    ASSERT_TRUE(runner.ok()) << runner.status().message();
    auto whole = runner.value()->run({in});
    auto sliced = api::runInBatches(*runner.value(), *model->graph, {in}, 2);
    ASSERT_TRUE(whole.ok() && sliced.ok());
    ASSERT_EQ(sliced->size(), whole->size());
    ASSERT_EQ((*sliced)[0].dims(), (*whole)[0].dims());
    for (int64_t k = 0; k < (*whole)[0].numel(); ++k)
      EXPECT_NEAR((*sliced)[0].data<float>()[k], (*whole)[0].data<float>()[k], 1e-5f) << target << " " << k;
  }
}

TEST(X86TargetTest, BadInput) {
  auto model = api::loadModel((kZoo / "mlp_fm.onnx").string());
  ASSERT_TRUE(model.ok());
  EXPECT_FALSE(targets::find("arm").ok());
  EXPECT_NE(targets::find("gpu").status().message().find("available: ref, x86, arm-neon"), std::string::npos);
  auto runner = api::ModelRunner::create(model.value(), api::runnerOptionsFor("x86", 1));
  ASSERT_TRUE(runner.ok());
  // Wrong rank and wrong dtype: errors, not crashes.
  auto wrongRank = runner.value()->run({Tensor(DType::kFloat32, {2, 28, 28})});
  EXPECT_FALSE(wrongRank.ok());
  auto wrongType = runner.value()->run({Tensor(DType::kInt64, {2, 1, 28, 28})});
  EXPECT_FALSE(wrongType.ok());
  auto plan = x86::Plan::create(*model->graph, {{2, 1, 28, 28}});
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  auto otherDims = plan.value()->run({Tensor(DType::kFloat32, {3, 1, 28, 28})});
  ASSERT_FALSE(otherDims.ok());
  EXPECT_NE(otherDims.status().message().find("plan was made for"), std::string::npos);
  EXPECT_FALSE(api::ModelRunner::create(model.value(), api::runnerOptionsFor("x86", 0)).ok());
}

}  // namespace
}  // namespace edgeopt
