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

namespace edgeopt::kernels::x86 {

// As ref::qu8_add__scalar (uint8-stored activations, uint8-domain zero points and bounds).
void qu8_add__avx512f(int64_t n, const uint8_t* a, int32_t a_zero_point, const uint8_t* b, int32_t b_zero_point,
                      const ref::AddRequantization& r, const ref::QuantParams& q, uint8_t* y);

// As ref::qu8_quantize__scalar: ONNX QuantizeLinear of float32 to uint8.
void qu8_quantize__avx512f(int64_t n, const float* x, float scale, int32_t zero_point, uint8_t* y);

// Global average pooling of uint8-stored NHWC data [batch, pixels, channels] into [batch, channels]:
// ref::qs8_avgpool__scalar's arithmetic (sum of x - zero point, requantized by `requant`, the
// multiplier for a count of `pixels`) with q in the uint8 domain.
void qu8_global_avgpool_nhwc__avx512f(int64_t batch, int64_t pixels, int64_t channels, const uint8_t* x,
                                      ref::Requantization requant, const ref::QuantParams& q, uint8_t* y);

}  // namespace edgeopt::kernels::x86
