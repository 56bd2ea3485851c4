// NEON kernels (kernels/neon) against their scalar twins in kernels/ref, bit-exact for int8;
// built for aarch64 and run under qemu-aarch64 (tests/neon/run.sh).
#include <gtest/gtest.h>

#include <random>

#include <cmath>
#include <string>

#include "kernels/neon/elementwise.h"
#include "kernels/neon/gemm.h"
#include "kernels/neon/requantize.h"
#include "tests/unit/requantize_tester.h"

namespace edgeopt::kernels {
namespace {

TEST(KernelsNeonTest, RequantizeRowsMatchesScalar) {
  for (int64_t c : {1, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 64, 100})
    for (int64_t r : {1, 2, 5})
      for (bool bias : {false, true})
        RequantizeRowsTester().rows(r).channels(c).withBias(bias).relu(c % 2 == 0).seed(static_cast<uint32_t>(c * 10 + r)).test<int8_t>(
            neon::qs8_requantize_rows__neon);
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> d(1, 300);
  for (int trial = 0; trial < 100; ++trial)
    RequantizeRowsTester().rows(d(rng) % 40 + 1).channels(d(rng)).seed(static_cast<uint32_t>(trial)).test<int8_t>(
        neon::qs8_requantize_rows__neon);
}

}  // namespace
}  // namespace edgeopt::kernels

namespace edgeopt::kernels {
namespace {

enum class GemmKind { kDot, kSmlal, kF32 };

// One micro-kernel tile (mr x nc, K) on packed weights against plain loops: int8 accumulators
// exact (with bias and the activation zero point folded in by the packing), fp32 within 1e-5.
class GemmMicrokernelTester {
 public:
  GemmMicrokernelTester& m(size_t v) { m_ = v; return *this; }
  GemmMicrokernelTester& n(size_t v) { n_ = v; return *this; }
  GemmMicrokernelTester& k(size_t v) { k_ = v; return *this; }
  GemmMicrokernelTester& aStride(size_t v) { aStride_ = v; return *this; }
  GemmMicrokernelTester& cStride(size_t v) { cStride_ = v; return *this; }
  GemmMicrokernelTester& seed(uint32_t v) { seed_ = v; return *this; }

  void test(GemmKind kind) const {
    std::mt19937 rng(seed_);
    const size_t as = std::max(aStride_, k_), cs = std::max(cStride_, n_);
    if (kind == GemmKind::kF32) {
      std::uniform_real_distribution<float> d(-1.0f, 1.0f);
      std::vector<float> a(m_ * as), b(k_ * n_), bias(n_), c(m_ * cs, 7.0f);
      for (auto& v : a) v = d(rng);
      for (auto& v : b) v = d(rng);
      for (auto& v : bias) v = d(rng);
      const auto packed = neon::f32_pack_gemm_8(k_, n_, b.data(), false, bias.data());
      neon::f32_gemm_4x8__neonfma(m_, n_, k_, a.data(), as, packed.data(), c.data(), cs);
      for (size_t i = 0; i < m_; ++i)
        for (size_t j = 0; j < n_; ++j) {
          double want = bias[j];
          for (size_t kk = 0; kk < k_; ++kk) want += static_cast<double>(a[i * as + kk]) * b[kk * n_ + j];
          ASSERT_NEAR(c[i * cs + j], want, 1e-5 * (1 + std::fabs(want) + k_)) << describe(i, j);
        }
      return;
    }
    std::uniform_int_distribution<int> av(-128, 127), bv(-127, 127), bd(-5000, 5000), zd(-128, 127);
    std::vector<int8_t> a(m_ * as), b(k_ * n_);
    std::vector<int32_t> bias(n_), c(m_ * cs, 0x5A5A5A5A);
    for (auto& v : a) v = static_cast<int8_t>(av(rng));
    for (auto& v : b) v = static_cast<int8_t>(bv(rng));
    for (auto& v : bias) v = bd(rng);
    const int32_t zp = zd(rng);
    const auto packed = kind == GemmKind::kDot ? neon::qs8_pack_gemm_8c4(k_, n_, b.data(), false, bias.data(), zp)
                                               : neon::qs8_pack_gemm_8(k_, n_, b.data(), false, bias.data(), zp);
    if (kind == GemmKind::kDot)
      neon::qs8_gemm_4x8c4__neondot(m_, n_, k_, a.data(), as, packed.data(), c.data(), cs);
    else
      neon::qs8_gemm_4x8__neon(m_, n_, k_, a.data(), as, packed.data(), c.data(), cs);
    for (size_t i = 0; i < m_; ++i) {
      for (size_t j = 0; j < n_; ++j) {
        int32_t want = bias[j];
        for (size_t kk = 0; kk < k_; ++kk) want += (a[i * as + kk] - zp) * b[kk * n_ + j];
        ASSERT_EQ(c[i * cs + j], want) << describe(i, j);
      }
      for (size_t j = n_; j < cs; ++j) ASSERT_EQ(c[i * cs + j], 0x5A5A5A5A) << "wrote past nc: " << describe(i, j);
    }
  }

 private:
  std::string describe(size_t i, size_t j) const {
    return "C[" + std::to_string(i) + "][" + std::to_string(j) + "] of m " + std::to_string(m_) + " n " + std::to_string(n_) +
           " k " + std::to_string(k_);
  }
  size_t m_ = 4, n_ = 8, k_ = 8, aStride_ = 0, cStride_ = 0;
  uint32_t seed_ = 1;
};

// Tile edges: k below, at and above the k block (4 or 8), partial rows and columns, strided A and C.
void sweep(GemmKind kind) {
  uint32_t seed = 1;
  for (size_t k : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64})
    for (size_t m = 1; m <= 4; ++m)
      for (size_t n = 1; n <= 8; ++n) {
        GemmMicrokernelTester().m(m).n(n).k(k).seed(seed++).test(kind);
        if (::testing::Test::HasFatalFailure()) return;
      }
  for (size_t k : {5, 16, 40}) GemmMicrokernelTester().m(4).n(8).k(k).aStride(k + 13).cStride(11).seed(seed++).test(kind);
}

TEST(KernelsNeonTest, Qs8Gemm4x8c4NeonDotMatchesScalar) {
  if (!neon::hasDotProd()) GTEST_SKIP() << "this CPU has no dot product instructions";
  sweep(GemmKind::kDot);
}

TEST(KernelsNeonTest, Qs8Gemm4x8NeonMatchesScalar) { sweep(GemmKind::kSmlal); }

TEST(KernelsNeonTest, F32Gemm4x8NeonFmaMatchesScalar) { sweep(GemmKind::kF32); }

// The whole int8 GEMM: tiles of the micro-kernel chosen from the CPU's features, then the NEON
// output stage, equal to ref::qs8_gemm__scalar bit for bit.
TEST(KernelsNeonTest, Qs8GemmWithOutputStageMatchesReference) {
  std::mt19937 rng(77);
  std::uniform_int_distribution<int> dim(1, 40), av(-128, 127), bv(-127, 127), zd(-128, 127);
  const bool dot = neon::hasDotProd();
  for (int trial = 0; trial < 40; ++trial) {
    const size_t M = static_cast<size_t>(dim(rng)), N = static_cast<size_t>(dim(rng)), K = static_cast<size_t>(dim(rng));
    std::vector<int8_t> a(M * K), b(K * N);
    for (auto& v : a) v = static_cast<int8_t>(av(rng));
    for (auto& v : b) v = static_cast<int8_t>(bv(rng));
    std::vector<int32_t> bias(N);
    for (auto& v : bias) v = av(rng) * 40;
    ref::QuantParams q;
    q.input_zero_point = zd(rng);
    q.output_zero_point = zd(rng);
    std::vector<ref::Requantization> rq;
    for (size_t j = 0; j < N; ++j) rq.push_back(ref::Requantization{0.0005f + 0.0001f * static_cast<float>(j % 7)});
    std::vector<int8_t> want(M * N);
    ref::qs8_gemm__scalar(static_cast<int64_t>(M), static_cast<int64_t>(N), static_cast<int64_t>(K), q, a.data(), b.data(),
                          false, bias.data(), rq.data(), want.data());
    const auto packed = dot ? neon::qs8_pack_gemm_8c4(K, N, b.data(), false, bias.data(), q.input_zero_point)
                            : neon::qs8_pack_gemm_8(K, N, b.data(), false, bias.data(), q.input_zero_point);
    const size_t panel = dot ? neon::qs8_packed_panel_8c4(K) : neon::qs8_packed_panel_8(K);
    std::vector<int32_t> acc(M * N);
    for (size_t i = 0; i < M; i += 4)
      for (size_t p = 0; p * 8 < N; ++p) {
        const size_t mr = std::min<size_t>(4, M - i), nc = std::min<size_t>(8, N - p * 8);
        if (dot)
          neon::qs8_gemm_4x8c4__neondot(mr, nc, K, a.data() + i * K, K, packed.data() + p * panel, acc.data() + i * N + p * 8, N);
        else
          neon::qs8_gemm_4x8__neon(mr, nc, K, a.data() + i * K, K, packed.data() + p * panel, acc.data() + i * N + p * 8, N);
      }
    std::vector<int8_t> got(M * N);
    neon::qs8_requantize_rows__neon(static_cast<int64_t>(M), static_cast<int64_t>(N), acc.data(), nullptr, rq.data(), q,
                                    got.data());
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(got[i], want[i]) << "trial " << trial << " M " << M << " N " << N << " K " << K << " index " << i;
  }
}

}  // namespace
}  // namespace edgeopt::kernels

namespace edgeopt::kernels {
namespace {

// NHWC <-> NCHW for one image.
template <typename T>
std::vector<T> toNchw(const std::vector<T>& nhwc, int64_t h, int64_t w, int64_t c) {
  std::vector<T> out(nhwc.size());
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t i = 0; i < h * w; ++i) out[static_cast<size_t>(ch * h * w + i)] = nhwc[static_cast<size_t>(i * c + ch)];
  return out;
}

// Depthwise 3x3 rows (int8 + the NEON output stage, and fp32) against the reference convolution
// with groups == channels: channel tails around the 8-lane (int8) and 4-lane (fp32) blocks,
// borders, strides 1 and 2, pads 0 to 2.
void testDwConv(int64_t C, int64_t H, int64_t W, int64_t stride, int64_t pad, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> xv(-128, 127), wv(-127, 127), bd(-3000, 3000), zp(-128, 127);
  ref::ConvParams p;
  p.batch = 1;
  p.in_channels = p.out_channels = p.groups = C;
  p.in[1] = H;
  p.in[2] = W;
  p.kernel[1] = p.kernel[2] = 3;
  p.stride[1] = p.stride[2] = stride;
  p.pad_begin[1] = p.pad_begin[2] = pad;
  p.out[1] = (H + 2 * pad - 3) / stride + 1;
  p.out[2] = (W + 2 * pad - 3) / stride + 1;
  const int64_t OH = p.out[1], OW = p.out[2];
  std::vector<int8_t> x(static_cast<size_t>(H * W * C)), w(static_cast<size_t>(C * 9));
  for (auto& v : x) v = static_cast<int8_t>(xv(rng));
  for (auto& v : w) v = static_cast<int8_t>(wv(rng));
  std::vector<int32_t> bias(static_cast<size_t>(C));
  for (auto& v : bias) v = bd(rng);
  ref::QuantParams q;
  q.input_zero_point = zp(rng);
  q.output_zero_point = zp(rng);
  std::vector<ref::Requantization> rq;
  for (int64_t c = 0; c < C; ++c) rq.push_back(ref::Requantization{0.002f + 0.001f * static_cast<float>(c % 5)});
  std::vector<int8_t> want(static_cast<size_t>(C * OH * OW));
  ref::qs8_conv__scalar(p, q, toNchw(x, H, W, C).data(), w.data(), bias.data(), rq.data(), want.data());
  std::vector<int16_t> wide(static_cast<size_t>(9 * C));
  std::vector<float> xf(x.size()), wf(wide.size()), wfNchw(w.size()), bf(bias.size());
  for (int64_t c = 0; c < C; ++c)
    for (int t = 0; t < 9; ++t) {
      wide[static_cast<size_t>(t * C + c)] = w[static_cast<size_t>(c * 9 + t)];
      wf[static_cast<size_t>(t * C + c)] = wfNchw[static_cast<size_t>(c * 9 + t)] = 0.01f * w[static_cast<size_t>(c * 9 + t)];
    }
  for (size_t i = 0; i < x.size(); ++i) xf[i] = 0.1f * x[i];
  for (size_t i = 0; i < bias.size(); ++i) bf[i] = 0.001f * static_cast<float>(bias[i]);
  std::vector<float> wantF(want.size());
  ref::f32_conv__scalar(p, toNchw(xf, H, W, C).data(), wfNchw.data(), bf.data(), wantF.data());
  neon::DwConv3x3Params d;
  d.in_h = H;
  d.in_w = W;
  d.channels = C;
  d.out_w = OW;
  d.stride_h = d.stride_w = stride;
  d.pad_top = d.pad_left = pad;
  d.x_zero_point = q.input_zero_point;
  std::vector<int32_t> acc(static_cast<size_t>(OW * C));
  std::vector<int8_t> row(acc.size());
  std::vector<float> rowF(acc.size());
  for (int64_t oh = 0; oh < OH; ++oh) {
    neon::qs8_dwconv3x3_row__neon(d, oh, x.data(), wide.data(), bias.data(), acc.data());
    neon::qs8_requantize_rows__neon(OW, C, acc.data(), nullptr, rq.data(), q, row.data());
    neon::f32_dwconv3x3_row__neon(d, oh, xf.data(), wf.data(), bf.data(), rowF.data());
    for (int64_t ow = 0; ow < OW; ++ow)
      for (int64_t c = 0; c < C; ++c) {
        const size_t ref = static_cast<size_t>((c * OH + oh) * OW + ow), got = static_cast<size_t>(ow * C + c);
        ASSERT_EQ(row[got], want[ref]) << "int8 output (" << oh << ", " << ow << ") channel " << c << ": channels " << C
                                       << " input " << H << "x" << W << " stride " << stride << " pad " << pad;
        ASSERT_NEAR(rowF[got], wantF[ref], 1e-4f * (1.0f + std::fabs(wantF[ref])))
            << "fp32 output (" << oh << ", " << ow << ") channel " << c << ": channels " << C;
      }
  }
}

TEST(KernelsNeonTest, DwConv3x3MatchesReference) {
  uint32_t seed = 1;
  for (int64_t c : {1, 4, 7, 8, 9, 16, 24, 33})
    for (int64_t stride : {1, 2})
      for (int64_t pad : {0, 1, 2})
        for (auto [h, w] : {std::pair<int64_t, int64_t>{3, 3}, {5, 8}, {9, 6}}) {
          testDwConv(c, h, w, stride, pad, seed++);
          if (HasFatalFailure()) return;
        }
}

TEST(KernelsNeonTest, AddMatchesScalar) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> ratio(0.01, 4.0);
  std::uniform_int_distribution<int> zp(-128, 127), xv(-128, 127);
  for (int64_t n : {1, 7, 8, 9, 15, 16, 17, 100, 1001}) {
    for (int trial = 0; trial < 7; ++trial) {
      std::vector<int8_t> a(static_cast<size_t>(n)), b(a.size());
      for (auto& v : a) v = static_cast<int8_t>(xv(rng));
      for (auto& v : b) v = static_cast<int8_t>(xv(rng));
      // Trial 6: a ratio above 2^14 (M = 2^-s above 1, saturating outputs).
      ref::AddRequantization r;
      ASSERT_TRUE(ref::quantizeAddMultipliers(trial == 6 ? 50000.0f : static_cast<float>(ratio(rng)),
                                              static_cast<float>(ratio(rng) / (trial % 3 + 1)), &r));
      ref::QuantParams q;
      q.output_zero_point = zp(rng);
      if (trial % 2) q.output_min = q.output_zero_point;
      const int32_t az = zp(rng), bz = zp(rng);
      std::vector<int8_t> want(a.size()), got(a.size());
      ref::qs8_add__scalar(n, a.data(), az, b.data(), bz, r, q, want.data());
      neon::qs8_add__neon(n, a.data(), az, b.data(), bz, r, q, got.data());
      for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << "index " << i << " of " << n;
    }
  }
}

TEST(KernelsNeonTest, GlobalAvgPoolNhwcMatchesReference) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> dim(1, 9), zp(-128, 127), xv(-128, 127);
  for (int trial = 0; trial < 50; ++trial) {
    const int64_t N = dim(rng) % 3 + 1, H = dim(rng), W = dim(rng), C = dim(rng) * 3;
    std::vector<int8_t> x(static_cast<size_t>(N * H * W * C));
    for (auto& v : x) v = static_cast<int8_t>(xv(rng));
    ref::QuantParams q;
    q.input_zero_point = zp(rng);
    q.output_zero_point = zp(rng);
    const float xs = std::uniform_real_distribution<float>(0.01f, 0.1f)(rng);
    const auto perCount = ref::averageRequantization(xs, xs / std::uniform_real_distribution<float>(0.3f, 3.0f)(rng), H * W);
    std::vector<int8_t> nchw(x.size());
    for (int64_t n = 0; n < N; ++n) {
      const std::vector<int8_t> img(x.begin() + n * H * W * C, x.begin() + (n + 1) * H * W * C);
      const auto t = toNchw(img, H, W, C);
      std::copy(t.begin(), t.end(), nchw.begin() + n * H * W * C);
    }
    ref::PoolParams pp;
    pp.batch = N;
    pp.channels = C;
    pp.in[1] = pp.kernel[1] = pp.padded_end[1] = H;
    pp.in[2] = pp.kernel[2] = pp.padded_end[2] = W;
    std::vector<int8_t> want(static_cast<size_t>(N * C)), got(want.size());
    ref::qs8_avgpool__scalar(pp, false, q, perCount.data(), nchw.data(), want.data());
    neon::qs8_global_avgpool_nhwc__neon(N, H * W, C, x.data(), perCount[static_cast<size_t>(H * W)], q, got.data());
    for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << "trial " << trial << " index " << i;
  }
}

TEST(KernelsNeonTest, MaxPoolNhwcMatchesReference) {
  std::mt19937 rng(10);
  std::uniform_int_distribution<int> dim(1, 9), xv(-128, 127), k(1, 3);
  for (int trial = 0; trial < 80; ++trial) {
    neon::MaxPool2d p;
    p.channels = dim(rng) * 3 + (trial % 2 ? 16 : 0);
    p.kernel_h = k(rng);
    p.kernel_w = k(rng);
    p.stride_h = k(rng);
    p.stride_w = k(rng);
    p.pad_top = std::uniform_int_distribution<int>(0, static_cast<int>(p.kernel_h) - 1)(rng);
    p.pad_left = std::uniform_int_distribution<int>(0, static_cast<int>(p.kernel_w) - 1)(rng);
    p.in_h = std::max<int64_t>(dim(rng), p.kernel_h);
    p.in_w = std::max<int64_t>(dim(rng), p.kernel_w);
    p.out_h = (p.in_h + 2 * p.pad_top - p.kernel_h) / p.stride_h + 1;
    p.out_w = (p.in_w + 2 * p.pad_left - p.kernel_w) / p.stride_w + 1;
    std::vector<int8_t> x(static_cast<size_t>(p.in_h * p.in_w * p.channels));
    for (auto& v : x) v = static_cast<int8_t>(xv(rng));
    ref::PoolParams r;
    r.batch = 1;
    r.channels = p.channels;
    r.in[1] = p.in_h;
    r.in[2] = p.in_w;
    r.out[1] = p.out_h;
    r.out[2] = p.out_w;
    r.kernel[1] = p.kernel_h;
    r.kernel[2] = p.kernel_w;
    r.stride[1] = p.stride_h;
    r.stride[2] = p.stride_w;
    r.pad_begin[1] = p.pad_top;
    r.pad_begin[2] = p.pad_left;
    std::vector<int8_t> want(static_cast<size_t>(p.out_h * p.out_w * p.channels)), got(want.size());
    ref::s8_maxpool__scalar(r, toNchw(x, p.in_h, p.in_w, p.channels).data(), want.data(), nullptr);
    neon::s8_maxpool_nhwc__neon(p, x.data(), got.data());
    for (int64_t c = 0; c < p.channels; ++c)
      for (int64_t i = 0; i < p.out_h * p.out_w; ++i)
        ASSERT_EQ(got[static_cast<size_t>(i * p.channels + c)], want[static_cast<size_t>(c * p.out_h * p.out_w + i)])
            << "trial " << trial << " channel " << c << " output " << i;
  }
}

}  // namespace
}  // namespace edgeopt::kernels
