// fuse_activation: moves an activation into the Conv, ConvTranspose or Gemm that feeds it, as
// the IR's fused-activation attribute (compiler/ir/edgeopt_ops.h), which targets lower into one
// kernel and ONNX export re-expands.
//
// Fires on Relu, Clip (constant or absent min/max), LeakyRelu, HardSigmoid, HardSwish and
// Sigmoid on float32 whose input comes from such a node with no other use and no fused activation.
// Preserves: numerics exactly (the same scalar function is applied); graph input/output names.
// Needs: fold_batchnorm earlier in the pipeline: a BatchNormalization between the producer and the
// activation blocks fusion, and once an activation is fused the BatchNormalization can no longer
// fold into the producer.
#pragma once

#include "compiler/pass/pass.h"

namespace edgeopt::passes {

// Which activations fuse_activation moves into their producer.
enum class FusibleActivations {
  kAll,         // every activation listed above (the registered "fuse_activation")
  kInt8Bounds,  // Relu and Clip only: the ones an int8 output range computes (quantization)
};

std::unique_ptr<pass::Pass> makeFuseActivation(FusibleActivations which = FusibleActivations::kAll);

// Undoes fuse_activation for the fused activations `keep` does not cover: the node then writes a
// fresh value, and a standard activation node after it writes the node's old output value (same
// name, same consumers). Quantization uses it so that a Conv followed by HardSwish or Sigmoid runs
// in int8 with the activation in float after it. Returns how many it split.
size_t splitFusedActivations(ir::Graph& g, FusibleActivations keep);

}  // namespace edgeopt::passes
