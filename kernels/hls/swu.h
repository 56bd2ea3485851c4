// Sliding-window unit (line buffer): turns a stream of NHWC images into the stream of their
// convolution windows, for the MVU to multiply (a convolution is SWU -> MVU with MW = K * K * C).
// For each output pixel (oh, ow), in row-major order, it emits the window's K * K * C values in
// (kh, kw, c) order, SIMD channels per element; positions outside the image (padding) hold the
// input zero point, which contributes nothing to the MVU's sum of (x - zero point) * w. K input
// rows stay in a circular line buffer; every input row is read exactly once (rows no window uses,
// e.g. with stride > K or below the last window, are read and dropped), so the input stream is
// left empty. Iterations per image: H * W * CF reads, then OH * OW * K * K * CF writes.
//
// Template parameters: C channels (SIMD divides C), H x W input, K x K kernel, stride S, top and
// left padding PT, PL, and the output size OH x OW (which fixes the bottom and right padding).
#pragma once

#include <cstdint>

#include "kernels/hls/stream.h"

namespace edgeopt_hls {

template <int C, int H, int W, int K, int S, int PT, int PL, int OH, int OW, int SIMD>
void swu(Stream<Pack<int8_t, SIMD>>& in, Stream<Pack<int8_t, SIMD>>& out, int32_t input_zero_point, int images) {
  static_assert(C % SIMD == 0, "SIMD must divide the channel count");
  constexpr int CF = C / SIMD;  // channel folds per pixel
  Pack<int8_t, SIMD> lines[K][W][CF];
#pragma HLS ARRAY_PARTITION variable = lines complete dim = 1
  Pack<int8_t, SIMD> pad;
  for (int s = 0; s < SIMD; ++s) pad.v[s] = static_cast<int8_t>(input_zero_point);
  for (int image = 0; image < images; ++image) {
    int rowsRead = 0;
    auto readRow = [&]() {
      for (int w = 0; w < W; ++w)
        for (int cf = 0; cf < CF; ++cf) {
#pragma HLS PIPELINE II = 1
          lines[rowsRead % K][w][cf] = in.read();
        }
      ++rowsRead;
    };
    for (int oh = 0; oh < OH; ++oh) {
      const int top = oh * S - PT;  // first input row of this output row's windows
      while (rowsRead < H && rowsRead < top + K) readRow();
      for (int ow = 0; ow < OW; ++ow) {
        const int left = ow * S - PL;
        for (int kh = 0; kh < K; ++kh)
          for (int kw = 0; kw < K; ++kw)
            for (int cf = 0; cf < CF; ++cf) {
#pragma HLS PIPELINE II = 1
              const int ih = top + kh, iw = left + kw;
              const bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
              out.write(inside ? lines[ih % K][iw][cf] : pad);
            }
      }
    }
    while (rowsRead < H) readRow();
  }
  recordIterations(static_cast<long>(images) * (H * W * CF + OH * OW * K * K * CF));
}

}  // namespace edgeopt_hls
