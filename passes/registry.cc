#include "passes/registry.h"

#include "passes/constant_folding.h"
#include "passes/dedupe_constants.h"
#include "passes/eliminate_dead_nodes.h"
#include "passes/eliminate_noops.h"
#include "passes/fold_batchnorm.h"
#include "passes/fuse_activation.h"
#include "passes/fuse_clamp.h"
#include "passes/fuse_gelu.h"
#include "passes/fuse_hard_swish.h"
#include "passes/fuse_layer_norm.h"
#include "passes/merge_transposes.h"

namespace edgeopt::passes {

const std::vector<std::shared_ptr<const pass::Pass>>& allPasses() {
  static const std::vector<std::shared_ptr<const pass::Pass>> passes = {
      // Identity/Dropout removal first, so producers and consumers meet for the rules below.
      makeEliminateNoOps(),
      // Constant subgraphs (Constant nodes, shape arithmetic) become initializers, which the
      // folding and pattern rules read.
      makeConstantFolding(),
      // Before activation fusion: a fused activation would sit between Conv and BatchNorm.
      makeFoldBatchNorm(),
      // Min/Max clamps become Clip before the fusions below, which match Clip (HardSwish's
      // Clip(x + 3, 0, 6), and activation fusion into the Conv).
      makeFuseClamp(),
      // Pattern fusions before activation fusion, so Conv -> (decomposed) HardSwish can fuse.
      makeFuseHardSwish(),
      makeFuseGelu(),
      makeFuseLayerNorm(),
      makeFuseActivation(),
      makeMergeTransposes(),
      makeDedupeConstants(),
      // Last: every rewrite above can leave producers and initializers without uses.
      makeEliminateDeadNodes(),
  };
  return passes;
}

pass::PassManager defaultPipeline() {
  pass::PassManager pm;
  for (const auto& p : allPasses()) pm.add(p);
  return pm;
}

StatusOr<pass::PassManager> pipelineFromNames(const std::vector<std::string>& names) {
  pass::PassManager pm;
  for (const std::string& name : names) {
    std::shared_ptr<const pass::Pass> found;
    for (const auto& p : allPasses())
      if (p->info().name == name) found = p;
    if (!found) {
      std::string known;
      for (const auto& p : allPasses()) known += (known.empty() ? "" : ", ") + p->info().name;
      return invalidInput("unknown pass '" + name + "' (known passes: " + known + ")");
    }
    pm.add(found);
  }
  EDGEOPT_RETURN_IF_ERROR(pm.checkPrerequisites());
  return pm;
}

}  // namespace edgeopt::passes
