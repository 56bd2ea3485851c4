#include "passes/insert_qdq.h"

#include <algorithm>
#include <cmath>
#include <limits>

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

// Q -> DQ on an activation; returns the DequantizeLinear output.
ir::Value* quantizeActivation(ir::Graph& g, ir::Value* x, const ActivationQuant& q, ir::Node* before) {
  ir::Node* quant = addQ(g, x, q, before, x->name());
  ir::Node* dq = addDQ(g, quant->output(0), quant->input(1), quant->input(2), -1, x->shape(), before, x->name());
  return dq->output(0);
}

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

Status insertQdq(ir::Graph& g, const QdqPlan& plan, std::vector<std::string>* quantized) {
  std::map<const ir::Value*, ir::Value*> dequantized;  // float activation -> its DQ output
  for (const ir::Node* cn : quantizableNodes(g)) {
    ir::Node* n = const_cast<ir::Node*>(cn);
    if (plan.excludedNodes.count(n->name())) continue;
    ir::Value* x = n->input(0);
    ir::Value* y = n->output(0);
    const bool xIsDq = x->producer() && x->producer()->opType() == "DequantizeLinear";
    auto xq = plan.activations.find(xIsDq ? x->producer()->input(0)->name() : x->name());
    auto yq = plan.activations.find(y->name());
    if ((!xIsDq && xq == plan.activations.end()) || yq == plan.activations.end()) continue;
    if (n->opType() == "Gemm" && (n->attrInt("transA", 0) || n->attrFloat("alpha", 1.0f) != 1.0f ||
                                  (n->input(2) && n->attrFloat("beta", 1.0f) != 1.0f)))
      continue;
    if (n->opType() == "Gemm" && n->input(2) && constantOf(n->input(2))->rank() > 1) continue;

    // Input activation.
    float xScale;
    if (xIsDq) {
      const ir::Tensor* s = constantOf(x->producer()->input(1));
      if (!s || s->numel() != 1) continue;
      xScale = static_cast<float>(s->getAsDouble(0));
    } else {
      xScale = xq->second.scale;
      auto it = dequantized.find(x);
      ir::Value* dq = it != dequantized.end() ? it->second : quantizeActivation(g, x, xq->second, n);
      dequantized[x] = dq;
      n->setInput(0, dq);
    }

    // Weights: symmetric int8 per output channel (or per tensor).
    const ir::Tensor& w = *floatWeights(*n);
    const int64_t axis = outputChannelAxis(*n);
    const int64_t channels = w.dims()[static_cast<size_t>(axis)];
    const int64_t inner = axis == 0 ? w.numel() / channels : 1;
    std::vector<float> wScale(static_cast<size_t>(channels), 0.0f);
    for (int64_t i = 0; i < w.numel(); ++i) {
      const int64_t c = axis == 0 ? i / inner : i % channels;
      wScale[static_cast<size_t>(c)] = std::max(wScale[static_cast<size_t>(c)], std::fabs(w.data<float>()[i]));
    }
    if (plan.perTensorWeights) {
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
    const std::string base = n->name();
    ir::Value* wqv = g.addInitializer(g.uniqueName(base + "_weight_int8"), std::move(wq));
    ir::Value* wsv = plan.perTensorWeights
                         ? g.addInitializer(g.uniqueName(base + "_weight_scale"), ir::Tensor::scalar<float>(wScale[0]))
                         : g.addInitializer(g.uniqueName(base + "_weight_scale"), ir::Tensor::fromVector<float>({channels}, wScale));
    ir::Node* wdq = addDQ(g, wqv, wsv, nullptr, plan.perTensorWeights ? -1 : axis, n->input(1)->shape(), n, base + "_weight");
    n->setInput(1, wdq->output(0));

    // Bias: int32 at input_scale * weight_scale.
    if (const ir::Tensor* b = n->input(2) ? constantOf(n->input(2)) : nullptr) {
      if (b->numel() != channels && b->numel() != 1) continue;
      std::vector<float> bScale(static_cast<size_t>(channels));
      ir::Tensor bq(ir::DType::kInt32, {channels});
      for (int64_t c = 0; c < channels; ++c) {
        bScale[static_cast<size_t>(c)] = xScale * wScale[static_cast<size_t>(c)];
        const double v = std::nearbyint(b->getAsDouble(b->numel() == 1 ? 0 : c) / bScale[static_cast<size_t>(c)]);
        bq.data<int32_t>()[c] = static_cast<int32_t>(std::clamp<double>(v, std::numeric_limits<int32_t>::min(),
                                                                       std::numeric_limits<int32_t>::max()));
      }
      ir::Value* bqv = g.addInitializer(g.uniqueName(base + "_bias_int32"), std::move(bq));
      ir::Value* bsv = g.addInitializer(g.uniqueName(base + "_bias_scale"), ir::Tensor::fromVector<float>({channels}, bScale));
      ir::Node* bdq = addDQ(g, bqv, bsv, nullptr, 0, std::vector<ir::Dim>{ir::Dim(channels)}, n, base + "_bias");
      n->setInput(2, bdq->output(0));
    }

    // A fused Relu/Clip whose range contains the output's int8 range is what the
    // QuantizeLinear's saturation does anyway: drop it, so the export is DQ -> Conv -> Q, the
    // pattern ONNX Runtime fuses into its int8 kernels (an activation in between blocks that).
    if (auto act = ir::fusedActivation(*n); act && (act->op == "Relu" || act->op == "Clip")) {
      const ActivationQuant& oq = yq->second;
      const double qlo = (-128.0 - oq.zeroPoint) * oq.scale, qhi = (127.0 - oq.zeroPoint) * oq.scale;
      const double alo = act->op == "Relu" ? 0.0 : act->params[0];
      const double ahi = act->op == "Relu" ? INFINITY : act->params[1];
      if (qlo >= alo - 1e-6 * std::fabs(alo) && qhi <= ahi + 1e-6 * std::fabs(ahi)) {
        n->removeAttr(ir::kFusedActivationAttr);
        n->removeAttr(ir::kFusedActivationParamsAttr);
      }
    }

    // Output activation: consumers (and graph outputs) read Q -> DQ.
    ir::Node* after = nullptr;
    auto order = g.nodes();
    auto pos = std::find(order.begin(), order.end(), n);
    if (pos + 1 != order.end()) after = *(pos + 1);
    const std::vector<ir::Use> uses = y->uses();
    ir::Node* quant = addQ(g, y, yq->second, after, y->name());
    ir::Node* dq = addDQ(g, quant->output(0), quant->input(1), quant->input(2), -1, y->shape(), after, y->name());
    for (const ir::Use& u : uses) u.node->setInput(u.inputIndex, dq->output(0));
    dequantized[y] = dq->output(0);
    if (isGraphOutput(g, y)) {
      // The graph output keeps its name: it now names the DequantizeLinear output.
      std::vector<ir::Value*> outs = g.outputs();
      for (auto& o : outs)
        if (o == y) o = dq->output(0);
      g.setOutputs(outs);
      const std::string name = y->name();
      const std::string tmp = g.uniqueName(name + "_float");
      g.renameValue(y, tmp);
      g.renameValue(dq->output(0), name);
    }
    quantized->push_back(n->name());
  }
  removeDeadNodes(g);
  g.removeUnusedValues();
  return Status::Ok();
}

}  // namespace edgeopt::passes
