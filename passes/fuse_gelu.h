// fuse_gelu: replaces the Erf form of GELU with one edgeopt.Gelu node
// (compiler/ir/edgeopt_ops.h; ONNX has no Gelu before opset 20, so export re-expands it).
//
// Fires on Erf(x / sqrt(2)) (or Erf(x * 1/sqrt(2))) feeding Add(., 1) whose result r is
// multiplied by x and 0.5 in any association: (x * r) * 0.5, (r * 0.5) * x, r * (x * 0.5), with
// constants within 1e-5. Intermediate values with other uses stay.
// Preserves: graph input/output names; numerics up to fp32 rounding (tolerance 1e-6 relative).
// Needs: constant_folding earlier: the pattern's constants must be initializers or Constant nodes.
#pragma once

#include "compiler/pass/pass.h"

namespace edgeopt::passes {
std::unique_ptr<pass::Pass> makeFuseGelu();
}
