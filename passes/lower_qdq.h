// lower_qdq: turns the QDQ form (DequantizeLinear -> Conv/Gemm/MatMul -> QuantizeLinear) into
// edgeopt's int8 ops, which run with the int8 reference kernels (kernels/ref/quant.h) and later
// with the targets' int8 kernels:
//   edgeopt.QConv(x_q int8, w_q int8, b_q int32?) -> y_q int8
//   edgeopt.QGemm(a_q int8 [..., K], w_q int8 [K, N] or [N, K] (transB), b_q int32?) -> y_q int8
// with attributes x_scale, x_zero_point, w_scales (per output channel, or one value), y_scale,
// y_zero_point (zero points in the int8 encoding), the Conv attributes for QConv and transB for
// QGemm, and the fused activation (Relu or Clip only: they become the int8 output bounds).
// Activations stored as uint8 (value + 128, as insert_qdq exports them) keep that storage here:
// x_uint8 / y_uint8 = 1 say the input is read, and the output written, as uint8. Preparing a model
// for execution (api::prepareForExecution) then stores every activation as int8, the lowered IR's
// one encoding; the x86 target converts its own copy back to uint8 (passes/activation_storage.h).
//
// and the weightless ops (kernels/ref/quant.h gives their arithmetic):
//   edgeopt.QAdd / QMul(a, b) with a_scale, a_zero_point, b_scale, b_zero_point, y_scale, y_zero_point
//   edgeopt.QAveragePool(x) with AveragePool's attributes or global = 1 (GlobalAveragePool)
//   edgeopt.QRequantize(x) re-encodes x at y_scale, y_zero_point (Concat inputs)
//   MaxPool, Flatten, Reshape, nearest Resize and Concat run as themselves on the integer tensors when the
//   encodings match (Concat re-encodes mismatching inputs first).
// Weight ops fire when: the activation input comes from a per-tensor int8 or uint8 DequantizeLinear; the weights from
// an int8 DequantizeLinear of a constant with zero point 0, per output channel or per tensor; the
// bias (if any) from an int32 DequantizeLinear whose scale is input_scale * weight_scale (to 1e-6);
// the output feeds only a per-tensor int8 or uint8 QuantizeLinear. Anything else keeps its float QDQ form,
// which the reference executor also runs.
// Not exported: these ops exist only on the way to execution (ONNX export refuses them).
// Targets read these attributes only through compiler/runtime/int8_ops.h, which validates them.
//
// A target that lacks some of these int8 forms lowers with LowerQdqOptions::runsInt8: a
// DQ -> op -> Q group whose op it declines keeps its float QDQ form (dequantize, float op,
// quantize), which computes what the QDQ model defines.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "compiler/pass/pass.h"

namespace edgeopt::passes {
struct LowerQdqOptions {
  // Asked of the float op (Conv, Gemm, MatMul, Add, Mul, Concat, pooling, data movement) of each
  // group that has an int8 form; null lowers every group.
  std::function<bool(const ir::Node&)> runsInt8;
  // When set, receives the description (Node::describe) of every node runsInt8 declined.
  std::set<std::string>* declined = nullptr;
};
std::unique_ptr<pass::Pass> makeLowerQdq(LowerQdqOptions options = {});
// The float ops that have an int8 form here (what LowerQdqOptions::runsInt8 is asked of).
const std::set<std::string>& opsWithInt8Form();
// True when the graph holds QuantizeLinear or DequantizeLinear nodes.
bool hasQdq(const ir::Graph& g);
}
