#include "compiler/api/runner.h"

#include "compiler/api/quantize.h"

namespace edgeopt::api {

ModelRunner::~ModelRunner() = default;

StatusOr<std::unique_ptr<ModelRunner>> ModelRunner::create(const ir::Model& model, const RunnerOptions& options) {
  EDGEOPT_ASSIGN_OR_RETURN(const targets::Target* target, targets::find(options.target));
  if (options.threads < 1) return invalidInput("--threads must be at least 1");
  ir::Model prepared = ir::cloneModel(model);
  EDGEOPT_RETURN_IF_ERROR(prepareForExecution(prepared));
  targets::TargetOptions to;
  to.threads = options.threads;
  to.cpu = options.cpu;
  to.switches = options.switches;
  EDGEOPT_ASSIGN_OR_RETURN(auto executable, target->load(prepared, to));
  return std::unique_ptr<ModelRunner>(new ModelRunner(target, std::move(executable)));
}

StatusOr<std::vector<ir::Tensor>> ModelRunner::run(const std::vector<ir::Tensor>& inputs) {
  return executable_->run(inputs);
}

}  // namespace edgeopt::api
