#include <immintrin.h>

#include <cstring>

#include "kernels/x86/gemm.h"
#include "kernels/x86/requantize.h"
#include "kernels/x86/requantize_avx512_inl.h"

namespace edgeopt::kernels::x86 {

bool prepareQGemmVnni(int64_t k, int64_t n, const int8_t* w, const int32_t* biasMinusZeroPointSum,
                      const ref::Requantization* requant, const ref::QuantParams& q, QGemmVnni* gemm) {
  if (k % 4 != 0 || k <= 0 || n <= 0) return false;
  const int64_t vectors = (n + 15) / 16;
  gemm->k = k;
  gemm->n = n;
  gemm->output_min = q.output_min;
  gemm->output_max = q.output_max;
  gemm->b.assign(static_cast<size_t>(vectors * k * 16), 0);
  gemm->constants.assign(static_cast<size_t>(vectors * 48), 0);
  for (int64_t v = 0; v < vectors; ++v) {
    int64_t lanes[16];
    for (int64_t j = 0; j < 16; ++j) {
      const int64_t c = 16 * v + j;
      lanes[j] = c < n ? c : 16 * v;  // padding lanes repeat a real channel; never stored
      if (c >= n) continue;
      for (int64_t i = 0; i < k; ++i)
        gemm->b[static_cast<size_t>(((v * (k / 4) + i / 4) * 16 + j) * 4 + i % 4)] = w[c * k + i];
    }
    if (!shortFormConstants16(lanes, biasMinusZeroPointSum, requant, q.output_zero_point, gemm->constants.data() + v * 48))
      return false;
  }
  return true;
}

namespace {

// Expands X(i, v) for every row i < 4 and vector v < 4 of a register tile.
#define EDGEOPT_TILE_4X4(X) \
  X(0, 0) X(0, 1) X(0, 2) X(0, 3) X(1, 0) X(1, 1) X(1, 2) X(1, 3) X(2, 0) X(2, 1) X(2, 2) X(2, 3) \
  X(3, 0) X(3, 1) X(3, 2) X(3, 3)

// acc + the dot products of a's unsigned and b's signed byte quadruples (vpdpbusd). As inline
// asm because GCC 12 copies the accumulator of _mm512_dpbusd_epi32 around the instruction and,
// with a full register tile, spills it to the stack on every iteration.
inline __m512i dpbusd(__m512i acc, __m512i a, __m512i b) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
  return acc;
}

inline __m512i broadcastFour(const uint8_t* p) {
  int32_t four;
  std::memcpy(&four, p, 4);
  return _mm512_set1_epi32(four);
}

// MR rows x NR vectors of 16 channels, starting at row pointer a (stride k) and vector v0. The
// accumulators are named variables updated by dpbusd's asm: with an array and the intrinsic, GCC
// 12 copied and spilled them on every iteration, which halved the speed of the vpdpbusd stream.
template <int MR, int NR>
void tile(const uint8_t* a, const QGemmVnni& g, int64_t v0, const ByteBounds& bounds, uint8_t* y) {
  const int64_t k = g.k, groups = k / 4;
  const int8_t* b = g.b.data() + v0 * k * 16;
  const __m512i zero = _mm512_setzero_si512();
#define EDGEOPT_DECLARE(i, v) __m512i acc##i##v = zero;
  EDGEOPT_TILE_4X4(EDGEOPT_DECLARE)
#undef EDGEOPT_DECLARE
  for (int64_t q = 0; q < groups; ++q) {
    const __m512i b0 = _mm512_loadu_si512(b + q * 64);
    const __m512i b1 = NR > 1 ? _mm512_loadu_si512(b + (groups + q) * 64) : zero;
    const __m512i b2 = NR > 2 ? _mm512_loadu_si512(b + (2 * groups + q) * 64) : zero;
    const __m512i b3 = NR > 3 ? _mm512_loadu_si512(b + (3 * groups + q) * 64) : zero;
    // One broadcast register at a time, right before its four vpdpbusd.
#define EDGEOPT_ROW(i)                                                   \
  if constexpr (MR > i) {                                                \
    const __m512i ai = broadcastFour(a + i * k + 4 * q);                 \
    acc##i##0 = dpbusd(acc##i##0, ai, b0);                  \
    if constexpr (NR > 1) acc##i##1 = dpbusd(acc##i##1, ai, b1); \
    if constexpr (NR > 2) acc##i##2 = dpbusd(acc##i##2, ai, b2); \
    if constexpr (NR > 3) acc##i##3 = dpbusd(acc##i##3, ai, b3); \
  }
    EDGEOPT_ROW(0) EDGEOPT_ROW(1) EDGEOPT_ROW(2) EDGEOPT_ROW(3)
#undef EDGEOPT_ROW
  }
  ShortFormConstants c[NR];
  for (int v = 0; v < NR; ++v) c[v] = loadShortFormConstants(g.constants.data() + (v0 + v) * 48);
#define EDGEOPT_REQUANTIZE(i, v) \
  if constexpr (MR > i && NR > v) acc##i##v = shortFormRequantize16(acc##i##v, c[v]);
  EDGEOPT_TILE_4X4(EDGEOPT_REQUANTIZE)
#undef EDGEOPT_REQUANTIZE
  const int64_t n = g.n, c0 = v0 * 16, valid = n - c0;  // channels of this tile's row present in y
  auto storeRow = [&](uint8_t* yr, __m512i u0, __m512i u1, __m512i u2, __m512i u3) {
    if constexpr (NR == 4) {
      const __mmask64 m = valid >= 64 ? ~__mmask64{0} : (__mmask64{1} << valid) - 1;
      _mm512_mask_storeu_epi8(yr, m, _mm512_permutexvar_epi32(packedChannelOrder(), packToUint8(u0, u1, u2, u3, bounds)));
    } else {
      const __m512i u[3] = {u0, u1, u2};
      for (int v = 0; v < NR; ++v) {
        const int64_t left = valid - 16 * v;
        const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
        _mm_mask_storeu_epi8(yr + 16 * v, m, packToUint8(u[v], bounds));
      }
    }
  };
#define EDGEOPT_STORE(i) \
  if constexpr (MR > i) storeRow(y + i * n + c0, acc##i##0, acc##i##1, acc##i##2, acc##i##3);
  EDGEOPT_STORE(0) EDGEOPT_STORE(1) EDGEOPT_STORE(2) EDGEOPT_STORE(3)
#undef EDGEOPT_STORE
}
#undef EDGEOPT_TILE_4X4

// Tiles of 4 rows: measured faster than 6 (24 accumulators leave the output stage too few
// registers) on every MobileNetV2 shape, including the deep ones.
constexpr int kTileRows = 4;

template <int NR>
void rowsOfTiles(int64_t m, const uint8_t* a, const QGemmVnni& g, int64_t v0, const ByteBounds& bounds, uint8_t* y) {
  int64_t r = 0;
  for (; r + kTileRows <= m; r += kTileRows) tile<kTileRows, NR>(a + r * g.k, g, v0, bounds, y + r * g.n);
  switch (m - r) {
    case 3: tile<3, NR>(a + r * g.k, g, v0, bounds, y + r * g.n); break;
    case 2: tile<2, NR>(a + r * g.k, g, v0, bounds, y + r * g.n); break;
    case 1: tile<1, NR>(a + r * g.k, g, v0, bounds, y + r * g.n); break;
    default: break;
  }
}

}  // namespace

void qu8_gemm_requant__avx512vnni(int64_t m, const uint8_t* a, const QGemmVnni& g, uint8_t* y) {
  const ByteBounds bounds(g.output_min, g.output_max);
  const int64_t vectors = (g.n + 15) / 16;
  // Row blocks outer: a block's rows of a stay in L1 while every channel block passes over them.
  constexpr int64_t kRowBlock = 48;
  for (int64_t r0 = 0; r0 < m; r0 += kRowBlock) {
    const int64_t rows = m - r0 < kRowBlock ? m - r0 : kRowBlock;
    const uint8_t* ar = a + r0 * g.k;
    uint8_t* yr = y + r0 * g.n;
    int64_t v0 = 0;
    for (; v0 + 4 <= vectors; v0 += 4) rowsOfTiles<4>(rows, ar, g, v0, bounds, yr);
    switch (vectors - v0) {
      case 3: rowsOfTiles<3>(rows, ar, g, v0, bounds, yr); break;
      case 2: rowsOfTiles<2>(rows, ar, g, v0, bounds, yr); break;
      case 1: rowsOfTiles<1>(rows, ar, g, v0, bounds, yr); break;
      default: break;
    }
  }
}

}  // namespace edgeopt::kernels::x86
