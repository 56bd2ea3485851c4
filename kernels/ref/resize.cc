#include "kernels/ref/resize.h"

namespace edgeopt::kernels::ref {

void f32_resize_axis__scalar(int64_t outer, int64_t in_len, int64_t out_len, int64_t inner,
                             int64_t taps, const int64_t* index, const float* weight, float fill,
                             const float* x, float* y) {
  for (int64_t o = 0; o < outer; ++o) {
    const float* xo = x + o * in_len * inner;
    float* yo = y + o * out_len * inner;
    for (int64_t j = 0; j < out_len; ++j) {
      float* yj = yo + j * inner;
      if (index[j * taps] < 0) {
        for (int64_t i = 0; i < inner; ++i) yj[i] = fill;
        continue;
      }
      for (int64_t i = 0; i < inner; ++i) yj[i] = 0.0f;
      for (int64_t t = 0; t < taps; ++t) {
        const float w = weight[j * taps + t];
        const float* xs = xo + index[j * taps + t] * inner;
        for (int64_t i = 0; i < inner; ++i) yj[i] += w * xs[i];
      }
    }
  }
}

void x8_resize_nearest_axis__scalar(int64_t outer, int64_t in_len, int64_t out_len, int64_t inner,
                                    const int64_t* index, const uint8_t* x, uint8_t* y) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < out_len; ++j) {
      const uint8_t* xs = x + (o * in_len + index[j]) * inner;
      uint8_t* yj = y + (o * out_len + j) * inner;
      for (int64_t i = 0; i < inner; ++i) yj[i] = xs[i];
    }
}

}  // namespace edgeopt::kernels::ref
