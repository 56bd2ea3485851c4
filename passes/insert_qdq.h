// insert_qdq: rewrites a float graph into the QDQ form of the int8 arithmetic in
// kernels/ref/quant.h, given each activation tensor's int8 parameters (from calibration).
//
// Walking the graph in order, for every Conv, Gemm and MatMul with constant float weights that is not excluded and whose
// activation input and output have parameters:
//   - the activation input gets QuantizeLinear -> DequantizeLinear (one pair per tensor, shared by
//     all consumers; an input that already comes out of a DequantizeLinear is left as is);
//   - weights become an int8 initializer (symmetric, per output channel unless perTensorWeights,
//     values in [-127, 127]) behind a DequantizeLinear;
//   - the bias becomes an int32 initializer at scale input_scale * weight_scale behind a
//     DequantizeLinear;
//   - the output gets QuantizeLinear -> DequantizeLinear, and its consumers read the latter; a
//     fused Relu/Clip whose range contains the output's int8 range is dropped (the saturation of
//     QuantizeLinear computes it), leaving the DQ -> op -> Q pattern ONNX Runtime fuses.
// Then the weightless ops with an int8 form, when all their activation inputs have parameters:
//   - Add, Mul, Concat, AveragePool, GlobalAveragePool: inputs through Q -> DQ as above, output
//     Q -> DQ at its calibrated parameters; a Relu (or constant Clip) that only follows an Add/Mul
//     and whose output encoding lies within its range is dropped and its parameters go to the
//     Add/Mul output;
//   - MaxPool (4-D, no indices), Flatten, Reshape, nearest Resize fed by a DequantizeLinear: data movement,
//     output Q -> DQ at the input's parameters, so that int8 passes through unchanged.
// Activation tensors are stored as uint8 with zero point + 128 (the same values as the int8
// encoding; the form ONNX Runtime's x86 int8 kernels take). Everything else stays float. The
// result is standard ONNX (opset 13+ per-axis Q/DQ) that ONNX
// Runtime runs and fuses into its int8 kernels, and that lower_qdq turns into edgeopt's int8 ops.
// Preserves: graph input and output names.
#pragma once

#include <map>
#include <set>
#include <string>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"

namespace edgeopt::passes {

struct ActivationQuant {
  float scale = 1.0f;
  int32_t zeroPoint = 0;
};

struct QdqPlan {
  std::map<std::string, ActivationQuant> activations;  // by value name
  std::set<std::string> excludedNodes;                 // node names kept in float
  bool perTensorWeights = false;
};

// The nodes insert_qdq would quantize (Conv/Gemm/MatMul with constant float weights), in order.
std::vector<const ir::Node*> quantizableNodes(const ir::Graph& g);

// The nodes insertQdq decides to put in int8 (quantizableNodes, then the weightless Add, Mul,
// Concat and pooling ops); data movement (MaxPool, Flatten, Reshape, nearest Resize) follows its input.
std::vector<const ir::Node*> int8CandidateNodes(const ir::Graph& g);

// The Relu or constant-bound Clip insertQdq may fold into an Add or Mul (their only consumer, not
// a graph output; folded when the int8 encoding of its calibrated range lies within its bounds, for
// Relu when that range starts at zero), or null. Its output is then what the int8 output encodes.
const ir::Node* foldableClamp(const ir::Graph& g, const ir::Node& n);

// The float activations whose calibrated parameters insertQdq may use: the inputs and outputs of
// the quantizable nodes and of the weightless int8 ops, and foldable Relus.
std::vector<const ir::Value*> calibratedValues(const ir::Graph& g);

// Rewrites g; *quantized receives the names of the nodes now in int8.
Status insertQdq(ir::Graph& g, const QdqPlan& plan, std::vector<std::string>* quantized);

}  // namespace edgeopt::passes
