// eliminate_dead_nodes: removes nodes none of whose outputs is used or a graph output, then
// initializers nothing uses.
//
// Preserves: numerics exactly; graph inputs (even unused ones) and outputs.
// Needs: nothing; runs last in the default pipeline because every rewrite leaves dead producers.
#pragma once

#include "compiler/pass/pass.h"

namespace edgeopt::passes {
std::unique_ptr<pass::Pass> makeEliminateDeadNodes();
}
