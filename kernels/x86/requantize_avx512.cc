#include <immintrin.h>

#include "kernels/x86/requantize.h"

namespace edgeopt::kernels::x86 {

// For a right shift s >= 0 (exponent -s), the two roundings of ref::requantize compose into one:
// floor((floor((p + 2^30) / 2^31) + 2^(s-1)) / 2^s) = floor((p + 2^30 + 2^(30+s)) / 2^(31+s))
// (nested floor divisions by positive integers compose; the 2^(s-1) term is absent for s = 0),
// so each half of the lanes needs one multiply, one add and one shift. |p| < 2^62 and the added
// constant is below 2^62, so nothing overflows int64.
void qs8_requantize_rows__avx512f(int64_t rows, int64_t channels, const int32_t* acc, const int32_t* bias,
                                  const ref::Requantization* requant, const ref::QuantParams& q, uint8_t* y) {
  static_assert(sizeof(ref::Requantization) == 8, "multiplier and exponent are two int32");
  const __m512i lo = _mm512_set1_epi32(q.output_min + 128), hi = _mm512_set1_epi32(q.output_max + 128);
  const __m512i zp = _mm512_set1_epi32(q.output_zero_point + 128);
  const __m512i zero = _mm512_setzero_si512();
  const __m512i lowDwords = _mm512_set1_epi64(0xFFFFFFFF);
  const __m512i deinterleave = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i deinterleaveOdd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  for (int64_t c0 = 0; c0 < channels; c0 += 16) {
    const int64_t n = channels - c0 < 16 ? channels - c0 : 16;
    const __mmask16 mask = static_cast<__mmask16>((1u << n) - 1);
    // Multipliers and exponents of 16 channels: the struct array read as 32 int32.
    const int32_t* rq = reinterpret_cast<const int32_t*>(requant + c0);
    const __mmask16 lowMask = static_cast<__mmask16>(n >= 8 ? 0xFFFF : (1u << (2 * n)) - 1);
    const __mmask16 highMask = static_cast<__mmask16>(n <= 8 ? 0 : (1u << (2 * (n - 8))) - 1);
    const __m512i r0 = _mm512_maskz_loadu_epi32(lowMask, rq), r1 = _mm512_maskz_loadu_epi32(highMask, rq + 16);
    const __m512i mult = _mm512_permutex2var_epi32(r0, deinterleave, r1);
    const __m512i expo = _mm512_permutex2var_epi32(r0, deinterleaveOdd, r1);
    const __m512i left = _mm512_max_epi32(expo, zero);                          // shift left by e > 0
    const __m512i right = _mm512_max_epi32(_mm512_sub_epi32(zero, expo), zero);  // rounding shift by -e > 0
    const bool anyLeft = _mm512_mask_cmpgt_epi32_mask(mask, expo, zero) != 0;
    const __m512i b = bias ? _mm512_maskz_loadu_epi32(mask, bias + c0) : zero;
    // Per half: shift 31 + s and constant 2^30 + (s > 0 ? 2^(30 + s) : 0), s the right shift.
    const __m512i sEven = _mm512_and_si512(right, lowDwords), sOdd = _mm512_srli_epi64(right, 32);
    auto constantOf = [&](__m512i s) {
      const __m512i extra = _mm512_mask_sllv_epi64(zero, _mm512_cmpgt_epi64_mask(s, zero), _mm512_set1_epi64(int64_t{1} << 30), s);
      return _mm512_add_epi64(_mm512_set1_epi64(int64_t{1} << 30), extra);
    };
    const __m512i addEven = constantOf(sEven), addOdd = constantOf(sOdd);
    const __m512i shiftEven = _mm512_add_epi64(sEven, _mm512_set1_epi64(31)), shiftOdd = _mm512_add_epi64(sOdd, _mm512_set1_epi64(31));
    const __m512i multOdd = _mm512_srli_epi64(mult, 32);
    for (int64_t r = 0; r < rows; ++r) {
      __m512i a = _mm512_add_epi32(_mm512_maskz_loadu_epi32(mask, acc + r * channels + c0), b);
      if (anyLeft) {
        // a << e, saturated to int32 where it does not fit.
        const __m512i shifted = _mm512_sllv_epi32(a, left);
        const __mmask16 overflow = _mm512_cmpneq_epi32_mask(_mm512_srav_epi32(shifted, left), a);
        const __m512i saturated = _mm512_mask_blend_epi32(_mm512_cmplt_epi32_mask(a, zero), _mm512_set1_epi32(INT32_MAX),
                                                          _mm512_set1_epi32(INT32_MIN));
        a = _mm512_mask_blend_epi32(overflow, shifted, saturated);
      }
      const __m512i even = _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(a, mult), addEven), shiftEven);
      const __m512i odd =
          _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), multOdd), addOdd), shiftOdd);
      __m512i u = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
      u = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(u, zp), lo), hi);
      _mm512_mask_cvtusepi32_storeu_epi8(y + r * channels + c0, mask, u);
    }
  }
}

bool hasAvx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

}  // namespace edgeopt::kernels::x86
