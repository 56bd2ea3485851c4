// x86 kernels against their scalar twins in kernels/ref: bit-exact on tile edges and random shapes.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/ref/layout.h"
#include "kernels/ref/pool.h"
#include "kernels/ref/quant.h"
#include "kernels/x86/dwconv.h"
#include "kernels/x86/gemm.h"
#include "kernels/x86/requantize.h"
#include "tests/unit/requantize_tester.h"

namespace edgeopt::kernels {
namespace {

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
    RequantizeRowsTester().rows(d(rng) % 40 + 1).channels(d(rng)).seed(static_cast<uint32_t>(trial)).test<uint8_t>(x86::qs8_requantize_rows__avx512f);
}

// The prepared output stage, through the tester's function-pointer interface.
void preparedRequantize(int64_t rows, int64_t channels, const int32_t* acc, const int32_t* bias,
                        const ref::Requantization* requant, const ref::QuantParams& q, uint8_t* y) {
  x86::Requantizer(channels, bias, requant, q).run(rows, acc, y);
}

TEST(KernelsX86Test, PreparedRequantizerMatchesScalar) {
  if (!x86::hasAvx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  uint32_t seed = 1;
  // Typical multipliers, and mixed draws with multipliers >= 1 (saturating, float(acc) rounding
  // at the ends of int32) and tiny ones next to typical groups.
  for (bool typical : {true, false})
    for (int64_t c : {1, 7, 15, 16, 17, 31, 32, 33, 64, 100})
      for (int64_t r : {1, 2, 5})
        for (int bounds = 0; bounds < 3; ++bounds)
          for (bool bias : {false, true})
            RequantizeRowsTester().rows(r).channels(c).withBias(bias).relu(bounds == 1).clip(bounds == 2)
                .typicalMultipliers(typical).seed(seed++).test(preparedRequantize);
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> d(1, 300);
  for (int trial = 0; trial < 100; ++trial)
    RequantizeRowsTester().rows(d(rng) % 40 + 1).channels(d(rng)).typicalMultipliers(trial % 2 == 0).relu(trial % 3 == 0)
        .seed(static_cast<uint32_t>(trial)).test(preparedRequantize);
}

std::vector<uint8_t> randomBytes(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> d(0, 255);
  std::vector<uint8_t> v(n);
  for (auto& x : v) x = static_cast<uint8_t>(d(rng));
  return v;
}

// uint8 NHWC max pooling against ref::u8_maxpool__scalar (NCHW): channel counts around the
// 64-byte vector, kernels 1-4, strides 1-3, pads 0-2 and output sizes as ceil mode makes them
// (windows partly outside the input).
TEST(KernelsX86Test, MaxPoolNhwcMatchesScalar) {
  if (!x86::hasAvx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::mt19937 rng(41);
  std::uniform_int_distribution<int> k(1, 4), s(1, 3), size(1, 13);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t channelChoices[] = {1, 3, 16, 63, 64, 65, 130};
    ref::PoolParams p;
    p.channels = channelChoices[trial % 7];
    for (int ax = 1; ax < 3; ++ax) {
      p.kernel[ax] = k(rng), p.stride[ax] = s(rng);
      p.pad_begin[ax] = std::uniform_int_distribution<int64_t>(0, p.kernel[ax] - 1)(rng);
      p.in[ax] = size(rng) + p.kernel[ax];
      p.padded_end[ax] = p.in[ax] + 2 * p.pad_begin[ax];
      const int64_t span = p.padded_end[ax] - p.kernel[ax];  // as ceil mode makes the output size, or floor
      p.out[ax] = (trial % 2 == 1 ? (span + p.stride[ax] - 1) / p.stride[ax] : span / p.stride[ax]) + 1;
    }
    const int64_t inPixels = p.in[1] * p.in[2], outPixels = p.out[1] * p.out[2];
    const auto x = randomBytes(rng, static_cast<size_t>(inPixels * p.channels));
    std::vector<uint8_t> nchw(x.size()), want(static_cast<size_t>(outPixels * p.channels));
    for (int64_t c = 0; c < p.channels; ++c)
      for (int64_t i = 0; i < inPixels; ++i) nchw[static_cast<size_t>(c * inPixels + i)] = x[static_cast<size_t>(i * p.channels + c)];
    ref::u8_maxpool__scalar(p, nchw.data(), want.data(), nullptr);
    std::vector<uint8_t> got(want.size() + 64, 0xCD);
    x86::u8_maxpool_nhwc__avx512bw(p, x.data(), got.data());
    for (int64_t c = 0; c < p.channels; ++c)
      for (int64_t o = 0; o < outPixels; ++o)
        ASSERT_EQ(got[static_cast<size_t>(o * p.channels + c)], want[static_cast<size_t>(c * outPixels + o)])
            << "trial " << trial << " channel " << c << " output " << o;
    for (size_t i = want.size(); i < got.size(); ++i) ASSERT_EQ(got[i], 0xCD) << "wrote past the end";
  }
}

// The output stage with a fused Add equals the output stage, stored, then ref::qu8_add__scalar:
// channel counts around the 16-lane groups, bounds on both stages, the layer's result as either
// operand (weights swapped), ratios that saturate.
TEST(KernelsX86Test, RequantizerWithFusedAddMatchesRequantizeThenAdd) {
  if (!x86::hasAvx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::mt19937 rng(31);
  std::uniform_int_distribution<int32_t> accD(-200000, 200000), zp(-128, 127);
  std::uniform_real_distribution<float> m(1e-5f, 2e-3f), ratio(0.05f, 3.0f);
  int trial = 0;
  for (int64_t C : {1, 15, 16, 17, 64, 70, 130})
    for (int64_t rows : {1, 3, 8}) {
      ++trial;
      std::vector<int32_t> acc(static_cast<size_t>(rows * C)), bias(static_cast<size_t>(C));
      for (auto& a : acc) a = accD(rng);
      for (auto& b : bias) b = accD(rng) / 10;
      std::vector<ref::Requantization> rq(static_cast<size_t>(C));
      for (auto& r : rq) r.scale = m(rng);
      ref::QuantParams q;
      q.output_zero_point = zp(rng);
      if (trial % 2) q.output_min = q.output_zero_point;
      const auto skip = randomBytes(rng, acc.size());
      x86::Requantizer::ResidualAdd add;
      ASSERT_TRUE(ref::quantizeAddMultipliers(trial % 5 == 0 ? 300.0f : ratio(rng), ratio(rng), &add.add));
      add.a_zero_point = zp(rng) + 128;
      add.b_zero_point = zp(rng) + 128;
      ref::QuantParams addQ;
      addQ.output_zero_point = zp(rng);
      if (trial % 3 == 0) addQ.output_min = addQ.output_zero_point;
      add.q = ref::toUint8Domain(addQ);
      const x86::Requantizer requantizer(C, bias.data(), rq.data(), q);
      std::vector<uint8_t> stage(acc.size()), want(acc.size()), got(acc.size() + 32, 0xCD);
      ref::qs8_requantize_rows__scalar(rows, C, acc.data(), bias.data(), rq.data(), q, stage.data());
      ref::qu8_add__scalar(static_cast<int64_t>(acc.size()), stage.data(), add.a_zero_point, skip.data(), add.b_zero_point,
                           add.add, add.q, want.data());
      requantizer.runWithAdd(rows, acc.data(), skip.data(), add, got.data());
      for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << "C " << C << " rows " << rows << " index " << i;
      for (size_t i = want.size(); i < got.size(); ++i) ASSERT_EQ(got[i], 0xCD) << "wrote past the end";
    }
}

// uint8-stored NHWC data of one image ([pixels][channels]) as the int8 NCHW the reference reads.
std::vector<int8_t> int8Nchw(const std::vector<uint8_t>& nhwc, int64_t channels) {
  const int64_t pixels = static_cast<int64_t>(nhwc.size()) / channels;
  std::vector<int8_t> nchw(nhwc.size());
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < pixels; ++i)
      nchw[static_cast<size_t>(c * pixels + i)] = static_cast<int8_t>(nhwc[static_cast<size_t>(i * channels + c)] - 128);
  return nchw;
}

// The parameters of a random int8 layer with `channels` output channels of `perChannel` weights
// each ([channels][perChannel], in [-127, 127]): bias in [-biasRange, biasRange], multipliers
// uniform in [multiplierLo, multiplierHi], random zero points, and bounds 0: none, 1: a fused ReLU
// (min = output zero point), 2: also a Clip (max = output zero point + clipRange, at most 127).
struct RandomInt8Layer {
  std::vector<int8_t> w;
  std::vector<int32_t> bias;
  std::vector<ref::Requantization> requant;
  ref::QuantParams q;

  RandomInt8Layer(std::mt19937& rng, int64_t channels, int64_t perChannel, int bounds, int clipRange, int biasRange,
                  double multiplierLo, double multiplierHi) {
    std::uniform_int_distribution<int> wd(-127, 127), zp(-128, 127), bd(-biasRange, biasRange);
    std::uniform_real_distribution<double> md(multiplierLo, multiplierHi);
    w.resize(static_cast<size_t>(channels * perChannel));
    for (auto& v : w) v = static_cast<int8_t>(wd(rng));
    bias.resize(static_cast<size_t>(channels));
    for (auto& v : bias) v = bd(rng);
    for (int64_t c = 0; c < channels; ++c) requant.push_back(ref::Requantization{static_cast<float>(md(rng))});
    q.input_zero_point = zp(rng);
    q.output_zero_point = zp(rng);
    if (bounds >= 1) q.output_min = q.output_zero_point;
    if (bounds == 2) q.output_max = std::min(127, q.output_zero_point + clipRange);
  }

  // The input zero point in uint8 storage.
  int32_t inputZeroPointU8() const { return q.input_zero_point + 128; }

  // bias - inputZeroPointU8() * (sum of the channel's weights): what edgeopt's x86 kernels take.
  std::vector<int32_t> biasMinusZeroPointSum() const {
    std::vector<int32_t> adjusted(bias);
    const size_t perChannel = w.size() / bias.size();
    for (size_t i = 0; i < w.size(); ++i) adjusted[i / perChannel] -= inputZeroPointU8() * w[i];
    return adjusted;
  }
};

TEST(KernelsX86Test, AddAvx512MatchesScalar) {
  if (!x86::hasAvx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> ratio(0.01, 4.0);
  std::uniform_int_distribution<int> zp(0, 255);
  for (int64_t n : {1, 15, 16, 17, 31, 32, 33, 100, 1000, 4099}) {
    for (int trial = 0; trial < 8; ++trial) {
      const auto a = randomBytes(rng, static_cast<size_t>(n)), b = randomBytes(rng, static_cast<size_t>(n));
      // Trial 7: a ratio above 2^14 (a negative shift: M = 2^-s above 1, saturating outputs).
      ref::AddRequantization r;
      const float ra = trial == 0 ? 1.0f : trial == 7 ? 50000.0f : static_cast<float>(ratio(rng));
      const float rb = trial == 0 ? 1.0f : static_cast<float>(ratio(rng) / (trial % 3 + 1));
      ASSERT_TRUE(ref::quantizeAddMultipliers(ra, rb, &r));
      ref::QuantParams q;
      q.output_zero_point = zp(rng) - 128;
      if (trial % 2) q.output_min = q.output_zero_point;
      q = ref::toUint8Domain(q);
      const int32_t az = zp(rng), bz = zp(rng);
      std::vector<uint8_t> want(static_cast<size_t>(n)), got(static_cast<size_t>(n) + 32, 0xCD);
      ref::qu8_add__scalar(n, a.data(), az, b.data(), bz, r, q, want.data());
      x86::qu8_add__avx512f(n, a.data(), az, b.data(), bz, r, q, got.data());
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_EQ(got[i], want[i]) << "index " << i << " of " << n << ": a " << int{a[i]} << " b " << int{b[i]}
                                   << " M " << r.out.scale;
      for (size_t i = want.size(); i < got.size(); ++i) ASSERT_EQ(got[i], 0xCD) << "wrote past the end";
    }
  }
}

TEST(KernelsX86Test, QuantizeAvx512MatchesScalar) {
  if (!x86::hasAvx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::mt19937 rng(8);
  std::normal_distribution<float> d(0.0f, 3.0f);
  for (int64_t n : {1, 15, 16, 17, 63, 64, 65, 1001}) {
    const float scale = 0.0123f * static_cast<float>(n % 7 + 1);
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = d(rng);
    // Ties (k + 0.5 steps), NaN, infinities and huge values.
    const float specials[] = {2.5f * scale, -2.5f * scale, 3.5f * scale, NAN, INFINITY, -INFINITY, 1e30f, -1e30f};
    for (size_t i = 0; i < x.size() && i < 8; ++i) x[i * 3 % x.size()] = specials[i];
    for (int32_t zp : {0, 3, 128, 255}) {
      std::vector<uint8_t> want(x.size()), got(x.size() + 32, 0xCD);
      ref::qu8_quantize__scalar(n, x.data(), scale, zp, want.data());
      x86::qu8_quantize__avx512f(n, x.data(), scale, zp, got.data());
      for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << "x " << x[i] << " zp " << zp << " index " << i;
      for (size_t i = want.size(); i < got.size(); ++i) ASSERT_EQ(got[i], 0xCD) << "wrote past the end";
    }
  }
}

TEST(KernelsX86Test, GlobalAvgPoolNhwcMatchesScalarNchw) {
  if (!x86::hasAvx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> dim(1, 9), zp(-128, 127);
  for (int trial = 0; trial < 50; ++trial) {
    const int64_t N = dim(rng) % 3 + 1, H = dim(rng), W = dim(rng), C = dim(rng) * 5;
    const auto x = randomBytes(rng, static_cast<size_t>(N * H * W * C));  // NHWC, uint8-stored
    ref::QuantParams q;
    q.input_zero_point = zp(rng);
    q.output_zero_point = zp(rng);
    const float xs = std::uniform_real_distribution<float>(0.01f, 0.1f)(rng);
    const float ys = xs / std::uniform_real_distribution<float>(0.3f, 3.0f)(rng);
    const auto perCount = ref::averageRequantization(xs, ys, H * W);
    // Reference: int8 NCHW.
    std::vector<int8_t> nchw(x.size());
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t p = 0; p < H * W; ++p)
          nchw[static_cast<size_t>((n * C + c) * H * W + p)] = static_cast<int8_t>(x[static_cast<size_t>((n * H * W + p) * C + c)] - 128);
    ref::PoolParams pp;
    pp.batch = N;
    pp.channels = C;
    pp.in[1] = pp.kernel[1] = pp.padded_end[1] = H;
    pp.in[2] = pp.kernel[2] = pp.padded_end[2] = W;
    std::vector<int8_t> want(static_cast<size_t>(N * C));
    ref::qs8_avgpool__scalar(pp, false, q, perCount.data(), nchw.data(), want.data());
    std::vector<uint8_t> got(want.size());
    x86::qu8_global_avgpool_nhwc__avx512f(N, H * W, C, x.data(), perCount[static_cast<size_t>(H * W)], ref::toUint8Domain(q), got.data());
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(got[i], static_cast<uint8_t>(want[i] + 128)) << "trial " << trial << " index " << i;
  }
}

// Depthwise 3x3 rows + the output stage against ref::qs8_conv__scalar (groups == channels) on the
// transposed data: tile edges in channels (16), borders, strides 1 and 2, pads 0 to 2.
class DwConv3x3Tester {
 public:
  DwConv3x3Tester& channels(int64_t v) { c_ = v; return *this; }
  DwConv3x3Tester& input(int64_t h, int64_t w) { h_ = h; w_ = w; return *this; }
  DwConv3x3Tester& stride(int64_t v) { stride_ = v; return *this; }
  DwConv3x3Tester& pad(int64_t v) { pad_ = v; return *this; }
  DwConv3x3Tester& seed(uint32_t v) { seed_ = v; return *this; }
  DwConv3x3Tester& vnni(bool v) { vnni_ = v; return *this; }
  // The VNNI kernel with its output stage fused (prepareDwConv3x3VnniOutputStage).
  DwConv3x3Tester& fused(bool v) { fused_ = v; return *this; }
  // The stride-1 kernel over 16-channel groups (prepareDwConv3x3VnniFlat).
  DwConv3x3Tester& flat(bool v) { flat_ = v; return *this; }
  // With flat: output rows two at a time (as the plan runs it) instead of one at a time.
  DwConv3x3Tester& rowPairs(bool v) { rowPairs_ = v; return *this; }
  // Output bounds narrowed as by a fused ReLU (1) or ReLU6-like Clip (2).
  DwConv3x3Tester& bounds(int v) { bounds_ = v; return *this; }

  void test() const {
    std::mt19937 rng(seed_);
    ref::ConvParams p;
    p.batch = 1;
    p.in_channels = p.out_channels = p.groups = c_;
    p.in[1] = h_;
    p.in[2] = w_;
    p.kernel[1] = p.kernel[2] = 3;
    p.stride[1] = p.stride[2] = stride_;
    p.pad_begin[1] = p.pad_begin[2] = pad_;
    p.out[1] = (h_ + 2 * pad_ - 3) / stride_ + 1;
    p.out[2] = (w_ + 2 * pad_ - 3) / stride_ + 1;
    const auto xu = randomBytes(rng, static_cast<size_t>(h_ * w_ * c_));  // NHWC uint8-stored
    const RandomInt8Layer layer(rng, c_, 9, bounds_, 50, 3000, 0.0005, 0.02);
    const std::vector<int8_t>& wt = layer.w;
    const std::vector<int32_t>& bias = layer.bias;
    const std::vector<ref::Requantization>& rq = layer.requant;
    const ref::QuantParams& q = layer.q;
    std::vector<int8_t> want(static_cast<size_t>(c_ * p.out[1] * p.out[2]));
    ref::qs8_conv__scalar(p, q, int8Nchw(xu, c_).data(), wt.data(), bias.data(), rq.data(), want.data());

    std::vector<int32_t> wide(static_cast<size_t>(9 * c_));
    for (int64_t c = 0; c < c_; ++c)
      for (int t = 0; t < 9; ++t) wide[static_cast<size_t>(t * c_ + c)] = wt[static_cast<size_t>(c * 9 + t)];
    x86::DwConv3x3Params d;
    d.in_h = h_;
    d.in_w = w_;
    d.channels = c_;
    d.out_w = p.out[2];
    d.stride_h = d.stride_w = stride_;
    d.pad_top = d.pad_left = pad_;
    d.x_zero_point = layer.inputZeroPointU8();
    const auto packed = x86::packDwConv3x3WeightsVnni(wt.data(), c_);
    const std::vector<int32_t> adjusted = layer.biasMinusZeroPointSum();
    std::vector<int32_t> acc(static_cast<size_t>(p.out[2] * c_));
    std::vector<uint8_t> row(acc.size()), pair;
    std::vector<uint8_t> scratch(std::max({x86::dwConv3x3VnniScratchBytes(d), x86::dwConv3x3VnniFusedScratchBytes(),
                                            x86::dwConv3x3VnniFlatScratchBytes(d)}));
    x86::DwConv3x3VnniOutputStage stage;
    if (fused_) {
      ASSERT_TRUE(x86::prepareDwConv3x3VnniOutputStage(c_, adjusted.data(), rq.data(), q, &stage));
    }
    x86::DwConv3x3VnniFlat flat;
    if (flat_) {
      ASSERT_TRUE(x86::prepareDwConv3x3VnniFlat(c_, wt.data(), adjusted.data(), rq.data(), q, &flat));
    }
    for (int64_t oh = 0; oh < p.out[1]; ++oh) {
      if (flat_) {
        // Pairs of rows (rowPairs_) with a single last row when the height is odd, or one by one.
        const int64_t rows = rowPairs_ && oh % 2 == 0 && oh + 1 < p.out[1] ? 2 : 1;
        if (oh % 2 == 0 || !rowPairs_) {
          pair.assign(2 * acc.size() + 64, 0x5A);
          x86::qu8_dwconv3x3s1_flat_requant_rows__avx512vnni(d, flat, oh, rows, xu.data(), scratch.data(), pair.data());
          for (size_t i = static_cast<size_t>(rows) * acc.size(); i < pair.size(); ++i)
            ASSERT_EQ(pair[i], 0x5A) << "wrote past row " << oh + rows - 1;
        }
        const size_t second = rowPairs_ && oh % 2 == 1 ? acc.size() : 0;
        row.assign(pair.begin() + static_cast<std::ptrdiff_t>(second),
                   pair.begin() + static_cast<std::ptrdiff_t>(second + acc.size()));
      } else if (fused_) {
        row.assign(acc.size() + 64, 0x5A);
        x86::qu8_dwconv3x3_requant_row__avx512vnni(d, oh, xu.data(), packed.data(), stage, scratch.data(), row.data());
        for (size_t i = acc.size(); i < row.size(); ++i) ASSERT_EQ(row[i], 0x5A) << "wrote past the row";
      } else if (vnni_)
        x86::qu8_dwconv3x3_row__avx512vnni(d, oh, xu.data(), packed.data(), adjusted.data(), scratch.data(), acc.data());
      else
        x86::qu8_dwconv3x3_row__avx512f(d, oh, xu.data(), wide.data(), bias.data(), acc.data());
      if (!fused_ && !flat_) ref::qs8_requantize_rows__scalar(p.out[2], c_, acc.data(), nullptr, rq.data(), q, row.data());
      for (int64_t ow = 0; ow < p.out[2]; ++ow)
        for (int64_t c = 0; c < c_; ++c) {
          const int8_t expected = want[static_cast<size_t>((c * p.out[1] + oh) * p.out[2] + ow)];
          ASSERT_EQ(row[static_cast<size_t>(ow * c_ + c)], static_cast<uint8_t>(expected + 128))
              << "output (" << oh << ", " << ow << ") channel " << c << ": channels " << c_ << " input " << h_ << "x"
              << w_ << " stride " << stride_ << " pad " << pad_ << (flat_ ? " (flat)" : fused_ ? " (fused)" : vnni_ ? " (vnni)" : "");
        }
    }
  }

 private:
  int64_t c_ = 16, h_ = 5, w_ = 5, stride_ = 1, pad_ = 1;
  uint32_t seed_ = 1;
  bool vnni_ = false, fused_ = false, flat_ = false, rowPairs_ = false;
  int bounds_ = 0;
};

TEST(KernelsX86Test, DwConv3x3Avx512MatchesScalar) {
  if (!x86::hasAvx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  uint32_t seed = 1;
  for (int64_t c : {1, 15, 16, 17, 32, 40})
    for (int64_t stride : {1, 2})
      for (int64_t pad : {0, 1, 2})
        for (auto [h, w] : {std::pair<int64_t, int64_t>{3, 3}, {4, 7}, {9, 6}})
          DwConv3x3Tester().channels(c).input(h, w).stride(stride).pad(pad).seed(seed++).test();
}

TEST(KernelsX86Test, DwConv3x3Avx512VnniMatchesScalar) {
  if (!x86::hasAvx512Vnni()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  uint32_t seed = 100;
  // Channel counts around the 64-channel block and 16-channel store edges, MobileNetV2's included.
  for (int64_t c : {1, 16, 17, 48, 63, 64, 65, 96, 144, 200})
    for (int64_t stride : {1, 2})
      for (int64_t pad : {0, 1, 2})
        for (auto [h, w] : {std::pair<int64_t, int64_t>{3, 3}, {5, 8}, {9, 7}})
          DwConv3x3Tester().channels(c).input(h, w).stride(stride).pad(pad).seed(seed++).vnni(true).test();
}

TEST(KernelsX86Test, DwConv3x3VnniFusedOutputStageMatchesScalar) {
  if (!x86::hasAvx512Vnni()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  uint32_t seed = 500;
  // Widths around the 16-pixel chunk (one, several, and partial chunks) and channel edges.
  for (int64_t c : {1, 17, 32, 63, 64, 65, 96, 144})
    for (int64_t stride : {1, 2})
      for (int64_t pad : {0, 1})
        for (auto [h, w] : {std::pair<int64_t, int64_t>{3, 3}, {4, 17}, {5, 40}, {7, 33}})
          for (int bounds = 0; bounds < 3; ++bounds)
            DwConv3x3Tester().channels(c).input(h, w).stride(stride).pad(pad).bounds(bounds).seed(seed++).fused(true).test();
}

TEST(KernelsX86Test, DwConv3x3VnniFlatMatchesScalar) {
  if (!x86::hasAvx512Vnni()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  uint32_t seed = 900;
  // Periods 1 (16, 32, 64, 128 channels), 3 (48, 96), 9 (144): vectors spanning pixels and rows
  // ending inside a vector; pads 0 to 2.
  for (int64_t c : {16, 32, 48, 64, 96, 128, 144})
    for (int64_t pad : {0, 1, 2})
      for (auto [h, w] : {std::pair<int64_t, int64_t>{3, 3}, {4, 5}, {5, 17}, {6, 37}})
        for (int bounds = 0; bounds < 3; ++bounds)
          for (bool pairs : {false, true})
            DwConv3x3Tester().channels(c).input(h, w).stride(1).pad(pad).bounds(bounds).seed(seed++).flat(true).rowPairs(pairs).test();
}


// The fused-output int8 GEMM against the definition: int32 sums of (a - zero point) * w plus bias,
// then ref::qs8_requantize_rows__scalar. Rows around the 6-row tile and 48-row block, channels
// around the 16-channel vector and 64-channel tile, depths that are multiples of 4.
TEST(KernelsX86Test, QGemmVnniMatchesScalar) {
  if (!x86::hasAvx512Vnni()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  std::mt19937 rng(11);
  auto check = [&](int64_t M, int64_t K, int64_t N, int bounds) {
    const auto a = randomBytes(rng, static_cast<size_t>(M * K));
    const RandomInt8Layer layer(rng, N, K, bounds, 40, 5000, 0.0002, 0.05);
    const std::vector<int8_t>& w = layer.w;
    const ref::QuantParams& q = layer.q;
    const int32_t zpU8 = layer.inputZeroPointU8();
    std::vector<int32_t> acc(static_cast<size_t>(M * N));
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        int32_t sum = 0;
        for (int64_t k = 0; k < K; ++k) sum += (a[static_cast<size_t>(m * K + k)] - zpU8) * w[static_cast<size_t>(n * K + k)];
        acc[static_cast<size_t>(m * N + n)] = sum;
      }
    std::vector<uint8_t> want(acc.size());
    ref::qs8_requantize_rows__scalar(M, N, acc.data(), layer.bias.data(), layer.requant.data(), q, want.data());
    x86::QGemmVnni g;
    ASSERT_TRUE(x86::prepareQGemmVnni(K, N, w.data(), layer.biasMinusZeroPointSum().data(), layer.requant.data(), q, &g));
    std::vector<uint8_t> got(want.size() + 64, 0x5A);
    x86::qu8_gemm_requant__avx512vnni(M, a.data(), g, got.data());
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(got[i], want[i]) << "row " << i / N << " channel " << i % N << " of " << M << "x" << K << "x" << N
                                 << " bounds " << bounds;
    for (size_t i = want.size(); i < got.size(); ++i) ASSERT_EQ(got[i], 0x5A) << "wrote past the end";
  };
  int trial = 0;
  for (int64_t M : {1, 5, 6, 7, 13, 48, 50})
    for (int64_t K : {4, 16, 24, 100})
      for (int64_t N : {1, 15, 16, 17, 24, 32, 48, 64, 65, 96, 130}) check(M, K, N, trial++ % 3);
  std::uniform_int_distribution<int64_t> md2(1, 120), kd(1, 60), nd(1, 300);
  for (int i = 0; i < 40; ++i) check(md2(rng), 4 * kd(rng), nd(rng), i % 3);
  // A depth not a multiple of 4: not prepared.
  x86::QGemmVnni g;
  const std::vector<int8_t> w(8, 1);
  const std::vector<int32_t> b(2, 0);
  const std::vector<ref::Requantization> ok(2, ref::Requantization{0.01f});
  EXPECT_FALSE(x86::prepareQGemmVnni(2, 4, w.data(), b.data(), ok.data(), ref::QuantParams{}, &g));
}


// k x k convolutions through the GEMM kernel (qu8_conv_requant__avx512vnni on a padded image)
// against ref::qs8_conv__scalar: stems (1-3 channels), channel counts around the 4-byte group and
// 16-channel vector, kernels 1-7, strides 1-2, pads 0-3 (asymmetric), height dilation.
TEST(KernelsX86Test, QConvVnniMatchesScalar) {
  if (!x86::hasAvx512Vnni()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  std::mt19937 rng(23);
  std::uniform_int_distribution<int> pick(0, 1000);
  const int64_t channelChoices[] = {1, 3, 4, 5, 16, 17, 32};
  const int64_t outChoices[] = {1, 16, 17, 40, 64, 70};
  for (int trial = 0; trial < 120; ++trial) {
    const int64_t C = channelChoices[pick(rng) % 7], M = outChoices[pick(rng) % 6];
    const int64_t KH = pick(rng) % 3 + 1 + (trial % 10 == 0 ? 4 : 0), KW = pick(rng) % 3 + 1 + (trial % 10 == 0 ? 4 : 0);
    const int64_t SH = pick(rng) % 2 + 1, SW = pick(rng) % 2 + 1, DH = trial % 7 == 0 ? 2 : 1;
    const int64_t pt = pick(rng) % 4, pl = pick(rng) % 4, pb = pick(rng) % 4, pr = pick(rng) % 4;
    const int64_t H = pick(rng) % 12 + (KH - 1) * DH + 1, W = pick(rng) % 20 + KW;
    ref::ConvParams p;
    p.in_channels = C;
    p.out_channels = M;
    p.in[1] = H;
    p.in[2] = W;
    p.kernel[1] = KH;
    p.kernel[2] = KW;
    p.stride[1] = SH;
    p.stride[2] = SW;
    p.dilation[1] = DH;
    p.pad_begin[1] = pt;
    p.pad_begin[2] = pl;
    p.out[1] = (H + pt + pb - (KH - 1) * DH - 1) / SH + 1;
    p.out[2] = (W + pl + pr - KW) / SW + 1;
    const auto x = randomBytes(rng, static_cast<size_t>(H * W * C));  // NHWC uint8-stored
    const RandomInt8Layer layer(rng, M, C * KH * KW, trial % 3, 30, 5000, 0.0002, 0.02);
    std::vector<int8_t> want(static_cast<size_t>(M * p.out[1] * p.out[2]));
    ref::qs8_conv__scalar(p, layer.q, int8Nchw(x, C).data(), layer.w.data(), layer.bias.data(), layer.requant.data(),
                          want.data());

    const int32_t zpU8 = layer.inputZeroPointU8();
    const int64_t PH = std::max(H + pt + pb, (p.out[1] - 1) * SH + (KH - 1) * DH + 1), PW = W + pl + pr;
    std::vector<uint8_t> padded(static_cast<size_t>(PH * PW * C + 4), static_cast<uint8_t>(zpU8));
    for (int64_t h = 0; h < H; ++h)
      std::copy(x.begin() + h * W * C, x.begin() + (h + 1) * W * C, padded.begin() + ((h + pt) * PW + pl) * C);
    x86::QGemmVnni g;
    ASSERT_TRUE(x86::prepareQConvVnni(C, M, KH, KW, layer.w.data(), layer.biasMinusZeroPointSum().data(),
                                      layer.requant.data(), layer.q, &g));
    x86::QConvGeometry geo;
    geo.padded_w = PW;
    geo.channels = C;
    geo.out_h = p.out[1];
    geo.out_w = p.out[2];
    geo.stride_h = SH;
    geo.stride_w = SW;
    geo.dilation_h = DH;
    std::vector<uint8_t> got(want.size() + 64, 0x5A);
    x86::qu8_conv_requant__avx512vnni(geo, padded.data(), g, got.data());
    const int64_t pixels = p.out[1] * p.out[2];
    for (int64_t m = 0; m < M; ++m)
      for (int64_t i = 0; i < pixels; ++i)
        ASSERT_EQ(got[static_cast<size_t>(i * M + m)], static_cast<uint8_t>(want[static_cast<size_t>(m * pixels + i)] + 128))
            << "trial " << trial << " pixel " << i << " channel " << m << ": C " << C << " M " << M << " kernel " << KH
            << "x" << KW << " stride " << SH << "x" << SW << " dilation_h " << DH << " input " << H << "x" << W;
    for (size_t i = want.size(); i < got.size(); ++i) ASSERT_EQ(got[i], 0x5A) << "wrote past the end";
  }
}


// NCHW byte planes to 4-byte pixels against the obvious loop: 1-4 planes, lengths around the
// 16-pixel step.
TEST(KernelsX86Test, PlanesToPixels4MatchesScalar) {
  if (!x86::hasAvx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::mt19937 rng(5);
  for (int count = 1; count <= 4; ++count)
    for (int64_t n : {1, 15, 16, 17, 33, 224, 1000}) {
      std::vector<std::vector<uint8_t>> planes;
      const uint8_t* pointers[4] = {};
      for (int c = 0; c < count; ++c) {
        planes.push_back(randomBytes(rng, static_cast<size_t>(n)));
        pointers[c] = planes.back().data();
      }
      std::vector<uint8_t> got(static_cast<size_t>(4 * n + 64), 0x5A);
      x86::qu8_planes_to_pixels4__avx512bw(n, pointers, count, 0x77, got.data());
      for (int64_t i = 0; i < n; ++i)
        for (int c = 0; c < 4; ++c)
          ASSERT_EQ(got[static_cast<size_t>(4 * i + c)], c < count ? planes[static_cast<size_t>(c)][static_cast<size_t>(i)] : 0x77)
              << "pixel " << i << " channel " << c << " of " << n << " (" << count << " planes)";
      for (size_t i = static_cast<size_t>(4 * n); i < got.size(); ++i) ASSERT_EQ(got[i], 0x5A) << "wrote past the end";
    }
}

// NCHW <-> NHWC transposes against the scalar twin, byte for byte: 1-, 4- and 2-byte elements
// (2 takes the scalar path), matrices around the 16x16 and 4x4 blocks, and random shapes; nothing
// written past the end.
TEST(KernelsX86Test, TransposeMatricesMatchesScalar) {
  if (!x86::hasAvx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::mt19937 rng(11);
  auto check = [&](int64_t batch, int64_t rows, int64_t cols, size_t elem) {
    const size_t bytes = static_cast<size_t>(batch * rows * cols) * elem;
    const std::vector<uint8_t> src = randomBytes(rng, bytes);
    std::vector<uint8_t> want(bytes + 64, 0x5A), got(bytes + 64, 0x5A);
    ref::transpose_matrices__scalar(batch, rows, cols, elem, src.data(), want.data());
    x86::transpose_matrices__x86(batch, rows, cols, elem, src.data(), got.data());
    ASSERT_EQ(got, want) << "batch " << batch << " rows " << rows << " cols " << cols << " element " << elem << " bytes";
  };
  for (size_t elem : {1, 2, 4})
    for (int64_t rows : {1, 3, 4, 5, 15, 16, 17, 32, 33})
      for (int64_t cols : {1, 4, 7, 16, 31, 48, 784})
        for (int64_t batch : {1, 2}) check(batch, rows, cols, elem);
  std::uniform_int_distribution<int64_t> d(1, 200);
  for (int trial = 0; trial < 100; ++trial) check(d(rng) % 3 + 1, d(rng), d(rng), trial % 2 ? 4 : 1);
}

// The fused dequantize + tiling average pool: the AVX-512 kernel equals its scalar twin bit for
// bit (channel counts around 16, windows 1x1 to whole maps); the twin is within float rounding of
// DequantizeLinear followed by ONNX average pooling in float (the reference executor's two steps).
TEST(KernelsX86Test, DequantizeAvgPoolTilesMatchesScalar) {
  if (!x86::hasAvx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::mt19937 rng(21);
  std::uniform_int_distribution<int> zeroPoints(0, 255);
  for (int64_t c : {1, 3, 15, 16, 17, 40, 96})
    for (auto [h, w, kh, kw] : {std::array<int64_t, 4>{1, 1, 1, 1}, {4, 4, 1, 1}, {28, 28, 7, 7}, {14, 14, 14, 14}, {6, 8, 3, 2}}) {
      const std::vector<uint8_t> x = randomBytes(rng, static_cast<size_t>(h * w * c));
      const float scale = 0.02f + 0.001f * static_cast<float>(c);
      const int32_t zp = zeroPoints(rng);
      const size_t outs = static_cast<size_t>((h / kh) * (w / kw) * c);
      std::vector<float> want(outs + 16, -7.f), got(outs + 16, -7.f);
      ref::qu8_dequantize_avgpool_tiles_nhwc__scalar(h, w, c, kh, kw, x.data(), scale, zp, want.data());
      x86::qu8_dequantize_avgpool_tiles_nhwc__avx512bw(h, w, c, kh, kw, x.data(), scale, zp, got.data());
      for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], want[i]) << "element " << i << " c " << c << " map " << h << "x" << w << " window " << kh << "x" << kw;
      // The definition: dequantize, then the float average pool on NCHW.
      std::vector<float> planes(static_cast<size_t>(c * h * w)), pooled(outs);
      for (int64_t p = 0; p < h * w; ++p)
        for (int64_t ch = 0; ch < c; ++ch)
          planes[static_cast<size_t>(ch * h * w + p)] = static_cast<float>(x[static_cast<size_t>(p * c + ch)] - zp) * scale;
      ref::PoolParams params;
      params.channels = c;
      params.in[1] = h, params.in[2] = w, params.kernel[1] = params.stride[1] = kh, params.kernel[2] = params.stride[2] = kw;
      params.out[1] = h / kh, params.out[2] = w / kw, params.padded_end[1] = h, params.padded_end[2] = w;
      ref::f32_avgpool__scalar(params, false, planes.data(), pooled.data());
      for (int64_t p = 0; p < (h / kh) * (w / kw); ++p)
        for (int64_t ch = 0; ch < c; ++ch)
          ASSERT_NEAR(want[static_cast<size_t>(p * c + ch)], pooled[static_cast<size_t>(ch * (h / kh) * (w / kw) + p)], 1e-5f * 255 * scale);
    }
}

}  // namespace
}  // namespace edgeopt::kernels
