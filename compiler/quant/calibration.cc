#include "compiler/quant/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace edgeopt::quant {

StatusOr<Calibrator> parseCalibrator(const std::string& name) {
  if (name == "minmax") return Calibrator::kMinMax;
  if (name == "percentile") return Calibrator::kPercentile;
  if (name == "entropy") return Calibrator::kEntropy;
  if (name == "mse") return Calibrator::kMse;
  return invalidInput("unknown calibrator '" + name + "' (minmax, percentile, entropy, mse)");
}

const char* calibratorName(Calibrator c) {
  switch (c) {
    case Calibrator::kMinMax: return "minmax";
    case Calibrator::kPercentile: return "percentile";
    case Calibrator::kEntropy: return "entropy";
    case Calibrator::kMse: return "mse";
  }
  return "?";
}

TensorHistogram::TensorHistogram(int bins) : bins_(static_cast<size_t>(std::max(256, bins + bins % 2)), 0) {}

void TensorHistogram::grow(float magnitude) {
  if (limit_ == 0) {
    limit_ = std::max(magnitude, std::numeric_limits<float>::min());
    return;
  }
  const size_t b = bins_.size();
  while (magnitude > limit_) {
    // [-L, L] -> [-2L, 2L]: old bins pair up into the middle half of the new range.
    std::vector<int64_t> merged(b, 0);
    for (size_t i = 0; i < b; ++i) merged[b / 4 + i / 2] += bins_[i];
    bins_.swap(merged);
    limit_ *= 2;
  }
}

void TensorHistogram::observe(const float* v, int64_t n) {
  const size_t b = bins_.size();
  double binsPerUnit = limit_ > 0 ? static_cast<double>(b) / (2.0 * limit_) : 0;  // recomputed when the range grows
  for (int64_t i = 0; i < n; ++i) {
    const float x = v[i];
    if (!std::isfinite(x)) continue;
    if (count_ == 0) min_ = max_ = x;
    min_ = std::min(min_, x);
    max_ = std::max(max_, x);
    ++count_;
    if (std::fabs(x) > limit_ || limit_ == 0) {
      grow(std::fabs(x));
      binsPerUnit = static_cast<double>(b) / (2.0 * limit_);
    }
    const double pos = (static_cast<double>(x) + limit_) * binsPerUnit;
    bins_[std::min(b - 1, static_cast<size_t>(std::max(0.0, pos)))]++;
  }
}

namespace {

double binWidth(const TensorHistogram& h) { return 2.0 * h.limit() / static_cast<double>(h.bins().size()); }

// TensorRT's entropy calibration on a |x| histogram; returns the threshold bin count.
size_t klThresholdBins(const std::vector<double>& hist, size_t levels) {
  const size_t n = hist.size();
  size_t best = n;
  double bestKl = std::numeric_limits<double>::infinity();
  for (size_t i = levels; i <= n; ++i) {
    std::vector<double> p(hist.begin(), hist.begin() + static_cast<long>(i));
    for (size_t j = i; j < n; ++j) p[i - 1] += hist[j];  // clipped outliers land in the last bin
    // Q: p's first i bins merged into `levels` buckets, spread back over the non-empty bins.
    std::vector<double> q(i, 0);
    for (size_t l = 0; l < levels; ++l) {
      const size_t a = l * i / levels, e = (l + 1) * i / levels;
      double sum = 0;
      size_t nonzero = 0;
      for (size_t j = a; j < e; ++j) {
        sum += hist[j];
        nonzero += hist[j] > 0;
      }
      for (size_t j = a; j < e; ++j)
        if (hist[j] > 0) q[j] = sum / static_cast<double>(nonzero);
    }
    double ps = 0, qs = 0;
    for (size_t j = 0; j < i; ++j) {
      ps += p[j];
      qs += q[j];
    }
    if (ps == 0 || qs == 0) continue;
    double kl = 0;
    for (size_t j = 0; j < i; ++j) {
      if (p[j] == 0) continue;
      const double pj = p[j] / ps, qj = q[j] > 0 ? q[j] / qs : 1e-12;
      kl += pj * std::log(pj / qj);
    }
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  }
  return best;
}

// Expected squared int8 quantization error over the histogram for the range [lo, hi]: values
// inside the range carry uniform rounding noise (step^2 / 12), values outside it the distance to
// the range (clipping), taking each bin's values at its center.
double quantizationMse(const TensorHistogram& h, float lo, float hi) {
  const AffineQuant q = chooseInt8(lo, hi);
  const double w = binWidth(h);
  const double rounding = static_cast<double>(q.scale) * q.scale / 12.0;
  const double qlo = (-128.0 - q.zeroPoint) * q.scale, qhi = (127.0 - q.zeroPoint) * q.scale;
  double err = 0;
  for (size_t i = 0; i < h.bins().size(); ++i) {
    const int64_t c = h.bins()[i];
    if (!c) continue;
    const double x = -h.limit() + (static_cast<double>(i) + 0.5) * w;
    const double d = x < qlo ? qlo - x : x > qhi ? x - qhi : 0.0;
    err += static_cast<double>(c) * (d > 0 ? d * d : rounding);
  }
  return err;
}

}  // namespace

std::pair<float, float> TensorHistogram::range(Calibrator c, double percentile) const {
  if (count_ == 0) return {0.0f, 0.0f};
  if (c == Calibrator::kMinMax) return {min_, max_};
  const double w = binWidth(*this);
  if (c == Calibrator::kPercentile) {
    const double tail = static_cast<double>(count_) * (100.0 - percentile) / 100.0;
    double seen = 0;
    size_t loBin = 0, hiBin = bins_.size() - 1;
    for (size_t i = 0; i < bins_.size(); ++i) {
      seen += static_cast<double>(bins_[i]);
      if (seen > tail) { loBin = i; break; }
    }
    seen = 0;
    for (size_t i = bins_.size(); i-- > 0;) {
      seen += static_cast<double>(bins_[i]);
      if (seen > tail) { hiBin = i; break; }
    }
    const float lo = static_cast<float>(-limit_ + static_cast<double>(loBin) * w);
    const float hi = static_cast<float>(-limit_ + static_cast<double>(hiBin + 1) * w);
    return {std::max(min_, lo), std::min(max_, hi)};
  }
  float t = 0;
  if (c == Calibrator::kEntropy) {
    // Each side of zero gets its own threshold (activations are asymmetric: a spike of background
    // values on one side must not clip the other), with half of the 256 levels each.
    auto side = [&](bool positive) {
      const size_t half = bins_.size() / 2;
      std::vector<double> mags(half, 0);
      for (size_t i = 0; i < half; ++i) mags[i] = static_cast<double>(bins_[positive ? half + i : half - 1 - i]);
      // The first bin holds the exact zeros of post-ReLU tensors (often most of them): zero is
      // represented exactly whatever the threshold, so it must not steer the distribution match.
      mags[0] = 0;
      double mass = 0;
      for (double m : mags) mass += m;
      if (mass == 0) return 0.0f;
      return static_cast<float>((static_cast<double>(klThresholdBins(mags, 128)) + 0.5) * w);
    };
    return {std::max(min_, -side(false)), std::min(max_, side(true))};
  }
  {  // kMse: scan thresholds at 1/256 steps of the histogram's span
    double best = std::numeric_limits<double>::infinity();
    const float top = std::max(std::fabs(min_), std::fabs(max_));
    for (int k = 1; k <= 256; ++k) {
      const float cand = top * static_cast<float>(k) / 256.0f;
      const double e = quantizationMse(*this, std::max(min_, -cand), std::min(max_, cand));
      if (e < best) {
        best = e;
        t = cand;
      }
    }
  }
  return {std::max(min_, -t), std::min(max_, t)};
}

AffineQuant chooseInt8(float lo, float hi) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  AffineQuant q;
  if (hi - lo <= 0) return q;
  q.scale = (hi - lo) / 255.0f;
  q.zeroPoint = static_cast<int32_t>(std::clamp(std::nearbyint(-128.0 - lo / q.scale), -128.0, 127.0));
  return q;
}

}  // namespace edgeopt::quant
