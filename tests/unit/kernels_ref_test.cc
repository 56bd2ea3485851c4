// kernels/ref against textbook formulations on random shapes (fixed seed), plus algebraic
// properties (conv / transposed conv are adjoint) that catch index errors the shapes miss.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/ref/cast.h"
#include "kernels/ref/conv.h"
#include "kernels/ref/gemm.h"
#include "kernels/ref/layout.h"
#include "tests/unit/conv_taps.h"

namespace edgeopt::kernels::ref {
namespace {

std::vector<float> randomVector(std::mt19937& rng, size_t n) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

int64_t planeOf(const int64_t* s) { return s[0] * s[1] * s[2]; }

// Direct definition: every output element gathers its window with an explicit bounds test.
std::vector<float> naiveConv(const ConvParams& p, const std::vector<float>& x, const std::vector<float>& w,
                             const std::vector<float>& b) {
  std::vector<float> y(static_cast<size_t>(p.batch * p.out_channels * planeOf(p.out)));
  double acc = 0;
  testing::forEachConvTap(
      p, [&](int64_t, int64_t m) { acc = b[static_cast<size_t>(m)]; },
      [&](int64_t xi, int64_t wi) { acc += static_cast<double>(x[static_cast<size_t>(xi)]) * w[static_cast<size_t>(wi)]; },
      [&](int64_t out, int64_t) { y[static_cast<size_t>(out)] = static_cast<float>(acc); });
  return y;
}

ConvParams randomConv(std::mt19937& rng, int spatialRank) {
  std::uniform_int_distribution<int> small(1, 3), size(1, 9), group(1, 3);
  ConvParams p;
  p.batch = small(rng);
  p.groups = group(rng);
  p.in_channels = p.groups * small(rng);
  p.out_channels = p.groups * small(rng);
  for (int a = 3 - spatialRank; a < 3; ++a) {
    p.kernel[a] = small(rng);
    p.stride[a] = small(rng);
    p.dilation[a] = small(rng);
    p.pad_begin[a] = std::uniform_int_distribution<int>(0, static_cast<int>(p.kernel[a]))(rng);
    const int64_t extent = (p.kernel[a] - 1) * p.dilation[a] + 1;
    const int64_t padEnd = std::uniform_int_distribution<int>(0, static_cast<int>(p.kernel[a]))(rng);
    p.in[a] = std::max<int64_t>(size(rng), std::max<int64_t>(1, extent - p.pad_begin[a] - padEnd));
    p.out[a] = (p.in[a] + p.pad_begin[a] + padEnd - extent) / p.stride[a] + 1;
  }
  return p;
}

TEST(RefConvTest, MatchesDirectDefinitionOnRandomShapes) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 300; ++trial) {
    const int rank = 1 + trial % 3;
    ConvParams p = randomConv(rng, rank);
    auto x = randomVector(rng, static_cast<size_t>(p.batch * p.in_channels * planeOf(p.in)));
    auto w = randomVector(rng, static_cast<size_t>(p.out_channels * (p.in_channels / p.groups) * planeOf(p.kernel)));
    auto b = randomVector(rng, static_cast<size_t>(p.out_channels));
    std::vector<float> y(static_cast<size_t>(p.batch * p.out_channels * planeOf(p.out)));
    f32_conv__scalar(p, x.data(), w.data(), b.data(), y.data());
    auto expected = naiveConv(p, x, w, b);
    for (size_t i = 0; i < y.size(); ++i)
      ASSERT_NEAR(y[i], expected[i], 1e-4f * (1.0f + std::fabs(expected[i])))
          << "trial " << trial << " index " << i << " in [" << p.in[0] << "," << p.in[1] << "," << p.in[2]
          << "] k [" << p.kernel[0] << "," << p.kernel[1] << "," << p.kernel[2] << "] groups " << p.groups;
  }
}

// <conv(x), y> == <x, conv_transpose(y)> with the same weights: the transposed convolution is
// the adjoint of the convolution (no bias).
TEST(RefConvTest, TransposedConvolutionIsTheAdjoint) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    ConvParams p = randomConv(rng, 1 + trial % 3);
    auto x = randomVector(rng, static_cast<size_t>(p.batch * p.in_channels * planeOf(p.in)));
    auto w = randomVector(rng, static_cast<size_t>(p.out_channels * (p.in_channels / p.groups) * planeOf(p.kernel)));
    auto y = randomVector(rng, static_cast<size_t>(p.batch * p.out_channels * planeOf(p.out)));
    std::vector<float> cx(y.size()), ty(x.size());
    f32_conv__scalar(p, x.data(), w.data(), nullptr, cx.data());
    ConvParams t = p;  // transposed: roles of in/out and channel counts swap
    std::swap(t.in_channels, t.out_channels);
    std::copy(std::begin(p.out), std::end(p.out), t.in);
    std::copy(std::begin(p.in), std::end(p.in), t.out);
    f32_conv_transpose__scalar(t, y.data(), w.data(), nullptr, ty.data());
    double lhs = 0, rhs = 0, scale = 0;
    for (size_t i = 0; i < y.size(); ++i) { lhs += static_cast<double>(cx[i]) * y[i]; scale += std::fabs(cx[i] * y[i]); }
    for (size_t i = 0; i < x.size(); ++i) rhs += static_cast<double>(x[i]) * ty[i];
    ASSERT_NEAR(lhs, rhs, 1e-4 * (1.0 + scale)) << "trial " << trial;
  }
}

TEST(RefGemmTest, MatchesDefinitionWithTransposes) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 100; ++trial) {
    std::uniform_int_distribution<int> d(1, 17);
    const int64_t M = d(rng), N = d(rng), K = d(rng);
    const bool ta = trial & 1, tb = trial & 2;
    auto a = randomVector(rng, static_cast<size_t>(M * K));
    auto b = randomVector(rng, static_cast<size_t>(K * N));
    GemmParams p;
    p.m = M; p.n = N; p.k = K;
    p.a_row_stride = ta ? 1 : K; p.a_col_stride = ta ? M : 1;
    p.b_row_stride = tb ? 1 : N; p.b_col_stride = tb ? K : 1;
    p.y_row_stride = N;
    p.alpha = 0.5f;
    std::vector<float> y(static_cast<size_t>(M * N), 1.0f);
    p.accumulate = trial & 4;
    f32_gemm__scalar(p, a.data(), b.data(), y.data());
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k)
          acc += static_cast<double>(ta ? a[k * M + i] : a[i * K + k]) * (tb ? b[j * K + k] : b[k * N + j]);
        const double expected = (p.accumulate ? 1.0 : 0.0) + 0.5 * acc;
        ASSERT_NEAR(y[i * N + j], expected, 1e-5 * (1 + std::fabs(expected)))
            << "M " << M << " N " << N << " K " << K << " at " << i << "," << j;
      }
  }
}

TEST(RefCastTest, HalfRoundTripsEveryPattern) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16(f), h) << "pattern " << h;
  }
}

TEST(RefCastTest, HalfRoundsToNearestEven) {
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);          // rounds up to infinity
  EXPECT_EQ(f32_to_f16(1.0f + 1.0f / 2048), 0x3C00);  // tie to even (down)
  EXPECT_EQ(f32_to_f16(1.0f + 3.0f / 2048), 0x3C02);  // tie to even (up)
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);                 // tie to even: zero
  EXPECT_EQ(f32_to_f16(std::ldexp(1.5f, -25)), 0x0001);                 // smallest subnormal
  EXPECT_EQ(f32_to_f16(-2.0f), 0xC000);
}

TEST(RefLayoutTest, GatherByAxisOffsetsTransposesAndFills) {
  const int32_t src[6] = {1, 2, 3, 4, 5, 6};  // 2x3
  const int64_t rows[3] = {0, 4, 8}, cols[2] = {0, 12};  // transpose: out[i][j] = src[j][i]
  const int64_t* offsets[2] = {rows, cols};
  const int64_t dims[2] = {3, 2};
  int32_t out[6];
  const int32_t fill = -1;
  gather_by_axis_offsets(2, dims, offsets, 4, src, out, &fill);
  const int32_t expected[6] = {1, 4, 2, 5, 3, 6};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[i], expected[i]);
  const int64_t padRows[3] = {kFillOffset, 0, 12}, padCols[2] = {0, kFillOffset};
  const int64_t* padOffsets[2] = {padRows, padCols};
  gather_by_axis_offsets(2, dims, padOffsets, 4, src, out, &fill);
  const int32_t padded[6] = {-1, -1, 1, -1, 4, -1};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[i], padded[i]);
}

}  // namespace
}  // namespace edgeopt::kernels::ref
