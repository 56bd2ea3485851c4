// NEON depthwise 3x3 convolution (int8 and fp32), int8 Add and int8 global average pooling on
// NHWC data: the arithmetic of kernels/ref (quant.h for int8) bit for bit for int8.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ref/quant.h"

namespace edgeopt::kernels::neon {

struct DwConv3x3Params {
  int64_t in_h = 0, in_w = 0, channels = 0;
  int64_t out_w = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;
  int32_t x_zero_point = 0;  // int8 encoding (ignored by the fp32 kernel)
};

// One output row `oh` of one image x [in_h, in_w, channels] (int8): acc[ow * channels + c] =
// bias[c] + sum over the 3x3 taps inside the input of (x - x_zero_point) * w[tap * channels + c],
// with w the int8 weights widened to int16, tap-major ([9][channels]); bias may be null. The
// output stage (qs8_requantize_rows__neon) turns acc into int8.
void qs8_dwconv3x3_row__neon(const DwConv3x3Params& p, int64_t oh, const int8_t* x, const int16_t* w,
                             const int32_t* bias, int32_t* acc);
// fp32: y[ow * channels + c] = bias[c] + sum over the taps inside the input of x * w[tap][c].
void f32_dwconv3x3_row__neon(const DwConv3x3Params& p, int64_t oh, const float* x, const float* w,
                             const float* bias, float* y);

// As ref::qs8_add__scalar.
void qs8_add__neon(int64_t n, const int8_t* a, int32_t a_zero_point, const int8_t* b, int32_t b_zero_point,
                   const ref::AddRequantization& r, const ref::QuantParams& q, int8_t* y);

// Max pooling of int8 NHWC data, one image [in_h, in_w, channels] -> [out_h, out_w, channels];
// window positions outside the input are skipped (as ref::s8_maxpool__scalar does).
struct MaxPool2d {
  int64_t in_h = 0, in_w = 0, channels = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_top = 0, pad_left = 0;
  int64_t dilation_h = 1, dilation_w = 1;
};
void s8_maxpool_nhwc__neon(const MaxPool2d& p, const int8_t* x, int8_t* y);

// Global average pooling of int8 NHWC [batch, pixels, channels] into [batch, channels]: the sums
// of x - input_zero_point requantized with `requant` (the multiplier for a count of `pixels`).
void qs8_global_avgpool_nhwc__neon(int64_t batch, int64_t pixels, int64_t channels, const int8_t* x,
                                   ref::Requantization requant, const ref::QuantParams& q, int8_t* y);

}  // namespace edgeopt::kernels::neon
