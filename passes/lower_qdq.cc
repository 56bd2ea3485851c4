#include "passes/lower_qdq.h"

#include <cmath>

#include "compiler/ir/edgeopt_ops.h"
#include "passes/rewrite_utils.h"

namespace edgeopt::passes {
namespace {

struct Dq {
  ir::Value* q = nullptr;  // the integer tensor
  std::vector<float> scales;
  int32_t zeroPoint = 0;
  int64_t axis = -1;  // -1: per tensor
};

// The DequantizeLinear producing v, when its scale (and zero point) are constants and its input
// has dtype `dtype` (kUInt8 also accepts int8 and uint8 activations: `unsigned8` tells which;
// a uint8 zero point is returned shifted to the int8 encoding, zero point - 128).
std::optional<Dq> dequantizeOf(const ir::Value* v, ir::DType dtype, bool* unsigned8 = nullptr) {
  const ir::Node* n = producerOf(v, "DequantizeLinear");
  if (!n) return std::nullopt;
  const ir::DType in = n->input(0)->dtype();
  const bool activation = dtype == ir::DType::kUInt8;
  if (activation ? (in != ir::DType::kUInt8 && in != ir::DType::kInt8) : in != dtype) return std::nullopt;
  if (unsigned8) *unsigned8 = in == ir::DType::kUInt8;
  const ir::Tensor* s = constantOf(n->input(1));
  if (!s || s->dtype() != ir::DType::kFloat32 || s->rank() > 1) return std::nullopt;
  Dq d;
  d.q = n->input(0);
  for (int64_t i = 0; i < s->numel(); ++i) d.scales.push_back(s->data<float>()[i]);
  if (n->input(2)) {
    const ir::Tensor* z = constantOf(n->input(2));
    if (!z || z->numel() != 1) return std::nullopt;  // per-axis zero points: not lowered
    d.zeroPoint = static_cast<int32_t>(z->getAsInt64(0)) - (z->dtype() == ir::DType::kUInt8 ? 128 : 0);
  }
  if (s->rank() == 1 && s->numel() > 1) d.axis = n->attrInt("axis", 1);
  return d;
}

class LowerQdqRule : public pass::RewriteRule {
 public:
  std::vector<std::string> targetOps() const override { return {"Conv", "Gemm", "MatMul"}; }

  bool match(const ir::Node& n) const override { return plan(n).has_value(); }

  Status apply(ir::Graph& g, ir::Node& n, bool* changed) const override {
    const Plan p = *plan(n);
    std::vector<ir::Value*> ins = {p.x.q, p.w.q};
    if (p.b) ins.push_back(p.b->q);
    ir::Value* yq = p.quantize->output(0);
    const bool conv = n.opType() == "Conv";
    ir::Node* q = g.addNode(conv ? "QConv" : "QGemm", ins, {yq->name() + "_int8"}, n.name() + "_int8", p.quantize,
                            ir::kEdgeoptDomain);
    for (const auto& [name, attr] : n.attributes())
      if (conv || name == "transB" || name == ir::kFusedActivationAttr || name == ir::kFusedActivationParamsAttr)
        q->setAttr(name, attr);
    if (n.opType() == "MatMul") q->setAttr("transB", int64_t{0});
    q->setAttr("x_scale", p.x.scales[0]);
    q->setAttr("x_zero_point", static_cast<int64_t>(p.x.zeroPoint));
    q->setAttr("w_scales", p.w.scales);
    q->setAttr("y_scale", p.yScale);
    q->setAttr("y_zero_point", static_cast<int64_t>(p.yZeroPoint));
    if (p.xUnsigned) q->setAttr("x_uint8", int64_t{1});
    if (p.yUnsigned) q->setAttr("y_uint8", int64_t{1});
    // Replaces the QuantizeLinear; the float node and the DequantizeLinears only it used go too.
    *changed = replacePattern(g, *p.quantize, q);
    return Status::Ok();
  }

 private:
  struct Plan {
    Dq x, w;
    std::optional<Dq> b;
    ir::Node* quantize;
    float yScale;
    int32_t yZeroPoint;  // in the int8 encoding
    bool xUnsigned = false, yUnsigned = false;  // activations stored as uint8 (value + 128)
  };

  std::optional<Plan> plan(const ir::Node& n) const {
    const ir::Graph& g = *n.graph();
    if (!n.domain().empty()) return std::nullopt;
    if (auto act = ir::fusedActivation(n); act && act->op != "Relu" && act->op != "Clip") return std::nullopt;
    if (n.opType() == "Gemm" && (n.attrInt("transA", 0) || n.attrFloat("alpha", 1.0f) != 1.0f ||
                                 n.attrFloat("beta", 1.0f) != 1.0f))
      return std::nullopt;
    Plan p;
    auto x = dequantizeOf(n.input(0), ir::DType::kUInt8, &p.xUnsigned);
    auto w = dequantizeOf(n.input(1), ir::DType::kInt8);
    if (!x || !w || x->scales.size() != 1 || w->zeroPoint != 0 || !constantOf(w->q)) return std::nullopt;
    const ir::Tensor& wt = *constantOf(w->q);
    const bool transB = n.attrInt("transB", 0) != 0;
    const int64_t channelAxis = n.opType() == "Conv" ? 0 : (n.opType() == "Gemm" && transB ? 0 : 1);
    if (n.opType() != "Conv" && wt.rank() != 2) return std::nullopt;
    const int64_t channels = wt.dims()[static_cast<size_t>(channelAxis)];
    if (w->scales.size() != 1 && (static_cast<int64_t>(w->scales.size()) != channels ||
                                  (w->axis < 0 ? w->axis + wt.rank() : w->axis) != channelAxis))
      return std::nullopt;
    if (w->scales.size() == 1) w->scales.assign(static_cast<size_t>(channels), w->scales[0]);
    if (n.input(2)) {
      auto b = dequantizeOf(n.input(2), ir::DType::kInt32);
      if (!b || !constantOf(b->q) || b->zeroPoint != 0 || constantOf(b->q)->numel() != channels) return std::nullopt;
      if (b->scales.size() == 1) b->scales.assign(static_cast<size_t>(channels), b->scales[0]);
      if (static_cast<int64_t>(b->scales.size()) != channels) return std::nullopt;
      for (int64_t c = 0; c < channels; ++c)
        if (!nearlyEqual(b->scales[static_cast<size_t>(c)], static_cast<double>(x->scales[0]) * w->scales[static_cast<size_t>(c)], 1e-6))
          return std::nullopt;
      p.b = b;
    }
    const ir::Value* y = n.output(0);
    if (!hasSingleUse(g, y)) return std::nullopt;
    ir::Node* quant = y->uses()[0].node;
    if (quant->opType() != "QuantizeLinear" || !quant->domain().empty() || !quant->input(2)) return std::nullopt;
    const ir::Tensor* ys = constantOf(quant->input(1));
    const ir::Tensor* yz = constantOf(quant->input(2));
    if (!ys || !yz || ys->numel() != 1 || yz->numel() != 1 ||
        (yz->dtype() != ir::DType::kInt8 && yz->dtype() != ir::DType::kUInt8))
      return std::nullopt;
    p.yUnsigned = yz->dtype() == ir::DType::kUInt8;
    p.x = *x;
    p.w = *w;
    p.quantize = quant;
    p.yScale = static_cast<float>(ys->getAsDouble(0));
    p.yZeroPoint = static_cast<int32_t>(yz->getAsInt64(0)) - (p.yUnsigned ? 128 : 0);
    return p;
  }
};

}  // namespace

bool hasQdq(const ir::Graph& g) {
  for (const ir::Node* n : g.nodes())
    if (n->domain().empty() && (n->opType() == "QuantizeLinear" || n->opType() == "DequantizeLinear")) return true;
  return false;
}

std::unique_ptr<pass::Pass> makeLowerQdq() {
  std::vector<std::unique_ptr<pass::RewriteRule>> rules;
  rules.push_back(std::make_unique<LowerQdqRule>());
  return std::make_unique<pass::RulePass>(
      pass::PassInfo{"lower_qdq", "turn DequantizeLinear -> Conv/Gemm/MatMul -> QuantizeLinear into edgeopt int8 ops",
                     {}, 0.02},
      std::move(rules));
}

}  // namespace edgeopt::passes
