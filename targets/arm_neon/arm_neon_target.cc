#include "targets/arm_neon/arm_neon_target.h"

#include <filesystem>

#include "compiler/ir/edgeopt_ops.h"
#include "compiler/runtime/executor.h"
#include "targets/arm_neon/emit.h"
#include "targets/arm_neon/qemu_runner.h"

namespace edgeopt::targets {
namespace {

class ArmNeonExecutable : public Executable {
 public:
  ArmNeonExecutable(ir::Model model, std::unique_ptr<arm_neon::NeonPackageRunner> runner)
      : model_(std::move(model)), runner_(std::move(runner)) {}
  StatusOr<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs) override {
    if (inputs.size() != 1) return invalidInput("--target arm-neon runs single-input models");
    EDGEOPT_RETURN_IF_ERROR(runtime::Executor::checkInput(*model_.graph->inputs()[0], inputs[0]));
    EDGEOPT_ASSIGN_OR_RETURN(ir::Tensor out, runner_->run(inputs[0]));
    return std::vector<ir::Tensor>{std::move(out)};
  }

 private:
  ir::Model model_;
  std::unique_ptr<arm_neon::NeonPackageRunner> runner_;
};

class ArmNeonTarget : public Target {
 public:
  const TargetInfo& info() const override {
    static const TargetInfo info{"arm-neon", "emitted C++ package of NEON kernels for aarch64 (int8; run here under qemu)",
                                 false, true, true, /*emulatesCpu=*/true, /*channelMultiple=*/8,
                                 /*singleFloatInputOutput=*/true};
    return info;
  }
  Status available() const override { return arm_neon::neonToolsAvailable(); }
  bool runsInt8(const ir::Node& node) const override { return arm_neon::runsInt8(node); }
  StatusOr<Artifact> emit(const ArtifactInputs& models, const std::string& outDir) const override {
    if (!models.int8) return invalidInput("arm-neon runs int8 models only: give calibration data (--calib)");
    EDGEOPT_ASSIGN_OR_RETURN(arm_neon::Package pkg, arm_neon::emitPackage(*models.int8->graph, "model"));
    const std::string dir = outDir + "/arm_neon";
    EDGEOPT_RETURN_IF_ERROR(arm_neon::writePackage(pkg, dir));
    Artifact a;
    a.folder = "arm_neon";
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
      if (entry.is_regular_file()) a.bytes += static_cast<int64_t>(entry.file_size());
    a.packedWeightBytes = static_cast<int64_t>(pkg.weights.size());
    a.arenaBytes = pkg.arenaBytesPerSample;
    a.estimatedLatencyMs = arm_neon::estimateLatencyMsCortexA76(pkg);
    a.estimatedLayers = arm_neon::estimateLayerLatencyCortexA76(pkg);
    a.note = "latency: estimate for one sample on a Cortex-A76 at 2.4 GHz from llvm-mca kernel throughputs (compute only)";
    if (pkg.floatSteps + pkg.scalarSteps > 0)
      a.note += "; not in the estimate: " + std::to_string(pkg.floatSteps) + " step(s) run in float and " +
                std::to_string(pkg.scalarSteps) + " int8 step(s) run by the portable reference kernel";
    return a;
  }
  StatusOr<std::unique_ptr<Executable>> load(ir::Model copy, const TargetOptions& options) const override {
    bool int8 = false;
    for (const ir::Node* n : copy.graph->nodes()) int8 = int8 || n->domain() == ir::kEdgeoptDomain;
    if (!int8) return invalidInput("--target arm-neon runs int8 models: quantize first (edgeopt quantize, or compile --calib)");
    EDGEOPT_RETURN_IF_ERROR(runtime::Executor::create(*copy.graph).status());
    EDGEOPT_ASSIGN_OR_RETURN(auto runner, arm_neon::NeonPackageRunner::create(*copy.graph, "model",
                                                                              options.cpu.empty() ? "cortex-a76" : options.cpu,
                                                                              options.artifactDir));
    return std::unique_ptr<Executable>(new ArmNeonExecutable(std::move(copy), std::move(runner)));
  }
};

}  // namespace

const Target& armNeonTarget() {
  static const ArmNeonTarget target;
  return target;
}

}  // namespace edgeopt::targets
