#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/x86/requantize.h"
#include "kernels/x86/requantize_avx512_inl.h"

namespace edgeopt::kernels::x86 {

void outputStageConstants16(const int64_t* channelOfLane, const int32_t* bias, const ref::Requantization* requant,
                            int32_t* k) {
  for (int i = 0; i < 16; ++i) {
    const int64_t c = channelOfLane[i];
    k[i] = bias ? bias[c] : 0;
    std::memcpy(k + 16 + i, &requant[c].scale, sizeof(float));
  }
}

Requantizer::Requantizer(int64_t channels, const int32_t* bias, const ref::Requantization* requant,
                         const ref::QuantParams& q)
    : channels_(channels), q_(q) {
  const int64_t groups = (channels + 15) / 16;
  constants_.assign(static_cast<size_t>(groups * kOutputStageWords), 0);
  for (int64_t g = 0; g < groups; ++g) {
    // Lanes past the last channel repeat the group's first channel (their results are not stored).
    int64_t lanes[16];
    for (int64_t i = 0; i < 16; ++i) lanes[i] = 16 * g + (16 * g + i < channels ? i : 0);
    outputStageConstants16(lanes, bias, requant, constants_.data() + g * kOutputStageWords);
  }
}

void Requantizer::run(int64_t rows, const int32_t* acc, uint8_t* y) const {
  const StageBounds bounds(q_.output_zero_point, q_.output_min, q_.output_max);
  const ByteBounds unbounded(-128, 127);
  const int64_t C = channels_;
  int64_t g = 0;
  // 64 channels at a time: one store per row.
  for (; 16 * (g + 4) <= C; g += 4) {
    const OutputStage64 k = loadOutputStage64(constants_.data() + g * kOutputStageWords);
    const __m512i order = packedChannelOrder();
    for (int64_t r = 0; r < rows; ++r)
      _mm512_storeu_si512(y + r * C + 16 * g,
                          _mm512_permutexvar_epi32(order, requantizePack64(acc + r * C + 16 * g, k, bounds)));
  }
  for (; 16 * g < C; ++g) {
    const int64_t c0 = 16 * g, n = std::min<int64_t>(16, C - c0);
    const __mmask16 mask = tailMask16(n);
    const OutputStage16 k = loadOutputStage16(constants_.data() + g * kOutputStageWords);
    for (int64_t r = 0; r < rows; ++r)
      _mm_mask_storeu_epi8(y + r * C + c0, mask,
                           packToUint8(requantize16(_mm512_maskz_loadu_epi32(mask, acc + r * C + c0), k, bounds), unbounded));
  }
}

void Requantizer::runWithAdd(int64_t rows, const int32_t* acc, const uint8_t* skip, const ResidualAdd& r,
                             uint8_t* y) const {
  const StageBounds bounds(q_.output_zero_point, q_.output_min, q_.output_max);
  // The Add on int8-domain values: this layer's result c (int8 domain) is stored as c + 128, so
  // its difference to the uint8-domain zero point is c - (a_zero_point - 128).
  const __m512i za = _mm512_set1_epi32(r.a_zero_point - 128), zb = _mm512_set1_epi32(r.b_zero_point);
  const __m512i wa = _mm512_set1_epi32(r.add.a_weight), wb = _mm512_set1_epi32(r.add.b_weight);
  const OutputStage16 addStage{_mm512_setzero_si512(), _mm512_set1_ps(r.add.out.scale)};
  const StageBounds addBounds(r.q.output_zero_point - 128, r.q.output_min - 128, r.q.output_max - 128);
  const ByteBounds unbounded(-128, 127);
  const int64_t C = channels_;
  for (int64_t g = 0; 16 * g < C; ++g) {
    const int64_t c0 = 16 * g;
    const __mmask16 mask = tailMask16(C - c0);
    const OutputStage16 k = loadOutputStage16(constants_.data() + g * kOutputStageWords);
    for (int64_t row = 0; row < rows; ++row) {
      const int64_t at = row * C + c0;
      const __m512i c = requantize16(_mm512_maskz_loadu_epi32(mask, acc + at), k, bounds);
      const __m512i s = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, skip + at));
      const __m512i sum = _mm512_add_epi32(_mm512_mullo_epi32(_mm512_sub_epi32(c, za), wa),
                                           _mm512_mullo_epi32(_mm512_sub_epi32(s, zb), wb));
      _mm_mask_storeu_epi8(y + at, mask, packToUint8(requantize16(sum, addStage, addBounds), unbounded));
    }
  }
}

void qs8_requantize_rows__avx512f(int64_t rows, int64_t channels, const int32_t* acc, const int32_t* bias,
                                  const ref::Requantization* requant, const ref::QuantParams& q, uint8_t* y) {
  Requantizer(channels, bias, requant, q).run(rows, acc, y);
}

bool hasAvx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

}  // namespace edgeopt::kernels::x86
