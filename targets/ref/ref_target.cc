#include "targets/ref/ref_target.h"

#include "compiler/runtime/executor.h"

namespace edgeopt::targets {
namespace {

class RefExecutable : public Executable {
 public:
  RefExecutable(ir::Model model, std::unique_ptr<runtime::Executor> executor, std::set<std::string> observed)
      : model_(std::move(model)), executor_(std::move(executor)), observed_(std::move(observed)) {}
  StatusOr<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs) override { return executor_->run(inputs); }
  StatusOr<std::vector<ir::Tensor>> runObserving(const std::vector<ir::Tensor>& inputs, const Observer& observer) override {
    return executor_->run(inputs, [&](const ir::Value& v, const ir::Tensor& t) {
      if (t.dtype() == ir::DType::kFloat32 && observed_.count(v.name())) observer(v.name(), t.data<float>(), t.numel());
    });
  }

 private:
  ir::Model model_;  // the executor reads this graph
  std::unique_ptr<runtime::Executor> executor_;
  std::set<std::string> observed_;
};

class RefTarget : public Target {
 public:
  const TargetInfo& info() const override {
    static const TargetInfo info{"ref", "edgeopt's reference executor (scalar kernels: the numerical definition)",
                                 true, true, false};
    return info;
  }
  StatusOr<std::unique_ptr<Executable>> load(ir::Model prepared, const TargetOptions& options) const override {
    EDGEOPT_ASSIGN_OR_RETURN(auto executor, runtime::Executor::create(*prepared.graph));
    return std::unique_ptr<Executable>(new RefExecutable(std::move(prepared), std::move(executor), options.observed));
  }
};

}  // namespace

const Target& refTarget() {
  static const RefTarget target;
  return target;
}

}  // namespace edgeopt::targets
