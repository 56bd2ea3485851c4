#include "kernels/neon/requantize.h"

namespace edgeopt::kernels::neon {

void qs8_requantize_rows__neon(int64_t rows, int64_t channels, const int32_t* acc, const int32_t* bias,
                               const ref::Requantization* requant, const ref::QuantParams& q, int8_t* y) {
  const int16x8_t zp = vdupq_n_s16(static_cast<int16_t>(q.output_zero_point));
  const int8x16_t lo = vdupq_n_s8(static_cast<int8_t>(q.output_min)), hi = vdupq_n_s8(static_cast<int8_t>(q.output_max));
  for (int64_t c0 = 0; c0 < channels; c0 += 16) {
    const int64_t n = channels - c0 < 16 ? channels - c0 : 16;
    float scale[16] = {0};
    int32_t b[16] = {0};
    for (int64_t i = 0; i < n; ++i) {
      scale[i] = requant[c0 + i].scale;
      b[i] = bias ? bias[c0 + i] : 0;
    }
    float32x4_t vs[4];
    int32x4_t vb[4];
    for (int k = 0; k < 4; ++k) {
      vs[k] = vld1q_f32(scale + 4 * k);
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
      for (int k = 0; k < 4; ++k) u[k] = requantize4(vaddq_s32(vld1q_s32(src + 4 * k), vb[k]), vs[k]);
      const int8x16_t out = narrowToOutput(u, zp, lo, hi);
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
