// merge_transposes: Transpose(Transpose(x, p1), p2) -> Transpose(x, p) with p[i] = p1[p2[i]],
// dropped entirely when p is the identity.
//
// Fires on a Transpose (explicit perm) fed by a Transpose (explicit perm of the same length). The
// inner Transpose stays when it has other uses.
// Preserves: numerics exactly; graph input/output names.
// Needs: nothing.
#pragma once

#include "compiler/pass/pass.h"

namespace edgeopt::passes {
std::unique_ptr<pass::Pass> makeMergeTransposes();
}
