#include <immintrin.h>

#include "kernels/x86/dwconv.h"

namespace edgeopt::kernels::x86 {

// Layout: [64-channel block][kw][k = 0..3][64 bytes]; dword j of vector k holds channel
// 64 * block + 16 * (j / 4) + 4 * k + j % 4, bytes kh = 0..2 its weights at (kh, kw), byte 3 zero:
// the order the two unpack levels of the kernel put an interleaved input column in.
std::vector<int8_t> packDwConv3x3WeightsVnni(const int8_t* w, int64_t channels) {
  const int64_t blocks = (channels + 63) / 64;
  std::vector<int8_t> packed(static_cast<size_t>(blocks * 3 * 4 * 64), 0);
  for (int64_t b = 0; b < blocks; ++b)
    for (int kw = 0; kw < 3; ++kw)
      for (int k = 0; k < 4; ++k)
        for (int j = 0; j < 16; ++j) {
          const int64_t c = 64 * b + 16 * (j / 4) + 4 * k + j % 4;
          if (c >= channels) continue;
          for (int kh = 0; kh < 3; ++kh)
            packed[static_cast<size_t>(((b * 3 + kw) * 4 + k) * 64 + j * 4 + kh)] = w[c * 9 + kh * 3 + kw];
        }
  return packed;
}

size_t dwConv3x3VnniScratchBytes(const DwConv3x3Params& p) {
  return static_cast<size_t>((p.out_w - 1) * p.stride_w + 3) * 256;
}

namespace {
inline __mmask64 byteMask(int64_t n) { return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1; }
inline __mmask16 dwordMask(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : n <= 0 ? 0 : static_cast<__mmask16>((1u << n) - 1);
}
}  // namespace

void qu8_dwconv3x3_row__avx512vnni(const DwConv3x3Params& p, int64_t oh, const uint8_t* x, const int8_t* packed,
                                   const int32_t* biasMinusZeroPointSum, uint8_t* scratch, int32_t* acc) {
  const int64_t C = p.channels;
  const int64_t ih0 = oh * p.stride_h - p.pad_top;
  const int64_t columns = (p.out_w - 1) * p.stride_w + 3;
  const __m512i zpBytes = _mm512_set1_epi8(static_cast<char>(p.x_zero_point));
  const __m512i zero = _mm512_setzero_si512();
  bool rowInside[3];
  for (int t = 0; t < 3; ++t) rowInside[t] = ih0 + t >= 0 && ih0 + t < p.in_h;
  for (int64_t c0 = 0, b = 0; c0 < C; c0 += 64, ++b) {
    const __mmask64 m = byteMask(C - c0);
    // Interleave every input column once: dword c of vector k = channel c's bytes of rows 0..2.
    for (int64_t col = 0; col < columns; ++col) {
      const int64_t iw = col - p.pad_left;
      const bool colInside = iw >= 0 && iw < p.in_w;
      __m512i r[3];
      for (int t = 0; t < 3; ++t)
        r[t] = rowInside[t] && colInside ? _mm512_maskz_loadu_epi8(m, x + ((ih0 + t) * p.in_w + iw) * C + c0) : zpBytes;
      const __m512i u01l = _mm512_unpacklo_epi8(r[0], r[1]), u01h = _mm512_unpackhi_epi8(r[0], r[1]);
      const __m512i u2l = _mm512_unpacklo_epi8(r[2], zero), u2h = _mm512_unpackhi_epi8(r[2], zero);
      uint8_t* s = scratch + col * 256;
      _mm512_storeu_si512(s, _mm512_unpacklo_epi16(u01l, u2l));
      _mm512_storeu_si512(s + 64, _mm512_unpackhi_epi16(u01l, u2l));
      _mm512_storeu_si512(s + 128, _mm512_unpacklo_epi16(u01h, u2h));
      _mm512_storeu_si512(s + 192, _mm512_unpackhi_epi16(u01h, u2h));
    }
    const int8_t* wb = packed + b * 3 * 4 * 64;
    __m512i w[3][4];
    for (int kw = 0; kw < 3; ++kw)
      for (int k = 0; k < 4; ++k) w[kw][k] = _mm512_loadu_si512(wb + (kw * 4 + k) * 64);
    __m512i adj[4];
    for (int l = 0; l < 4; ++l) adj[l] = _mm512_maskz_loadu_epi32(dwordMask(C - c0 - 16 * l), biasMinusZeroPointSum + c0 + 16 * l);
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      const uint8_t* s = scratch + ow * p.stride_w * 256;
      __m512i a[4] = {zero, zero, zero, zero};
      for (int kw = 0; kw < 3; ++kw)
        for (int k = 0; k < 4; ++k) a[k] = _mm512_dpbusd_epi32(a[k], _mm512_loadu_si512(s + kw * 256 + k * 64), w[kw][k]);
      // a[k]'s 128-bit lane L holds channels 16L + 4k .. 16L + 4k + 3: transpose the lanes back.
      const __m512i t0 = _mm512_shuffle_i32x4(a[0], a[1], 0x44), t1 = _mm512_shuffle_i32x4(a[0], a[1], 0xEE);
      const __m512i t2 = _mm512_shuffle_i32x4(a[2], a[3], 0x44), t3 = _mm512_shuffle_i32x4(a[2], a[3], 0xEE);
      const __m512i v[4] = {_mm512_shuffle_i32x4(t0, t2, 0x88), _mm512_shuffle_i32x4(t0, t2, 0xDD),
                            _mm512_shuffle_i32x4(t1, t3, 0x88), _mm512_shuffle_i32x4(t1, t3, 0xDD)};
      int32_t* out = acc + ow * C + c0;
      for (int l = 0; l < 4; ++l) {
        const __mmask16 dm = dwordMask(C - c0 - 16 * l);
        if (!dm) break;
        _mm512_mask_storeu_epi32(out + 16 * l, dm, _mm512_add_epi32(v[l], adj[l]));
      }
    }
  }
}

bool hasAvx512Vnni() { return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw"); }

}  // namespace edgeopt::kernels::x86
