// x86 kernels against their scalar twins in kernels/ref: bit-exact on tile edges and random shapes.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "kernels/ref/quant.h"
#include "kernels/x86/requantize.h"

namespace edgeopt::kernels {
namespace {

using RequantizeRowsFn = void (*)(int64_t, int64_t, const int32_t*, const int32_t*, const ref::Requantization*,
                                  const ref::QuantParams&, uint8_t*);

// Sweeps one output stage: rows x channels accumulators with per-channel multipliers drawn from
// realistic (M < 1) and extreme (M >= 1 with saturation, M ~ 2^-31) ranges.
class RequantizeRowsTester {
 public:
  RequantizeRowsTester& rows(int64_t v) { rows_ = v; return *this; }
  RequantizeRowsTester& channels(int64_t v) { channels_ = v; return *this; }
  RequantizeRowsTester& withBias(bool v) { bias_ = v; return *this; }
  RequantizeRowsTester& relu(bool v) { relu_ = v; return *this; }
  RequantizeRowsTester& seed(uint32_t v) { seed_ = v; return *this; }

  void test(RequantizeRowsFn fn) const {
    std::mt19937 rng(seed_);
    std::uniform_int_distribution<int32_t> accD(-300000, 300000), zpD(-128, 127), kind(0, 9);
    std::uniform_real_distribution<double> small(1e-5, 0.99), large(1.0, 5000.0), tiny(1e-10, 1e-8);
    std::vector<int32_t> acc(static_cast<size_t>(rows_ * channels_)), bias(static_cast<size_t>(channels_));
    for (auto& a : acc) a = kind(rng) == 0 ? (kind(rng) < 5 ? INT32_MAX - 5 : INT32_MIN + 5) : accD(rng);
    for (auto& b : bias) b = accD(rng) / 4;
    std::vector<ref::Requantization> rq(static_cast<size_t>(channels_));
    for (auto& r : rq) {
      const int k = kind(rng);
      r = ref::quantizeMultiplier(k == 0 ? large(rng) : k == 1 ? tiny(rng) : small(rng));
    }
    ref::QuantParams q;
    q.output_zero_point = zpD(rng);
    if (relu_) q.output_min = q.output_zero_point;
    std::vector<uint8_t> want(acc.size()), got(acc.size() + 64, 0xCD);
    const int32_t* b = bias_ ? bias.data() : nullptr;
    // Extreme accumulators plus a bias could overflow int32; the contract keeps acc + bias in range.
    if (b)
      for (size_t i = 0; i < acc.size(); ++i) acc[i] = std::clamp<int64_t>(int64_t{acc[i]} + bias[i % channels_], INT32_MIN, INT32_MAX) - bias[i % channels_];
    ref::qs8_requantize_rows__scalar(rows_, channels_, acc.data(), b, rq.data(), q, want.data());
    fn(rows_, channels_, acc.data(), b, rq.data(), q, got.data());
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(got[i], want[i]) << "index " << i << " (row " << i / channels_ << ", channel " << i % channels_
                                 << ") rows " << rows_ << " channels " << channels_ << " acc " << acc[i]
                                 << " multiplier " << rq[i % channels_].multiplier << " exponent "
                                 << rq[i % channels_].exponent;
    for (size_t i = want.size(); i < got.size(); ++i) ASSERT_EQ(got[i], 0xCD) << "wrote past the end";
  }

 private:
  int64_t rows_ = 1, channels_ = 16;
  bool bias_ = true, relu_ = false;
  uint32_t seed_ = 1;
};

TEST(KernelsX86Test, RequantizeRowsAvx512MatchesScalar) {
  if (!x86::hasAvx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  for (int64_t c : {1, 7, 15, 16, 17, 31, 32, 33, 64, 100})
    for (int64_t r : {1, 2, 5})
      for (bool bias : {false, true}) {
        RequantizeRowsTester().rows(r).channels(c).withBias(bias).relu(c % 2 == 0).seed(static_cast<uint32_t>(c * 10 + r)).test(x86::qs8_requantize_rows__avx512f);
      }
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> d(1, 300);
  for (int trial = 0; trial < 100; ++trial)
    RequantizeRowsTester().rows(d(rng) % 40 + 1).channels(d(rng)).seed(static_cast<uint32_t>(trial)).test(x86::qs8_requantize_rows__avx512f);
}

}  // namespace
}  // namespace edgeopt::kernels
