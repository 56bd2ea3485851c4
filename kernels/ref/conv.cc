#include "kernels/ref/conv.h"

#include <algorithm>
#include <cassert>

namespace edgeopt::kernels::ref {

void f32_conv__scalar(const ConvParams& p, const float* x, const float* w, const float* bias,
                      float* y) {
  assert(p.in_channels % p.groups == 0 && p.out_channels % p.groups == 0);
  const int64_t cpg = p.in_channels / p.groups, mpg = p.out_channels / p.groups;
  const int64_t in_plane = p.in[0] * p.in[1] * p.in[2];
  const int64_t out_plane = p.out[0] * p.out[1] * p.out[2];
  const int64_t ksize = p.kernel[0] * p.kernel[1] * p.kernel[2];
  for (int64_t n = 0; n < p.batch; ++n) {
    for (int64_t m = 0; m < p.out_channels; ++m) {
      const int64_t g = m / mpg;
      float* yp = y + (n * p.out_channels + m) * out_plane;
      std::fill(yp, yp + out_plane, bias ? bias[m] : 0.0f);
      for (int64_t c = 0; c < cpg; ++c) {
        const float* xp = x + (n * p.in_channels + g * cpg + c) * in_plane;
        const float* wp = w + (m * cpg + c) * ksize;
        for (int64_t kd = 0; kd < p.kernel[0]; ++kd) {
          int64_t od0, od1;
          validOutputRange(kd, p.stride[0], p.dilation[0], p.pad_begin[0], p.in[0], p.out[0], &od0, &od1);
          for (int64_t kh = 0; kh < p.kernel[1]; ++kh) {
            int64_t oh0, oh1;
            validOutputRange(kh, p.stride[1], p.dilation[1], p.pad_begin[1], p.in[1], p.out[1], &oh0, &oh1);
            for (int64_t kw = 0; kw < p.kernel[2]; ++kw) {
              int64_t ow0, ow1;
              validOutputRange(kw, p.stride[2], p.dilation[2], p.pad_begin[2], p.in[2], p.out[2], &ow0, &ow1);
              const float wv = wp[(kd * p.kernel[1] + kh) * p.kernel[2] + kw];
              for (int64_t od = od0; od < od1; ++od) {
                const int64_t id = od * p.stride[0] + kd * p.dilation[0] - p.pad_begin[0];
                for (int64_t oh = oh0; oh < oh1; ++oh) {
                  const int64_t ih = oh * p.stride[1] + kh * p.dilation[1] - p.pad_begin[1];
                  const float* xrow = xp + (id * p.in[1] + ih) * p.in[2] + kw * p.dilation[2] - p.pad_begin[2];
                  float* yrow = yp + (od * p.out[1] + oh) * p.out[2];
                  const int64_t s = p.stride[2];
                  if (s == 1) {
                    for (int64_t ow = ow0; ow < ow1; ++ow) yrow[ow] += wv * xrow[ow];
                  } else {
                    for (int64_t ow = ow0; ow < ow1; ++ow) yrow[ow] += wv * xrow[ow * s];
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

void f32_conv_transpose__scalar(const ConvParams& p, const float* x, const float* w,
                                const float* bias, float* y) {
  assert(p.in_channels % p.groups == 0 && p.out_channels % p.groups == 0);
  const int64_t cpg = p.in_channels / p.groups, mpg = p.out_channels / p.groups;
  const int64_t in_plane = p.in[0] * p.in[1] * p.in[2];
  const int64_t out_plane = p.out[0] * p.out[1] * p.out[2];
  const int64_t ksize = p.kernel[0] * p.kernel[1] * p.kernel[2];
  for (int64_t n = 0; n < p.batch; ++n) {
    for (int64_t m = 0; m < p.out_channels; ++m) {
      float* yp = y + (n * p.out_channels + m) * out_plane;
      std::fill(yp, yp + out_plane, bias ? bias[m] : 0.0f);
    }
    for (int64_t c = 0; c < p.in_channels; ++c) {
      const int64_t g = c / cpg;
      const float* xp = x + (n * p.in_channels + c) * in_plane;
      for (int64_t mm = 0; mm < mpg; ++mm) {
        const int64_t m = g * mpg + mm;
        float* yp = y + (n * p.out_channels + m) * out_plane;
        const float* wp = w + (c * mpg + mm) * ksize;
        for (int64_t id = 0; id < p.in[0]; ++id)
          for (int64_t ih = 0; ih < p.in[1]; ++ih)
            for (int64_t iw = 0; iw < p.in[2]; ++iw) {
              const float xv = xp[(id * p.in[1] + ih) * p.in[2] + iw];
              for (int64_t kd = 0; kd < p.kernel[0]; ++kd) {
                const int64_t od = id * p.stride[0] + kd * p.dilation[0] - p.pad_begin[0];
                if (od < 0 || od >= p.out[0]) continue;
                for (int64_t kh = 0; kh < p.kernel[1]; ++kh) {
                  const int64_t oh = ih * p.stride[1] + kh * p.dilation[1] - p.pad_begin[1];
                  if (oh < 0 || oh >= p.out[1]) continue;
                  for (int64_t kw = 0; kw < p.kernel[2]; ++kw) {
                    const int64_t ow = iw * p.stride[2] + kw * p.dilation[2] - p.pad_begin[2];
                    if (ow < 0 || ow >= p.out[2]) continue;
                    yp[(od * p.out[1] + oh) * p.out[2] + ow] +=
                        xv * wp[(kd * p.kernel[1] + kh) * p.kernel[2] + kw];
                  }
                }
              }
            }
      }
    }
  }
}

}  // namespace edgeopt::kernels::ref
