// Reference fp32 convolution and transposed convolution: the numerical definition every
// optimized convolution kernel is tested against.
//
// Layout: activations N, C, D, H, W (row-major); weights M, C/groups, KD, KH, KW. One- and
// two-dimensional convolutions are expressed with leading spatial sizes of 1 (kernel 1, stride
// 1, dilation 1, pad 0). Accumulation is fp32 in the order: bias, then input channel, kd, kh, kw.
#pragma once

#include <cstdint>

namespace edgeopt::kernels::ref {

constexpr int kMaxSpatial = 3;

struct ConvParams {
  int64_t batch = 1;
  int64_t in_channels = 0, out_channels = 0, groups = 1;
  int64_t in[kMaxSpatial] = {1, 1, 1};      // input D, H, W
  int64_t out[kMaxSpatial] = {1, 1, 1};     // output D, H, W
  int64_t kernel[kMaxSpatial] = {1, 1, 1};
  int64_t stride[kMaxSpatial] = {1, 1, 1};
  int64_t dilation[kMaxSpatial] = {1, 1, 1};
  int64_t pad_begin[kMaxSpatial] = {0, 0, 0};  // pads before each spatial axis
};

// First and one-past-last output index o along an axis for which the input position
// i = o*stride + k*dilation - pad lies in [0, in_size): the loop bounds that let convolution
// kernels skip padding without a test per element.
inline void validOutputRange(int64_t k, int64_t stride, int64_t dilation, int64_t pad, int64_t in_size,
                             int64_t out_size, int64_t* begin, int64_t* end) {
  const int64_t offset = k * dilation - pad;  // i = o*stride + offset
  const int64_t b = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const int64_t e = in_size - offset <= 0 ? 0 : (in_size - offset + stride - 1) / stride;
  *begin = b < out_size ? b : out_size;
  *end = e < out_size ? e : out_size;
  if (*end < *begin) *end = *begin;
}

// y[n, m, o] = bias[m] + sum_{c in group(m), k} x[n, c, o*stride + k*dilation - pad_begin] * w[m, c, k]
// Positions outside the input contribute zero. bias may be null.
void f32_conv__scalar(const ConvParams& p, const float* x, const float* w, const float* bias,
                      float* y);

// Transposed convolution (gradient of conv w.r.t. its input). Weights are C, M/groups, K...;
// `in` is the transposed conv's input size, `out` its output size. Each input position i
// scatters to o = i*stride + k*dilation - pad_begin; outputs outside [0, out) are dropped.
void f32_conv_transpose__scalar(const ConvParams& p, const float* x, const float* w,
                                const float* bias, float* y);

}  // namespace edgeopt::kernels::ref
