#include "passes/insert_qdq.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "compiler/ir/edgeopt_ops.h"
#include "kernels/ref/quant.h"
#include "passes/rewrite_utils.h"

namespace edgeopt::passes {
namespace {

// Axis of the weight tensor that indexes output channels, or -1 when the node has none.
int64_t outputChannelAxis(const ir::Node& n) {
  if (n.opType() == "Conv") return 0;
  if (n.opType() == "Gemm") return n.attrInt("transB", 0) ? 0 : 1;
  if (n.opType() == "MatMul") return 1;  // B is [K, N]
  return -1;
}

const ir::Tensor* floatWeights(const ir::Node& n) {
  const ir::Tensor* w = constantOf(n.input(1));
  if (!w || w->dtype() != ir::DType::kFloat32) return nullptr;
  if (n.opType() == "MatMul" || n.opType() == "Gemm") return w->rank() == 2 ? w : nullptr;
  return w->rank() >= 3 ? w : nullptr;
}

// Activations are stored as uint8 with zero point + 128: the same values as the int8 encoding
// of kernels/ref/quant.h (q_u8 = q_s8 + 128), in the form ONNX Runtime's x86 int8 kernels take
// (U8S8); lower_qdq maps them back to int8.
ir::Node* addQ(ir::Graph& g, ir::Value* x, const ActivationQuant& q, ir::Node* before, const std::string& base) {
  ir::Value* s = g.addInitializer(g.uniqueName(base + "_scale"), ir::Tensor::scalar<float>(q.scale));
  ir::Value* z = g.addInitializer(g.uniqueName(base + "_zero_point"),
                                  ir::Tensor::scalar<uint8_t>(static_cast<uint8_t>(q.zeroPoint + 128)));
  ir::Node* n = g.addNode("QuantizeLinear", {x, s, z}, {base + "_quantized"}, g.uniqueName(base + "_QuantizeLinear"), before);
  n->output(0)->setDType(ir::DType::kUInt8);
  n->output(0)->setShape(x->shape());
  return n;
}

ir::Node* addDQ(ir::Graph& g, ir::Value* q, ir::Value* scale, ir::Value* zp, int64_t axis, const ir::Shape& shape,
                ir::Node* before, const std::string& base) {
  std::vector<ir::Value*> ins = {q, scale};
  if (zp) ins.push_back(zp);
  ir::Node* n = g.addNode("DequantizeLinear", ins, {base + "_dequantized"}, g.uniqueName(base + "_DequantizeLinear"), before);
  if (axis >= 0) n->setAttr("axis", axis);
  n->output(0)->setDType(ir::DType::kFloat32);
  n->output(0)->setShape(shape);
  return n;
}

// Weightless ops with an int8 form (kernels/ref/quant.h). Data movement keeps its input's
// parameters; the others take their output's calibrated parameters.
bool isDataMovement(const ir::Node& n) {
  const std::string& op = n.opType();
  if (op == "MaxPool") return n.outputs().size() == 1 && n.input(0)->shape() && n.input(0)->shape()->size() == 4;
  if (op == "Resize")
    return n.attrString("mode", "nearest") == "nearest" &&
           n.attrString("coordinate_transformation_mode", "half_pixel") != "tf_crop_and_resize";
  return op == "Flatten" || op == "Reshape";
}
bool isWeightlessInt8(const ir::Node& n) {
  const std::string& op = n.opType();
  return op == "Add" || op == "Mul" || op == "Concat" || op == "GlobalAveragePool" || op == "AveragePool" ||
         isDataMovement(n);
}
// The activation operands of a weightless int8 op (Reshape's shape, Resize's roi/scales/sizes are not).
std::vector<size_t> activationInputs(const ir::Node& n) {
  if (n.opType() == "Reshape" || isDataMovement(n)) return {0};
  std::vector<size_t> idx;
  for (size_t i = 0; i < n.inputs().size(); ++i) idx.push_back(i);
  return idx;
}


// True when every value the int8 encoding q represents lies within [lo, hi] (to 1e-6 relative):
// the saturation of its QuantizeLinear then computes a clamp to [lo, hi], which can be dropped.
bool encodingWithin(const ActivationQuant& q, double lo, double hi) {
  const double qlo = (-128.0 - q.zeroPoint) * q.scale, qhi = (127.0 - q.zeroPoint) * q.scale;
  return qlo >= lo - 1e-6 * std::fabs(lo) && qhi <= hi + 1e-6 * std::fabs(hi);
}

// Walks the graph once in order, rewriting each quantizable node; remembers which activations
// already have a Q -> DQ pair and with which parameters.
class QdqRewriter {
 public:
  QdqRewriter(ir::Graph& g, const QdqPlan& plan) : g_(g), plan_(plan) {}

  Status run(std::vector<std::string>* quantized) {
    std::set<const ir::Node*> weighted;
    for (const ir::Node* n : quantizableNodes(g_)) weighted.insert(n);
    const std::vector<ir::Node*> order = g_.nodes();
    for (ir::Node* n : order) {
      if (removed_.count(n) || plan_.excludedNodes.count(n->name())) continue;
      bool done = false;
      if (weighted.count(n)) done = quantizeWeighted(*n);
      else if (n->domain().empty() && isWeightlessInt8(*n)) done = quantizeWeightless(*n);
      if (done) quantized->push_back(n->name());
    }
    removeDeadNodes(g_);
    g_.removeUnusedValues();
    return Status::Ok();
  }

 private:
  // The parameters x would be quantized with: those of the DequantizeLinear producing it, of the
  // pair already inserted for it, or its calibrated ones.
  std::optional<ActivationQuant> paramsOf(const ir::Value* x) const {
    if (const ir::Node* dq = x->producer(); dq && dq->domain().empty() && dq->opType() == "DequantizeLinear") {
      const ir::Tensor* s = constantOf(dq->input(1));
      const ir::Tensor* z = dq->input(2) ? constantOf(dq->input(2)) : nullptr;
      if (!s || s->numel() != 1 || (dq->input(2) && (!z || z->numel() != 1))) return std::nullopt;
      const int32_t zp = z ? static_cast<int32_t>(z->getAsInt64(0)) - (z->dtype() == ir::DType::kUInt8 ? 128 : 0) : 0;
      return ActivationQuant{static_cast<float>(s->getAsDouble(0)), zp};
    }
    if (auto it = assigned_.find(x); it != assigned_.end()) return it->second;
    if (auto it = plan_.activations.find(x->name()); it != plan_.activations.end()) return it->second;
    return std::nullopt;
  }

  // x itself when a DequantizeLinear produces it, else the output of its (shared) Q -> DQ pair.
  ir::Value* dequantizedInput(ir::Value* x, ir::Node* before) {
    if (x->producer() && x->producer()->opType() == "DequantizeLinear") return x;
    if (auto it = dequantized_.find(x); it != dequantized_.end()) return it->second;
    const ActivationQuant q = *paramsOf(x);
    ir::Node* quant = addQ(g_, x, q, before, x->name());
    ir::Node* dq = addDQ(g_, quant->output(0), quant->input(1), quant->input(2), -1, x->shape(), before, x->name());
    dequantized_[x] = dq->output(0);
    assigned_[x] = q;
    return dq->output(0);
  }

  // Consumers (and graph outputs) of y read Q -> DQ with parameters q.
  void quantizeOutput(ir::Node& n, ir::Value* y, const ActivationQuant& q) {
    ir::Node* after = nullptr;
    auto order = g_.nodes();
    auto pos = std::find(order.begin(), order.end(), &n);
    if (pos + 1 != order.end()) after = *(pos + 1);
    const std::vector<ir::Use> uses = y->uses();
    ir::Node* quant = addQ(g_, y, q, after, y->name());
    ir::Node* dq = addDQ(g_, quant->output(0), quant->input(1), quant->input(2), -1, y->shape(), after, y->name());
    for (const ir::Use& u : uses) u.node->setInput(u.inputIndex, dq->output(0));
    dequantized_[y] = dq->output(0);
    assigned_[y] = q;
    if (isGraphOutput(g_, y)) {
      // The graph output keeps its name: it now names the DequantizeLinear output.
      std::vector<ir::Value*> outs = g_.outputs();
      for (auto& o : outs)
        if (o == y) o = dq->output(0);
      g_.setOutputs(outs);
      const std::string name = y->name();
      g_.renameValue(y, g_.uniqueName(name + "_float"));
      g_.renameValue(dq->output(0), name);
    }
  }

  // A Relu or constant Clip after n whose range the int8 encoding of that output lies within
  // (for Relu: zero point at the bottom of the range) is dropped: the output Q's saturation
  // computes it. Returns the value whose parameters n's output takes.
  ir::Value* absorbClamp(ir::Node& n) {
    ir::Node* clamp = const_cast<ir::Node*>(foldableClamp(g_, n));
    if (!clamp) return n.output(0);
    auto q = paramsOf(clamp->output(0));
    const std::pair<double, double> bounds = clamp->opType() == "Relu" ? std::make_pair(0.0, double{INFINITY}) : *clipBounds(*clamp);
    if (!q || !encodingWithin(*q, bounds.first, bounds.second)) return n.output(0);
    ir::Value* clampOut = clamp->output(0);
    removed_.insert(clamp);  // replaceOutput deletes it: the walk must not touch it again
    if (!replaceOutput(g_, clampOut, n.output(0), /*takeName=*/false)) {
      removed_.erase(clamp);
      return n.output(0);
    }
    assigned_[n.output(0)] = *q;
    return n.output(0);
  }

  bool quantizeWeightless(ir::Node& n) {
    const auto operands = activationInputs(n);
    for (size_t i : operands) {
      const ir::Value* x = n.input(i);
      if (!x || x->dtype() != ir::DType::kFloat32 || constantOf(x) || !paramsOf(x)) return false;
    }
    if (n.output(0)->dtype() != ir::DType::kFloat32) return false;
    std::optional<ActivationQuant> yq;
    if (isDataMovement(n)) {
      // Stays int8 only when fed int8: quantizing a float input here would add error nobody asked for.
      if (!producerOf(n.input(0), "DequantizeLinear")) return false;
      yq = paramsOf(n.input(0));
    } else {
      if (n.opType() == "Add" || n.opType() == "Mul") absorbClamp(n);
      yq = paramsOf(n.output(0));
    }
    if (!yq) return false;
    for (size_t i : operands) n.setInput(i, dequantizedInput(n.input(i), &n));
    quantizeOutput(n, n.output(0), *yq);
    return true;
  }

  bool quantizeWeighted(ir::Node& n) {
    ir::Value* x = n.input(0);
    ir::Value* y = n.output(0);
    const auto xq = paramsOf(x);
    const auto yq = plan_.activations.find(y->name());
    if (!xq || yq == plan_.activations.end()) return false;
    if (n.opType() == "Gemm" && (n.attrInt("transA", 0) || n.attrFloat("alpha", 1.0f) != 1.0f ||
                                 (n.input(2) && n.attrFloat("beta", 1.0f) != 1.0f)))
      return false;
    if (n.opType() == "Gemm" && n.input(2) && constantOf(n.input(2))->rank() > 1) return false;
    const ir::Tensor& w = *floatWeights(n);
    const int64_t axis = outputChannelAxis(n);
    const int64_t channels = w.dims()[static_cast<size_t>(axis)];
    if (const ir::Tensor* b = n.input(2) ? constantOf(n.input(2)) : nullptr; b && b->numel() != channels && b->numel() != 1)
      return false;
    const float xScale = xq->scale;
    n.setInput(0, dequantizedInput(x, &n));

    // Weights: symmetric int8 per output channel (or per tensor).
    const int64_t inner = axis == 0 ? w.numel() / channels : 1;
    std::vector<float> wScale(static_cast<size_t>(channels), 0.0f);
    for (int64_t i = 0; i < w.numel(); ++i) {
      const int64_t c = axis == 0 ? i / inner : i % channels;
      wScale[static_cast<size_t>(c)] = std::max(wScale[static_cast<size_t>(c)], std::fabs(w.data<float>()[i]));
    }
    if (plan_.perTensorWeights) {
      const float m = *std::max_element(wScale.begin(), wScale.end());
      std::fill(wScale.begin(), wScale.end(), m);
    }
    for (auto& s : wScale) s = s > 0 ? s / 127.0f : 1.0f;
    ir::Tensor wq(ir::DType::kInt8, w.dims());
    for (int64_t i = 0; i < w.numel(); ++i) {
      const int64_t c = axis == 0 ? i / inner : i % channels;
      const float v = std::nearbyint(w.data<float>()[i] / wScale[static_cast<size_t>(c)]);
      wq.data<int8_t>()[i] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
    }
    const std::string base = n.name();
    ir::Value* wqv = g_.addInitializer(g_.uniqueName(base + "_weight_int8"), std::move(wq));
    ir::Value* wsv = plan_.perTensorWeights
                         ? g_.addInitializer(g_.uniqueName(base + "_weight_scale"), ir::Tensor::scalar<float>(wScale[0]))
                         : g_.addInitializer(g_.uniqueName(base + "_weight_scale"), ir::Tensor::fromVector<float>({channels}, wScale));
    ir::Node* wdq = addDQ(g_, wqv, wsv, nullptr, plan_.perTensorWeights ? -1 : axis, n.input(1)->shape(), &n, base + "_weight");
    n.setInput(1, wdq->output(0));

    // Bias: int32 at input_scale * weight_scale.
    if (const ir::Tensor* b = n.input(2) ? constantOf(n.input(2)) : nullptr) {
      std::vector<float> bScale(static_cast<size_t>(channels));
      ir::Tensor bq(ir::DType::kInt32, {channels});
      for (int64_t c = 0; c < channels; ++c) {
        bScale[static_cast<size_t>(c)] = xScale * wScale[static_cast<size_t>(c)];
        const double v = std::nearbyint(b->getAsDouble(b->numel() == 1 ? 0 : c) / bScale[static_cast<size_t>(c)]);
        bq.data<int32_t>()[c] = static_cast<int32_t>(std::clamp<double>(v, std::numeric_limits<int32_t>::min(),
                                                                       std::numeric_limits<int32_t>::max()));
      }
      ir::Value* bqv = g_.addInitializer(g_.uniqueName(base + "_bias_int32"), std::move(bq));
      ir::Value* bsv = g_.addInitializer(g_.uniqueName(base + "_bias_scale"), ir::Tensor::fromVector<float>({channels}, bScale));
      ir::Node* bdq = addDQ(g_, bqv, bsv, nullptr, 0, std::vector<ir::Dim>{ir::Dim(channels)}, &n, base + "_bias");
      n.setInput(2, bdq->output(0));
    }

    // A fused Relu/Clip whose range contains the output's int8 range is what the
    // QuantizeLinear's saturation does anyway: drop it, so the export is DQ -> Conv -> Q, the
    // pattern ONNX Runtime fuses into its int8 kernels (an activation in between blocks that).
    if (auto act = ir::fusedActivation(n); act && (act->op == "Relu" || act->op == "Clip")) {
      const double lo = act->op == "Relu" ? 0.0 : act->params[0];
      const double hi = act->op == "Relu" ? INFINITY : act->params[1];
      if (encodingWithin(yq->second, lo, hi)) {
        n.removeAttr(ir::kFusedActivationAttr);
        n.removeAttr(ir::kFusedActivationParamsAttr);
      }
    }
    quantizeOutput(n, y, yq->second);
    return true;
  }

  ir::Graph& g_;
  const QdqPlan& plan_;
  std::map<const ir::Value*, ir::Value*> dequantized_;   // float activation -> its DQ output
  std::map<const ir::Value*, ActivationQuant> assigned_;  // parameters given to an activation
  std::set<const ir::Node*> removed_;                     // nodes deleted during the walk
};

}  // namespace

std::vector<const ir::Node*> quantizableNodes(const ir::Graph& g) {
  std::vector<const ir::Node*> out;
  for (const ir::Node* n : g.nodes())
    if (n->domain().empty() && outputChannelAxis(*n) >= 0 && floatWeights(*n) &&
        (!n->input(2) || (constantOf(n->input(2)) && constantOf(n->input(2))->dtype() == ir::DType::kFloat32)) &&
        n->input(0)->dtype() == ir::DType::kFloat32)
      out.push_back(n);
  return out;
}

const ir::Node* foldableClamp(const ir::Graph& g, const ir::Node& n) {
  if (!n.domain().empty() || (n.opType() != "Add" && n.opType() != "Mul") || !hasSingleUse(g, n.output(0))) return nullptr;
  const ir::Node* r = n.output(0)->uses()[0].node;
  if (!r->domain().empty() || isGraphOutput(g, r->output(0)) || r->input(0) != n.output(0)) return nullptr;
  return r->opType() == "Relu" || (r->opType() == "Clip" && clipBounds(*r)) ? r : nullptr;
}

std::vector<const ir::Node*> int8CandidateNodes(const ir::Graph& g) {
  std::vector<const ir::Node*> out = quantizableNodes(g);
  const std::set<const ir::Node*> weighted(out.begin(), out.end());
  for (const ir::Node* n : g.nodes())
    if (!weighted.count(n) && n->domain().empty() && isWeightlessInt8(*n) && !isDataMovement(*n)) out.push_back(n);
  return out;
}

std::vector<const ir::Value*> calibratedValues(const ir::Graph& g) {
  std::vector<const ir::Value*> out;
  std::set<const ir::Value*> seen;
  auto add = [&](const ir::Value* v) {
    if (v && v->dtype() == ir::DType::kFloat32 && !constantOf(v) && seen.insert(v).second) out.push_back(v);
  };
  for (const ir::Node* n : quantizableNodes(g)) {
    add(n->input(0));
    add(n->output(0));
  }
  for (const ir::Node* n : g.nodes()) {
    if (!n->domain().empty() || !isWeightlessInt8(*n) || isDataMovement(*n)) continue;
    for (size_t i : activationInputs(*n)) add(n->input(i));
    add(n->output(0));
    if (const ir::Node* clamp = foldableClamp(g, *n)) add(clamp->output(0));
  }
  return out;
}

Status insertQdq(ir::Graph& g, const QdqPlan& plan, std::vector<std::string>* quantized) {
  return QdqRewriter(g, plan).run(quantized);
}

}  // namespace edgeopt::passes
