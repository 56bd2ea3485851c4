// fuse_hard_swish: replaces decomposed hard-swish with one HardSwish node (ONNX opset 14+).
//
// Fires on (any operand order of Mul/Add):
//   Mul(x, HardSigmoid(x; alpha = 1/6, beta = 0.5))
//   Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)      and the same with Mul(., 1/6) for the Div
//   Mul(x, Div(Clip(Add(x, 3), 0, 6), 6))      and the same with Mul(., 1/6) for the Div
// where Clip(a, 0, 6) may also be Clip(Relu(a), 0 or no min, 6) (PyTorch's relu6 export) and the
// constants are scalars within 1e-6. Intermediate values with other uses stay.
// Preserves: graph input/output names; numerics up to fp32 rounding (tolerance 1e-6 relative).
// Needs: constant_folding earlier: the patterns' constants must be initializers or Constant nodes.
#pragma once

#include "compiler/pass/pass.h"

namespace edgeopt::passes {
std::unique_ptr<pass::Pass> makeFuseHardSwish();
}
