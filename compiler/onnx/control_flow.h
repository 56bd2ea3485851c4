// Control flow that is decided before run time, removed at import (ModelProto level): edgeopt's IR
// has no subgraphs, so
//   If    whose condition is an initializer or a Constant node -> the taken branch, inlined
//         (its outputs become Identity nodes writing the If's outputs);
//   Loop  whose trip count is an initializer or a Constant node (at most kMaxUnrolledNodes nodes
//         once unrolled), with no loop condition or a constant true one, and a body whose
//         condition output is its condition input or a constant true -> the body unrolled that many
//         times (carried values chained; scan outputs stacked along a new first axis by Concat).
// Nested constant control flow inside branches and bodies is removed first. Anything else stays
// and import refuses it with a reason naming the node (the condition or trip count is only known
// at run time).
#pragma once

#include <onnx/onnx_pb.h>

#include "compiler/ir/status.h"

namespace edgeopt::onnx_io {

inline constexpr int64_t kMaxUnrolledNodes = 100000;

// Rewrites `graph` in place; returns how many If/Loop nodes it removed.
StatusOr<int> inlineConstantControlFlow(onnx::GraphProto& graph);

}  // namespace edgeopt::onnx_io
