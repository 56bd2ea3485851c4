#include <arm_neon.h>

#include <cstring>

#include "kernels/neon/gemm.h"
#include "kernels/neon/gemm_tile.h"
#include "kernels/neon/mca.h"

namespace edgeopt::kernels::neon {

namespace {
// Four rows x 8 columns += the 4 k of A's lane L (per row) times a packed k block (w_lo: columns
// 0-3, w_hi: columns 4-7).
template <int L>
inline void dotBlock(int32x4_t (&c)[4][2], int8x16_t w_lo, int8x16_t w_hi, const int8x8_t (&va)[4]) {
  for (int r = 0; r < 4; ++r) {
    c[r][0] = vdotq_lane_s32(c[r][0], w_lo, va[r], L);
    c[r][1] = vdotq_lane_s32(c[r][1], w_hi, va[r], L);
  }
}
}  // namespace

void qs8_gemm_4x8c4__neondot(size_t mr, size_t nc, size_t K, const int8_t* a, size_t a_stride, const int8_t* panel,
                             int32_t* c, size_t c_stride) {
  const int8_t* ar[4];
  tileRows(a, mr, a_stride, ar);
  int32x4_t acc[4][2];
  tileBias(panel, acc);
  const int8_t* w = panel + 8 * sizeof(int32_t);
  size_t k = 0;
  for (; k + 8 <= K; k += 8) {
    EDGEOPT_MCA_BEGIN("qs8_gemm_4x8c4__neondot");
    const int8x8_t va[4] = {vld1_s8(ar[0] + k), vld1_s8(ar[1] + k), vld1_s8(ar[2] + k), vld1_s8(ar[3] + k)};
    dotBlock<0>(acc, vld1q_s8(w), vld1q_s8(w + 16), va);
    dotBlock<1>(acc, vld1q_s8(w + 32), vld1q_s8(w + 48), va);
    w += 64;
    EDGEOPT_MCA_END();
  }
  if (k < K) {
    // 1..7 remaining k: A copied into zero-padded buffers (the packed weights past K are zero).
    int8_t t[4][8] = {};
    for (int r = 0; r < 4; ++r) std::memcpy(t[r], ar[r] + k, K - k);
    const int8x8_t va[4] = {vld1_s8(t[0]), vld1_s8(t[1]), vld1_s8(t[2]), vld1_s8(t[3])};
    dotBlock<0>(acc, vld1q_s8(w), vld1q_s8(w + 16), va);
    if (K - k > 4) dotBlock<1>(acc, vld1q_s8(w + 32), vld1q_s8(w + 48), va);
  }
  tileStore(mr, nc, acc, c, c_stride);
}

}  // namespace edgeopt::kernels::neon
