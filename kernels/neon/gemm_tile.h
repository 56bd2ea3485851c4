// Shared pieces of the 4 x 8 GEMM micro-kernels: A row pointers (rows past mr repeat the last, so
// the kernels always compute 4 rows), bias loading, and the partial-tile store.
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace edgeopt::kernels::neon {

template <typename T>
inline void tileRows(const T* a, size_t mr, size_t a_stride, const T* (&rows)[4]) {
  rows[0] = a;
#pragma GCC unroll 4
  for (size_t r = 1; r < 4; ++r) rows[r] = r < mr ? rows[r - 1] + a_stride : rows[r - 1];
}

inline void tileBias(const int8_t* panel, int32x4_t (&acc)[4][2]) {
  const int32_t* b = reinterpret_cast<const int32_t*>(panel);
#pragma GCC unroll 4
  for (int r = 0; r < 4; ++r) acc[r][0] = vld1q_s32(b), acc[r][1] = vld1q_s32(b + 4);
}

inline void tileStore(size_t mr, size_t nc, const int32x4_t (&acc)[4][2], int32_t* c, size_t c_stride) {
  for (size_t r = 0; r < mr; ++r) {
    int32_t tmp[8];
    vst1q_s32(tmp, acc[r][0]);
    vst1q_s32(tmp + 4, acc[r][1]);
    std::memcpy(c + r * c_stride, tmp, nc * sizeof(int32_t));
  }
}
inline void tileStore(size_t mr, size_t nc, const float32x4_t (&acc)[4][2], float* c, size_t c_stride) {
  for (size_t r = 0; r < mr; ++r) {
    float tmp[8];
    vst1q_f32(tmp, acc[r][0]);
    vst1q_f32(tmp + 4, acc[r][1]);
    std::memcpy(c + r * c_stride, tmp, nc * sizeof(float));
  }
}

}  // namespace edgeopt::kernels::neon
