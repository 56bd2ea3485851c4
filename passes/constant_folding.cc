#include "passes/constant_folding.h"

#include "compiler/runtime/executor.h"
#include "passes/rewrite_utils.h"

namespace edgeopt::passes {
namespace {

// Shape(x) for x of fully known static shape, honouring start/end (opset 15).
std::optional<ir::Tensor> foldShape(const ir::Node& n) {
  auto dims = ir::staticDims(n.input(0)->shape());
  if (!dims) return std::nullopt;
  const int64_t r = static_cast<int64_t>(dims->size());
  auto clampAxis = [r](int64_t a) { return std::min(std::max(a < 0 ? a + r : a, int64_t{0}), r); };
  const int64_t start = clampAxis(n.attrInt("start", 0)), end = clampAxis(n.attrInt("end", r));
  std::vector<int64_t> out;
  for (int64_t i = start; i < end; ++i) out.push_back((*dims)[static_cast<size_t>(i)]);
  return ir::Tensor::fromVector<int64_t>({static_cast<int64_t>(out.size())}, out);
}

class ConstantFolding : public pass::Pass {
 public:
  const pass::PassInfo& info() const override { return info_; }

  Status run(ir::Graph& g, pass::PassContext& ctx, bool* changed) const override {
    *changed = false;
    for (ir::Node* n : g.nodes()) {
      if (!n->domain().empty() || n->outputs().empty()) continue;
      if (n->opType() == "QuantizeLinear" || n->opType() == "DequantizeLinear") continue;
      bool outputIsGraphOutput = false;
      for (const ir::Value* o : n->outputs()) outputIsGraphOutput |= isGraphOutput(g, o);
      if (outputIsGraphOutput) continue;

      std::vector<ir::Tensor> results;
      if (n->opType() == "Shape" && n->input(0)) {
        auto t = foldShape(*n);
        if (!t) continue;
        results.push_back(std::move(*t));
      } else {
        std::vector<const ir::Tensor*> inputs;
        bool allConstant = true;
        for (const ir::Value* in : n->inputs()) {
          const ir::Tensor* t = in ? constantOf(in) : nullptr;
          if (in && !t) allConstant = false;
          inputs.push_back(t);
        }
        if (!allConstant || !runtime::isSupportedNode(*n)) continue;
        auto out = runtime::evaluateNode(*n, inputs);
        if (!out.ok()) continue;  // e.g. bad constant data: leave it for the executor to report
        results = std::move(out).value();
      }
      bool fits = results.size() == n->outputs().size();
      for (const auto& r : results) fits = fits && r.dtype() != ir::DType::kUndefined && r.numel() <= ctx.maxFoldedElements;
      if (!fits) continue;
      // Initializers replace the outputs, then take over their names once the node is gone.
      std::vector<std::pair<ir::Value*, std::string>> renames;
      for (size_t i = 0; i < results.size(); ++i) {
        ir::Value* out = n->output(i);
        ir::Value* init = g.addInitializer(g.uniqueName(out->name() + "_folded"), std::move(results[i]));
        g.replaceAllUsesWith(out, init);
        renames.emplace_back(init, out->name());
      }
      g.removeNode(n);
      for (auto& [init, name] : renames) g.renameValue(init, name);
      *changed = true;
    }
    if (*changed) g.removeUnusedValues();
    return Status::Ok();
  }

 private:
  pass::PassInfo info_{"constant_folding",
                       "evaluate nodes whose inputs are all constants (and Shape of static shapes) into initializers",
                       {}, 0.0};
};

}  // namespace

std::unique_ptr<pass::Pass> makeConstantFolding() { return std::make_unique<ConstantFolding>(); }

}  // namespace edgeopt::passes
