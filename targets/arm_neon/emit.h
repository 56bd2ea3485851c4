// The ARM NEON target: emits a self-contained C++ package for a quantized model — the graph
// lowered to a fixed sequence of kernel calls (generated model.cc), edgeopt's NEON kernels and the
// package runtime (copied sources), a weights file with the GEMM weights packed for both the
// dot-product (SDOT) and the ARMv8.0 (SMLAL) kernels, a CMakeLists.txt that builds natively on an
// aarch64 device or with the bundled toolchain file, a static library with a C API
// (NAME_create / NAME_run / NAME_destroy) and `model_runner IN.npy OUT.npy [--iters N]`.
//
// Input: a QDQ model lowered by prepareForExecution. Supported: QuantizeLinear / DequantizeLinear
// per tensor at the graph's float boundaries (an NCHW input is quantized into NHWC), edgeopt.QConv
// (groups 1 as NHWC im2col + GEMM; depthwise 3x3 with its own kernel; other groupings with the
// reference int8 kernel on NCHW copies), edgeopt.QGemm on 2-D data,
// edgeopt.QAdd (same shapes), global edgeopt.QAveragePool, MaxPool on int8, and Flatten / Reshape
// that keep each sample's element order; in float (NCHW): DequantizeLinear anywhere, Concat,
// Add/Sub/Mul/Div with broadcasting, Resize, and Relu, Sigmoid, Tanh, HardSigmoid, HardSwish,
// LeakyRelu, Clip. Any other node is refused with one error naming them.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"
#include "targets/target.h"

namespace edgeopt::arm_neon {

struct Package {
  std::string name;                          // C identifier prefix of the API
  std::map<std::string, std::string> files;  // relative path -> text
  std::vector<uint8_t> weights;              // weights.bin
  int64_t inputElements = 0, outputElements = 0;  // per sample
  // MACs per sample by kernel family, for the latency estimate.
  int64_t gemmMacs = 0, depthwiseMacs = 0;
  struct StepMacs {
    std::string node, op;
    int64_t gemmMacs = 0, depthwiseMacs = 0;
  };
  std::vector<StepMacs> stepMacs;  // the same per NEON-kernel step, in run order
  int64_t floatSteps = 0;   // nodes run by the float fallback (not in the estimate)
  int64_t scalarSteps = 0;  // int8 nodes run by the portable reference kernel (not in the estimate)
  int64_t arenaBytesPerSample = 0;  // the intermediates, liveness-planned (targets/common/memory_plan.h)
};

// An estimate of one sample's latency on a Cortex-A76 at 2.4 GHz, compute only: each kernel
// family's MACs divided by the MACs per cycle llvm-mca-19 gives its inner loop on the Neoverse N1
// model of the A76 core (tools/neon/mca.sh: SDOT GEMM 28.3, depthwise 3.5). Not a measurement.
double estimateLatencyMsCortexA76(const Package& package);
// The same estimate per NEON-kernel step (float and portable-reference steps are not in it).
std::vector<targets::LayerLatency> estimateLayerLatencyCortexA76(const Package& package);

// The int8 forms the emitter has (Target::runsInt8 of the arm-neon target): 2-D Conv (NEON kernels
// for groups 1 and depthwise 3x3 with dilation 1, the portable reference int8 kernel for the
// rest), Gemm/MatMul on 2-D data, Add of equal shapes, GlobalAveragePool,
// MaxPool, and Flatten/Reshape that keep each sample's element order in NHWC. Everything else in
// a QDQ model runs in float (Concat, Mul, Resize, activations, ...; see the float fallback in
// runtime/neon_runtime.h).
bool runsInt8(const ir::Node& floatNode);

// `name` must be a C identifier.
StatusOr<Package> emitPackage(const ir::Graph& lowered, const std::string& name);

// Writes the package into `dir` (created; files replaced).
Status writePackage(const Package& package, const std::string& dir);

// The kernel and runtime sources every package carries (embedded at build time).
const std::vector<std::pair<std::string, std::string>>& packageSources();

}  // namespace edgeopt::arm_neon
