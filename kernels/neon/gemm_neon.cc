#include <arm_neon.h>

#include <cstring>

#include "kernels/neon/gemm.h"
#include "kernels/neon/gemm_tile.h"
#include "kernels/neon/mca.h"

namespace edgeopt::kernels::neon {


// ARMv8.0 (no dot product): int8 widened to int16, SMLAL into int32 (vmlal_lane_s16).
void qs8_gemm_4x8__neon(size_t mr, size_t nc, size_t K, const int8_t* a, size_t a_stride, const int8_t* panel,
                        int32_t* c, size_t c_stride) {
  const int8_t* ar[4];
  tileRows(a, mr, a_stride, ar);
  int32x4_t acc[4][2];
  tileBias(panel, acc);
  const int8_t* w = panel + 8 * sizeof(int32_t);
  size_t k = 0;
  for (; k + 4 <= K; k += 4) {
    EDGEOPT_MCA_BEGIN("qs8_gemm_4x8__neon");
    int16x4_t va[4];
    for (size_t r = 0; r < 4; ++r) {
      int8_t t[8] = {ar[r][k], ar[r][k + 1], ar[r][k + 2], ar[r][k + 3], 0, 0, 0, 0};
      va[r] = vget_low_s16(vmovl_s8(vld1_s8(t)));
    }
    const int16x8_t w0 = vmovl_s8(vld1_s8(w)), w1 = vmovl_s8(vld1_s8(w + 8));
    const int16x8_t w2 = vmovl_s8(vld1_s8(w + 16)), w3 = vmovl_s8(vld1_s8(w + 24));
    w += 32;
    for (size_t r = 0; r < 4; ++r) {
      acc[r][0] = vmlal_lane_s16(acc[r][0], vget_low_s16(w0), va[r], 0);
      acc[r][1] = vmlal_lane_s16(acc[r][1], vget_high_s16(w0), va[r], 0);
      acc[r][0] = vmlal_lane_s16(acc[r][0], vget_low_s16(w1), va[r], 1);
      acc[r][1] = vmlal_lane_s16(acc[r][1], vget_high_s16(w1), va[r], 1);
      acc[r][0] = vmlal_lane_s16(acc[r][0], vget_low_s16(w2), va[r], 2);
      acc[r][1] = vmlal_lane_s16(acc[r][1], vget_high_s16(w2), va[r], 2);
      acc[r][0] = vmlal_lane_s16(acc[r][0], vget_low_s16(w3), va[r], 3);
      acc[r][1] = vmlal_lane_s16(acc[r][1], vget_high_s16(w3), va[r], 3);
    }
    EDGEOPT_MCA_END();
  }
  for (; k < K; ++k) {
    const int16x8_t wv = vmovl_s8(vld1_s8(w));
    w += 8;
    for (size_t r = 0; r < 4; ++r) {
      acc[r][0] = vmlal_n_s16(acc[r][0], vget_low_s16(wv), ar[r][k]);
      acc[r][1] = vmlal_n_s16(acc[r][1], vget_high_s16(wv), ar[r][k]);
    }
  }
  tileStore(mr, nc, acc, c, c_stride);
}

void f32_gemm_4x8__neonfma(size_t mr, size_t nc, size_t K, const float* a, size_t a_stride, const float* panel,
                           float* c, size_t c_stride) {
  const float* ar[4];
  tileRows(a, mr, a_stride, ar);
  float32x4_t acc[4][2];
  tileBias(panel, acc);
  const float* w = panel + 8;
  size_t k = 0;
  for (; k + 4 <= K; k += 4) {
    EDGEOPT_MCA_BEGIN("f32_gemm_4x8__neonfma");
    const float32x4_t va0 = vld1q_f32(ar[0] + k), va1 = vld1q_f32(ar[1] + k), va2 = vld1q_f32(ar[2] + k),
                      va3 = vld1q_f32(ar[3] + k);
    for (int t = 0; t < 4; ++t) {
      const float32x4_t w0 = vld1q_f32(w), w1 = vld1q_f32(w + 4);
      w += 8;
      switch (t) {
#define EDGEOPT_FMA_LANE(L)                              \
  case L:                                                \
    acc[0][0] = vfmaq_laneq_f32(acc[0][0], w0, va0, L); \
    acc[0][1] = vfmaq_laneq_f32(acc[0][1], w1, va0, L); \
    acc[1][0] = vfmaq_laneq_f32(acc[1][0], w0, va1, L); \
    acc[1][1] = vfmaq_laneq_f32(acc[1][1], w1, va1, L); \
    acc[2][0] = vfmaq_laneq_f32(acc[2][0], w0, va2, L); \
    acc[2][1] = vfmaq_laneq_f32(acc[2][1], w1, va2, L); \
    acc[3][0] = vfmaq_laneq_f32(acc[3][0], w0, va3, L); \
    acc[3][1] = vfmaq_laneq_f32(acc[3][1], w1, va3, L); \
    break;
        EDGEOPT_FMA_LANE(0)
        EDGEOPT_FMA_LANE(1)
        EDGEOPT_FMA_LANE(2)
        EDGEOPT_FMA_LANE(3)
#undef EDGEOPT_FMA_LANE
      }
    }
    EDGEOPT_MCA_END();
  }
  for (; k < K; ++k) {
    const float32x4_t w0 = vld1q_f32(w), w1 = vld1q_f32(w + 4);
    w += 8;
    for (size_t r = 0; r < 4; ++r) {
      acc[r][0] = vfmaq_n_f32(acc[r][0], w0, ar[r][k]);
      acc[r][1] = vfmaq_n_f32(acc[r][1], w1, ar[r][k]);
    }
  }
  tileStore(mr, nc, acc, c, c_stride);
}

}  // namespace edgeopt::kernels::neon
