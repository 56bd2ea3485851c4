// Inline AVX-512 pieces shared by the kernels of this folder: tail masks, and the fp32 output
// stage of requantize.h for kernels that fuse it. Include only from
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

// The fp32 output stage of kernels/ref/quant.h on 16 (or 8) lanes, with every rounding explicit
// (embedded round-to-nearest-even, whatever MXCSR says):
//   y = cvtps2dq(clamp(cvtdq2ps(acc + bias) * M, output_min - zp, output_max - zp)) + zp
// Clamping the float at integer bounds before the rounding equals clamping after it (rounding is
// monotone and leaves integers alone), and keeps vcvtps2dq in range. Results are int8-domain
// int32, already within the bounds.
struct OutputStage16 {
  __m512i bias;
  __m512 scale;
};
// From the 32 words outputStageConstants16 wrote.
inline OutputStage16 loadOutputStage16(const int32_t* k) {
  return {_mm512_loadu_si512(k), _mm512_castsi512_ps(_mm512_loadu_si512(k + 16))};
}
struct StageBounds {
  __m512 lo, hi;  // output_min - zp, output_max - zp
  __m512i zp;
  StageBounds(int32_t output_zero_point, int32_t output_min, int32_t output_max)
      : lo(_mm512_set1_ps(static_cast<float>(output_min - output_zero_point))),
        hi(_mm512_set1_ps(static_cast<float>(output_max - output_zero_point))),
        zp(_mm512_set1_epi32(output_zero_point)) {}
};

inline __m512i requantize16(__m512i acc, const OutputStage16& k, const StageBounds& b) {
  constexpr int kNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const __m512 v = _mm512_mul_round_ps(_mm512_cvt_roundepi32_ps(_mm512_add_epi32(acc, k.bias), kNearest), k.scale, kNearest);
  return _mm512_add_epi32(_mm512_cvt_roundps_epi32(_mm512_min_ps(_mm512_max_ps(v, b.lo), b.hi), kNearest), b.zp);
}

// requantize16 on 8 lanes (256-bit registers): the first half of a 16-lane set's constants.
struct OutputStage8 {
  __m256i bias;
  __m256 scale;
};
inline OutputStage8 loadOutputStage8(const int32_t* k) {
  return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(k)),
          _mm256_castsi256_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + 16)))};
}
inline __m256i requantize8(__m256i acc, const OutputStage8& k, const StageBounds& b) {
  constexpr int kNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  // 256-bit embedded rounding is not in AVX-512VL: convert in 512-bit registers, upper half unused.
  const __m512 wide = _mm512_mul_round_ps(
      _mm512_cvt_roundepi32_ps(_mm512_castsi256_si512(_mm256_add_epi32(acc, k.bias)), kNearest),
      _mm512_castps256_ps512(k.scale), kNearest);
  const __m512i r = _mm512_cvt_roundps_epi32(_mm512_min_ps(_mm512_max_ps(wide, b.lo), b.hi), kNearest);
  return _mm256_add_epi32(_mm512_castsi512_si256(r), _mm512_castsi512_si256(b.zp));
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

// The constants of 64 consecutive lanes (four sets of 16). Named members, not an array: GCC
// keeps an array of vectors filled in a loop in memory and reloads it on every use.
struct OutputStage64 {
  OutputStage16 k0, k1, k2, k3;
};
inline OutputStage64 loadOutputStage64(const int32_t* k) {
  return {loadOutputStage16(k), loadOutputStage16(k + 32), loadOutputStage16(k + 64), loadOutputStage16(k + 96)};
}

// 64 int32 accumulators at acc, requantized with k (16 per set) and packed by packToUint8 (the
// bounds are already applied: no byte clamps).
inline __m512i requantizePack64(const int32_t* acc, const OutputStage64& k, const StageBounds& b) {
  const ByteBounds unbounded(-128, 127);
  return packToUint8(requantize16(_mm512_loadu_si512(acc), k.k0, b), requantize16(_mm512_loadu_si512(acc + 16), k.k1, b),
                     requantize16(_mm512_loadu_si512(acc + 32), k.k2, b),
                     requantize16(_mm512_loadu_si512(acc + 48), k.k3, b), unbounded);
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
