#include "compiler/ir/edgeopt_ops.h"

#include "compiler/ir/ir.h"

namespace edgeopt::ir {

std::optional<FusedActivation> fusedActivation(const Node& node) {
  const Attribute* a = node.attr(kFusedActivationAttr);
  if (!a || a->kind() != Attribute::Kind::kString) return std::nullopt;
  return FusedActivation{a->s(), node.attrFloats(kFusedActivationParamsAttr)};
}

void setFusedActivation(Node& node, const FusedActivation& activation) {
  node.setAttr(kFusedActivationAttr, activation.op);
  if (activation.params.empty()) node.removeAttr(kFusedActivationParamsAttr);
  else node.setAttr(kFusedActivationParamsAttr, activation.params);
}

bool canCarryFusedActivation(const std::string& opType) {
  return opType == "Conv" || opType == "ConvTranspose" || opType == "Gemm";
}

bool isFusibleActivation(const std::string& opType) {
  return opType == "Relu" || opType == "Clip" || opType == "LeakyRelu" || opType == "HardSigmoid" ||
         opType == "HardSwish" || opType == "Sigmoid";
}

}  // namespace edgeopt::ir
