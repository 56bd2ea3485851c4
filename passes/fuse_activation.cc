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
    float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
    if (act.input(1)) {
      auto v = scalarConstant(act.input(1));
      if (!v) return std::nullopt;
      lo = static_cast<float>(*v);
    }
    if (act.input(2)) {
      auto v = scalarConstant(act.input(2));
      if (!v) return std::nullopt;
      hi = static_cast<float>(*v);
    }
    return ir::FusedActivation{"Clip", {lo, hi}};
  }
  if (op == "LeakyRelu") return ir::FusedActivation{op, {act.attrFloat("alpha", 0.01f)}};
  if (op == "HardSigmoid") return ir::FusedActivation{op, {act.attrFloat("alpha", 0.2f), act.attrFloat("beta", 0.5f)}};
  return ir::FusedActivation{op, {}};
}

class FuseActivationRule : public pass::RewriteRule {
 public:
  std::vector<std::string> targetOps() const override {
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
};

}  // namespace

std::unique_ptr<pass::Pass> makeFuseActivation() {
  std::vector<std::unique_ptr<pass::RewriteRule>> rules;
  rules.push_back(std::make_unique<FuseActivationRule>());
  return std::make_unique<pass::RulePass>(
      pass::PassInfo{"fuse_activation",
                     "fuse Relu/Clip/LeakyRelu/HardSigmoid/HardSwish/Sigmoid into the Conv/ConvTranspose/Gemm before it",
                     {"fold_batchnorm"}, 0.0},
      std::move(rules));
}

}  // namespace edgeopt::passes
