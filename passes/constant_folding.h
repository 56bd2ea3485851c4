// constant_folding: evaluates every node whose inputs are all constant (initializers or Constant
// nodes, or none) with the reference executor and replaces its outputs by initializers; a Shape
// node whose input has a fully known static shape folds too, whatever its input's data.
//
// Does not fold: nodes the reference executor cannot run, nodes whose outputs are graph outputs,
// results larger than PassContext::maxFoldedElements elements, and QuantizeLinear /
// DequantizeLinear (in a QDQ model they mark what runs in int8; folding DequantizeLinear of int8
// weights would turn them back into float weights).
// Preserves: numerics exactly (the same kernels compute the values); value names (a folded output
// keeps its name as the initializer's).
// Needs: nothing.
#pragma once

#include "compiler/pass/pass.h"

namespace edgeopt::passes {
std::unique_ptr<pass::Pass> makeConstantFolding();
}
