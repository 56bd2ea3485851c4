#include "passes/activation_storage.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "compiler/ir/edgeopt_ops.h"
#include "passes/rewrite_utils.h"

namespace edgeopt::passes {
namespace {

bool isEightBit(ir::DType t) { return t == ir::DType::kInt8 || t == ir::DType::kUInt8; }

bool isQuantizeOp(const ir::Node& n, const char* op) { return n.domain().empty() && n.opType() == op; }

// edgeopt int8 ops with an activation input and output (passes/lower_qdq.h).
bool isInt8Op(const ir::Node& n) {
  static const std::set<std::string> ops = {"QConv", "QGemm", "QAdd", "QMul", "QAveragePool", "QRequantize"};
  return n.domain() == ir::kEdgeoptDomain && ops.count(n.opType());
}

// Ops that move 8-bit values without arithmetic: they run on either storage alike.
bool isDataMovement(const ir::Node& n) {
  static const std::set<std::string> ops = {"MaxPool", "Concat", "Reshape", "Flatten", "Resize", "Identity",
                                            "Squeeze", "Unsqueeze", "Transpose"};
  return n.domain().empty() && ops.count(n.opType()) && n.outputs().size() == 1;
}

// The activation operands of an op that the storage applies to (not weights, shapes, scales).
bool isActivationOperand(const ir::Node& n, size_t i) {
  if (isQuantizeOp(n, "DequantizeLinear")) return i == 0;
  if (isInt8Op(n)) return n.opType() == "QAdd" || n.opType() == "QMul" ? i < 2 : i == 0;
  if (isDataMovement(n)) return n.opType() == "Concat" || i == 0;
  return false;
}

const ir::Tensor* scalarZeroPoint(const ir::Node& n) {
  const ir::Value* z = n.inputs().size() > 2 ? n.input(2) : nullptr;
  const ir::Tensor* t = z ? constantOf(z) : nullptr;
  return t && t->numel() == 1 && isEightBit(t->dtype()) ? t : nullptr;
}

}  // namespace

int64_t setActivationStorage(ir::Graph& g, ir::DType to) {
  const ir::DType from = to == ir::DType::kInt8 ? ir::DType::kUInt8 : ir::DType::kInt8;
  // Candidates: values in `from` with a convertible producer and consumers.
  std::set<const ir::Value*> convert;
  for (const ir::Node* n : g.nodes()) {
    const bool producer = (isQuantizeOp(*n, "QuantizeLinear") && scalarZeroPoint(*n)) || isInt8Op(*n) || isDataMovement(*n);
    if (!producer || n->outputs().empty()) continue;
    const ir::Value* v = n->output(0);
    if (!v || v->dtype() != from || v->isGraphInput() || isGraphOutput(g, v)) continue;
    bool consumersOk = !v->uses().empty();
    for (const ir::Use& u : v->uses()) {
      const ir::Node& c = *u.node;
      const bool dq = isQuantizeOp(c, "DequantizeLinear") && scalarZeroPoint(c);
      consumersOk = consumersOk && (dq || isInt8Op(c) || isDataMovement(c)) && isActivationOperand(c, u.inputIndex);
    }
    if (consumersOk) convert.insert(v);
  }
  // A data-movement op converts all its 8-bit operands and its result, or none of them.
  for (bool changed = true; changed;) {
    changed = false;
    for (const ir::Node* n : g.nodes()) {
      if (!isDataMovement(*n)) continue;
      std::vector<const ir::Value*> eight;
      for (size_t i = 0; i < n->inputs().size(); ++i)
        if (n->input(i) && isActivationOperand(*n, i) && isEightBit(n->input(i)->dtype())) eight.push_back(n->input(i));
      if (isEightBit(n->output(0)->dtype())) eight.push_back(n->output(0));
      const size_t in = static_cast<size_t>(std::count_if(eight.begin(), eight.end(), [&](const ir::Value* v) { return convert.count(v); }));
      if (in != 0 && in != eight.size()) {
        for (const ir::Value* v : eight) convert.erase(v);
        changed = true;
      }
    }
  }
  if (convert.empty()) return 0;
  const int32_t shift = to == ir::DType::kUInt8 ? 128 : -128;
  std::map<int32_t, ir::Value*> zeroPoints;  // new zero-point constants, by value
  auto zeroPointConstant = [&](int32_t value) {
    if (auto it = zeroPoints.find(value); it != zeroPoints.end()) return it->second;
    ir::Tensor t(to, {});
    if (to == ir::DType::kUInt8) t.data<uint8_t>()[0] = static_cast<uint8_t>(value);
    else t.data<int8_t>()[0] = static_cast<int8_t>(value);
    ir::Value* v = g.addInitializer(g.uniqueName(std::string("zero_point_") + (to == ir::DType::kUInt8 ? "u8_" : "s8_") +
                                                 std::to_string(value)),
                                    std::move(t));
    zeroPoints[value] = v;
    return v;
  };
  for (ir::Node* n : g.nodes()) {
    const bool q = isQuantizeOp(*n, "QuantizeLinear"), dq = isQuantizeOp(*n, "DequantizeLinear");
    const ir::Value* data = q ? n->output(0) : dq ? n->input(0) : nullptr;
    if (data && convert.count(data)) {
      const int32_t zp = static_cast<int32_t>(scalarZeroPoint(*n)->getAsInt64(0));
      n->setInput(2, zeroPointConstant(zp + shift));
    }
    if (isInt8Op(*n)) {
      if (convert.count(n->input(0))) {
        if (to == ir::DType::kUInt8) n->setAttr("x_uint8", int64_t{1});
        else n->removeAttr("x_uint8");
      }
      if (convert.count(n->output(0))) {
        if (to == ir::DType::kUInt8) n->setAttr("y_uint8", int64_t{1});
        else n->removeAttr("y_uint8");
      }
    }
  }
  for (const ir::Value* v : convert) const_cast<ir::Value*>(v)->setDType(to);
  g.removeUnusedValues();
  return static_cast<int64_t>(convert.size());
}

}  // namespace edgeopt::passes
