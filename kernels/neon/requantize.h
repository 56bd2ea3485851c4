// NEON int8 output stages: the arithmetic of kernels/ref/quant.h bit for bit. AArch64 SQRDMULH
// computes the Q31 rounding doubling high multiply and SRSHL the rounding right shift that
// ref::requantize defines (both round half up), SQSHL the saturating left shift.
#pragma once

#include <cstdint>

#include "kernels/ref/quant.h"

namespace edgeopt::kernels::neon {

// As ref::qs8_requantize_rows__scalar, writing int8 (not uint8-stored) outputs.
void qs8_requantize_rows__neon(int64_t rows, int64_t channels, const int32_t* acc, const int32_t* bias,
                               const ref::Requantization* requant, const ref::QuantParams& q, int8_t* y);

}  // namespace edgeopt::kernels::neon
