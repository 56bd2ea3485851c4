// Reference fp32 matrix multiply: y[i, j] = alpha * sum_k a[i, k] * b[k, j] (+ y[i, j] when
// accumulate). Element (i, k) of a is at a[i * a_row_stride + k * a_col_stride]; the strides
// express transposition. Strides are in elements. Accumulation order: k ascending, fp32.
#pragma once

#include <cstdint>

namespace edgeopt::kernels::ref {

struct GemmParams {
  int64_t m = 0, n = 0, k = 0;
  int64_t a_row_stride = 0, a_col_stride = 1;
  int64_t b_row_stride = 0, b_col_stride = 1;
  int64_t y_row_stride = 0;
  float alpha = 1.0f;
  bool accumulate = false;
};

void f32_gemm__scalar(const GemmParams& p, const float* a, const float* b, float* y);

}  // namespace edgeopt::kernels::ref
