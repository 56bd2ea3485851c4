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
  const float *a0 = ar[0], *a1 = ar[1], *a2 = ar[2], *a3 = ar[3];
  float32x4_t c00 = vld1q_f32(panel), c01 = vld1q_f32(panel + 4);
  float32x4_t c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
  const float* w = panel + 8;
// Four rows x 8 columns += lane L of each row's 4 A values times the k row at W (8 columns).
#define EDGEOPT_FMA_STEP(L, W)                  \
  do {                                          \
    const float32x4_t w0 = vld1q_f32(W), w1 = vld1q_f32((W) + 4); \
    c00 = vfmaq_laneq_f32(c00, w0, va0, L);     \
    c01 = vfmaq_laneq_f32(c01, w1, va0, L);     \
    c10 = vfmaq_laneq_f32(c10, w0, va1, L);     \
    c11 = vfmaq_laneq_f32(c11, w1, va1, L);     \
    c20 = vfmaq_laneq_f32(c20, w0, va2, L);     \
    c21 = vfmaq_laneq_f32(c21, w1, va2, L);     \
    c30 = vfmaq_laneq_f32(c30, w0, va3, L);     \
    c31 = vfmaq_laneq_f32(c31, w1, va3, L);     \
  } while (0)
  size_t k = 0;
  for (; k + 4 <= K; k += 4) {
    EDGEOPT_MCA_BEGIN("f32_gemm_4x8__neonfma");
    const float32x4_t va0 = vld1q_f32(a0 + k), va1 = vld1q_f32(a1 + k), va2 = vld1q_f32(a2 + k), va3 = vld1q_f32(a3 + k);
    EDGEOPT_FMA_STEP(0, w);
    EDGEOPT_FMA_STEP(1, w + 8);
    EDGEOPT_FMA_STEP(2, w + 16);
    EDGEOPT_FMA_STEP(3, w + 24);
    w += 32;
    EDGEOPT_MCA_END();
  }
  for (; k < K; ++k, w += 8) {
    const float32x4_t va0 = vdupq_n_f32(a0[k]), va1 = vdupq_n_f32(a1[k]), va2 = vdupq_n_f32(a2[k]), va3 = vdupq_n_f32(a3[k]);
    EDGEOPT_FMA_STEP(0, w);
  }
#undef EDGEOPT_FMA_STEP
  const float32x4_t acc[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
  tileStore(mr, nc, acc, c, c_stride);
}

}  // namespace edgeopt::kernels::neon
