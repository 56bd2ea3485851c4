// Structured pruning (passes/prune_channels.h): on every zoo model and on hand-made graphs with
// depthwise convolutions, Concat and Flatten -> Gemm, the pruned model computes what the original
// computes with the removed channels' consumer weights zeroed (<= 1e-5 relative), its tensors
// physically shrink, its MACs land on the target, and frozen groups say why.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <sstream>

#include "api/edgeopt.h"
#include "api/inspect.h"
#include "api/prune.h"
#include "compiler/onnx/onnx_io.h"
#include "compiler/pass/pass_manager.h"
#include "compiler/runtime/executor.h"
#include "passes/prune_channels.h"
#include "tests/unit/import_built.h"
#include "tests/unit/onnx_model_builder.h"
#include "tests/unit/zoo_data.h"

namespace edgeopt {
namespace {
namespace fs = std::filesystem;

std::vector<ir::Tensor> runReference(const ir::Model& m, const ir::Tensor& x) {
  auto exec = runtime::Executor::create(*m.graph);
  EXPECT_TRUE(exec.ok()) << exec.status().message();
  auto out = exec.value()->run({x});
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? out.value() : std::vector<ir::Tensor>{};
}

int64_t parameters(const ir::Model& m) { return api::summarize(m).parameters; }

// Prunes a copy and masks another copy with the same plan; both must agree on `x`.
passes::PruneReport expectMaskEquivalence(const ir::Model& model, const ir::Tensor& x, double fraction, const std::string& label) {
  passes::PruneOptions o;
  o.macsFraction = fraction;
  ir::Model pruned = ir::cloneModel(model), masked = ir::cloneModel(model);
  passes::PruneReport pr, mr;
  const Status ps = passes::pruneChannels(*pruned.graph, o, &pr);
  EXPECT_TRUE(ps.ok()) << label << ": " << ps.message();
  const Status ms = passes::maskPrunedChannels(*masked.graph, o, &mr);
  EXPECT_TRUE(ms.ok()) << label << ": " << ms.message();
  if (!ps.ok() || !ms.ok()) return pr;
  EXPECT_EQ(pr.removedChannels, mr.removedChannels);
  EXPECT_GT(pr.removedChannels, 0) << label;
  EXPECT_LT(parameters(pruned), parameters(model)) << label << ": tensors must shrink";
  const auto want = runReference(masked, x), got = runReference(pruned, x);
  auto err = pass::maxRelativeError(want, got);
  EXPECT_TRUE(err.ok()) << label;
  if (err.ok()) {
    EXPECT_LE(err.value(), 1e-5) << label;
  }
  std::cout << "[ prune    ] " << label << ": " << pr.spaces.size() << " groups, " << pr.prunableSpaces() << " prunable, "
            << pr.removedChannels << " channels removed, MACs " << pr.macsBefore << " -> " << pr.macsAfter << " ("
            << 100.0 * static_cast<double>(pr.macsAfter) / static_cast<double>(pr.macsBefore) << " %), parameters "
            << parameters(model) << " -> " << parameters(pruned) << ", mask error " << (err.ok() ? err.value() : -1)
            << "\n";
  return pr;
}

TEST(PruneTest, ZooModelsPrunedEqualMaskedAndHitTheMacTarget) {
  for (const std::string name : {"mlp_fm", "resnet_fm", "mobilenet_v2_fm"}) {
    auto model = api::loadModel((testing::kZoo / (name + ".onnx")).string());
    ASSERT_TRUE(model.ok());
    const std::string preprocess = testing::zooManifest()["models"][name]["preprocess"];
    const ir::Tensor x = testing::bundledBatches(preprocess, 16, 16).at(0);
    for (double fraction : {0.5, 0.75}) {
      const auto r = expectMaskEquivalence(model.value(), x, fraction, name + " at " + std::to_string(fraction));
      // On target within 2 %, or just under it when the multiple-of-8 rounding cannot land closer.
      EXPECT_LE(static_cast<double>(r.macsAfter), fraction * static_cast<double>(r.macsBefore) * 1.02) << name;
      EXPECT_GE(static_cast<double>(r.macsAfter), (fraction - 0.15) * static_cast<double>(r.macsBefore)) << name;
    }
  }
}

// Models nobody here made: $EDGEOPT_PRUNE_MODELS lists "file.onnx=NxCxHxW[=fraction]" entries
// separated by commas (torchvision exports, PaddleOCR), each pruned to that fraction of its MACs
// (default 0.5) and checked against its mask on a random input of those dims; skipped when unset.
TEST(PruneTest, ExternalModelsPrunedEqualMasked) {
  const char* list = std::getenv("EDGEOPT_PRUNE_MODELS");
  if (!list) GTEST_SKIP() << "EDGEOPT_PRUNE_MODELS not set";
  std::mt19937 rng(1);
  std::normal_distribution<float> u(0.0f, 1.0f);
  std::stringstream entries(list);
  for (std::string entry; std::getline(entries, entry, ',');) {
    const size_t eq = entry.find('='), eq2 = entry.find('=', eq + 1);
    ASSERT_NE(eq, std::string::npos) << entry;
    const double fraction = eq2 == std::string::npos ? 0.5 : std::stod(entry.substr(eq2 + 1));
    std::vector<int64_t> dims;
    std::stringstream ds(entry.substr(eq + 1, eq2 == std::string::npos ? std::string::npos : eq2 - eq - 1));
    for (std::string d; std::getline(ds, d, 'x');) dims.push_back(std::stoll(d));
    auto model = onnx_io::importModel(entry.substr(0, eq));
    ASSERT_TRUE(model.ok()) << model.status().message();
    onnx_io::ImportOptions io;
    io.fixInputDims[model.value().graph->inputs()[0]->name()] = dims;
    model = onnx_io::importModel(entry.substr(0, eq), io);  // per-sample dims fixed: shapes known
    ASSERT_TRUE(model.ok()) << model.status().message();
    ir::Tensor x(ir::DType::kFloat32, dims);
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = u(rng);
    expectMaskEquivalence(model.value(), x, fraction, fs::path(entry.substr(0, eq)).filename().string());
  }
}

TEST(PruneTest, FrozenGroupsSayWhy) {
  auto model = api::loadModel((testing::kZoo / "resnet_fm.onnx").string());
  ASSERT_TRUE(model.ok());
  auto r = passes::analyzeChannelGroups(*model.value().graph);
  ASSERT_TRUE(r.ok()) << r.status().message();
  int frozenInput = 0, frozenOutput = 0;
  for (const auto& s : r->spaces) {
    frozenInput += s.frozenBy.find("graph input 'input'") != std::string::npos;
    frozenOutput += s.frozenBy.find("graph output 'logits'") != std::string::npos;
  }
  EXPECT_EQ(frozenInput, 1);
  EXPECT_EQ(frozenOutput, 1);
  // Three stages tied through their residual Adds, plus each block's inner conv: 3 + 3 prunable.
  EXPECT_EQ(r->prunableSpaces(), 6) << r->spaces.size();
}

// Depthwise convolutions (in, out and group together), Concat with offsets, a per-channel
// constant Mul, max pooling and Flatten of a 4x4 map -> Gemm, built by hand.
TEST(PruneTest, DepthwiseConcatAndFlattenAreKeptConsistent) {
  std::mt19937 rng(7);
  std::normal_distribution<float> u(0.0f, 0.5f);
  auto values = [&](size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = u(rng);
    return v;
  };
  testing::OnnxModelBuilder b;
  b.input("x", {-1, 3, 8, 8}).output("y", {-1, 5});
  b.initializer("w1", {16, 3, 3, 3}, values(432)).initializer("b1", {16}, values(16));
  b.initializer("wd", {16, 1, 3, 3}, values(144)).initializer("bd", {16}, values(16));
  b.initializer("w2", {16, 3, 1, 1}, values(48));
  b.initializer("scale", {32, 1, 1}, values(32));
  b.initializer("w3", {24, 32, 1, 1}, values(768)).initializer("b3", {24}, values(24));
  b.initializer("wf", {5, 24 * 16}, values(24 * 16 * 5));
  testing::addIntsAttr(b.node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  auto* dw = b.node("Conv", {"r1", "wd", "bd"}, {"d"}, "depthwise");
  testing::addIntsAttr(dw, "pads", {1, 1, 1, 1});
  testing::addIntAttr(dw, "group", 16);
  b.node("Conv", {"x", "w2"}, {"c2"}, "conv2");
  testing::addIntAttr(b.node("Concat", {"d", "c2"}, {"cat"}, "concat"), "axis", 1);
  b.node("Mul", {"cat", "scale"}, {"m"}, "scale");
  auto* pool = b.node("MaxPool", {"m"}, {"p"}, "pool");
  testing::addIntsAttr(pool, "kernel_shape", {2, 2});
  testing::addIntsAttr(pool, "strides", {2, 2});
  b.node("Conv", {"p", "w3", "b3"}, {"c3"}, "conv3");
  b.node("Relu", {"c3"}, {"r3"}, "relu3");
  b.node("Flatten", {"r3"}, {"f"}, "flatten");
  auto* gemm = b.node("Gemm", {"f", "wf"}, {"y"}, "fc");
  testing::addIntAttr(gemm, "transB", 1);
  auto model = testing::importBuilt(b);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ir::Tensor x(ir::DType::kFloat32, {4, 3, 8, 8});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = u(rng);
  const auto r = expectMaskEquivalence(model.value(), x, 0.6, "hand-made");
  // The concat space ties conv1/depthwise (16) and conv2 (16 at offset 16): one space of 32.
  bool concatSpace = false;
  for (const auto& s : r.spaces)
    if (std::find(s.values.begin(), s.values.end(), "cat") != s.values.end()) {
      concatSpace = true;
      EXPECT_EQ(s.channels, 32);
      EXPECT_TRUE(s.frozenBy.empty()) << s.frozenBy;
    }
  EXPECT_TRUE(concatSpace);
}

TEST(PruneTest, BadOptionsAndAllFrozenModelsAreRefused) {
  auto model = api::loadModel((testing::kZoo / "resnet_fm.onnx").string());
  ASSERT_TRUE(model.ok());
  passes::PruneReport r;
  for (double bad : {0.0, -0.5, 1.5}) {
    passes::PruneOptions o;
    o.macsFraction = bad;
    const Status st = passes::pruneChannels(*model.value().graph, o, &r);
    EXPECT_EQ(st.code(), StatusCode::kInvalidInput);
    EXPECT_NE(st.message().find("MACs fraction must be in (0, 1]"), std::string::npos) << st.message();
  }
  // y = Relu(x + w): its only channels are the graph's input and output.
  testing::OnnxModelBuilder b;
  b.input("x", {-1, 4}).output("y", {-1, 4}).initializer("w", {4}, {1, -2, 3, -4});
  b.node("Add", {"x", "w"}, {"t"});
  b.node("Relu", {"t"}, {"y"});
  const fs::path file = fs::temp_directory_path() / "edgeopt-prune-frozen.onnx";
  b.save(file.string());
  auto tiny = api::loadModel(file.string());
  fs::remove(file);
  ASSERT_TRUE(tiny.ok());
  const Status st = passes::pruneChannels(*tiny.value().graph, {}, &r);
  EXPECT_EQ(st.code(), StatusCode::kInvalidInput);
  EXPECT_NE(st.message().find("no channel group can be pruned"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace edgeopt

namespace edgeopt {
namespace {

// x [n, 8] -> MatMul w1 [8, 64] (weights ~1) -> Relu -> MatMul w2 [64, 4] (weights ~0.01).
ir::Model twoLayersOfDifferentScale() {
  std::mt19937 rng(11);
  std::normal_distribution<float> u(0.0f, 1.0f);
  std::vector<float> w1(8 * 64), w2(64 * 4);
  for (auto& v : w1) v = u(rng);
  for (auto& v : w2) v = 0.01f * u(rng);
  testing::OnnxModelBuilder b;
  b.input("x", {-1, 8}).output("y", {-1, 4});
  b.initializer("w1", {8, 64}, w1).initializer("w2", {64, 4}, w2);
  b.node("MatMul", {"x", "w1"}, {"h"}, "big");
  b.node("Relu", {"h"}, {"r"}, "relu");
  b.node("MatMul", {"r", "w2"}, {"y"}, "small");
  auto model = testing::importBuilt(b);
  EXPECT_TRUE(model.ok()) << model.status().message();
  return std::move(model).value();
}

// Unstructured pruning zeroes exactly the requested share (global or per layer); ranked by plain
// magnitude over all layers it wipes out a layer of small weights entirely, LAMP keeps its
// largest ones.
TEST(PruneTest, UnstructuredPruningHitsTheSparsityAndLampSparesSmallLayers) {
  struct Case {
    api::SparsityScore score;
    bool perLayer;
    int64_t smallZerosMin, smallZerosMax;
  };
  const Case cases[] = {{api::SparsityScore::kMagnitude, false, 256, 256},
                        {api::SparsityScore::kLamp, false, 1, 200},
                        {api::SparsityScore::kMagnitude, true, 128, 128},
                        {api::SparsityScore::kLamp, true, 128, 128}};
  for (const Case& c : cases) {
    ir::Model m = twoLayersOfDifferentScale();
    api::PruneOptions o;
    o.structured = false;
    o.sparsity = 0.5;
    o.sparsityPerLayer = c.perLayer;
    o.sparsityScore = c.score;
    api::PruneResult r;
    ASSERT_TRUE(api::pruneModel(m, o, &r).ok());
    ASSERT_EQ(r.sparsity.size(), 2u);
    EXPECT_EQ(r.sparsity[0].zeros + r.sparsity[1].zeros, 384) << "half of the 768 weights";
    EXPECT_GE(r.sparsity[1].zeros, c.smallZerosMin);
    EXPECT_LE(r.sparsity[1].zeros, c.smallZerosMax);
    std::cout << "[ sparsity ] " << (c.score == api::SparsityScore::kLamp ? "lamp" : "magnitude") << (c.perLayer ? " per layer" : " global")
              << ": big layer " << r.sparsity[0].zeros << "/512 zero, small layer " << r.sparsity[1].zeros << "/256 zero\n";
  }
}

}  // namespace
}  // namespace edgeopt
