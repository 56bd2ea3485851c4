#include "compiler/quant/calibration.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/ref/quant.h"

namespace edgeopt::quant {
namespace {

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

TEST(CalibrationTest, HistogramKeepsCountsAndBoundsAsItGrows) {
  TensorHistogram h(512);
  std::vector<float> small = {0.001f, -0.002f, 0.0f};
  h.observe(small.data(), 3);
  auto big = gaussian(100000, 1, 10.0f);
  h.observe(big.data(), static_cast<int64_t>(big.size()));
  const float nanInf[] = {NAN, INFINITY, -INFINITY};
  h.observe(nanInf, 3);
  int64_t total = 0;
  for (int64_t c : h.bins()) total += c;
  EXPECT_EQ(total, 100003);
  EXPECT_EQ(h.count(), 100003);
  EXPECT_EQ(h.bins().size(), 512u);  // memory does not grow with the data
  EXPECT_GE(h.limit(), std::max(std::fabs(h.min()), std::fabs(h.max())));
  EXPECT_EQ(h.range(Calibrator::kMinMax), std::make_pair(h.min(), h.max()));
}

TEST(CalibrationTest, PercentileIgnoresOutliersMinMaxDoesNot) {
  auto v = gaussian(200000, 2);
  v.push_back(1000.0f);
  v.push_back(-800.0f);
  TensorHistogram h;
  h.observe(v.data(), static_cast<int64_t>(v.size()));
  const auto mm = h.range(Calibrator::kMinMax);
  EXPECT_FLOAT_EQ(mm.first, -800.0f);
  EXPECT_FLOAT_EQ(mm.second, 1000.0f);
  const auto p = h.range(Calibrator::kPercentile, 99.9);
  // 99.9th percentile of N(0,1) is 3.09; bins are 1800/2048 wide here... so allow one bin.
  const double bin = 2.0 * h.limit() / h.bins().size();
  EXPECT_NEAR(p.second, 3.09, bin + 0.2);
  EXPECT_NEAR(p.first, -3.09, bin + 0.2);
}

double measuredMse(const std::vector<float>& v, std::pair<float, float> r) {
  const AffineQuant q = chooseInt8(r.first, r.second);
  double e = 0;
  for (float x : v) {
    const float d = x - kernels::ref::qs8_dequantize(kernels::ref::qs8_quantize(x, q.scale, q.zeroPoint), q.scale, q.zeroPoint);
    e += static_cast<double>(d) * d;
  }
  return e;
}

TEST(CalibrationTest, EntropyClipsGaussianTails) {
  auto v = gaussian(200000, 3);
  v.push_back(40.0f);  // one outlier stretches the max almost tenfold
  TensorHistogram h;
  h.observe(v.data(), static_cast<int64_t>(v.size()));
  const auto r = h.range(Calibrator::kEntropy);
  EXPECT_GT(r.second, 2.0f);
  EXPECT_LT(r.second, 8.0f);
  EXPECT_LT(r.first, -2.0f);
  // Non-negative data keeps a non-negative range under every calibrator.
  std::vector<float> relu = v;
  for (auto& x : relu) x = std::max(0.0f, x);
  TensorHistogram hr;
  hr.observe(relu.data(), static_cast<int64_t>(relu.size()));
  for (Calibrator c : {Calibrator::kMinMax, Calibrator::kPercentile, Calibrator::kEntropy, Calibrator::kMse})
    EXPECT_GE(hr.range(c).first, 0.0f) << calibratorName(c);
}

// A spike on one side of zero (normalized image background, -0.81 here) must not clip the other
// side, and the exact zeros of a ReLU output must not pull the threshold down.
TEST(CalibrationTest, EntropyTreatsEachSideOfZeroSeparately) {
  std::mt19937 rng(6);
  std::uniform_real_distribution<float> pos(0.0f, 2.0f);
  std::vector<float> v;
  for (int i = 0; i < 60000; ++i) v.push_back(-0.81f);
  for (int i = 0; i < 40000; ++i) v.push_back(pos(rng));
  TensorHistogram h;
  h.observe(v.data(), static_cast<int64_t>(v.size()));
  const auto r = h.range(Calibrator::kEntropy);
  EXPECT_FLOAT_EQ(r.first, -0.81f);
  EXPECT_GT(r.second, 1.5f);
  std::vector<float> relu(80000, 0.0f);
  for (int i = 0; i < 20000; ++i) relu.push_back(pos(rng) * 3);
  TensorHistogram hr;
  hr.observe(relu.data(), static_cast<int64_t>(relu.size()));
  EXPECT_GT(hr.range(Calibrator::kEntropy).second, 4.5f);
}

// The MSE calibrator minimises (its estimate of) exactly the error measured here, so on the data
// it saw it must do at least as well as every other calibrator (2% slack for the estimate).
TEST(CalibrationTest, MseRangeHasTheLowestMeasuredError) {
  for (uint32_t seed : {4u, 5u}) {
    auto v = gaussian(100000, seed);
    for (int i = 0; i < 20; ++i) v.push_back(static_cast<float>(8 + i));  // a tail of outliers
    TensorHistogram h;
    h.observe(v.data(), static_cast<int64_t>(v.size()));
    const double mse = measuredMse(v, h.range(Calibrator::kMse));
    for (Calibrator c : {Calibrator::kMinMax, Calibrator::kPercentile, Calibrator::kEntropy})
      EXPECT_LE(mse, 1.02 * measuredMse(v, h.range(c))) << calibratorName(c);
  }
}

TEST(CalibrationTest, ChooseInt8RepresentsZeroExactly) {
  for (auto [lo, hi] : std::vector<std::pair<float, float>>{{-1.3f, 2.7f}, {0.5f, 4.0f}, {-3.0f, -1.0f}, {0, 0}}) {
    const AffineQuant q = chooseInt8(lo, hi);
    EXPECT_GE(q.zeroPoint, -128);
    EXPECT_LE(q.zeroPoint, 127);
    EXPECT_EQ(kernels::ref::qs8_dequantize(kernels::ref::qs8_quantize(0.0f, q.scale, q.zeroPoint), q.scale, q.zeroPoint), 0.0f);
  }
  EXPECT_FALSE(parseCalibrator("kl").ok());
  EXPECT_EQ(parseCalibrator("entropy").value(), Calibrator::kEntropy);
}

}  // namespace
}  // namespace edgeopt::quant
