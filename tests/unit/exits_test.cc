// Early exits: the policy arithmetic, heads added without moving the final output, the policy
// surviving export and import, and the refusals (a point inside a skip connection, a MACs goal
// the budget cannot reach).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "api/edgeopt.h"
#include "api/exits.h"
#include "api/quantize.h"
#include "api/split.h"
#include "compiler/pass/pass_manager.h"
#include "targets/target.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;
const fs::path kFashion = "/usr/share/datasets/fashion-mnist";
const std::string kResnet = std::string(EDGEOPT_SOURCE_DIR) + "/tools/zoo/models/resnet_fm.onnx";

api::ExitOptions trainingOptions(int64_t limit) {
  api::ExitOptions o;
  o.data.path = (kFashion / "train-images-idx3-ubyte.gz").string();
  o.data.labelsPath = (kFashion / "train-labels-idx1-ubyte.gz").string();
  o.data.preprocess = "channels=gray,scale=1/255,mean=0.2860,std=0.3530";
  o.data.limit = limit;
  o.optimizer.epochs = 2;
  o.optimizer.learningRate = 0.05;
  return o;
}

TEST(ExitsTest, PolicyTakesTheFirstConfidentExitAndCountsItsMacs) {
  api::ExitPolicy p;
  p.exits = {{"e1", "t1", 0.9, 10}, {"e2", "t2", 0.8, 30}};
  p.finalMacs = 100;
  p.backboneMacs = 90;
  // Samples: confident at exit 1; at exit 2 only; at neither.
  const std::vector<std::vector<float>> conf = {{0.95f, 0.5f, 0.5f}, {0.1f, 0.85f, 0.7f}, {0.9f, 0.9f, 0.9f}};
  const std::vector<std::vector<int64_t>> pred = {{1, 0, 0}, {0, 2, 0}, {1, 1, 2}};
  const api::ExitStats s = api::applyExitPolicy(p, conf, pred, {1, 2, 1});
  EXPECT_EQ(s.taken, (std::vector<int64_t>{1, 1, 1}));
  EXPECT_EQ(s.correct, (std::vector<int64_t>{1, 1, 0}));
  EXPECT_EQ(s.cascadeCorrect, 2);
  EXPECT_EQ(s.finalCorrect, 1);  // the final output alone: 1, 1, 2 against 1, 2, 1
  EXPECT_DOUBLE_EQ(s.averageMacs, (10 + 30 + 100) / 3.0);
}

// The two confidences: the largest softmax probability, and 1 - H/ln(classes).
TEST(ExitsTest, ConfidenceIsMaxSoftmaxOrNormalisedEntropy) {
  int64_t top = -1;
  const float uniform[4] = {2.f, 2.f, 2.f, 2.f};
  EXPECT_NEAR(api::exitConfidence(uniform, 4, api::Confidence::kMaxSoftmax, &top), 0.25f, 1e-7f);
  EXPECT_NEAR(api::exitConfidence(uniform, 4, api::Confidence::kEntropy, &top), 0.0f, 1e-6f);
  const float twoClasses[2] = {0.f, std::log(3.f)};  // p = 0.25, 0.75
  EXPECT_NEAR(api::exitConfidence(twoClasses, 2, api::Confidence::kMaxSoftmax, &top), 0.75f, 1e-6f);
  EXPECT_EQ(top, 1);
  const double h = -(0.25 * std::log(0.25) + 0.75 * std::log(0.75));
  EXPECT_NEAR(api::exitConfidence(twoClasses, 2, api::Confidence::kEntropy, &top), 1 - h / std::log(2.0), 1e-6);
  const float certain[3] = {-50.f, 60.f, -50.f};
  EXPECT_NEAR(api::exitConfidence(certain, 3, api::Confidence::kEntropy, &top), 1.0f, 1e-6f);
  EXPECT_EQ(top, 1);
  EXPECT_TRUE(api::parseConfidence("entropy").ok());
  EXPECT_FALSE(api::parseConfidence("margin").ok());
}

TEST(ExitsTest, HeadsLeaveTheFinalOutputAndThePolicySurvivesExport) {
  if (!fs::exists(kFashion / "train-images-idx3-ubyte.gz")) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  auto original = api::loadModel(kResnet);
  ASSERT_TRUE(original.ok());
  ir::Model model = ir::cloneModel(original.value());
  api::ExitReport report;
  const Status st = api::addExits(model, trainingOptions(1200), &report);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(report.policy.exits.size(), 3u);
  ASSERT_EQ(model.graph->outputs().size(), 4u);
  for (size_t e = 0; e < 3; ++e) {
    EXPECT_LT(report.policy.exits[e].macs, report.policy.backboneMacs);
    if (e) {
      EXPECT_GT(report.policy.exits[e].macs, report.policy.exits[e - 1].macs);
    }
    EXPECT_GT(report.headHeldOutTop1[e], 0.25) << "head " << e + 1 << " learnt next to nothing (10 classes)";
  }
  // Within the budget on the half that chose the thresholds.
  EXPECT_GE(report.calibration.cascadeTop1(), report.calibration.finalTop1() - 0.005 - 1e-12);
  EXPECT_LE(report.calibration.averageMacs, static_cast<double>(report.policy.finalMacs));

  // Output 0 is the original model's, bit for bit.
  auto inputs = pass::randomInputs(*model.graph, {{"input", {4, 1, 28, 28}}}, 3);
  ASSERT_TRUE(inputs.ok());
  auto a = runtime::Executor::create(*original->graph);
  auto b = runtime::Executor::create(*model.graph);
  ASSERT_TRUE(a.ok() && b.ok());
  auto ya = a.value()->run(inputs.value());
  auto yb = b.value()->run(inputs.value());
  ASSERT_TRUE(ya.ok() && yb.ok());
  ASSERT_EQ(ya->at(0).byteSize(), yb->at(0).byteSize());
  EXPECT_EQ(std::memcmp(ya->at(0).rawData(), yb->at(0).rawData(), ya->at(0).byteSize()), 0);

  // The runtime cascade: a batch of 64 gives every sample the answer a batch of 1 gives, and the
  // exits taken are the policy's on the full outputs.
  data::DataOptions test;
  test.path = (kFashion / "t10k-images-idx3-ubyte.gz").string();
  test.labelsPath = (kFashion / "t10k-labels-idx1-ubyte.gz").string();
  test.preprocess = "channels=gray,scale=1/255,mean=0.2860,std=0.3530";
  test.limit = 300;
  for (const char* target : {"ref", "x86"}) {
    auto one = api::evaluateExits(model, report.policy, test, api::runnerOptionsFor(target), 1);
    auto many = api::evaluateExits(model, report.policy, test, api::runnerOptionsFor(target), 64);
    ASSERT_TRUE(one.ok() && many.ok()) << (one.ok() ? many.status().message() : one.status().message());
    EXPECT_EQ(one->taken, many->taken) << target;
    EXPECT_EQ(one->correct, many->correct) << target;
    EXPECT_EQ(one->finalCorrect, many->finalCorrect) << target;
    EXPECT_GT(one->taken[0] + one->taken[1] + one->taken[2], 0) << target << ": no sample left early";
  }

  // The policy travels in the ONNX metadata.
  const fs::path file = fs::temp_directory_path() / "edgeopt-exits-test.onnx";
  ASSERT_TRUE(onnx_io::exportModel(model, file.string()).ok());
  auto back = api::loadModel(file.string());
  fs::remove(file);
  ASSERT_TRUE(back.ok()) << back.status().message();
  auto policy = api::exitPolicyOf(back.value());
  ASSERT_TRUE(policy.ok() && policy.value());
  ASSERT_EQ(policy.value()->exits.size(), 3u);
  for (size_t e = 0; e < 3; ++e) {
    EXPECT_EQ(policy.value()->exits[e].output, report.policy.exits[e].output);
    EXPECT_DOUBLE_EQ(policy.value()->exits[e].threshold, report.policy.exits[e].threshold);
    EXPECT_EQ(policy.value()->exits[e].macs, report.policy.exits[e].macs);
    const int64_t held = report.calibration.samples + report.check.samples;
    EXPECT_DOUBLE_EQ(policy.value()->exits[e].rate,
                     static_cast<double>(report.calibration.taken[e] + report.check.taken[e]) / static_cast<double>(held));
  }
  // A model with exits already is refused.
  EXPECT_FALSE(api::addExits(back.value(), trainingOptions(300), &report).ok());

  // Split of the multi-exit model: cut without the heads, each head in the part that computes its
  // point, costs weighed by the share of samples still running; the parts (heads included)
  // compose to the whole (planSplit checks it), and the search equals brute force.
  api::SplitOptions so;
  so.tiers = {"device", "edge"};
  so.links = {{100.0, 0.2}};
  so.scale = {{"device", 30.0}};
  so.iters = 3;
  auto split = api::planSplit(back.value(), so);
  ASSERT_TRUE(split.ok()) << split.status().message();
  ASSERT_EQ(split->exits.size(), 3u);
  const auto& survival = split->graph.survival;
  ASSERT_EQ(survival.size(), split->graph.nodes.size() + 1);
  for (size_t k = 1; k < survival.size(); ++k) EXPECT_LE(survival[k], survival[k - 1]);
  double left = 1;
  for (size_t e = 0; e < 3; ++e) {
    EXPECT_DOUBLE_EQ(split->exits[e].rate, policy.value()->exits[e].rate);
    left -= split->exits[e].rate;
    EXPECT_NEAR(survival[static_cast<size_t>(split->exits[e].position)], left, 1e-12);
  }
  EXPECT_NEAR(split->bruteForce.totalMs, split->best.totalMs, 1e-9 * split->best.totalMs);
  double allOnDevice = 0;
  for (size_t i = 0; i < split->graph.nodes.size(); ++i) allOnDevice += split->costs[0][i] * survival[i];
  EXPECT_NEAR(split->allOnDevice.totalMs, allOnDevice, 1e-9 * allOnDevice);
  size_t exitOutputs = 0;
  for (const auto& part : split->parts)
    for (const ir::Value* v : part.graph->outputs())
      for (const auto& x : split->exits) exitOutputs += v->name() == x.output;
  EXPECT_EQ(exitOutputs, 3u) << "every head is in one part";
}

TEST(ExitsTest, PointsInsideASkipConnectionAndUnreachableGoalsAreRefused) {
  if (!fs::exists(kFashion / "train-images-idx3-ubyte.gz")) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  auto model = api::loadModel(kResnet);
  ASSERT_TRUE(model.ok());
  api::ExitReport report;
  api::ExitOptions inside = trainingOptions(300);
  inside.points = {"/stages/stages.0/conv1/Conv_output_0"};
  Status st = api::addExits(model.value(), inside, &report);
  EXPECT_EQ(st.code(), StatusCode::kInvalidInput);
  EXPECT_NE(st.message().find("inside a skip connection"), std::string::npos) << st.message();
  api::ExitOptions missing = trainingOptions(300);
  missing.points = {"nosuch"};
  st = api::addExits(model.value(), missing, &report);
  EXPECT_NE(st.message().find("'nosuch' is not a tensor"), std::string::npos) << st.message();
  api::ExitOptions goal = trainingOptions(600);
  goal.budgetPoints = 0;
  goal.maxAverageMacs = 0.001;
  st = api::addExits(model.value(), goal, &report);
  EXPECT_EQ(st.code(), StatusCode::kInvalidInput);
  EXPECT_NE(st.message().find("cannot be met"), std::string::npos) << st.message();
  EXPECT_EQ(model->graph->outputs().size(), 1u);  // nothing added on failure
}

// On a QDQ int8 model the heads read the DequantizeLinear of the int8 tensor at each point, the
// cascade's segments hand on int8, and its answers still do not depend on the batch.
TEST(ExitsTest, Int8ModelsGetExitsOnTheirDequantizedFeatureMaps) {
  if (!fs::exists(kFashion / "train-images-idx3-ubyte.gz")) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  auto model = api::loadModel(kResnet);
  ASSERT_TRUE(model.ok());
  api::QuantizeOptions q;
  q.calib.path = std::string(EDGEOPT_SOURCE_DIR) + "/calib_data/fashion_mnist_500";
  q.calib.preprocess = "channels=gray,scale=1/255,mean=0.2860,std=0.3530";
  q.calib.limit = 64;
  q.threads = 1;
  api::QuantizeReport qr;
  ASSERT_TRUE(api::quantizeModel(model.value(), q, &qr).ok());
  api::ExitReport report;
  // A point named by its dequantized tensor inside a residual block is refused as lying inside a
  // skip connection (the int8 tensors live there are named), before any training.
  {
    ir::Model copy = ir::cloneModel(model.value());
    api::ExitOptions inside = trainingOptions(300);
    inside.points = {"/stages/stages.0/Relu_output_0_dequantized"};
    const Status refused = api::addExits(copy, inside, &report);
    EXPECT_EQ(refused.code(), StatusCode::kInvalidInput);
    EXPECT_NE(refused.message().find("inside a skip connection (live with it: /stem/stem.2/Relu_output_0_quantized"), std::string::npos)
        << refused.message();
  }
  const Status st = api::addExits(model.value(), trainingOptions(1200), &report);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_FALSE(report.policy.exits.empty());
  for (const auto& e : report.policy.exits) {
    const ir::Value* v = model->graph->findValue(e.tensor);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->producer()->opType(), "DequantizeLinear") << e.tensor;
  }
  data::DataOptions test;
  test.path = (kFashion / "t10k-images-idx3-ubyte.gz").string();
  test.labelsPath = (kFashion / "t10k-labels-idx1-ubyte.gz").string();
  test.preprocess = "channels=gray,scale=1/255,mean=0.2860,std=0.3530";
  test.limit = 200;
  auto one = api::evaluateExits(model.value(), report.policy, test, api::runnerOptionsFor("x86"), 1);
  auto many = api::evaluateExits(model.value(), report.policy, test, api::runnerOptionsFor("x86"), 64);
  ASSERT_TRUE(one.ok() && many.ok()) << (one.ok() ? many.status().message() : one.status().message());
  EXPECT_EQ(one->taken, many->taken);
  EXPECT_EQ(one->correct, many->correct);

  // Split with the device on the arm-neon cost model: the device part's package estimate leaves
  // the exit heads out (a package has one output) and says so; everything stays on the device
  // over a slow link, at the expected cost of the cascade.
  api::SplitOptions so;
  so.tiers = {"device", "edge"};
  so.links = {{1.0, 100.0}};
  so.profileFiles = {{"device", "arm-neon"}};
  so.iters = 3;
  auto split = api::planSplit(model.value(), so);
  ASSERT_TRUE(split.ok()) << split.status().message();
  EXPECT_EQ(split->partTiers, std::vector<std::string>{"device"});
  EXPECT_GT(split->devicePartHeadsMs, 0.0);
  EXPECT_NEAR(split->devicePartEstimateMs, split->devicePartPredictedMs - split->devicePartHeadsMs,
              0.05 * split->devicePartEstimateMs);
  EXPECT_LT(split->best.totalMs, split->withoutExits.totalMs) << "exits that are taken save expected compute";

  // The NEON target runs the cascade too (its packages take and give one float tensor: each
  // segment hands on its map dequantized and quantizes it again, the same int8 tensor), with the
  // x86 cascade's exits and answers.
  auto neon = targets::find("arm-neon");
  ASSERT_TRUE(neon.ok());
  if (!neon.value()->available().ok()) GTEST_SKIP() << neon.value()->available().message();
  auto onNeon = api::evaluateExits(model.value(), report.policy, test, api::runnerOptionsFor("arm-neon"), 64);
  ASSERT_TRUE(onNeon.ok()) << onNeon.status().message();
  EXPECT_EQ(onNeon->taken, many->taken);
  EXPECT_EQ(onNeon->correct, many->correct);
  EXPECT_EQ(onNeon->finalCorrect, many->finalCorrect);
}

}  // namespace
}  // namespace edgeopt
