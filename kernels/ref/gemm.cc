#include "kernels/ref/gemm.h"

#include <algorithm>
#include <cstddef>
#include <vector>

namespace edgeopt::kernels::ref {

void f32_gemm__scalar(const GemmParams& p, const float* a, const float* b, float* y) {
  std::vector<float> acc(static_cast<size_t>(p.n));
  for (int64_t i = 0; i < p.m; ++i) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (int64_t kk = 0; kk < p.k; ++kk) {
      const float av = a[i * p.a_row_stride + kk * p.a_col_stride];
      const float* brow = b + kk * p.b_row_stride;
      if (p.b_col_stride == 1) {
        for (int64_t j = 0; j < p.n; ++j) acc[j] += av * brow[j];
      } else {
        for (int64_t j = 0; j < p.n; ++j) acc[j] += av * brow[j * p.b_col_stride];
      }
    }
    float* yrow = y + i * p.y_row_stride;
    for (int64_t j = 0; j < p.n; ++j)
      yrow[j] = (p.accumulate ? yrow[j] : 0.0f) + p.alpha * acc[j];
  }
}

}  // namespace edgeopt::kernels::ref
