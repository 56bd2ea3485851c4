// Reference scalar definitions of the element-wise functions (activations and math ops).
// Optimized kernels match these to a tolerance their tests state.
#pragma once

#include <algorithm>
#include <cmath>

namespace edgeopt::kernels::ref {

inline float f32_relu(float x) { return x > 0.0f ? x : 0.0f; }
inline float f32_leaky_relu(float x, float alpha) { return x >= 0.0f ? x : alpha * x; }
inline float f32_sigmoid(float x) {
  // Split by sign so exp never overflows.
  if (x >= 0.0f) return 1.0f / (1.0f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.0f + e);
}
inline float f32_hard_sigmoid(float x, float alpha, float beta) {
  return std::max(0.0f, std::min(1.0f, alpha * x + beta));
}
inline float f32_hard_swish(float x) { return x * f32_hard_sigmoid(x, 1.0f / 6.0f, 0.5f); }
inline float f32_clip(float x, float lo, float hi) { return std::min(std::max(x, lo), hi); }
// GELU, erf form: 0.5 * x * (1 + erf(x / sqrt(2))).
inline float f32_gelu(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }

}  // namespace edgeopt::kernels::ref
