// fold_batchnorm: removes inference-mode BatchNormalization.
//
// Fires on BatchNormalization whose scale, B, mean and var are constants:
//  - after a Conv, ConvTranspose or Gemm with constant weights (and bias, if any) whose output
//    feeds only the BatchNormalization and which carries no fused activation: the per-channel
//    affine map s = scale / sqrt(var + eps), t = B - mean * s is folded into new weights and bias
//    (Gemm: into B and C, with beta becoming 1);
//  - anywhere else, when the input's rank is known: replaced by Mul(X, s) and Add(t) with s and t
//    shaped [C, 1, ...] to broadcast over the channel axis.
// Weights shared with other nodes are copied, not modified.
// Preserves: graph input/output names; numerics up to fp32 rounding (tolerance 1e-5 relative).
// Needs: nothing.
#pragma once

#include "compiler/pass/pass.h"

namespace edgeopt::passes {
std::unique_ptr<pass::Pass> makeFoldBatchNorm();
}
