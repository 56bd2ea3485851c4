// The int8 output stage as integer thresholds (kernels/ref/quant.h, requantizationThresholds):
// the requantization acc -> y is monotone, so y = lowest + #{k : thresholds[k] <= acc}, exact by
// construction and with no float hardware (FINN's MultiThreshold). The bias is folded into the
// thresholds. kLevels = output_max - output_min (at most 255); the thresholds must be
// nondecreasing (unused levels hold a value no accumulator reaches).
//
// The count is a binary search: ceil(log2(kLevels + 1)) comparisons (8 for 255 levels), each
// halving the range, instead of one comparator per level; unrolled, it is a pipeline of that many
// compare-and-select stages.
#pragma once

#include <cstdint>

namespace edgeopt_hls {

// Comparison stages for kLevels thresholds: the smallest s with 2^s > kLevels.
constexpr int thresholdSteps(int levels) {
  int s = 0;
  while ((1 << s) <= levels) ++s;
  return s;
}

template <int kLevels>
inline int8_t applyThresholds(int32_t acc, const int32_t thresholds[kLevels], int32_t lowest) {
#pragma HLS INLINE
  constexpr int kSteps = thresholdSteps(kLevels);
  int32_t count = 0;  // invariant: thresholds[count - 1] <= acc (or count = 0)
  for (int step = kSteps - 1; step >= 0; --step) {
#pragma HLS UNROLL
    const int32_t probe = count + (1 << step);
    if (probe <= kLevels && thresholds[probe - 1] <= acc) count = probe;
  }
  return static_cast<int8_t>(lowest + count);
}

}  // namespace edgeopt_hls
