#include <arm_neon.h>

#include "kernels/neon/requantize.h"

namespace edgeopt::kernels::neon {

void qs8_requantize_rows__neon(int64_t rows, int64_t channels, const int32_t* acc, const int32_t* bias,
                               const ref::Requantization* requant, const ref::QuantParams& q, int8_t* y) {
  const int16x8_t zp = vdupq_n_s16(static_cast<int16_t>(q.output_zero_point));
  const int8x16_t lo = vdupq_n_s8(static_cast<int8_t>(q.output_min)), hi = vdupq_n_s8(static_cast<int8_t>(q.output_max));
  for (int64_t c0 = 0; c0 < channels; c0 += 16) {
    const int64_t n = channels - c0 < 16 ? channels - c0 : 16;
    int32_t mult[16] = {0}, left[16] = {0}, right[16] = {0}, b[16] = {0};
    for (int64_t i = 0; i < n; ++i) {
      mult[i] = requant[c0 + i].multiplier;
      left[i] = requant[c0 + i].exponent > 0 ? requant[c0 + i].exponent : 0;
      right[i] = requant[c0 + i].exponent < 0 ? requant[c0 + i].exponent : 0;  // negative: SRSHL shifts right
      b[i] = bias ? bias[c0 + i] : 0;
    }
    int32x4_t vm[4], vl[4], vr[4], vb[4];
    for (int k = 0; k < 4; ++k) {
      vm[k] = vld1q_s32(mult + 4 * k);
      vl[k] = vld1q_s32(left + 4 * k);
      vr[k] = vld1q_s32(right + 4 * k);
      vb[k] = vld1q_s32(b + 4 * k);
    }
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t* a = acc + r * channels + c0;
      int32_t tmp[16] = {0};
      const int32_t* src = a;
      if (n < 16) {
        for (int64_t i = 0; i < n; ++i) tmp[i] = a[i];
        src = tmp;
      }
      int32x4_t u[4];
      for (int k = 0; k < 4; ++k) {
        const int32x4_t v = vqshlq_s32(vaddq_s32(vld1q_s32(src + 4 * k), vb[k]), vl[k]);
        u[k] = vrshlq_s32(vqrdmulhq_s32(v, vm[k]), vr[k]);
      }
      const int16x8_t h0 = vqaddq_s16(vcombine_s16(vqmovn_s32(u[0]), vqmovn_s32(u[1])), zp);
      const int16x8_t h1 = vqaddq_s16(vcombine_s16(vqmovn_s32(u[2]), vqmovn_s32(u[3])), zp);
      const int8x16_t out = vminq_s8(vmaxq_s8(vcombine_s8(vqmovn_s16(h0), vqmovn_s16(h1)), lo), hi);
      int8_t* dst = y + r * channels + c0;
      if (n == 16) {
        vst1q_s8(dst, out);
      } else {
        int8_t buf[16];
        vst1q_s8(buf, out);
        for (int64_t i = 0; i < n; ++i) dst[i] = buf[i];
      }
    }
  }
}

}  // namespace edgeopt::kernels::neon
