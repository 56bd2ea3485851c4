// edgeopt's own default-domain opset upgrade (opset 6..16 -> kCanonicalOpset), at the ModelProto
// level, for the operators whose per-opset semantics edgeopt knows.
//
// Why not only libonnx's version converter: several of its adapters (Softmax 12->13 among them)
// need input ranks, and on real exported models (PaddleOCR's, behind Shape->Slice->Concat->Reshape
// chains) libonnx 1.12's shape inference never learns them, so conversion aborts. Every adapter here
// is exact without shapes (a rank, where known, only buys a simpler rewrite):
//   Add/Sub/Mul/Div/Pow/And/Or/Xor/Equal/Greater/Less <7  broadcast/axis attributes -> numpy
//   Gemm <7 broadcast attribute; BatchNormalization <7 is_test, <9 spatial (spatial=0 refused);
//   Dropout <7 is_test, <12 ratio attribute -> input; Slice <10 attributes -> inputs;
//   TopK <10 k attribute -> input; Clip <11 min/max attributes -> inputs; Pad <11 attributes ->
//   inputs; Resize-10 -> Resize-11+ (asymmetric coordinates, floor for nearest); Upsample -> Resize;
//   Softmax/LogSoftmax/Hardmax <13 (coerce to 2-D at `axis`) -> Flatten, op over the last axis,
//   Reshape back (or the op alone when the axis is known to be the last);
//   Split/Squeeze/Unsqueeze/ReduceSum <13 attributes -> inputs.
// Every other operator listed in opset_upgrade.cc kept its semantics from opset 6 to 17.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

#include "compiler/ir/status.h"

namespace edgeopt::onnx_io {

enum class UpgradeOutcome {
  kUpgraded,    // the model now declares the canonical default-domain opset
  kNotHandled,  // an operator (named in *reason) this upgrader has no table entry for, or an
                // opset below 6: the caller may try libonnx's converter; the model is untouched
};

// Upgrades the model's default-domain nodes (subgraphs included) from `fromOpset` to
// `toOpset` (kCanonicalOpset). Ranks are read from the value_info that shape inference left.
// Errors (kUnsupported) name the node: a construct of the old opset that has no exact
// opset-17 form (BatchNormalization spatial=0, an opset-6 broadcast whose ranks are unknown); the
// model is then partly rewritten and must not be used (import fails with the error).
StatusOr<UpgradeOutcome> upgradeOpset(onnx::ModelProto& model, int64_t fromOpset, int64_t toOpset,
                                      std::string* reason);

// Adds the rank of every Reshape output whose shape input has a known length (libonnx 1.12 leaves
// them unknown when the shape is computed at run time) as a value_info of unknown dimensions.
// Returns how many ranks it added; the caller re-runs shape inference to propagate them.
int addReshapeRanks(onnx::GraphProto& graph);

}  // namespace edgeopt::onnx_io
