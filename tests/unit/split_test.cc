// edgeopt split: the search against brute force, the tensors a cut sends against what the
// extracted parts actually exchange, composition of the parts, int8 cuts of a QDQ model.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "api/edgeopt.h"
#include "api/optimize.h"
#include "api/quantize.h"
#include "api/split.h"

namespace edgeopt {
namespace {

const std::string kZoo = std::string(EDGEOPT_SOURCE_DIR) + "/tools/zoo/models/";

ir::Model cleaned(const std::string& file) {
  auto m = api::loadModel(kZoo + file);
  EXPECT_TRUE(m.ok()) << m.status().message();
  api::OptimizeReport r;
  EXPECT_TRUE(api::optimize(m.value(), {}, &r).ok());
  return std::move(m.value());
}

ir::Model quantizedResnet() {
  ir::Model m = cleaned("resnet_fm.onnx");
  api::QuantizeOptions q;
  q.calib.path = std::string(EDGEOPT_SOURCE_DIR) + "/calib_data/fashion_mnist_500";
  q.calib.preprocess = "channels=gray,scale=1/255,mean=0.2860,std=0.3530";
  q.calib.limit = 32;
  q.threads = 1;
  api::QuantizeReport report;
  const Status st = api::quantizeModel(m, q, &report);
  EXPECT_TRUE(st.ok()) << st.message();
  return m;
}

TEST(SplitTest, SearchEqualsBruteForceOnRandomCostsAndLinks) {
  for (const char* file : {"resnet_fm.onnx", "mobilenet_v2_fm.onnx"}) {
    const ir::Model model = cleaned(file);
    auto g = api::analyseSplit(model, {});
    ASSERT_TRUE(g.ok()) << g.status().message();
    const size_t n = g->nodes.size();
    ASSERT_GT(n, 10u);
    std::mt19937 rng(42);
    std::uniform_real_distribution<double> ms(0.0, 2.0), logMbps(-1, 4), rtt(0, 10);
    int identicalCuts = 0;
    const int trials = 300;
    for (int trial = 0; trial < trials; ++trial) {
      const size_t tiers = 2 + trial % 2;
      api::TierCosts costs(tiers, std::vector<double>(n));
      for (auto& tier : costs)
        for (double& c : tier) c = trial % 5 == 0 ? std::floor(ms(rng) * 2) / 2 : ms(rng);  // every 5th: many exact ties
      std::vector<api::Link> links(tiers - 1);
      for (auto& l : links) l = {std::pow(10.0, logMbps(rng)), rtt(rng)};
      // Every third trial as a model with exits: the share of samples still running falls at
      // random points.
      api::SplitGraph sg = *g;
      if (trial % 3 == 1) {
        sg.survival.assign(n + 1, 1.0);
        std::uniform_int_distribution<size_t> point(1, n - 1);
        for (int e = 0; e < 3; ++e) {
          const size_t at = point(rng);
          const double rate = ms(rng) / 8;
          for (size_t k = at; k <= n; ++k) sg.survival[k] = std::max(0.0, sg.survival[k] - rate);
        }
      }
      const api::SplitChoice best = api::bestSplit(sg, costs, links);
      const api::SplitChoice brute = api::bruteForceSplit(sg, costs, links);
      ASSERT_NEAR(best.totalMs, brute.totalMs, 1e-9 * std::max(1.0, brute.totalMs)) << file << " trial " << trial;
      // The search's cuts cost what it says (evaluated by the one cost model).
      ASSERT_NEAR(api::evaluateSplit(sg, costs, links, best.cuts).totalMs, best.totalMs, 1e-12 * std::max(1.0, best.totalMs));
      identicalCuts += best.cuts == brute.cuts;
    }
    // Ties aside, the two pick the same cuts.
    EXPECT_GE(identicalCuts, trials * 3 / 4) << file;
  }
}

TEST(SplitTest, CutTensorsAreWhatThePartsExchangeAndPartsComposeToTheWhole) {
  for (const char* file : {"resnet_fm.onnx", "mobilenet_v2_fm.onnx"}) {
    const ir::Model model = cleaned(file);
    auto g = api::analyseSplit(model, {});
    ASSERT_TRUE(g.ok());
    const int n = static_cast<int>(g->nodes.size());
    int skipCuts = 0;
    for (int k = 0; k < n; ++k) {
      auto parts = api::extractParts(model, {k});
      ASSERT_TRUE(parts.ok()) << parts.status().message();
      ASSERT_EQ(parts->size(), k == 0 ? 1u : 2u);
      const ir::Graph& after = *parts->back().graph;
      std::set<std::string> received, expected(g->cutTensors[k].begin(), g->cutTensors[k].end());
      for (const ir::Value* v : after.inputs()) received.insert(v->name());
      EXPECT_EQ(received, expected) << file << " cut " << k;
      if (k > 0) {
        std::set<std::string> sent;
        for (const ir::Value* v : parts->front().graph->outputs()) sent.insert(v->name());
        EXPECT_EQ(sent, expected) << file << " cut " << k;
      }
      skipCuts += expected.size() > 1;
      const Status composed = api::checkComposition(model, parts.value(), {});
      ASSERT_TRUE(composed.ok()) << file << " cut " << k << ": " << composed.message();
    }
    // Residual blocks: some cuts lie inside a skip connection and send two tensors.
    EXPECT_GT(skipCuts, 0) << file;
    // Three tiers, every pair of cuts on a stride.
    for (int a = 0; a <= n; a += 3)
      for (int b = a; b <= n; b += 4) {
        auto parts = api::extractParts(model, {a, b});
        ASSERT_TRUE(parts.ok());
        const Status composed = api::checkComposition(model, parts.value(), {});
        ASSERT_TRUE(composed.ok()) << file << " cuts " << a << "," << b << ": " << composed.message();
      }
  }
}

TEST(SplitTest, CutsOfAQdqModelSendInt8Tensors) {
  const ir::Model model = quantizedResnet();
  auto g = api::analyseSplit(model, {});
  ASSERT_TRUE(g.ok()) << g.status().message();
  const int n = static_cast<int>(g->nodes.size());
  int int8Cuts = 0, allowedCuts = 0;
  for (int k = 1; k < n; ++k) {
    allowedCuts += g->cutAllowed[k];
    bool allInt8 = g->cutAllowed[k];
    for (const auto& name : g->cutTensors[k]) {
      const ir::Value* v = model.graph->findValue(name);
      ASSERT_NE(v, nullptr);
      allInt8 = allInt8 && (v->dtype() == ir::DType::kInt8 || v->dtype() == ir::DType::kUInt8);
    }
    int8Cuts += allInt8;
    auto parts = api::extractParts(model, {k});
    ASSERT_TRUE(parts.ok());
    const Status composed = api::checkComposition(model, parts.value(), {});
    ASSERT_TRUE(composed.ok()) << "cut " << k << ": " << composed.message();
  }
  // Between quantized layers a cut sends the int8 tensor (1 byte per element), not its decoding;
  // a cut between an op and its QuantizeLinear (a float the int8 model never holds) is not offered.
  EXPECT_EQ(allowedCuts, (n - 1) / 2);
  EXPECT_EQ(int8Cuts, allowedCuts);
}

// With exits the cost model is an expectation: a node's cost and a cut's sends (and the result's
// return) count for the share of samples still running there.
TEST(SplitTest, ExitsWeighComputeAndTransferBySurvival) {
  api::SplitGraph g;
  g.nodes = {"a", "b", "c"};
  g.ops = {"Conv", "Conv", "Gemm"};
  g.cutTensors = {{"x"}, {"ya"}, {"yb"}};
  g.cutBytes = {1000, 2000, 500};
  g.cutAllowed = {true, true, true};
  g.resultBytes = 40;
  g.survival = {1.0, 0.6, 0.6, 0.5};  // 40 % leave after a, 10 % more after b
  const api::TierCosts costs = {{1.0, 2.0, 4.0}, {0.1, 0.2, 0.4}};
  const std::vector<api::Link> links = {{8.0, 1.0}};  // 1 byte = 0.001 ms
  const api::SplitChoice c = api::evaluateSplit(g, costs, links, {1});
  ASSERT_EQ(c.computeMs.size(), 2u);
  EXPECT_DOUBLE_EQ(c.computeMs[0], 1.0);
  EXPECT_DOUBLE_EQ(c.computeMs[1], 0.6 * 0.2 + 0.6 * 0.4);
  EXPECT_DOUBLE_EQ(c.transferMs[0], 0.6 * ((1.0 + 2.0) + (1.0 + 0.04)));
  const api::SplitChoice device = api::evaluateSplit(g, costs, links, {3});
  EXPECT_DOUBLE_EQ(device.totalMs, 1.0 + 0.6 * 2.0 + 0.6 * 4.0);
}

TEST(SplitTest, LinkCostIsRttPlusBytesOverBandwidth) {
  const api::Link link{8.0, 3.0};  // 8 Mbit/s: 1 MB takes 1000 ms
  EXPECT_DOUBLE_EQ(link.transferMs(1000000), 1003.0);
  EXPECT_DOUBLE_EQ(link.transferMs(0), 3.0);
}

}  // namespace
}  // namespace edgeopt
