// An Executable that runs a prepared model with edgeopt's reference executor (compiler/runtime):
// the ref target's, and that of targets whose results equal the reference by construction
// (fpga-hls, whose emitted design reproduces it bit for bit). Header-only, for targets to share.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "compiler/runtime/executor.h"
#include "targets/target.h"

namespace edgeopt::targets {

class ReferenceExecutable final : public Executable {
 public:
  // The model owns the graph the executor reads. `observed`: the float values runObserving shows.
  static StatusOr<std::unique_ptr<Executable>> create(ir::Model prepared, std::set<std::string> observed = {}) {
    EDGEOPT_ASSIGN_OR_RETURN(auto executor, runtime::Executor::create(*prepared.graph));
    return std::unique_ptr<Executable>(new ReferenceExecutable(std::move(prepared), std::move(executor), std::move(observed)));
  }
  StatusOr<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs) override { return executor_->run(inputs); }
  StatusOr<std::vector<ir::Tensor>> runObserving(const std::vector<ir::Tensor>& inputs, const Observer& observer) override {
    return executor_->run(inputs, [&](const ir::Value& v, const ir::Tensor& t) {
      if (t.dtype() == ir::DType::kFloat32 && observed_.count(v.name())) observer(v.name(), t.data<float>(), t.numel());
    });
  }

 private:
  ReferenceExecutable(ir::Model model, std::unique_ptr<runtime::Executor> executor, std::set<std::string> observed)
      : model_(std::move(model)), executor_(std::move(executor)), observed_(std::move(observed)) {}
  ir::Model model_;  // the executor reads this graph
  std::unique_ptr<runtime::Executor> executor_;
  std::set<std::string> observed_;
};

}  // namespace edgeopt::targets
