// Inline AVX-512 pieces shared by the kernels of this folder: tail masks, and the short-form
// requantization of requantize.h for kernels that fuse their output stage. Include only from
// translation units compiled for AVX-512.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace edgeopt::kernels::x86 {

// The first min(n, 64) lanes of a byte mask, n > 0 (one compare on the kernels' hot paths); the
// first n (clamped to [0, 16]) lanes of a dword mask.
inline __mmask64 tailMask64(int64_t n) { return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1; }
inline __mmask16 tailMask16(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : n <= 0 ? 0 : static_cast<__mmask16>((1u << n) - 1);
}

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

// shortFormRequantize16 on 8 lanes (256-bit registers): the first half of each of the six 16-lane
// constant vectors that shortFormConstants16 wrote.
struct ShortFormConstants8 {
  __m256i multEven, multOdd, addEven, addOdd, shiftEven, shiftOdd;
};
inline ShortFormConstants8 loadShortFormConstants8(const int64_t* k) {
  auto half = [k](int section) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + 8 * section)); };
  return {half(0), half(1), half(2), half(3), half(4), half(5)};
}
inline __m256i shortFormRequantize8(__m256i acc, const ShortFormConstants8& k) {
  const __m256i even = _mm256_srav_epi64(_mm256_add_epi64(_mm256_mul_epi32(acc, k.multEven), k.addEven), k.shiftEven);
  const __m256i odd =
      _mm256_srav_epi64(_mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(acc, 32), k.multOdd), k.addOdd), k.shiftOdd);
  return _mm256_blend_epi32(even, odd, 0xAA);
}

// Output bounds (int8 domain) applied to saturated bytes: clamping commutes with the saturating
// narrowing (both monotone, bounds inside [-128, 127]), and on bytes it costs one instruction per
// 64 outputs instead of one per 16.
struct ByteBounds {
  __m512i lo, hi;
  bool clampLo, clampHi;
  ByteBounds(int32_t output_min, int32_t output_max)
      : lo(_mm512_set1_epi8(static_cast<char>(output_min))), hi(_mm512_set1_epi8(static_cast<char>(output_max))),
        clampLo(output_min > -128), clampHi(output_max < 127) {}
};

// 64 saturated int8-domain bytes, bounded and stored as uint8 (value + 128).
inline __m512i boundedUint8(__m512i bytes, const ByteBounds& b) {
  if (b.clampLo) bytes = _mm512_max_epi8(bytes, b.lo);
  if (b.clampHi) bytes = _mm512_min_epi8(bytes, b.hi);
  return _mm512_xor_si512(bytes, _mm512_set1_epi8(static_cast<char>(0x80)));
}

// Four vectors of int8-domain int32 results narrowed with saturation, bounded and stored as uint8
// (value + 128). Byte 4 q + r of 128-bit lane L comes from dword 4 L + r of u[q] (two levels of
// saturating packs, which work within lanes).
inline __m512i packToUint8(__m512i u0, __m512i u1, __m512i u2, __m512i u3, const ByteBounds& b) {
  return boundedUint8(_mm512_packs_epi16(_mm512_packs_epi32(u0, u1), _mm512_packs_epi32(u2, u3)), b);
}

// The constants of 64 consecutive short-form lanes (four sets of 16). Named members, not an
// array: GCC keeps an array of vectors filled in a loop in memory and reloads it on every use.
struct ShortFormConstants64 {
  ShortFormConstants k0, k1, k2, k3;
};
inline ShortFormConstants64 loadShortFormConstants64(const int64_t* k) {
  return {loadShortFormConstants(k), loadShortFormConstants(k + 48), loadShortFormConstants(k + 96),
          loadShortFormConstants(k + 144)};
}

// 64 int32 accumulators at acc, requantized with k (16 per set) and packed by packToUint8.
inline __m512i requantizePack64(const int32_t* acc, const ShortFormConstants64& k, const ByteBounds& b) {
  return packToUint8(shortFormRequantize16(_mm512_loadu_si512(acc), k.k0),
                     shortFormRequantize16(_mm512_loadu_si512(acc + 16), k.k1),
                     shortFormRequantize16(_mm512_loadu_si512(acc + 32), k.k2),
                     shortFormRequantize16(_mm512_loadu_si512(acc + 48), k.k3), b);
}

// Saturated int8-domain bytes, bounded and stored as uint8 (value + 128).
inline __m128i boundedUint8(__m128i bytes, const ByteBounds& b) {
  if (b.clampLo) bytes = _mm_max_epi8(bytes, _mm512_castsi512_si128(b.lo));
  if (b.clampHi) bytes = _mm_min_epi8(bytes, _mm512_castsi512_si128(b.hi));
  return _mm_xor_si128(bytes, _mm_set1_epi8(static_cast<char>(0x80)));
}
// One vector of int8-domain int32 results as 16 bounded uint8 (value + 128); of 8 results, the
// low 8 bytes.
inline __m128i packToUint8(__m512i u, const ByteBounds& b) { return boundedUint8(_mm512_cvtsepi32_epi8(u), b); }
inline __m128i packToUint8(__m256i u, const ByteBounds& b) { return boundedUint8(_mm256_cvtsepi32_epi8(u), b); }

// The dword order that puts packToUint8's bytes of u0..u3 = channels [0, 16), [16, 32), ... back
// in channel order: _mm512_permutexvar_epi32(packedChannelOrder(), bytes).
inline __m512i packedChannelOrder() { return _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15); }

// packToUint8's 64 bytes restored to element order: u0's 16 results, then u1's, u2's, u3's.
inline __m512i packInOrder(__m512i u0, __m512i u1, __m512i u2, __m512i u3, const ByteBounds& b) {
  return _mm512_permutexvar_epi32(packedChannelOrder(), packToUint8(u0, u1, u2, u3, b));
}

}  // namespace edgeopt::kernels::x86
