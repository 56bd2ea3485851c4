#include "compiler/pass/pass.h"

#include <algorithm>
#include <unordered_set>

namespace edgeopt::pass {

Status RulePass::run(ir::Graph& graph, PassContext&, bool* changed) const {
  *changed = false;
  // Each sweep visits a snapshot of the nodes; nodes removed during the sweep are skipped.
  constexpr int kMaxSweeps = 64;
  for (int sweep = 0; sweep < kMaxSweeps; ++sweep) {
    bool sweepChanged = false;
    std::vector<ir::Node*> nodes = graph.nodes();
    std::unordered_set<ir::Node*> alive(nodes.begin(), nodes.end());
    for (ir::Node* n : nodes) {
      if (!alive.count(n)) continue;
      for (const auto& rule : rules_) {
        const auto ops = rule->targetOps();
        if (std::find(ops.begin(), ops.end(), n->opType()) == ops.end()) continue;
        if (!n->domain().empty() || !rule->match(*n)) continue;
        bool ruleChanged = false;
        EDGEOPT_RETURN_IF_ERROR(rule->apply(graph, *n, &ruleChanged));
        if (ruleChanged) {
          sweepChanged = true;
          // The rule may have removed nodes; refresh the set of live nodes.
          auto now = graph.nodes();
          alive = std::unordered_set<ir::Node*>(now.begin(), now.end());
          break;
        }
      }
    }
    if (!sweepChanged) return Status::Ok();
    *changed = true;
  }
  return internalError("pass '" + info_.name + "' did not reach a fixed point in 64 sweeps");
}

}  // namespace edgeopt::pass
