// Reference resampling along one axis. Every ONNX Resize mode edgeopt supports (nearest,
// linear, cubic) is separable, so an N-d resize is a sequence of one-axis passes; the caller
// computes, per output coordinate, `taps` source indices and weights (the mode's semantics).
#pragma once

#include <cstdint>

namespace edgeopt::kernels::ref {

// x: [outer, in_len, inner] -> y: [outer, out_len, inner].
// y[o, j, i] = sum_t weight[j*taps + t] * x[o, index[j*taps + t], i]; an index of -1 marks an
// output that takes `fill` instead (extrapolation of tf_crop_and_resize).
void f32_resize_axis__scalar(int64_t outer, int64_t in_len, int64_t out_len, int64_t inner,
                             int64_t taps, const int64_t* index, const float* weight, float fill,
                             const float* x, float* y);

// Nearest-neighbour resampling of 8-bit data (int8 or uint8-stored activations): a gather, exact
// for any encoding. y[o, j, i] = x[o, index[j], i]; every index must be valid.
void x8_resize_nearest_axis__scalar(int64_t outer, int64_t in_len, int64_t out_len, int64_t inner,
                                    const int64_t* index, const uint8_t* x, uint8_t* y);

}  // namespace edgeopt::kernels::ref
