// The int8 output stage as integer thresholds (kernels/ref/quant.h, requantizationThresholds):
// the requantization acc -> y is monotone, so y = lowest + #{k : thresholds[k] <= acc}, exact by
// construction and with no float hardware (FINN's MultiThreshold). The bias is folded into the
// thresholds. kLevels = output_max - output_min; a comparator per level, unrolled.
#pragma once

#include <cstdint>

namespace edgeopt_hls {

template <int kLevels>
inline int8_t applyThresholds(int32_t acc, const int32_t thresholds[kLevels], int32_t lowest) {
#pragma HLS INLINE
  int32_t count = 0;
  for (int k = 0; k < kLevels; ++k) {
#pragma HLS UNROLL
    count += acc >= thresholds[k] ? 1 : 0;
  }
  return static_cast<int8_t>(lowest + count);
}

}  // namespace edgeopt_hls
