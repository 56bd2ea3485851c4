#include "targets/ref/ref_target.h"

#include "compiler/runtime/executor.h"

namespace edgeopt::targets {
namespace {

class RefExecutable : public Executable {
 public:
  RefExecutable(ir::Model model, std::unique_ptr<runtime::Executor> executor)
      : model_(std::move(model)), executor_(std::move(executor)) {}
  StatusOr<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs) override { return executor_->run(inputs); }

 private:
  ir::Model model_;  // the executor reads this graph
  std::unique_ptr<runtime::Executor> executor_;
};

class RefTarget : public Target {
 public:
  const TargetInfo& info() const override {
    static const TargetInfo info{"ref", "edgeopt's reference executor (scalar kernels: the numerical definition)",
                                 true, true, false};
    return info;
  }
  StatusOr<std::unique_ptr<Executable>> load(const ir::Model& prepared, const TargetOptions&) const override {
    ir::Model copy = ir::cloneModel(prepared);
    EDGEOPT_ASSIGN_OR_RETURN(auto executor, runtime::Executor::create(*copy.graph));
    return std::unique_ptr<Executable>(new RefExecutable(std::move(copy), std::move(executor)));
  }
};

}  // namespace

const Target& refTarget() {
  static const RefTarget target;
  return target;
}

}  // namespace edgeopt::targets
