// Internal to compiler/runtime: how one op is checked and run by the reference executor.
#pragma once

#include <string>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"

namespace edgeopt::runtime {

struct OpContext {
  const ir::Node& node;
  std::vector<const ir::Tensor*> inputs;  // nullptr for an omitted optional input
  std::vector<ir::Tensor> outputs;        // one per node output, filled by the op

  const ir::Tensor* input(size_t i) const { return i < inputs.size() ? inputs[i] : nullptr; }
  // An error naming the node: "node 'conv1' (Conv): <msg>".
  Status invalid(const std::string& msg) const {
    return invalidInput("node " + node.describe() + ": " + msg);
  }
  Status unsupportedHere(const std::string& msg) const {
    return unsupported("node " + node.describe() + ": " + msg);
  }
};

// Static check of a node before running: attributes and, where the IR knows them, dtypes.
// Returns a reason when the executor cannot run the node.
using CheckFn = Status (*)(const ir::Node&);
using RunFn = Status (*)(OpContext&);

struct OpDef {
  const char* opType;
  CheckFn check;  // may be null: nothing to check statically
  RunFn run;
  const char* domain = "";  // "" for the default ONNX domain, or ir::kEdgeoptDomain
};

// Applies the node's fused activation (compiler/ir/edgeopt_ops.h), if any, to y in place.
Status applyFusedActivation(const OpContext& ctx, ir::Tensor& y);
// Static check of a fused activation attribute: Ok when absent or runnable.
Status checkFusedActivation(const ir::Node& node);

// Each op family adds its ops; the executor's registry (executor.cc) calls them in a fixed order.
void addMathOps(std::vector<OpDef>& table);
void addNnOps(std::vector<OpDef>& table);
void addShapeOps(std::vector<OpDef>& table);
void addRnnOps(std::vector<OpDef>& table);

// Helpers shared by the op families.
// Normalizes a possibly negative axis against `rank`; error when out of [-rank, rank).
StatusOr<int64_t> normalizeAxis(int64_t axis, int64_t rank, const OpContext& ctx);
// numpy-style broadcast of two shapes.
StatusOr<std::vector<int64_t>> broadcastShapes(const std::vector<int64_t>& a,
                                               const std::vector<int64_t>& b,
                                               const OpContext& ctx);
// Element strides of `dims` read as broadcast to `out` (0 on broadcast axes), aligned right.
std::vector<int64_t> broadcastStrides(const std::vector<int64_t>& dims,
                                      const std::vector<int64_t>& out);
// Dtype of input i when the IR knows it.
ir::DType knownInputDType(const ir::Node& n, size_t i);
bool isFloatDType(ir::DType t);
bool isNumericDType(ir::DType t);  // fixed-size arithmetic types (not bool, not float16)

// Applies f elementwise over the numpy broadcast of a and b (strides from broadcastStrides) into y.
template <typename A, typename B, typename R, typename F>
void broadcastApply(const std::vector<int64_t>& out, const A* a, const std::vector<int64_t>& sa,
                    const B* b, const std::vector<int64_t>& sb, R* y, F f) {
  const size_t rank = out.size();
  if (rank == 0) { y[0] = f(a[0], b[0]); return; }
  for (int64_t d : out) if (d == 0) return;
  std::vector<int64_t> idx(rank, 0);
  int64_t offA = 0, offB = 0;
  const int64_t inner = out[rank - 1], ia = sa[rank - 1], ib = sb[rank - 1];
  for (;;) {
    for (int64_t i = 0; i < inner; ++i) *y++ = f(a[offA + i * ia], b[offB + i * ib]);
    size_t ax = rank - 1;
    for (;;) {
      if (ax == 0) return;
      --ax;
      offA += sa[ax];
      offB += sb[ax];
      if (++idx[ax] < out[ax]) break;
      offA -= sa[ax] * out[ax];
      offB -= sb[ax] * out[ax];
      idx[ax] = 0;
    }
  }
}

template <typename T> struct TypeTag { using type = T; };

// Calls f(TypeTag<T>{}) for the C++ type of `t` among the numeric types; returns false if `t`
// is not one of them.
template <typename F>
bool dispatchNumeric(ir::DType t, F&& f) {
  using D = ir::DType;
  switch (t) {
    case D::kFloat32: f(TypeTag<float>{}); return true;
    case D::kFloat64: f(TypeTag<double>{}); return true;
    case D::kInt8: f(TypeTag<int8_t>{}); return true;
    case D::kUInt8: f(TypeTag<uint8_t>{}); return true;
    case D::kInt16: f(TypeTag<int16_t>{}); return true;
    case D::kUInt16: f(TypeTag<uint16_t>{}); return true;
    case D::kInt32: f(TypeTag<int32_t>{}); return true;
    case D::kUInt32: f(TypeTag<uint32_t>{}); return true;
    case D::kInt64: f(TypeTag<int64_t>{}); return true;
    case D::kUInt64: f(TypeTag<uint64_t>{}); return true;
    default: return false;
  }
}

}  // namespace edgeopt::runtime
