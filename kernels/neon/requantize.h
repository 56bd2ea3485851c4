// NEON int8 output stages: the fp32 requantization of kernels/ref/quant.h bit for bit. SCVTF
// (int32 -> float, to nearest even), FMUL and FCVTNS (float -> int32, to nearest with ties to
// even, saturating) are the three roundings the definition has, on ARMv8.0.
#pragma once

#include <arm_neon.h>

#include <cstdint>

#include "kernels/ref/quant.h"

namespace edgeopt::kernels::neon {

// As ref::qs8_requantize_rows__scalar, writing int8 (not uint8-stored) outputs.
void qs8_requantize_rows__neon(int64_t rows, int64_t channels, const int32_t* acc, const int32_t* bias,
                               const ref::Requantization* requant, const ref::QuantParams& q, int8_t* y);

// round_half_even(float(acc) * scale) per lane, saturated to int32 (ref::requantize).
inline int32x4_t requantize4(int32x4_t acc, float32x4_t scale) {
  return vcvtnq_s32_f32(vmulq_f32(vcvtq_f32_s32(acc), scale));
}

// Four vectors of requantize4 results (16 lanes) + the output zero point, saturated and bounded to
// 16 int8 outputs.
inline int8x16_t narrowToOutput(const int32x4_t u[4], int16x8_t zero_point, int8x16_t lo, int8x16_t hi) {
  const int16x8_t h0 = vqaddq_s16(vcombine_s16(vqmovn_s32(u[0]), vqmovn_s32(u[1])), zero_point);
  const int16x8_t h1 = vqaddq_s16(vcombine_s16(vqmovn_s32(u[2]), vqmovn_s32(u[3])), zero_point);
  return vminq_s8(vmaxq_s8(vcombine_s8(vqmovn_s16(h0), vqmovn_s16(h1)), lo), hi);
}

}  // namespace edgeopt::kernels::neon
