// The built-in fine-tuner (compiler/train): analytic gradients against central differences in
// double for every op it trains (Conv incl. strided, padded and depthwise, BatchNorm in training
// and frozen mode, Relu, Clip, HardSigmoid, HardSwish, Sigmoid, MaxPool, AveragePool with and
// without counted padding, Add, Mul with broadcasting, Concat, GlobalAveragePool, Flatten, Gemm,
// MatMul, Reshape) and for the distillation loss; the forward pass agrees with the reference executor; training is deterministic given the seed and lowers the loss.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "api/edgeopt.h"
#include "compiler/train/trainer.h"
#include "tests/unit/import_built.h"
#include "tests/unit/onnx_model_builder.h"

namespace edgeopt {
namespace {
namespace fs = std::filesystem;

std::vector<float> randomValues(std::mt19937& rng, size_t n, float scale = 0.5f) {
  std::normal_distribution<float> u(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

// Conv 3x3/2 pad 1 -> BN -> Relu -> MaxPool 2x2 -> depthwise 3x3 -> BN -> Clip(0, 6) -> Add (skip)
// -> GlobalAveragePool -> Flatten -> Gemm (transB) -> 5 logits.
ir::Model convNet(std::mt19937& rng) {
  testing::OnnxModelBuilder b;
  b.input("x", {-1, 2, 10, 10}).output("y", {-1, 5});
  b.initializer("w1", {6, 2, 3, 3}, randomValues(rng, 108)).initializer("b1", {6}, randomValues(rng, 6));
  b.initializer("g1", {6}, randomValues(rng, 6, 0.2f)).initializer("be1", {6}, randomValues(rng, 6));
  b.initializer("m1", {6}, randomValues(rng, 6)).initializer("v1", {6}, std::vector<float>(6, 1.5f));
  b.initializer("wd", {6, 1, 3, 3}, randomValues(rng, 54));
  b.initializer("g2", {6}, randomValues(rng, 6, 0.2f)).initializer("be2", {6}, randomValues(rng, 6));
  b.initializer("m2", {6}, randomValues(rng, 6)).initializer("v2", {6}, std::vector<float>(6, 0.7f));
  b.initializer("lo", {}, {0.0f}).initializer("hi", {}, {6.0f});
  b.initializer("wf", {5, 6}, randomValues(rng, 30)).initializer("bf", {5}, randomValues(rng, 5));
  auto* c1 = b.node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1");
  testing::addIntsAttr(c1, "pads", {1, 1, 1, 1});
  testing::addIntsAttr(c1, "strides", {2, 2});
  b.node("BatchNormalization", {"c1", "g1", "be1", "m1", "v1"}, {"n1"}, "bn1");
  b.node("Relu", {"n1"}, {"r1"}, "relu1");
  auto* pool = b.node("MaxPool", {"r1"}, {"p"}, "pool");
  testing::addIntsAttr(pool, "kernel_shape", {2, 2});
  testing::addIntsAttr(pool, "strides", {1, 1});
  auto* dw = b.node("Conv", {"p", "wd"}, {"d"}, "depthwise");
  testing::addIntsAttr(dw, "pads", {1, 1, 1, 1});
  testing::addIntAttr(dw, "group", 6);
  b.node("BatchNormalization", {"d", "g2", "be2", "m2", "v2"}, {"n2"}, "bn2");
  b.node("Clip", {"n2", "lo", "hi"}, {"r2"}, "relu6");
  b.node("Add", {"r2", "p"}, {"a"}, "add");
  b.node("GlobalAveragePool", {"a"}, {"g"}, "gap");
  b.node("Flatten", {"g"}, {"f"}, "flatten");
  testing::addIntAttr(b.node("Gemm", {"f", "wf", "bf"}, {"y"}, "fc"), "transB", 1);
  auto model = testing::importBuilt(b);
  EXPECT_TRUE(model.ok()) << model.status().message();
  return std::move(model).value();
}

// The MobileNetV3 / squeeze-excitation ops: Conv 3x3 -> HardSwish -> AveragePool 3x3/2 pad 1
// (padding not counted) -> [SE: GlobalAveragePool -> Conv 1x1 -> Relu -> Conv 1x1 -> HardSigmoid
// -> Mul (broadcast [n,6,1,1] x [n,6,5,5])] and [Conv 1x1 -> Sigmoid] -> Concat (channels) ->
// AveragePool 2x2/1 pad 1 (padding counted) -> GlobalAveragePool -> Flatten -> Gemm -> 5 logits.
ir::Model squeezeExciteNet(std::mt19937& rng) {
  testing::OnnxModelBuilder b;
  b.input("x", {-1, 2, 10, 10}).output("y", {-1, 5});
  b.initializer("w1", {6, 2, 3, 3}, randomValues(rng, 108)).initializer("b1", {6}, randomValues(rng, 6));
  b.initializer("ws1", {3, 6, 1, 1}, randomValues(rng, 18)).initializer("bs1", {3}, randomValues(rng, 3));
  b.initializer("ws2", {6, 3, 1, 1}, randomValues(rng, 18)).initializer("bs2", {6}, randomValues(rng, 6));
  b.initializer("w3", {4, 6, 1, 1}, randomValues(rng, 24));
  b.initializer("wf", {5, 10}, randomValues(rng, 50)).initializer("bf", {5}, randomValues(rng, 5));
  auto* c1 = b.node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1");
  testing::addIntsAttr(c1, "pads", {1, 1, 1, 1});
  b.node("HardSwish", {"c1"}, {"h1"}, "hardswish");
  auto* p1 = b.node("AveragePool", {"h1"}, {"a"}, "avgpool_exclusive");
  testing::addIntsAttr(p1, "kernel_shape", {3, 3});
  testing::addIntsAttr(p1, "strides", {2, 2});
  testing::addIntsAttr(p1, "pads", {1, 1, 1, 1});
  b.node("GlobalAveragePool", {"a"}, {"g"}, "se_pool");
  b.node("Conv", {"g", "ws1", "bs1"}, {"s1"}, "se_reduce");
  b.node("Relu", {"s1"}, {"s1r"}, "se_relu");
  b.node("Conv", {"s1r", "ws2", "bs2"}, {"s2"}, "se_expand");
  auto* hs = b.node("HardSigmoid", {"s2"}, {"gate"}, "se_gate");
  testing::addFloatAttr(hs, "alpha", 1.0f / 6.0f);
  b.node("Mul", {"gate", "a"}, {"m"}, "se_scale");
  b.node("Conv", {"a", "w3"}, {"c3"}, "branch");
  b.node("Sigmoid", {"c3"}, {"sg"}, "sigmoid");
  testing::addIntAttr(b.node("Concat", {"m", "sg"}, {"cat"}, "concat"), "axis", 1);
  auto* p2 = b.node("AveragePool", {"cat"}, {"p2"}, "avgpool_inclusive");
  testing::addIntsAttr(p2, "kernel_shape", {2, 2});
  testing::addIntsAttr(p2, "pads", {1, 1, 1, 1});
  testing::addIntAttr(p2, "count_include_pad", 1);
  b.node("GlobalAveragePool", {"p2"}, {"gp"}, "gap");
  b.node("Flatten", {"gp"}, {"f"}, "flatten");
  testing::addIntAttr(b.node("Gemm", {"f", "wf", "bf"}, {"y"}, "fc"), "transB", 1);
  auto model = testing::importBuilt(b);
  EXPECT_TRUE(model.ok()) << model.status().message();
  return std::move(model).value();
}

// Reshape to [batch, 12] -> MatMul [12, 7] -> Relu -> Gemm (not transposed) -> 4 logits.
ir::Model mlp(std::mt19937& rng) {
  testing::OnnxModelBuilder b;
  b.input("x", {-1, 3, 4}).output("y", {-1, 4});
  b.int64Initializer("shape", {-1, 12});
  b.initializer("w1", {12, 7}, randomValues(rng, 84)).initializer("w2", {7, 4}, randomValues(rng, 28));
  b.initializer("b2", {4}, randomValues(rng, 4));
  b.node("Reshape", {"x", "shape"}, {"f"}, "reshape");
  b.node("MatMul", {"f", "w1"}, {"h"}, "matmul");
  b.node("Relu", {"h"}, {"r"}, "relu");
  b.node("Gemm", {"r", "w2", "b2"}, {"y"}, "fc");
  auto model = testing::importBuilt(b);
  EXPECT_TRUE(model.ok()) << model.status().message();
  return std::move(model).value();
}

// Every parameter entry's analytic gradient against a central difference of the KD loss.
void gradientCheck(const ir::Model& model, const std::vector<int64_t>& sampleDims, bool freezeBn, const std::string& label) {
  std::mt19937 rng(5);
  auto net = train::Network<double>::create(*model.graph, freezeBn);
  ASSERT_TRUE(net.ok()) << net.status().message();
  train::Network<double>& n = *net.value();
  n.setSampleDims(sampleDims);
  const int64_t batch = 3;
  int64_t sample = 1;
  for (int64_t d : sampleDims) sample *= d;
  std::vector<double> x(static_cast<size_t>(batch * sample));
  std::normal_distribution<double> u(0.0, 1.0);
  for (auto& v : x) v = u(rng);
  auto first = n.forward(x, batch, true);
  ASSERT_TRUE(first.ok()) << first.status().message();
  const int64_t classes = n.classes();
  std::vector<float> teacher(static_cast<size_t>(batch * classes));
  for (auto& v : teacher) v = static_cast<float>(u(rng));
  std::vector<int64_t> labels = {0, 1, 2};
  auto lossAt = [&](std::vector<double>* grad) {
    auto logits = n.forward(x, batch, true);
    EXPECT_TRUE(logits.ok());
    std::vector<double> d;
    int64_t correct = 0;
    const double l = train::distillationLoss(logits.value(), teacher, labels, classes, 0.6, 3.0, &d, &correct);
    if (grad) *grad = d;
    return l;
  };
  std::vector<double> dLogits;
  lossAt(&dLogits);
  n.zeroGrad();
  ASSERT_TRUE(n.backward(dLogits).ok());
  int checked = 0;
  double worst = 0;
  for (auto& p : n.parameters()) {
    const std::vector<double> analytic = p.grad;
    for (size_t i = 0; i < p.value.size(); i += std::max<size_t>(1, p.value.size() / 7)) {
      const double keep = p.value[i], h = 1e-5;
      p.value[i] = keep + h;
      const double up = lossAt(nullptr);
      p.value[i] = keep - h;
      const double down = lossAt(nullptr);
      p.value[i] = keep;
      const double numeric = (up - down) / (2 * h);
      // Relative, with an absolute floor: a conv bias before a training-mode BatchNorm has a true
      // gradient of 0, which the central difference gives as rounding noise (~1e-11).
      const double err = std::fabs(numeric - analytic[i]) / std::max(1e-4, std::fabs(numeric) + std::fabs(analytic[i]));
      worst = std::max(worst, err);
      EXPECT_LT(err, 1e-5) << label << " " << p.name << "[" << i << "]: numeric " << numeric << " analytic " << analytic[i];
      ++checked;
    }
  }
  std::cout << "[ gradcheck] " << label << ": " << checked << " entries of " << n.parameters().size()
            << " parameters, worst relative error " << worst << "\n";
}

TEST(TrainTest, GradientsMatchCentralDifferencesForEveryOp) {
  std::mt19937 rng(1);
  const ir::Model conv = convNet(rng);
  gradientCheck(conv, {2, 10, 10}, /*freezeBn=*/false, "conv net, BatchNorm trained");
  gradientCheck(conv, {2, 10, 10}, /*freezeBn=*/true, "conv net, BatchNorm frozen");
  gradientCheck(mlp(rng), {3, 4}, false, "MatMul/Reshape/Gemm");
  gradientCheck(squeezeExciteNet(rng), {2, 10, 10}, false, "HardSwish/AveragePool/SE Mul/HardSigmoid/Sigmoid/Concat");
}

// The forward pass of every op agrees with the reference executor (the numerical definition).
TEST(TrainTest, ForwardAgreesWithTheReferenceExecutor) {
  std::mt19937 rng(4);
  ir::Model models[] = {convNet(rng), squeezeExciteNet(rng)};
  for (ir::Model& model : models) {
    auto net = train::Network<double>::create(*model.graph, /*freezeBatchNorm=*/false);
    ASSERT_TRUE(net.ok()) << net.status().message();
    net.value()->setSampleDims({2, 10, 10});
    ir::Tensor x(ir::DType::kFloat32, {3, 2, 10, 10});
    const std::vector<float> values = randomValues(rng, 600, 1.5f);
    std::copy(values.begin(), values.end(), x.data<float>());
    auto mine = net.value()->forward(std::vector<double>(values.begin(), values.end()), 3, /*train=*/false);
    ASSERT_TRUE(mine.ok()) << mine.status().message();
    auto ref = api::runReference(model, {{"x", x}});
    ASSERT_TRUE(ref.ok()) << ref.status().message();
    const ir::Tensor& y = ref.value().at("y");
    ASSERT_EQ(y.numel(), static_cast<int64_t>(mine.value().size()));
    for (int64_t i = 0; i < y.numel(); ++i) EXPECT_NEAR(y.data<float>()[i], mine.value()[static_cast<size_t>(i)], 1e-4) << i;
  }
}

TEST(TrainTest, TrainingIsDeterministicAndLowersTheLoss) {
  std::mt19937 rng(2);
  train::TrainingSet data;
  data.sampleDims = {2, 10, 10};
  const int64_t count = 96;
  data.inputs = randomValues(rng, static_cast<size_t>(count * 200), 1.0f);
  for (int64_t i = 0; i < count; ++i) {
    // Class = which quarter of the image is brightest on channel 0: learnable.
    float best = -1e9f;
    int64_t arg = 0;
    for (int64_t q = 0; q < 4; ++q) {
      float s = 0;
      for (int64_t y = (q / 2) * 5; y < (q / 2) * 5 + 5; ++y)
        for (int64_t x = (q % 2) * 5; x < (q % 2) * 5 + 5; ++x) s += data.inputs[static_cast<size_t>(i * 200 + y * 10 + x)];
      if (s > best) best = s, arg = q;
    }
    data.labels.push_back(arg);
  }
  train::TrainOptions o;
  o.epochs = 6;
  o.batch = 16;
  o.learningRate = 0.05;
  o.seed = 3;
  std::vector<double> losses[2];
  ir::Model trained[2] = {convNet(rng), ir::Model{}};
  trained[1] = ir::cloneModel(trained[0]);
  for (int run = 0; run < 2; ++run) {
    const Status st = train::fineTune(trained[run], data, o, nullptr, [&](const train::EpochLog& e) { losses[run].push_back(e.loss); });
    ASSERT_TRUE(st.ok()) << st.message();
  }
  ASSERT_EQ(losses[0].size(), 6u);
  EXPECT_EQ(losses[0], losses[1]) << "two runs with one seed";
  EXPECT_LT(losses[0].back(), 0.8 * losses[0].front()) << "the loss falls";
  const ir::Tensor& w0 = trained[0].graph->nodes()[0]->input(1)->initializer();
  const ir::Tensor& w1 = trained[1].graph->nodes()[0]->input(1)->initializer();
  EXPECT_EQ(0, std::memcmp(w0.rawData(), w1.rawData(), w0.byteSize()));
}

}  // namespace
}  // namespace edgeopt
