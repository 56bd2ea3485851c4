// Running a model on a target: `--target ref` (the reference executor, the numerical definition)
// or `--target x86` (the oneDNN plan of targets/x86), or `--target arm-neon` (the emitted NEON
// package, cross-built and run under qemu-aarch64; int8 QDQ models only). The runner works on its own copy of the
// model: QDQ models are lowered to int8 ops (prepareForExecution); for x86, fp32 models first go
// through the cleanup pipeline (BatchNorm folding, activation fusion), which changes results
// only by float rounding. The x86 target plans once per set of input dims and reuses the plan.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"

namespace edgeopt::x86 {
class Plan;
}

namespace edgeopt::api {

enum class Target { kRef, kX86, kArmNeon };

// "ref", "x86" or "arm-neon"; the error lists the available targets.
StatusOr<Target> parseTarget(const std::string& name);
const char* targetName(Target t);

struct RunnerOptions {
  Target target = Target::kRef;
  int threads = 1;  // x86: oneDNN threads
  std::string qemuCpu = "cortex-a76";  // arm-neon: the CPU qemu-aarch64 emulates
  bool ownDepthwise = true;  // x86: edgeopt's int8 depthwise 3x3 kernel (false: oneDNN's)
  bool ownGemm = true;  // x86: edgeopt's fused-output int8 GEMM for convolutions and matrix products where it applies (false: oneDNN's)
};
// A target's options with edgeopt's own kernels.
inline RunnerOptions runnerOptionsFor(Target target, int threads = 1, std::string qemuCpu = "cortex-a76") {
  RunnerOptions o;
  o.target = target;
  o.threads = threads;
  o.qemuCpu = std::move(qemuCpu);
  return o;
}

class ModelRunner {
 public:
  // Checks that every node can run (one error listing all).
  static StatusOr<std::unique_ptr<ModelRunner>> create(const ir::Model& model, const RunnerOptions& options);
  ~ModelRunner();

  // Inputs in the order of the graph inputs; outputs in the order of the graph outputs.
  StatusOr<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs);

  // x86: the plan for these input dims (made now if new), for profiles; null for ref.
  StatusOr<x86::Plan*> planFor(const std::vector<std::vector<int64_t>>& inputDims);

  struct Impl;

 private:
  explicit ModelRunner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgeopt::api
