// x86 int8 convolutions as GEMMs with the output stage fused, on NHWC data (oneDNN 2.6 writes
// int32 accumulators that a second pass must requantize; here they never leave the registers):
//   y[pixel][n] = requantize(bias[n] + sum over taps and channels (x - x_zero_point) * w) + bounds
// on uint8-stored x and y, the arithmetic of ref::qs8_conv__scalar and
// ref::qs8_requantize_rows__scalar, bit for bit.
//
// A GEMM row is an output pixel; its depth runs over `segments` contiguous byte runs of the input,
// one per kernel row (kernel width x channels bytes, NHWC), so 1x1 convolutions (one run: the
// pixel's channels) and k x k ones (k runs in a padded image) share one register-tiled kernel:
// vpdpbusd on 4 broadcast input bytes against 16 output channels x 4 weights, tiles of 8 pixels x
// 16 channels or 4 pixels x up to 64 channels, then the fp32 output stage (requantize.h).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/ref/quant.h"
#include "kernels/x86/aligned.h"

namespace edgeopt::kernels::x86 {

// Weights and output stage in the kernel's form, prepared once per layer.
struct QGemmVnni {
  int64_t segments = 1;      // kernel rows
  int64_t segmentBytes = 0;  // kernel width x input channels
  int64_t groups = 0;        // 4-byte groups per segment (the last one zero-padded)
  int64_t n = 0;             // output channels
  AlignedVector<int8_t> b;     // per 16 output channels: [segments][groups][16 channels][4 bytes]
  AlignedVector<int32_t> constants;  // per 16 output channels: outputStageConstants16
  int32_t output_zero_point = 0, output_min = -128, output_max = 127;  // int8 domain
};

// biasMinusZeroPointSum[c] = bias[c] - x_zero_point (uint8 storage) * (sum of
// channel c's weights), or null when that is zero for every channel, so that the kernel
// multiplies the stored bytes directly; padding must then hold the zero point.
// 1x1 / GEMM: w is int8 [n][k]; false when k % 4 != 0 (rows are read 4 bytes at a time) and,
// for both, when a size is not positive.
bool prepareQGemmVnni(int64_t k, int64_t n, const int8_t* w, const int32_t* biasMinusZeroPointSum,
                      const ref::Requantization* requant, const ref::QuantParams& q, QGemmVnni* gemm);
// k x k: w is int8 [n][channels][kernel_h][kernel_w] (ONNX OIHW, one group).
bool prepareQConvVnni(int64_t channels, int64_t n, int64_t kernel_h, int64_t kernel_w, const int8_t* w,
                      const int32_t* biasMinusZeroPointSum, const ref::Requantization* requant,
                      const ref::QuantParams& q, QGemmVnni* conv);

// a: [m][k] uint8, y: [m][n] uint8 (rows contiguous). AVX-512 VNNI; the caller checks the CPU.
void qu8_gemm_requant__avx512vnni(int64_t m, const uint8_t* a, const QGemmVnni& gemm, uint8_t* y);

// One image: `padded` is the input with its padding materialized (holding the zero point),
// [padded_h][padded_w][channels], followed by at least 4 readable bytes; y is [out_h][out_w][n].
struct QConvGeometry {
  int64_t padded_w = 0, channels = 0;
  int64_t out_h = 0, out_w = 0;
  int64_t stride_h = 1, stride_w = 1, dilation_h = 1;  // width dilation must be 1
};
void qu8_conv_requant__avx512vnni(const QConvGeometry& geometry, const uint8_t* padded, const QGemmVnni& conv,
                                  uint8_t* y);

}  // namespace edgeopt::kernels::x86
