#include "passes/rewrite_utils.h"

#include <limits>

#include <algorithm>
#include <cmath>

namespace edgeopt::passes {

const ir::Tensor* constantOf(const ir::Value* v) {
  if (!v) return nullptr;
  if (v->isInitializer()) return &v->initializer();
  const ir::Node* p = v->producer();
  if (p && p->opType() == "Constant" && p->domain().empty())
    if (const ir::Attribute* a = p->attr("value"); a && a->kind() == ir::Attribute::Kind::kTensor) return &a->t();
  return nullptr;
}

std::optional<double> scalarConstant(const ir::Value* v) {
  const ir::Tensor* t = constantOf(v);
  if (!t || t->numel() != 1 || !ir::isDenseDType(t->dtype()) || t->dtype() == ir::DType::kFloat16 ||
      t->dtype() == ir::DType::kBFloat16)
    return std::nullopt;
  return t->getAsDouble(0);
}

std::optional<std::pair<double, double>> clipBounds(const ir::Node& clip) {
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  if (clip.input(1)) {
    auto v = scalarConstant(clip.input(1));
    if (!v) return std::nullopt;
    lo = *v;
  }
  if (clip.input(2)) {
    auto v = scalarConstant(clip.input(2));
    if (!v) return std::nullopt;
    hi = *v;
  }
  return std::make_pair(lo, hi);
}

std::optional<std::vector<int64_t>> intsConstant(const ir::Value* v) {
  const ir::Tensor* t = constantOf(v);
  if (!t || (t->dtype() != ir::DType::kInt64 && t->dtype() != ir::DType::kInt32)) return std::nullopt;
  return t->toInt64Vector();
}

bool isGraphOutput(const ir::Graph& g, const ir::Value* v) {
  return std::find(g.outputs().begin(), g.outputs().end(), v) != g.outputs().end();
}

bool hasSingleUse(const ir::Graph& g, const ir::Value* v) {
  return v && v->uses().size() == 1 && !isGraphOutput(g, v);
}

ir::Node* producerOf(const ir::Value* v, const char* op) {
  ir::Node* p = v ? v->producer() : nullptr;
  return p && p->domain().empty() && p->opType() == op ? p : nullptr;
}

ir::Value* otherInput(const ir::Node& n, const ir::Value* one) {
  if (n.numInputs() != 2) return nullptr;
  if (n.input(0) == one) return n.input(1);
  if (n.input(1) == one) return n.input(0);
  return nullptr;
}

bool nearlyEqual(double a, double b, double tolerance) {
  return std::fabs(a - b) <= tolerance * std::max(1.0, std::fabs(b));
}

bool replaceOutput(ir::Graph& g, ir::Value* old, ir::Value* replacement, bool takeName) {
  if (old == replacement) return false;
  ir::Node* producer = old->producer();
  // After the rewrite, the producer is removable when no other output of it is needed.
  const bool producerDies = producer && std::all_of(producer->outputs().begin(), producer->outputs().end(),
                                                    [&](const ir::Value* o) {
                                                      return o == old || (o->uses().empty() && !isGraphOutput(g, o));
                                                    });
  const bool wasOutput = isGraphOutput(g, old);
  if (wasOutput && (!producerDies || replacement->isGraphInput() || replacement->isInitializer() ||
                    isGraphOutput(g, replacement) || !replacement->producer()))
    return false;
  const std::string name = old->name();
  g.replaceAllUsesWith(old, replacement);
  if (producerDies) g.removeNode(producer);
  if (wasOutput || (takeName && producerDies)) g.renameValue(replacement, name);
  return true;
}

bool replacePattern(ir::Graph& g, ir::Node& root, ir::Node* replacement) {
  ir::Value* out = replacement->output(0);
  out->setDType(root.output(0)->dtype());
  out->setShape(root.output(0)->shape());
  const std::vector<ir::Value*> operands = root.inputs();
  if (!replaceOutput(g, root.output(0), out, /*takeName=*/true)) {
    g.removeNode(replacement);
    return false;
  }
  removeIfDead(g, operands);
  return true;
}

size_t removeDeadNodes(ir::Graph& g) {
  size_t removed = 0;
  auto nodes = g.nodes();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    ir::Node* n = *it;
    const bool dead = std::all_of(n->outputs().begin(), n->outputs().end(), [&](const ir::Value* o) {
      return o->uses().empty() && !isGraphOutput(g, o);
    });
    if (dead) {
      g.removeNode(n);
      ++removed;
    }
  }
  return removed;
}

void removeIfDead(ir::Graph& g, std::vector<ir::Value*> seeds) {
  while (!seeds.empty()) {
    ir::Value* v = seeds.back();
    seeds.pop_back();
    ir::Node* p = v ? v->producer() : nullptr;
    if (!p) continue;
    const bool dead = std::all_of(p->outputs().begin(), p->outputs().end(), [&](const ir::Value* o) {
      return o->uses().empty() && !isGraphOutput(g, o);
    });
    if (!dead) continue;
    for (ir::Value* in : p->inputs()) seeds.push_back(in);
    // removeNode deletes p's outputs; a value may be queued more than once (x * x).
    for (const ir::Value* o : p->outputs()) seeds.erase(std::remove(seeds.begin(), seeds.end(), o), seeds.end());
    g.removeNode(p);
  }
}

ir::Value* addFloatInitializer(ir::Graph& g, const std::string& name, std::vector<int64_t> dims,
                               const std::vector<float>& values) {
  return g.addInitializer(g.uniqueName(name), ir::Tensor::fromVector<float>(std::move(dims), values));
}

}  // namespace edgeopt::passes
