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
// Ops without weights, each operand with its own (scale, zero_point):
//   Mul         acc = (a - za) * (b - zb); y = requantize by M = sa * sb / sy as above.
//   rescale     acc = x - zx; M = sx / sy (Concat inputs whose parameters differ from the output's).
//   AvgPool     acc = sum over the window positions inside the input of (x - zx); M = sx / (sy * count)
//               with count the divisor of the float op (window positions inside the padded extent
//               with count_include_pad, inside the input otherwise); one multiplier per count.
//   MaxPool, Concat with equal parameters, Reshape/Flatten, nearest Resize: integer data
//               movement, no arithmetic (max commutes with the monotone encoding).
//   Add         two real multipliers Ra = sa / sy, Rb = sb / sy share one shift s (the largest in
//               [0, 40] keeping both round(R * 2^s) below 2^31):
//                 y = clamp(zy + ((a - za) * round(Ra 2^s) + (b - zb) * round(Rb 2^s) + 2^(s-1)) >> s)
//               in int64: one rounding (half up) instead of requantizing each operand first, so the
//               sum is within one LSB of the exact real sum. NEON: SMULL/SMLAL to int64 and a
//               rounding shift; x86: _mm512_mul_epi32.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include <vector>

#include "kernels/ref/conv.h"
#include "kernels/ref/pool.h"

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
// clamp(requantize(acc, r) + output_zero_point, output_min, output_max).
int8_t requantizeToOutput(int32_t acc, Requantization r, const QuantParams& q);

struct AddRequantization {
  int32_t a_multiplier = 0, b_multiplier = 0;  // round(Ra * 2^shift), round(Rb * 2^shift), < 2^31
  int32_t shift = 0;                           // in [0, 40]
};
// For Ra, Rb in [0, 2^31).
AddRequantization quantizeAddMultipliers(double a_ratio, double b_ratio);

// Elementwise int8 Add / Mul of one element (for broadcasting callers) and of n elements; q gives
// the output zero point and bounds (input_zero_point unused).
int8_t qs8_add(int8_t a, int8_t b, const AddRequantization& r, int32_t a_zero_point, int32_t b_zero_point,
               const QuantParams& q);
int8_t qs8_mul(int8_t a, int8_t b, Requantization r, int32_t a_zero_point, int32_t b_zero_point,
               const QuantParams& q);
void qs8_add__scalar(int64_t n, const int8_t* a, int32_t a_zero_point, const int8_t* b, int32_t b_zero_point,
                     const AddRequantization& r, const QuantParams& q, int8_t* y);
void qs8_mul__scalar(int64_t n, const int8_t* a, int32_t a_zero_point, const int8_t* b, int32_t b_zero_point,
                     Requantization r, const QuantParams& q, int8_t* y);
// The same arithmetic on uint8-stored activations (value + 128). Zero points and bounds are then
// given in the uint8 domain: toUint8Domain converts a QuantParams (every field + 128).
QuantParams toUint8Domain(const QuantParams& q);
void qu8_add__scalar(int64_t n, const uint8_t* a, int32_t a_zero_point, const uint8_t* b, int32_t b_zero_point,
                     const AddRequantization& r, const QuantParams& q, uint8_t* y);
// ONNX QuantizeLinear to uint8 (zero_point in [0, 255]).
void qu8_quantize__scalar(int64_t n, const float* x, float scale, int32_t zero_point, uint8_t* y);

// y = requantizeToOutput(x - input_zero_point, r, q): re-encodes x at the output's parameters.
void qs8_requantize__scalar(int64_t n, const int8_t* x, Requantization r, const QuantParams& q, int8_t* y);

// Output stage of an int8 conv/gemm whose int32 accumulators (without bias) are laid out
// [rows][channels], channels innermost (NHWC, or a GEMM's [M, N]): y = requantizeToOutput(acc +
// bias[c], requant[c], q), stored as uint8 (value + 128) when y_uint8. bias may be null.
void qs8_requantize_rows__scalar(int64_t rows, int64_t channels, const int32_t* acc, const int32_t* bias,
                                 const Requantization* requant, const QuantParams& q, uint8_t* y_uint8);

// The multiplier average pooling uses for a window of `count` positions: input_scale /
// (output_scale * count); averageRequantization tabulates it for counts 1..max_count (entry 0 unused).
Requantization averageMultiplier(double input_over_output_scale, int64_t count);
std::vector<Requantization> averageRequantization(double input_over_output_scale, int64_t max_count);
// int8 average pooling (see the header comment); per_count from averageRequantization with
// max_count >= the window size.
void qs8_avgpool__scalar(const PoolParams& p, bool count_include_pad, const QuantParams& q,
                         const Requantization* per_count, const int8_t* x, int8_t* y);

void qs8_conv__scalar(const ConvParams& p, const QuantParams& q, const int8_t* x, const int8_t* w,
                      const int32_t* bias, const Requantization* requant, int8_t* y);

// int8 matrix multiply y[m, n] = requant_n(bias[n] + sum_k (a[m, k] - a_zp) * b[k, n]) with b
// given as [k, n] (b_transposed = false) or [n, k]; requant per output column n.
void qs8_gemm__scalar(int64_t m, int64_t n, int64_t k, const QuantParams& q, const int8_t* a,
                      const int8_t* b, bool b_transposed, const int32_t* bias,
                      const Requantization* requant, int8_t* y);

}  // namespace edgeopt::kernels::ref
