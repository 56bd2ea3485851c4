#include "compiler/api/runner.h"

#include "compiler/api/arm_neon_package.h"
#include "compiler/api/optimize.h"
#include "compiler/api/quantize.h"
#include "compiler/runtime/executor.h"
#include "compiler/ir/edgeopt_ops.h"
#include "passes/lower_qdq.h"
#include "targets/x86/plan.h"

namespace edgeopt::api {

StatusOr<Target> parseTarget(const std::string& name) {
  if (name == "ref") return Target::kRef;
  if (name == "x86") return Target::kX86;
  if (name == "arm-neon") return Target::kArmNeon;
  return invalidInput("unknown target '" + name + "' (available: ref, x86, arm-neon)");
}

const char* targetName(Target t) {
  return t == Target::kX86 ? "x86" : t == Target::kArmNeon ? "arm-neon" : "ref";
}

struct ModelRunner::Impl {
  ir::Model model;  // the runner's own copy, prepared for its target
  RunnerOptions options;
  std::unique_ptr<runtime::Executor> executor;
  std::map<std::vector<std::vector<int64_t>>, std::unique_ptr<x86::Plan>> plans;
  std::unique_ptr<NeonPackageRunner> neon;
};

ModelRunner::ModelRunner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ModelRunner::~ModelRunner() = default;

StatusOr<std::unique_ptr<ModelRunner>> ModelRunner::create(const ir::Model& model, const RunnerOptions& options) {
  if (options.threads < 1) return invalidInput("--threads must be at least 1");
  auto impl = std::make_unique<Impl>(Impl{ir::cloneModel(model), options, nullptr, {}, nullptr});
  // x86 runs fp32 graphs cleaned up (BatchNorm folded, activations fused into oneDNN post-ops);
  // QDQ models were cleaned up by quantize before their Q/DQ went in.
  bool int8 = passes::hasQdq(*impl->model.graph);
  for (const ir::Node* n : impl->model.graph->nodes()) int8 = int8 || n->domain() == ir::kEdgeoptDomain;
  if (options.target == Target::kX86 && !int8) {
    OptimizeReport report;
    EDGEOPT_RETURN_IF_ERROR(optimize(impl->model, {}, &report));
  }
  if (options.target == Target::kArmNeon && !int8)
    return invalidInput("--target arm-neon runs int8 models: quantize first (edgeopt quantize, or compile --calib)");
  EDGEOPT_RETURN_IF_ERROR(prepareForExecution(impl->model));
  if (options.target == Target::kArmNeon) {
    EDGEOPT_ASSIGN_OR_RETURN(impl->neon, NeonPackageRunner::create(*impl->model.graph, "model", options.qemuCpu));
  }
  // Both targets run every node the reference executor runs (x86 falls back to it).
  EDGEOPT_ASSIGN_OR_RETURN(impl->executor, runtime::Executor::create(*impl->model.graph));
  return std::unique_ptr<ModelRunner>(new ModelRunner(std::move(impl)));
}

StatusOr<x86::Plan*> ModelRunner::planFor(const std::vector<std::vector<int64_t>>& inputDims) {
  if (impl_->options.target != Target::kX86) return static_cast<x86::Plan*>(nullptr);
  auto it = impl_->plans.find(inputDims);
  if (it != impl_->plans.end()) return it->second.get();
  x86::PlanOptions o;
  o.threads = impl_->options.threads;
  o.ownDepthwise = impl_->options.ownDepthwise;
  o.ownGemm = impl_->options.ownGemm;
  EDGEOPT_ASSIGN_OR_RETURN(auto plan, x86::Plan::create(*impl_->model.graph, inputDims, o));
  x86::Plan* p = plan.get();
  impl_->plans[inputDims] = std::move(plan);
  return p;
}

StatusOr<std::vector<ir::Tensor>> ModelRunner::run(const std::vector<ir::Tensor>& inputs) {
  if (impl_->options.target == Target::kRef) return impl_->executor->run(inputs);
  if (impl_->options.target == Target::kArmNeon) {
    if (inputs.size() != 1) return invalidInput("--target arm-neon runs single-input models");
    EDGEOPT_RETURN_IF_ERROR(runtime::Executor::checkInput(*impl_->model.graph->inputs()[0], inputs[0]));
    EDGEOPT_ASSIGN_OR_RETURN(ir::Tensor out, impl_->neon->run(inputs[0]));
    return std::vector<ir::Tensor>{std::move(out)};
  }
  const auto& graphInputs = impl_->model.graph->inputs();
  if (inputs.size() != graphInputs.size())
    return invalidInput("expected " + std::to_string(graphInputs.size()) + " inputs, got " + std::to_string(inputs.size()));
  std::vector<std::vector<int64_t>> dims;
  for (size_t i = 0; i < inputs.size(); ++i) {
    EDGEOPT_RETURN_IF_ERROR(runtime::Executor::checkInput(*graphInputs[i], inputs[i]));
    dims.push_back(inputs[i].dims());
  }
  EDGEOPT_ASSIGN_OR_RETURN(x86::Plan * plan, planFor(dims));
  return plan->run(inputs);
}

}  // namespace edgeopt::api
