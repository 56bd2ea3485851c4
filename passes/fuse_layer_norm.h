// fuse_layer_norm: replaces decomposed layer normalization with LayerNormalization (ONNX opset 17).
//
// Fires on
//   m = ReduceMean(x, axes, keepdims=1); d = Sub(x, m);
//   v = ReduceMean(Pow(d, 2) | Mul(d, d), same axes, keepdims=1);
//   y = Div(d, Sqrt(Add(v, eps)))  [then optionally Mul(y, gamma)]  [then optionally Add(., beta)]
// when the axes are the trailing axes of x (rank known), eps is a scalar constant, gamma and beta
// are constants, and d feeds only the Pow/Mul and the Div. Becomes
// LayerNormalization(x, gamma or ones, beta, axis = first reduced axis, epsilon = eps).
// Preserves: graph input/output names; numerics up to fp32 rounding (tolerance 1e-5 relative).
// Needs: constant_folding earlier: the pattern's constants must be initializers or Constant nodes.
#pragma once

#include "compiler/pass/pass.h"

namespace edgeopt::passes {
std::unique_ptr<pass::Pass> makeFuseLayerNorm();
}
