// The x86 target: an execution plan of oneDNN primitives and edgeopt's x86 kernels for one graph
// and one set of input shapes.
//
// Input: an optimized fp32 graph, or a QDQ graph lowered to edgeopt's int8 ops (lower_qdq). At
// plan time every node becomes a step: Conv / edgeopt.QConv, Gemm / edgeopt.QGemm (2-D), MaxPool,
// AveragePool, GlobalAveragePool, same-shape Add/Mul, standalone activations and channel Concat
// run as oneDNN primitives (fused activations as eltwise post-ops); every other node runs with the
// reference kernels. Weights are reordered once into the layout oneDNN picks; 4-D activations
// stay NHWC between primitives, with a layout reorder only where a reference step needs NCHW; all
// intermediates live in one arena laid out by liveness; primitives are created once.
//
// Numerics: int8 convolutions and GEMMs take int32 accumulators from oneDNN (exact) and apply the
// requantization of kernels/ref/quant.h with kernels/x86, so int8 results equal the reference bit
// for bit. fp32 results match the reference executor within float rounding (1e-4 relative).
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"

namespace edgeopt::x86 {

struct PlanOptions {
  int threads = 1;  // oneDNN (OpenMP) threads
  // Float values, by name, that run() shows to an observer as they are computed; they are kept out
  // of cross-node fusions so that they exist (calibration observes every quantizable activation).
  std::set<std::string> observed;
  bool ownDepthwise = true;  // int8 depthwise 3x3 with kernels/x86 (false: oneDNN's, for comparison)
  // Graph inputs/outputs of rank 4, by name, whose data run() takes and gives in NHWC order.
  std::set<std::string> channelsLast;
  bool ownGemm = true;  // int8 convolutions and matrix products with kernels/x86's fused-output GEMM where it applies (false: oneDNN's)
};

// One step of the plan, as the per-layer profile shows it.
struct StepInfo {
  std::string node;    // IR node name (the consumer, for layout reorders)
  std::string op;      // qualified op type, or "Reorder"
  std::string kernel;  // what runs: "onednn:<implementation>", "ref", "x86:<kernel>"
  int64_t macs = 0;    // multiply-accumulates (conv, gemm), else 0
  int64_t outputs = 0;  // elements the step writes (set by the plan)
};

class Plan {
 public:
  // The graph must outlive the plan. inputDims gives the dims of each graph input, in order.
  static StatusOr<std::unique_ptr<Plan>> create(const ir::Graph& graph,
                                                const std::vector<std::vector<int64_t>>& inputDims,
                                                const PlanOptions& options = {});
  ~Plan();

  // Shown each observed float value right after the step that writes it, in the plan's layout
  // (NHWC for 4-D activations between primitives): the elements, not their order, are the contract.
  using Observer = std::function<void(const std::string& value, const float* data, int64_t count)>;

  // Inputs must have the planned dims and the graph inputs' dtypes. stepSeconds, when given,
  // receives each step's wall time; observer, when given, PlanOptions::observed's values.
  StatusOr<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs,
                                        std::vector<double>* stepSeconds = nullptr, const Observer* observer = nullptr);

  const std::vector<StepInfo>& steps() const;
  const std::vector<std::vector<int64_t>>& inputDims() const;
  int64_t arenaBytes() const;   // intermediates, planned by liveness
  int64_t weightBytes() const;  // weights and biases in their packed layouts

  struct Impl;

 private:
  explicit Plan(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgeopt::x86
