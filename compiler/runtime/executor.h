// The reference executor: runs an IR graph on the CPU with the scalar kernels of kernels/ref.
// It defines what every optimized target must compute, so it favours clarity over speed.
//
// Contract: Executor::create() checks every node before anything runs and reports all
// unsupported ops (by op type and node name) in one error. run() validates the inputs against the
// graph's declared dtypes and known dims, computes shapes from the actual tensors (so shapes
// that depend on data, e.g. Shape -> Slice -> Reshape chains, work), and frees each intermediate
// after its last use. Default-domain ops follow opset-17 semantics (the importer converts); the
// IR's own constructs (compiler/ir/edgeopt_ops.h: fused activations, edgeopt.Gelu) run too.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"
#include "compiler/runtime/int8_ops.h"
#include "kernels/ref/conv.h"
#include "kernels/ref/pool.h"
#include "kernels/ref/quant.h"

namespace edgeopt::runtime {

struct OpDef;

// Op types of the default ONNX domain that the reference executor runs, sorted (edgeopt-domain
// ops are not listed).
std::vector<std::string> supportedOps();

// Ok, or one error listing every node the executor cannot run and why.
Status checkSupported(const ir::Graph& graph);

// Whether the executor can run this node (op known, static checks pass).
bool isSupportedNode(const ir::Node& node);

// Runs one node on the given inputs (nullptr for omitted optional inputs); used by constant
// folding. The node must satisfy isSupportedNode().
StatusOr<std::vector<ir::Tensor>> evaluateNode(const ir::Node& node,
                                               const std::vector<const ir::Tensor*>& inputs);

// The kernel geometry (strides, dilations, resolved pads incl. auto_pad, output size) of a Conv or
// edgeopt.QConv with input dims x and weight dims w, and of a MaxPool, AveragePool or
// edgeopt.QAveragePool with input dims x — what the reference kernels run, for targets that
// lower the same nodes.
StatusOr<kernels::ref::ConvParams> convParamsOf(const ir::Node& node, const std::vector<int64_t>& x,
                                                const std::vector<int64_t>& w);
StatusOr<kernels::ref::ConvParams> convTransposeParamsOf(const ir::Node& node, const std::vector<int64_t>& x,
                                                         const std::vector<int64_t>& w);
StatusOr<kernels::ref::PoolParams> poolParamsOf(const ir::Node& node, const std::vector<int64_t>& x);

// ONNX Resize of input dims `x` as separable one-axis passes (kernels/ref/resize.h), in axis
// order: per output coordinate, `taps` source indices (-1: extrapolation) and weights.
struct ResizeAxis {
  int64_t axis, inLen, outLen, taps;
  std::vector<int64_t> index;
  std::vector<float> weight;
};
StatusOr<std::vector<ResizeAxis>> resizeAxesOf(const ir::Node& node, const std::vector<int64_t>& x, const ir::Tensor* roi,
                                               const ir::Tensor* scales, const ir::Tensor* sizes);

// The int8 ops' attributes: compiler/runtime/int8_ops.h.

class Executor {
 public:
  // The graph must outlive the executor.
  static StatusOr<std::unique_ptr<Executor>> create(const ir::Graph& graph);

  // Called with every value a node computes, right after the node ran (calibration, error
  // attribution). The tensor is only valid during the call.
  using Observer = std::function<void(const ir::Value&, const ir::Tensor&)>;

  // Inputs in the order of graph.inputs(); outputs in the order of graph.outputs().
  StatusOr<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor>& inputs,
                                        const Observer& observer = nullptr) const;
  // Inputs and outputs by value name.
  StatusOr<std::map<std::string, ir::Tensor>> runNamed(
      const std::map<std::string, ir::Tensor>& inputs) const;

  // Checks one input tensor against the graph input it is bound to (dtype, rank, known dims).
  static Status checkInput(const ir::Value& input, const ir::Tensor& tensor);

 private:
  explicit Executor(const ir::Graph& graph) : graph_(graph) {}
  const ir::Graph& graph_;
  std::vector<const ir::Node*> nodes_;
  std::vector<const OpDef*> defs_;
  // For each node, the values whose last use it is (freed after it runs).
  std::vector<std::vector<const ir::Value*>> releaseAfter_;
};

}  // namespace edgeopt::runtime
