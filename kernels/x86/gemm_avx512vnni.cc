#include <immintrin.h>

#include <cstring>

#include "kernels/x86/gemm.h"
#include "kernels/x86/requantize.h"
#include "kernels/x86/requantize_avx512_inl.h"

namespace edgeopt::kernels::x86 {

namespace {
// Packs weights given as w(c, segment, byte) (byte < segmentBytes) and the output stage.
template <class Weight>
bool prepare(int64_t segments, int64_t segmentBytes, int64_t n, Weight w, const int32_t* biasMinusZeroPointSum,
             const ref::Requantization* requant, const ref::QuantParams& q, QGemmVnni* g) {
  if (segments <= 0 || segmentBytes <= 0 || n <= 0) return false;
  const int64_t vectors = (n + 15) / 16, groups = (segmentBytes + 3) / 4;
  g->segments = segments;
  g->segmentBytes = segmentBytes;
  g->groups = groups;
  g->n = n;
  g->output_zero_point = q.output_zero_point;
  g->output_min = q.output_min;
  g->output_max = q.output_max;
  g->b.assign(static_cast<size_t>(vectors * segments * groups * 64), 0);
  g->constants.assign(static_cast<size_t>(vectors * kOutputStageWords), 0);
  for (int64_t v = 0; v < vectors; ++v) {
    int64_t lanes[16];
    for (int64_t j = 0; j < 16; ++j) {
      const int64_t c = 16 * v + j;
      lanes[j] = c < n ? c : 16 * v;  // padding lanes repeat a real channel; never stored
      if (c >= n) continue;
      for (int64_t s = 0; s < segments; ++s)
        for (int64_t i = 0; i < segmentBytes; ++i)
          g->b[static_cast<size_t>((((v * segments + s) * groups + i / 4) * 16 + j) * 4 + i % 4)] = w(c, s, i);
    }
    outputStageConstants16(lanes, biasMinusZeroPointSum, requant, g->constants.data() + v * kOutputStageWords);
  }
  return true;
}
}  // namespace

bool prepareQGemmVnni(int64_t k, int64_t n, const int8_t* w, const int32_t* biasMinusZeroPointSum,
                      const ref::Requantization* requant, const ref::QuantParams& q, QGemmVnni* gemm) {
  if (k % 4 != 0) return false;
  return prepare(1, k, n, [&](int64_t c, int64_t, int64_t i) { return w[c * k + i]; }, biasMinusZeroPointSum, requant,
                 q, gemm);
}

bool prepareQConvVnni(int64_t channels, int64_t n, int64_t kernel_h, int64_t kernel_w, const int8_t* w,
                      const int32_t* biasMinusZeroPointSum, const ref::Requantization* requant,
                      const ref::QuantParams& q, QGemmVnni* conv) {
  // Segment byte i of kernel row s is tap (s, i / channels) of input channel i % channels (NHWC).
  return prepare(
      kernel_h, kernel_w * channels, n,
      [&](int64_t c, int64_t s, int64_t i) {
        return w[((c * channels + i % channels) * kernel_h + s) * kernel_w + i / channels];
      },
      biasMinusZeroPointSum, requant, q, conv);
}

namespace {

// acc + the dot products of a's unsigned and b's signed byte quadruples (vpdpbusd). As inline
// asm because GCC 12 copies the accumulator of _mm512_dpbusd_epi32 around the instruction and,
// with a full register tile, spills it to the stack on every iteration.
inline __m512i dpbusd(__m512i acc, __m512i a, __m512i b) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
  return acc;
}

inline __m256i dpbusd(__m256i acc, __m256i a, __m256i b) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
  return acc;
}

inline __m512i broadcastFour(const uint8_t* p) {
  int32_t four;
  std::memcpy(&four, p, 4);
  return _mm512_set1_epi32(four);
}

// Expands X(i) for every row i < 8 of a register tile, and X(i, v) for every row i < 8 and vector
// v < 4, vector by vector (the output stage needs one vector's constants at a time). Only tiles
// of at most 16 accumulators are instantiated: up to 8 x 2 and 4 x 4.
#define EDGEOPT_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define EDGEOPT_TILE_BY_VECTOR(X)                                                                 \
  X(0, 0) X(1, 0) X(2, 0) X(3, 0) X(4, 0) X(5, 0) X(6, 0) X(7, 0) X(0, 1) X(1, 1) X(2, 1) X(3, 1) \
  X(4, 1) X(5, 1) X(6, 1) X(7, 1) X(0, 2) X(1, 2) X(2, 2) X(3, 2) X(4, 2) X(5, 2) X(6, 2) X(7, 2) \
  X(0, 3) X(1, 3) X(2, 3) X(3, 3) X(4, 3) X(5, 3) X(6, 3) X(7, 3)

// MR pixels (pixel i's input at base + i * pixelStride, its segment s segmentStride further) x NR
// vectors of 16 channels from vector v0, and with kHalf one more vector of which only the first 8
// lanes are computed (in 256-bit registers, which cost half on this CPU: a layer whose channel
// count is 8 more than a multiple of 16 wastes no lanes), written to y (pixel i at y + i * g.n).
// The accumulators are named variables updated by dpbusd's asm: with an array and the intrinsic,
// GCC 12 copied and spilled them on every iteration, which halved the speed of the vpdpbusd stream.
template <int MR, int NR, bool kHalf = false, bool kWholeRows = false>
[[gnu::always_inline]] inline void tile(const uint8_t* base, int64_t pixelStride, int64_t segmentStride,
                                        const QGemmVnni& g, int64_t v0, const StageBounds& stage, uint8_t* y) {
  const ByteBounds bounds(-128, 127);  // requantize16 has applied the output bounds
  static_assert(MR * (NR + kHalf) <= 16 && MR <= 8 && NR <= 4, "tile too large for the register file");
  const int64_t groups = g.groups, perVector = g.segments * groups;
  const int8_t* b = g.b.data() + v0 * perVector * 64;
  const __m512i zero = _mm512_setzero_si512();
#define EDGEOPT_DECLARE(i, v) __m512i acc##i##v = zero;
  EDGEOPT_TILE_BY_VECTOR(EDGEOPT_DECLARE)
#undef EDGEOPT_DECLARE
#define EDGEOPT_DECLARE_HALF(i) __m256i half##i = _mm256_setzero_si256();
  EDGEOPT_ROWS(EDGEOPT_DECLARE_HALF)
#undef EDGEOPT_DECLARE_HALF
#define EDGEOPT_ROW_POINTER(i) const uint8_t* row##i = base + i * pixelStride;
  EDGEOPT_ROWS(EDGEOPT_ROW_POINTER)
#undef EDGEOPT_ROW_POINTER
  for (int64_t s = 0; s < g.segments; ++s) {
    const int64_t offset = s * segmentStride;
    const int8_t* bs = b + s * groups * 64;
    for (int64_t q = 0; q < groups; ++q) {
      const __m512i b0 = NR > 0 ? _mm512_loadu_si512(bs + q * 64) : zero;
      const __m512i b1 = NR > 1 ? _mm512_loadu_si512(bs + (perVector + q) * 64) : zero;
      const __m512i b2 = NR > 2 ? _mm512_loadu_si512(bs + (2 * perVector + q) * 64) : zero;
      const __m512i b3 = NR > 3 ? _mm512_loadu_si512(bs + (3 * perVector + q) * 64) : zero;
      const __m256i bh = kHalf ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bs + (NR * perVector + q) * 64))
                               : _mm256_setzero_si256();
      // One broadcast register at a time, right before its vpdpbusd.
#define EDGEOPT_STEP(i)                                                                     \
  if constexpr (MR > i) {                                                                   \
    const __m512i ai = broadcastFour(row##i + offset + 4 * q);                              \
    if constexpr (NR > 0) acc##i##0 = dpbusd(acc##i##0, ai, b0);                            \
    if constexpr (NR > 1) acc##i##1 = dpbusd(acc##i##1, ai, b1);                            \
    if constexpr (NR > 2) acc##i##2 = dpbusd(acc##i##2, ai, b2);                            \
    if constexpr (NR > 3) acc##i##3 = dpbusd(acc##i##3, ai, b3);                            \
    if constexpr (kHalf) half##i = dpbusd(half##i, _mm512_castsi512_si256(ai), bh);         \
  }
      EDGEOPT_ROWS(EDGEOPT_STEP)
#undef EDGEOPT_STEP
    }
  }
  const int32_t* constants = g.constants.data() + v0 * kOutputStageWords;
#define EDGEOPT_REQUANTIZE(i, v)                                                         \
  if constexpr (MR > i && NR > v)                                                        \
    acc##i##v = requantize16(acc##i##v, loadOutputStage16(constants + v * kOutputStageWords), stage);
  EDGEOPT_TILE_BY_VECTOR(EDGEOPT_REQUANTIZE)
#undef EDGEOPT_REQUANTIZE
  if constexpr (kHalf) {
    const OutputStage8 kh = loadOutputStage8(constants + NR * kOutputStageWords);
#define EDGEOPT_REQUANTIZE_HALF(i) \
  if constexpr (MR > i) half##i = requantize8(half##i, kh, stage);
    EDGEOPT_ROWS(EDGEOPT_REQUANTIZE_HALF)
#undef EDGEOPT_REQUANTIZE_HALF
  }
  const int64_t n = g.n, c0 = v0 * 16, valid = n - c0;  // channels of this tile's row present in y
  auto storeHalf = [&](uint8_t* yr, __m256i u) {
    if constexpr (kHalf) _mm_mask_storeu_epi8(yr + 16 * NR, tailMask16(valid - 16 * NR) & 0xFF, packToUint8(u, bounds));
  };
  auto storeRow = [&](uint8_t* yr, __m512i u0, __m512i u1, __m512i u2, __m512i u3) {
    if constexpr (NR == 0) {
    } else if constexpr (NR == 4) {
      _mm512_mask_storeu_epi8(yr, tailMask64(valid), packInOrder(u0, u1, u2, u3, bounds));
    } else {
      const __m512i u[3] = {u0, u1, u2};
      for (int v = 0; v < NR; ++v) _mm_mask_storeu_epi8(yr + 16 * v, tailMask16(valid - 16 * v), packToUint8(u[v], bounds));
    }
  };
  // kWholeRows: the NR vectors (1 or 2) are the whole output row (n == 16 NR), so four vectors in
  // row-major order are 64 contiguous bytes of y, stored at once (one permute and three packs
  // instead of a narrowing and a partial store per vector). firstRow: the rows stored this way.
  constexpr int firstRow = !kWholeRows ? 0 : NR == 1 ? (MR >= 4 ? (MR == 8 ? 8 : 4) : 0) : MR / 2 * 2;
  if constexpr (kWholeRows) {
    static_assert(!kHalf && (NR == 1 || NR == 2), "whole rows of 16 or 32 channels only");
    auto store4 = [&](uint8_t* dst, __m512i u0, __m512i u1, __m512i u2, __m512i u3) {
      _mm512_storeu_si512(dst, packInOrder(u0, u1, u2, u3, bounds));
    };
    if constexpr (NR == 1) {
      if constexpr (MR >= 4) store4(y, acc00, acc10, acc20, acc30);
      if constexpr (MR == 8) store4(y + 64, acc40, acc50, acc60, acc70);
    } else if constexpr (NR == 2) {
      if constexpr (MR >= 2) store4(y, acc00, acc01, acc10, acc11);
      if constexpr (MR >= 4) store4(y + 64, acc20, acc21, acc30, acc31);
      if constexpr (MR >= 6) store4(y + 128, acc40, acc41, acc50, acc51);
      if constexpr (MR >= 8) store4(y + 192, acc60, acc61, acc70, acc71);
    }
  }
#define EDGEOPT_STORE(i)                                                                         \
  if constexpr (MR > i) {                                                                        \
    if constexpr (i >= firstRow) storeRow(y + i * n + c0, acc##i##0, acc##i##1, acc##i##2, acc##i##3); \
    storeHalf(y + i * n + c0, half##i);                                                              \
  }
  EDGEOPT_ROWS(EDGEOPT_STORE)
#undef EDGEOPT_STORE
}
#undef EDGEOPT_TILE_BY_VECTOR
#undef EDGEOPT_ROWS

// Tiles over a block of pixels: kRows pixels x NR vectors, the tail in smaller tiles. One function
// per tile shape with its tiles inlined (left to itself, GCC stops inlining the tiles once there
// are many shapes, and a call per tile measured up to 10 % slower).
template <int NR, int kRows, bool kHalf = false, bool kWholeRows = false>
[[gnu::noinline]] void tilesOverPixels(int64_t pixels, const uint8_t* base, int64_t pixelStride, int64_t segmentStride,
                                       const QGemmVnni& g, int64_t v0, const StageBounds& bounds, uint8_t* y) {
  int64_t p = 0;
  for (; p + kRows <= pixels; p += kRows)
    tile<kRows, NR, kHalf, kWholeRows>(base + p * pixelStride, pixelStride, segmentStride, g, v0, bounds, y + p * g.n);
  const uint8_t* bp = base + p * pixelStride;
  uint8_t* yp = y + p * g.n;
  switch (pixels - p) {
    case 7: if constexpr (kRows > 7) tile<7, NR, kHalf, kWholeRows>(bp, pixelStride, segmentStride, g, v0, bounds, yp); break;
    case 6: if constexpr (kRows > 6) tile<6, NR, kHalf, kWholeRows>(bp, pixelStride, segmentStride, g, v0, bounds, yp); break;
    case 5: if constexpr (kRows > 5) tile<5, NR, kHalf, kWholeRows>(bp, pixelStride, segmentStride, g, v0, bounds, yp); break;
    case 4: if constexpr (kRows > 4) tile<4, NR, kHalf, kWholeRows>(bp, pixelStride, segmentStride, g, v0, bounds, yp); break;
    case 3: tile<3, NR, kHalf, kWholeRows>(bp, pixelStride, segmentStride, g, v0, bounds, yp); break;
    case 2: tile<2, NR, kHalf, kWholeRows>(bp, pixelStride, segmentStride, g, v0, bounds, yp); break;
    case 1: tile<1, NR, kHalf, kWholeRows>(bp, pixelStride, segmentStride, g, v0, bounds, yp); break;
    default: break;
  }
}

// A run of pixels whose inputs are pixelStride bytes apart: blocks of pixels outer (their input
// stays in L1 while every channel block passes over them), channel blocks inner. Tiles are 4
// pixels x 4 vectors while 4 vectors' weights fit in 16 KB (measured faster than 6 x 4, whose 24
// accumulators leave the output stage too few registers, on every MobileNetV2 1x1 shape); deeper
// layers take 8 pixels x 2 vectors, which halves the weight traffic per vpdpbusd (their weights
// stream from L2); one vector takes 8 pixels (one weight load per 8 vpdpbusd).
void run(int64_t pixels, const uint8_t* base, int64_t pixelStride, int64_t segmentStride, const QGemmVnni& g,
         const StageBounds& bounds, uint8_t* y) {
  const int64_t vectors = (g.n + 15) / 16;
  // A last vector with 8 or fewer channels is computed in 256-bit registers (with the vector
  // before it when one is left for it, so that the pair shares its broadcasts).
  const bool halfLast = g.n % 16 != 0 && g.n % 16 <= 8;
  const int64_t full = vectors - halfLast;
  const bool wide = g.segments * g.groups * 64 * 4 <= 16384;
  constexpr int64_t kPixelBlock = 48;
  for (int64_t p0 = 0; p0 < pixels; p0 += kPixelBlock) {
    const int64_t count = pixels - p0 < kPixelBlock ? pixels - p0 : kPixelBlock;
    const uint8_t* bb = base + p0 * pixelStride;
    uint8_t* yb = y + p0 * g.n;
    int64_t v0 = 0;
    if (wide)
      for (; v0 + 4 <= full; v0 += 4) tilesOverPixels<4, 4>(count, bb, pixelStride, segmentStride, g, v0, bounds, yb);
    if (g.n == 32) {
      tilesOverPixels<2, 8, false, true>(count, bb, pixelStride, segmentStride, g, v0, bounds, yb);
      v0 = 2;
    }
    for (; v0 + 2 <= full; v0 += 2) tilesOverPixels<2, 8>(count, bb, pixelStride, segmentStride, g, v0, bounds, yb);
    if (v0 < full) {
      if (halfLast)
        tilesOverPixels<1, 8, true>(count, bb, pixelStride, segmentStride, g, v0, bounds, yb);
      else if (g.n == 16)
        tilesOverPixels<1, 8, false, true>(count, bb, pixelStride, segmentStride, g, v0, bounds, yb);
      else
        tilesOverPixels<1, 8>(count, bb, pixelStride, segmentStride, g, v0, bounds, yb);
    } else if (halfLast) {
      tilesOverPixels<0, 8, true>(count, bb, pixelStride, segmentStride, g, v0, bounds, yb);
    }
  }
}

}  // namespace

void qu8_gemm_requant__avx512vnni(int64_t m, const uint8_t* a, const QGemmVnni& g, uint8_t* y) {
  run(m, a, g.segmentBytes, 0, g, StageBounds(g.output_zero_point, g.output_min, g.output_max), y);
}

void qu8_conv_requant__avx512vnni(const QConvGeometry& geo, const uint8_t* padded, const QGemmVnni& g, uint8_t* y) {
  // One output row at a time: its pixels' inputs are stride_w * channels bytes apart.
  const int64_t rowBytes = geo.padded_w * geo.channels;
  const StageBounds bounds(g.output_zero_point, g.output_min, g.output_max);
  for (int64_t oh = 0; oh < geo.out_h; ++oh)
    run(geo.out_w, padded + oh * geo.stride_h * rowBytes, geo.stride_w * geo.channels, geo.dilation_h * rowBytes, g,
        bounds, y + oh * geo.out_w * g.n);
}

}  // namespace edgeopt::kernels::x86
