// x86 int8 GEMM with the output stage fused, for 1x1 convolutions on NHWC data (oneDNN 2.6 writes
// int32 accumulators that a second pass must requantize; here they never leave the registers):
//   y[m][n] = requantize(bias[n] + sum_k (a[m][k] - a_zero_point) * w[n][k]) + bounds
// on uint8-stored a and y, the arithmetic of ref::qs8_conv__scalar (1x1) and
// ref::qs8_requantize_rows__scalar, bit for bit.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/ref/quant.h"

namespace edgeopt::kernels::x86 {

// Weights and output stage in the kernel's form, prepared once per layer.
struct QGemmVnni {
  int64_t k = 0, n = 0;
  std::vector<int8_t> b;           // per 16 output channels: [k / 4][16 channels][4 k], zero-padded
  std::vector<int64_t> constants;  // per 16 output channels: shortFormConstants16
  int32_t output_min = -128, output_max = 127;  // int8 domain
};

// False when k % 4 != 0 or a channel's requantization is outside Requantizer's short form (then
// use another kernel). w is int8 [n][k]; biasMinusZeroPointSum[c] = bias[c] - a_zero_point (uint8
// storage) * sum_k w[c][k], so that the kernel multiplies the stored bytes directly.
bool prepareQGemmVnni(int64_t k, int64_t n, const int8_t* w, const int32_t* biasMinusZeroPointSum,
                      const ref::Requantization* requant, const ref::QuantParams& q, QGemmVnni* gemm);

// a: [m][k] uint8, y: [m][n] uint8 (rows contiguous). Register tiles of 4 rows x 64 channels
// (vpdpbusd on a broadcast 4 bytes of a row), then the short-form output stage on the tile.
// AVX-512 VNNI; the caller checks the CPU.
void qu8_gemm_requant__avx512vnni(int64_t m, const uint8_t* a, const QGemmVnni& gemm, uint8_t* y);

}  // namespace edgeopt::kernels::x86
