// Running a model on a target, by name (targets/target.h lists them: `ref`, the reference executor
// and numerical definition; `x86`, oneDNN and edgeopt's AVX-512 kernels; `arm-neon`, the emitted
// NEON package under qemu-aarch64, int8 only). The runner works on its own copy of the model: QDQ
// models are lowered to int8 ops (prepareForExecution) before the target loads them.
#pragma once

#include <map>
#include <set>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"
#include "targets/target.h"

namespace edgeopt::api {

struct RunnerOptions {
  std::string target = "ref";   // a name from targets::registry()
  int threads = 1;              // x86: oneDNN threads
  std::string cpu;              // emulated targets: the CPU to emulate (arm-neon: cortex-a76, cortex-a53)
  std::map<std::string, bool> switches;  // target-specific (x86: "own-depthwise", "own-gemm")
  std::string artifactDir;      // the target's artifact for this model, when compile wrote one
  // Rank-4 inputs/outputs exchanged in NHWC order (targets::TargetOptions::channelsLast); only
  // for targets with TargetInfo::channelsLastIo (create() refuses it elsewhere).
  std::set<std::string> channelsLast;
};
inline RunnerOptions runnerOptionsFor(std::string target, int threads = 1, std::string cpu = "") {
  RunnerOptions o;
  o.target = std::move(target);
  o.threads = threads;
  o.cpu = std::move(cpu);
  return o;
}

class ModelRunner {
 public:
  // Checks the target name and that every node can run (one error listing all).
  static StatusOr<std::unique_ptr<ModelRunner>> create(const ir::Model& model, const RunnerOptions& options);
  ~ModelRunner();

  // Inputs in the order of the graph inputs; outputs in the order of the graph outputs.
  StatusOr<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs);

  const targets::Target& target() const { return *target_; }
  // Per-step profiles and memory figures of the loaded model.
  targets::Executable& executable() { return *executable_; }

 private:
  ModelRunner(const targets::Target* target, std::unique_ptr<targets::Executable> executable)
      : target_(target), executable_(std::move(executable)) {}
  const targets::Target* target_;
  std::unique_ptr<targets::Executable> executable_;
};

// Runs `inputs` in slices of at most maxBatch samples along the first dimension and stacks the
// outputs, so that a target's memory (and its plan) follows maxBatch, not the number of samples.
// Applies when `graph` (the model the runner was made from) has one input whose first dimension is
// symbolic and every output's first dimension follows it; otherwise it is one run.
StatusOr<std::vector<ir::Tensor>> runInBatches(ModelRunner& runner, const ir::Graph& graph,
                                               const std::vector<ir::Tensor>& inputs, int64_t maxBatch);

}  // namespace edgeopt::api
