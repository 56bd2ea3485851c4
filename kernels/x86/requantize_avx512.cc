#include <immintrin.h>

#include <algorithm>

#include "kernels/x86/requantize.h"
#include "kernels/x86/requantize_avx512_inl.h"

namespace edgeopt::kernels::x86 {

// For a right shift s >= 0 (exponent -s), the two roundings of ref::requantize compose into one:
// floor((floor((p + 2^30) / 2^31) + 2^(s-1)) / 2^s) = floor((p + 2^30 + 2^(30+s)) / 2^(31+s))
// (nested floor divisions by positive integers compose; the 2^(s-1) term is absent for s = 0),
// so each half of the lanes needs one multiply, one add and one shift. |p| < 2^62 and the added
// constant is below 2^62, so nothing overflows int64.
namespace {
// The general form on channels [first, last) of rows of `stride` channels.
void requantizeChannels(int64_t rows, int64_t stride, int64_t first, int64_t last, const int32_t* acc,
                        const int32_t* bias, const ref::Requantization* requant, const ref::QuantParams& q, uint8_t* y) {
  static_assert(sizeof(ref::Requantization) == 8, "multiplier and exponent are two int32");
  const __m512i lo = _mm512_set1_epi32(q.output_min + 128), hi = _mm512_set1_epi32(q.output_max + 128);
  const __m512i zp = _mm512_set1_epi32(q.output_zero_point + 128);
  const __m512i zero = _mm512_setzero_si512();
  const __m512i lowDwords = _mm512_set1_epi64(0xFFFFFFFF);
  const __m512i deinterleave = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i deinterleaveOdd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  for (int64_t c0 = first; c0 < last; c0 += 16) {
    const int64_t n = last - c0 < 16 ? last - c0 : 16;
    const __mmask16 mask = tailMask16(n);
    // Multipliers and exponents of 16 channels: the struct array read as 32 int32.
    const int32_t* rq = reinterpret_cast<const int32_t*>(requant + c0);
    const __mmask16 lowMask = tailMask16(2 * n), highMask = tailMask16(2 * (n - 8));
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
      __m512i a = _mm512_add_epi32(_mm512_maskz_loadu_epi32(mask, acc + r * stride + c0), b);
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
      _mm512_mask_cvtusepi32_storeu_epi8(y + r * stride + c0, mask, u);
    }
  }
}
}  // namespace

void qs8_requantize_rows__avx512f(int64_t rows, int64_t channels, const int32_t* acc, const int32_t* bias,
                                  const ref::Requantization* requant, const ref::QuantParams& q, uint8_t* y) {
  requantizeChannels(rows, channels, 0, channels, acc, bias, requant, q, y);
}

bool isShortFormRequantization(ref::Requantization r) { return r.exponent <= -1 && r.exponent >= -22; }

bool shortFormConstants16(const int64_t* channelOfLane, const int32_t* bias, const ref::Requantization* requant,
                          int32_t output_zero_point, int64_t* k) {
  int32_t* multEven = reinterpret_cast<int32_t*>(k);
  int32_t* multOdd = reinterpret_cast<int32_t*>(k + 8);
  int64_t *addEven = k + 16, *addOdd = k + 24, *shiftEven = k + 32, *shiftOdd = k + 40;
  std::fill(k, k + 48, 0);
  for (int i = 0; i < 16; ++i) {
    const int64_t c = channelOfLane[i];
    const ref::Requantization r = requant[c];
    if (!isShortFormRequantization(r)) return false;
    const int32_t b = bias ? bias[c] : 0;
    const int s = -r.exponent;
    // floor((p + 2^30 + 2^(30+s)) / 2^(31+s)) + zp = floor((p + 2^30 + 2^(30+s) + zp 2^(31+s)) / 2^(31+s)),
    // p = (acc + b) * M = acc * M + b * M (int64 wraps are modular and the true sum fits).
    const int64_t addend = (int64_t{1} << 30) + (int64_t{1} << (30 + s)) +
                           static_cast<int64_t>(static_cast<uint64_t>(int64_t{output_zero_point}) << (31 + s)) +
                           int64_t{b} * r.multiplier;
    // Even lanes: the result's low dword is floor(. / 2^(31+s)). Odd lanes: shifting by s - 1
    // leaves that same value in the high dword, where the odd lane lives.
    if (i % 2 == 0) {
      multEven[i] = r.multiplier;
      addEven[i / 2] = addend;
      shiftEven[i / 2] = 31 + s;
    } else {
      multOdd[i - 1] = r.multiplier;
      addOdd[i / 2] = addend;
      shiftOdd[i / 2] = s - 1;
    }
  }
  return true;
}

Requantizer::Requantizer(int64_t channels, const int32_t* bias, const ref::Requantization* requant,
                         const ref::QuantParams& q)
    : channels_(channels), q_(q), requant_(requant, requant + channels) {
  if (bias) bias_.assign(bias, bias + channels);
  const int64_t groups = (channels + 15) / 16;
  shortForm_.assign(static_cast<size_t>(groups), 0);
  constants_.assign(static_cast<size_t>(groups * 48), 0);
  for (int64_t g = 0; g < groups; ++g) {
    // Lanes past the last channel repeat the group's first channel (their results are not stored).
    int64_t lanes[16];
    for (int64_t i = 0; i < 16; ++i) lanes[i] = 16 * g + (16 * g + i < channels ? i : 0);
    shortForm_[static_cast<size_t>(g)] = shortFormConstants16(lanes, bias, requant, q.output_zero_point, constants_.data() + g * 48);
  }
}

void Requantizer::run(int64_t rows, const int32_t* acc, uint8_t* y) const {
  const int32_t* bias = bias_.empty() ? nullptr : bias_.data();
  const ByteBounds bounds(q_.output_min, q_.output_max);
  const int64_t C = channels_;
  int64_t g = 0;
  // 64 channels at a time where four groups take the short form: one store per row, bounds on bytes.
  for (; 16 * (g + 4) <= C; g += 4) {
    if (!(shortForm_[static_cast<size_t>(g)] && shortForm_[static_cast<size_t>(g + 1)] &&
          shortForm_[static_cast<size_t>(g + 2)] && shortForm_[static_cast<size_t>(g + 3)]))
      break;
    const ShortFormConstants64 k = loadShortFormConstants64(constants_.data() + g * 48);
    const __m512i order = packedChannelOrder();
    for (int64_t r = 0; r < rows; ++r)
      _mm512_storeu_si512(y + r * C + 16 * g,
                          _mm512_permutexvar_epi32(order, requantizePack64(acc + r * C + 16 * g, k, bounds)));
  }
  for (; 16 * g < C; ++g) {
    const int64_t c0 = 16 * g, n = std::min<int64_t>(16, C - c0);
    if (!shortForm_[static_cast<size_t>(g)]) {
      requantizeChannels(rows, C, c0, c0 + n, acc, bias, requant_.data(), q_, y);
      continue;
    }
    const __mmask16 mask = tailMask16(n);
    const ShortFormConstants k = loadShortFormConstants(constants_.data() + g * 48);
    for (int64_t r = 0; r < rows; ++r)
      _mm_mask_storeu_epi8(y + r * C + c0, mask,
                           packToUint8(shortFormRequantize16(_mm512_maskz_loadu_epi32(mask, acc + r * C + c0), k), bounds));
  }
}

bool hasAvx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

}  // namespace edgeopt::kernels::x86
