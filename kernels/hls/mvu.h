// Matrix-vector unit: for each of `vectors` input vectors x of MW int8 values (streamed SIMD at a
// time), the MH outputs y[c] = thresholds_c(sum_k (x[k] - input_zero_point) * W[c][k]) (the
// int8 arithmetic of kernels/ref/quant.h with the bias folded into the thresholds), streamed PE at
// a time. Folding: SF = MW / SIMD synapse folds and NF = MH / PE neuron folds, so one vector takes
// NF * SF clocks at II = 1 with PE * SIMD multipliers. The input vector is read once (during the
// first neuron fold) and replayed from a buffer for the other NF - 1.
//
// Memory layout (what the emitter writes): weights[pe][nf * SF + sf][s] = W[nf * PE + pe][sf * SIMD + s],
// thresholds[pe][nf][k] for output channel nf * PE + pe. Outputs leave in channel order.
#pragma once

#include <cstdint>

#include "kernels/hls/stream.h"
#include "kernels/hls/threshold.h"

namespace edgeopt_hls {

template <int MW, int MH, int SIMD, int PE, int kLevels>
void mvu(Stream<Pack<int8_t, SIMD>>& in, Stream<Pack<int8_t, PE>>& out, const int8_t weights[PE][(MH / PE) * (MW / SIMD)][SIMD],
         const int32_t thresholds[PE][MH / PE][kLevels], int32_t input_zero_point, int32_t lowest, int vectors) {
  static_assert(MW % SIMD == 0 && MH % PE == 0, "SIMD must divide MW and PE must divide MH");
  constexpr int SF = MW / SIMD, NF = MH / PE;
#pragma HLS ARRAY_RESHAPE variable = weights complete dim = 1
#pragma HLS ARRAY_RESHAPE variable = weights complete dim = 3
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 1
  Pack<int8_t, SIMD> buffer[SF];
  int32_t acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete
  int sf = 0, nf = 0;
  const int iterations = vectors * NF * SF;
  for (int i = 0; i < iterations; ++i) {
#pragma HLS PIPELINE II = 1
    Pack<int8_t, SIMD> x;
    if (nf == 0) {
      x = in.read();
      buffer[sf] = x;
    } else {
      x = buffer[sf];
    }
    for (int pe = 0; pe < PE; ++pe) {
#pragma HLS UNROLL
      int32_t sum = sf == 0 ? 0 : acc[pe];
      for (int s = 0; s < SIMD; ++s) {
#pragma HLS UNROLL
        const int32_t product = (static_cast<int32_t>(x.v[s]) - input_zero_point) * static_cast<int32_t>(weights[pe][nf * SF + sf][s]);
#pragma HLS BIND_OP variable = product op = mul impl = dsp
        sum += product;
      }
      acc[pe] = sum;
    }
    if (sf == SF - 1) {
      Pack<int8_t, PE> y;
      for (int pe = 0; pe < PE; ++pe) {
#pragma HLS UNROLL
        y.v[pe] = applyThresholds<kLevels>(acc[pe], thresholds[pe][nf], lowest);
      }
      out.write(y);
    }
    if (++sf == SF) {
      sf = 0;
      if (++nf == NF) nf = 0;
    }
  }
  recordIterations(iterations);
}

}  // namespace edgeopt_hls
