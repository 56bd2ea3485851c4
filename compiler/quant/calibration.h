// Activation range calibration for int8 quantization (kernels/ref/quant.h defines the encoding).
//
// TensorHistogram streams a tensor's values into exact min/max plus a histogram of a fixed number
// of bins over [-L, L]; when a value falls outside, L doubles and neighbouring bins merge, so
// memory is the same for ten samples or ten million. Calibrators turn it into the real range
// [lo, hi] that int8 covers:
//   minmax      the observed min and max
//   percentile  the (100-p)-th and p-th percentiles (p = 99.99 by default), at bin resolution
//   entropy     TensorRT's KL-divergence threshold (128 levels), found separately for the
//               negative and the positive side of zero with the zero bin left out (exact zeros
//               need no range), range [max(min, -T_neg), min(max, T_pos)]
//   mse         the symmetric clipping threshold T minimising the expected squared error of
//               int8 quantization over the histogram (rounding noise step^2/12 inside the
//               range, squared clipping distance outside), same range form
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "compiler/ir/status.h"

namespace edgeopt::quant {

enum class Calibrator { kMinMax, kPercentile, kEntropy, kMse };

StatusOr<Calibrator> parseCalibrator(const std::string& name);  // "minmax", "percentile", ...
const char* calibratorName(Calibrator c);

class TensorHistogram {
 public:
  // bins: even, >= 256. The default gives at least 2,048 bins over [0, max |x|] (TensorRT's
  // entropy calibration resolution), since the span is at most twice max |x|.
  explicit TensorHistogram(int bins = 8192);

  void observe(const float* values, int64_t n);  // NaN and infinities are ignored

  int64_t count() const { return count_; }
  float min() const { return min_; }
  float max() const { return max_; }
  float limit() const { return limit_; }  // histogram spans [-limit, limit]
  const std::vector<int64_t>& bins() const { return bins_; }

  // The range int8 should cover, by the calibrator. An empty histogram gives [0, 0].
  std::pair<float, float> range(Calibrator c, double percentile = 99.99) const;

 private:
  void grow(float magnitude);
  std::vector<int64_t> bins_;
  float limit_ = 0;
  float min_ = 0, max_ = 0;
  int64_t count_ = 0;
};

struct AffineQuant {
  float scale = 1.0f;
  int32_t zeroPoint = 0;  // in [-128, 127]
};

// int8 asymmetric parameters covering [lo, hi] widened to include 0 (so that 0 is exact).
AffineQuant chooseInt8(float lo, float hi);

}  // namespace edgeopt::quant
