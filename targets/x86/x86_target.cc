#include "targets/x86/x86_target.h"

#include <map>

#include "compiler/ir/edgeopt_ops.h"
#include "compiler/runtime/executor.h"
#include "kernels/x86/dwconv.h"
#include "kernels/x86/peak.h"
#include "kernels/x86/requantize.h"
#include "passes/registry.h"
#include "targets/x86/plan.h"

namespace edgeopt::targets {
namespace {

class X86Executable : public Executable {
 public:
  X86Executable(ir::Model model, x86::PlanOptions options) : model_(std::move(model)), options_(options) {}

  StatusOr<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs) override {
    return runProfiled(inputs, nullptr);
  }
  StatusOr<std::vector<ir::Tensor>> runProfiled(const std::vector<ir::Tensor>& inputs,
                                                std::vector<double>* stepSeconds) override {
    const auto& graphInputs = model_.graph->inputs();
    if (inputs.size() != graphInputs.size())
      return invalidInput("expected " + std::to_string(graphInputs.size()) + " inputs, got " + std::to_string(inputs.size()));
    std::vector<std::vector<int64_t>> dims;
    for (size_t i = 0; i < inputs.size(); ++i) {
      EDGEOPT_RETURN_IF_ERROR(runtime::Executor::checkInput(*graphInputs[i], inputs[i]));
      dims.push_back(inputs[i].dims());
    }
    EDGEOPT_ASSIGN_OR_RETURN(x86::Plan * plan, planFor(dims));
    return plan->run(inputs, stepSeconds);
  }
  StatusOr<std::vector<Step>> steps(const std::vector<std::vector<int64_t>>& inputDims) override {
    EDGEOPT_ASSIGN_OR_RETURN(x86::Plan * plan, planFor(inputDims));
    std::vector<Step> out;
    for (const x86::StepInfo& s : plan->steps()) out.push_back({s.node, s.op, s.kernel, s.macs, s.outputs});
    return out;
  }
  StatusOr<MemoryFigures> memory(const std::vector<std::vector<int64_t>>& inputDims) override {
    EDGEOPT_ASSIGN_OR_RETURN(x86::Plan * plan, planFor(inputDims));
    return MemoryFigures{plan->arenaBytes(), plan->weightBytes()};
  }

 private:
  StatusOr<x86::Plan*> planFor(const std::vector<std::vector<int64_t>>& dims) {
    auto it = plans_.find(dims);
    if (it != plans_.end()) return it->second.get();
    EDGEOPT_ASSIGN_OR_RETURN(auto plan, x86::Plan::create(*model_.graph, dims, options_));
    x86::Plan* p = plan.get();
    plans_[dims] = std::move(plan);
    return p;
  }

  ir::Model model_;  // the plans read this graph
  x86::PlanOptions options_;
  std::map<std::vector<std::vector<int64_t>>, std::unique_ptr<x86::Plan>> plans_;
};

bool isInt8(const ir::Graph& g) {
  for (const ir::Node* n : g.nodes())
    if (n->domain() == ir::kEdgeoptDomain || n->opType() == "QuantizeLinear" || n->opType() == "DequantizeLinear")
      return true;
  return false;
}

class X86Target : public Target {
 public:
  const TargetInfo& info() const override {
    static const TargetInfo info{"x86", "oneDNN primitives and edgeopt's AVX-512 VNNI kernels (fp32 and int8)", true, true,
                                 false};
    return info;
  }
  StatusOr<std::unique_ptr<Executable>> load(const ir::Model& prepared, const TargetOptions& options) const override {
    if (options.threads < 1) return invalidInput("--threads must be at least 1");
    ir::Model copy = ir::cloneModel(prepared);
    // QDQ models were cleaned up by quantize before their Q/DQ went in.
    if (!isInt8(*copy.graph)) {
      pass::PipelineOptions po;
      po.maxIterations = 4;
      std::vector<pass::PassRecord> records;
      EDGEOPT_RETURN_IF_ERROR(passes::defaultPipeline().run(copy, po, &records));
    }
    // Every node the reference executor runs can run here (the plan falls back to it).
    EDGEOPT_RETURN_IF_ERROR(runtime::Executor::create(*copy.graph).status());
    x86::PlanOptions po;
    po.threads = options.threads;
    auto on = [&](const char* name) {
      auto it = options.switches.find(name);
      return it == options.switches.end() || it->second;
    };
    po.ownDepthwise = on("own-depthwise");
    po.ownGemm = on("own-gemm");
    return std::unique_ptr<Executable>(new X86Executable(std::move(copy), po));
  }
  PeakRates measurePeaks(double seconds) const override {
    PeakRates r;
    if (kernels::x86::hasAvx512Vnni()) r.int8Gops = kernels::x86::measurePeakInt8Gops__avx512vnni(seconds);
    if (kernels::x86::hasAvx512()) {
      r.fp32Gflops = kernels::x86::measurePeakFp32Gflops__avx512f(seconds);
      r.int8OutputsG = kernels::x86::measureOutputStageGoutputs__avx512f(seconds);
    }
    return r;
  }
};

}  // namespace

const Target& x86Target() {
  static const X86Target target;
  return target;
}

}  // namespace edgeopt::targets
