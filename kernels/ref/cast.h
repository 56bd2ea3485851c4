// IEEE half-precision conversions (round to nearest even), used by Cast.
#pragma once

#include <cstdint>

namespace edgeopt::kernels::ref {

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

}  // namespace edgeopt::kernels::ref
