// The int8 arithmetic of kernels/ref/quant.h: multiplier formation, the fp32 requantization and its
// threshold form, QuantizeLinear rounding, and the int8 conv/gemm/add/mul/rescale/average-pool kernels against a float-simulated definition
// (dequantize, compute in double, recover the exact integer accumulator, requantize) — bit-exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "kernels/ref/quant.h"
#include "tests/unit/conv_taps.h"

namespace edgeopt::kernels::ref {
namespace {

TEST(QuantTest, MultipliersAreFormedInFloat32AsOnnxRuntimeForms) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> logS(-12.0f, 2.0f);
  for (int i = 0; i < 10000; ++i) {
    const float xs = std::exp(logS(rng)), ws = std::exp(logS(rng)), ys = std::exp(logS(rng));
    volatile float product = xs * ws;  // one float32 rounding, then the division's
    const float want = product / ys;
    ASSERT_EQ(convMultiplier(xs, ws, ys), want);
    volatile float ratio = xs / ys;
    ASSERT_EQ(ratioMultiplier(xs, ys), ratio);
    volatile float divisor = ys * 49.0f;
    ASSERT_EQ(averageMultiplier(xs, ys, 49), xs / divisor);
    ASSERT_TRUE(isValidMultiplier(want));
  }
  // A subnormal multiplier is flushed to 0: both give 0 for every int32 accumulator.
  EXPECT_EQ(convMultiplier(1e-20f, 1e-20f, 1.0f), 0.0f);
  EXPECT_EQ(requantize(std::numeric_limits<int32_t>::max(), Requantization{0x1p-127f}), 0);
  EXPECT_FALSE(isValidMultiplier(std::numeric_limits<float>::infinity()));
  EXPECT_FALSE(isValidMultiplier(0x1p-127f));
  EXPECT_FALSE(isValidMultiplier(-1.0f));
  EXPECT_TRUE(isValidMultiplier(0.0f));
}

TEST(QuantTest, RequantizeRoundsHalfToEvenInFloat32) {
  const Requantization half{0.5f};
  EXPECT_EQ(requantize(3, half), 2);    // 1.5 -> 2
  EXPECT_EQ(requantize(5, half), 2);    // 2.5 -> 2 (ties to even, as vcvtps2dq / FCVTNS)
  EXPECT_EQ(requantize(-3, half), -2);  // -1.5 -> -2
  EXPECT_EQ(requantize(-5, half), -2);
  EXPECT_EQ(requantize(4, half), 2);
  EXPECT_EQ(requantize(0, half), 0);
  // float(acc) rounds above 2^24: 2^24 + 1 becomes 2^24 before the multiply.
  EXPECT_EQ(requantize((1 << 24) + 1, Requantization{1.0f}), 1 << 24);
  // Saturation; the int8 clamp then gives 127 / -128.
  EXPECT_EQ(requantize(std::numeric_limits<int32_t>::max(), Requantization{4.0f}), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(requantize(std::numeric_limits<int32_t>::min(), Requantization{4.0f}), std::numeric_limits<int32_t>::min());
  // Against exact rational arithmetic, over products in the range that matters (|acc M| < 1024;
  // beyond it every int8 output saturates): within one step of round_half_even(acc * M), and
  // equal except where the one float32 rounding of the product crosses a half (rare).
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> mul(1e-5f, 0.9f);
  int differ = 0;
  for (int i = 0; i < 100000; ++i) {
    const Requantization r{mul(rng)};
    const int32_t bound = static_cast<int32_t>(std::min(1024.0f / r.scale, 16777216.0f));
    const int32_t a = std::uniform_int_distribution<int32_t>(-bound, bound)(rng);
    const double exact = static_cast<double>(a) * r.scale;  // exact: 25 x 24 significant bits
    const double want = std::nearbyint(exact);
    ASSERT_LE(std::fabs(requantize(a, r) - want), 1.0) << a;
    differ += requantize(a, r) != want;
  }
  EXPECT_LT(differ, 100);
}

// The FPGA form: the output stage is "output_min + number of thresholds <= acc", checked on every
// accumulator value around each threshold and at the ends of the int32 range, and on random ones.
TEST(QuantTest, RequantizationThresholdsReproduceTheOutputStage) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int32_t> zp(-128, 127), bias(-100000, 100000), acc(-3000000, 3000000);
  std::uniform_real_distribution<float> logM(-20.0f, 3.0f);
  for (int trial = 0; trial < 200; ++trial) {
    QuantParams q;
    q.output_zero_point = zp(rng);
    if (trial % 3 == 1) q.output_min = q.output_zero_point;                                       // ReLU
    if (trial % 3 == 2) q.output_max = std::min(127, std::max(q.output_min, q.output_zero_point + 40));  // ReLU6-like
    const Requantization r{trial % 50 == 0 ? 0.0f : std::exp2(logM(rng))};
    const int32_t b = bias(rng);
    const std::vector<int64_t> t = requantizationThresholds(b, r, q);
    ASSERT_EQ(static_cast<int64_t>(t.size()), q.output_max - q.output_min);
    ASSERT_TRUE(std::is_sorted(t.begin(), t.end()));
    auto viaThresholds = [&](int64_t a) {
      return q.output_min + static_cast<int32_t>(std::upper_bound(t.begin(), t.end(), a) - t.begin());
    };
    auto check = [&](int64_t a) {
      if (a + b < std::numeric_limits<int32_t>::min() || a + b > std::numeric_limits<int32_t>::max()) return;
      ASSERT_EQ(viaThresholds(a), requantizeToOutput(static_cast<int32_t>(a + b), r, q))
          << "trial " << trial << " acc " << a << " M " << r.scale;
    };
    for (int64_t th : t)
      for (int64_t d = -2; d <= 2; ++d) check(th + d);
    for (int i = 0; i < 2000; ++i) check(acc(rng));
    check(int64_t{std::numeric_limits<int32_t>::min()} - b);
    check(int64_t{std::numeric_limits<int32_t>::max()} - b);
  }
}

TEST(QuantTest, QuantizeLinearRoundsHalfToEvenAndSaturates) {
  EXPECT_EQ(qs8_quantize(2.5f, 1.0f, 0), 2);
  EXPECT_EQ(qs8_quantize(3.5f, 1.0f, 0), 4);
  EXPECT_EQ(qs8_quantize(-2.5f, 1.0f, 0), -2);
  EXPECT_EQ(qs8_quantize(1000.0f, 0.5f, 3), 127);
  EXPECT_EQ(qs8_quantize(-1000.0f, 0.5f, 3), -128);
  EXPECT_EQ(qs8_quantize(NAN, 0.5f, 3), 3);
  EXPECT_EQ(quantizeLinear<uint8_t>(-1.0f, 0.1f, 128), 118);
  EXPECT_FLOAT_EQ(qs8_dequantize(-5, 0.25f, 3), -2.0f);
}

// Random quantized operands and per-channel requantization for an output of `channels`.
struct QuantSetup {
  QuantParams q;
  std::vector<Requantization> requant;
  std::vector<int32_t> bias;
  float inputScale;
  std::vector<float> weightScale;
  float outputScale;
};

QuantSetup randomSetup(std::mt19937& rng, int64_t channels, bool relu) {
  QuantSetup s;
  std::uniform_int_distribution<int32_t> zp(-20, 20), b(-5000, 5000);
  std::uniform_real_distribution<float> scale(0.001f, 0.1f);
  s.q.input_zero_point = zp(rng);
  s.q.output_zero_point = zp(rng);
  if (relu) s.q.output_min = s.q.output_zero_point;
  s.inputScale = scale(rng);
  s.outputScale = scale(rng) * 20;
  for (int64_t c = 0; c < channels; ++c) {
    s.weightScale.push_back(scale(rng) / 10);
    s.requant.push_back(Requantization{convMultiplier(s.inputScale, s.weightScale.back(), s.outputScale)});
    s.bias.push_back(b(rng));
  }
  return s;
}

std::vector<int8_t> randomInt8(std::mt19937& rng, size_t n, int lo) {
  std::uniform_int_distribution<int> d(lo, 127);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(d(rng));
  return v;
}

// The float-simulated definition of one output: dequantized operands multiplied in double give
// the real accumulator; dividing by input_scale * weight_scale recovers the integer accumulator
// exactly, which is then requantized as quant.h defines.
int8_t simulate(double realAcc, const QuantSetup& s, int64_t c) {
  const double accD = realAcc / (static_cast<double>(s.inputScale) * s.weightScale[static_cast<size_t>(c)]);
  const int32_t acc = static_cast<int32_t>(std::llround(accD)) + s.bias[static_cast<size_t>(c)];
  const int64_t v = int64_t{requantize(acc, s.requant[static_cast<size_t>(c)])} + s.q.output_zero_point;
  return static_cast<int8_t>(std::clamp<int64_t>(v, s.q.output_min, s.q.output_max));
}

TEST(QuantTest, ConvMatchesFloatSimulationBitExact) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> small(1, 3), size(1, 8), grp(1, 3);
  for (int trial = 0; trial < 300; ++trial) {
    ConvParams p;
    p.batch = small(rng);
    p.groups = trial % 5 == 0 ? 0 : grp(rng);
    const int64_t cpg = small(rng);
    if (p.groups == 0) {  // depthwise
      p.groups = small(rng) + 1;
      p.in_channels = p.out_channels = p.groups;
    } else {
      p.in_channels = p.groups * cpg;
      p.out_channels = p.groups * small(rng);
    }
    for (int a = 3 - (1 + trial % 3); a < 3; ++a) {
      p.kernel[a] = small(rng);
      p.stride[a] = small(rng);
      p.dilation[a] = small(rng);
      p.pad_begin[a] = std::uniform_int_distribution<int>(0, static_cast<int>(p.kernel[a]))(rng);
      const int64_t extent = (p.kernel[a] - 1) * p.dilation[a] + 1;
      p.in[a] = std::max<int64_t>(size(rng), std::max<int64_t>(1, extent - p.pad_begin[a]));
      p.out[a] = (p.in[a] + p.pad_begin[a] - extent) / p.stride[a] + 1;
    }
    const QuantSetup s = randomSetup(rng, p.out_channels, trial % 2 == 1);
    const int64_t inPlane = p.in[0] * p.in[1] * p.in[2], outPlane = p.out[0] * p.out[1] * p.out[2];
    const int64_t ksize = p.kernel[0] * p.kernel[1] * p.kernel[2], cg = p.in_channels / p.groups;
    auto x = randomInt8(rng, static_cast<size_t>(p.batch * p.in_channels * inPlane), -128);
    auto w = randomInt8(rng, static_cast<size_t>(p.out_channels * cg * ksize), -127);
    std::vector<int8_t> y(static_cast<size_t>(p.batch * p.out_channels * outPlane));
    qs8_conv__scalar(p, s.q, x.data(), w.data(), s.bias.data(), s.requant.data(), y.data());
    double real = 0;
    testing::forEachConvTap(
        p, [&](int64_t, int64_t) { real = 0; },
        [&](int64_t xi, int64_t wi) {
          real += static_cast<double>(qs8_dequantize(x[static_cast<size_t>(xi)], s.inputScale, s.q.input_zero_point)) *
                  (static_cast<double>(w[static_cast<size_t>(wi)]) * s.weightScale[static_cast<size_t>(wi / (cg * ksize))]);
        },
        [&](int64_t out, int64_t m) {
          ASSERT_EQ(y[static_cast<size_t>(out)], simulate(real, s, m))
              << "trial " << trial << " output " << out << " channels " << p.in_channels << "->" << p.out_channels
              << " groups " << p.groups;
        });
  }
}

TEST(QuantTest, GemmMatchesFloatSimulationBitExact) {
  std::mt19937 rng(4);
  std::uniform_int_distribution<int> d(1, 40);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t M = d(rng), N = d(rng), K = d(rng);
    const bool bt = trial % 2;
    const QuantSetup s = randomSetup(rng, N, trial % 3 == 0);
    auto a = randomInt8(rng, static_cast<size_t>(M * K), -128);
    auto b = randomInt8(rng, static_cast<size_t>(K * N), -127);
    std::vector<int8_t> y(static_cast<size_t>(M * N));
    qs8_gemm__scalar(M, N, K, s.q, a.data(), b.data(), bt, s.bias.data(), s.requant.data(), y.data());
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double real = 0;
        for (int64_t k = 0; k < K; ++k)
          real += static_cast<double>(qs8_dequantize(a[static_cast<size_t>(i * K + k)], s.inputScale, s.q.input_zero_point)) *
                  (static_cast<double>(bt ? b[static_cast<size_t>(j * K + k)] : b[static_cast<size_t>(k * N + j)]) *
                   s.weightScale[static_cast<size_t>(j)]);
        ASSERT_EQ(y[static_cast<size_t>(i * N + j)], simulate(real, s, j)) << "M " << M << " N " << N << " K " << K;
      }
  }
}

// Random per-tensor operands for the weightless ops.
struct Operand {
  float scale;
  int32_t zeroPoint;
};
Operand randomOperand(std::mt19937& rng) {
  return {std::uniform_real_distribution<float>(0.002f, 0.2f)(rng), std::uniform_int_distribution<int32_t>(-60, 60)(rng)};
}
double real(int8_t q, const Operand& o) { return static_cast<double>(qs8_dequantize(q, o.scale, o.zeroPoint)); }
int8_t clampOutput(double v, const QuantParams& q) {
  return static_cast<int8_t>(std::clamp<double>(v, q.output_min, q.output_max));
}

TEST(QuantTest, AddMatchesFloatSimulationBitExact) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 300; ++trial) {
    const Operand a = randomOperand(rng), b = randomOperand(rng), y = randomOperand(rng);
    QuantParams q;
    q.output_zero_point = y.zeroPoint;
    if (trial % 3 == 0) q.output_min = y.zeroPoint;  // Relu folded in
    const int64_t n = std::uniform_int_distribution<int>(1, 70)(rng);
    auto av = randomInt8(rng, static_cast<size_t>(n), -128), bv = randomInt8(rng, static_cast<size_t>(n), -128);
    AddRequantization r;
    ASSERT_TRUE(quantizeAddMultipliers(ratioMultiplier(a.scale, y.scale), ratioMultiplier(b.scale, y.scale), &r));
    ASSERT_LE(std::max(r.a_weight, r.b_weight), 1 << 22);
    ASSERT_GE(std::max(r.a_weight, r.b_weight), 1 << 21);
    std::vector<int8_t> out(static_cast<size_t>(n));
    qs8_add__scalar(n, av.data(), a.zeroPoint, bv.data(), b.zeroPoint, r, q, out.data());
    for (int64_t i = 0; i < n; ++i) {
      const size_t k = static_cast<size_t>(i);
      // Simulation: the integer differences recovered from the dequantized values, weighted by the
      // integer weights in double (exact), scaled by M = 2^-s (exact), rounded half to even once.
      const double da = std::round(real(av[k], a) / a.scale), db = std::round(real(bv[k], b) / b.scale);
      const double v = (da * r.a_weight + db * r.b_weight) * static_cast<double>(r.out.scale);
      ASSERT_EQ(out[k], clampOutput(std::nearbyint(v) + y.zeroPoint, q)) << "trial " << trial << " i " << i;
      // And within one output step of the exact real sum.
      const double exact = (real(av[k], a) + real(bv[k], b)) / y.scale + y.zeroPoint;
      ASSERT_LE(std::fabs(out[k] - clampOutput(exact, q)), 1) << "trial " << trial;
    }
  }
}

TEST(QuantTest, MulAndRescaleMatchFloatSimulationBitExact) {
  std::mt19937 rng(6);
  for (int trial = 0; trial < 300; ++trial) {
    const Operand a = randomOperand(rng), b = randomOperand(rng), y = randomOperand(rng);
    QuantParams q;
    q.output_zero_point = y.zeroPoint;
    q.input_zero_point = a.zeroPoint;
    const int64_t n = std::uniform_int_distribution<int>(1, 70)(rng);
    auto av = randomInt8(rng, static_cast<size_t>(n), -128), bv = randomInt8(rng, static_cast<size_t>(n), -128);
    const Requantization rm{convMultiplier(a.scale, b.scale, y.scale)};
    std::vector<int8_t> prod(static_cast<size_t>(n)), resc(static_cast<size_t>(n));
    qs8_mul__scalar(n, av.data(), a.zeroPoint, bv.data(), b.zeroPoint, rm, q, prod.data());
    qs8_requantize__scalar(n, av.data(), a.scale, y.scale, q, resc.data());
    for (int64_t i = 0; i < n; ++i) {
      const size_t k = static_cast<size_t>(i);
      const double realProduct = real(av[k], a) * real(bv[k], b);
      const int32_t acc = static_cast<int32_t>(std::llround(realProduct / (static_cast<double>(a.scale) * b.scale)));
      ASSERT_EQ(prod[k], clampOutput(static_cast<double>(requantize(acc, rm)) + y.zeroPoint, q)) << "trial " << trial;
      ASSERT_LE(std::fabs(prod[k] - clampOutput(realProduct / y.scale + y.zeroPoint, q)), 1);
      // Rescale: the QDQ pair itself, DequantizeLinear (one float32 multiply) then QuantizeLinear
      // (one float32 division, rounding half to even).
      volatile float dequantized = static_cast<float>(av[k] - a.zeroPoint) * a.scale;
      const float quotient = dequantized / y.scale;
      ASSERT_EQ(resc[k], clampOutput(std::nearbyint(quotient) + y.zeroPoint, q));
      ASSERT_LE(std::fabs(resc[k] - clampOutput(real(av[k], a) / y.scale + y.zeroPoint, q)), 1);
    }
  }
}

TEST(QuantTest, AveragePoolMatchesFloatSimulationBitExact) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> small(1, 3), size(1, 7);
  for (int trial = 0; trial < 200; ++trial) {
    PoolParams p;
    p.batch = small(rng);
    p.channels = small(rng);
    const bool includePad = trial % 2 == 1;
    for (int ax = 1; ax < 3; ++ax) {
      p.kernel[ax] = small(rng);
      p.stride[ax] = small(rng);
      p.pad_begin[ax] = std::uniform_int_distribution<int>(0, static_cast<int>(p.kernel[ax]) - 1)(rng);
      p.in[ax] = std::max<int64_t>(size(rng), p.kernel[ax]);
      const int64_t padEnd = p.pad_begin[ax];
      p.out[ax] = (p.in[ax] + p.pad_begin[ax] + padEnd - p.kernel[ax]) / p.stride[ax] + 1;
      p.padded_end[ax] = p.in[ax] + p.pad_begin[ax] + padEnd;
    }
    const Operand x = randomOperand(rng), y = randomOperand(rng);
    QuantParams q;
    q.input_zero_point = x.zeroPoint;
    q.output_zero_point = y.zeroPoint;
    const int64_t window = p.kernel[1] * p.kernel[2];
    const auto perCount = averageRequantization(x.scale, y.scale, window);
    auto xv = randomInt8(rng, static_cast<size_t>(p.batch * p.channels * p.in[1] * p.in[2]), -128);
    std::vector<int8_t> out(static_cast<size_t>(p.batch * p.channels * p.out[1] * p.out[2]));
    qs8_avgpool__scalar(p, includePad, q, perCount.data(), xv.data(), out.data());
    // Simulation: the float average pool of the dequantized input gives the mean; times the
    // count it recovers the integer sum, which is requantized with that count's multiplier.
    std::vector<float> xf(xv.size()), yf(out.size());
    for (size_t i = 0; i < xv.size(); ++i) xf[i] = static_cast<float>(real(xv[i], x));
    f32_avgpool__scalar(p, includePad, xf.data(), yf.data());
    for (int64_t c = 0; c < p.batch * p.channels; ++c)
      for (int64_t oh = 0; oh < p.out[1]; ++oh)
        for (int64_t ow = 0; ow < p.out[2]; ++ow) {
          int64_t count = 0;
          for (int64_t kh = 0; kh < p.kernel[1]; ++kh)
            for (int64_t kw = 0; kw < p.kernel[2]; ++kw) {
              const int64_t ih = oh * p.stride[1] + kh - p.pad_begin[1], iw = ow * p.stride[2] + kw - p.pad_begin[2];
              const bool inside = ih >= 0 && ih < p.in[1] && iw >= 0 && iw < p.in[2];
              const bool inPadded = ih < p.padded_end[1] - p.pad_begin[1] && iw < p.padded_end[2] - p.pad_begin[2];
              count += includePad ? inPadded : inside;
            }
          const size_t o = static_cast<size_t>((c * p.out[1] + oh) * p.out[2] + ow);
          const int32_t acc = static_cast<int32_t>(std::llround(static_cast<double>(yf[o]) * count / x.scale));
          ASSERT_EQ(out[o], clampOutput(static_cast<double>(requantize(acc, perCount[static_cast<size_t>(count)])) + y.zeroPoint, q))
              << "trial " << trial << " output " << o;
          ASSERT_LE(std::fabs(out[o] - clampOutput(static_cast<double>(yf[o]) / y.scale + y.zeroPoint, q)), 1);
        }
  }
}

}  // namespace
}  // namespace edgeopt::kernels::ref
