#include "passes/merge_transposes.h"

#include "passes/rewrite_utils.h"

namespace edgeopt::passes {
namespace {

class MergeTransposesRule : public pass::RewriteRule {
 public:
  std::vector<std::string> targetOps() const override { return {"Transpose"}; }
  bool match(const ir::Node& outer) const override {
    const ir::Node* inner = producerOf(outer.input(0), "Transpose");
    return inner && outer.hasAttr("perm") && inner->hasAttr("perm") &&
           outer.attrInts("perm").size() == inner->attrInts("perm").size();
  }
  Status apply(ir::Graph& g, ir::Node& outer, bool* changed) const override {
    ir::Node* inner = outer.input(0)->producer();
    const auto p1 = inner->attrInts("perm"), p2 = outer.attrInts("perm");
    std::vector<int64_t> p(p2.size());
    bool identity = true;
    for (size_t i = 0; i < p2.size(); ++i) {
      if (p2[i] < 0 || p2[i] >= static_cast<int64_t>(p1.size())) return Status::Ok();  // malformed: leave it
      p[i] = p1[static_cast<size_t>(p2[i])];
      identity = identity && p[i] == static_cast<int64_t>(i);
    }
    ir::Value* innerOut = inner->output(0);
    ir::Value* x = inner->input(0);
    if (identity) {
      *changed = replaceOutput(g, outer.output(0), x);
    } else {
      outer.setInput(0, x);
      outer.setAttr("perm", p);
      *changed = true;
    }
    if (*changed) removeIfDead(g, {innerOut});
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<pass::Pass> makeMergeTransposes() {
  std::vector<std::unique_ptr<pass::RewriteRule>> rules;
  rules.push_back(std::make_unique<MergeTransposesRule>());
  return std::make_unique<pass::RulePass>(
      pass::PassInfo{"merge_transposes", "compose consecutive Transposes; drop identity compositions", {}, 0.0},
      std::move(rules));
}

}  // namespace edgeopt::passes
