#include "kernels/ref/normalization.h"

#include <cmath>
#include <limits>

namespace edgeopt::kernels::ref {

void f32_softmax__scalar(int64_t outer, int64_t axis, int64_t inner, const float* x, float* y) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const float* xp = x + o * axis * inner + i;
      float* yp = y + o * axis * inner + i;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t a = 0; a < axis; ++a) mx = std::max(mx, xp[a * inner]);
      float sum = 0.0f;
      for (int64_t a = 0; a < axis; ++a) {
        yp[a * inner] = std::exp(xp[a * inner] - mx);
        sum += yp[a * inner];
      }
      for (int64_t a = 0; a < axis; ++a) yp[a * inner] /= sum;
    }
}

void f32_batchnorm__scalar(int64_t batch, int64_t channels, int64_t spatial, const float* x,
                           const float* scale, const float* bias, const float* mean,
                           const float* var, float epsilon, float* y) {
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t c = 0; c < channels; ++c) {
      const float inv = 1.0f / std::sqrt(var[c] + epsilon);
      const float* xp = x + (n * channels + c) * spatial;
      float* yp = y + (n * channels + c) * spatial;
      for (int64_t s = 0; s < spatial; ++s) yp[s] = (xp[s] - mean[c]) * inv * scale[c] + bias[c];
    }
}

void f32_layernorm__scalar(int64_t outer, int64_t inner, const float* x, const float* scale,
                           const float* bias, float epsilon, float* y, float* mean_out,
                           float* inv_std_out) {
  for (int64_t o = 0; o < outer; ++o) {
    const float* xr = x + o * inner;
    float* yr = y + o * inner;
    float sum = 0.0f;
    for (int64_t i = 0; i < inner; ++i) sum += xr[i];
    const float mean = sum / static_cast<float>(inner);
    float sq = 0.0f;
    for (int64_t i = 0; i < inner; ++i) sq += (xr[i] - mean) * (xr[i] - mean);
    const float inv = 1.0f / std::sqrt(sq / static_cast<float>(inner) + epsilon);
    for (int64_t i = 0; i < inner; ++i) yr[i] = (xr[i] - mean) * inv * scale[i] + bias[i];
    if (mean_out) mean_out[o] = mean;
    if (inv_std_out) inv_std_out[o] = inv;
  }
}

}  // namespace edgeopt::kernels::ref
