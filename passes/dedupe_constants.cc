#include "passes/dedupe_constants.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <string_view>
#include <unordered_map>

#include "passes/rewrite_utils.h"

namespace edgeopt::passes {
namespace {

size_t hashTensor(const ir::Tensor& t) {
  size_t h = std::hash<std::string_view>{}(
      std::string_view(static_cast<const char*>(t.rawData()), t.byteSize()));
  h ^= static_cast<size_t>(t.dtype()) * 0x9e3779b97f4a7c15ULL;
  for (int64_t d : t.dims()) h = h * 31 + static_cast<size_t>(d);
  return h;
}

bool sameTensor(const ir::Tensor& a, const ir::Tensor& b) {
  // Empty tensors hold no storage: memcmp of null pointers would be undefined even for 0 bytes.
  return a.dtype() == b.dtype() && a.dims() == b.dims() &&
         (a.byteSize() == 0 || std::memcmp(a.rawData(), b.rawData(), a.byteSize()) == 0);
}

class DedupeConstants : public pass::Pass {
 public:
  const pass::PassInfo& info() const override { return info_; }
  Status run(ir::Graph& g, pass::PassContext&, bool* changed) const override {
    *changed = false;
    std::unordered_multimap<size_t, ir::Value*> seen;
    std::vector<ir::Value*> candidates = g.initializers();
    for (ir::Node* n : g.nodes())
      if (n->opType() == "Constant" && n->domain().empty() && constantOf(n->output(0))) candidates.push_back(n->output(0));
    for (ir::Value* v : candidates) {
      if (isGraphOutput(g, v) || v->uses().empty()) continue;
      const ir::Tensor& t = *constantOf(v);
      const size_t h = hashTensor(t);
      ir::Value* keep = nullptr;
      auto range = seen.equal_range(h);
      for (auto it = range.first; it != range.second && !keep; ++it)
        if (sameTensor(*constantOf(it->second), t)) keep = it->second;
      if (!keep) {
        seen.emplace(h, v);
        continue;
      }
      // A Constant node kept as the survivor must come before every use it takes over.
      if (keep->producer()) {
        const auto order = g.nodes();
        auto pos = [&](const ir::Node* n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
        bool before = true;
        for (const ir::Use& u : v->uses()) before = before && pos(keep->producer()) < pos(u.node);
        if (!before) continue;
      }
      g.replaceAllUsesWith(v, keep);
      if (ir::Node* p = v->producer()) g.removeNode(p);
      *changed = true;
    }
    if (*changed) g.removeUnusedValues();
    return Status::Ok();
  }

 private:
  pass::PassInfo info_{"dedupe_constants", "merge initializers and Constant nodes holding identical tensors", {}, 0.0};
};

}  // namespace

std::unique_ptr<pass::Pass> makeDedupeConstants() { return std::make_unique<DedupeConstants>(); }

}  // namespace edgeopt::passes
