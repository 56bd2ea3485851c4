#include <immintrin.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "kernels/x86/requantize.h"
#include "kernels/x86/requantize_avx512_inl.h"

namespace edgeopt::kernels::x86 {

namespace {

// The Add of quant.h in 16-bit pieces, for shifts s >= 17 (ratios below about 2^14, so every real
// residual Add): with da = a - za, db = b - zb in [-255, 255] and each multiplier split as
// M = Mh 2^16 + Ml (Ml in [-2^15, 2^15)), H = da Mah + db Mbh and L = da Mal + db Mbl are exact
// int32 word-pair dot products (vpmaddwd), and
//   floor((da Ma + db Mb + 2^(s-1)) / 2^s) = floor((H + 2^(s-17) + floor(L / 2^16)) / 2^(s-16))
// (the dropped low 16 bits of L are a fraction below one unit of the outer floor's numerator).
// The output zero point joins the constant as zy 2^(s-16). False when a piece or the sum might
// not fit int32 (then the int64 form runs).
struct AddInWords {
  int16_t aHigh, aLow, bHigh, bLow;
  int32_t constant, shift;  // shift = s - 16
};

bool addInWords(const ref::AddRequantization& r, int32_t output_zero_point_int8, AddInWords* w) {
  if (r.shift < 17) return false;
  auto split = [](int64_t m, int16_t* high, int16_t* low) {
    int64_t l = m & 0xFFFF;
    if (l >= 0x8000) l -= 0x10000;
    const int64_t h = (m - l) >> 16;
    if (h > INT16_MAX) return false;
    *high = static_cast<int16_t>(h);
    *low = static_cast<int16_t>(l);
    return true;
  };
  if (!split(r.a_multiplier, &w->aHigh, &w->aLow) || !split(r.b_multiplier, &w->bHigh, &w->bLow)) return false;
  const int64_t constant = (int64_t{1} << (r.shift - 17)) + int64_t{output_zero_point_int8} * (int64_t{1} << (r.shift - 16));
  const int64_t highBound = 255 * (int64_t{std::abs(w->aHigh)} + std::abs(w->bHigh));
  const int64_t lowBound = (255 * (int64_t{std::abs(w->aLow)} + std::abs(w->bLow))) / 65536 + 1;
  if (std::abs(constant) + highBound + lowBound >= (int64_t{1} << 31)) return false;
  w->constant = static_cast<int32_t>(constant);
  w->shift = r.shift - 16;
  return true;
}

// 32 results (int8 domain, int32 lanes in two vectors: lanes of `lo` hold elements 8 L .. 8 L + 3
// of 128-bit lane L, `hi` elements 8 L + 4 .. 8 L + 7) packed back to 32 int16 in element order.
inline __m512i addWords32(__m256i a, __m256i b, __m512i za, __m512i zb, __m512i high, __m512i low, __m512i constant,
                          __m128i shift) {
  const __m512i da = _mm512_sub_epi16(_mm512_cvtepu8_epi16(a), za), db = _mm512_sub_epi16(_mm512_cvtepu8_epi16(b), zb);
  auto half = [&](__m512i pairs) {
    const __m512i h = _mm512_add_epi32(_mm512_madd_epi16(pairs, high), constant);
    return _mm512_sra_epi32(_mm512_add_epi32(h, _mm512_srai_epi32(_mm512_madd_epi16(pairs, low), 16)), shift);
  };
  return _mm512_packs_epi32(half(_mm512_unpacklo_epi16(da, db)), half(_mm512_unpackhi_epi16(da, db)));
}

}  // namespace

void qu8_add__avx512f(int64_t n, const uint8_t* a, int32_t a_zero_point, const uint8_t* b, int32_t b_zero_point,
                      const ref::AddRequantization& r, const ref::QuantParams& q, uint8_t* y) {
  AddInWords w;
  if (addInWords(r, q.output_zero_point - 128, &w)) {
    const __m512i za = _mm512_set1_epi16(static_cast<int16_t>(a_zero_point)), zb = _mm512_set1_epi16(static_cast<int16_t>(b_zero_point));
    const __m512i high = _mm512_set1_epi32(static_cast<int32_t>(static_cast<uint16_t>(w.aHigh)) | (int32_t{w.bHigh} << 16));
    const __m512i low = _mm512_set1_epi32(static_cast<int32_t>(static_cast<uint16_t>(w.aLow)) | (int32_t{w.bLow} << 16));
    const __m512i constant = _mm512_set1_epi32(w.constant);
    const __m128i shift = _mm_cvtsi32_si128(w.shift);
    const ByteBounds bounds(q.output_min - 128, q.output_max - 128);
    // packs_epi16 interleaves the two halves by 8-byte pieces within lanes; vpermq restores order.
    const __m512i order = _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7);
    for (int64_t i = 0; i < n; i += 64) {
      const __mmask64 m = tailMask64(n - i);
      const __m512i av = _mm512_maskz_loadu_epi8(m, a + i), bv = _mm512_maskz_loadu_epi8(m, b + i);
      const __m512i w0 = addWords32(_mm512_castsi512_si256(av), _mm512_castsi512_si256(bv), za, zb, high, low, constant, shift);
      const __m512i w1 = addWords32(_mm512_extracti64x4_epi64(av, 1), _mm512_extracti64x4_epi64(bv, 1), za, zb, high, low,
                                    constant, shift);
      _mm512_mask_storeu_epi8(y + i, m, _mm512_permutexvar_epi64(order, boundedUint8(_mm512_packs_epi16(w0, w1), bounds)));
    }
    return;
  }
  const __m512i ma = _mm512_set1_epi32(r.a_multiplier), mb = _mm512_set1_epi32(r.b_multiplier);
  const __m512i za = _mm512_set1_epi32(a_zero_point), zb = _mm512_set1_epi32(b_zero_point);
  const __m512i half = _mm512_set1_epi64(r.shift > 0 ? int64_t{1} << (r.shift - 1) : 0);
  const __m128i shift = _mm_cvtsi32_si128(r.shift);
  const __m512i zp = _mm512_set1_epi32(q.output_zero_point);
  const __m512i lo = _mm512_set1_epi32(q.output_min), hi = _mm512_set1_epi32(q.output_max);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tailMask16(n - i);
    const __m512i av = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, a + i)), za);
    const __m512i bv = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, b + i)), zb);
    __m512i even = _mm512_add_epi64(_mm512_mul_epi32(av, ma), _mm512_mul_epi32(bv, mb));
    __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(av, 32), ma),
                                   _mm512_mul_epi32(_mm512_srli_epi64(bv, 32), mb));
    even = _mm512_sra_epi64(_mm512_add_epi64(even, half), shift);
    odd = _mm512_sra_epi64(_mm512_add_epi64(odd, half), shift);
    __m512i v = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
    v = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(v, zp), lo), hi);
    _mm512_mask_cvtusepi32_storeu_epi8(y + i, mask, v);
  }
}

void qu8_planes_to_pixels4__avx512bw(int64_t n, const uint8_t* const* planes, int count, uint8_t fill, uint8_t* out) {
  const __m128i filler = _mm_set1_epi8(static_cast<char>(fill));
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tailMask16(n - i);
    __m128i p[4];
    for (int c = 0; c < 4; ++c) p[c] = c < count ? _mm_maskz_loadu_epi8(m, planes[c] + i) : filler;
    const __m128i p01l = _mm_unpacklo_epi8(p[0], p[1]), p01h = _mm_unpackhi_epi8(p[0], p[1]);
    const __m128i p23l = _mm_unpacklo_epi8(p[2], p[3]), p23h = _mm_unpackhi_epi8(p[2], p[3]);
    const __m512i pixels = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_setr_m128i(_mm_unpacklo_epi16(p01l, p23l), _mm_unpackhi_epi16(p01l, p23l))),
        _mm256_setr_m128i(_mm_unpacklo_epi16(p01h, p23h), _mm_unpackhi_epi16(p01h, p23h)), 1);
    const __mmask64 bytes = tailMask64(4 * (n - i));
    _mm512_mask_storeu_epi8(out + 4 * i, bytes, pixels);
  }
}

void qu8_quantize__avx512f(int64_t n, const float* x, float scale, int32_t zero_point, uint8_t* y) {
  const __m512 s = _mm512_set1_ps(scale);
  const __m512 lo = _mm512_set1_ps(-1e9f), hi = _mm512_set1_ps(1e9f);
  const __m512i zp = _mm512_set1_epi32(zero_point), zero = _mm512_setzero_si512(), top = _mm512_set1_epi32(255);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tailMask16(n - i);
    __m512 v = _mm512_div_ps(_mm512_maskz_loadu_ps(mask, x + i), s);
    const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    v = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);  // half to even
    __m512i r = _mm512_maskz_mov_epi32(static_cast<__mmask16>(~nan), _mm512_cvtps_epi32(v));
    r = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(r, zp), zero), top);
    _mm512_mask_cvtusepi32_storeu_epi8(y + i, mask, r);
  }
}

void qu8_global_avgpool_nhwc__avx512f(int64_t batch, int64_t pixels, int64_t channels, const uint8_t* x,
                                      ref::Requantization requant, const ref::QuantParams& q, uint8_t* y) {
  const int32_t offset = static_cast<int32_t>(pixels) * q.input_zero_point;
  for (int64_t b = 0; b < batch; ++b) {
    const uint8_t* xb = x + b * pixels * channels;
    for (int64_t c0 = 0; c0 < channels; c0 += 16) {
      const int64_t n = channels - c0 < 16 ? channels - c0 : 16;
      const __mmask16 mask = tailMask16(n);
      __m512i sum = _mm512_setzero_si512();
      for (int64_t p = 0; p < pixels; ++p)
        sum = _mm512_add_epi32(sum, _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, xb + p * channels + c0)));
      int32_t sums[16];
      _mm512_storeu_si512(sums, sum);
      for (int64_t k = 0; k < n; ++k)
        y[b * channels + c0 + k] = static_cast<uint8_t>(std::clamp<int64_t>(
            int64_t{ref::requantize(sums[k] - offset, requant)} + q.output_zero_point, q.output_min, q.output_max));
    }
  }
}

}  // namespace edgeopt::kernels::x86
