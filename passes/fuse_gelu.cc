#include "passes/fuse_gelu.h"

#include <cmath>

#include "compiler/ir/edgeopt_ops.h"
#include "passes/rewrite_utils.h"

namespace edgeopt::passes {
namespace {

bool isConst(const ir::Value* v, double c) {
  auto s = scalarConstant(v);
  return s && nearlyEqual(*s, c, 1e-5);
}

// The only consumer of v when it is a Mul; nullptr otherwise.
ir::Node* soleMulConsumer(const ir::Graph& g, const ir::Value* v) {
  if (!hasSingleUse(g, v)) return nullptr;
  ir::Node* n = v->uses()[0].node;
  return n->domain().empty() && n->opType() == "Mul" && n->numInputs() == 2 ? n : nullptr;
}

struct GeluMatch {
  ir::Value* x = nullptr;
  ir::Node* root = nullptr;
};

// Matches from the Erf node outwards.
std::optional<GeluMatch> matchGelu(const ir::Node& erf) {
  const ir::Graph& g = *erf.graph();
  ir::Value* x = nullptr;
  if (const ir::Node* div = producerOf(erf.input(0), "Div")) {
    if (isConst(div->input(1), std::sqrt(2.0))) x = div->input(0);
  } else if (const ir::Node* mul = producerOf(erf.input(0), "Mul")) {
    for (size_t i = 0; i < 2 && !x; ++i)
      if (isConst(mul->input(1 - i), 1.0 / std::sqrt(2.0))) x = mul->input(i);
  }
  if (!x || !hasSingleUse(g, erf.output(0))) return std::nullopt;
  ir::Node* add = erf.output(0)->uses()[0].node;
  if (add->opType() != "Add" || !add->domain().empty() || !isConst(otherInput(*add, erf.output(0)), 1.0))
    return std::nullopt;
  ir::Node* m1 = soleMulConsumer(g, add->output(0));
  if (!m1) return std::nullopt;
  ir::Value* p = otherInput(*m1, add->output(0));
  if (p == x || isConst(p, 0.5)) {
    // (r * x) * 0.5  or  (r * 0.5) * x
    ir::Node* m2 = soleMulConsumer(g, m1->output(0));
    if (!m2) return std::nullopt;
    ir::Value* q = otherInput(*m2, m1->output(0));
    if ((p == x && isConst(q, 0.5)) || (p != x && q == x)) return GeluMatch{x, m2};
    return std::nullopt;
  }
  // r * (x * 0.5)
  if (const ir::Node* half = producerOf(p, "Mul")) {
    ir::Value* other = otherInput(*half, x);
    if (other && isConst(other, 0.5)) return GeluMatch{x, m1};
  }
  return std::nullopt;
}

class FuseGeluRule : public pass::RewriteRule {
 public:
  std::vector<std::string> targetOps() const override { return {"Erf"}; }
  bool match(const ir::Node& erf) const override {
    auto m = matchGelu(erf);
    return m && m->x->dtype() == ir::DType::kFloat32;
  }
  Status apply(ir::Graph& g, ir::Node& erf, bool* changed) const override {
    const GeluMatch m = *matchGelu(erf);
    ir::Node* gelu = g.addNode("Gelu", {m.x}, {m.root->output(0)->name() + "_gelu"}, m.root->name() + "_gelu", m.root,
                               ir::kEdgeoptDomain);
    *changed = replacePattern(g, *m.root, gelu);
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<pass::Pass> makeFuseGelu() {
  std::vector<std::unique_ptr<pass::RewriteRule>> rules;
  rules.push_back(std::make_unique<FuseGeluRule>());
  return std::make_unique<pass::RulePass>(
      pass::PassInfo{"fuse_gelu", "replace 0.5*x*(1+erf(x/sqrt(2))) with edgeopt.Gelu", {"constant_folding"}, 1e-6},
      std::move(rules));
}

}  // namespace edgeopt::passes
