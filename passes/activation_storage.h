// How the 8-bit activations of a lowered int8 graph are stored: as int8 (the encoding of
// kernels/ref/quant.h, the shared lowered IR's one encoding: lower_qdq stores every activation so)
// or as uint8 holding value + 128 (what x86's VNNI kernels multiply, vpdpbusd being unsigned x
// signed; the x86 target converts its copy). The two hold the same numbers: q_uint8 = q_int8 + 128
// for the values and the zero points alike, so converting changes no result.
//
// Converted are the 8-bit activation values that are neither graph inputs nor outputs (the model's
// interface keeps its declared dtype), whose producer is a QuantizeLinear, an edgeopt int8 op or a
// data-movement op on converted values, and whose consumers are all such ops or DequantizeLinear.
// QuantizeLinear/DequantizeLinear get their zero point in the new dtype; edgeopt int8 ops get the
// x_uint8 / y_uint8 flags set (to uint8) or removed (to int8).
#pragma once

#include "compiler/ir/ir.h"

namespace edgeopt::passes {

// `to` is ir::DType::kInt8 or kUInt8. Returns how many values changed dtype.
int64_t setActivationStorage(ir::Graph& g, ir::DType to);

}  // namespace edgeopt::passes
