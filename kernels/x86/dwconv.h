// x86 int8 depthwise 3x3 convolution (where oneDNN 2.6 is weak): the arithmetic of
// ref::qs8_conv__scalar for groups == channels, on uint8-stored NHWC data, bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace edgeopt::kernels::x86 {

struct DwConv3x3Params {
  int64_t in_h = 0, in_w = 0, channels = 0;
  int64_t out_w = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;
  int32_t x_zero_point = 0;  // in the uint8 storage (int8 zero point + 128)
};

// One output row `oh` of one image: acc[ow * channels + c] = bias[c] + the sum over the 3x3 taps
// inside the input of (x - x_zero_point) * w[tap * channels + c]. x is the image [in_h, in_w,
// channels]; w holds the int8 weights widened to int32, tap-major ([9][channels]); bias may be null.
void qu8_dwconv3x3_row__avx512f(const DwConv3x3Params& p, int64_t oh, const uint8_t* x, const int32_t* w,
                                const int32_t* bias, int32_t* acc);

// The same with AVX-512 VNNI. Per 64-channel block, each input column of the three input rows is
// interleaved once (channel c's three rows in one dword; rows and columns outside the image read
// the zero point, so they contribute nothing), then every output pixel is 12 vpdpbusd (u8 x s8)
// over its three columns. Weights packed by packDwConv3x3WeightsVnni (from int8 [channels][9]);
// biasMinusZeroPointSum[c] = bias[c] - x_zero_point * (sum of channel c's 9 weights). scratch holds
// dwConv3x3VnniScratchBytes(p) bytes.
std::vector<int8_t> packDwConv3x3WeightsVnni(const int8_t* w, int64_t channels);
size_t dwConv3x3VnniScratchBytes(const DwConv3x3Params& p);
void qu8_dwconv3x3_row__avx512vnni(const DwConv3x3Params& p, int64_t oh, const uint8_t* x, const int8_t* packed,
                                   const int32_t* biasMinusZeroPointSum, uint8_t* scratch, int32_t* acc);

// True when this CPU has AVX-512 VNNI.
bool hasAvx512Vnni();

}  // namespace edgeopt::kernels::x86
