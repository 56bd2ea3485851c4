// The trained example zoo (tools/zoo/models): every model, evaluated by edgeopt, predicts exactly
// what PyTorch predicted at training time, sample by sample — on the bundled 500-image PNG subset
// (always) and on the full 10,000-image Fashion-MNIST test set from its IDX files (when Debian's
// dataset-fashion-mnist is installed) — and the optimized model predicts the same.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "api/evaluate.h"
#include "api/optimize.h"
#include "compiler/data/npy.h"
#include "compiler/onnx/onnx_io.h"

namespace edgeopt {
namespace {
namespace fs = std::filesystem;

const fs::path kZoo = fs::path(EDGEOPT_SOURCE_DIR) / "tools/zoo/models";
const fs::path kFashion = "/usr/share/datasets/fashion-mnist";

nlohmann::json manifest() {
  std::ifstream in(kZoo / "manifest.json");
  return nlohmann::json::parse(in);
}

std::vector<int64_t> torchPredictions(const nlohmann::json& entry) {
  auto t = data::readNpy((kZoo / entry["torch_predictions"].get<std::string>()).string());
  EXPECT_TRUE(t.ok());
  return t.ok() ? t->toInt64Vector() : std::vector<int64_t>{};
}

api::EvalResult evaluateOrFail(const ir::Model& model, const data::DataOptions& d) {
  api::EvalOptions o;
  o.data = d;
  o.batchSize = 100;
  o.keepPredictions = true;
  auto r = api::evaluate(model, o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r.value() : api::EvalResult{};
}

size_t mismatches(const std::vector<int64_t>& a, const std::vector<int64_t>& b, size_t n) {
  size_t m = 0;
  for (size_t i = 0; i < n; ++i) m += a[i] != b[i];
  return m;
}

TEST(ZooTest, BundledSubsetMatchesTorchSampleBySample) {
  const auto m = manifest();
  ASSERT_GE(m["models"].size(), 3u);
  for (const auto& [name, entry] : m["models"].items()) {
    SCOPED_TRACE(name);
    auto model = onnx_io::importModel((kZoo / entry["file"].get<std::string>()).string());
    ASSERT_TRUE(model.ok()) << model.status().message();
    data::DataOptions d;
    d.path = (fs::path(EDGEOPT_SOURCE_DIR) / "calib_data/fashion_mnist_500").string();
    d.preprocess = "channels=gray," + entry["preprocess"].get<std::string>();
    const auto r = evaluateOrFail(model.value(), d);
    ASSERT_EQ(r.samples, 500);
    EXPECT_EQ(mismatches(r.predictions, torchPredictions(entry), 500), 0u);
    // The cleanup pipeline does not change a single prediction.
    api::OptimizeReport report;
    ASSERT_TRUE(api::optimize(model.value(), {}, &report).ok());
    EXPECT_LT(report.nodesAfter, report.nodesBefore);
    EXPECT_EQ(report.opsAfter.count("BatchNormalization"), 0u);
    const auto o = evaluateOrFail(model.value(), d);
    EXPECT_EQ(mismatches(o.predictions, torchPredictions(entry), 500), 0u);
  }
}

TEST(ZooTest, FullTestSetAccuracyEqualsTorch) {
  if (!fs::exists(kFashion / "t10k-images-idx3-ubyte.gz")) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const auto m = manifest();
  for (const auto& [name, entry] : m["models"].items()) {
    SCOPED_TRACE(name);
    auto model = onnx_io::importModel((kZoo / entry["file"].get<std::string>()).string());
    ASSERT_TRUE(model.ok()) << model.status().message();
    data::DataOptions d;
    d.path = (kFashion / "t10k-images-idx3-ubyte.gz").string();
    d.labelsPath = (kFashion / "t10k-labels-idx1-ubyte.gz").string();
    d.preprocess = entry["preprocess"].get<std::string>();
    const auto r = evaluateOrFail(model.value(), d);
    ASSERT_EQ(r.samples, 10000);
    EXPECT_EQ(r.top1Correct, entry["test_correct"].get<int64_t>());
    EXPECT_EQ(mismatches(r.predictions, torchPredictions(entry), 10000), 0u);
  }
}

}  // namespace
}  // namespace edgeopt
