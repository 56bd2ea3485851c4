// x86 int8 output stages: the fp32 requantization of kernels/ref/quant.h, bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/ref/quant.h"
#include "kernels/x86/aligned.h"

namespace edgeopt::kernels::x86 {

// As ref::qs8_requantize_rows__scalar (uint8 storage). AVX-512F; the caller checks the CPU.
void qs8_requantize_rows__avx512f(int64_t rows, int64_t channels, const int32_t* acc, const int32_t* bias,
                                  const ref::Requantization* requant, const ref::QuantParams& q, uint8_t* y_uint8);

// The constants of the fp32 output stage for 16 lanes, lane i computing channel channelOfLane[i]:
// 32 int32 words, the lanes' biases then their multipliers M (float32 bits), as
// loadOutputStage16 (requantize_avx512_inl.h) reads them. bias may be null (zero).
constexpr int64_t kOutputStageWords = 32;
void outputStageConstants16(const int64_t* channelOfLane, const int32_t* bias, const ref::Requantization* requant,
                            int32_t* constants32);

// The output stage with its per-channel constants prepared once (at plan time), for a layer whose
// bias, requantization and bounds are fixed. AVX-512F/BW; the caller checks the CPU.
class Requantizer {
 public:
  // bias may be null; requant has `channels` entries.
  Requantizer(int64_t channels, const int32_t* bias, const ref::Requantization* requant, const ref::QuantParams& q);

  // y_uint8[r * channels + c] for r < rows from acc[r * channels + c], as ref::qs8_requantize_rows__scalar.
  void run(int64_t rows, const int32_t* acc, uint8_t* y_uint8) const;
  // Kernel name for profiles.
  static const char* name() { return "x86:qs8_requantize_rows_prepared__avx512f"; }

  // The output stage followed by an int8 Add of its result and a second operand (an edgeopt.QAdd
  // fused into the layer that produces one of its inputs): y = ref::qu8_add of the requantized
  // row (as run() would store it) and skip, without storing the intermediate.
  struct ResidualAdd {
    ref::AddRequantization add;  // a: this layer's result, b: skip
    int32_t a_zero_point = 0;    // uint8 storage, as ref::qu8_add__scalar takes them
    int32_t b_zero_point = 0;
    ref::QuantParams q;          // the Add's output zero point and bounds, uint8 domain
  };
  void runWithAdd(int64_t rows, const int32_t* acc, const uint8_t* skip, const ResidualAdd& add, uint8_t* y_uint8) const;
  static const char* nameWithAdd() { return "x86:qs8_requantize_rows_prepared_add__avx512f"; }

 private:
  int64_t channels_;
  ref::QuantParams q_;
  AlignedVector<int32_t> constants_;  // per group of 16 channels: outputStageConstants16
};

// True when this CPU runs the AVX-512 kernels of this folder (AVX-512F/BW/VL).
bool hasAvx512();

// As ref::qu8_dequantize_avgpool_tiles_nhwc__scalar, bit for bit: int32 sums of 16 channels per
// vector. AVX-512F/BW; the caller checks the CPU.
void qu8_dequantize_avgpool_tiles_nhwc__avx512bw(int64_t in_h, int64_t in_w, int64_t channels, int64_t kernel_h,
                                                 int64_t kernel_w, const uint8_t* x, float scale, int32_t zero_point,
                                                 float* y);

// As ref::transpose_matrices__scalar (NCHW <-> NHWC): 1-byte elements in 16x16 blocks, 4-byte
// elements in 4x4 blocks, the partial blocks at the edges element by element; other sizes as the
// scalar kernel. Compiled with the AVX-512 flags: the caller checks hasAvx512().
void transpose_matrices__x86(int64_t batch, int64_t rows, int64_t cols, size_t elem_size, const void* src, void* dst);

}  // namespace edgeopt::kernels::x86

namespace edgeopt::kernels::x86 {

// As ref::qu8_add__scalar (uint8-stored activations, uint8-domain zero points and bounds).
void qu8_add__avx512f(int64_t n, const uint8_t* a, int32_t a_zero_point, const uint8_t* b, int32_t b_zero_point,
                      const ref::AddRequantization& r, const ref::QuantParams& q, uint8_t* y);

// Max pooling of uint8 NHWC data, one image [in[1], in[2], channels] -> [out[1], out[2], channels]
// of the 2-D window p describes (p.batch ignored; dilations must be 1): window positions outside
// the input are skipped (ONNX pads with -inf), a window with none gives 0, as
// ref::u8_maxpool__scalar. AVX-512BW.
void u8_maxpool_nhwc__avx512bw(const ref::PoolParams& p, const uint8_t* x, uint8_t* y);

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
