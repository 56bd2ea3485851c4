#include <immintrin.h>

#include "kernels/x86/dwconv.h"

namespace edgeopt::kernels::x86 {

// Layout: [64-channel block][tap group g = taps 4g..4g+3, tap 9+ zero][k = 0..3][64 bytes], where
// dword j of vector k holds the 4 taps of channel 64 * block + 16 * (j / 4) + 4 * k + j % 4: the
// order the two unpack levels in the kernel put the input in.
std::vector<int8_t> packDwConv3x3WeightsVnni(const int8_t* w, int64_t channels) {
  const int64_t blocks = (channels + 63) / 64;
  std::vector<int8_t> packed(static_cast<size_t>(blocks * 3 * 4 * 64), 0);
  for (int64_t b = 0; b < blocks; ++b)
    for (int g = 0; g < 3; ++g)
      for (int k = 0; k < 4; ++k)
        for (int j = 0; j < 16; ++j) {
          const int64_t c = 64 * b + 16 * (j / 4) + 4 * k + j % 4;
          for (int t = 0; t < 4; ++t) {
            const int tap = 4 * g + t;
            if (c < channels && tap < 9)
              packed[static_cast<size_t>(((b * 3 + g) * 4 + k) * 64 + j * 4 + t)] = w[c * 9 + tap];
          }
        }
  return packed;
}

namespace {
inline __mmask64 byteMask(int64_t n) { return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1; }
inline __mmask16 dwordMask(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : n <= 0 ? 0 : static_cast<__mmask16>((1u << n) - 1);
}
}  // namespace

void qu8_dwconv3x3_row__avx512vnni(const DwConv3x3Params& p, int64_t oh, const uint8_t* x, const int8_t* packed,
                                   const int32_t* biasMinusZeroPointSum, const int32_t* w, const int32_t* bias,
                                   int32_t* acc) {
  const int64_t C = p.channels;
  const int64_t ih0 = oh * p.stride_h - p.pad_top;
  const bool rowInside = ih0 >= 0 && ih0 + 3 <= p.in_h;
  DwConv3x3Params one = p;
  one.out_w = 1;
  for (int64_t ow = 0; ow < p.out_w; ++ow) {
    const int64_t iw0 = ow * p.stride_w - p.pad_left;
    int32_t* out = acc + ow * C;
    if (!rowInside || iw0 < 0 || iw0 + 3 > p.in_w) {
      // Border: the avx512f kernel for this one pixel (x shifted so that its ow 0 is this ow).
      one.pad_left = p.pad_left - ow * p.stride_w;
      qu8_dwconv3x3_row__avx512f(one, oh, x, w, bias, out);
      continue;
    }
    const uint8_t* base = x + (ih0 * p.in_w + iw0) * C;
    for (int64_t c0 = 0, b = 0; c0 < C; c0 += 64, ++b) {
      const __mmask64 m = byteMask(C - c0);
      __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
      const int8_t* wb = packed + b * 3 * 4 * 64;
      for (int g = 0; g < 3; ++g) {
        __m512i t[4];
        for (int i = 0; i < 4; ++i) {
          const int tap = 4 * g + i;
          t[i] = tap < 9 ? _mm512_maskz_loadu_epi8(m, base + ((tap / 3) * p.in_w + tap % 3) * C + c0) : _mm512_setzero_si512();
        }
        const __m512i u01l = _mm512_unpacklo_epi8(t[0], t[1]), u01h = _mm512_unpackhi_epi8(t[0], t[1]);
        const __m512i u23l = _mm512_unpacklo_epi8(t[2], t[3]), u23h = _mm512_unpackhi_epi8(t[2], t[3]);
        const int8_t* wg = wb + g * 4 * 64;
        a0 = _mm512_dpbusd_epi32(a0, _mm512_unpacklo_epi16(u01l, u23l), _mm512_loadu_si512(wg));
        a1 = _mm512_dpbusd_epi32(a1, _mm512_unpackhi_epi16(u01l, u23l), _mm512_loadu_si512(wg + 64));
        a2 = _mm512_dpbusd_epi32(a2, _mm512_unpacklo_epi16(u01h, u23h), _mm512_loadu_si512(wg + 128));
        a3 = _mm512_dpbusd_epi32(a3, _mm512_unpackhi_epi16(u01h, u23h), _mm512_loadu_si512(wg + 192));
      }
      // a_k's 128-bit lane L holds channels 16L + 4k .. 16L + 4k + 3: transpose the lanes back.
      const __m512i t0 = _mm512_shuffle_i32x4(a0, a1, 0x44), t1 = _mm512_shuffle_i32x4(a0, a1, 0xEE);
      const __m512i t2 = _mm512_shuffle_i32x4(a2, a3, 0x44), t3 = _mm512_shuffle_i32x4(a2, a3, 0xEE);
      const __m512i v[4] = {_mm512_shuffle_i32x4(t0, t2, 0x88), _mm512_shuffle_i32x4(t0, t2, 0xDD),
                            _mm512_shuffle_i32x4(t1, t3, 0x88), _mm512_shuffle_i32x4(t1, t3, 0xDD)};
      for (int l = 0; l < 4; ++l) {
        const __mmask16 dm = dwordMask(C - c0 - 16 * l);
        if (!dm) break;
        const __m512i adj = _mm512_maskz_loadu_epi32(dm, biasMinusZeroPointSum + c0 + 16 * l);
        _mm512_mask_storeu_epi32(out + c0 + 16 * l, dm, _mm512_add_epi32(v[l], adj));
      }
    }
  }
}

bool hasAvx512Vnni() { return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw"); }

}  // namespace edgeopt::kernels::x86
