#include "passes/eliminate_dead_nodes.h"

#include "passes/rewrite_utils.h"

namespace edgeopt::passes {
namespace {

class EliminateDeadNodes : public pass::Pass {
 public:
  const pass::PassInfo& info() const override { return info_; }
  Status run(ir::Graph& g, pass::PassContext&, bool* changed) const override {
    const size_t initializersBefore = g.initializers().size();
    const size_t removed = removeDeadNodes(g);
    g.removeUnusedValues();
    *changed = removed > 0 || g.initializers().size() != initializersBefore;
    return Status::Ok();
  }

 private:
  pass::PassInfo info_{"eliminate_dead_nodes", "remove nodes and initializers that no graph output depends on", {}, 0.0};
};

}  // namespace

std::unique_ptr<pass::Pass> makeEliminateDeadNodes() { return std::make_unique<EliminateDeadNodes>(); }

}  // namespace edgeopt::passes
