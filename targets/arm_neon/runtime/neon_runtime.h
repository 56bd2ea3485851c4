// Runtime of an emitted ARM package (edgeopt compile --targets arm-neon): the layer calls the
// generated model.cc makes, on top of edgeopt's NEON kernels. Copied into every package; built for
// aarch64 only. int8 activations are stored as int8 (the encoding of kernels/ref/quant.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/ref/quant.h"

namespace edgeopt_neon {

// True when the CPU has the ARMv8.2 dot product (SDOT kernels), checked once at create time.
bool cpuHasDotProduct();

// ONNX QuantizeLinear to int8 / DequantizeLinear from int8, per tensor.
void quantize(int64_t n, const float* x, float scale, int32_t zero_point, int8_t* y);
void dequantize(int64_t n, const int8_t* x, float scale, int32_t zero_point, float* y);

// y[M, N] = output stage of (A[M, K] x packed B) for an int8 GEMM whose weights were packed by
// qs8_pack_gemm_8c4 (dot) or qs8_pack_gemm_8 (no dot) with the input zero point folded in.
// acc: int32 scratch, grown to M * N.
void gemmInt8(bool dot, int64_t M, int64_t K, int64_t N, const int8_t* a, const int8_t* packed,
              const edgeopt::kernels::ref::Requantization* requant, const edgeopt::kernels::ref::QuantParams& q,
              std::vector<int32_t>& acc, int8_t* y);

// Minimal .npy I/O for the runner: float32, C order, little-endian.
bool readNpyF32(const std::string& path, std::vector<int64_t>* dims, std::vector<float>* data, std::string* error);
bool writeNpyF32(const std::string& path, const std::vector<int64_t>& dims, const float* data, std::string* error);

}  // namespace edgeopt_neon

namespace edgeopt_neon {

// QuantizeLinear of an NCHW float input into the package's NHWC int8 layout.
void quantizeNchwToNhwc(int64_t batch, int64_t channels, int64_t pixels, const float* x, float scale, int32_t zero_point,
                        int8_t* y);

// Convolution geometry on NHWC int8 data (one image at a time, `batch` images).
struct Conv2d {
  int64_t batch, in_h, in_w, channels, out_h, out_w, out_channels;
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
  int32_t x_zero_point;  // int8 encoding
};

// Groups-1 int8 convolution: im2col rows [OH * OW, kernel_h * kernel_w * channels] (positions
// outside the input hold the zero point, so they add nothing) times weights packed from
// [M][kh][kw][C] with the zero point folded in, then the output stage. A 1x1, stride-1, unpadded
// convolution reads the input rows directly.
void convInt8(bool dot, const Conv2d& c, const int8_t* x, const int8_t* packed,
              const edgeopt::kernels::ref::Requantization* requant, const edgeopt::kernels::ref::QuantParams& q,
              std::vector<int8_t>& columns, std::vector<int32_t>& acc, int8_t* y);

// Any other grouping (e.g. depthwise 5x5): the reference int8 kernel (kernels/ref/quant.h) on an
// NCHW copy of the input, its NCHW result copied back to NHWC. w: [M][C/groups][kh][kw]; bias: M
// values. scratch: grown as needed.
void groupedConvInt8Reference(const Conv2d& c, int64_t groups, const int8_t* x, const int8_t* w, const int32_t* bias,
                              const edgeopt::kernels::ref::Requantization* requant,
                              const edgeopt::kernels::ref::QuantParams& q, std::vector<int8_t>& scratch, int8_t* y);

// Depthwise 3x3 int8 convolution (groups == channels); weights widened to int16, [9][channels].
void depthwise3x3Int8(const Conv2d& c, const int8_t* x, const int16_t* w, const int32_t* bias,
                      const edgeopt::kernels::ref::Requantization* requant, const edgeopt::kernels::ref::QuantParams& q,
                      std::vector<int32_t>& acc, int8_t* y);

// ---- Float fallback: the nodes the package runs in float (those the target declines in int8,
// and float ops between a DequantizeLinear and a QuantizeLinear). Float data is in ONNX (NCHW)
// order; each computes what the reference executor computes (one IEEE operation per step, no
// contraction), with portable C++ that the compiler vectorizes. ----

// DequantizeLinear of NHWC int8 data into NCHW float.
void dequantizeNhwcToNchw(int64_t batch, int64_t channels, int64_t pixels, const int8_t* x, float scale,
                          int32_t zero_point, float* y);

// Concat: `outer` rows; row r of the output is row r of part 0 (chunk[0] values), then of part 1, ...
void concatF32(int64_t outer, int64_t parts, const float* const* x, const int64_t* chunk, float* y);

// y = a OP b with numpy broadcasting over `rank` output dims `dims` (the batch first): operand
// element offset = sum(index[i] * stride[i]) (stride 0 along a broadcast axis).
enum class BinaryOp : int { kAdd, kSub, kMul, kDiv };
constexpr int kMaxBinaryRank = 6;
void binaryF32(BinaryOp op, int rank, const int64_t* dims, const float* a, const int64_t* aStride, const float* b,
               const int64_t* bStride, float* y);

// 2-D MaxPool / AveragePool on NCHW float data with the reference kernels (kernels/ref/pool.h);
// `geometry` = {in_h, in_w, out_h, out_w, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left,
// dilation_h, dilation_w, padded_end_h, padded_end_w}.
void poolF32(bool max, bool count_include_pad, int64_t batch, int64_t channels, const int64_t* geometry, const float* x,
             float* y);

// y[batch, N] = a[batch, K] x w (+ bias) in float with the reference kernel (kernels/ref/gemm.h):
// w is [K, N], or [N, K] when transposed; bias has N values or one (null: none).
void gemmF32(int64_t batch, int64_t K, int64_t N, const float* a, const float* w, bool transposed, const float* bias,
             int64_t biasCount, float* y);

// 2-D ConvTranspose on NCHW float data with the reference kernel (kernels/ref/conv.h); `geometry`
// = {groups, in_channels, in_h, in_w, out_channels, out_h, out_w, kernel_h, kernel_w, stride_h,
// stride_w, dilation_h, dilation_w, pad_top, pad_left}; w as ONNX's [C][M/groups][kh][kw].
void convTransposeF32(int64_t batch, const int64_t* geometry, const float* x, const float* w, const float* bias, float* y);

// Softmax over runs of `axis` values (kernels/ref/normalization.h).
void softmaxF32(int64_t outer, int64_t axis, int64_t inner, const float* x, float* y);

// Element-wise activations (kernels/ref/activation.h): p0, p1 are HardSigmoid's alpha and beta,
// LeakyRelu's alpha, Clip's bounds.
enum class UnaryOp : int { kRelu, kSigmoid, kTanh, kHardSigmoid, kHardSwish, kLeakyRelu, kClip };
void unaryF32(UnaryOp op, int64_t n, const float* x, float p0, float p1, float* y);

}  // namespace edgeopt_neon
