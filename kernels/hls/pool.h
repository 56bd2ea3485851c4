// Pooling and the residual Add for the HLS templates, on int8 streams with SIMD channels per
// element (kernels/ref/quant.h's arithmetic, the requantizations as thresholds).
#pragma once

#include <cstdint>

#include "kernels/hls/stream.h"
#include "kernels/hls/threshold.h"

namespace edgeopt_hls {

// Max pooling over the windows a swu<> with input_zero_point = -128 produces (its padding is
// then the lowest value, which a max never picks over a position inside the image, as ONNX's
// -inf padding): K2 = K * K window positions of CF channel folds each, in (kh, kw, c) order, per
// output pixel. Integer data movement only.
template <int K2, int CF, int SIMD>
void maxWindows(Stream<Pack<int8_t, SIMD>>& windows, Stream<Pack<int8_t, SIMD>>& out, int pixels) {
  Pack<int8_t, SIMD> best[CF];
  for (int p = 0; p < pixels; ++p)
    for (int k = 0; k < K2; ++k)
      for (int cf = 0; cf < CF; ++cf) {
#pragma HLS PIPELINE II = 1
        const Pack<int8_t, SIMD> x = windows.read();
        for (int s = 0; s < SIMD; ++s) {
#pragma HLS UNROLL
          best[cf].v[s] = k == 0 || x.v[s] > best[cf].v[s] ? x.v[s] : best[cf].v[s];
        }
        if (k == K2 - 1) out.write(best[cf]);
      }
  recordIterations(static_cast<long>(pixels) * K2 * CF);
}

// Global average pooling of `images` NHWC images of `pixels` pixels: per channel the sum of
// (x - input_zero_point) over the pixels, then the thresholds of the average's requantization
// (one set for every channel: kernels/ref averageMultiplier for a count of `pixels`).
template <int CF, int SIMD, int kLevels>
void globalAveragePool(Stream<Pack<int8_t, SIMD>>& in, Stream<Pack<int8_t, SIMD>>& out, const int32_t thresholds[kLevels],
                       int32_t input_zero_point, int32_t lowest, int pixels, int images) {
  int32_t sums[CF][SIMD];
#pragma HLS ARRAY_PARTITION variable = sums complete dim = 2
  for (int n = 0; n < images; ++n) {
    for (int p = 0; p < pixels; ++p)
      for (int cf = 0; cf < CF; ++cf) {
#pragma HLS PIPELINE II = 1
        const Pack<int8_t, SIMD> x = in.read();
        for (int s = 0; s < SIMD; ++s) {
#pragma HLS UNROLL
          sums[cf][s] = (p == 0 ? 0 : sums[cf][s]) + (static_cast<int32_t>(x.v[s]) - input_zero_point);
        }
      }
    for (int cf = 0; cf < CF; ++cf) {
#pragma HLS PIPELINE II = 1
      Pack<int8_t, SIMD> y;
      for (int s = 0; s < SIMD; ++s) {
#pragma HLS UNROLL
        y.v[s] = applyThresholds<kLevels>(sums[cf][s], thresholds, lowest);
      }
      out.write(y);
    }
  }
  recordIterations(static_cast<long>(images) * (pixels * CF + CF));
}

// The residual Add of `elements` values (SIMD per element): acc = (a - za) A + (b - zb) B with
// the integer weights of ref::AddRequantization, then the thresholds of its M = 2^-s.
template <int SIMD, int kLevels>
void residualAdd(Stream<Pack<int8_t, SIMD>>& a, Stream<Pack<int8_t, SIMD>>& b, Stream<Pack<int8_t, SIMD>>& out,
                 const int32_t thresholds[kLevels], int32_t a_zero_point, int32_t a_weight, int32_t b_zero_point,
                 int32_t b_weight, int32_t lowest, int elements) {
  for (int i = 0; i < elements; ++i) {
#pragma HLS PIPELINE II = 1
    const Pack<int8_t, SIMD> x = a.read(), y = b.read();
    Pack<int8_t, SIMD> z;
    for (int s = 0; s < SIMD; ++s) {
#pragma HLS UNROLL
      const int32_t acc = (static_cast<int32_t>(x.v[s]) - a_zero_point) * a_weight +
                          (static_cast<int32_t>(y.v[s]) - b_zero_point) * b_weight;
      z.v[s] = applyThresholds<kLevels>(acc, thresholds, lowest);
    }
    out.write(z);
  }
  recordIterations(elements);
}

}  // namespace edgeopt_hls
