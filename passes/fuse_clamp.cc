#include "passes/fuse_clamp.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "passes/rewrite_utils.h"

namespace edgeopt::passes {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

bool isFloat32Scalar(const ir::Value* v) {
  const ir::Tensor* t = constantOf(v);
  return t && t->numel() == 1 && t->dtype() == ir::DType::kFloat32;
}

// A Clip's constant bounds (absent bounds are infinite), or nullopt (also for NaN bounds).
std::optional<std::pair<float, float>> constantClipBounds(const ir::Node& clip) {
  const auto b = clipBounds(clip);
  if (!b || std::isnan(b->first) || std::isnan(b->second)) return std::nullopt;
  return std::make_pair(static_cast<float>(b->first), static_cast<float>(b->second));
}

// Inserts Clip(x, lo, hi) before `root` (absent bounds stay absent) and puts it in root's place.
bool replaceWithClip(ir::Graph& g, ir::Node& root, ir::Value* x, float lo, float hi) {
  std::vector<ir::Value*> inputs = {x, nullptr, nullptr};
  const std::string base = root.name();
  if (lo != -kInf) inputs[1] = addFloatInitializer(g, g.uniqueName(base + "_min"), {}, {lo});
  if (hi != kInf) inputs[2] = addFloatInitializer(g, g.uniqueName(base + "_max"), {}, {hi});
  while (!inputs.empty() && !inputs.back()) inputs.pop_back();
  ir::Node* clip = g.addNode("Clip", inputs, {base + "_clip"}, g.uniqueName(base + "_clip"), &root);
  return replacePattern(g, root, clip);
}

class MinMaxToClipRule : public pass::RewriteRule {
 public:
  std::vector<std::string> targetOps() const override { return {"Min", "Max"}; }
  bool match(const ir::Node& n) const override {
    return n.domain().empty() && n.numInputs() == 2 && n.input(0) && n.input(1) &&
           (isFloat32Scalar(n.input(0)) != isFloat32Scalar(n.input(1))) && n.output(0)->dtype() == ir::DType::kFloat32 &&
           keepsShape(n);
  }
  Status apply(ir::Graph& g, ir::Node& n, bool* changed) const override {
    const bool firstIsConstant = isFloat32Scalar(n.input(0));
    ir::Value* x = n.input(firstIsConstant ? 1 : 0);
    const float c = constantOf(n.input(firstIsConstant ? 0 : 1))->data<float>()[0];
    if (std::isnan(c)) return Status::Ok();
    const bool isMin = n.opType() == "Min";
    if (replaceWithClip(g, n, x, isMin ? -kInf : c, isMin ? c : kInf)) *changed = true;
    return Status::Ok();
  }


 private:
  // The output keeps x's shape: a scalar constant of higher rank than x would widen it.
  static bool keepsShape(const ir::Node& n) {
    const bool firstIsConstant = isFloat32Scalar(n.input(0));
    const ir::Value* x = n.input(firstIsConstant ? 1 : 0);
    const int64_t constantRank = constantOf(n.input(firstIsConstant ? 0 : 1))->rank();
    return constantRank == 0 || (x->shape() && constantRank <= static_cast<int64_t>(x->shape()->size()));
  }
};

class MergeClipsRule : public pass::RewriteRule {
 public:
  std::vector<std::string> targetOps() const override { return {"Clip"}; }
  bool match(const ir::Node& outer) const override {
    const ir::Node* inner = outer.input(0) ? producerOf(outer.input(0), "Clip") : nullptr;
    if (!inner || !hasSingleUse(*outer.graph(), outer.input(0)) || outer.output(0)->dtype() != ir::DType::kFloat32) return false;
    const auto a = constantClipBounds(*inner), b = constantClipBounds(outer);
    return a && b && std::max(a->first, b->first) <= std::min(a->second, b->second);
  }
  Status apply(ir::Graph& g, ir::Node& outer, bool* changed) const override {
    ir::Node* inner = outer.input(0)->producer();
    const auto a = *constantClipBounds(*inner), b = *constantClipBounds(outer);
    if (replaceWithClip(g, outer, inner->input(0), std::max(a.first, b.first), std::min(a.second, b.second))) *changed = true;
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<pass::Pass> makeFuseClamp() {
  std::vector<std::unique_ptr<pass::RewriteRule>> rules;
  rules.push_back(std::make_unique<MinMaxToClipRule>());
  rules.push_back(std::make_unique<MergeClipsRule>());
  return std::make_unique<pass::RulePass>(
      pass::PassInfo{"fuse_clamp", "Min/Max with a scalar constant -> Clip; Clip of a Clip -> one Clip",
                     {"constant_folding"}, 0.0},
      std::move(rules));
}

}  // namespace edgeopt::passes
