// dedupe_constants: common-subexpression elimination of duplicate constants. Initializers with
// the same dtype, dims and bytes (and Constant nodes with the same tensor) are merged into the
// first one; duplicates that lose all uses are dropped.
//
// Preserves: numerics exactly; graph input/output names (values that are graph outputs are
// never merged away).
// Needs: nothing.
#pragma once

#include "compiler/pass/pass.h"

namespace edgeopt::passes {
std::unique_ptr<pass::Pass> makeDedupeConstants();
}
