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
std::unique_ptr<pass::Pass> makeFuseActivation();
}
