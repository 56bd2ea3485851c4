// x86 int8 depthwise 3x3 convolution (where oneDNN 2.6 is weak): the arithmetic of
// ref::qs8_conv__scalar for groups == channels, on uint8-stored NHWC data, bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/ref/quant.h"
#include "kernels/x86/aligned.h"

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
// biasMinusZeroPointSum[c] = bias[c] - x_zero_point * (sum of channel c's 9 weights), here and in
// the prepare functions below, or null when that is zero for every channel. scratch holds
// dwConv3x3VnniScratchBytes(p) bytes.
AlignedVector<int8_t> packDwConv3x3WeightsVnni(const int8_t* w, int64_t channels);
size_t dwConv3x3VnniScratchBytes(const DwConv3x3Params& p);
void qu8_dwconv3x3_row__avx512vnni(const DwConv3x3Params& p, int64_t oh, const uint8_t* x, const int8_t* packed,
                                   const int32_t* biasMinusZeroPointSum, uint8_t* scratch, int32_t* acc);

// The VNNI kernel with its output stage fused: one output row of uint8-stored results, with no
// int32 row in memory between the taps and the requantization. The output stage is prepared by
// prepareDwConv3x3VnniOutputStage, which folds biasMinusZeroPointSum into it (always true). Per 64-channel block and chunk of output pixels, the accumulators stay in the lane
// order of the interleaved input (no transposition): the output stage's constants are laid out
// in that order, and the saturating packs to bytes restore channel order. scratch holds
// dwConv3x3VnniFusedScratchBytes() bytes.
struct DwConv3x3VnniOutputStage {
  AlignedVector<int32_t> constants;  // per 64-channel block, 4 x kOutputStageWords (outputStageConstants16)
  int32_t output_zero_point = 0, output_min = -128, output_max = 127;  // int8 domain
};
bool prepareDwConv3x3VnniOutputStage(int64_t channels, const int32_t* biasMinusZeroPointSum,
                                     const ref::Requantization* requant, const ref::QuantParams& q,
                                     DwConv3x3VnniOutputStage* stage);
size_t dwConv3x3VnniFusedScratchBytes();
void qu8_dwconv3x3_requant_row__avx512vnni(const DwConv3x3Params& p, int64_t oh, const uint8_t* x, const int8_t* packed,
                                           const DwConv3x3VnniOutputStage& stage, uint8_t* scratch, uint8_t* y_row);

// Stride 1, channels a multiple of 16: the output row read as a sequence of 16-channel groups
// (pixel-major), 4 groups per vector whatever the pixel they belong to, so small channel counts
// fill whole vectors (16 channels: 4 pixels per vector) and none are padded to 64. Four input
// rows are interleaved once per pair of output rows into four planes (one per accumulator lane
// order k), where group f's taps sit at f * 16 + kw * channels: every vector's inputs are
// contiguous loads, and the two rows differ only in which three bytes of each dword their weights
// take. Weights and output-stage constants repeat with a period of lcm(channels / 16, 4) / 4 vectors.
struct DwConv3x3VnniFlat {
  int64_t channels = 0, period = 0;
  AlignedVector<int8_t> weights;     // [row of the pair][period][kw][k][64 bytes]
  AlignedVector<int32_t> constants;  // [period][k][kOutputStageWords] (outputStageConstants16)
  int32_t output_zero_point = 0, output_min = -128, output_max = 127;  // int8 domain
};
// False when channels % 16 != 0. w is int8 [channels][9].
bool prepareDwConv3x3VnniFlat(int64_t channels, const int8_t* w, const int32_t* biasMinusZeroPointSum,
                              const ref::Requantization* requant, const ref::QuantParams& q, DwConv3x3VnniFlat* flat);
size_t dwConv3x3VnniFlatScratchBytes(const DwConv3x3Params& p);
// Output rows oh .. oh + rows - 1 (rows 1 or 2; 2 only with p.stride_h == 1) of one image, for
// p.stride_w == 1. y receives rows * out_w * channels bytes, row after row.
void qu8_dwconv3x3s1_flat_requant_rows__avx512vnni(const DwConv3x3Params& p, const DwConv3x3VnniFlat& flat, int64_t oh,
                                                   int64_t rows, const uint8_t* x, uint8_t* scratch, uint8_t* y);

// True when this CPU has AVX-512 VNNI.
bool hasAvx512Vnni();

}  // namespace edgeopt::kernels::x86
