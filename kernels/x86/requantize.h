// x86 int8 output stages: the same arithmetic as kernels/ref/quant.h, bit for bit.
#pragma once

#include <cstdint>

#include "kernels/ref/quant.h"

namespace edgeopt::kernels::x86 {

// As ref::qs8_requantize_rows__scalar (uint8 storage). AVX-512F; the caller checks the CPU.
void qs8_requantize_rows__avx512f(int64_t rows, int64_t channels, const int32_t* acc, const int32_t* bias,
                                  const ref::Requantization* requant, const ref::QuantParams& q, uint8_t* y_uint8);

// True when this CPU runs the AVX-512 kernels of this folder (AVX-512F/BW/VL).
bool hasAvx512();

}  // namespace edgeopt::kernels::x86
