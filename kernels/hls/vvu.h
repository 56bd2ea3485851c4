// Vector-vector unit: the depthwise convolution's multiply-accumulate over the windows a swu<>
// produces (K2 = K * K positions of CF = C / SIMD channel folds, (kh, kw, c) order, padding with
// the input zero point): acc[c] = sum_k (x[k][c] - input_zero_point) * weights[c][k], then channel
// c's thresholds (kernels/ref/quant.h's int8 arithmetic with the bias folded in). SIMD channels
// per clock; one output element of SIMD channels per channel fold and pixel.
//
// Memory layout (what the emitter writes): weights[cf][k][s] = W[cf * SIMD + s][k] (ONNX's
// [C][1][K][K] with k = kh * K + kw), thresholds[cf][s][level].
#pragma once

#include <cstdint>

#include "kernels/hls/stream.h"
#include "kernels/hls/threshold.h"

namespace edgeopt_hls {

template <int K2, int CF, int SIMD, int kLevels>
void vvu(Stream<Pack<int8_t, SIMD>>& windows, Stream<Pack<int8_t, SIMD>>& out, const int8_t weights[CF][K2][SIMD],
         const int32_t thresholds[CF][SIMD][kLevels], int32_t input_zero_point, int32_t lowest, int pixels) {
#pragma HLS ARRAY_RESHAPE variable = weights complete dim = 3
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 2
  int32_t acc[CF][SIMD];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 2
  for (int p = 0; p < pixels; ++p)
    for (int k = 0; k < K2; ++k)
      for (int cf = 0; cf < CF; ++cf) {
#pragma HLS PIPELINE II = 1
        const Pack<int8_t, SIMD> x = windows.read();
        Pack<int8_t, SIMD> y;
        for (int s = 0; s < SIMD; ++s) {
#pragma HLS UNROLL
          const int32_t product = (static_cast<int32_t>(x.v[s]) - input_zero_point) * static_cast<int32_t>(weights[cf][k][s]);
#pragma HLS BIND_OP variable = product op = mul impl = dsp
          const int32_t sum = (k == 0 ? 0 : acc[cf][s]) + product;
          acc[cf][s] = sum;
          y.v[s] = applyThresholds<kLevels>(sum, thresholds[cf][s], lowest);
        }
        if (k == K2 - 1) out.write(y);
      }
  recordIterations(static_cast<long>(pixels) * K2 * CF);
}

}  // namespace edgeopt_hls
