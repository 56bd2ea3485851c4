// Test helper shared by the x86 and NEON kernel tests: the int8 output stage (bias +
// requantization + bounds) of a target kernel against ref::qs8_requantize_rows__scalar, bit for bit.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/ref/quant.h"

namespace edgeopt::kernels {

// Sweeps one output stage: rows x channels accumulators with per-channel multipliers drawn from
// realistic (M < 1) and extreme (M >= 1 with saturation, M ~ 2^-31) ranges, accumulators
// including the ends of int32 (where float(acc) rounds and the product leaves the int32 range). Out is the kernel's
// output type: uint8_t (uint8-stored, value + 128) or int8_t.
class RequantizeRowsTester {
 public:
  RequantizeRowsTester& rows(int64_t v) { rows_ = v; return *this; }
  RequantizeRowsTester& channels(int64_t v) { channels_ = v; return *this; }
  RequantizeRowsTester& withBias(bool v) { bias_ = v; return *this; }
  RequantizeRowsTester& relu(bool v) { relu_ = v; return *this; }
  // An upper bound below 127 too (a fused Clip / ReLU6).
  RequantizeRowsTester& clip(bool v) { clip_ = v; return *this; }
  RequantizeRowsTester& seed(uint32_t v) { seed_ = v; return *this; }
  // Only multipliers M in [2^-23, 1/2) (real layers' scales), no extreme ones.
  RequantizeRowsTester& typicalMultipliers(bool v) { typical_ = v; return *this; }

  template <typename Out>
  void test(void (*fn)(int64_t, int64_t, const int32_t*, const int32_t*, const ref::Requantization*,
                       const ref::QuantParams&, Out*)) const {
    std::mt19937 rng(seed_);
    std::uniform_int_distribution<int32_t> accD(-300000, 300000), zpD(-128, 127), kind(0, 9);
    std::uniform_real_distribution<double> small(1e-5, 0.99), large(1.0, 5000.0), tiny(1e-10, 1e-8),
        typical(std::ldexp(1.0, -23), 0.4999);
    std::vector<int32_t> acc(static_cast<size_t>(rows_ * channels_)), bias(static_cast<size_t>(channels_));
    for (auto& a : acc) a = kind(rng) == 0 ? (kind(rng) < 5 ? INT32_MAX - 5 : INT32_MIN + 5) : accD(rng);
    for (auto& b : bias) b = accD(rng) / 4;
    std::vector<ref::Requantization> rq(static_cast<size_t>(channels_));
    for (auto& r : rq) {
      const int k = kind(rng);
      r.scale = static_cast<float>(typical_ ? typical(rng) : k == 0 ? large(rng) : k == 1 ? tiny(rng) : small(rng));
    }
    ref::QuantParams q;
    q.output_zero_point = zpD(rng);
    if (relu_ || clip_) q.output_min = q.output_zero_point;
    if (clip_) q.output_max = std::min(127, q.output_zero_point + 60);
    const int32_t* b = bias_ ? bias.data() : nullptr;
    // Extreme accumulators plus a bias could overflow int32; the contract keeps acc + bias in range.
    if (b)
      for (size_t i = 0; i < acc.size(); ++i)
        acc[i] = static_cast<int32_t>(std::clamp<int64_t>(int64_t{acc[i]} + bias[i % static_cast<size_t>(channels_)],
                                                          INT32_MIN, INT32_MAX) -
                                      bias[i % static_cast<size_t>(channels_)]);
    std::vector<uint8_t> want(acc.size());
    ref::qs8_requantize_rows__scalar(rows_, channels_, acc.data(), b, rq.data(), q, want.data());
    std::vector<Out> got(acc.size() + 64, static_cast<Out>(0x5A));
    fn(rows_, channels_, acc.data(), b, rq.data(), q, got.data());
    for (size_t i = 0; i < want.size(); ++i) {
      const uint8_t asStored = std::is_same_v<Out, uint8_t> ? static_cast<uint8_t>(got[i]) : static_cast<uint8_t>(got[i] + 128);
      ASSERT_EQ(asStored, want[i]) << "index " << i << " (row " << i / channels_ << ", channel " << i % channels_
                                   << ") rows " << rows_ << " channels " << channels_ << " acc " << acc[i]
                                   << " multiplier " << rq[i % channels_].scale;
    }
    for (size_t i = want.size(); i < got.size(); ++i) ASSERT_EQ(got[i], static_cast<Out>(0x5A)) << "wrote past the end";
  }

 private:
  int64_t rows_ = 1, channels_ = 16;
  bool bias_ = true, relu_ = false, clip_ = false, typical_ = false;
  uint32_t seed_ = 1;
};

}  // namespace edgeopt::kernels
