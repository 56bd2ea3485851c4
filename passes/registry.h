// The passes edgeopt knows, in the order of the default cleanup pipeline. One explicit list (no
// self-registration); a pipeline named on the command line is built from it by name.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "compiler/ir/status.h"
#include "compiler/pass/pass_manager.h"

namespace edgeopt::passes {

// Every pass, in default pipeline order.
const std::vector<std::shared_ptr<const pass::Pass>>& allPasses();

// The default cleanup pipeline (every pass, in order).
pass::PassManager defaultPipeline();

// A pipeline of the named passes in the given order; an unknown name is an error that lists the
// known ones; a pass whose prerequisites do not run before it is an error too.
StatusOr<pass::PassManager> pipelineFromNames(const std::vector<std::string>& names);

}  // namespace edgeopt::passes
