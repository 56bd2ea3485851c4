// The x86 target behind the target interface: fp32 models are cleaned up (the default pass
// pipeline: BatchNorm folded, activations fused into oneDNN post-ops), then each set of input dims
// gets its own x86::Plan (targets/x86/plan.h), made on first use and kept.
// Switches (TargetOptions::switches): "own-depthwise", "own-gemm" (default true: edgeopt's int8
// kernels; false: oneDNN's, for comparison).
#pragma once

#include "targets/target.h"

namespace edgeopt::targets {
const Target& x86Target();
}
