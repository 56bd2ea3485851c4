#include <arm_neon.h>

#include <cstring>

#include "kernels/neon/gemm.h"
#include "kernels/neon/gemm_tile.h"
#include "kernels/neon/mca.h"

namespace edgeopt::kernels::neon {

// Four rows x 8 columns += the 4 k of lane L of each row's A vector times one packed k block
// (W_LO: columns 0-3, W_HI: columns 4-7). Explicit accumulators keep the tile in registers.
#define EDGEOPT_DOT_BLOCK(L, W_LO, W_HI)        \
  do {                                          \
    const int8x16_t wl = (W_LO), wh = (W_HI);   \
    c00 = vdotq_lane_s32(c00, wl, va0, L);      \
    c01 = vdotq_lane_s32(c01, wh, va0, L);      \
    c10 = vdotq_lane_s32(c10, wl, va1, L);      \
    c11 = vdotq_lane_s32(c11, wh, va1, L);      \
    c20 = vdotq_lane_s32(c20, wl, va2, L);      \
    c21 = vdotq_lane_s32(c21, wh, va2, L);      \
    c30 = vdotq_lane_s32(c30, wl, va3, L);      \
    c31 = vdotq_lane_s32(c31, wh, va3, L);      \
  } while (0)

void qs8_gemm_4x8c4__neondot(size_t mr, size_t nc, size_t K, const int8_t* a, size_t a_stride, const int8_t* panel,
                             int32_t* c, size_t c_stride) {
  const int8_t* ar[4];
  tileRows(a, mr, a_stride, ar);
  const int8_t *a0 = ar[0], *a1 = ar[1], *a2 = ar[2], *a3 = ar[3];
  const int32_t* bias = reinterpret_cast<const int32_t*>(panel);
  int32x4_t c00 = vld1q_s32(bias), c01 = vld1q_s32(bias + 4);
  int32x4_t c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
  const int8_t* w = panel + 8 * sizeof(int32_t);
  size_t k = 0;
  for (; k + 8 <= K; k += 8) {
    EDGEOPT_MCA_BEGIN("qs8_gemm_4x8c4__neondot");
    const int8x8_t va0 = vld1_s8(a0 + k), va1 = vld1_s8(a1 + k), va2 = vld1_s8(a2 + k), va3 = vld1_s8(a3 + k);
    EDGEOPT_DOT_BLOCK(0, vld1q_s8(w), vld1q_s8(w + 16));
    EDGEOPT_DOT_BLOCK(1, vld1q_s8(w + 32), vld1q_s8(w + 48));
    w += 64;
    EDGEOPT_MCA_END();
  }
  if (k < K) {
    // 1..7 remaining k: A copied into zero-padded buffers (the packed weights past K are zero).
    int8_t t[4][8] = {};
    for (int r = 0; r < 4; ++r) std::memcpy(t[r], ar[r] + k, K - k);
    const int8x8_t va0 = vld1_s8(t[0]), va1 = vld1_s8(t[1]), va2 = vld1_s8(t[2]), va3 = vld1_s8(t[3]);
    EDGEOPT_DOT_BLOCK(0, vld1q_s8(w), vld1q_s8(w + 16));
    if (K - k > 4) EDGEOPT_DOT_BLOCK(1, vld1q_s8(w + 32), vld1q_s8(w + 48));
  }
  const int32x4_t acc[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
  tileStore(mr, nc, acc, c, c_stride);
}
#undef EDGEOPT_DOT_BLOCK

}  // namespace edgeopt::kernels::neon
