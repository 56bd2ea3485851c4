#include "passes/fold_batchnorm.h"

#include <cmath>

#include "compiler/ir/edgeopt_ops.h"
#include "passes/rewrite_utils.h"

namespace edgeopt::passes {
namespace {

// s and t of y = x * s + t for the BatchNormalization node, or nullopt if not constant float.
struct ChannelAffine {
  std::vector<float> scale, shift;
};

std::optional<ChannelAffine> affineOf(const ir::Node& bn) {
  const ir::Tensor* p[4];
  for (size_t i = 0; i < 4; ++i) {
    p[i] = constantOf(bn.input(i + 1));
    if (!p[i] || p[i]->dtype() != ir::DType::kFloat32) return std::nullopt;
  }
  const int64_t c = p[0]->numel();
  for (size_t i = 1; i < 4; ++i)
    if (p[i]->numel() != c) return std::nullopt;
  const double eps = bn.attrFloat("epsilon", 1e-5f);
  ChannelAffine a;
  for (int64_t i = 0; i < c; ++i) {
    const double s = p[0]->data<float>()[i] / std::sqrt(static_cast<double>(p[3]->data<float>()[i]) + eps);
    a.scale.push_back(static_cast<float>(s));
    a.shift.push_back(static_cast<float>(p[1]->data<float>()[i] - p[2]->data<float>()[i] * s));
  }
  return a;
}

bool inferenceMode(const ir::Node& bn) {
  return bn.attrInt("training_mode", 0) == 0 && bn.outputs().size() == 1 && bn.numInputs() == 5;
}

const ir::Tensor* floatConstant(const ir::Value* v) {
  const ir::Tensor* t = constantOf(v);
  return t && t->dtype() == ir::DType::kFloat32 ? t : nullptr;
}

// Conv / ConvTranspose / Gemm -> BatchNormalization.
class FoldIntoProducerRule : public pass::RewriteRule {
 public:
  std::vector<std::string> targetOps() const override { return {"BatchNormalization"}; }

  bool match(const ir::Node& bn) const override {
    if (!inferenceMode(bn)) return false;
    const ir::Node* p = bn.input(0)->producer();
    if (!p || !p->domain().empty() || !hasSingleUse(*bn.graph(), bn.input(0)) || ir::fusedActivation(*p)) return false;
    const std::string& op = p->opType();
    if (op != "Conv" && op != "ConvTranspose" && op != "Gemm") return false;
    const ir::Tensor* w = floatConstant(p->input(1));
    if (!w || w->rank() < 2 || (p->input(2) && !floatConstant(p->input(2)))) return false;
    auto affine = affineOf(bn);
    if (!affine) return false;
    const int64_t channels = static_cast<int64_t>(affine->scale.size());
    if (op == "Conv") return w->dims()[0] == channels;
    if (op == "ConvTranspose") return w->dims()[1] * p->attrInt("group", 1) == channels;
    // Gemm: BN over the second axis of a 2-D output.
    const int64_t n = p->attrInt("transB", 0) ? w->dims()[0] : w->dims()[1];
    return w->rank() == 2 && n == channels && p->input(0)->shape() && p->input(0)->shape()->size() == 2;
  }

  Status apply(ir::Graph& g, ir::Node& bn, bool* changed) const override {
    ir::Node* p = bn.input(0)->producer();
    const ChannelAffine a = *affineOf(bn);
    const int64_t channels = static_cast<int64_t>(a.scale.size());
    ir::Tensor w = *floatConstant(p->input(1));
    float* wd = w.data<float>();
    const std::string& op = p->opType();
    if (op == "Conv") {
      const int64_t per = w.numel() / channels;
      for (int64_t m = 0; m < channels; ++m)
        for (int64_t i = 0; i < per; ++i) wd[m * per + i] *= a.scale[m];
    } else if (op == "ConvTranspose") {
      // W is [C, M/group, k...]; output channel of (c, j) is group(c) * M/group + j.
      const int64_t c = w.dims()[0], mpg = w.dims()[1], group = p->attrInt("group", 1);
      const int64_t per = w.numel() / (c * mpg);
      for (int64_t ci = 0; ci < c; ++ci)
        for (int64_t j = 0; j < mpg; ++j) {
          const int64_t m = (ci / (c / group)) * mpg + j;
          for (int64_t i = 0; i < per; ++i) wd[(ci * mpg + j) * per + i] *= a.scale[m];
        }
    } else {
      const bool transB = p->attrInt("transB", 0) != 0;
      const int64_t rows = w.dims()[0], cols = w.dims()[1];
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t col = 0; col < cols; ++col) wd[r * cols + col] *= a.scale[transB ? r : col];
    }
    // New bias: (old bias) * s + t per channel.
    std::vector<float> bias(static_cast<size_t>(channels), 0.0f);
    std::vector<int64_t> biasDims = {channels};
    if (op == "Gemm") {
      const float beta = p->attrFloat("beta", 1.0f);
      if (const ir::Tensor* c = floatConstant(p->input(2))) {
        // C broadcasts to [M, N]; keep its row dimension when it has one.
        const bool perRow = c->rank() == 2 && c->dims()[0] != 1;
        const int64_t rowsOut = perRow ? c->dims()[0] : 1;
        bias.assign(static_cast<size_t>(rowsOut * channels), 0.0f);
        const int64_t cCols = c->rank() == 0 ? 1 : c->dims().back();
        for (int64_t r = 0; r < rowsOut; ++r)
          for (int64_t n = 0; n < channels; ++n) {
            const float cv = c->data<float>()[(perRow ? r * cCols : 0) + (cCols == 1 ? 0 : n)];
            bias[r * channels + n] = beta * cv * a.scale[n] + a.shift[n];
          }
        if (perRow) biasDims = {rowsOut, channels};
      } else {
        bias = a.shift;
      }
      p->setAttr("beta", 1.0f);
    } else {
      const ir::Tensor* b = floatConstant(p->input(2));
      for (int64_t m = 0; m < channels; ++m) bias[m] = (b ? b->data<float>()[m] * a.scale[m] : 0.0f) + a.shift[m];
    }
    ir::Value* newW = g.addInitializer(g.uniqueName(p->input(1)->name() + "_bnfolded"), std::move(w));
    ir::Value* newB = addFloatInitializer(g, p->output(0)->name() + "_bias_bnfolded", biasDims, bias);
    p->setInput(1, newW);
    if (p->numInputs() > 2) p->setInput(2, newB);
    else p->addInput(newB);
    // The folded value keeps the normalized name.
    *changed = replaceOutput(g, bn.output(0), p->output(0), /*takeName=*/true);
    return Status::Ok();
  }
};

// Any other inference BatchNormalization: X * s + t.
class LowerToScaleShiftRule : public pass::RewriteRule {
 public:
  std::vector<std::string> targetOps() const override { return {"BatchNormalization"}; }
  bool match(const ir::Node& bn) const override {
    return inferenceMode(bn) && bn.input(0)->shape() && bn.input(0)->shape()->size() >= 2 &&
           bn.input(0)->dtype() == ir::DType::kFloat32 && affineOf(bn).has_value();
  }
  Status apply(ir::Graph& g, ir::Node& bn, bool* changed) const override {
    const ChannelAffine a = *affineOf(bn);
    std::vector<int64_t> dims = {static_cast<int64_t>(a.scale.size())};
    dims.resize(bn.input(0)->shape()->size() - 1, 1);
    const std::string base = bn.output(0)->name();
    ir::Value* s = addFloatInitializer(g, base + "_bn_scale", dims, a.scale);
    ir::Value* t = addFloatInitializer(g, base + "_bn_shift", dims, a.shift);
    ir::Node* mul = g.addNode("Mul", {bn.input(0), s}, {base + "_scaled"}, bn.name() + "_scale", &bn);
    ir::Node* add = g.addNode("Add", {mul->output(0), t}, {base + "_shifted"}, bn.name() + "_shift", &bn);
    mul->output(0)->setDType(ir::DType::kFloat32);
    mul->output(0)->setShape(bn.output(0)->shape());
    *changed = replacePattern(g, bn, add);
    if (!*changed) g.removeNode(mul);
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<pass::Pass> makeFoldBatchNorm() {
  std::vector<std::unique_ptr<pass::RewriteRule>> rules;
  rules.push_back(std::make_unique<FoldIntoProducerRule>());
  rules.push_back(std::make_unique<LowerToScaleShiftRule>());
  return std::make_unique<pass::RulePass>(
      pass::PassInfo{"fold_batchnorm",
                     "fold inference BatchNormalization into the preceding Conv/ConvTranspose/Gemm, else into Mul+Add",
                     {}, 1e-5},
      std::move(rules));
}

}  // namespace edgeopt::passes
