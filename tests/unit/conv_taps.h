// Test helper: the textbook definition of which input element meets which weight in a
// convolution, for checking kernels independently of their loop structure.
#pragma once

#include <cstdint>

#include "kernels/ref/conv.h"

namespace edgeopt::testing {

// For every output element (in NCDHW order, index `out`, output channel `m`) calls
// begin(out, m), then tap(x_index, w_index) for each kernel position that lies inside the input,
// then end(out, m). Weights are [M, C/groups, KD, KH, KW].
template <typename Begin, typename Tap, typename End>
void forEachConvTap(const kernels::ref::ConvParams& p, Begin begin, Tap tap, End end) {
  const int64_t cpg = p.in_channels / p.groups, mpg = p.out_channels / p.groups;
  const int64_t inPlane = p.in[0] * p.in[1] * p.in[2];
  int64_t out = 0;
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t m = 0; m < p.out_channels; ++m)
      for (int64_t od = 0; od < p.out[0]; ++od)
        for (int64_t oh = 0; oh < p.out[1]; ++oh)
          for (int64_t ow = 0; ow < p.out[2]; ++ow, ++out) {
            begin(out, m);
            for (int64_t c = 0; c < cpg; ++c)
              for (int64_t kd = 0; kd < p.kernel[0]; ++kd)
                for (int64_t kh = 0; kh < p.kernel[1]; ++kh)
                  for (int64_t kw = 0; kw < p.kernel[2]; ++kw) {
                    const int64_t id = od * p.stride[0] + kd * p.dilation[0] - p.pad_begin[0];
                    const int64_t ih = oh * p.stride[1] + kh * p.dilation[1] - p.pad_begin[1];
                    const int64_t iw = ow * p.stride[2] + kw * p.dilation[2] - p.pad_begin[2];
                    if (id < 0 || id >= p.in[0] || ih < 0 || ih >= p.in[1] || iw < 0 || iw >= p.in[2]) continue;
                    const int64_t ci = (m / mpg) * cpg + c;
                    tap((n * p.in_channels + ci) * inPlane + (id * p.in[1] + ih) * p.in[2] + iw,
                        (((m * cpg + c) * p.kernel[0] + kd) * p.kernel[1] + kh) * p.kernel[2] + kw);
                  }
            end(out, m);
          }
}

}  // namespace edgeopt::testing
