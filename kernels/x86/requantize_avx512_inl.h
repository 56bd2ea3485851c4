// The short-form requantization of requantize.h on 16 int32 lanes, for kernels that fuse their
// output stage. Include only from translation units compiled for AVX-512.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace edgeopt::kernels::x86 {

struct ShortFormConstants {
  __m512i multEven, multOdd, addEven, addOdd, shiftEven, shiftOdd;
};

// From the 48 int64 that shortFormConstants16 wrote.
inline ShortFormConstants loadShortFormConstants(const int64_t* k) {
  return {_mm512_loadu_si512(k), _mm512_loadu_si512(k + 8), _mm512_loadu_si512(k + 16),
          _mm512_loadu_si512(k + 24), _mm512_loadu_si512(k + 32), _mm512_loadu_si512(k + 40)};
}

// requantize(acc + bias) + output_zero_point per lane, unclamped, in the int8 domain.
inline __m512i shortFormRequantize16(__m512i acc, const ShortFormConstants& k) {
  const __m512i even = _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(acc, k.multEven), k.addEven), k.shiftEven);
  const __m512i odd =
      _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(acc, 32), k.multOdd), k.addOdd), k.shiftOdd);
  return _mm512_mask_blend_epi32(0xAAAA, even, odd);
}

}  // namespace edgeopt::kernels::x86
