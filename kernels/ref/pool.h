// Reference fp32 pooling over up to three spatial axes (N, C, D, H, W layout; lower-rank pools
// use leading spatial sizes of 1). Window positions outside the input are skipped.
#pragma once

#include <cstdint>

#include "kernels/ref/conv.h"

namespace edgeopt::kernels::ref {

struct PoolParams {
  int64_t batch = 1, channels = 0;
  int64_t in[kMaxSpatial] = {1, 1, 1};
  int64_t out[kMaxSpatial] = {1, 1, 1};
  int64_t kernel[kMaxSpatial] = {1, 1, 1};
  int64_t stride[kMaxSpatial] = {1, 1, 1};
  int64_t dilation[kMaxSpatial] = {1, 1, 1};
  int64_t pad_begin[kMaxSpatial] = {0, 0, 0};
  // Padded extent (input + pads before and after) per axis: average pooling with
  // count_include_pad counts window positions inside it, and never those beyond it (ceil_mode).
  int64_t padded_end[kMaxSpatial] = {1, 1, 1};
};

// Max over the window; `indices` (may be null) receives the flat index of the max within the
// whole input tensor, row-major (the first maximum in window order wins).
void f32_maxpool__scalar(const PoolParams& p, const float* x, float* y, int64_t* indices);
void s8_maxpool__scalar(const PoolParams& p, const int8_t* x, int8_t* y, int64_t* indices);
void u8_maxpool__scalar(const PoolParams& p, const uint8_t* x, uint8_t* y, int64_t* indices);

// Mean over the window. count_include_pad: divide by the number of window positions inside the
// padded extent; otherwise by the number inside the input.
void f32_avgpool__scalar(const PoolParams& p, bool count_include_pad, const float* x, float* y);

// DequantizeLinear (per tensor, uint8) followed by average pooling over non-overlapping windows
// that tile the image (kernel == stride, no padding, in = out * kernel), on NHWC data: one image
// [in_h, in_w, channels] -> float [out_h, out_w, channels]. Each output is
// float(sum of the window's x - zero_point) * (scale / float(window size)), in float32 (int32 sums:
// window size * 255 must fit), where dequantizing first would round per element and in the sum.
void qu8_dequantize_avgpool_tiles_nhwc__scalar(int64_t in_h, int64_t in_w, int64_t channels, int64_t kernel_h,
                                               int64_t kernel_w, const uint8_t* x, float scale, int32_t zero_point,
                                               float* y);

}  // namespace edgeopt::kernels::ref
