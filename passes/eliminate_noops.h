// eliminate_noops: removes nodes that compute their input unchanged.
//
// Fires on: Identity; Dropout in inference (no training_mode, or a constant false one) whose mask
// output is unused; Cast to the input's own dtype; Reshape whose output shape equals its input's
// (both fully known); Transpose with the identity permutation; and Reshape fed by a Reshape that
// has no other use (the pair becomes one Reshape).
// Preserves: numerics exactly; graph input and output names (a removed node's output name moves
// to the value that replaces it; nodes whose output is a graph output fed directly by a graph
// input or initializer are kept).
// Needs: nothing.
#pragma once

#include "compiler/pass/pass.h"

namespace edgeopt::passes {
std::unique_ptr<pass::Pass> makeEliminateNoOps();
}
