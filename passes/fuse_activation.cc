#include "passes/fuse_activation.h"

#include <limits>

#include "compiler/ir/edgeopt_ops.h"
#include "passes/rewrite_utils.h"

namespace edgeopt::passes {
namespace {

// The activation of node `act` in fused form, or nullopt when it has non-constant parameters.
std::optional<ir::FusedActivation> asFused(const ir::Node& act) {
  const std::string& op = act.opType();
  if (op == "Clip") {
    const auto bounds = clipBounds(act);
    if (!bounds) return std::nullopt;
    return ir::FusedActivation{"Clip", {static_cast<float>(bounds->first), static_cast<float>(bounds->second)}};
  }
  if (op == "LeakyRelu") return ir::FusedActivation{op, {act.attrFloat("alpha", 0.01f)}};
  if (op == "HardSigmoid") return ir::FusedActivation{op, {act.attrFloat("alpha", 0.2f), act.attrFloat("beta", 0.5f)}};
  return ir::FusedActivation{op, {}};
}

bool covers(FusibleActivations which, const std::string& op) {
  return which == FusibleActivations::kAll || op == "Relu" || op == "Clip";
}

class FuseActivationRule : public pass::RewriteRule {
 public:
  explicit FuseActivationRule(FusibleActivations which) : which_(which) {}
  std::vector<std::string> targetOps() const override {
    if (which_ == FusibleActivations::kInt8Bounds) return {"Relu", "Clip"};
    return {"Relu", "Clip", "LeakyRelu", "HardSigmoid", "HardSwish", "Sigmoid"};
  }
  bool match(const ir::Node& act) const override {
    const ir::Value* x = act.input(0);
    const ir::Node* p = x ? x->producer() : nullptr;
    return p && p->domain().empty() && ir::canCarryFusedActivation(p->opType()) && !ir::fusedActivation(*p) &&
           hasSingleUse(*act.graph(), x) && x->dtype() == ir::DType::kFloat32 && asFused(act).has_value();
  }
  Status apply(ir::Graph& g, ir::Node& act, bool* changed) const override {
    ir::Node* p = act.input(0)->producer();
    const ir::FusedActivation fused = *asFused(act);
    // The producer's output now carries the activated values, under the activation's name: an
    // export re-expands the activation to produce that name, so a re-import fuses back to it.
    if (!replaceOutput(g, act.output(0), p->output(0), /*takeName=*/true)) return Status::Ok();
    ir::setFusedActivation(*p, fused);
    *changed = true;
    return Status::Ok();
  }

 private:
  FusibleActivations which_;
};

// Adds the standard activation node for `act` reading `x`, before `before`; returns its output.
ir::Value* addActivationNode(ir::Graph& g, const ir::FusedActivation& act, ir::Value* x, ir::Node* before,
                             const std::string& base) {
  std::vector<ir::Value*> inputs = {x};
  if (act.op == "Clip") {
    inputs.push_back(addFloatInitializer(g, g.uniqueName(base + "_min"), {}, {act.params.at(0)}));
    inputs.push_back(addFloatInitializer(g, g.uniqueName(base + "_max"), {}, {act.params.at(1)}));
  }
  ir::Node* n = g.addNode(act.op, inputs, {base}, g.uniqueName(base), before);
  if (act.op == "LeakyRelu") n->setAttr("alpha", ir::Attribute(act.params.at(0)));
  if (act.op == "HardSigmoid") {
    n->setAttr("alpha", ir::Attribute(act.params.at(0)));
    n->setAttr("beta", ir::Attribute(act.params.at(1)));
  }
  ir::Value* y = n->output(0);
  y->setDType(x->dtype());
  y->setShape(x->shape());
  return y;
}

}  // namespace

std::unique_ptr<pass::Pass> makeFuseActivation(FusibleActivations which) {
  std::vector<std::unique_ptr<pass::RewriteRule>> rules;
  rules.push_back(std::make_unique<FuseActivationRule>(which));
  if (which == FusibleActivations::kInt8Bounds)
    return std::make_unique<pass::RulePass>(
        pass::PassInfo{"fuse_int8_bound_activation", "fuse Relu/Clip into the Conv/ConvTranspose/Gemm before it",
                       {"fold_batchnorm"}, 0.0},
        std::move(rules));
  return std::make_unique<pass::RulePass>(
      pass::PassInfo{"fuse_activation",
                     "fuse Relu/Clip/LeakyRelu/HardSigmoid/HardSwish/Sigmoid into the Conv/ConvTranspose/Gemm before it",
                     {"fold_batchnorm"}, 0.0},
      std::move(rules));
}

size_t splitFusedActivations(ir::Graph& g, FusibleActivations keep) {
  size_t split = 0;
  const std::vector<ir::Node*> order = g.nodes();
  for (size_t i = 0; i < order.size(); ++i) {
    ir::Node* n = order[i];
    const auto act = ir::fusedActivation(*n);
    if (!act || covers(keep, act->op)) continue;
    n->removeAttr(ir::kFusedActivationAttr);
    n->removeAttr(ir::kFusedActivationParamsAttr);
    ir::Value* y = n->output(0);
    const std::vector<ir::Use> uses = y->uses();
    const std::string name = y->name();
    ir::Node* next = i + 1 < order.size() ? order[i + 1] : nullptr;
    ir::Value* activated = addActivationNode(g, *act, y, next, name + "_" + act->op);
    for (const ir::Use& u : uses) u.node->setInput(u.inputIndex, activated);
    std::vector<ir::Value*> outs = g.outputs();
    for (auto& o : outs)
      if (o == y) o = activated;
    g.setOutputs(outs);
    // The activation's output keeps the name consumers and the graph outputs knew.
    g.renameValue(y, g.uniqueName(name + "_preact"));
    g.renameValue(activated, name);
    ++split;
  }
  return split;
}

}  // namespace edgeopt::passes
