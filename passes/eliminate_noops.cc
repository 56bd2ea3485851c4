#include "passes/eliminate_noops.h"

#include <algorithm>

#include "passes/rewrite_utils.h"

namespace edgeopt::passes {
namespace {

bool sameStaticShape(const ir::Value* a, const ir::Value* b) {
  auto da = ir::staticDims(a->shape()), db = ir::staticDims(b->shape());
  return da && db && *da == *db;
}

class BypassRule : public pass::RewriteRule {
 public:
  std::vector<std::string> targetOps() const override { return {"Identity", "Dropout", "Cast", "Reshape", "Transpose"}; }
  bool match(const ir::Node& n) const override {
    const std::string& op = n.opType();
    if (!n.input(0) || n.outputs().empty()) return false;
    if (op == "Identity") return true;
    if (op == "Dropout") {
      if (n.outputs().size() > 1 && (!n.output(1)->uses().empty() || isGraphOutput(*n.graph(), n.output(1)))) return false;
      if (!n.input(2)) return true;
      auto training = scalarConstant(n.input(2));
      return training && *training == 0.0;
    }
    if (op == "Cast")
      return n.input(0)->dtype() != ir::DType::kUndefined &&
             static_cast<int64_t>(n.input(0)->dtype()) == n.attrInt("to", -1);
    if (op == "Reshape") return sameStaticShape(n.input(0), n.output(0));
    // Transpose
    auto perm = n.attrInts("perm");
    if (perm.empty()) return n.input(0)->shape() && n.input(0)->shape()->size() <= 1;
    for (size_t i = 0; i < perm.size(); ++i)
      if (perm[i] != static_cast<int64_t>(i)) return false;
    return true;
  }
  Status apply(ir::Graph& g, ir::Node& n, bool* changed) const override {
    *changed = replaceOutput(g, n.output(0), n.input(0));
    return Status::Ok();
  }
};

// Reshape(Reshape(x, s1), s2) -> Reshape(x, s2) when the inner Reshape has no other use and
// neither uses allowzero (a 0 in s2 would then refer to x's dims instead of the inner result's).
class CollapseReshapeRule : public pass::RewriteRule {
 public:
  std::vector<std::string> targetOps() const override { return {"Reshape"}; }
  bool match(const ir::Node& n) const override {
    const ir::Node* inner = producerOf(n.input(0), "Reshape");
    if (!inner || !hasSingleUse(*n.graph(), n.input(0))) return false;
    if (n.attrInt("allowzero", 0) || inner->attrInt("allowzero", 0)) return false;
    auto shape = intsConstant(n.input(1));
    return shape && std::find(shape->begin(), shape->end(), 0) == shape->end();
  }
  Status apply(ir::Graph& g, ir::Node& n, bool* changed) const override {
    ir::Node* inner = n.input(0)->producer();
    n.setInput(0, inner->input(0));
    g.removeNode(inner);
    *changed = true;
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<pass::Pass> makeEliminateNoOps() {
  std::vector<std::unique_ptr<pass::RewriteRule>> rules;
  rules.push_back(std::make_unique<BypassRule>());
  rules.push_back(std::make_unique<CollapseReshapeRule>());
  return std::make_unique<pass::RulePass>(
      pass::PassInfo{"eliminate_noops",
                     "remove Identity, inference Dropout, same-type Cast, no-op Reshape/Transpose; collapse Reshape chains",
                     {}, 0.0},
      std::move(rules));
}

}  // namespace edgeopt::passes
