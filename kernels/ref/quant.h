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
// Requantization (v2: fp32, as ONNX Runtime's MLAS and XNNPACK's fp32 kernels)
//   A real multiplier M is one float32, formed from the float32 scales by float32 operations in
//   the order ONNX Runtime forms it (convMultiplier & co. below), and is 0 or a normal float.
//   Then, each step one IEEE-754 single-precision operation rounding to nearest, ties to even:
//     y = clamp(output_zero_point + round_half_even(float(acc) * M), output_min, output_max)
//   float(acc) is exact for |acc| <= 2^24 and rounds to nearest-even above; the product is one
//   rounding; the rounding to an integer is exact arithmetic on that float (out-of-range values
//   saturate, which the clamp makes invisible). x86 computes it with vcvtdq2ps, vmulps and
//   vcvtps2dq, AArch64 with SCVTF, FMUL and FCVTNS (ARMv8.0), so both match this definition bit
//   for bit by construction; nothing may contract the multiply with another operation (the
//   project builds with -ffp-contract=off). The map acc -> y is monotone (non-decreasing), so it
//   is exactly "output_min + number of thresholds <= acc" over output_max - output_min integer
//   thresholds per channel (requantizationThresholds): the FPGA target's form, with no float
//   hardware.
//   output_min/max are [-128, 127] narrowed by a fused activation (ReLU: zero_point..127;
//   ReLU6: zero_point..quantize(6)).
// Ops without weights, each operand with its own (scale, zero_point); each is an integer
// accumulator followed by the requantization above:
//   Mul         acc = (a - za) * (b - zb); M = (sa * sb) / sy.
//   rescale     (Concat inputs whose parameters differ from the output's) exactly what the QDQ model
//               computes and ONNX Runtime's QLinearConcat tabulates: DequantizeLinear then
//               QuantizeLinear, y = clamp(zy + round_half_even(float(float(x - zx) * sx) / sy)),
//               one float32 multiply and one division; one 256-entry table per input.
//   AvgPool     acc = sum over the window positions inside the input of (x - zx);
//               M = sx / (sy * float(count)), count the divisor of the float op (window positions
//               inside the padded extent with count_include_pad, inside the input otherwise).
//   MaxPool, Concat with equal parameters, Reshape/Flatten, nearest Resize: integer data
//               movement, no arithmetic (max commutes with the monotone encoding).
//   Add         with Ra = sa / sy and Rb = sb / sy (float32 divisions, as ONNX Runtime's
//               QLinearAdd) and the shift s for which the larger of Ra 2^s, Rb 2^s lies in
//               [2^21, 2^22): integer weights A = round_half_even(Ra 2^s), B likewise (<= 2^22),
//                 acc = (a - za) * A + (b - zb) * B          (|acc| < 2^31, exact in int32)
//               and M = 2^-s. Before its one rounding the sum is within 255 * 2^-s <= 2^-13 max(Ra, Rb)
//               output LSB of the exact real sum, and the whole op is an integer dot product plus the one requantization
//               (so the FPGA's thresholds serve Add too). NEON: SMULL/SMLAL; x86: vpmulld.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include <vector>

#include "kernels/ref/conv.h"
#include "kernels/ref/pool.h"

namespace edgeopt::kernels::ref {

struct QuantParams {
  int32_t input_zero_point = 0;
  int32_t output_zero_point = 0;
  int32_t output_min = -128, output_max = 127;
};

struct Requantization {
  float scale = 0;  // M: 0 or a normal float32
};

// The multipliers, formed in float32 as ONNX Runtime forms them (QLinearConv: (xs * ws) / ys;
// QLinearGlobalAveragePool: xs / (ys * count)), a subnormal result flushed to 0 (both give 0
// for every int32 accumulator, and targets then never meet denormals). isValidMultiplier: 0 or
// a normal float (an infinite M, from scales whose ratio overflows, is invalid).
float convMultiplier(float input_scale, float weight_scale, float output_scale);
float ratioMultiplier(float input_scale, float output_scale);
float averageMultiplier(float input_scale, float output_scale, int64_t count);
bool isValidMultiplier(float m);
// round_half_even(float(acc) * M), saturated to int32 (before the zero point and clamping).
int32_t requantize(int32_t acc, Requantization r);

// The FPGA form of one channel's output stage: thresholds[k] (k < output_max - output_min) is the
// smallest accumulator acc (without bias; acc + bias in int32) with
// requantizeToOutput(acc + bias, r, q) > output_min + k, or INT32_MAX + 1 - bias when none is, or
// INT32_MIN - bias when every one is. Then for every acc with acc + bias in int32:
//   requantizeToOutput(acc + bias, r, q) == output_min + #{k : thresholds[k] <= acc}.
std::vector<int64_t> requantizationThresholds(int32_t bias, Requantization r, const QuantParams& q);

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

// int8 convolution (groups, dilations, pads; 1-D to 3-D as in conv.h). Weights are
// [M, C/groups, k...] int8 with zero point 0; bias int32 per output channel (may be null);
// requant has one entry per output channel. Padding reads the input zero point.
// clamp(requantize(acc, r) + output_zero_point, output_min, output_max).
int8_t requantizeToOutput(int32_t acc, Requantization r, const QuantParams& q);

struct AddRequantization {
  int32_t a_weight = 0, b_weight = 0;  // A, B in [0, 2^22]
  Requantization out;                  // M = 2^-s
};
// From Ra = sa / sy and Rb = sb / sy (float32); false when the larger is outside [2^-100, 2^100]
// (no representable shift).
bool quantizeAddMultipliers(float a_ratio, float b_ratio, AddRequantization* r);

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

// The rescale of the header comment: re-encodes x (input_scale, q.input_zero_point) at the
// output's parameters, clamped to q's bounds.
void qs8_requantize__scalar(int64_t n, const int8_t* x, float input_scale, float output_scale, const QuantParams& q,
                            int8_t* y);

// Output stage of an int8 conv/gemm whose int32 accumulators (without bias) are laid out
// [rows][channels], channels innermost (NHWC, or a GEMM's [M, N]): y = requantizeToOutput(acc +
// bias[c], requant[c], q), stored as uint8 (value + 128) when y_uint8. bias may be null.
void qs8_requantize_rows__scalar(int64_t rows, int64_t channels, const int32_t* acc, const int32_t* bias,
                                 const Requantization* requant, const QuantParams& q, uint8_t* y_uint8);

// The requantization of average pooling for counts 1..max_count (entry 0 unused):
// averageMultiplier(input_scale, output_scale, count).
std::vector<Requantization> averageRequantization(float input_scale, float output_scale, int64_t max_count);
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
