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

void qs8_requantize_rows__avx512f(int64_t rows, int64_t channels, const int32_t* acc, const int32_t* bias,
                                  const ref::Requantization* requant, const ref::QuantParams& q, uint8_t* y) {
  Requantizer(channels, bias, requant, q).run(rows, acc, y);
}

bool hasAvx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

}  // namespace edgeopt::kernels::x86
