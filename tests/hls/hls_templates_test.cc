// The HLS template library (kernels/hls) under g++ C simulation, against the scalar int8
// definition (kernels/ref/quant.h) bit for bit: the matrix-vector unit at several foldings per
// shape, the thresholds taken from ref::requantizationThresholds, and the checked stream shim.
// Built with -Wall -Wextra -Werror -Wno-unknown-pragmas, as the emitted projects' `make csim`.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <random>
#include <vector>

#include "kernels/hls/mvu.h"
#include "kernels/hls/pool.h"
#include "kernels/hls/stream.h"
#include "kernels/hls/swu.h"
#include "kernels/hls/vvu.h"
#include "kernels/ref/quant.h"

namespace {
namespace ref = edgeopt::kernels::ref;
using edgeopt_hls::Pack;
using edgeopt_hls::Stream;

constexpr int kLevels = 255;  // every int8 level; unused levels get thresholds nothing reaches

// A random int8 fully connected layer: weights [MH][MW], per-channel bias and multiplier, bounds.
struct Layer {
  int mw = 0, mh = 0;
  std::vector<int8_t> w;
  std::vector<int32_t> bias;
  std::vector<ref::Requantization> requant;
  ref::QuantParams q;
};

Layer randomLayer(std::mt19937& rng, int mw, int mh, int bounds) {
  Layer l;
  l.mw = mw, l.mh = mh;
  std::uniform_int_distribution<int> wd(-127, 127), zp(-128, 127), bd(-3000, 3000);
  std::uniform_real_distribution<float> m(0.0005f, 0.02f);
  for (int i = 0; i < mw * mh; ++i) l.w.push_back(static_cast<int8_t>(wd(rng)));
  for (int c = 0; c < mh; ++c) {
    l.bias.push_back(bd(rng));
    l.requant.push_back(ref::Requantization{m(rng)});
  }
  l.q.input_zero_point = zp(rng);
  l.q.output_zero_point = zp(rng);
  if (bounds >= 1) l.q.output_min = l.q.output_zero_point;
  if (bounds == 2) l.q.output_max = std::min(127, l.q.output_zero_point + 50);
  return l;
}

// Thresholds as the emitter writes them: int32, clamped beyond the accumulator's reach (|acc| <=
// MW * 255 * 127, so a threshold above it is never met and one below it always is), levels past
// output_max - output_min set unreachable.
std::vector<int32_t> channelThresholds(const Layer& l, int c) {
  const int64_t reach = int64_t{l.mw} * 255 * 127 + 1;
  std::vector<int32_t> t(kLevels, static_cast<int32_t>(reach));
  const auto exact = ref::requantizationThresholds(l.bias[static_cast<size_t>(c)], l.requant[static_cast<size_t>(c)], l.q);
  for (size_t k = 0; k < exact.size(); ++k) t[k] = static_cast<int32_t>(std::clamp<int64_t>(exact[k], -reach, reach));
  return t;
}

// Streams NCHW int8 images as NHWC elements of SIMD channels (what a design's input stream holds).
template <int SIMD>
void streamNhwc(const std::vector<int8_t>& nchw, int images, int channels, int pixels, Stream<Pack<int8_t, SIMD>>& in) {
  for (int n = 0; n < images; ++n)
    for (int i = 0; i < pixels; ++i)
      for (int c0 = 0; c0 < channels; c0 += SIMD) {
        Pack<int8_t, SIMD> px;
        for (int t = 0; t < SIMD; ++t) px.v[t] = nchw[static_cast<size_t>((n * channels + c0 + t) * pixels + i)];
        in.write(px);
      }
}

// Reads NHWC elements of SIMD channels and compares them with NCHW reference outputs.
template <int SIMD>
void expectNhwcEqualsNchw(Stream<Pack<int8_t, SIMD>>& out, const std::vector<int8_t>& want, int images, int channels, int pixels) {
  for (int n = 0; n < images; ++n)
    for (int o = 0; o < pixels; ++o)
      for (int c0 = 0; c0 < channels; c0 += SIMD) {
        const Pack<int8_t, SIMD> y = out.read();
        for (int t = 0; t < SIMD; ++t)
          ASSERT_EQ(y.v[t], want[static_cast<size_t>((n * channels + c0 + t) * pixels + o)]) << "pixel " << o << " channel " << c0 + t;
      }
}

template <int MW, int MH, int SIMD, int PE>
void checkMvu(const Layer& l, const std::vector<int8_t>& x, int vectors) {
  constexpr int SF = MW / SIMD, NF = MH / PE;
  static int8_t weights[PE][NF * SF][SIMD];
  static int32_t thresholds[PE][NF][kLevels];
  for (int c = 0; c < MH; ++c) {
    const int pe = c % PE, nf = c / PE;
    for (int k = 0; k < MW; ++k) weights[pe][nf * SF + k / SIMD][k % SIMD] = l.w[static_cast<size_t>(c * MW + k)];
    const auto t = channelThresholds(l, c);
    std::copy(t.begin(), t.end(), thresholds[pe][nf]);
  }
  Stream<Pack<int8_t, SIMD>> in("mvu.in");
  Stream<Pack<int8_t, PE>> out("mvu.out");
  for (int v = 0; v < vectors; ++v)
    for (int sf = 0; sf < SF; ++sf) {
      Pack<int8_t, SIMD> p;
      for (int s = 0; s < SIMD; ++s) p.v[s] = x[static_cast<size_t>(v * MW + sf * SIMD + s)];
      in.write(p);
    }
  edgeopt_hls::mvu<MW, MH, SIMD, PE, kLevels>(in, out, weights, thresholds, l.q.input_zero_point, l.q.output_min, vectors);
  std::vector<int8_t> want(static_cast<size_t>(vectors * MH));
  ref::qs8_gemm__scalar(vectors, MH, MW, l.q, x.data(), l.w.data(), /*b_transposed=*/true, l.bias.data(), l.requant.data(),
                        want.data());
  ASSERT_EQ(out.size(), static_cast<size_t>(vectors * NF)) << "SIMD " << SIMD << " PE " << PE;
  for (int v = 0; v < vectors; ++v)
    for (int nf = 0; nf < NF; ++nf) {
      const Pack<int8_t, PE> y = out.read();
      for (int pe = 0; pe < PE; ++pe)
        ASSERT_EQ(y.v[pe], want[static_cast<size_t>(v * MH + nf * PE + pe)])
            << "MW " << MW << " MH " << MH << " SIMD " << SIMD << " PE " << PE << " vector " << v << " channel " << nf * PE + pe;
    }
}

template <int MW, int MH, int... Foldings>
struct Sweep;
template <int MW, int MH>
struct Sweep<MW, MH> {
  static void run(const Layer&, const std::vector<int8_t>&, int) {}
};
template <int MW, int MH, int SIMD, int PE, int... Rest>
struct Sweep<MW, MH, SIMD, PE, Rest...> {
  static void run(const Layer& l, const std::vector<int8_t>& x, int vectors) {
    checkMvu<MW, MH, SIMD, PE>(l, x, vectors);
    Sweep<MW, MH, Rest...>::run(l, x, vectors);
  }
};

// Each shape at every folding listed (SIMD, PE pairs): all-1, partial, and fully parallel.
template <int MW, int MH, int... Foldings>
void sweepShape(uint32_t seed) {
  std::mt19937 rng(seed);
  for (int bounds = 0; bounds < 3; ++bounds) {
    const Layer l = randomLayer(rng, MW, MH, bounds);
    const int vectors = 3;
    std::vector<int8_t> x(static_cast<size_t>(vectors * MW));
    std::uniform_int_distribution<int> xd(-128, 127);
    for (auto& v : x) v = static_cast<int8_t>(xd(rng));
    Sweep<MW, MH, Foldings...>::run(l, x, vectors);
  }
}

// The threshold unit on every accumulator within 1 of each threshold (where an off-by-one in the
// comparison shows), against the reference output stage.
TEST(HlsTemplatesTest, ThresholdUnitMatchesTheOutputStageAtEveryBoundary) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 60; ++trial) {
    const Layer l = randomLayer(rng, 300, 1, trial % 3);
    const std::vector<int32_t> t = channelThresholds(l, 0);
    for (int k = 0; k < l.q.output_max - l.q.output_min; ++k)
      for (int32_t d = -1; d <= 1; ++d) {
        const int32_t acc = t[static_cast<size_t>(k)] + d;
        ASSERT_EQ(edgeopt_hls::applyThresholds<kLevels>(acc, t.data(), l.q.output_min),
                  ref::requantizeToOutput(acc + l.bias[0], l.requant[0], l.q))
            << "trial " << trial << " level " << k << " acc " << acc;
      }
  }
}

TEST(HlsTemplatesTest, MvuMatchesTheReferenceAtEveryFolding) {
  sweepShape<12, 6, 1, 1, 3, 2, 4, 3, 12, 6, 6, 1, 1, 6>(1);
  sweepShape<64, 10, 1, 1, 16, 5, 64, 10, 8, 2>(2);
  sweepShape<784, 32, 1, 1, 16, 8, 49, 16, 112, 4>(3);  // the zoo MLP's first layer, cut to 32 outputs
  sweepShape<5, 7, 1, 1, 5, 7, 5, 1>(4);                // odd sizes
}

// A convolution as SWU -> MVU (MW = K * K * C) against ref::qs8_conv__scalar: padding with the
// input zero point, strides 1-2 (and a stride larger than the kernel, whose skipped rows must still
// be consumed), asymmetric output sizes, several images, two foldings.
template <int C, int H, int W, int K, int S, int PT, int PL, int OH, int OW, int M, int SIMD, int PE>
void checkConv(uint32_t seed) {
  constexpr int MW = K * K * C, SF = MW / SIMD, NF = M / PE;
  std::mt19937 rng(seed);
  const int images = 2;
  Layer l = randomLayer(rng, MW, M, static_cast<int>(seed % 3));
  // l.w is [M][kh][kw][c] (the SWU's window order); the reference takes OIHW.
  std::vector<int8_t> oihw(l.w.size());
  for (int m = 0; m < M; ++m)
    for (int kh = 0; kh < K; ++kh)
      for (int kw = 0; kw < K; ++kw)
        for (int c = 0; c < C; ++c)
          oihw[static_cast<size_t>(((m * C + c) * K + kh) * K + kw)] = l.w[static_cast<size_t>(m * MW + (kh * K + kw) * C + c)];
  std::uniform_int_distribution<int> xd(-128, 127);
  std::vector<int8_t> nchw(static_cast<size_t>(images * C * H * W));
  for (auto& v : nchw) v = static_cast<int8_t>(xd(rng));
  ref::ConvParams p;
  p.batch = images, p.in_channels = C, p.out_channels = M, p.groups = 1;
  p.in[1] = H, p.in[2] = W, p.out[1] = OH, p.out[2] = OW;
  p.kernel[1] = p.kernel[2] = K;
  p.stride[1] = p.stride[2] = S;
  p.pad_begin[1] = PT, p.pad_begin[2] = PL;
  std::vector<int8_t> want(static_cast<size_t>(images * M * OH * OW));
  ref::qs8_conv__scalar(p, l.q, nchw.data(), oihw.data(), l.bias.data(), l.requant.data(), want.data());

  static int8_t weights[PE][NF * SF][SIMD];
  static int32_t thresholds[PE][NF][kLevels];
  for (int c = 0; c < M; ++c) {
    for (int k = 0; k < MW; ++k) weights[c % PE][(c / PE) * SF + k / SIMD][k % SIMD] = l.w[static_cast<size_t>(c * MW + k)];
    const auto t = channelThresholds(l, c);
    std::copy(t.begin(), t.end(), thresholds[c % PE][c / PE]);
  }
  Stream<Pack<int8_t, SIMD>> in("conv.in"), windows("conv.windows");
  Stream<Pack<int8_t, PE>> out("conv.out");
  streamNhwc<SIMD>(nchw, images, C, H * W, in);
  edgeopt_hls::swu<C, H, W, K, S, PT, PL, OH, OW, SIMD>(in, windows, l.q.input_zero_point, images);
  ASSERT_EQ(windows.size(), static_cast<size_t>(images * OH * OW * SF));
  edgeopt_hls::mvu<MW, M, SIMD, PE, kLevels>(windows, out, weights, thresholds, l.q.input_zero_point, l.q.output_min,
                                             images * OH * OW);
  for (int n = 0; n < images; ++n)
    for (int o = 0; o < OH * OW; ++o)
      for (int nf = 0; nf < NF; ++nf) {
        const Pack<int8_t, PE> y = out.read();
        for (int pe = 0; pe < PE; ++pe)
          ASSERT_EQ(y.v[pe], want[static_cast<size_t>((n * M + nf * PE + pe) * OH * OW + o)])
              << "K " << K << " S " << S << " image " << n << " pixel " << o << " channel " << nf * PE + pe;
      }
}

TEST(HlsTemplatesTest, ConvolutionAsSlidingWindowAndMvuMatchesTheReference) {
  checkConv<4, 7, 6, 3, 1, 1, 1, 7, 6, 8, 1, 1>(1);    // 3x3 "same", all-1 folding
  checkConv<4, 7, 6, 3, 1, 1, 1, 7, 6, 8, 4, 8>(2);    // the same, SIMD 4 x PE 8
  checkConv<2, 9, 8, 3, 2, 1, 1, 5, 4, 6, 2, 3>(3);    // stride 2 with padding
  checkConv<2, 9, 8, 3, 2, 0, 0, 4, 3, 6, 2, 2>(4);    // stride 2, no padding: the last row unused
  checkConv<1, 8, 8, 2, 3, 0, 0, 3, 3, 4, 1, 2>(5);    // stride 3 > kernel 2: skipped rows
  checkConv<8, 5, 5, 1, 1, 0, 0, 5, 5, 16, 8, 16>(6);  // pointwise
  checkConv<3, 6, 7, 3, 1, 0, 2, 4, 9, 4, 3, 2>(7);    // left padding 2, right 2, top 0, bottom 0
}

// int32 thresholds of an output stage whose accumulators stay inside int32 (clamping is exact).
std::vector<int32_t> int32Thresholds(int32_t bias, ref::Requantization r, const ref::QuantParams& q) {
  std::vector<int32_t> t(kLevels, INT32_MAX);
  const auto exact = ref::requantizationThresholds(bias, r, q);
  for (size_t k = 0; k < exact.size(); ++k) t[k] = static_cast<int32_t>(std::clamp<int64_t>(exact[k], INT32_MIN, INT32_MAX));
  return t;
}

template <int C, int H, int W, int K, int S, int PT, int PL, int OH, int OW, int SIMD>
void checkMaxPool(uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> xd(-128, 127);
  const int images = 2;
  std::vector<int8_t> nchw(static_cast<size_t>(images * C * H * W));
  for (auto& v : nchw) v = static_cast<int8_t>(xd(rng) / 2 - 64);  // mostly negative: padding must not win
  ref::PoolParams p;
  p.batch = images, p.channels = C;
  p.in[1] = H, p.in[2] = W, p.out[1] = OH, p.out[2] = OW;
  p.kernel[1] = p.kernel[2] = K;
  p.stride[1] = p.stride[2] = S;
  p.pad_begin[1] = PT, p.pad_begin[2] = PL;
  std::vector<int8_t> want(static_cast<size_t>(images * C * OH * OW));
  ref::s8_maxpool__scalar(p, nchw.data(), want.data(), nullptr);
  Stream<Pack<int8_t, SIMD>> in("pool.in"), windows("pool.windows"), out("pool.out");
  streamNhwc<SIMD>(nchw, images, C, H * W, in);
  edgeopt_hls::swu<C, H, W, K, S, PT, PL, OH, OW, SIMD>(in, windows, -128, images);
  edgeopt_hls::maxWindows<K * K, C / SIMD, SIMD>(windows, out, images * OH * OW);
  expectNhwcEqualsNchw<SIMD>(out, want, images, C, OH * OW);
}

TEST(HlsTemplatesTest, PoolingAndResidualAddMatchTheReference) {
  checkMaxPool<4, 7, 7, 3, 2, 1, 1, 4, 4, 2>(1);  // ResNet's 3x3 stride-2 pool with padding
  checkMaxPool<3, 6, 5, 2, 2, 0, 0, 3, 2, 3>(2);
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> xd(-128, 127), zp(-128, 127);
  // Global average pooling: 2 images of 5 x 3 pixels, 8 channels, SIMD 4.
  {
    constexpr int C = 8, SIMD = 4, pixels = 15, images = 2;
    std::vector<int8_t> nchw(images * C * pixels);
    for (auto& v : nchw) v = static_cast<int8_t>(xd(rng));
    ref::QuantParams q;
    q.input_zero_point = zp(rng);
    q.output_zero_point = zp(rng);
    const ref::Requantization r{ref::averageMultiplier(0.04f, 0.03f, pixels)};
    ref::PoolParams p;
    p.batch = images, p.channels = C;
    p.in[1] = p.kernel[1] = p.padded_end[1] = 5;
    p.in[2] = p.kernel[2] = p.padded_end[2] = 3;
    const auto perCount = ref::averageRequantization(0.04f, 0.03f, pixels);
    std::vector<int8_t> want(images * C);
    ref::qs8_avgpool__scalar(p, false, q, perCount.data(), nchw.data(), want.data());
    const auto t = int32Thresholds(0, r, q);
    Stream<Pack<int8_t, SIMD>> in("gap.in"), out("gap.out");
    streamNhwc<SIMD>(nchw, images, C, pixels, in);
    edgeopt_hls::globalAveragePool<C / SIMD, SIMD, kLevels>(in, out, t.data(), q.input_zero_point, q.output_min, pixels, images);
    expectNhwcEqualsNchw<SIMD>(out, want, images, C, 1);
  }
  // Residual Add, ratios around 1 and one saturating, with and without ReLU.
  for (int trial = 0; trial < 6; ++trial) {
    constexpr int SIMD = 4, n = 64;
    std::vector<int8_t> a(n), b(n), want(n);
    for (auto& v : a) v = static_cast<int8_t>(xd(rng));
    for (auto& v : b) v = static_cast<int8_t>(xd(rng));
    ref::AddRequantization r;
    ASSERT_TRUE(ref::quantizeAddMultipliers(trial == 5 ? 40.0f : 0.3f + 0.25f * trial, 0.8f, &r));
    ref::QuantParams q;
    q.output_zero_point = zp(rng);
    if (trial % 2) q.output_min = q.output_zero_point;
    const int32_t za = zp(rng), zb = zp(rng);
    ref::qs8_add__scalar(n, a.data(), za, b.data(), zb, r, q, want.data());
    const auto t = int32Thresholds(0, r.out, q);
    Stream<Pack<int8_t, SIMD>> sa("add.a"), sb("add.b"), out("add.out");
    for (int i = 0; i < n; i += SIMD) {
      Pack<int8_t, SIMD> pa, pb;
      for (int s2 = 0; s2 < SIMD; ++s2) pa.v[s2] = a[static_cast<size_t>(i + s2)], pb.v[s2] = b[static_cast<size_t>(i + s2)];
      sa.write(pa);
      sb.write(pb);
    }
    edgeopt_hls::residualAdd<SIMD, kLevels>(sa, sb, out, t.data(), za, r.a_weight, zb, r.b_weight, q.output_min, n / SIMD);
    for (int i = 0; i < n; i += SIMD) {
      const Pack<int8_t, SIMD> y = out.read();
      for (int s2 = 0; s2 < SIMD; ++s2) ASSERT_EQ(y.v[s2], want[static_cast<size_t>(i + s2)]) << "trial " << trial << " element " << i + s2;
    }
  }
}

// A depthwise convolution as SWU -> VVU against ref::qs8_conv__scalar with groups = channels.
template <int C, int H, int W, int K, int S, int PT, int PL, int OH, int OW, int SIMD>
void checkDepthwise(uint32_t seed) {
  constexpr int K2 = K * K, CF = C / SIMD;
  std::mt19937 rng(seed);
  const int images = 2;
  Layer l = randomLayer(rng, K2, C, static_cast<int>(seed % 3));  // w: [C][K2]
  std::uniform_int_distribution<int> xd(-128, 127);
  std::vector<int8_t> nchw(static_cast<size_t>(images * C * H * W));
  for (auto& v : nchw) v = static_cast<int8_t>(xd(rng));
  ref::ConvParams p;
  p.batch = images, p.in_channels = C, p.out_channels = C, p.groups = C;
  p.in[1] = H, p.in[2] = W, p.out[1] = OH, p.out[2] = OW;
  p.kernel[1] = p.kernel[2] = K;
  p.stride[1] = p.stride[2] = S;
  p.pad_begin[1] = PT, p.pad_begin[2] = PL;
  std::vector<int8_t> want(static_cast<size_t>(images * C * OH * OW));
  ref::qs8_conv__scalar(p, l.q, nchw.data(), l.w.data(), l.bias.data(), l.requant.data(), want.data());
  static int8_t weights[CF][K2][SIMD];
  static int32_t thresholds[CF][SIMD][kLevels];
  for (int c = 0; c < C; ++c) {
    for (int k = 0; k < K2; ++k) weights[c / SIMD][k][c % SIMD] = l.w[static_cast<size_t>(c * K2 + k)];
    const auto t = channelThresholds(l, c);
    std::copy(t.begin(), t.end(), thresholds[c / SIMD][c % SIMD]);
  }
  Stream<Pack<int8_t, SIMD>> in("dw.in"), windows("dw.windows"), out("dw.out");
  streamNhwc<SIMD>(nchw, images, C, H * W, in);
  edgeopt_hls::swu<C, H, W, K, S, PT, PL, OH, OW, SIMD>(in, windows, l.q.input_zero_point, images);
  edgeopt_hls::vvu<K2, CF, SIMD, kLevels>(windows, out, weights, thresholds, l.q.input_zero_point, l.q.output_min,
                                         images * OH * OW);
  expectNhwcEqualsNchw<SIMD>(out, want, images, C, OH * OW);
}

TEST(HlsTemplatesTest, DepthwiseAsSlidingWindowAndVvuMatchesTheReference) {
  checkDepthwise<8, 6, 6, 3, 1, 1, 1, 6, 6, 1>(1);
  checkDepthwise<8, 6, 6, 3, 1, 1, 1, 6, 6, 8>(2);
  checkDepthwise<6, 9, 7, 3, 2, 1, 1, 5, 4, 3>(3);
}

// The threshold search (a binary search of thresholdSteps(kLevels) comparisons) counts exactly the
// thresholds at or below the accumulator, for level counts that are and are not 2^s - 1, over
// nondecreasing thresholds with repeats, at and around every threshold.
template <int kL>
void checkThresholdCount(std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> td(-5000, 5000), step(0, 3);
  for (int trial = 0; trial < 20; ++trial) {
    int32_t t[kL];
    int32_t v = td(rng);
    for (int k = 0; k < kL; ++k) t[k] = v += step(rng);  // repeats where the step is 0
    const int32_t lowest = -128 + trial % (256 - kL);  // lowest + kL stays an int8
    for (int k = 0; k < kL; ++k)
      for (int32_t acc : {t[k] - 1, t[k], t[k] + 1, INT32_MIN, INT32_MAX}) {
        const int32_t want = lowest + static_cast<int32_t>(std::count_if(t, t + kL, [&](int32_t x) { return x <= acc; }));
        ASSERT_EQ(edgeopt_hls::applyThresholds<kL>(acc, t, lowest), want) << "levels " << kL << " acc " << acc;
      }
  }
}

TEST(HlsTemplatesTest, ThresholdSearchCountsExactlyForEveryLevelCount) {
  std::mt19937 rng(9);
  static_assert(edgeopt_hls::thresholdSteps(255) == 8 && edgeopt_hls::thresholdSteps(256) == 9 &&
                    edgeopt_hls::thresholdSteps(1) == 1 && edgeopt_hls::thresholdSteps(127) == 7,
                "comparisons per search");
  checkThresholdCount<1>(rng);
  checkThresholdCount<2>(rng);
  checkThresholdCount<3>(rng);
  checkThresholdCount<100>(rng);
  checkThresholdCount<127>(rng);
  checkThresholdCount<128>(rng);
  checkThresholdCount<255>(rng);
}

// Width conversion keeps the order for gathering, scattering and neither-divides widths, and each
// records the iterations the estimate gives it; duplicate copies every element to both outputs.
template <int IN, int OUT, int TOTAL>
void checkRepack(long expectedIterationsPerVector) {
  const int vectors = 3;
  Stream<Pack<int8_t, IN>> in("repack.in");
  Stream<Pack<int8_t, OUT>> out("repack.out");
  for (int i = 0; i < vectors * TOTAL / IN; ++i) {
    Pack<int8_t, IN> x;
    for (int s = 0; s < IN; ++s) x.v[s] = static_cast<int8_t>((i * IN + s) % 251 - 120);
    in.write(x);
  }
  edgeopt_hls::csimIterations().clear();
  edgeopt_hls::repack<IN, OUT, TOTAL>(in, out, vectors);
  ASSERT_EQ(edgeopt_hls::csimIterations().size(), 1u);
  EXPECT_EQ(edgeopt_hls::csimIterations()[0], vectors * expectedIterationsPerVector) << IN << " -> " << OUT;
  ASSERT_EQ(out.size(), static_cast<size_t>(vectors * TOTAL / OUT));
  for (int o = 0; o < vectors * TOTAL / OUT; ++o) {
    const Pack<int8_t, OUT> y = out.read();
    for (int s = 0; s < OUT; ++s) ASSERT_EQ(y.v[s], static_cast<int8_t>((o * OUT + s) % 251 - 120)) << IN << " -> " << OUT;
  }
}

TEST(HlsTemplatesTest, RepackAndDuplicateKeepTheOrder) {
  checkRepack<2, 8, 16>(8);   // gather: one input per clock
  checkRepack<8, 2, 16>(8);   // scatter: one output per clock
  checkRepack<4, 6, 12>(5);   // neither divides the other: 3 reads + 2 writes
  checkRepack<4, 4, 12>(3);
  Stream<Pack<int8_t, 2>> in("dup.in"), a("dup.a"), b("dup.b");
  for (int i = 0; i < 5; ++i) in.write(Pack<int8_t, 2>{{static_cast<int8_t>(i), static_cast<int8_t>(-i)}});
  edgeopt_hls::duplicate<2>(in, a, b, 5);
  for (int i = 0; i < 5; ++i) {
    const Pack<int8_t, 2> x = a.read(), y = b.read();
    EXPECT_EQ(x.v[0], i);
    EXPECT_EQ(y.v[1], -i);
  }
}

// The stream shim fails loudly: a read from an empty stream, and data left at the end.
TEST(HlsTemplatesDeathTest, StreamShimFailsLoudly) {
  EXPECT_DEATH(
      {
        Stream<int> s("empty");
        (void)s.read();
      },
      "read from the empty stream 'empty'");
  EXPECT_DEATH(
      {
        Stream<int> s("leftover");
        s.write(1);
      },
      "stream 'leftover' still holds 1 element");
}

}  // namespace
