#include <immintrin.h>

#include <algorithm>

#include "kernels/x86/requantize.h"

namespace edgeopt::kernels::x86 {

void qu8_add__avx512f(int64_t n, const uint8_t* a, int32_t a_zero_point, const uint8_t* b, int32_t b_zero_point,
                      const ref::AddRequantization& r, const ref::QuantParams& q, uint8_t* y) {
  const __m512i ma = _mm512_set1_epi32(r.a_multiplier), mb = _mm512_set1_epi32(r.b_multiplier);
  const __m512i za = _mm512_set1_epi32(a_zero_point), zb = _mm512_set1_epi32(b_zero_point);
  const __m512i half = _mm512_set1_epi64(r.shift > 0 ? int64_t{1} << (r.shift - 1) : 0);
  const __m128i shift = _mm_cvtsi32_si128(r.shift);
  const __m512i zp = _mm512_set1_epi32(q.output_zero_point);
  const __m512i lo = _mm512_set1_epi32(q.output_min), hi = _mm512_set1_epi32(q.output_max);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = n - i >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (n - i)) - 1);
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

void qu8_quantize__avx512f(int64_t n, const float* x, float scale, int32_t zero_point, uint8_t* y) {
  const __m512 s = _mm512_set1_ps(scale);
  const __m512 lo = _mm512_set1_ps(-1e9f), hi = _mm512_set1_ps(1e9f);
  const __m512i zp = _mm512_set1_epi32(zero_point), zero = _mm512_setzero_si512(), top = _mm512_set1_epi32(255);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = n - i >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (n - i)) - 1);
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
      const __mmask16 mask = static_cast<__mmask16>((1u << n) - 1);
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
