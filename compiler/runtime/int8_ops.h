// The typed contract of edgeopt's int8 ops (made by passes/lower_qdq.h): every target reads an
// int8 node through these functions, never by attribute name. Each reader checks the attributes
// once (scales present, positive and finite, multipliers valid for kernels/ref/quant.h, per-channel
// scale counts) and gives the arithmetic of kernels/ref/quant.h ready to run, so that the
// reference executor, the x86 plan and the NEON emitter accept exactly the same nodes and compute
// the same numbers. Errors are kInvalidInput naming the node; a fused activation the int8 output
// cannot express is kUnsupported.
//
// Encoding: zero points here are in the int8 encoding. An activation stored as uint8 (value + 128,
// as QDQ exports for ONNX Runtime) is flagged by Int8Storage; a target that stores uint8 itself
// (x86) shifts the zero points (kernels::ref::toUint8Domain).
#pragma once

#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"
#include "kernels/ref/conv.h"
#include "kernels/ref/quant.h"

namespace edgeopt::runtime {

// How an int8 op's input and output activations are stored.
struct Int8Storage {
  bool inputUint8 = false;   // x_uint8
  bool outputUint8 = false;  // y_uint8
};
Int8Storage int8StorageOf(const ir::Node& node);

// edgeopt.QConv / QGemm with `channels` output channels: zero points, bounds (fused Relu/Clip)
// and per-channel requantization.
struct Int8OutputStage {
  kernels::ref::QuantParams q;
  std::vector<kernels::ref::Requantization> requant;
};
StatusOr<Int8OutputStage> int8OutputStageOf(const ir::Node& node, int64_t channels);

// The output zero point and bounds (y_scale, y_zero_point, fused Relu/Clip) and input zero point
// (x_zero_point) of an int8 op, for the ops whose requantization is not per channel.
StatusOr<kernels::ref::QuantParams> int8OutputParamsOf(const ir::Node& node);

// edgeopt.QAdd / QMul.
struct QBinary {
  bool isAdd = true;
  int32_t aZeroPoint = 0, bZeroPoint = 0;
  kernels::ref::QuantParams q;               // output zero point and bounds
  kernels::ref::AddRequantization add;       // QAdd
  kernels::ref::Requantization mul;          // QMul: a_scale * b_scale / y_scale
};
StatusOr<QBinary> qBinaryOf(const ir::Node& node);

// edgeopt.QAveragePool: the multiplier of a window of `count` values is
// averageMultiplier(inputScale, outputScale, count).
struct QAverage {
  kernels::ref::QuantParams q;
  float inputScale = 1, outputScale = 1;
  bool global = false;
  bool countIncludePad = false;
  static constexpr int64_t kMaxWindow = int64_t{1} << 23;
};
StatusOr<QAverage> qAverageOf(const ir::Node& node);

// edgeopt.QRequantize.
struct QRequantize {
  kernels::ref::QuantParams q;
  float inputScale = 1, outputScale = 1;
};
StatusOr<QRequantize> qRequantizeOf(const ir::Node& node);

// Shared lowered views of QConv geometry that targets with a depthwise 3x3 kernel use.
bool isDepthwise3x3(const kernels::ref::ConvParams& p);
// [C][3][3] weights as [9][C] (tap-major), widened to T.
template <typename T>
std::vector<T> depthwise3x3TapMajor(const int8_t* w, int64_t channels) {
  std::vector<T> out(static_cast<size_t>(9 * channels));
  for (int64_t c = 0; c < channels; ++c)
    for (int t = 0; t < 9; ++t) out[static_cast<size_t>(t * channels + c)] = static_cast<T>(w[c * 9 + t]);
  return out;
}

}  // namespace edgeopt::runtime
