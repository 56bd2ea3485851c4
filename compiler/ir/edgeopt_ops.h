// IR constructs that are edgeopt's own, not ONNX's. Passes create them; the reference executor
// runs them; the ONNX back end lowers them to standard ONNX on export, so an exported model
// stays valid for the checker and for ONNX Runtime.
//
// Fused activation: a Conv, ConvTranspose or Gemm node may carry the string attribute
// kFusedActivationAttr naming an activation applied to its output, with its parameters in the
// floats attribute kFusedActivationParamsAttr:
//   "Relu"        no parameters
//   "Clip"        {min, max}
//   "LeakyRelu"   {alpha}
//   "HardSigmoid" {alpha, beta}
//   "HardSwish"   no parameters
//   "Sigmoid"     no parameters
// Export re-expands it into the node followed by the standard activation op.
//
// Ops in kEdgeoptDomain:
//   Gelu(X) -> Y   Y = 0.5 * X * (1 + erf(X / sqrt(2)))   (exported as that Erf expression)
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace edgeopt::ir {

class Node;

inline constexpr const char* kEdgeoptDomain = "edgeopt";
inline constexpr const char* kFusedActivationAttr = "edgeopt_activation";
inline constexpr const char* kFusedActivationParamsAttr = "edgeopt_activation_params";

struct FusedActivation {
  std::string op;             // "Relu", "Clip", ...
  std::vector<float> params;  // as listed above
};

// The fused activation a node carries, if any.
std::optional<FusedActivation> fusedActivation(const Node& node);
void setFusedActivation(Node& node, const FusedActivation& activation);
// Ops whose output can carry a fused activation, and activations that can be fused.
bool canCarryFusedActivation(const std::string& opType);
bool isFusibleActivation(const std::string& opType);

}  // namespace edgeopt::ir
