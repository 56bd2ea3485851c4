// x86 int8 output stages: the same arithmetic as kernels/ref/quant.h, bit for bit.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/ref/quant.h"
#include "kernels/x86/aligned.h"

namespace edgeopt::kernels::x86 {

// As ref::qs8_requantize_rows__scalar (uint8 storage). AVX-512F; the caller checks the CPU.
void qs8_requantize_rows__avx512f(int64_t rows, int64_t channels, const int32_t* acc, const int32_t* bias,
                                  const ref::Requantization* requant, const ref::QuantParams& q, uint8_t* y_uint8);

// The short form of the output stage, for channels whose right shift s = -exponent is in [1, 22]
// (every M in [2^-23, 1/2), which covers the scales of real layers): the two roundings, the bias
// (b * M) and the output zero point (zp * 2^(31+s)) fold into one int64 constant per channel, so a
// lane is one multiply, one add and one shift; with s <= 22 and the int32 contract on acc + bias,
// no intermediate leaves int64. shortFormConstants16 writes the constants for 16 lanes, lane i
// computing channel channelOfLane[i]: 48 int64 (multipliers of even and odd lanes as int32 in the
// low dwords, addends, shifts), as shortFormRequantize16 (requantize_avx512_inl.h) reads them.
// False when a channel is outside the short form. bias may be null (zero).
bool isShortFormRequantization(ref::Requantization r);
bool shortFormConstants16(const int64_t* channelOfLane, const int32_t* bias, const ref::Requantization* requant,
                          int32_t output_zero_point, int64_t* constants48);

// The output stage with its per-channel constants prepared once (at plan time), for a layer whose
// bias, requantization and bounds are fixed: short-form channels in the short form, the others
// (left shifts, tiny M) in qs8_requantize_rows__avx512f's general form. AVX-512F/BW; the caller
// checks the CPU.
class Requantizer {
 public:
  // bias may be null; requant has `channels` entries.
  Requantizer(int64_t channels, const int32_t* bias, const ref::Requantization* requant, const ref::QuantParams& q);

  // y_uint8[r * channels + c] for r < rows from acc[r * channels + c], as ref::qs8_requantize_rows__scalar.
  void run(int64_t rows, const int32_t* acc, uint8_t* y_uint8) const;
  // Kernel name for profiles.
  static const char* name() { return "x86:qs8_requantize_rows_prepared__avx512f"; }

 private:
  int64_t channels_;
  ref::QuantParams q_;
  std::vector<int32_t> bias_;
  std::vector<ref::Requantization> requant_;
  // Per group of 16 channels: whether it takes the short form, and its six constant vectors
  // (multipliers of even/odd lanes, int64 addends, int64 shifts) as 6 x 64 bytes.
  std::vector<uint8_t> shortForm_;
  AlignedVector<int64_t> constants_;
};

// True when this CPU runs the AVX-512 kernels of this folder (AVX-512F/BW/VL).
bool hasAvx512();

}  // namespace edgeopt::kernels::x86

namespace edgeopt::kernels::x86 {

// As ref::qu8_add__scalar (uint8-stored activations, uint8-domain zero points and bounds). With a
// shift of 17 or more (ratios below about 2^14: real residual Adds) it computes in exact 16-bit
// pieces (vpmaddwd); otherwise in int64.
void qu8_add__avx512f(int64_t n, const uint8_t* a, int32_t a_zero_point, const uint8_t* b, int32_t b_zero_point,
                      const ref::AddRequantization& r, const ref::QuantParams& q, uint8_t* y);

// n pixels of up to 4 byte planes (NCHW rows) as 4-byte pixels (NHWC with the channels padded to
// 4): out[4 i + c] = planes[c][i] for c < count, `fill` for the others. AVX-512F/BW.
void qu8_planes_to_pixels4__avx512bw(int64_t n, const uint8_t* const* planes, int count, uint8_t fill, uint8_t* out);

// As ref::qu8_quantize__scalar: ONNX QuantizeLinear of float32 to uint8.
void qu8_quantize__avx512f(int64_t n, const float* x, float scale, int32_t zero_point, uint8_t* y);

// Global average pooling of uint8-stored NHWC data [batch, pixels, channels] into [batch, channels]:
// ref::qs8_avgpool__scalar's arithmetic (sum of x - zero point, requantized by `requant`, the
// multiplier for a count of `pixels`) with q in the uint8 domain.
void qu8_global_avgpool_nhwc__avx512f(int64_t batch, int64_t pixels, int64_t channels, const uint8_t* x,
                                      ref::Requantization requant, const ref::QuantParams& q, uint8_t* y);

}  // namespace edgeopt::kernels::x86
