#include "passes/fuse_hard_swish.h"

#include "passes/rewrite_utils.h"

namespace edgeopt::passes {
namespace {

// v == Clip(Add(x, 3), 0, 6) or Clip(Relu(Add(x, 3)), 0 or absent, 6) (PyTorch's relu6 export)
// for some x; returns x.
ir::Value* relu6OfXPlus3(const ir::Value* v) {
  const ir::Node* clip = producerOf(v, "Clip");
  if (!clip || !clip->input(2)) return nullptr;
  const ir::Node* relu = producerOf(clip->input(0), "Relu");
  auto hi = scalarConstant(clip->input(2));
  if (!hi || !nearlyEqual(*hi, 6.0)) return nullptr;
  if (clip->input(1)) {
    auto lo = scalarConstant(clip->input(1));
    if (!lo || !nearlyEqual(*lo, 0.0)) return nullptr;
  } else if (!relu) {
    return nullptr;
  }
  const ir::Node* add = producerOf(relu ? relu->input(0) : clip->input(0), "Add");
  if (!add) return nullptr;
  for (size_t i = 0; i < 2; ++i) {
    auto c = scalarConstant(add->input(1 - i));
    if (c && nearlyEqual(*c, 3.0)) return add->input(i);
  }
  return nullptr;
}

// n computes a / 6 (Div by 6 or Mul by 1/6); returns a.
ir::Value* sixthOf(const ir::Node* n) {
  if (!n || !n->domain().empty() || n->numInputs() != 2) return nullptr;
  if (n->opType() == "Div") {
    auto c = scalarConstant(n->input(1));
    return c && nearlyEqual(*c, 6.0) ? n->input(0) : nullptr;
  }
  if (n->opType() == "Mul") {
    for (size_t i = 0; i < 2; ++i) {
      auto c = scalarConstant(n->input(1 - i));
      if (c && nearlyEqual(*c, 1.0 / 6.0)) return n->input(i);
    }
  }
  return nullptr;
}

// v == HardSigmoid(x; 1/6, 0.5) or v == Clip(x + 3, 0, 6) / 6; returns x.
ir::Value* hardSigmoidOf(const ir::Value* v) {
  if (const ir::Node* hs = producerOf(v, "HardSigmoid")) {
    if (nearlyEqual(hs->attrFloat("alpha", 0.2f), 1.0 / 6.0) && nearlyEqual(hs->attrFloat("beta", 0.5f), 0.5))
      return hs->input(0);
    return nullptr;
  }
  if (ir::Value* a = sixthOf(v ? v->producer() : nullptr)) return relu6OfXPlus3(a);
  return nullptr;
}

// The x of a hard-swish rooted at `root`, or nullptr.
ir::Value* hardSwishInput(const ir::Node& root) {
  if (root.opType() == "Mul") {
    for (size_t i = 0; i < 2; ++i) {
      ir::Value* x = root.input(i);
      if (hardSigmoidOf(root.input(1 - i)) == x && x) return x;
    }
  }
  // (x * relu6(x + 3)) / 6
  const ir::Value* prod = sixthOf(&root);
  if (const ir::Node* mul = producerOf(prod, "Mul")) {
    for (size_t i = 0; i < 2; ++i) {
      ir::Value* x = mul->input(i);
      if (x && relu6OfXPlus3(mul->input(1 - i)) == x) return x;
    }
  }
  return nullptr;
}

class FuseHardSwishRule : public pass::RewriteRule {
 public:
  std::vector<std::string> targetOps() const override { return {"Mul", "Div"}; }
  bool match(const ir::Node& n) const override {
    return n.numInputs() == 2 && hardSwishInput(n) != nullptr && n.output(0)->dtype() == ir::DType::kFloat32;
  }
  Status apply(ir::Graph& g, ir::Node& root, bool* changed) const override {
    ir::Node* hs = g.addNode("HardSwish", {hardSwishInput(root)}, {root.output(0)->name() + "_hardswish"},
                             root.name() + "_hardswish", &root);
    *changed = replacePattern(g, root, hs);
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<pass::Pass> makeFuseHardSwish() {
  std::vector<std::unique_ptr<pass::RewriteRule>> rules;
  rules.push_back(std::make_unique<FuseHardSwishRule>());
  return std::make_unique<pass::RulePass>(
      pass::PassInfo{"fuse_hard_swish", "replace x*HardSigmoid(x) and x*Clip(x+3,0,6)/6 with HardSwish",
                     {"constant_folding"}, 1e-6},
      std::move(rules));
}

}  // namespace edgeopt::passes
