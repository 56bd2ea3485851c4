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

// The per-tensor int8/uint8 QuantizeLinear that alone consumes y, with its parameters (zero point
// in the int8 encoding).
struct Quantize {
  ir::Node* node;
  float scale;
  int32_t zeroPoint;
  bool unsigned8;
};
std::optional<Quantize> soleQuantizeOf(const ir::Graph& g, const ir::Value* y) {
  if (!hasSingleUse(g, y)) return std::nullopt;
  ir::Node* quant = y->uses()[0].node;
  if (quant->opType() != "QuantizeLinear" || !quant->domain().empty() || !quant->input(2)) return std::nullopt;
  const ir::Tensor* ys = constantOf(quant->input(1));
  const ir::Tensor* yz = constantOf(quant->input(2));
  if (!ys || !yz || ys->numel() != 1 || yz->numel() != 1 ||
      (yz->dtype() != ir::DType::kInt8 && yz->dtype() != ir::DType::kUInt8))
    return std::nullopt;
  const bool u8 = yz->dtype() == ir::DType::kUInt8;
  return Quantize{quant, static_cast<float>(ys->getAsDouble(0)),
                  static_cast<int32_t>(yz->getAsInt64(0)) - (u8 ? 128 : 0), u8};
}

// The target's say on a group that has an int8 form (see LowerQdqOptions).
bool targetRunsInt8(const LowerQdqOptions& options, const ir::Node& n) {
  if (!options.runsInt8 || options.runsInt8(n)) return true;
  if (options.declined) options.declined->insert(n.describe());
  return false;
}

class LowerQdqRule : public pass::RewriteRule {
 public:
  explicit LowerQdqRule(LowerQdqOptions options) : options_(std::move(options)) {}
  static std::vector<std::string> ops() { return {"Conv", "Gemm", "MatMul"}; }
  std::vector<std::string> targetOps() const override { return ops(); }

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
    auto quant = soleQuantizeOf(g, n.output(0));
    if (!quant) return std::nullopt;
    p.yUnsigned = quant->unsigned8;
    p.x = *x;
    p.w = *w;
    p.quantize = quant->node;
    p.yScale = quant->scale;
    p.yZeroPoint = quant->zeroPoint;
    if (!targetRunsInt8(options_, n)) return std::nullopt;
    return p;
  }

  LowerQdqOptions options_;
};


// DQ -> {Add, Mul, AveragePool, GlobalAveragePool} -> Q becomes edgeopt.QAdd / QMul / QAveragePool;
// DQ -> {MaxPool, Flatten, Reshape, nearest Resize} -> Q with the same parameters runs the op on the integers;
// DQ... -> Concat -> Q runs Concat on the integers, re-encoding (edgeopt.QRequantize) the inputs
// whose parameters differ from the output's.
class LowerWeightlessRule : public pass::RewriteRule {
 public:
  explicit LowerWeightlessRule(LowerQdqOptions options) : options_(std::move(options)) {}
  static std::vector<std::string> ops() {
    return {"Add", "Mul", "AveragePool", "GlobalAveragePool", "Concat", "MaxPool", "Flatten", "Reshape", "Resize"};
  }
  std::vector<std::string> targetOps() const override { return ops(); }

  bool match(const ir::Node& n) const override { return plan(n).has_value(); }

  Status apply(ir::Graph& g, ir::Node& n, bool* changed) const override {
    const Plan p = *plan(n);
    const std::string& op = n.opType();
    ir::Node* q = p.quantize.node;
    const std::string outName = q->output(0)->name() + "_int8";
    ir::Node* lowered = nullptr;
    auto setOutput = [&](ir::Node* node, const Dq& in, bool inUnsigned) {
      node->setAttr("x_scale", in.scales[0]);
      node->setAttr("x_zero_point", static_cast<int64_t>(in.zeroPoint));
      node->setAttr("y_scale", p.quantize.scale);
      node->setAttr("y_zero_point", static_cast<int64_t>(p.quantize.zeroPoint));
      if (inUnsigned) node->setAttr("x_uint8", int64_t{1});
      if (p.quantize.unsigned8) node->setAttr("y_uint8", int64_t{1});
    };
    if (op == "Add" || op == "Mul") {
      lowered = g.addNode(op == "Add" ? "QAdd" : "QMul", {p.in[0].q, p.in[1].q}, {outName}, n.name() + "_int8", q,
                          ir::kEdgeoptDomain);
      setOutput(lowered, p.in[0], p.unsigned8[0]);
      lowered->removeAttr("x_scale");
      lowered->removeAttr("x_zero_point");
      lowered->removeAttr("x_uint8");
      for (size_t i = 0; i < 2; ++i) {
        const std::string k = i == 0 ? "a" : "b";
        lowered->setAttr(k + "_scale", p.in[i].scales[0]);
        lowered->setAttr(k + "_zero_point", static_cast<int64_t>(p.in[i].zeroPoint));
      }
    } else if (op == "AveragePool" || op == "GlobalAveragePool") {
      lowered = g.addNode("QAveragePool", {p.in[0].q}, {outName}, n.name() + "_int8", q, ir::kEdgeoptDomain);
      for (const auto& [name, attr] : n.attributes()) lowered->setAttr(name, attr);
      if (op == "GlobalAveragePool") lowered->setAttr("global", int64_t{1});
      setOutput(lowered, p.in[0], p.unsigned8[0]);
    } else {
      // Integer data movement, inputs re-encoded where their parameters (or storage) differ.
      std::vector<ir::Value*> ins = n.inputs();
      for (size_t i = 0; i < p.in.size(); ++i) {
        ir::Value* v = p.in[i].q;
        if (!sameEncoding(p.in[i], p.unsigned8[i], p.quantize)) {
          ir::Node* r = g.addNode("QRequantize", {v}, {g.uniqueName(v->name() + "_requantized")},
                                  g.uniqueName(n.name() + "_requantize"), q, ir::kEdgeoptDomain);
          setOutput(r, p.in[i], p.unsigned8[i]);
          r->output(0)->setDType(q->output(0)->dtype());
          r->output(0)->setShape(v->shape());
          v = r->output(0);
        }
        ins[i] = v;
      }
      lowered = g.addNode(op, ins, {outName}, n.name() + "_int8", q);
      for (const auto& [name, attr] : n.attributes()) lowered->setAttr(name, attr);
    }
    *changed = replacePattern(g, *q, lowered);
    return Status::Ok();
  }

 private:
  struct Plan {
    std::vector<Dq> in;         // the activation operands' DequantizeLinears
    std::vector<bool> unsigned8;
    Quantize quantize;
  };

  static bool sameEncoding(const Dq& in, bool inUnsigned, const Quantize& out) {
    return in.scales[0] == out.scale && in.zeroPoint == out.zeroPoint && inUnsigned == out.unsigned8;
  }

  std::optional<Plan> plan(const ir::Node& n) const {
    if (!n.domain().empty() || n.outputs().size() != 1 || ir::fusedActivation(n)) return std::nullopt;
    const std::string& op = n.opType();
    const bool movement = op == "MaxPool" || op == "Flatten" || op == "Reshape" || op == "Resize";
    if (op == "Resize" && n.attrString("mode", "nearest") != "nearest") return std::nullopt;
    const size_t operands = op == "Add" || op == "Mul" ? 2 : op == "Concat" ? n.inputs().size() : 1;
    if (op == "Add" || op == "Mul") {
      if (n.inputs().size() != 2) return std::nullopt;
    }
    Plan p;
    for (size_t i = 0; i < operands; ++i) {
      bool u8 = false;
      auto d = n.input(i) ? dequantizeOf(n.input(i), ir::DType::kUInt8, &u8) : std::nullopt;
      if (!d || d->scales.size() != 1) return std::nullopt;
      p.in.push_back(*d);
      p.unsigned8.push_back(u8);
    }
    auto quant = soleQuantizeOf(*n.graph(), n.output(0));
    if (!quant) return std::nullopt;
    p.quantize = *quant;
    if (movement && !sameEncoding(p.in[0], p.unsigned8[0], p.quantize)) return std::nullopt;
    if (!targetRunsInt8(options_, n)) return std::nullopt;
    return p;
  }

  LowerQdqOptions options_;
};

}  // namespace

bool hasQdq(const ir::Graph& g) {
  for (const ir::Node* n : g.nodes())
    if (n->domain().empty() && (n->opType() == "QuantizeLinear" || n->opType() == "DequantizeLinear")) return true;
  return false;
}

const std::set<std::string>& opsWithInt8Form() {
  static const std::set<std::string> ops = [] {
    std::set<std::string> s;
    for (const auto& op : LowerQdqRule::ops()) s.insert(op);
    for (const auto& op : LowerWeightlessRule::ops()) s.insert(op);
    return s;
  }();
  return ops;
}

std::unique_ptr<pass::Pass> makeLowerQdq(LowerQdqOptions options) {
  std::vector<std::unique_ptr<pass::RewriteRule>> rules;
  rules.push_back(std::make_unique<LowerQdqRule>(options));
  rules.push_back(std::make_unique<LowerWeightlessRule>(std::move(options)));
  return std::make_unique<pass::RulePass>(
      pass::PassInfo{"lower_qdq", "turn DequantizeLinear -> op -> QuantizeLinear into edgeopt int8 ops",
                     {}, 0.02},
      std::move(rules));
}

}  // namespace edgeopt::passes
