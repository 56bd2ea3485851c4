#include "passes/fuse_layer_norm.h"

#include <algorithm>

#include "passes/rewrite_utils.h"

namespace edgeopt::passes {
namespace {

// The first axis of a keepdims ReduceMean's axes when they are the trailing axes of its input;
// nullopt otherwise. With the rank unknown (0 here), only negative axes qualify and the result
// is negative (LayerNormalization accepts that); with it known, the result is normalized.
std::optional<int64_t> trailingAxesStart(const ir::Node& mean, int64_t rank) {
  if (mean.attrInt("keepdims", 1) != 1 || !mean.hasAttr("axes")) return std::nullopt;
  std::vector<int64_t> axes = mean.attrInts("axes");
  for (auto& a : axes) {
    if (rank == 0 && a >= 0) return std::nullopt;
    a = a < 0 && rank > 0 ? a + rank : a;
  }
  std::sort(axes.begin(), axes.end());
  if (axes.empty() || axes.back() != (rank > 0 ? rank - 1 : -1)) return std::nullopt;
  for (size_t i = 1; i < axes.size(); ++i)
    if (axes[i] != axes[i - 1] + 1) return std::nullopt;
  return axes.front();
}

struct LayerNormMatch {
  ir::Value* x = nullptr;
  int64_t axis = -1;
  float epsilon = 0;
  ir::Value* gamma = nullptr;  // may be null
  ir::Value* beta = nullptr;   // may be null
  ir::Node* root = nullptr;    // the last node of the pattern
};

ir::Node* soleConsumer(const ir::Graph& g, const ir::Value* v, const char* op) {
  if (!hasSingleUse(g, v)) return nullptr;
  ir::Node* n = v->uses()[0].node;
  return n->domain().empty() && n->opType() == op ? n : nullptr;
}

// Matched from the Div node (d / sqrt(var + eps)).
std::optional<LayerNormMatch> matchLayerNorm(const ir::Node& div) {
  const ir::Graph& g = *div.graph();
  const ir::Node* sub = producerOf(div.input(0), "Sub");
  const ir::Node* sqrt = producerOf(div.input(1), "Sqrt");
  if (!sub || !sqrt) return std::nullopt;
  const ir::Node* mean = producerOf(sub->input(1), "ReduceMean");
  ir::Value* x = sub->input(0);
  if (!mean || mean->input(0) != x) return std::nullopt;
  const int64_t rank = x->shape() ? static_cast<int64_t>(x->shape()->size()) : 0;
  auto start = trailingAxesStart(*mean, rank);
  if (!start) return std::nullopt;
  const ir::Node* addEps = producerOf(sqrt->input(0), "Add");
  if (!addEps) return std::nullopt;
  const ir::Node* var = nullptr;
  std::optional<double> eps;
  for (size_t i = 0; i < 2 && !var; ++i) {
    var = producerOf(addEps->input(i), "ReduceMean");
    eps = scalarConstant(addEps->input(1 - i));
    if (!eps) var = nullptr;
  }
  if (!var || trailingAxesStart(*var, rank) != start) return std::nullopt;
  const ir::Value* d = div.input(0);
  const ir::Node* sq = producerOf(var->input(0), "Pow");
  if (sq) {
    auto e = scalarConstant(sq->input(1));
    if (sq->input(0) != d || !e || !nearlyEqual(*e, 2.0)) return std::nullopt;
  } else {
    sq = producerOf(var->input(0), "Mul");
    if (!sq || sq->input(0) != d || sq->input(1) != d) return std::nullopt;
  }
  // d feeds exactly the square and the division (Mul(d, d) counts as two uses).
  const size_t squareUses = sq->opType() == "Mul" ? 2 : 1;
  if (d->uses().size() != squareUses + 1 || isGraphOutput(g, d)) return std::nullopt;

  LayerNormMatch m{x, *start, static_cast<float>(*eps), nullptr, nullptr, const_cast<ir::Node*>(&div)};
  if (ir::Node* mul = soleConsumer(g, div.output(0), "Mul")) {
    ir::Value* gamma = otherInput(*mul, div.output(0));
    if (gamma && constantOf(gamma)) {
      m.gamma = gamma;
      m.root = mul;
    }
  }
  if (ir::Node* add = soleConsumer(g, m.root->output(0), "Add")) {
    ir::Value* beta = otherInput(*add, m.root->output(0));
    if (beta && constantOf(beta)) {
      m.beta = beta;
      m.root = add;
    }
  }
  // Scale and bias must broadcast to the normalized shape only (not over leading axes).
  const size_t normalizedRank = static_cast<size_t>(*start < 0 ? -*start : rank - *start);
  for (const ir::Value* p : {m.gamma, m.beta})
    if (p && constantOf(p)->dims().size() > normalizedRank) return std::nullopt;
  return m;
}

class FuseLayerNormRule : public pass::RewriteRule {
 public:
  std::vector<std::string> targetOps() const override { return {"Div"}; }
  bool match(const ir::Node& div) const override {
    auto m = matchLayerNorm(div);
    return m && m->x->dtype() == ir::DType::kFloat32;
  }
  Status apply(ir::Graph& g, ir::Node& div, bool* changed) const override {
    const LayerNormMatch m = *matchLayerNorm(div);
    ir::Value* gamma = m.gamma;
    if (!gamma) {
      auto dims = ir::staticDims(m.x->shape());
      if (!dims || m.axis < 0) return Status::Ok();  // ones of the normalized shape need its size
      std::vector<int64_t> normalized(dims->begin() + m.axis, dims->end());
      gamma = addFloatInitializer(g, m.root->output(0)->name() + "_ln_scale", normalized,
                                  std::vector<float>(static_cast<size_t>(ir::numElements(normalized)), 1.0f));
    }
    std::vector<ir::Value*> inputs = {m.x, gamma};
    if (m.beta) inputs.push_back(m.beta);
    ir::Node* ln = g.addNode("LayerNormalization", inputs, {m.root->output(0)->name() + "_layernorm"},
                             m.root->name() + "_layernorm", m.root);
    ln->setAttr("axis", m.axis);
    ln->setAttr("epsilon", m.epsilon);
    *changed = replacePattern(g, *m.root, ln);
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<pass::Pass> makeFuseLayerNorm() {
  std::vector<std::unique_ptr<pass::RewriteRule>> rules;
  rules.push_back(std::make_unique<FuseLayerNormRule>());
  return std::make_unique<pass::RulePass>(
      pass::PassInfo{"fuse_layer_norm",
                     "replace ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div[/Mul/Add] with LayerNormalization",
                     {"constant_folding"}, 1e-5},
      std::move(rules));
}

}  // namespace edgeopt::passes
