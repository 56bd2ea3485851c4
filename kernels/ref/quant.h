// The int8 arithmetic of edgeopt, defined once. Every int8 kernel (x86, NEON, HLS) computes
// exactly this; kernels/ref holds the scalar definition its tests compare against bit for bit.
//
// Encodings
//   activations  int8, asymmetric, per tensor: real = scale * (q - zero_point), q in [-128, 127].
//                Float -> int8 is ONNX QuantizeLinear: q = saturate(round_half_to_even(x / scale)
//                + zero_point).
//   weights      int8, symmetric, per output channel: zero_point 0, q in [-127, 127] (never -128,
//                so that two weights times an input never overflow int16 pair sums on targets
//                that use them, and the range is symmetric).
//   bias         int32, zero_point 0, scale = input_scale * weight_scale[c]:
//                q = round_half_to_even(b / (input_scale * weight_scale[c])), saturated to int32.
// Accumulation
//   acc = bias_q[c] + sum (x_q - x_zero_point) * w_q, in int32 (the kernels' callers keep reduction
//   lengths small enough that it cannot overflow: |acc| <= K * 255 * 127 + |bias|).
// Requantization
//   The real multiplier M = input_scale * weight_scale[c] / output_scale is represented as
//   M = multiplier * 2^(exponent - 31), multiplier in [2^30, 2^31), exponent in [-31, 30]
//   (quantizeMultiplier; an M below 2^-32 is represented as multiplier 0, giving 0). Then, in
//   integers only:
//     a = exponent > 0 ? saturate_int32(acc << exponent) : acc
//     t = (int64(a) * multiplier + 2^30) >> 31              -- rounding doubling high multiply
//     u = exponent < 0 ? (t + 2^(-exponent-1)) >> -exponent : t   -- rounding right shift
//     y = clamp(u + output_zero_point, output_min, output_max)
//   Both roundings are "half up" (toward +infinity), which is what AArch64 SQRDMULH and SRSHL do,
//   so NEON matches with two instructions; x86 emulates it with 64-bit multiplies.
//   output_min/max are [-128, 127] narrowed by a fused activation (ReLU: zero_point..127;
//   ReLU6: zero_point..quantize(6)).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/ref/conv.h"

namespace edgeopt::kernels::ref {

struct Requantization {
  int32_t multiplier = 0;  // in [2^30, 2^31), or 0 for M == 0
  int32_t exponent = 0;    // in [-31, 30]
};

// The representation of a real multiplier M >= 0 (M < 2^30). M == 0 gives multiplier 0.
Requantization quantizeMultiplier(double real_multiplier);
// round(acc * M) by the integer procedure above (before the zero point and clamping).
int32_t requantize(int32_t acc, Requantization r);

// ONNX QuantizeLinear for an integer type Q: saturate(round_half_to_even(x / scale) + zero_point);
// NaN gives the zero point.
template <typename Q>
Q quantizeLinear(float x, float scale, int32_t zero_point) {
  const float v = x / scale;
  constexpr double lo = std::numeric_limits<Q>::lowest(), hi = std::numeric_limits<Q>::max();
  if (std::isnan(v)) return static_cast<Q>(std::clamp<double>(zero_point, lo, hi));
  const double r = std::nearbyint(static_cast<double>(v)) + zero_point;  // current rounding: to even
  return static_cast<Q>(std::clamp(r, lo, hi));
}

// ONNX QuantizeLinear / DequantizeLinear for int8.
int8_t qs8_quantize(float x, float scale, int32_t zero_point);
float qs8_dequantize(int8_t q, float scale, int32_t zero_point);
void qs8_quantize__scalar(int64_t n, const float* x, float scale, int32_t zero_point, int8_t* y);
void qs8_dequantize__scalar(int64_t n, const int8_t* x, float scale, int32_t zero_point, float* y);

struct QuantParams {
  int32_t input_zero_point = 0;
  int32_t output_zero_point = 0;
  int32_t output_min = -128, output_max = 127;
};

// int8 convolution (groups, dilations, pads; 1-D to 3-D as in conv.h). Weights are
// [M, C/groups, k...] int8 with zero point 0; bias int32 per output channel (may be null);
// requant has one entry per output channel. Padding reads the input zero point.
void qs8_conv__scalar(const ConvParams& p, const QuantParams& q, const int8_t* x, const int8_t* w,
                      const int32_t* bias, const Requantization* requant, int8_t* y);

// int8 matrix multiply y[m, n] = requant_n(bias[n] + sum_k (a[m, k] - a_zp) * b[k, n]) with b
// given as [k, n] (b_transposed = false) or [n, k]; requant per output column n.
void qs8_gemm__scalar(int64_t m, int64_t n, int64_t k, const QuantParams& q, const int8_t* a,
                      const int8_t* b, bool b_transposed, const int32_t* bias,
                      const Requantization* requant, int8_t* y);

}  // namespace edgeopt::kernels::ref
