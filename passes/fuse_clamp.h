// fuse_clamp: turns clamps written with Min/Max (tf2onnx writes Relu6 and other clamps this way)
// into Clip, and merges a Clip that only feeds another Clip, so that fuse_activation can fuse them
// into the Conv/Gemm before them and quantization can compute them as an int8 output range.
//
// Fires on float32 (either operand order):
//   Min(x, c) -> Clip(x, -, c)     Max(x, c) -> Clip(x, c, -)       c a scalar constant
//   Clip(Clip(x, a1, b1), a2, b2) -> Clip(x, max(a1, a2), min(b1, b2))
//       when the inner Clip has no other use, its bounds are constant, and the two ranges overlap
//       (otherwise the result is a constant the merged form would not give).
// Preserves: numerics exactly (the same comparisons); graph input/output names.
// Needs: constant_folding earlier: the bounds must be initializers or Constant nodes.
#pragma once

#include "compiler/pass/pass.h"

namespace edgeopt::passes {
std::unique_ptr<pass::Pass> makeFuseClamp();
}
